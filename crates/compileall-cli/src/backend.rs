//! The compiler for one target interpreter, built from the
//! [`Invocation`]: the one place that decides which backend compiles and
//! how it is set up.
//!
//! Today every target is compiled by a pool of its own CPython workers
//! ([`bytecode::cpython::CpythonPool`]), sized from `-j`, with the first
//! worker emulating the process CPython compiles in first. The same pool
//! answers what only the target interpreter knows: `sys.path` (for
//! `compile_path`), `sys.getrecursionlimit()`, and `re.compile`'s verdict
//! on `-x`.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use bytecode::cpython::{CpythonPool, Environment, PatternVerdict, PoolOptions};
use bytecode::{BackendError, Compiler, CompilerProcess};

use crate::cli::{Backend, Invocation};

/// Refuses a backend this build cannot run; the error is the usage
/// message to print.
///
/// ```
/// use compileall_cli::backend::check_available;
/// use compileall_cli::cli::Backend;
/// assert!(check_available(Backend::Auto).is_ok());
/// assert!(check_available(Backend::Native).is_err());
/// ```
pub fn check_available(backend: Backend) -> Result<(), String> {
    match backend {
        Backend::Auto | Backend::Cpython => Ok(()),
        Backend::Native => {
            Err("the native backend is not available yet; use --backend cpython".to_owned())
        }
    }
}

/// The compiler for one target, and the target's answers to what
/// compileall asks its interpreter.
pub struct TargetCompiler {
    pool: CpythonPool,
}

impl TargetCompiler {
    /// Starts the backend for `python` as `invocation` asks.
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use compileall_cli::backend::TargetCompiler;
    /// use compileall_cli::cli::Cli;
    ///
    /// let argv = ["compileall", "-j", "4", "src"];
    /// let invocation = Cli::try_parse_argparse_from(argv).unwrap().args.into_invocation();
    /// let target = TargetCompiler::start(Path::new("python3"), &invocation)?;
    /// assert_eq!(target.compiler().max_concurrency(), 4);
    /// # Ok::<(), bytecode::BackendError>(())
    /// ```
    pub fn start(python: &Path, invocation: &Invocation) -> Result<Self, BackendError> {
        TargetCompiler::build(python, Settings::of(invocation))
    }

    /// [`start`](Self::start) on its own thread: the interpreter starts
    /// while the caller checks the arguments and walks the tree.
    pub fn start_in_background(python: PathBuf, invocation: &Invocation) -> Starting {
        let settings = Settings::of(invocation);
        Starting(std::thread::spawn(move || {
            TargetCompiler::build(&python, settings)
        }))
    }

    /// The one place a target's compiler is made.
    fn build(python: &Path, settings: Settings) -> Result<Self, BackendError> {
        let pool = CpythonPool::start(python, settings.pool)?;
        Ok(TargetCompiler { pool })
    }

    /// What compiles the sources.
    pub fn compiler(&self) -> &dyn Compiler {
        &self.pool
    }

    /// The interpreter's `sys.path` and recursion limit.
    pub fn environment(&self) -> &Environment {
        self.pool.environment()
    }

    /// `re.compile(pattern)` in the target interpreter.
    pub fn check_pattern(&self, pattern: &str) -> Result<PatternVerdict, BackendError> {
        self.pool.check_regex(pattern)
    }
}

/// A [`TargetCompiler`] starting on another thread.
pub struct Starting(JoinHandle<Result<TargetCompiler, BackendError>>);

impl Starting {
    /// Waits until it is ready.
    pub fn wait(self) -> Result<TargetCompiler, BackendError> {
        self.0.join().expect("starting a backend does not panic")
    }
}

/// What building a target's compiler takes from the [`Invocation`] (owned,
/// to cross to the thread that starts it).
struct Settings {
    /// The CPython worker pool.
    pool: PoolOptions,
}

impl Settings {
    fn of(invocation: &Invocation) -> Settings {
        Settings {
            pool: pool_options(invocation),
        }
    }
}

/// The pool for `-j N`: up to N workers (one per CPU for `-j 0`), each
/// request limited to `--worker-timeout`, and the first worker the
/// process CPython compiles in first.
fn pool_options(invocation: &Invocation) -> PoolOptions {
    PoolOptions {
        max_workers: match invocation.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n.max(1) as usize,
        },
        // Without a valid limit the run is refused, and the pool only
        // judges `-x`.
        timeout: invocation
            .worker_timeout
            .unwrap_or(PoolOptions::default().timeout),
        // Directories with -j N != 1 compile in CPython's pool processes;
        // everything else in the main one.
        first_worker: if invocation.workers == 1 || invocation.dests.is_empty() {
            CompilerProcess::Main
        } else {
            CompilerProcess::PoolWorker
        },
    }
}
