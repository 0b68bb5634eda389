//! `compileall.compile_file` and the `py_compile.compile` calls it makes,
//! split in two halves:
//!
//! - [`prepare`]: everything that only reads the file system (dfile, `-x`,
//!   `-e`, bytecode paths, the up-to-date check). Runs in parallel while the
//!   tree is walked.
//! - [`execute`]: reading the source, compiling it through the backend and
//!   writing the pycs, for the files `prepare` found stale.
//!
//! Each half returns the output CPython would print at that point, so the
//! engine can replay both in CPython's order.

use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytecode::{CompileRequest, CompilerProcess};
use pyc_format::PycHeader;
use pycache_paths::Optimization;
use pycache_paths::compileall::{self as rules, DestinationRewrite};

use crate::engine::Context;
use crate::output::Chunk;
use crate::plan::Source;
use crate::pyerror::PyException;
use crate::{Exclude, InvalidationMode};

/// What `prepare` decided for one source.
pub(crate) struct Prepared {
    /// The `compile_file` call (kept to prepare it again when an earlier
    /// step rewrote its pycs).
    pub source: Source,
    /// Output printed while deciding (the stripdir warning).
    pub chunks: Vec<Chunk>,
    /// The decision.
    pub decision: Decision,
    /// Device and inode of the source, to notice the same file reached twice.
    pub identity: Option<(u64, u64)>,
    /// The folder its pycs go to, for `.py` sources: where an interrupted
    /// earlier run may have left temporary files.
    pub cache_dir: Option<PathBuf>,
    /// One bytecode path per optimization level, in compile order (once
    /// known to be a file).
    pub cfiles: Vec<(i32, PathBuf)>,
    /// The source's `stat()`, for `.py` files.
    pub meta: Option<Metadata>,
}

pub(crate) enum Decision {
    /// Nothing to do.
    Skip(SkipReason),
    /// Stale or missing pycs.
    Compile(Plan),
    /// compileall raises here (a traceback in CPython); the run stops.
    Raise(PyException),
}

pub(crate) struct Plan {
    /// compileall's `dfile`, the name compiled into the code objects.
    dfile: Option<PathBuf>,
}

/// Why compile_file did nothing with a path.
///
/// ```
/// use std::path::Path;
/// use compileall_cli::{Chunk, Exclude, FileOutcome, FileStatus, Options, PyRegex, Session, Sink, SkipReason};
/// # use bytecode::{BackendError, CompileOutput, CompileRequest, Compiler, Target};
/// # // A backend that needs no interpreter: `b"N"` is `marshal.dumps(None)`.
/// # struct Canned(Target);
/// # impl Compiler for Canned {
/// #     fn target(&self) -> &Target {
/// #         &self.0
/// #     }
/// #     fn compile(&self, request: &CompileRequest<'_>) -> Result<CompileOutput, BackendError> {
/// #         let levels = request.optimizations.iter().map(|_| Ok(b"N".to_vec())).collect();
/// #         Ok(CompileOutput { levels, warnings: Vec::new() })
/// #     }
/// # }
/// # let info = pyc_format::PythonVersion::new(3, 14).info().unwrap();
/// # let compiler = Canned(Target {
/// #     version: info.version,
/// #     full_version: "3.14.10".into(),
/// #     magic: info.magic_bytes(),
/// #     cache_tag: info.cache_tag.map(str::to_owned),
/// #     optimize_flag: 0,
/// #     pycache_prefix: None,
/// #     stdout_encoding: "utf-8".into(),
/// #     stdout_errors: "strict".into(),
/// # });
///
/// struct LastStatus(Option<FileStatus>);
/// impl Sink for LastStatus {
///     fn write(&mut self, _chunk: &Chunk) {}
///     fn file(&mut self, outcome: &FileOutcome<'_>) {
///         self.0 = Some(outcome.status.clone());
///     }
/// }
///
/// let dir = tempfile::tempdir()?;
/// let test_a = dir.path().join("test_a.py");
/// std::fs::write(&test_a, "x = 1\n")?;
/// let session = Session::new(&compiler)?;
/// let status = |path: &Path, options: &Options| {
///     let mut sink = LastStatus(None);
///     session.compile_file(path, options, &mut sink);
///     sink.0.unwrap()
/// };
/// // -x test_
/// let exclude = Options { rx: Some(Exclude::Pattern(PyRegex::new("test_")?)), ..Options::default() };
/// assert_eq!(status(&test_a, &exclude), FileStatus::Skipped(SkipReason::Excluded));
/// // A path that is not there.
/// let missing = dir.path().join("missing.py");
/// assert_eq!(status(&missing, &Options::default()), FileStatus::Skipped(SkipReason::NotAFile));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// `-x` matched.
    Excluded,
    /// `-e`: a symlink leading outside the allowed folder.
    SymlinkOutside,
    /// Not a regular file (a FIFO, a dangling symlink, a missing path).
    NotAFile,
    /// A file not ending in `.py`.
    NotPython,
    /// Every pyc already matches the source's mtime.
    UpToDate,
}

