//! Turning Python source into marshalled code objects, behind one interface.
//!
//! A [`Compiler`] takes source bytes plus the file name to compile into the
//! code objects, and returns, for each requested optimization level, either
//! `marshal.dumps(code)` or the error message `py_compile` would report. It
//! never touches the file system: reading sources, deciding staleness and
//! writing pycs belong to the caller, which is what lets every backend share
//! one fast, careful I/O layer.
//!
//! Backends:
//!
//! - [`cpython::CpythonPool`]: persistent worker processes of a real CPython
//!   interpreter (any version), fed over pipes. Byte-for-byte what that
//!   interpreter's `py_compile` produces, because it *is* that interpreter.
//! - [`native::NativeCompiler`]: no interpreter, for CPython 3.14 targets:
//!   RustPython's parser and compiler in this process, each source it is not
//!   certain to compile exactly as CPython does handed to a fallback
//!   `Compiler` (a `CpythonPool` of the same target).
//!
//! ```no_run
//! use std::path::Path;
//! use bytecode::{CompileRequest, Compiler, CompilerProcess, cpython::{CpythonPool, PoolOptions}};
//!
//! let pool = CpythonPool::start(Path::new("python3"), PoolOptions::default())?;
//! let output = pool.compile(&CompileRequest {
//!     source: b"print('hello')\n",
//!     filename: Path::new("hello.py"),
//!     dfile: None,
//!     optimizations: &[-1],
//!     process: CompilerProcess::Main,
//! })?;
//! let marshalled = output.levels[0].as_ref().expect("valid source");
//! let header = pyc_format::PycHeader::timestamp(pool.target().magic, 0, 15);
//! let pyc = [&header.to_bytes()[..], marshalled].concat();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cpython;
pub mod native;
#[cfg(feature = "testing")]
pub mod testing;

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use pyc_format::{Magic, PythonVersion};

/// The Python the bytecode is for: what goes into pyc headers and paths.
///
/// A backend reports it from [`Compiler::target`]; the CPython backend asks
/// the interpreter:
///
/// ```no_run
/// use std::path::Path;
/// use bytecode::{Compiler, cpython::{CpythonPool, PoolOptions}};
/// use pyc_format::{Magic, PythonVersion};
///
/// let pool = CpythonPool::start(Path::new(".pythons/cpython-3.14/usr/bin/python3.14"), PoolOptions::default())?;
/// let target = pool.target();
/// assert_eq!(target.version, PythonVersion::new(3, 14));
/// assert_eq!(target.magic, Magic(*b"+\x0e\r\n"));
/// assert_eq!(target.cache_tag.as_deref(), Some("cpython-314"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The release line.
    pub version: PythonVersion,
    /// The exact release, such as `3.14.10`.
    pub full_version: String,
    /// `sys.version`: the release and its build, such as `3.14.10 (main,
    /// Nov 5 2026, 10:00:00) [GCC 14.2.0]`. Two builds of one release may
    /// compile differently.
    pub build: String,
    /// `importlib.util.MAGIC_NUMBER`.
    pub magic: Magic,
    /// `sys.implementation.cache_tag`.
    pub cache_tag: Option<String>,
    /// `sys.flags.optimize`: what optimization level -1 means.
    pub optimize_flag: u32,
    /// `sys.pycache_prefix`.
    pub pycache_prefix: Option<PathBuf>,
    /// `sys.stdout`'s codec and error handler (`utf-8`/`strict`,
    /// `ascii`/`backslashreplace`, ...): compileall's messages are printed
    /// in it. `None` when `pystr` does not implement that codec or handler;
    /// the messages are then written as the bytes of their text.
    pub stdout_encoding: Option<pystr::TextEncoding>,
}

/// One source to compile: the arguments of `py_compile.compile(file,
/// dfile=..., optimize=...)`, once per level.
#[derive(Clone, Copy, Debug)]
pub struct CompileRequest<'a> {
    /// The source bytes, exactly as read from the file.
    pub source: &'a [u8],
    /// The source path (`file`).
    pub filename: &'a Path,
    /// The name to compile into the code objects and error messages instead
    /// of `filename` (`dfile`; empty means none, as in py_compile).
    pub dfile: Option<&'a Path>,
    /// Optimization levels, compiled in this order; -1 means the target's
    /// own level. Compilation stops at the first level that fails.
    pub optimizations: &'a [i32],
    /// Which compileall process CPython would compile this in.
    pub process: CompilerProcess,
}

/// Which CPython process compileall compiles a source in. CPython's
/// marshal output depends on the compiling process (which strings are
/// already interned there), so a byte-exact backend must know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompilerProcess {
    /// The `python -m compileall` process itself: `-j 1`, files named on
    /// the command line, `compile_path`.
    Main,
    /// A worker of compile_dir's `ProcessPoolExecutor` (`-j N`, N != 1).
    PoolWorker,
}

