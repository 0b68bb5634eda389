//! The command line: every flag of `python -m compileall`, with argparse's
//! meaning and checks, plus the choice of target interpreter and backend,
//! turned into one [`Invocation`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::options::{Exclude, InvalidationMode, Options, Quiet};
use crate::pyint::parse_int;
use crate::pyregex::{PatternError, PyRegex};

mod argparse;

/// `compileall --help`'s first line (`-h` shows only this).
const ABOUT: &str = "Utilities to support installing Python libraries";

/// `compileall --help`'s text above the usage line.
const LONG_ABOUT: &str = "Utilities to support installing Python libraries.

Byte-compiles Python source trees into `__pycache__/*.pyc` exactly as `python -m compileall` \
does (same files, bytes, output and exit status), using persistent workers of the target \
interpreter.

A folder named like a subcommand (`inspect`, `cache`, `completions`, `man`) is compiled when \
written as `./inspect`.";

/// The whole command line: a subcommand, or compileall's own arguments.
///
/// (What `--help` says about the program is in the `ABOUT` and
/// `LONG_ABOUT` constants; these docs are for developers.)
///
/// ```
/// use compileall_cli::cli::{Cli, Command};
///
/// // compileall -q -j 0 src
/// let cli = Cli::try_parse_argparse_from(["compileall", "-q", "-j", "0", "src"]).unwrap();
/// assert!(cli.command.is_none());
/// assert_eq!((cli.args.quiet, cli.args.workers), (1, 0));
/// assert_eq!(cli.args.compile_dest, ["src"]);
///
/// // A subcommand, and a folder only named like one.
/// let cli = Cli::try_parse_argparse_from(["compileall", "inspect", "m.pyc"]).unwrap();
/// assert!(matches!(cli.command, Some(Command::Inspect { .. })));
/// let cli = Cli::try_parse_argparse_from(["compileall", "./inspect"]).unwrap();
/// assert!(cli.command.is_none());
/// assert_eq!(cli.args.compile_dest, ["./inspect"]);
/// ```
#[derive(Debug, Parser)]
#[command(
    name = "compileall",
    about = ABOUT,
    long_about = LONG_ABOUT,
    version,
    long_version = LONG_VERSION.as_str(),
    infer_long_args = true,
    max_term_width = 100,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    // argparse's `store` actions: the last `-x` (or `-r`, `-d`, ...) wins.
    args_override_self = true
)]
pub struct Cli {
    /// Something other than compiling.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The compileall arguments.
    #[command(flatten)]
    pub args: Args,
}

impl Cli {
    /// Parses `args` (program name first) as `python -m compileall`'s
    /// argparse does: clap's parse, plus argparse's refusal of positional
    /// arguments that follow an option after the first run of them.
    ///
    /// ```
    /// use clap::error::ErrorKind;
    /// use compileall_cli::cli::Cli;
    ///
    /// // argparse: "error: unrecognized arguments: top.py", exit status 2.
    /// let err = Cli::try_parse_argparse_from(["compileall", "pkg", "-q", "top.py"]).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::UnknownArgument);
    /// assert_eq!(err.exit_code(), 2);
    /// assert!(err.to_string().contains("unrecognized arguments: top.py"));
    ///
    /// // One run of positionals, after the options, is accepted.
    /// let cli = Cli::try_parse_argparse_from(["compileall", "-q", "pkg", "top.py"]).unwrap();
    /// assert_eq!(cli.args.compile_dest, ["pkg", "top.py"]);
    /// ```
    pub fn try_parse_argparse_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let cli = Cli::try_parse_from(&args)?;
        if cli.command.is_none() {
            let mut command = Cli::command();
            let extras = argparse::extras(&command, args.get(1..).unwrap_or_default());
            if !extras.is_empty() {
                let names: Vec<_> = extras.iter().map(|a| a.to_string_lossy()).collect();
                return Err(command.error(
                    clap::error::ErrorKind::UnknownArgument,
                    format!("unrecognized arguments: {}", names.join(" ")),
                ));
            }
        }
        Ok(cli)
    }
}

