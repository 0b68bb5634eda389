//! Where CPython reads and writes bytecode files, computed exactly as
//! `importlib` and `compileall` compute it.
//!
//! - [`CacheLayout::cache_from_source`] and
//!   [`CacheLayout::source_from_cache`]: `importlib.util`'s functions of the
//!   same names, including optimization tags (`.opt-1`), `sys.pycache_prefix`
//!   and their `ValueError`s;
//! - [`legacy_cache_path`]: the `-b` location next to the source;
//! - [`compileall`]: the `dfile` (the file name compiled into the code object)
//!   that `-d`, `-s` and `-p` produce, and the `-e` symlink check.
//!
//! Paths are handled as the bytes the kernel uses; Python's `str` rules are
//! applied to them through the `pystr` crate, so non-UTF-8 names behave as
//! they do under CPython's `surrogateescape`.
//!
//! ```
//! use std::path::Path;
//! use pycache_paths::{CacheLayout, Optimization};
//! use pyc_format::PythonVersion;
//!
//! let layout = CacheLayout::new(PythonVersion::new(3, 14), "cpython-314");
//! let cwd = Path::new("/");
//! let pyc = layout.cache_from_source(Path::new("pkg/mod.py"), Optimization::Level(2), cwd).unwrap();
//! assert_eq!(pyc, Path::new("pkg/__pycache__/mod.cpython-314.opt-2.pyc"));
//! assert_eq!(layout.source_from_cache(&pyc).unwrap(), Path::new("pkg/mod.py"));
//! ```

#![forbid(unsafe_code)]

pub mod compileall;
pub mod pathbytes;

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use bstr::ByteSlice;
use pyc_format::PythonVersion;

use pathbytes::{importlib_join as path_join, importlib_split as path_split, rpartition};

const PYCACHE: &[u8] = b"__pycache__";
const OPT: &[u8] = b"opt-";

/// The optimization level a bytecode path is computed for: the
/// `optimization` argument of `cache_from_source`.
///
/// ```
/// use std::path::Path;
/// use pycache_paths::{CacheLayout, Optimization};
/// use pyc_format::PythonVersion;
///
/// // An interpreter run with -OO (sys.flags.optimize == 2).
/// let layout = CacheLayout { optimize_flag: 2, ..CacheLayout::new(PythonVersion::new(3, 14), "cpython-314") };
/// let pyc = |opt| layout.cache_from_source(Path::new("m.py"), opt, Path::new("/")).unwrap();
/// assert_eq!(pyc(Optimization::Interpreter), Path::new("__pycache__/m.cpython-314.opt-2.pyc"));
/// assert_eq!(pyc(Optimization::Level(0)), Path::new("__pycache__/m.cpython-314.opt-0.pyc"));
/// assert_eq!(pyc(Optimization::Text("".as_ref())), Path::new("__pycache__/m.cpython-314.pyc"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Optimization<'a> {
    /// `optimization=None`: the interpreter's own `sys.flags.optimize`.
    Interpreter,
    /// An integer: `str(level)` is the tag, so even 0 gives `.opt-0`.
    Level(u64),
    /// `str(optimization)` of any other value, checked with `str.isalnum()`;
    /// the empty string means no tag.
    Text(&'a OsStr),
}

/// Why importlib refuses to compute a path. `Display` gives Python's
/// message; [`PathError::exception_type`] the exception class.
///
/// ```
/// use std::path::Path;
/// use pycache_paths::{CacheLayout, Optimization};
/// use pyc_format::PythonVersion;
///
/// let layout = CacheLayout::new(PythonVersion::new(3, 14), "cpython-314");
/// let err = layout
///     .cache_from_source(Path::new("m.py"), Optimization::Text("a-b".as_ref()), Path::new("/"))
///     .unwrap_err();
/// assert_eq!(format!("{}: {err}", err.exception_type()), "ValueError: 'a-b' is not alphanumeric");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathError {
    /// `ValueError: 'x' is not alphanumeric` (cache_from_source).
    OptimizationNotAlphanumeric(OsString),
    /// `NotImplementedError`: the interpreter has no cache tag.
    NoCacheTag,
    /// `ValueError`: the pyc is not inside a `__pycache__` directory (or
    /// under `sys.pycache_prefix`).
    NotInPycache(OsString),
    /// `ValueError`: the pyc's file name does not have 2 or 3 dots.
    DotCount(OsString),
    /// `ValueError`: the third-from-last part does not start with `opt-`.
    OptimizationPrefix,
    /// `ValueError`: the optimization level in the name is not alphanumeric.
    OptimizationLevelNotAlphanumeric(OsString),
    /// `IndexError: string index out of range`: 3.11 indexes the second
    /// character of the directory when it is exactly `/` under a
    /// `pycache_prefix`.
    IndexOutOfRange,
}