/// A compile error, as `py_compile.PyCompileError.msg` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// The message, encoded as compileall prints it (the target's stdout
    /// encoding with `backslashreplace`). A `SyntaxError`'s message spans
    /// lines and ends in a newline.
    pub message: Vec<u8>,
}

/// What compiling one source produced.
///
/// A source with a syntax error fails at its first level with py_compile's
/// message:
///
/// ```no_run
/// use std::path::Path;
/// use bytecode::{CompileRequest, Compiler, CompilerProcess, cpython::{CpythonPool, PoolOptions}};
///
/// let pool = CpythonPool::start(Path::new(".pythons/cpython-3.14/usr/bin/python3.14"), PoolOptions::default())?;
/// let output = pool.compile(&CompileRequest {
///     source: b"def broken(:\n    pass\n",
///     filename: Path::new("bad.py"),
///     dfile: None,
///     optimizations: &[0, 1],
///     process: CompilerProcess::Main,
/// })?;
/// assert_eq!(output.levels.len(), 1); // stopped at the first failure
/// let error = output.levels[0].as_ref().unwrap_err();
/// assert_eq!(
///     String::from_utf8_lossy(&error.message),
///     "  File \"bad.py\", line 1\n    def broken(:\n               ^\nSyntaxError: invalid syntax\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileOutput {
    /// One entry per requested level, in request order, up to and including
    /// the first failure: `marshal.dumps(code)` or the error.
    pub levels: Vec<Result<Vec<u8>, CompileError>>,
    /// Text the compiler wrote to stderr (`SyntaxWarning`s and the like),
    /// encoded as the target would write it.
    pub warnings: Vec<u8>,
    /// Which backend produced it.
    pub compiled_by: CompiledBy,
    /// What a bytecode cache in front of the backend did, if there is one.
    pub cache: Option<CacheOutcome>,
}

/// What a bytecode cache in front of a compiler did for one request
/// (`compileall --cache-dir`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Every level came from the cache: nothing was compiled.
    Hit,
    /// The backend compiled it; `stored` tells whether the cache took the
    /// result.
    Miss {
        /// Whether every level was stored.
        stored: bool,
    },
}

/// Which backend compiled a source, for reports.
///
/// ```
/// use bytecode::CompiledBy;
/// assert_eq!(CompiledBy::Native.backend(), "native");
/// let fallback = CompiledBy::Fallback { reason: "t-string".into() };
/// assert_eq!((fallback.backend(), fallback.reason()), ("cpython", Some("t-string")));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CompiledBy {
    /// The CPython workers, as asked.
    #[default]
    Cpython,
    /// The native backend.
    Native,
    /// The CPython workers, because the native backend declined it.
    Fallback {
        /// Why the native backend declined.
        reason: String,
    },
}

impl CompiledBy {
    /// `cpython` or `native`: the backend whose bytes these are.
    pub fn backend(&self) -> &'static str {
        match self {
            CompiledBy::Native => "native",
            CompiledBy::Cpython | CompiledBy::Fallback { .. } => "cpython",
        }
    }

    /// Why the native backend passed the source on, if it did.
    pub fn reason(&self) -> Option<&str> {
        match self {
            CompiledBy::Fallback { reason } => Some(reason),
            _ => None,
        }
    }
}

