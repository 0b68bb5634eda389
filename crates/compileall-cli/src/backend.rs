//! The compiler for one target interpreter, built from the
//! [`Invocation`]: the one place that decides which backend compiles and
//! how it is set up.
//!
//! Every target has a pool of its own CPython workers
//! ([`bytecode::cpython::CpythonPool`]), sized from `-j`, with the first
//! worker emulating the process CPython compiles in first. It answers what
//! only the target interpreter knows: `sys.path` (for `compile_path`),
//! `sys.getrecursionlimit()`, `re.compile`'s verdict on `-x`. For CPython
//! 3.14 targets (`--backend auto` or `native`), the native backend
//! ([`bytecode::native::NativeCompiler`]) compiles in this process on `-j`
//! threads and hands the pool only the sources it declines.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use bytecode::cpython::{CpythonPool, Environment, PatternVerdict, PoolOptions};
use bytecode::native::{NATIVE_VERSION, NativeCompiler};
use bytecode::{BackendError, Compiler, CompilerProcess};

use crate::cli::{Backend as BackendChoice, Invocation};
use crate::interpreters::Records;

/// The compiler for one target, and the target's answers to what
/// compileall asks its interpreter.
pub struct TargetCompiler {
    compiler: Backend,
}

/// The backend a target compiles with.
enum Backend {
    Cpython(CpythonPool),
    Native(NativeCompiler<CpythonPool>),
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

    /// The one place a target's compiler is made: the pool always (its
    /// handshake tells the target's version), the native backend in front
    /// of it for 3.14 unless `--backend cpython`. When the native backend
    /// will compile and the interpreter's handshake is on record
    /// ([`crate::interpreters`]), the pool starts no worker until one is
    /// needed.
    fn build(python: &Path, settings: Settings) -> Result<Self, BackendError> {
        // Records serve the native backend only, so only a run that may
        // use it reads or writes them.
        let records = (settings.backend != BackendChoice::Cpython)
            .then(|| Records::locate(python))
            .flatten();
        let recorded = records
            .as_ref()
            .filter(|_| !settings.compiles_path)
            .and_then(Records::load)
            .and_then(|handshake| {
                CpythonPool::from_handshake(python, settings.pool.clone(), &handshake).ok()
            })
            .filter(|pool| pool.target().version == NATIVE_VERSION);
        let pool = match recorded {
            Some(pool) => pool,
            None => {
                let pool = CpythonPool::start(python, settings.pool)?;
                if let Some(records) = &records
                    && pool.target().version == NATIVE_VERSION
                {
                    records.store(pool.handshake(), &pool.environment().sys_path);
                }
                pool
            }
        };
        let native = match settings.backend {
            BackendChoice::Cpython => false,
            BackendChoice::Auto => pool.target().version == NATIVE_VERSION,
            BackendChoice::Native => true,
        };
        let compiler = if native {
            let native = NativeCompiler::new(
                pool.with_max_workers(fallback_workers(settings.threads)),
                settings.threads,
            )
            .map_err(|err| BackendError::Start {
                python: python.to_owned(),
                reason: err.to_string(),
            })?;
            Backend::Native(native)
        } else {
            Backend::Cpython(pool)
        };
        Ok(TargetCompiler { compiler })
    }

    /// The target's CPython workers.
    fn pool(&self) -> &CpythonPool {
        match &self.compiler {
            Backend::Cpython(pool) => pool,
            Backend::Native(native) => native.fallback(),
        }
    }

    /// What compiles the sources.
    pub fn compiler(&self) -> &dyn Compiler {
        match &self.compiler {
            Backend::Cpython(pool) => pool,
            Backend::Native(native) => native,
        }
    }

    /// The interpreter's `sys.path` and recursion limit.
    pub fn environment(&self) -> &Environment {
        self.pool().environment()
    }

    /// `re.compile(pattern)` in the target interpreter.
    pub fn check_pattern(&self, pattern: &str) -> Result<PatternVerdict, BackendError> {
        self.pool().check_regex(pattern)
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
    /// `--backend`.
    backend: BackendChoice,
    /// No `FILE|DIR` and no `-i`: compileall compiles `sys.path`, which a
    /// recorded handshake may no longer tell right.
    compiles_path: bool,
    /// The CPython worker pool.
    pool: PoolOptions,
    /// Native compile threads.
    threads: usize,
}

impl Settings {
    fn of(invocation: &Invocation) -> Settings {
        let pool = pool_options(invocation);
        Settings {
            backend: invocation.backend,
            compiles_path: invocation.dests.is_empty() && invocation.flist.is_none(),
            threads: pool.max_workers,
            pool,
        }
    }
}

/// CPython workers behind the native backend for `threads` compile
/// threads: half as many. They compile only what it declines (a few files
/// in a hundred), and every worker costs an interpreter with compileall's
/// state; a tree where many sources fall back still gets parallel workers.
fn fallback_workers(threads: usize) -> usize {
    (threads / 2).max(1)
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