/// What else the binary does.
///
/// ```
/// use std::path::PathBuf;
/// use compileall_cli::cli::{Cli, Command};
///
/// let argv = ["compileall", "inspect", "--no-disassembly", "a.pyc", "b.pyc"];
/// let Some(Command::Inspect { pycs, python, no_disassembly }) =
///     Cli::try_parse_argparse_from(argv).unwrap().command
/// else {
///     panic!("not inspect");
/// };
/// assert_eq!(pycs, [PathBuf::from("a.pyc"), PathBuf::from("b.pyc")]);
/// assert_eq!((python, no_disassembly), (None, true));
/// ```
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what pyc headers say, whether each pyc is valid for its source,
    /// and (with an interpreter of its version) its disassembly
    Inspect {
        /// The pyc files
        #[arg(required = true, value_name = "FILE.pyc")]
        pycs: Vec<PathBuf>,
        /// The interpreter to disassemble with [default: pythonX.Y on PATH
        /// for each pyc's version]
        #[arg(long, value_name = "PATH")]
        python: Option<PathBuf>,
        /// Show the header and validity only
        #[arg(long)]
        no_disassembly: bool,
    },
    /// Show, prune or clear the bytecode cache (`--cache-dir`)
    Cache {
        /// What to do
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Print a completion script for a shell
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff)
    Man,
}

/// `compileall cache ...`.
///
/// ```
/// use compileall_cli::cli::{CacheAction, Cli, Command};
///
/// let argv = ["compileall", "cache", "prune", "--cache-max-size", "500M", "--cache-dir", "/tmp/c"];
/// let Some(Command::Cache { action }) = Cli::try_parse_argparse_from(argv).unwrap().command else {
///     panic!("not cache");
/// };
/// let CacheAction::Prune { folder, cache_max_size } = action else { panic!("not prune") };
/// assert_eq!(cache_max_size, 500 << 20);
/// assert_eq!(folder.cache_dir.as_deref(), Some("/tmp/c".as_ref()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Subcommand)]
pub enum CacheAction {
    /// Print the cache's folder, entries and size
    Info {
        /// The cache
        #[command(flatten)]
        folder: CacheFolder,
    },
    /// Remove the least recently used entries until the cache fits its size
    Prune {
        /// The cache
        #[command(flatten)]
        folder: CacheFolder,
        /// The size to fit in (bytes, or with K, M, G, T: powers of 1024)
        #[arg(long, value_name = "SIZE", default_value = DEFAULT_CACHE_MAX_SIZE, value_parser = parse_size)]
        cache_max_size: u64,
    },
    /// Remove every entry
    Clear {
        /// The cache
        #[command(flatten)]
        folder: CacheFolder,
    },
}

/// The folder a `compileall cache` action works on.
#[derive(Clone, Debug, PartialEq, Eq, clap::Args)]
pub struct CacheFolder {
    /// The cache folder
    #[arg(
        long,
        value_name = "DIR",
        env = "COMPILEALL_CACHE_DIR",
        hide_env_values = true
    )]
    pub cache_dir: Option<PathBuf>,
}

/// `--cache-max-size`'s default.
pub const DEFAULT_CACHE_MAX_SIZE: &str = "2G";

