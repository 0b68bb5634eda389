//! `compileall inspect FILE.pyc...`: what a pyc's header says, whether it
//! is still valid for its source, what its code objects are (3.14 pycs,
//! read with `pymarshal`, no interpreter needed), and its disassembly by an
//! interpreter of its version.

use std::fmt;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use pyc_format::{HeaderLayout, Invalidation, Magic, PycHeader, VersionInfo};
use pycache_paths::CacheLayout;

use crate::freshness;

/// Everything `inspect` learned about one pyc.
#[derive(Clone, Debug)]
pub struct Inspection {
    /// The pyc.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// The first four bytes.
    pub magic: Option<Magic>,
    /// The release line that writes this magic.
    pub version: Option<&'static VersionInfo>,
    /// The PEP 552 header (3.7+ pycs).
    pub header: Option<PycHeader>,
    /// The source this pyc belongs to, and whether the pyc is valid for it.
    pub source: Option<(PathBuf, Result<(), String>)>,
    /// Why the file could not be read, if it could not.
    pub error: Option<String>,
    /// What the body holds, for pycs in the marshal format `pymarshal`
    /// reads (CPython 3.14's).
    pub body: Option<Body>,
}

/// A pyc's body, as the marshal reader found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// A module's code object.
    Code {
        /// `co_filename`.
        filename: String,
        /// Code objects in all, the module's included.
        code_objects: usize,
    },
    /// Readable, but not a code object (its type's name).
    NotCode(&'static str),
    /// Not readable as marshal data: why.
    Unreadable(String),
}

impl Body {
    /// Reads a 3.14 pyc's body (after its 16-byte header).
    fn read(body: &[u8]) -> Body {
        match pymarshal::read(body) {
            Ok(object) => match &*object {
                pymarshal::Object::Code(code) => Body::Code {
                    filename: match &*code.filename {
                        pymarshal::Object::Str(text) => text.to_string_lossy(),
                        other => other.to_string(),
                    },
                    code_objects: count_code(&object),
                },
                other => Body::NotCode(other.type_name()),
            },
            Err(err) => Body::Unreadable(err.to_string()),
        }
    }
}

/// Code objects in `object`, nested ones included.
fn count_code(object: &pymarshal::Object) -> usize {
    match object {
        pymarshal::Object::Code(code) => 1 + count_code(&code.consts),
        pymarshal::Object::Tuple(items) | pymarshal::Object::FrozenSet(items) => {
            items.iter().map(|item| count_code(item)).sum()
        }
        _ => 0,
    }
}

/// Reads and judges one pyc.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use compileall_cli::inspect::inspect;
/// use pyc_format::{PycHeader, PythonVersion};
///
/// let tmp = tempfile::tempdir()?;
/// let source = tmp.path().join("m.py");
/// std::fs::write(&source, "x = 1\n")?;
/// std::fs::File::options().write(true).open(&source)?
///     .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))?;
/// // A CPython 3.14 timestamp pyc for it; `N` is marshal.dumps(None).
/// let magic = PythonVersion::new(3, 14).info().unwrap().magic_bytes();
/// let header = PycHeader::timestamp(magic, 1_700_000_000, 6).to_bytes();
/// std::fs::create_dir(tmp.path().join("__pycache__"))?;
/// let pyc = tmp.path().join("__pycache__/m.cpython-314.pyc");
/// std::fs::write(&pyc, [&header[..], b"N"].concat())?;
///
/// let inspection = inspect(&pyc);
/// assert_eq!(inspection.size, 17);
/// assert_eq!(inspection.version.unwrap().version, PythonVersion::new(3, 14));
/// assert_eq!(inspection.source, Some((source, Ok(()))));
/// let text = inspection.to_string();
/// assert!(text.contains("  magic:   3627 (CPython 3.14, cache tag cpython-314)\n"));
/// assert!(text.contains("  mtime:   1700000000\n"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn inspect(path: &Path) -> Inspection {
    let mut inspection = Inspection {
        path: path.to_owned(),
        size: 0,
        magic: None,
        version: None,
        header: None,
        source: None,
        error: None,
        body: None,
    };
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(err) => {
            inspection.error = Some(err.to_string());
            return inspection;
        }
    };
    inspection.size = data.len() as u64;
    inspection.magic = data.get(..4).map(|m| Magic(m.try_into().unwrap()));
    inspection.version = inspection.magic.and_then(pyc_format::version_for_magic);
    let pep552 = inspection
        .version
        .is_none_or(|v| v.header == HeaderLayout::Flags);
    if pep552 {
        inspection.header = PycHeader::parse(&data);
    }
    if inspection
        .version
        .is_some_and(|info| info.version == MARSHAL_VERSION)
    {
        inspection.body = data.get(PYC_HEADER..).map(Body::read);
    }
    if let (Some(info), Some(magic)) = (inspection.version, inspection.magic) {
        inspection.source = find_source(path, info).map(|source| {
            let verdict = judge(&data, magic, &source, pep552);
            (source, verdict)
        });
    }
    inspection
}

/// The release line whose marshal format `pymarshal` reads.
const MARSHAL_VERSION: pyc_format::PythonVersion = pyc_format::PythonVersion::new(3, 14);

/// Bytes of a 3.7+ pyc header.
const PYC_HEADER: usize = 16;

