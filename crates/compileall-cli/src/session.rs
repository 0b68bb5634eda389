//! [`Session`]: compileall's functions (`compile_dir`, `compile_file`,
//! `compile_path`, the command line's loop) for one backend.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use bytecode::Compiler;

use crate::check::{self, Problem};
use crate::context::{Context, Purpose};
use crate::engine::{self, Outcome};
use crate::options::Options;
use crate::output::{Chunk, Sink};
use crate::plan::{self, Plan};
use crate::pyerror::PyException;

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
    /// ```
    /// use bytecode::testing::{CannedCompiler, target};
    /// use compileall_cli::Session;
    ///
    /// let compiler = CannedCompiler::new(target(pyc_format::PythonVersion::new(3, 14)));
    /// let session = Session::new(&compiler)?;
    /// # Ok::<(), std::io::Error>(())
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
    /// ```
    /// use std::sync::atomic::Ordering;
    /// use bytecode::testing::{CannedCompiler, target};
    /// use compileall_cli::{Captured, Options, Outcome, Session};
    ///
    /// let tmp = tempfile::tempdir()?;
    /// std::fs::write(tmp.path().join("m.py"), "x = 1\n")?;
    /// let compiler = CannedCompiler::new(target(pyc_format::PythonVersion::new(3, 14)));
    /// let session = Session::new(&compiler)?;
    /// session.interrupt_flag().store(true, Ordering::SeqCst); // as a SIGINT handler would
    /// let outcome = session.compile_dir(tmp.path(), &Options::default(), &mut Captured::default());
    /// assert_eq!(outcome, Outcome::Interrupted);
    /// assert!(compiler.calls().is_empty());
    /// # Ok::<(), std::io::Error>(())
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
    /// use compileall_cli::{Captured, Options, Outcome, Quiet, Session, Stream};
    ///
    /// let pool = CpythonPool::start(Path::new("python3.14"), PoolOptions::default())?;
    /// let session = Session::new(&pool)?;
    /// let mut output = Captured::default();
    /// let options = Options { maxlevels: Some(0), quiet: Quiet::ErrorsOnly, ..Options::default() };
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
    /// use compileall_cli::{Captured, Options, Quiet, Session};
    ///
    /// let pool = CpythonPool::start(Path::new("python3.14"), PoolOptions::default())?;
    /// let session = Session::new(&pool)?;
    /// // python3.14 -m compileall -q demo/bad.py demo/good.py: good.py is still compiled.
    /// let dests = [PathBuf::from("demo/bad.py"), PathBuf::from("demo/good.py")];
    /// let options = Options { quiet: Quiet::ErrorsOnly, ..Options::default() };
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
    /// invalid for the target (see [`check`](crate::check)); nothing is
    /// written. Ends with the exception compileall would raise, if it
    /// would.
    ///
    /// ```
    /// use bytecode::testing::{CannedCompiler, target};
    /// use compileall_cli::{Captured, Options, Plan, Session};
    ///
    /// let tmp = tempfile::tempdir()?;
    /// std::fs::write(tmp.path().join("a.py"), "x = 1\n")?;
    /// let compiler = CannedCompiler::new(target(pyc_format::PythonVersion::new(3, 14)));
    /// let session = Session::new(&compiler)?;
    /// let problems = session.check(Plan::dir(tmp.path(), &Options::default())).unwrap();
    /// assert_eq!(problems.len(), 1);
    /// assert!(problems[0].to_string().ends_with("__pycache__/a.cpython-314.pyc (no such file)"));
    /// // Once compiled, nothing is missing.
    /// session.compile_dir(tmp.path(), &Options::default(), &mut Captured::default());
    /// assert!(session.check(Plan::dir(tmp.path(), &Options::default())).unwrap().is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn check(&self, plan: Plan) -> Result<Vec<Problem>, PyException> {
        let (visits, options) = plan.into_visits(self.recursion_limit);
        let ctx = self.context(&options, Purpose::Check);
        check::check_visits(&ctx, visits, engine::WINDOW)
    }

    /// Runs a plan: decides what is stale (in parallel), compiles it, and
    /// writes every message to `sink` in CPython's order.
    ///
    /// ```no_run
    /// use std::path::{Path, PathBuf};
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    /// use compileall_cli::{Captured, Options, Outcome, Plan, Quiet, Session};
    ///
    /// let options = Options { quiet: Quiet::Nothing, ..Options::default() };
    /// // Walking needs no interpreter: do it while the workers start.
    /// let plan = Plan::dests(&[PathBuf::from("demo")], &options);
    /// let pool = CpythonPool::start(Path::new("python3"), PoolOptions::default())?;
    /// let outcome = Session::new(&pool)?.run(plan, &mut Captured::default());
    /// assert_eq!(outcome, Outcome::Completed { success: false }); // demo/bad.py
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run(&self, plan: Plan, sink: &mut dyn Sink) -> Outcome {
        let (visits, options) = plan.into_visits(self.recursion_limit);
        let ctx = self.context(&options, Purpose::Compile);
        engine::run_visits(&ctx, visits, sink, engine::WINDOW)
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
                if options.quiet.prints_errors() {
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

    fn context<'a>(&'a self, options: &'a Options, purpose: Purpose) -> Context<'a> {
        Context::new(
            self.compiler,
            &self.cwd,
            options,
            &self.interrupted,
            purpose,
        )
    }
}