impl SkipReason {
    /// A stable name for reports (the `reason` of a skipped file in
    /// `--report json`).
    ///
    /// ```
    /// use compileall_cli::SkipReason;
    /// assert_eq!(SkipReason::Excluded.as_str(), "excluded");
    /// assert_eq!(SkipReason::SymlinkOutside.as_str(), "symlink_outside");
    /// assert_eq!(SkipReason::NotAFile.as_str(), "not_a_file");
    /// assert_eq!(SkipReason::NotPython.as_str(), "not_python");
    /// assert_eq!(SkipReason::UpToDate.as_str(), "up_to_date");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Excluded => "excluded",
            SkipReason::SymlinkOutside => "symlink_outside",
            SkipReason::NotAFile => "not_a_file",
            SkipReason::NotPython => "not_python",
            SkipReason::UpToDate => "up_to_date",
        }
    }
}

impl Prepared {
    /// Whether the walk already swept its cache folder: a walked source
    /// whose pycs go to its own folder's `__pycache__` (or, with `-b`,
    /// next to it).
    pub fn cache_dir_swept(&self) -> bool {
        let Some(cache_dir) = &self.cache_dir else {
            return true;
        };
        let folder = parent(&self.source.fullname);
        let own = |dir: &Path| match folder {
            Some(folder) => dir.as_os_str() == folder.as_os_str(),
            None => dir.as_os_str().is_empty(),
        };
        self.source.walked
            && (own(cache_dir)
                || (cache_dir.file_name().is_some_and(|n| n == "__pycache__")
                    && cache_dir.parent().is_some_and(own)))
    }
}

/// The result of [`execute`].
#[derive(Clone)]
pub(crate) struct Executed {
    pub chunks: Vec<Chunk>,
    pub success: bool,
    pub status: FileStatus,
    pub elapsed: Duration,
}

/// The first half of `compile_file(fullname, ...)`.
pub(crate) fn prepare(ctx: &Context<'_>, mut source: Source) -> Prepared {
    let meta = source.meta.take();
    let regular = source.regular;
    let mut prepared = Prepared {
        source,
        chunks: Vec::new(),
        decision: Decision::Skip(SkipReason::NotAFile),
        identity: None,
        cache_dir: None,
        cfiles: Vec::new(),
        meta: None,
    };
    prepared.decision = decide(ctx, &mut prepared, meta, regular);
    prepared
}