/// A size in bytes: a number with an optional K, M, G or T suffix (powers
/// of 1024; a trailing `B` or `iB` is accepted).
///
/// ```
/// use compileall_cli::cli::parse_size;
/// assert_eq!(parse_size("2G"), Ok(2 << 30));
/// assert_eq!(parse_size("512MiB"), Ok(512 << 20));
/// assert_eq!(parse_size("1000"), Ok(1000));
/// assert!(parse_size("lots").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let unit_start = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(unit_start);
    let shift = match unit
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => {
            return Err(format!(
                "invalid size: {text:?} (a number of bytes, or with K, M, G or T)"
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("invalid size: {text:?} (a number of bytes, or with K, M, G or T)"))
}

/// `compileall`'s own options and arguments.
///
/// Each keeps its argparse action: `store` (the last wins), `count`,
/// `append`. These are the values CPython's parser gives for the same
/// command line:
///
/// ```
/// use compileall_cli::cli::Cli;
///
/// let argv = ["compileall", "-qq", "-x", "a", "-x", "b", "-o", "1", "-o", "2", "-r", "3", "-l", "src", "lib"];
/// let args = Cli::try_parse_argparse_from(argv).unwrap().args;
/// assert_eq!((args.quiet, args.rx.as_deref()), (2, Some("b")));
/// assert_eq!(args.opt_levels, [1, 2]);
/// assert_eq!((args.recursion, args.no_recursion), (Some(3), true));
/// assert_eq!(args.compile_dest, ["src", "lib"]);
/// assert_eq!(args.workers, 1);
/// ```
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Don't recurse into subdirectories
    #[arg(short = 'l', action = ArgAction::SetTrue)]
    pub no_recursion: bool,

    /// Control the maximum recursion level; if `-l` and `-r` options are
    /// specified, then `-r` takes precedence
    #[arg(short = 'r', value_name = "RECURSION", value_parser = python_int, allow_negative_numbers = true)]
    pub recursion: Option<i64>,

    /// Force rebuild even if timestamps are up to date
    #[arg(short = 'f')]
    pub force: bool,

    /// Output only error messages; -qq will suppress the error messages as
    /// well
    #[arg(short = 'q', action = ArgAction::Count)]
    pub quiet: u8,

    /// Use legacy (pre-PEP3147) compiled file locations
    #[arg(short = 'b')]
    pub legacy: bool,

    /// Directory to prepend to file paths for use in compile-time tracebacks
    /// and in runtime tracebacks in cases where the source file is
    /// unavailable
    #[arg(short = 'd', value_name = "DESTDIR")]
    pub ddir: Option<OsString>,

    /// Part of path to left-strip from path to source file - for example
    /// buildroot. `-d` and `-s` options cannot be specified together
    #[arg(short = 's', value_name = "STRIPDIR")]
    pub stripdir: Option<OsString>,

    /// Path to add as prefix to path to source file - for example / to make
    /// it absolute when some part is removed by `-s` option. `-d` and `-p`
    /// options cannot be specified together
    #[arg(short = 'p', value_name = "PREPENDDIR")]
    pub prependdir: Option<OsString>,

    /// Skip files matching the regular expression (Python `re` syntax); the
    /// regexp is searched for in the full path of each file considered for
    /// compilation
    #[arg(short = 'x', value_name = "REGEXP")]
    pub rx: Option<String>,

    /// Add all the files and directories listed in FILE to the list
    /// considered for compilation; if "-", names are read from stdin
    #[arg(short = 'i', value_name = "FILE")]
    pub flist: Option<OsString>,

    /// Zero or more file and directory names to compile; if no arguments
    /// given, defaults to the equivalent of -l sys.path
    #[arg(value_name = "FILE|DIR")]
    pub compile_dest: Vec<OsString>,

    /// Run compileall concurrently (0: one worker per CPU)
    #[arg(short = 'j', long = "workers", default_value = "1", value_parser = python_int, allow_negative_numbers = true)]
    pub workers: i64,

    /// Set .pyc invalidation mode; defaults to "checked-hash" if the
    /// SOURCE_DATE_EPOCH environment variable is set, and "timestamp"
    /// otherwise
    #[arg(long, value_enum)]
    pub invalidation_mode: Option<InvalidationModeArg>,

    /// Optimization levels to run compilation with. Default is -1 which uses
    /// the optimization level of the Python interpreter itself (see -O)
    #[arg(short = 'o', value_name = "OPT_LEVELS", action = ArgAction::Append, value_parser = python_int, allow_negative_numbers = true)]
    pub opt_levels: Vec<i64>,

    /// Ignore symlinks pointing outside of the DIR
    #[arg(short = 'e', value_name = "DIR")]
    pub limit_sl_dest: Option<OsString>,

    /// Hardlink duplicated pyc files
    #[arg(long)]
    pub hardlink_dupes: bool,

    /// The Python interpreter to compile for; repeat to compile for several
    /// in one run [default: $VIRTUAL_ENV's python, else that of the virtual
    /// environment this binary is installed in, else python3 on PATH]
    #[arg(long, value_name = "PATH", action = ArgAction::Append, help_heading = "Target")]
    pub python: Vec<PathBuf>,

    /// How to compile: `cpython` runs workers of the target interpreter
    #[arg(long, value_enum, default_value_t = Backend::Auto, help_heading = "Target")]
    pub backend: Backend,

    /// Seconds one file may take to compile before its worker is stopped
    /// and the file reported as failed
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 600.0,
        help_heading = "Target"
    )]
    pub worker_timeout: f64,

    /// Write nothing: list every source whose pyc is missing, stale or
    /// invalid (for the target, -o levels and invalidation mode), and exit
    /// with status 1 if there is any
    #[arg(long, help_heading = "Beyond CPython")]
    pub check: bool,

    /// Print a machine-readable report instead of compileall's messages
    /// (see docs/report.md)
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        help_heading = "Beyond CPython"
    )]
    pub report: Option<ReportFormat>,

    /// Reuse compiled code from this folder and store what is compiled
    /// there: the same source for the same interpreter compiles once, in any
    /// path and any environment (see docs/cache.md)
    #[arg(
        long,
        value_name = "DIR",
        env = "COMPILEALL_CACHE_DIR",
        hide_env_values = true,
        help_heading = "Beyond CPython"
    )]
    pub cache_dir: Option<PathBuf>,

    /// Use no cache (wins over --cache-dir and COMPILEALL_CACHE_DIR)
    #[arg(long, help_heading = "Beyond CPython")]
    pub no_cache: bool,

    /// The cache's size bound: the least recently used entries go first
    /// (bytes, or with K, M, G, T: powers of 1024)
    #[arg(
        long,
        value_name = "SIZE",
        default_value = DEFAULT_CACHE_MAX_SIZE,
        value_parser = parse_size,
        help_heading = "Beyond CPython"
    )]
    pub cache_max_size: u64,

    /// Write the report to this file and keep compileall's messages on
    /// stdout
    #[arg(
        long,
        value_name = "PATH",
        requires = "report",
        help_heading = "Beyond CPython"
    )]
    pub report_file: Option<PathBuf>,
}

