//! A drop-in replacement for `python -m compileall`, as a library and as
//! the `compileall` binary.
//!
//! The library mirrors compileall's functions: [`Session::compile_dir`],
//! [`Session::compile_file`], [`Session::compile_path`], and
//! [`Session::compile_dests`] (the command line's loop over `FILE|DIR`
//! arguments). They produce the same files, bytes and messages as CPython's,
//! for any [`bytecode::Compiler`]; the messages go to a [`Sink`].
//!
//! ```no_run
//! use std::path::Path;
//! use bytecode::cpython::{CpythonPool, PoolOptions};
//! use compileall_cli::{Captured, Options, Outcome, Session};
//!
//! let pool = CpythonPool::start(Path::new("python3"), PoolOptions { max_workers: 4, ..Default::default() })?;
//! let session = Session::new(&pool)?;
//! let mut output = Captured::default();
//! let options = Options { quiet: 1, workers: 4, ..Options::default() };
//! let outcome = session.compile_dir(Path::new("src"), &options, &mut output);
//! assert!(matches!(outcome, Outcome::Completed { success: true }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! How it is fast without changing a byte of output: the tree is walked and
//! every source checked for staleness in parallel, stale sources are
//! compiled on several threads, and the output of each step is printed in
//! exactly the order a sequential `python -m compileall -j 1` prints it
//! (see `docs/architecture.md`).

pub mod check;
mod engine;
mod file;
pub mod inspect;
mod output;
mod plan;
mod pyerror;
mod pyint;
mod pyregex;
pub mod report;
mod walk;

pub mod cli;

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use bytecode::Compiler;
use pycache_paths::CacheLayout;

pub use output::{Captured, Chunk, FileOutcome, FileStatus, Sink, SkipReason, Stream};
pub use plan::{DEFAULT_RECURSION_LIMIT, Plan};
pub use pyerror::PyException;
pub use pyint::parse_int;
pub use pyregex::{PatternError, PyRegex};

use engine::{Context, Step};
use plan::Item;
use rayon::prelude::*;

/// `py_compile.PycInvalidationMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidationMode {
    /// Header holds the source's mtime and size.
    Timestamp,
    /// Header holds the source hash; import checks it.
    CheckedHash,
    /// Header holds the source hash; import does not check it.
    UncheckedHash,
}

impl InvalidationMode {
    /// py_compile's default: checked-hash when `SOURCE_DATE_EPOCH` is set
    /// and non-empty (reproducible builds), else timestamp.
    ///
    /// ```
    /// use compileall_cli::InvalidationMode;
    /// let mode = InvalidationMode::from_environment();
    /// match std::env::var_os("SOURCE_DATE_EPOCH") {
    ///     Some(value) if !value.is_empty() => assert_eq!(mode, InvalidationMode::CheckedHash),
    ///     _ => assert_eq!(mode, InvalidationMode::Timestamp),
    /// }
    /// ```
    pub fn from_environment() -> Self {
        match std::env::var_os("SOURCE_DATE_EPOCH") {
            Some(value) if !value.is_empty() => InvalidationMode::CheckedHash,
            _ => InvalidationMode::Timestamp,
        }
    }
}