fn decide(
    ctx: &Context<'_>,
    prepared: &mut Prepared,
    meta: Option<Metadata>,
    regular: bool,
) -> Decision {
    let opts = ctx.options;
    let fullname = prepared.source.fullname.as_path();
    let rewrite = &prepared.source.rewrite;
    let destination = DestinationRewrite {
        ddir: rewrite.ddir.as_deref(),
        stripdir: rewrite.stripdir.as_deref(),
        prependdir: rewrite.prependdir.as_deref(),
    };
    let dfile = match rules::dfile(fullname, &destination, ctx.target.version) {
        Ok(dfile) => dfile,
        Err(err) => return Decision::Raise(PyException::new("TypeError", err.to_string())),
    };
    if dfile.stripdir_not_prefix && opts.quiet < 2 {
        let stripdir = destination.stripdir.expect("set when the flag is");
        prepared.chunks.push(ctx.line(format!(
            "The stripdir path {} is not a valid prefix for source path {}; ignoring",
            ctx.repr(stripdir),
            ctx.repr(fullname)
        )));
    }
    if opts.hardlink_dupes && ctx.levels.len() < 2 {
        return Decision::Raise(PyException::new(
            "ValueError",
            "Hardlinking of duplicated bytecode makes sense only for more than one optimization level",
        ));
    }
    match &opts.rx {
        Some(Exclude::Pattern(rx)) if rx.search(fullname.as_os_str().as_bytes()) => {
            return Decision::Skip(SkipReason::Excluded);
        }
        Some(Exclude::EmptyString) => {
            return Decision::Raise(PyException::new(
                "AttributeError",
                "'str' object has no attribute 'search'",
            ));
        }
        _ => {}
    }
    if let Some(limit) = &opts.limit_sl_dest {
        match rules::symlink_leaves(fullname, limit, &ctx.cwd, ctx.target.version) {
            Ok(true) => return Decision::Skip(SkipReason::SymlinkOutside),
            Ok(false) => {}
            Err(rules::ResolveError::SymlinkLoop(path)) => {
                return Decision::Raise(PyException::new(
                    "RuntimeError",
                    format!("Symlink loop from {}", ctx.repr(&path)),
                ));
            }
            Err(rules::ResolveError::Io(err)) => {
                return Decision::Raise(PyException::os_error(&err, None, None, &|p| ctx.repr(p)));
            }
        }
    }
    let is_py = fullname.as_os_str().as_bytes().ends_with(b".py");
    // `os.path.isfile(fullname)`; a plain file the listing already
    // identified needs its stat only if it is a source.
    let meta = match meta {
        Some(meta) => Some(meta),
        None if regular && !is_py => None,
        None => match std::fs::metadata(fullname) {
            Ok(meta) => Some(meta),
            Err(_) => return Decision::Skip(SkipReason::NotAFile),
        },
    };
    if let Some(meta) = &meta {
        if !meta.is_file() {
            return Decision::Skip(SkipReason::NotAFile);
        }
        prepared.identity = Some((meta.dev(), meta.ino()));
    }
    let mut cfiles = Vec::with_capacity(ctx.levels.len());
    for &level in &ctx.levels {
        let cfile = if opts.legacy {
            pycache_paths::legacy_cache_path(fullname)
        } else {
            let optimization = match level {
                ..0 => Optimization::Interpreter,
                0 => Optimization::Text("".as_ref()),
                _ => Optimization::Level(level as u64),
            };
            match ctx
                .layout
                .cache_from_source(fullname, optimization, &ctx.cwd)
            {
                Ok(cfile) => cfile,
                Err(err) => {
                    return Decision::Raise(PyException::new(
                        err.exception_type(),
                        err.to_string(),
                    ));
                }
            }
        };
        cfiles.push((level, cfile));
    }
    let Some(meta) = meta.filter(|_| is_py) else {
        return Decision::Skip(SkipReason::NotPython);
    };
    prepared.cache_dir = cfiles
        .first()
        .and_then(|(_, cfile)| parent(cfile))
        .map(Path::to_owned);
    let fresh = !opts.force && up_to_date(ctx, &meta, &cfiles);
    prepared.cfiles = cfiles;
    prepared.meta = Some(meta);
    if fresh {
        return Decision::Skip(SkipReason::UpToDate);
    }
    ctx.warm_up(prepared.source.process);
    Decision::Compile(Plan { dfile: dfile.path })
}

/// `int(st.st_mtime)`: CPython builds the float from seconds plus
/// nanoseconds, and the rounding of that sum can carry into the seconds.
pub(crate) fn python_mtime(meta: &Metadata) -> i64 {
    (meta.mtime() as f64 + meta.mtime_nsec() as f64 * 1e-9) as i64
}

/// compileall's check: every pyc starts with magic, zero flags and the
/// source's mtime. (Hash-based pycs never pass it.)
fn up_to_date(ctx: &Context<'_>, meta: &Metadata, cfiles: &[(i32, PathBuf)]) -> bool {
    let mut expect = [0u8; 12];
    expect[..4].copy_from_slice(&ctx.target.magic.0);
    expect[8..].copy_from_slice(&(python_mtime(meta) as u32).to_le_bytes());
    cfiles
        .iter()
        .all(|(_, cfile)| read_header(cfile).is_ok_and(|actual| actual == expect))
}