impl PathError {
    /// The Python exception class raised for this error.
    ///
    /// ```
    /// use pycache_paths::PathError;
    /// assert_eq!(PathError::NoCacheTag.exception_type(), "NotImplementedError");
    /// assert_eq!(PathError::OptimizationPrefix.exception_type(), "ValueError");
    /// ```
    pub fn exception_type(&self) -> &'static str {
        match self {
            PathError::NoCacheTag => "NotImplementedError",
            PathError::IndexOutOfRange => "IndexError",
            _ => "ValueError",
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let repr = |s: &OsString| pystr::repr(s.as_bytes());
        match self {
            PathError::OptimizationNotAlphanumeric(opt) => {
                write!(f, "{} is not alphanumeric", repr(opt))
            }
            PathError::NoCacheTag => f.write_str("sys.implementation.cache_tag is None"),
            PathError::NotInPycache(path) => {
                write!(
                    f,
                    "__pycache__ not bottom-level directory in {}",
                    repr(path)
                )
            }
            PathError::DotCount(name) => write!(f, "expected only 2 or 3 dots in {}", repr(name)),
            PathError::OptimizationPrefix => {
                f.write_str("optimization portion of filename does not start with 'opt-'")
            }
            PathError::OptimizationLevelNotAlphanumeric(opt) => {
                write!(
                    f,
                    "optimization level {} is not an alphanumeric value",
                    repr(opt)
                )
            }
            PathError::IndexOutOfRange => f.write_str("string index out of range"),
        }
    }
}

impl std::error::Error for PathError {}

/// What importlib reads from the interpreter (`sys.implementation`,
/// `sys.flags`, `sys.pycache_prefix`) to place bytecode files.
///
/// ```
/// use std::path::{Path, PathBuf};
/// use pycache_paths::{CacheLayout, Optimization};
/// use pyc_format::PythonVersion;
///
/// // python3.14 -X pycache_prefix=/var/cache/pyc, run in /tmp/rpt
/// let layout = CacheLayout {
///     pycache_prefix: Some(PathBuf::from("/var/cache/pyc")),
///     ..CacheLayout::new(PythonVersion::new(3, 14), "cpython-314")
/// };
/// let pyc = layout.cache_from_source(Path::new("pkg/mod.py"), Optimization::Interpreter, Path::new("/tmp/rpt"));
/// assert_eq!(pyc.unwrap(), Path::new("/var/cache/pyc/tmp/rpt/pkg/mod.cpython-314.pyc"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheLayout {
    /// The interpreter's release line; path rules changed between lines.
    pub version: PythonVersion,
    /// `sys.implementation.cache_tag`, such as `cpython-314`.
    pub cache_tag: Option<String>,
    /// `sys.flags.optimize`, used for [`Optimization::Interpreter`].
    pub optimize_flag: u32,
    /// `sys.pycache_prefix`.
    pub pycache_prefix: Option<PathBuf>,
}

impl CacheLayout {
    /// A layout with no `-O` and no pycache prefix.
    ///
    /// ```
    /// use pycache_paths::CacheLayout;
    /// use pyc_format::PythonVersion;
    /// let layout = CacheLayout::new(PythonVersion::new(3, 13), "cpython-313");
    /// assert_eq!(layout.cache_tag.as_deref(), Some("cpython-313"));
    /// assert_eq!((layout.optimize_flag, layout.pycache_prefix), (0, None));
    /// ```
    pub fn new(version: PythonVersion, cache_tag: &str) -> Self {
        CacheLayout {
            version,
            cache_tag: Some(cache_tag.to_owned()),
            optimize_flag: 0,
            pycache_prefix: None,
        }
    }