/// `--report` formats.
///
/// ```
/// use clap::ValueEnum;
/// use compileall_cli::cli::{Cli, ReportFormat};
///
/// let args = Cli::try_parse_argparse_from(["compileall", "--report", "json", "src"]).unwrap().args;
/// assert_eq!(args.report, Some(ReportFormat::Json));
/// assert_eq!(ReportFormat::Json.to_possible_value().unwrap().get_name(), "json");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One JSON document.
    Json,
}

static LONG_VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(version_text);

fn version_text() -> String {
    let lines: Vec<String> = pyc_format::KNOWN_VERSIONS
        .iter()
        .filter(|info| info.cache_tag.is_some())
        .map(|info| info.version.to_string())
        .collect();
    format!(
        "{}\ntargets: any CPython interpreter (tested against 3.11, 3.13, 3.14, 3.15); pyc formats known for {}\nnative backend: CPython {}",
        env!("CARGO_PKG_VERSION"),
        lines.join(", "),
        bytecode::native::NATIVE_VERSION
    )
}

/// `--invalidation-mode` values: CPython's choices, converted to the
/// library's [`InvalidationMode`].
///
/// ```
/// use compileall_cli::InvalidationMode;
/// use compileall_cli::cli::{Cli, InvalidationModeArg};
///
/// let argv = ["compileall", "--invalidation-mode", "checked-hash", "pkg"];
/// let mode = Cli::try_parse_argparse_from(argv).unwrap().args.invalidation_mode.unwrap();
/// assert_eq!(mode, InvalidationModeArg::CheckedHash);
/// assert_eq!(InvalidationMode::from(mode), InvalidationMode::CheckedHash);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InvalidationModeArg {
    /// Hash-based, checked on import.
    CheckedHash,
    /// Timestamp-based.
    Timestamp,
    /// Hash-based, not checked on import.
    UncheckedHash,
}

impl From<InvalidationModeArg> for InvalidationMode {
    fn from(arg: InvalidationModeArg) -> Self {
        match arg {
            InvalidationModeArg::CheckedHash => InvalidationMode::CheckedHash,
            InvalidationModeArg::Timestamp => InvalidationMode::Timestamp,
            InvalidationModeArg::UncheckedHash => InvalidationMode::UncheckedHash,
        }
    }
}

/// `--backend` values.
///
/// ```
/// use compileall_cli::cli::{Backend, Cli};
///
/// let backend = |argv: &[&str]| Cli::try_parse_argparse_from(argv).unwrap().args.backend;
/// assert_eq!(backend(&["compileall", "src"]), Backend::Auto);
/// assert_eq!(backend(&["compileall", "--backend", "cpython", "src"]), Backend::Cpython);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// The native backend for CPython 3.14 targets, cpython for every other
    Auto,
    /// Persistent workers of the target CPython interpreter
    Cpython,
    /// Compile in this process, for CPython 3.14 targets only; sources it
    /// cannot compile exactly as CPython does go to the cpython backend
    Native,
}