/// `open(cfile, 'rb').read(12)`, in one `read` for a regular file.
/// Non-blocking, so that a FIFO in a pyc's place reads as empty instead of
/// hanging the run.
fn read_header(path: &Path) -> io::Result<[u8; 12]> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let mut header = [0u8; 12];
    let mut filled = 0;
    while filled < header.len() {
        match file.read(&mut header[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(header)
}

/// The second half of `compile_file`: print `Compiling`, then one
/// `py_compile.compile(fullname, cfile, dfile, doraise=True, optimize=level)`
/// per level, hard-linking duplicates with `--hardlink-dupes`.
pub(crate) fn execute(ctx: &Context<'_>, prepared: &Prepared) -> Executed {
    let started = Instant::now();
    let Decision::Compile(plan) = &prepared.decision else {
        let status = match prepared.decision {
            Decision::Skip(reason) => FileStatus::Skipped(reason),
            _ => FileStatus::Skipped(SkipReason::NotAFile),
        };
        return Executed {
            chunks: Vec::new(),
            success: true,
            status,
            elapsed: started.elapsed(),
        };
    };
    let fullname = &prepared.source.fullname;
    let mut run = Execution {
        ctx,
        fullname,
        process: prepared.source.process,
        chunks: Vec::new(),
        success: true,
        error: None,
    };
    if ctx.options.quiet == 0 {
        run.chunks
            .push(ctx.line(format!("Compiling {}...", ctx.repr(fullname))));
    }
    if let Err(err) = run.compile_levels(plan, &prepared.cfiles) {
        run.fail(err);
    }
    Executed {
        chunks: run.chunks,
        success: run.success,
        status: match run.error {
            Some(error) => FileStatus::Failed(error),
            None if run.success => FileStatus::Compiled,
            None => FileStatus::Interrupted,
        },
        elapsed: started.elapsed(),
    }
}

/// What happened to one path, for reports.
///
/// A sink sees one status per path compile_file is called for, in
/// compileall's order; a second run finds the pyc up to date:
///
/// ```
/// use std::path::PathBuf;
/// use compileall_cli::{Chunk, FileOutcome, FileStatus, Options, Session, Sink, SkipReason};
/// # use bytecode::{BackendError, CompileOutput, CompileRequest, Compiler, Target};
/// # // A backend that needs no interpreter: `b"N"` is `marshal.dumps(None)`.
/// # struct Canned(Target);
/// # impl Compiler for Canned {
/// #     fn target(&self) -> &Target {
/// #         &self.0
/// #     }
/// #     fn compile(&self, request: &CompileRequest<'_>) -> Result<CompileOutput, BackendError> {
/// #         let levels = request.optimizations.iter().map(|_| Ok(b"N".to_vec())).collect();
/// #         Ok(CompileOutput { levels, warnings: Vec::new() })
/// #     }
/// # }
/// # let info = pyc_format::PythonVersion::new(3, 14).info().unwrap();
/// # let compiler = Canned(Target {
/// #     version: info.version,
/// #     full_version: "3.14.10".into(),
/// #     magic: info.magic_bytes(),
/// #     cache_tag: info.cache_tag.map(str::to_owned),
/// #     optimize_flag: 0,
/// #     pycache_prefix: None,
/// #     stdout_encoding: "utf-8".into(),
/// #     stdout_errors: "strict".into(),
/// # });
///
/// #[derive(Default)]
/// struct Statuses(Vec<(PathBuf, FileStatus)>);
/// impl Sink for Statuses {
///     fn write(&mut self, _chunk: &Chunk) {}
///     fn file(&mut self, outcome: &FileOutcome<'_>) {
///         self.0.push((outcome.source.to_owned(), outcome.status.clone()));
///     }
/// }
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.py"), "x = 1\n")?;
/// std::fs::write(dir.path().join("notes.txt"), "")?;
/// let session = Session::new(&compiler)?;
/// for first in [FileStatus::Compiled, FileStatus::Skipped(SkipReason::UpToDate)] {
///     let mut statuses = Statuses::default();
///     session.compile_dir(dir.path(), &Options::default(), &mut statuses);
///     assert_eq!(statuses.0, [
///         (dir.path().join("a.py"), first),
///         (dir.path().join("notes.txt"), FileStatus::Skipped(SkipReason::NotPython)),
///     ]);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// compile_file returned without compiling.
    Skipped(SkipReason),
    /// Every pyc was written.
    Compiled,
    /// Compilation or writing failed; the message compileall prints.
    Failed(String),
    /// The run was interrupted while this file was under way.
    Interrupted,
}

struct Execution<'a, 'c> {
    ctx: &'a Context<'c>,
    fullname: &'a Path,
    process: CompilerProcess,
    chunks: Vec<Chunk>,
    success: bool,
    /// The message of the failure, whatever `-q` prints of it.
    error: Option<String>,
}

/// Why a `py_compile.compile` call stopped.
enum Failure {
    /// `PyCompileError`: printed as its message.
    Compile(Vec<u8>),
    /// Another exception compile_file catches (`OSError` and friends).
    Exception(PyException),
    /// The backend failed (a worker died or hung).
    Backend(String),
    /// Ctrl-C arrived; nothing more is written.
    Interrupted,
}

impl Execution<'_, '_> {
    fn compile_levels(&mut self, plan: &Plan, cfiles: &[(i32, PathBuf)]) -> Result<(), Failure> {
        let ctx = self.ctx;
        let refused = cfiles
            .iter()
            .position(|(_, cfile)| refused_cfile(cfile).is_some());
        let usable = &cfiles[..refused.unwrap_or(cfiles.len())];
        if !usable.is_empty() {
            let (source, meta) = read_source(self.fullname)
                .map_err(|err| self.os_error(&err, Some(self.fullname), None))?;
            let levels: Vec<i32> = usable.iter().map(|(level, _)| *level).collect();
            let output = ctx
                .compiler
                .compile(&CompileRequest {
                    source: &source,
                    filename: self.fullname,
                    dfile: plan.dfile.as_deref(),
                    optimizations: &levels,
                    process: self.process,
                })
                .map_err(|err| Failure::Backend(err.to_string()))?;
            if !output.warnings.is_empty() {
                self.chunks.push(Chunk::stderr(output.warnings));
            }
            let mut previous: Option<(&Path, Vec<u8>)> = None;
            for ((_, cfile), level) in usable.iter().zip(output.levels) {
                let marshalled = level.map_err(|err| Failure::Compile(err.message))?;
                let pyc = self.pyc_bytes(&source, &meta, &marshalled);
                self.write(cfile, &pyc, &meta)?;
                if ctx.options.hardlink_dupes
                    && let Some((previous_cfile, previous_pyc)) = &previous
                {
                    self.link_duplicate(previous_cfile, previous_pyc, cfile, &pyc)?;
                }
                previous = Some((cfile, pyc));
            }
        }
        if let Some(index) = refused {
            let cfile = &cfiles[index].1;
            let message = refused_cfile(cfile).unwrap_or_else(|| non_regular_message(cfile));
            return Err(Failure::Exception(PyException::new(
                "FileExistsError",
                message,
            )));
        }
        Ok(())
    }

    fn pyc_bytes(&self, source: &[u8], meta: &Metadata, marshalled: &[u8]) -> Vec<u8> {
        let magic = self.ctx.target.magic;
        let header = match self.ctx.invalidation {
            InvalidationMode::Timestamp => {
                PycHeader::timestamp(magic, python_mtime(meta), meta.size())
            }
            InvalidationMode::CheckedHash => {
                PycHeader::hash(magic, pyc_format::source_hash(magic, source), true)
            }
            InvalidationMode::UncheckedHash => {
                PycHeader::hash(magic, pyc_format::source_hash(magic, source), false)
            }
        };
        let mut pyc = Vec::with_capacity(16 + marshalled.len());
        pyc.extend_from_slice(&header.to_bytes());
        pyc.extend_from_slice(marshalled);
        pyc
    }

    /// `os.makedirs(dirname(cfile))` then `_write_atomic(cfile, pyc, mode)`.
    fn write(&self, cfile: &Path, pyc: &[u8], meta: &Metadata) -> Result<(), Failure> {
        if self.ctx.interrupted.load(Ordering::SeqCst) {
            return Err(Failure::Interrupted);
        }
        if let Some(dir) = parent(cfile) {
            makedirs(dir).map_err(|(err, path)| self.os_error(&err, Some(&path), None))?;
        }
        // `_calc_mode`: the source's mode, made writable by the owner.
        let mode = meta.mode() | 0o200;
        atomic_file::write(cfile, pyc, mode).map_err(|err| match err.operation {
            atomic_file::Operation::Write => self.os_error(&err.source, None, None),
            _ => self.os_error(&err.source, Some(&err.path), err.path2.as_deref()),
        })
    }

    /// compileall's `--hardlink-dupes` step after writing `cfile`.
    fn link_duplicate(
        &self,
        previous: &Path,
        previous_pyc: &[u8],
        cfile: &Path,
        pyc: &[u8],
    ) -> Result<(), Failure> {
        if previous_pyc != pyc {
            return Ok(());
        }
        if previous == cfile {
            // Two levels share one path (`-b`, or -1 next to the
            // interpreter's own level): CPython unlinks the file, then fails
            // to link it to itself.
            std::fs::remove_file(cfile).map_err(|err| self.os_error(&err, Some(cfile), None))?;
            let gone = io::Error::from_raw_os_error(libc::ENOENT);
            return Err(self.os_error(&gone, Some(previous), Some(cfile)));
        }
        dedup::link(previous, cfile)
            .map_err(|err| self.os_error(&err.source, Some(&err.path), err.path2.as_deref()))
    }

    fn os_error(
        &self,
        err: &io::Error,
        filename: Option<&Path>,
        filename2: Option<&Path>,
    ) -> Failure {
        Failure::Exception(PyException::os_error(err, filename, filename2, &|p| {
            self.ctx.repr(p)
        }))
    }

    /// compile_file's `except` clauses: mark failure and print per `-q`.
    fn fail(&mut self, failure: Failure) {
        self.success = false;
        let quiet = self.ctx.options.quiet;
        // The worker encoded py_compile's message for stdout already.
        let message = match failure {
            Failure::Interrupted => return,
            Failure::Compile(message) => message,
            Failure::Exception(exc) => self.ctx.stdout_bytes(&exc.line()),
            Failure::Backend(reason) => self.ctx.stdout_bytes(
                format!("Error compiling {}: {reason}", self.ctx.repr(self.fullname)).as_bytes(),
            ),
        };
        self.error = Some(String::from_utf8_lossy(&message).into_owned());
        if quiet >= 2 {
            return;
        }
        let mut text = Vec::with_capacity(message.len() + 40);
        if quiet == 1 {
            text.extend_from_slice(&self.ctx.stdout_bytes(
                format!("*** Error compiling {}...\n", self.ctx.repr(self.fullname)).as_bytes(),
            ));
        } else {
            text.extend_from_slice(b"*** ");
        }
        text.extend_from_slice(&message);
        self.chunks.push(Chunk::line(text));
    }
}

/// py_compile's refusal to replace a symlink or a non-regular file.
fn refused_cfile(cfile: &Path) -> Option<Vec<u8>> {
    let lmeta = std::fs::symlink_metadata(cfile).ok()?;
    if lmeta.file_type().is_symlink() {
        let mut message = cfile.as_os_str().as_bytes().to_vec();
        message.extend_from_slice(
            b" is a symlink and will be changed into a regular file if import writes a byte-compiled file to it",
        );
        return Some(message);
    }
    (!lmeta.is_file()).then(|| non_regular_message(cfile))
}

fn non_regular_message(cfile: &Path) -> Vec<u8> {
    let mut message = cfile.as_os_str().as_bytes().to_vec();
    message.extend_from_slice(
        b" is a non-regular file and will be changed into a regular one if import writes a byte-compiled file to it",
    );
    message
}

/// `loader.get_data(file)`, plus the `stat` py_compile takes afterwards.
fn read_source(path: &Path) -> io::Result<(Vec<u8>, Metadata)> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    let mut source = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut source)?;
    Ok((source, meta))
}