    /// `importlib.util.cache_from_source(source, optimization=...)`.
    ///
    /// `cwd` is `os.getcwd()`, used only to make the source's directory
    /// absolute under a pycache prefix.
    ///
    /// ```
    /// use std::path::{Path, PathBuf};
    /// use pycache_paths::{CacheLayout, Optimization};
    /// use pyc_format::PythonVersion;
    ///
    /// let cwd = Path::new("/tmp/rpt");
    /// let py314 = CacheLayout::new(PythonVersion::new(3, 14), "cpython-314");
    /// let pyc = |layout: &CacheLayout, source: &str| {
    ///     layout.cache_from_source(Path::new(source), Optimization::Interpreter, cwd).unwrap()
    /// };
    /// assert_eq!(pyc(&py314, "/usr/lib/python3/foo.bar.py"), Path::new("/usr/lib/python3/__pycache__/foo.bar.cpython-314.pyc"));
    /// // A name without a dot keeps importlib's quirk.
    /// assert_eq!(pyc(&py314, "Makefile"), Path::new("__pycache__/Makefilecpython-314.pyc"));
    ///
    /// // Under -X pycache_prefix=/var/cache/pyc, 3.11 keeps a leading "./"
    /// // that 3.13+ drops.
    /// let prefix = Some(PathBuf::from("/var/cache/pyc"));
    /// let py311 = CacheLayout { pycache_prefix: prefix.clone(), ..CacheLayout::new(PythonVersion::new(3, 11), "cpython-311") };
    /// let py314 = CacheLayout { pycache_prefix: prefix, ..py314 };
    /// assert_eq!(pyc(&py311, "./pkg/mod.py"), Path::new("/var/cache/pyc/tmp/rpt/./pkg/mod.cpython-311.pyc"));
    /// assert_eq!(pyc(&py314, "./pkg/mod.py"), Path::new("/var/cache/pyc/tmp/rpt/pkg/mod.cpython-314.pyc"));
    /// ```
    pub fn cache_from_source(
        &self,
        source: &Path,
        optimization: Optimization<'_>,
        cwd: &Path,
    ) -> Result<PathBuf, PathError> {
        let path = source.as_os_str().as_bytes();
        let (head, tail) = path_split(path);
        let (base, sep, rest) = rpartition(tail, b'.');
        let tag = self.cache_tag.as_deref().ok_or(PathError::NoCacheTag)?;
        let mut filename = Vec::with_capacity(tail.len() + tag.len() + 12);
        filename.extend_from_slice(if base.is_empty() { rest } else { base });
        filename.extend_from_slice(sep);
        filename.extend_from_slice(tag.as_bytes());

        let optimization: Vec<u8> = match optimization {
            Optimization::Interpreter if self.optimize_flag == 0 => Vec::new(),
            Optimization::Interpreter => self.optimize_flag.to_string().into_bytes(),
            Optimization::Level(level) => level.to_string().into_bytes(),
            Optimization::Text(text) => text.as_bytes().to_vec(),
        };
        if !optimization.is_empty() {
            if !pystr::is_alnum(&optimization) {
                return Err(PathError::OptimizationNotAlphanumeric(OsString::from_vec(
                    optimization,
                )));
            }
            filename.push(b'.');
            filename.extend_from_slice(OPT);
            filename.extend_from_slice(&optimization);
        }
        filename.extend_from_slice(b".pyc");

        let joined = match &self.pycache_prefix {
            Some(prefix) => {
                let head = self.absolute_head(head, cwd.as_os_str().as_bytes())?;
                let head = pathbytes::lstrip_slashes(&head);
                path_join(&[prefix.as_os_str().as_bytes(), head, &filename])
            }
            None => path_join(&[head, PYCACHE, &filename]),
        };
        Ok(PathBuf::from(OsString::from_vec(joined)))
    }