/// The arguments of `compile_dir`/`compile_file`, with compileall's defaults.
///
/// ```
/// use compileall_cli::{Exclude, Options, PyRegex};
///
/// // The defaults are compile_dir's: maxlevels=None, optimize=-1, workers=1.
/// let defaults = Options::default();
/// assert_eq!((defaults.maxlevels, defaults.optimize, defaults.workers), (None, vec![-1], 1));
///
/// // compileall -q -f -x '/tests?/' -o 1 -o 2
/// let options = Options {
///     quiet: 1,
///     force: true,
///     rx: Some(Exclude::Pattern(PyRegex::new("/tests?/")?)),
///     optimize: vec![1, 2],
///     ..Options::default()
/// };
/// # Ok::<(), compileall_cli::PatternError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    /// `maxlevels`: how deep to recurse; `None` is `sys.getrecursionlimit()`.
    pub maxlevels: Option<i64>,
    /// `ddir` (`-d`).
    pub ddir: Option<PathBuf>,
    /// `force` (`-f`).
    pub force: bool,
    /// `rx` (`-x`).
    pub rx: Option<Exclude>,
    /// `quiet` (`-q` count): 1 prints only errors, 2 nothing.
    pub quiet: u8,
    /// `legacy` (`-b`): write `x.pyc` next to `x.py`.
    pub legacy: bool,
    /// `optimize` (`-o`, repeatable); -1 is the interpreter's own level.
    pub optimize: Vec<i32>,
    /// `workers` (`-j`): negative is an error for directories, as in
    /// CPython. How many sources compile at once is the backend's
    /// [`Compiler::max_concurrency`], which the binary sizes from `-j`.
    pub workers: i64,
    /// `invalidation_mode`; `None` is py_compile's default.
    pub invalidation_mode: Option<InvalidationMode>,
    /// `stripdir` (`-s`).
    pub stripdir: Option<PathBuf>,
    /// `prependdir` (`-p`).
    pub prependdir: Option<PathBuf>,
    /// `limit_sl_dest` (`-e`).
    pub limit_sl_dest: Option<PathBuf>,
    /// `hardlink_dupes` (`--hardlink-dupes`).
    pub hardlink_dupes: bool,
}

impl Options {
    /// What `compile_path()` passes to each `compile_dir`: none of
    /// -d/-s/-p/-x/-o/-e/-j (our own parallelism is the backend's,
    /// invisible in the output), and no recursion.
    ///
    /// ```
    /// use compileall_cli::Options;
    /// // compileall -f -o 2 -d /srv (no FILE|DIR: compile_path)
    /// let options = Options { force: true, optimize: vec![2], ddir: Some("/srv".into()), ..Options::default() };
    /// let per_dir = Options::for_compile_path(&options);
    /// assert!(per_dir.force);
    /// assert_eq!((per_dir.maxlevels, per_dir.optimize, per_dir.ddir), (Some(0), vec![-1], None));
    /// ```
    pub fn for_compile_path(options: &Options) -> Options {
        Options {
            maxlevels: Some(0),
            ddir: None,
            rx: None,
            optimize: vec![-1],
            workers: 1,
            stripdir: None,
            prependdir: None,
            limit_sl_dest: None,
            hardlink_dupes: false,
            ..options.clone()
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            maxlevels: None,
            ddir: None,
            force: false,
            rx: None,
            quiet: 0,
            legacy: false,
            optimize: vec![-1],
            workers: 1,
            invalidation_mode: None,
            stripdir: None,
            prependdir: None,
            limit_sl_dest: None,
            hardlink_dupes: false,
        }
    }
}

/// compile_file's `rx` argument.
#[derive(Clone, Debug)]
pub enum Exclude {
    /// Skip sources whose path the pattern matches (`rx.search(fullname)`).
    Pattern(PyRegex),
    /// `-x ''`: compileall does not compile an empty pattern, so `rx` stays
    /// a string and the first source reached raises `AttributeError`.
    EmptyString,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Ran to the end; `success` is compileall's return value.
    Completed {
        /// False if any source failed to compile.
        success: bool,
    },
    /// compileall raised this exception (CPython prints a traceback and
    /// exits with status 1).
    Raised(PyException),
    /// Stopped by Ctrl-C.
    Interrupted,
}

impl Outcome {
    /// The exit status `python -m compileall` would give.
    ///
    /// ```
    /// use compileall_cli::{Outcome, PyException};
    /// assert_eq!(Outcome::Completed { success: true }.exit_code(), 0);
    /// assert_eq!(Outcome::Completed { success: false }.exit_code(), 1);
    /// // `compileall -j -1 DIR` raises this; CPython exits with status 1.
    /// let raised = PyException::new("ValueError", "workers must be greater or equal to 0");
    /// assert_eq!(Outcome::Raised(raised).exit_code(), 1);
    /// assert_eq!(Outcome::Interrupted.exit_code(), 1);
    /// ```
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Completed { success: true } => 0,
            _ => 1,
        }
    }
}

/// The `ddir`, `stripdir` and `prependdir` one `compile_file` call gets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rewrite {
    pub ddir: Option<PathBuf>,
    pub stripdir: Option<PathBuf>,
    pub prependdir: Option<PathBuf>,
}