/// `os.path.dirname(path)`, `None` when empty.
fn parent(path: &Path) -> Option<&Path> {
    let bytes = path.as_os_str().as_bytes();
    let i = bytes.iter().rposition(|&b| b == b'/')?;
    // dirname keeps a root slash and strips other trailing slashes.
    let head = &bytes[..i + 1];
    let trimmed = match head.iter().rposition(|&b| b != b'/') {
        Some(j) => &head[..j + 1],
        None => head,
    };
    (!trimmed.is_empty()).then(|| Path::new(std::ffi::OsStr::from_bytes(trimmed)))
}

/// `os.makedirs(name)` as py_compile calls it (an existing leaf is not an
/// error); the error names the directory whose creation failed.
fn makedirs(name: &Path) -> Result<(), (io::Error, PathBuf)> {
    match std::fs::create_dir(name) {
        Ok(()) => return Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(err) if err.kind() != io::ErrorKind::NotFound => return Err((err, name.to_owned())),
        Err(_) => {}
    }
    // A parent is missing: create it (an existing one is fine), then retry.
    let bytes = name.as_os_str().as_bytes();
    let trimmed = &bytes[..bytes.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1)];
    if let Some(head) = parent(Path::new(std::ffi::OsStr::from_bytes(trimmed))) {
        makedirs(head)?;
    }
    match std::fs::create_dir(name) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err((err, PathBuf::from(OsString::from_vec(bytes.to_vec())))),
    }
}