    /// The directory part made absolute, as the prefix branch of
    /// `cache_from_source` does it in this release line.
    fn absolute_head(&self, head: &[u8], cwd: &[u8]) -> Result<Vec<u8>, PathError> {
        // 3.12 is assumed to behave like 3.11 (no 3.12 interpreter checks it).
        if self.version <= PythonVersion::new(3, 12) {
            let head = if head.starts_with(b"/") {
                head.to_vec()
            } else {
                path_join(&[cwd, head])
            };
            // `head[1] == ':'` raises on a one-character head.
            if head.len() < 2 {
                return Err(PathError::IndexOutOfRange);
            }
            Ok(head)
        } else if head.starts_with(b"/") {
            Ok(head.to_vec())
        } else {
            // `_path_abspath` strips one leading "./" before joining.
            let head = head.strip_prefix(b"./").unwrap_or(head);
            Ok(path_join(&[cwd, head]))
        }
    }

    /// `importlib.util.source_from_cache(path)`.
    ///
    /// ```
    /// use std::path::Path;
    /// use pycache_paths::CacheLayout;
    /// use pyc_format::PythonVersion;
    ///
    /// let layout = CacheLayout::new(PythonVersion::new(3, 14), "cpython-314");
    /// let source = |pyc: &str| layout.source_from_cache(Path::new(pyc));
    /// // The tag in the name is not checked against the interpreter's.
    /// assert_eq!(source("pkg/__pycache__/mod.cpython-311.pyc").unwrap(), Path::new("pkg/mod.py"));
    /// assert_eq!(
    ///     source("pkg/mod.pyc").unwrap_err().to_string(),
    ///     "__pycache__ not bottom-level directory in 'pkg/mod.pyc'"
    /// );
    /// assert_eq!(source("pkg/__pycache__/mod.pyc").unwrap_err().to_string(), "expected only 2 or 3 dots in 'mod.pyc'");
    /// assert_eq!(
    ///     source("pkg/__pycache__/mod.cpython-314.x-1.pyc").unwrap_err().to_string(),
    ///     "optimization portion of filename does not start with 'opt-'"
    /// );
    /// ```
    pub fn source_from_cache(&self, cache: &Path) -> Result<PathBuf, PathError> {
        if self.cache_tag.is_none() {
            return Err(PathError::NoCacheTag);
        }
        let path = cache.as_os_str().as_bytes();
        let (mut head, pycache_filename) = path_split(path);
        let mut found_in_prefix = false;
        if let Some(prefix) = &self.pycache_prefix {
            let stripped = pathbytes::rstrip_slashes(prefix.as_os_str().as_bytes());
            if head.len() > stripped.len()
                && head.starts_with(stripped)
                && head[stripped.len()] == b'/'
            {
                head = &head[stripped.len()..];
                found_in_prefix = true;
            }
        }
        if !found_in_prefix {
            let (parent, pycache) = path_split(head);
            if pycache != PYCACHE {
                return Err(PathError::NotInPycache(cache.as_os_str().to_owned()));
            }
            head = parent;
        }
        let dots = pycache_filename.find_iter(".").count();
        if dots != 2 && dots != 3 {
            return Err(PathError::DotCount(
                OsStr::from_bytes(pycache_filename).to_owned(),
            ));
        }
        if dots == 3 {
            // rsplit('.', 2)[-2]
            let mut parts = pycache_filename.rsplitn_str(3, ".");
            parts.next();
            let optimization = parts.next().unwrap_or_default();
            let Some(level) = optimization.strip_prefix(OPT) else {
                return Err(PathError::OptimizationPrefix);
            };
            if !pystr::is_alnum(level) {
                return Err(PathError::OptimizationLevelNotAlphanumeric(
                    OsStr::from_bytes(optimization).to_owned(),
                ));
            }
        }
        let base = pycache_filename.split_str(".").next().unwrap_or_default();
        let mut filename = base.to_vec();
        filename.extend_from_slice(b".py");
        Ok(PathBuf::from(OsString::from_vec(path_join(&[
            head, &filename,
        ]))))
    }
}

/// The `-b` (pre-PEP 3147) bytecode path: the source path with `c` appended.
///
/// ```
/// use std::path::Path;
/// assert_eq!(pycache_paths::legacy_cache_path(Path::new("a/b.py")), Path::new("a/b.pyc"));
/// ```
pub fn legacy_cache_path(source: &Path) -> PathBuf {
    let mut path = source.as_os_str().to_owned();
    path.push("c");
    PathBuf::from(path)
}