/// Compiles for one backend; holds what every call shares.
pub struct Session<'c> {
    compiler: &'c dyn Compiler,
    cwd: PathBuf,
    recursion_limit: u32,
    interrupted: Arc<AtomicBool>,
}

impl<'c> Session<'c> {
    /// A session compiling with `compiler` in the current directory.
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    /// use compileall_cli::Session;
    ///
    /// let pool = CpythonPool::start(Path::new("python3"), PoolOptions::default())?;
    /// let session = Session::new(&pool)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(compiler: &'c dyn Compiler) -> std::io::Result<Self> {
        Ok(Session {
            compiler,
            cwd: std::env::current_dir()?,
            recursion_limit: plan::DEFAULT_RECURSION_LIMIT,
            interrupted: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Uses the target interpreter's `sys.getrecursionlimit()` as
    /// compile_dir's default depth (CPython's default is 1000).
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    /// use compileall_cli::Session;
    ///
    /// let pool = CpythonPool::start(Path::new("python3"), PoolOptions::default())?;
    /// let session = Session::new(&pool)?.with_recursion_limit(pool.environment().recursion_limit);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_recursion_limit(mut self, recursion_limit: u32) -> Self {
        self.recursion_limit = recursion_limit;
        self
    }

    /// Set this flag (from a signal handler, say) to stop the run; it then
    /// ends with [`Outcome::Interrupted`].
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use std::sync::atomic::Ordering;
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    /// use compileall_cli::{Captured, Options, Outcome, Session};
    ///
    /// let pool = CpythonPool::start(Path::new("python3"), PoolOptions::default())?;
    /// let session = Session::new(&pool)?;
    /// session.interrupt_flag().store(true, Ordering::SeqCst); // as a SIGINT handler would
    /// let outcome = session.compile_dir(Path::new("demo"), &Options::default(), &mut Captured::default());
    /// assert_eq!(outcome, Outcome::Interrupted);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.interrupted)
    }