/// The source of a pyc: by PEP 3147 rules for its version's cache tag, or
/// the legacy `x.pyc` next to `x.py`.
fn find_source(pyc: &Path, info: &VersionInfo) -> Option<PathBuf> {
    if let Some(tag) = info.cache_tag {
        let layout = CacheLayout::new(info.version, tag);
        if let Ok(source) = layout.source_from_cache(pyc)
            && source.exists()
        {
            return Some(source);
        }
    }
    let bytes = pyc.as_os_str().as_bytes();
    let legacy = bytes.strip_suffix(b"c")?;
    let legacy = PathBuf::from(std::ffi::OsStr::from_bytes(legacy));
    legacy.exists().then_some(legacy)
}

/// importlib's verdict on the pyc, for 3.7+ headers.
fn judge(data: &[u8], magic: Magic, source: &Path, pep552: bool) -> Result<(), String> {
    if !pep552 {
        return Err("headers before Python 3.7 are not checked".into());
    }
    let meta = crate::pyos::Stat::of(source).map_err(|e| e.to_string())?;
    let bytes = std::fs::read(source).map_err(|e| e.to_string())?;
    freshness::importlib_verdict(data, magic, source, &meta, &bytes)
        .map(drop)
        .map_err(|e| e.to_string())
}

impl fmt::Display for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.path.display())?;
        if let Some(error) = &self.error {
            return writeln!(f, "  error:   {error}");
        }
        writeln!(f, "  size:    {} bytes", self.size)?;
        match (self.magic, self.version) {
            (Some(magic), Some(info)) => writeln!(
                f,
                "  magic:   {} (CPython {}, cache tag {})",
                magic.number().unwrap_or_default(),
                info.version,
                info.cache_tag.unwrap_or("none")
            )?,
            (Some(magic), None) => writeln!(
                f,
                "  magic:   {} (no known CPython release)",
                pystr::bytes_repr(&magic.0)
            )?,
            (None, _) => writeln!(f, "  magic:   missing (file shorter than 4 bytes)")?,
        }
        match &self.header {
            Some(header) => match header.invalidation {
                Invalidation::Timestamp { mtime, source_size } => {
                    writeln!(f, "  flags:   0 (timestamp)")?;
                    writeln!(f, "  mtime:   {mtime}")?;
                    writeln!(f, "  source size: {source_size} bytes")?;
                }
                Invalidation::Hash {
                    source_hash,
                    checked,
                } => {
                    let kind = if checked { "checked" } else { "unchecked" };
                    writeln!(f, "  flags:   {} ({kind} hash)", header.flags().0)?;
                    let hex: String = source_hash.iter().map(|b| format!("{b:02x}")).collect();
                    writeln!(f, "  hash:    {hex}")?;
                }
            },
            None => writeln!(f, "  header:  not a valid PEP 552 header")?,
        }
        match &self.source {
            Some((source, Ok(()))) => writeln!(f, "  source:  {} (valid)", source.display())?,
            Some((source, Err(why))) => {
                writeln!(f, "  source:  {} (NOT valid: {why})", source.display())?
            }
            None => writeln!(f, "  source:  not found")?,
        }
        match &self.body {
            Some(Body::Code {
                filename,
                code_objects,
            }) => writeln!(
                f,
                "  code:    {code_objects} code objects, file {filename:?}"
            ),
            Some(Body::NotCode(type_name)) => {
                writeln!(f, "  code:    not a code object ({type_name})")
            }
            Some(Body::Unreadable(why)) => writeln!(f, "  code:    unreadable marshal data: {why}"),
            None => Ok(()),
        }
    }
}

/// The program that disassembles a pyc with its interpreter (`python -c
/// DISASSEMBLE_PY FILE.pyc`); it assumes a 16-byte (3.7+) header.
///
/// ```no_run
/// use std::process::Command;
/// use compileall_cli::inspect::DISASSEMBLE_PY;
/// let output = Command::new("python3.14")
///     .args(["-c", DISASSEMBLE_PY, "demo/__pycache__/good.cpython-314.pyc"])
///     .output()?;
/// assert!(String::from_utf8_lossy(&output.stdout).contains("LOAD_NAME"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub const DISASSEMBLE_PY: &str = "import dis, marshal, sys\n\
    data = open(sys.argv[1], 'rb').read()\n\
    dis.dis(marshal.loads(data[16:]))\n";

/// What an interpreter made of a pyc ([`disassemble`]).
#[derive(Debug)]
pub enum Disassembly {
    /// `dis.dis`'s output.
    Listing(String),
    /// The interpreter failed; the last line of what it wrote to stderr.
    Failed(String),
    /// The interpreter could not be run.
    CannotRun(io::Error),
}

/// Disassembles `pyc` with `interpreter` (`python -c DISASSEMBLE_PY
/// FILE.pyc`).
///
/// ```no_run
/// use std::path::Path;
/// use compileall_cli::inspect::{Disassembly, disassemble};
/// let pyc = Path::new("demo/__pycache__/good.cpython-314.pyc");
/// let Disassembly::Listing(text) = disassemble(Path::new("python3.14"), pyc) else {
///     panic!("not disassembled");
/// };
/// assert!(text.contains("LOAD_NAME"));
/// ```
pub fn disassemble(interpreter: &Path, pyc: &Path) -> Disassembly {
    let output = Command::new(interpreter)
        .arg("-c")
        .arg(DISASSEMBLE_PY)
        .arg(pyc)
        .output();
    match output {
        Ok(output) if output.status.success() => {
            Disassembly::Listing(String::from_utf8_lossy(&output.stdout).into_owned())
        }
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            Disassembly::Failed(stderr.lines().last().unwrap_or_default().to_owned())
        }
        Err(err) => Disassembly::CannotRun(err),
    }
}

#[cfg(test)]
mod tests;