fn python_int(text: &str) -> Result<i64, String> {
    parse_int(text).ok_or_else(|| format!("invalid int value: {}", pystr::repr(text.as_bytes())))
}

/// Where `--report` goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportTo {
    /// Standard output, in place of compileall's messages.
    Stdout,
    /// `--report-file PATH`; compileall's messages stay on stdout.
    File(PathBuf),
}

/// `--report FORMAT [--report-file PATH]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRequest {
    /// `--report`.
    pub format: ReportFormat,
    /// Where it goes.
    pub to: ReportTo,
}

/// The bytecode cache a command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheRequest {
    /// The folder.
    pub dir: PathBuf,
    /// `--cache-max-size`, in bytes.
    pub max_size: u64,
}

/// Everything a command line asks for, the one source of the binary's
/// settings.
///
/// Our own flags (`--python`, `--backend`, `--report`, ...) are settled
/// when clap accepts them. compileall's checks are not: CPython makes them
/// in each target interpreter, after it judged `-x`, so their verdict is
/// kept in [`Invocation::compileall`] for each target's run to report.
///
/// ```
/// use std::path::PathBuf;
/// use std::time::Duration;
/// use compileall_cli::cli::{Backend, Cli};
///
/// let argv = ["compileall", "-f", "-i", "list.txt", "--python", "/usr/bin/python3.14", "pkg"];
/// let invocation = Cli::try_parse_argparse_from(argv).unwrap().args.into_invocation();
/// assert!(invocation.compileall.unwrap().force);
/// assert_eq!(invocation.dests, [PathBuf::from("pkg")]);
/// assert_eq!(invocation.flist.as_deref(), Some("list.txt".as_ref()));
/// assert_eq!(invocation.pythons, [PathBuf::from("/usr/bin/python3.14")]);
/// assert_eq!(invocation.backend, Backend::Auto);
/// assert_eq!(invocation.worker_timeout, Some(Duration::from_secs(600)));
/// assert_eq!((invocation.check, invocation.report), (false, None));
/// ```
#[derive(Debug)]
pub struct Invocation {
    /// `--python`, in order; empty: the default interpreter.
    pub pythons: Vec<PathBuf>,
    /// `--backend`.
    pub backend: Backend,
    /// `-j` as given: how many workers the backend may run (0: one per
    /// CPU), and whether directories compile in CPython's pool processes.
    pub workers: i64,
    /// `--worker-timeout`; `None` when it is not a positive number of
    /// seconds (then `compileall` holds the refusal).
    pub worker_timeout: Option<Duration>,
    /// `--check`.
    pub check: bool,
    /// `--report`, if asked for.
    pub report: Option<ReportRequest>,
    /// `--cache-dir` (or `COMPILEALL_CACHE_DIR`) unless `--no-cache`.
    pub cache: Option<CacheRequest>,
    /// The `FILE|DIR` arguments (those from `-i` are added later).
    pub dests: Vec<PathBuf>,
    /// `-i FILE`.
    pub flist: Option<OsString>,
    /// `-x` as given, if not empty: the target's `re.compile` judges it
    /// before anything else, whatever else is wrong with the command line.
    pub pattern: Option<String>,
    /// compileall's `main()` checks (and ours of `--worker-timeout`), in
    /// its order: what `compile_dir`/`compile_file` get, or why the
    /// command line is refused.
    pub compileall: Result<Options, UsageError>,
}

/// Why a command line is refused.
///
/// ```
/// use compileall_cli::cli::{Cli, UsageError};
///
/// let refusal = |argv: &[&str]| {
///     let args = Cli::try_parse_argparse_from(argv).unwrap().args;
///     args.into_invocation().compileall.unwrap_err()
/// };
/// // CPython: "error: Hardlinking of duplicated bytecode makes sense only for
/// // more than one optimization level.", exit status 2.
/// let UsageError::Usage(message) = refusal(&["compileall", "--hardlink-dupes", "pkg"]) else {
///     panic!("not a usage error");
/// };
/// assert_eq!(
///     message,
///     "Hardlinking of duplicated bytecode makes sense only for more than one optimization level."
/// );
/// // CPython: a traceback from re.compile('['), exit status 1.
/// let UsageError::Pattern(err) = refusal(&["compileall", "-x", "[", "pkg"]) else {
///     panic!("not a pattern error");
/// };
/// assert_eq!(err.pattern, "[");
/// ```
#[derive(Debug)]
pub enum UsageError {
    /// argparse's `parser.error(...)`: usage message, exit status 2.
    Usage(String),
    /// `re.compile(-x)` raised: CPython prints a traceback, exit status 1.
    Pattern(PatternError),
}

