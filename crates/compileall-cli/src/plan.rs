//! What a run will visit, found without the target interpreter.
//!
//! Walking the tree needs nothing from the target, so the binary walks while
//! the first worker is still starting; everything that does depend on the
//! target (bytecode paths, staleness) happens in [`crate::Session::run`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytecode::CompilerProcess;

use crate::options::Options;
use crate::pyerror::{ExceptionClass, PyException};
use crate::visit::{Source, Visit};
use crate::walk::Walk;

/// compile_dir's default depth when the target's `sys.getrecursionlimit()`
/// is not known yet (it is CPython's default); [`crate::Session::run`]
/// walks again in the unlikely case the target reports another limit.
///
/// ```
/// // sys.getrecursionlimit() of a CPython started without changing it:
/// assert_eq!(compileall_cli::DEFAULT_RECURSION_LIMIT, 1000);
/// ```
pub const DEFAULT_RECURSION_LIMIT: u32 = 1000;

/// The sources and messages of a run, in CPython's order.
///
/// A plan is made before the target interpreter is needed and run by
/// [`crate::Session::run`] (or checked by [`crate::Session::check`]):
///
/// ```
/// use std::path::PathBuf;
/// use bytecode::testing::{CannedCompiler, target};
/// use compileall_cli::{Captured, Options, Outcome, Plan, Session};
///
/// let tmp = tempfile::tempdir()?;
/// std::fs::write(tmp.path().join("m.py"), "x = 1\n")?;
/// let plan = Plan::dests(&[tmp.path().to_owned()], &Options::default());
/// let compiler = CannedCompiler::new(target(pyc_format::PythonVersion::new(3, 14)));
/// let outcome = Session::new(&compiler)?.run(plan, &mut Captured::default());
/// assert_eq!(outcome, Outcome::Completed { success: true });
/// assert!(tmp.path().join("__pycache__/m.cpython-314.pyc").is_file());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Plan {
    visits: Vec<Visit>,
    dests: Vec<Dest>,
    options: Options,
    /// The depth used for directories walked without `-l`/`-r`, if any.
    assumed_recursion_limit: Option<u32>,
}

/// A `FILE|DIR` argument, sorted the way the command line's loop does.
#[derive(Clone, Debug)]
enum Dest {
    File(PathBuf),
    Dir(PathBuf),
}