/// The backend could not answer: not a property of the source, but of the
/// machinery (a worker crashed, hung, or could not start).
///
/// ```
/// use std::time::Duration;
/// use bytecode::BackendError;
/// let err = BackendError::TimedOut { limit: Duration::from_secs(600) };
/// assert_eq!(err.to_string(), "the CPython worker took longer than 600 s and was stopped");
/// assert_eq!(BackendError::Cancelled.to_string(), "cancelled");
/// ```
#[derive(Debug)]
pub enum BackendError {
    /// The interpreter could not be started or did not complete its
    /// handshake.
    Start {
        /// The interpreter path.
        python: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The worker died while compiling.
    WorkerDied {
        /// How it ended, as the OS reported it.
        status: String,
    },
    /// The worker exceeded the time limit and was killed.
    TimedOut {
        /// The limit.
        limit: std::time::Duration,
    },
    /// The worker answered something that is not the protocol.
    Protocol(String),
    /// Talking to the worker failed.
    Io(std::io::Error),
    /// The work was cancelled ([`Compiler::cancel`]).
    Cancelled,
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::Start { python, reason } => {
                write!(
                    f,
                    "cannot use {} as the target Python: {reason}",
                    python.display()
                )
            }
            BackendError::WorkerDied { status } => write!(f, "the CPython worker died ({status})"),
            BackendError::TimedOut { limit } => {
                write!(
                    f,
                    "the CPython worker took longer than {} s and was stopped",
                    limit.as_secs_f64()
                )
            }
            BackendError::Protocol(what) => write!(f, "the CPython worker broke protocol: {what}"),
            BackendError::Io(err) => write!(f, "talking to the CPython worker failed: {err}"),
            BackendError::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for BackendError {}

impl From<std::io::Error> for BackendError {
    fn from(err: std::io::Error) -> Self {
        BackendError::Io(err)
    }
}

/// A way to compile sources for one [`Target`]. Implementations are shared
/// between threads; `compile` may be called from many at once.
///
/// Only [`target`](Compiler::target) and [`compile`](Compiler::compile) are
/// required. The smallest complete implementation is
/// `bytecode::testing::CannedCompiler` (behind the `testing` feature), the
/// test double the workspace's unit tests and examples share; the real one
/// is [`cpython::CpythonPool`].
pub trait Compiler: Send + Sync {
    /// The Python this compiler produces bytecode for.
    fn target(&self) -> &Target;

    /// Compiles one source at each requested optimization level.
    fn compile(&self, request: &CompileRequest<'_>) -> Result<CompileOutput, BackendError>;

    /// `repr(os.fsdecode(name))` as the target interpreter computes it, when
    /// the backend can ask one; `None` means "use `pystr::repr`". Only
    /// non-ASCII text needs this: Unicode versions differ between
    /// interpreters in which characters are printable.
    ///
    /// ```no_run
    /// use std::ffi::OsStr;
    /// use std::path::Path;
    /// use bytecode::Compiler;
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    ///
    /// let pool = CpythonPool::start(Path::new("python3"), PoolOptions::default())?;
    /// assert_eq!(pool.repr(OsStr::new("é.py")).as_deref(), Some("'é.py'"));
    /// # Ok::<(), bytecode::BackendError>(())
    /// ```
    fn repr(&self, _name: &OsStr) -> Option<String> {
        None
    }

    /// How this backend compiles, for the keys of a bytecode cache: a text
    /// that differs between any two backends (or settings of one) whose
    /// bytes for the same request and target may differ. The target's
    /// version, build and magic number, and the program itself, are keyed
    /// apart. `None`, the default, keeps its output out of caches.
    ///
    /// ```
    /// use bytecode::Compiler;
    /// use bytecode::testing::{CannedCompiler, target};
    ///
    /// let canned = CannedCompiler::new(target(pyc_format::PythonVersion::new(3, 14)));
    /// assert_eq!(canned.cache_identity().as_deref(), Some("canned"));
    /// ```
    fn cache_identity(&self) -> Option<String> {
        None
    }

    /// How many `compile` calls can make progress at once; callers use
    /// about this many threads.
    fn max_concurrency(&self) -> usize {
        1
    }

    /// A hint that `compile` requests for `process` will follow: a backend
    /// with costly set-up may start it now, in the background. It must not
    /// block and must not change what `compile` returns.
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use bytecode::{CompileRequest, Compiler, CompilerProcess};
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    ///
    /// let python = Path::new("python3");
    /// let cold = CpythonPool::start(python, PoolOptions::default())?;
    /// let warm = CpythonPool::start(python, PoolOptions::default())?;
    /// warm.warm_up(CompilerProcess::Main); // returns at once; the worker sets up meanwhile
    /// let request = CompileRequest {
    ///     source: b"greeting = 'hello'\n",
    ///     filename: Path::new("m.py"),
    ///     dfile: None,
    ///     optimizations: &[-1],
    ///     process: CompilerProcess::Main,
    /// };
    /// assert_eq!(warm.compile(&request)?, cold.compile(&request)?);
    /// # Ok::<(), bytecode::BackendError>(())
    /// ```
    fn warm_up(&self, _process: CompilerProcess) {}

    /// Stops all work in progress as fast as possible (Ctrl-C): requests
    /// under way fail, later ones fail at once.
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use bytecode::{BackendError, CompileRequest, Compiler, CompilerProcess};
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    ///
    /// let pool = CpythonPool::start(Path::new("python3"), PoolOptions::default())?;
    /// pool.cancel();
    /// let result = pool.compile(&CompileRequest {
    ///     source: b"x = 1\n",
    ///     filename: Path::new("m.py"),
    ///     dfile: None,
    ///     optimizations: &[-1],
    ///     process: CompilerProcess::Main,
    /// });
    /// assert!(matches!(result, Err(BackendError::Cancelled)));
    /// # Ok::<(), BackendError>(())
    /// ```
    fn cancel(&self) {}
}
