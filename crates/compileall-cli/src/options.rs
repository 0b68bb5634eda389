//! The arguments of compileall's `compile_dir`/`compile_file`, as typed
//! values: [`Options`] and the types of its fields.

use std::path::PathBuf;

use pycache_paths::compileall::DestinationRewrite;

use crate::pyregex::PyRegex;

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

/// compileall's `quiet`: how much of its output it prints.
///
/// ```
/// use compileall_cli::Quiet;
/// assert_eq!(Quiet::from_count(0), Quiet::All);
/// assert_eq!(Quiet::from_count(1), Quiet::ErrorsOnly);
/// // -qqq is -qq: compileall only ever compares with 1 and 2.
/// assert_eq!(Quiet::from_count(3), Quiet::Nothing);
/// assert!(Quiet::ErrorsOnly.prints_errors() && !Quiet::ErrorsOnly.prints_progress());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Quiet {
    /// No `-q`: progress (`Listing ...`, `Compiling ...`) and errors.
    #[default]
    All,
    /// `-q`: errors only, and the notices compileall prints at that level
    /// (`Can't list ...`, `Skipping current directory`, the stripdir
    /// warning).
    ErrorsOnly,
    /// `-qq`: nothing (the exit status still tells).
    Nothing,
}

impl Quiet {
    /// The level for `-q` given `count` times.
    pub fn from_count(count: u8) -> Self {
        match count {
            0 => Quiet::All,
            1 => Quiet::ErrorsOnly,
            _ => Quiet::Nothing,
        }
    }

    /// Whether progress lines are printed (`quiet == 0` in compileall).
    pub fn prints_progress(self) -> bool {
        self == Quiet::All
    }

    /// Whether errors and notices are printed (`quiet < 2`).
    pub fn prints_errors(self) -> bool {
        self != Quiet::Nothing
    }
}

/// The arguments of `compile_dir`/`compile_file`, with compileall's defaults.
///
/// ```
/// use compileall_cli::{Exclude, Options, PyRegex, Quiet};
///
/// // The defaults are compile_dir's: maxlevels=None, optimize=-1, workers=1.
/// let defaults = Options::default();
/// assert_eq!((defaults.maxlevels, defaults.optimize, defaults.workers), (None, vec![-1], 1));
///
/// // compileall -q -f -x '/tests?/' -o 1 -o 2
/// let options = Options {
///     quiet: Quiet::ErrorsOnly,
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
    /// `quiet` (`-q` count).
    pub quiet: Quiet,
    /// `legacy` (`-b`): write `x.pyc` next to `x.py`.
    pub legacy: bool,
    /// `optimize` (`-o`, repeatable); -1 is the interpreter's own level.
    pub optimize: Vec<i32>,
    /// `workers` (`-j`): negative is an error for directories, as in
    /// CPython. How many sources compile at once is the backend's
    /// [`bytecode::Compiler::max_concurrency`], which the binary sizes
    /// from `-j`.
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

    /// The `ddir`, `stripdir` and `prependdir` compile_file gets for a
    /// file named on the command line (compile_dir turns them into
    /// [`DestinationRewrite::for_directory`]).
    ///
    /// ```
    /// use compileall_cli::Options;
    /// let options = Options { stripdir: Some("/build".into()), prependdir: Some("/".into()), ..Options::default() };
    /// let rewrite = options.rewrite();
    /// assert_eq!((rewrite.ddir, rewrite.stripdir, rewrite.prependdir), (None, Some("/build".into()), Some("/".into())));
    /// ```
    pub fn rewrite(&self) -> DestinationRewrite {
        DestinationRewrite {
            ddir: self.ddir.clone(),
            stripdir: self.stripdir.clone(),
            prependdir: self.prependdir.clone(),
        }
    }

    /// `sorted(set(optimize))`: the levels compile_file compiles, in order.
    ///
    /// ```
    /// use compileall_cli::Options;
    /// let options = Options { optimize: vec![2, -1, 2, 0], ..Options::default() };
    /// assert_eq!(options.levels(), [-1, 0, 2]);
    /// ```
    pub fn levels(&self) -> Vec<i32> {
        let mut levels = self.optimize.clone();
        levels.sort_unstable();
        levels.dedup();
        levels
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            maxlevels: None,
            ddir: None,
            force: false,
            rx: None,
            quiet: Quiet::All,
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
