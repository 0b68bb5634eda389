//! What a run will visit, found without the target interpreter.
//!
//! Walking the tree needs nothing from the target, so the binary walks while
//! the first worker is still starting; everything that does depend on the
//! target (bytecode paths, staleness) happens in [`crate::Session::run`].

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytecode::CompilerProcess;

use crate::pyerror::PyException;
use crate::{Options, Rewrite, walk};

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
/// ```no_run
/// use std::path::{Path, PathBuf};
/// use bytecode::cpython::{CpythonPool, PoolOptions};
/// use compileall_cli::{Captured, Options, Plan, Session};
///
/// let options = Options::default();
/// let plan = Plan::dests(&[PathBuf::from("demo")], &options);
/// let pool = CpythonPool::start(Path::new("python3"), PoolOptions::default())?;
/// let outcome = Session::new(&pool)?.run(plan, &mut Captured::default());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Plan {
    pub(crate) items: Vec<Item>,
    dests: Vec<Dest>,
    options: Options,
    /// The depth used for directories walked without `-l`/`-r`, if any.
    assumed_recursion_limit: Option<u32>,
}

/// One `compile_file` call: the path and the arguments that came with it.
#[derive(Debug)]
pub(crate) struct Source {
    /// The path as compileall names it.
    pub fullname: PathBuf,
    /// `ddir`, `stripdir`, `prependdir`.
    pub rewrite: Arc<Rewrite>,
    /// Its `stat()`, when the walk already took it.
    pub meta: Option<Metadata>,
    /// The listing said it is a regular file (so no `stat()` was needed to
    /// know it is not a directory).
    pub regular: bool,
    /// The process CPython compiles it in.
    pub process: CompilerProcess,
    /// Found by listing its folder (whose leftovers the walk swept).
    pub walked: bool,
}

impl Source {
    /// The same call, to be prepared again from scratch.
    pub fn again(&self) -> Source {
        Source {
            fullname: self.fullname.clone(),
            rewrite: Arc::clone(&self.rewrite),
            meta: None,
            regular: false,
            process: self.process,
            walked: self.walked,
        }
    }
}

#[derive(Debug)]
pub(crate) enum Item {
    /// `Listing 'dir'...`
    Listing(PathBuf),
    /// `Can't list 'dir'`
    CantList(PathBuf),
    /// `compile_file(fullname, ...)`.
    File(Source),
    /// An exception compileall raises here.
    Raise(PyException),
}

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
    /// use compileall_cli::{Options, Plan};
    /// let plan = Plan::file(Path::new("m.py"), &Options { quiet: 2, ..Options::default() });
    /// assert_eq!(plan.options().quiet, 2);
    /// ```
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// This plan again with another default depth, if it used the default.
    pub(crate) fn with_recursion_limit(self, limit: u32) -> Plan {
        match self.assumed_recursion_limit {
            Some(assumed) if assumed != limit => Plan::build(self.dests, &self.options, limit),
            _ => self,
        }
    }

    fn build(dests: Vec<Dest>, options: &Options, recursion_limit: u32) -> Plan {
        let mut items = Vec::new();
        let mut assumed_recursion_limit = None;
        for dest in &dests {
            match dest {
                Dest::File(fullname) => items.push(Item::File(Source {
                    fullname: fullname.clone(),
                    rewrite: Arc::new(Rewrite {
                        ddir: options.ddir.clone(),
                        stripdir: options.stripdir.clone(),
                        prependdir: options.prependdir.clone(),
                    }),
                    meta: None,
                    regular: false,
                    process: CompilerProcess::Main,
                    walked: false,
                })),
                Dest::Dir(dir) => {
                    if options.workers < 0 {
                        items.push(Item::Raise(PyException::new(
                            "ValueError",
                            "workers must be greater or equal to 0",
                        )));
                        continue;
                    }
                    // compile_dir turns `ddir` into "strip the directory,
                    // prepend ddir".
                    let rewrite = Arc::new(match &options.ddir {
                        Some(ddir) => Rewrite {
                            ddir: None,
                            stripdir: Some(dir.clone()),
                            prependdir: Some(ddir.clone()),
                        },
                        None => Rewrite {
                            ddir: None,
                            stripdir: options.stripdir.clone(),
                            prependdir: options.prependdir.clone(),
                        },
                    });
                    let maxlevels = options.maxlevels.unwrap_or_else(|| {
                        assumed_recursion_limit = Some(recursion_limit);
                        i64::from(recursion_limit)
                    });
                    // compile_dir compiles in a process pool unless workers == 1.
                    let process = if options.workers == 1 {
                        CompilerProcess::Main
                    } else {
                        CompilerProcess::PoolWorker
                    };
                    items.extend(walk::walk(dir, maxlevels, options.quiet, &rewrite, process));
                }
            }
        }
        Plan {
            items,
            dests,
            options: options.clone(),
            assumed_recursion_limit,
        }
    }
}