impl Args {
    /// The settings this command line asks for, with compileall's
    /// `main()` checks applied in its order.
    ///
    /// ```
    /// use compileall_cli::cli::{Args, Cli, UsageError};
    ///
    /// let args = |argv: &[&str]| -> Args { Cli::try_parse_argparse_from(argv).unwrap().args };
    ///
    /// // `-r` takes precedence over `-l`; no `-o` means `[-1]`.
    /// let options = args(&["compileall", "-r", "3", "-l", "src"]).into_invocation().compileall.unwrap();
    /// assert_eq!(options.maxlevels, Some(3));
    /// assert_eq!(options.optimize, [-1]);
    ///
    /// // CPython: "error: -d cannot be used in combination with -s or -p", exit status 2.
    /// let refused = args(&["compileall", "-d", "/srv", "-s", "/build", "src"]).into_invocation();
    /// let Err(UsageError::Usage(message)) = refused.compileall else {
    ///     panic!("accepted");
    /// };
    /// assert_eq!(message, "-d cannot be used in combination with -s or -p");
    /// ```
    pub fn into_invocation(self) -> Invocation {
        let compileall = self.compileall_options();
        // The pool takes at least a millisecond per file; a limit too
        // large for a Duration is no limit.
        let worker_timeout =
            (self.worker_timeout.is_finite() && self.worker_timeout > 0.0).then(|| {
                Duration::try_from_secs_f64(self.worker_timeout.max(0.001)).unwrap_or(Duration::MAX)
            });
        Invocation {
            pythons: self.python,
            backend: self.backend,
            workers: self.workers,
            worker_timeout,
            check: self.check,
            report: self.report.map(|format| ReportRequest {
                format,
                to: self.report_file.map_or(ReportTo::Stdout, ReportTo::File),
            }),
            // An empty COMPILEALL_CACHE_DIR is no cache.
            cache: self
                .cache_dir
                .filter(|dir| !self.no_cache && !dir.as_os_str().is_empty())
                .map(|dir| CacheRequest {
                    dir,
                    max_size: self.cache_max_size,
                }),
            dests: self.compile_dest.into_iter().map(PathBuf::from).collect(),
            // `if args.flist:` — an empty name reads no list.
            flist: self.flist.filter(|name| !name.is_empty()),
            pattern: self.rx.filter(|pattern| !pattern.is_empty()),
            compileall,
        }
    }

    /// compileall's `main()` checks, in its order, then ours.
    fn compileall_options(&self) -> Result<Options, UsageError> {
        let rx = match self.rx.as_deref() {
            None => None,
            // `if args.rx:` leaves an empty pattern a string.
            Some("") => Some(Exclude::EmptyString),
            Some(pattern) => Some(Exclude::Pattern(
                PyRegex::new(pattern).map_err(UsageError::Pattern)?,
            )),
        };
        let opt_levels = match &self.opt_levels[..] {
            [] => &[-1][..],
            levels => levels,
        };
        if opt_levels.len() == 1 && self.hardlink_dupes {
            return Err(UsageError::Usage(
                "Hardlinking of duplicated bytecode makes sense only for more than one optimization level.".into(),
            ));
        }
        if self.ddir.is_some() && (self.stripdir.is_some() || self.prependdir.is_some()) {
            return Err(UsageError::Usage(
                "-d cannot be used in combination with -s or -p".into(),
            ));
        }
        let optimize = opt_levels
            .iter()
            .map(|&level| i32::try_from(level))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                UsageError::Usage("argument -o: optimization level out of range".into())
            })?;
        if !self.worker_timeout.is_finite() || self.worker_timeout <= 0.0 {
            return Err(UsageError::Usage(
                "argument --worker-timeout: must be a positive number of seconds".into(),
            ));
        }
        Ok(Options {
            maxlevels: self.recursion.or(self.no_recursion.then_some(0)),
            ddir: self.ddir.clone().map(PathBuf::from),
            force: self.force,
            rx,
            quiet: Quiet::from_count(self.quiet),
            legacy: self.legacy,
            optimize,
            workers: self.workers,
            invalidation_mode: self.invalidation_mode.map(Into::into),
            stripdir: self.stripdir.clone().map(PathBuf::from),
            prependdir: self.prependdir.clone().map(PathBuf::from),
            limit_sl_dest: self
                .limit_sl_dest
                .clone()
                .filter(|d| !d.is_empty())
                .map(PathBuf::from),
            hardlink_dupes: self.hardlink_dupes,
        })
    }
}