    /// `compile_dir(dir, ...)`.
    ///
    /// With `demo/` holding `good.py`, `bad.py` (a syntax error),
    /// `data.csv` and `pkg/__init__.py`, this is
    /// `compileall.compile_dir('demo', maxlevels=0, quiet=1)` (`-l -q`), and
    /// prints what CPython 3.14 prints:
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    /// use compileall_cli::{Captured, Options, Outcome, Session, Stream};
    ///
    /// let pool = CpythonPool::start(Path::new("python3.14"), PoolOptions::default())?;
    /// let session = Session::new(&pool)?;
    /// let mut output = Captured::default();
    /// let options = Options { maxlevels: Some(0), quiet: 1, ..Options::default() };
    /// let outcome = session.compile_dir(Path::new("demo"), &options, &mut output);
    /// assert_eq!(outcome, Outcome::Completed { success: false });
    /// assert_eq!(
    ///     String::from_utf8(output.stream(Stream::Stdout))?,
    ///     "*** Error compiling 'demo/bad.py'...\n  File \"demo/bad.py\", line 1\n    def broken(:\n               ^\nSyntaxError: invalid syntax\n\n"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compile_dir(&self, dir: &Path, options: &Options, sink: &mut dyn Sink) -> Outcome {
        self.run(Plan::dir(dir, options), sink)
    }

    /// `compile_file(fullname, ...)`.
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    /// use compileall_cli::{Captured, Options, Outcome, Session, Stream};
    ///
    /// let pool = CpythonPool::start(Path::new("python3"), PoolOptions::default())?;
    /// let session = Session::new(&pool)?;
    /// let mut output = Captured::default();
    /// let outcome = session.compile_file(Path::new("demo/good.py"), &Options::default(), &mut output);
    /// assert_eq!(outcome, Outcome::Completed { success: true });
    /// assert_eq!(output.stream(Stream::Stdout), b"Compiling 'demo/good.py'...\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compile_file(&self, fullname: &Path, options: &Options, sink: &mut dyn Sink) -> Outcome {
        self.run(Plan::file(fullname, options), sink)
    }

    /// The command line's loop: each destination that is a file goes to
    /// `compile_file`, anything else to `compile_dir`; every destination is
    /// processed even after a failure.
    ///
    /// ```no_run
    /// use std::path::{Path, PathBuf};
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    /// use compileall_cli::{Captured, Options, Session};
    ///
    /// let pool = CpythonPool::start(Path::new("python3.14"), PoolOptions::default())?;
    /// let session = Session::new(&pool)?;
    /// // python3.14 -m compileall -q demo/bad.py demo/good.py: good.py is still compiled.
    /// let dests = [PathBuf::from("demo/bad.py"), PathBuf::from("demo/good.py")];
    /// let options = Options { quiet: 1, ..Options::default() };
    /// let outcome = session.compile_dests(&dests, &options, &mut Captured::default());
    /// assert_eq!(outcome.exit_code(), 1);
    /// assert!(Path::new("demo/__pycache__/good.cpython-314.pyc").is_file());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compile_dests(
        &self,
        dests: &[PathBuf],
        options: &Options,
        sink: &mut dyn Sink,
    ) -> Outcome {
        self.run(Plan::dests(dests, options), sink)
    }

    /// `--check`: every source of the plan whose pyc is missing, stale or
    /// invalid for the target (see [`check`]); nothing is written. Ends with
    /// the exception compileall would raise, if it would.
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    /// use compileall_cli::{Options, Plan, Session};
    ///
    /// // After `compileall demo` with CPython 3.14, only bad.py has no pyc.
    /// let pool = CpythonPool::start(Path::new("python3.14"), PoolOptions::default())?;
    /// let session = Session::new(&pool)?;
    /// let problems = session.check(Plan::dir(Path::new("demo"), &Options::default())).unwrap();
    /// assert_eq!(problems.len(), 1);
    /// assert_eq!(
    ///     problems[0].to_string(),
    ///     "demo/bad.py: missing demo/__pycache__/bad.cpython-314.pyc (no such file)"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(&self, plan: Plan) -> Result<Vec<check::Problem>, PyException> {
        let mut plan = plan.with_recursion_limit(self.recursion_limit);
        let items = std::mem::take(&mut plan.items);
        let ctx = self.context(plan.options(), false);
        let steps = self.prepare(&ctx, items);
        check::check(&ctx, &steps)
    }

    fn prepare(&self, ctx: &Context<'_>, items: Vec<Item>) -> Vec<Step> {
        items
            .into_par_iter()
            .map(|item| match item {
                Item::Listing(dir) => {
                    Step::Line(ctx.line(format!("Listing {}...", ctx.repr(&dir))))
                }
                Item::CantList(dir) => {
                    Step::Line(ctx.line(format!("Can't list {}", ctx.repr(&dir))))
                }
                Item::File(source) => Step::File(Box::new(file::prepare(ctx, source))),
                Item::Raise(exception) => Step::Raise(exception),
            })
            .collect()
    }

    /// Runs a plan: decides what is stale (in parallel), compiles it, and
    /// writes every message to `sink` in CPython's order.
    ///
    /// ```no_run
    /// use std::path::{Path, PathBuf};
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    /// use compileall_cli::{Captured, Options, Outcome, Plan, Session};
    ///
    /// let options = Options { quiet: 2, ..Options::default() };
    /// // Walking needs no interpreter: do it while the workers start.
    /// let plan = Plan::dests(&[PathBuf::from("demo")], &options);
    /// let pool = CpythonPool::start(Path::new("python3"), PoolOptions::default())?;
    /// let outcome = Session::new(&pool)?.run(plan, &mut Captured::default());
    /// assert_eq!(outcome, Outcome::Completed { success: false }); // demo/bad.py
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run(&self, plan: Plan, sink: &mut dyn Sink) -> Outcome {
        let mut plan = plan.with_recursion_limit(self.recursion_limit);
        let items = std::mem::take(&mut plan.items);
        let ctx = self.context(plan.options(), true);
        let steps = self.prepare(&ctx, items);
        sweep_leftovers(&steps);
        engine::run(&ctx, steps, sink)
    }

    /// `compile_path(skip_curdir, maxlevels=0, ...)` over `sys_path`: each
    /// directory without recursion, at the interpreter's own optimization
    /// level; stops at the first directory that fails, as CPython's
    /// `success and compile_dir(...)` does.
    ///
    /// The binary passes the target's `sys.path`
    /// (`pool.environment().sys_path`); here a short one stands in for it,
    /// as in `sys.path[:] = ['', 'demo/pkg']; compileall.compile_path()`:
    ///
    /// ```no_run
    /// use std::path::{Path, PathBuf};
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    /// use compileall_cli::{Captured, Options, Outcome, Session, Stream};
    ///
    /// let pool = CpythonPool::start(Path::new("python3"), PoolOptions::default())?;
    /// let session = Session::new(&pool)?;
    /// let sys_path = [PathBuf::from(""), PathBuf::from("demo/pkg")];
    /// let mut output = Captured::default();
    /// let outcome = session.compile_path(&sys_path, true, &Options::default(), &mut output);
    /// assert_eq!(outcome, Outcome::Completed { success: true });
    /// assert_eq!(
    ///     String::from_utf8(output.stream(Stream::Stdout))?,
    ///     "Skipping current directory\nListing 'demo/pkg'...\nCompiling 'demo/pkg/__init__.py'...\n"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compile_path(
        &self,
        sys_path: &[PathBuf],
        skip_curdir: bool,
        options: &Options,
        sink: &mut dyn Sink,
    ) -> Outcome {
        let options = Options::for_compile_path(options);
        let mut success = true;
        for dir in sys_path {
            let bytes = dir.as_os_str().as_bytes();
            if skip_curdir && (bytes.is_empty() || bytes == b".") {
                if options.quiet < 2 {
                    sink.write(&Chunk::line("Skipping current directory"));
                }
            } else if success {
                match self.compile_dir(dir, &options, sink) {
                    Outcome::Completed { success: ok } => success = ok,
                    other => return other,
                }
            }
        }
        Outcome::Completed { success }
    }

    /// The run's shared facts; `compiles` is false for runs that only look
    /// (`--check`), which must not warm the backend up.
    fn context<'a>(&'a self, options: &'a Options, compiles: bool) -> Context<'a> {
        let target = self.compiler.target();
        let mut levels = options.optimize.clone();
        levels.sort_unstable();
        levels.dedup();
        // Two threads per concurrent compile: while one waits for the
        // backend, the other reads the next source or writes the last pyc,
        // so the backend never idles on our I/O.
        let threads = 2 * self.compiler.max_concurrency().max(1);
        Context {
            compiler: self.compiler,
            target,
            layout: CacheLayout {
                version: target.version,
                cache_tag: target.cache_tag.clone(),
                optimize_flag: target.optimize_flag,
                pycache_prefix: target.pycache_prefix.clone(),
            },
            cwd: self.cwd.clone(),
            options,
            levels,
            invalidation: options
                .invalidation_mode
                .unwrap_or_else(InvalidationMode::from_environment),
            interrupted: &self.interrupted,
            threads,
            warmed: [
                std::sync::atomic::AtomicBool::new(!compiles),
                std::sync::atomic::AtomicBool::new(!compiles),
            ],
            // A codec we do not implement: the text's own bytes, as before
            // the target's encoding was known.
            stdout: pystr::TextEncoding::from_python_names(
                &target.stdout_encoding,
                &target.stdout_errors,
            )
            .unwrap_or(pystr::TextEncoding::FS),
        }
    }
}

/// Removes the temporary files that killed runs left in the folders this
/// run writes to and the walk did not sweep (those of files named on the
/// command line, and everything under a `pycache_prefix`), so that an
/// interruption leaves nothing behind after the next run.
fn sweep_leftovers(steps: &[Step]) {
    let dirs: std::collections::HashSet<&Path> = steps
        .iter()
        .filter_map(|step| match step {
            Step::File(prepared) if !prepared.cache_dir_swept() => prepared.cache_dir.as_deref(),
            _ => None,
        })
        .collect();
    dirs.into_par_iter().for_each(|dir| {
        let _ = atomic_file::sweep(dir, b".pyc");
    });
}