impl Plan {
    /// The command line's loop over `FILE|DIR` arguments: a path that is a
    /// file goes to `compile_file`, anything else to `compile_dir`.
    ///
    /// ```
    /// use std::path::PathBuf;
    /// use compileall_cli::{Options, Plan};
    /// let tmp = tempfile::tempdir()?;
    /// std::fs::write(tmp.path().join("mod.py"), "x = 1\n")?;
    /// // `compileall DIR DIR/mod.py`: a compile_dir, then a compile_file.
    /// let plan = Plan::dests(&[tmp.path().to_owned(), tmp.path().join("mod.py")], &Options::default());
    /// assert_eq!(plan.options().optimize, [-1]);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn dests(dests: &[PathBuf], options: &Options) -> Plan {
        let dests = dests
            .iter()
            .map(|dest| {
                if std::fs::metadata(dest).is_ok_and(|m| m.is_file()) {
                    Dest::File(dest.clone())
                } else {
                    Dest::Dir(dest.clone())
                }
            })
            .collect();
        Plan::build(dests, options, DEFAULT_RECURSION_LIMIT)
    }

    /// The directories `compile_path()` compiles: each `sys.path` entry
    /// but the current directory, without recursion, at the interpreter's
    /// own optimization level.
    ///
    /// ```
    /// use std::path::PathBuf;
    /// use compileall_cli::{Options, Plan};
    /// let options = Options { optimize: vec![1, 2], ..Options::default() };
    /// let plan = Plan::path(&[PathBuf::from(""), PathBuf::from("/nonexistent")], &options);
    /// // compile_path() ignores -o and does not recurse.
    /// assert_eq!((plan.options().optimize.as_slice(), plan.options().maxlevels), (&[-1][..], Some(0)));
    /// ```
    pub fn path(sys_path: &[PathBuf], options: &Options) -> Plan {
        let options = Options::for_compile_path(options);
        let dests = sys_path
            .iter()
            .filter(|dir| !dir.as_os_str().is_empty() && dir.as_os_str() != ".")
            .map(|dir| Dest::Dir(dir.clone()))
            .collect();
        Plan::build(dests, &options, DEFAULT_RECURSION_LIMIT)
    }

    /// `compile_dir(dir, ...)`.
    ///
    /// ```
    /// use compileall_cli::{Options, Plan};
    /// let tmp = tempfile::tempdir()?;
    /// let plan = Plan::dir(tmp.path(), &Options { maxlevels: Some(0), ..Options::default() });
    /// assert_eq!(plan.options().maxlevels, Some(0));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn dir(dir: &Path, options: &Options) -> Plan {
        Plan::build(
            vec![Dest::Dir(dir.to_owned())],
            options,
            DEFAULT_RECURSION_LIMIT,
        )
    }

    /// `compile_file(fullname, ...)`.
    ///
    /// ```
    /// use std::path::Path;
    /// use compileall_cli::{Options, Plan};
    /// let plan = Plan::file(Path::new("demo/good.py"), &Options { force: true, ..Options::default() });
    /// assert!(plan.options().force);
    /// ```
    pub fn file(fullname: &Path, options: &Options) -> Plan {
        Plan::build(
            vec![Dest::File(fullname.to_owned())],
            options,
            DEFAULT_RECURSION_LIMIT,
        )
    }

    /// The options the plan was made with.
    ///
    /// ```
    /// use std::path::Path;
    /// use compileall_cli::{Options, Plan, Quiet};
    /// let plan = Plan::file(Path::new("m.py"), &Options { quiet: Quiet::Nothing, ..Options::default() });
    /// assert_eq!(plan.options().quiet, Quiet::Nothing);
    /// ```
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The visits, walked again if the target's recursion limit is not
    /// the one assumed, and the options.
    pub(crate) fn into_visits(self, recursion_limit: u32) -> (Vec<Visit>, Options) {
        match self.assumed_recursion_limit {
            Some(assumed) if assumed != recursion_limit => {
                let plan = Plan::build(self.dests, &self.options, recursion_limit);
                (plan.visits, plan.options)
            }
            _ => (self.visits, self.options),
        }
    }

    fn build(dests: Vec<Dest>, options: &Options, recursion_limit: u32) -> Plan {
        let mut visits = Vec::new();
        let mut assumed_recursion_limit = None;
        for dest in &dests {
            match dest {
                Dest::File(fullname) => visits.push(Visit::File(Source::named(
                    fullname.clone(),
                    Arc::new(options.rewrite()),
                ))),
                Dest::Dir(dir) => {
                    let maxlevels = options.maxlevels.unwrap_or_else(|| {
                        assumed_recursion_limit = Some(recursion_limit);
                        i64::from(recursion_limit)
                    });
                    visits.extend(compile_dir(dir, maxlevels, options));
                }
            }
        }
        Plan {
            visits,
            dests,
            options: options.clone(),
            assumed_recursion_limit,
        }
    }
}

/// What `compile_dir(dir, maxlevels, ...)` visits.
fn compile_dir(dir: &Path, maxlevels: i64, options: &Options) -> Vec<Visit> {
    if options.workers < 0 {
        return vec![Visit::Raise(PyException::new(
            ExceptionClass::ValueError,
            "workers must be greater or equal to 0",
        ))];
    }
    let walk = Walk {
        quiet: options.quiet,
        rewrite: &Arc::new(options.rewrite().for_directory(dir)),
        // compile_dir compiles in a process pool unless workers == 1.
        process: if options.workers == 1 {
            CompilerProcess::Main
        } else {
            CompilerProcess::PoolWorker
        },
    };
    walk.walk(dir, maxlevels)
}