/// Reads `-i FILE` (or stdin for `-`) as compileall does: one name per
/// line, stripped of surrounding whitespace. A file is read as UTF-8 text
/// with universal newlines; stdin splits on `\n` only.
///
/// ```
/// use std::path::PathBuf;
/// use compileall_cli::cli::{FileListError, read_file_list};
///
/// let dir = tempfile::tempdir()?;
/// let list = dir.path().join("list.txt");
/// std::fs::write(&list, "a.py\r\n  pkg \rc.py\n")?;
/// // `compileall -i list.txt` compiles 'a.py', 'pkg' and 'c.py'.
/// assert_eq!(
///     read_file_list(&list.into_os_string()),
///     Ok(vec![PathBuf::from("a.py"), PathBuf::from("pkg"), PathBuf::from("c.py")])
/// );
/// let missing = dir.path().join("missing.txt").into_os_string();
/// assert_eq!(read_file_list(&missing), Err(FileListError::Unreadable));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_file_list(flist: &OsString) -> Result<Vec<PathBuf>, FileListError> {
    use std::io::Read;
    let (bytes, universal) = if flist == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|_| FileListError::Unreadable)?;
        (bytes, false)
    } else {
        let bytes = std::fs::read(flist).map_err(|_| FileListError::Unreadable)?;
        if let Err(err) = std::str::from_utf8(&bytes) {
            return Err(FileListError::NotUtf8(unicode_decode_error(&bytes, &err)));
        }
        (bytes, true)
    };
    let mut names = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n' || (universal && b == b'\r'))
            .unwrap_or(rest.len());
        let line = &rest[..end];
        let mut next = end + 1;
        if universal && rest.get(end) == Some(&b'\r') && rest.get(end + 1) == Some(&b'\n') {
            next += 1;
        }
        rest = rest.get(next..).unwrap_or_default();
        use std::os::unix::ffi::OsStrExt;
        names.push(PathBuf::from(std::ffi::OsStr::from_bytes(pystr::strip(
            line,
        ))));
    }
    Ok(names)
}

/// Why `-i FILE` could not be read.
///
/// ```
/// use compileall_cli::cli::{FileListError, read_file_list};
///
/// let dir = tempfile::tempdir()?;
/// let list = dir.path().join("list.txt");
/// std::fs::write(&list, b"a.py\n\xff.py\n")?;
/// // CPython 3.11 and 3.14 both end with this line.
/// assert_eq!(
///     read_file_list(&list.into_os_string()),
///     Err(FileListError::NotUtf8(
///         "'utf-8' codec can't decode byte 0xff in position 5: invalid start byte".into()
///     ))
/// );
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum FileListError {
    /// An `OSError`: compileall prints "Error reading file list" and exits 1.
    Unreadable,
    /// Not UTF-8: CPython dies with this `UnicodeDecodeError` message.
    NotUtf8(String),
}

/// `str(UnicodeDecodeError)` for the first bad sequence in `bytes`.
fn unicode_decode_error(bytes: &[u8], err: &std::str::Utf8Error) -> String {
    let start = err.valid_up_to();
    let first = bytes[start];
    let (end, reason) = match err.error_len() {
        None => (bytes.len(), "unexpected end of data"),
        Some(_) if matches!(first, 0x80..=0xC1 | 0xF5..=0xFF) => (start + 1, "invalid start byte"),
        Some(len) => (start + len, "invalid continuation byte"),
    };
    if end - start == 1 {
        format!("'utf-8' codec can't decode byte 0x{first:02x} in position {start}: {reason}")
    } else {
        format!(
            "'utf-8' codec can't decode bytes in position {start}-{}: {reason}",
            end - 1
        )
    }
}

#[cfg(test)]
mod tests;
