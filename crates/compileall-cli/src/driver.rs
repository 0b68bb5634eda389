//! What the `compileall` binary does with a parsed command line:
//! compileall for each target interpreter in turn (its output, the report,
//! the exit status), `inspect`, and the completion scripts and man page.
//! Each function returns the process's exit status.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use bytecode::Compiler;
use bytecode::cpython::PatternVerdict;
use clap::CommandFactory;
use pyc_cache::{Cache, Stats};

use crate::backend::{Starting, TargetCompiler};
use crate::cached::RunCache;
use crate::cli::{
    CacheAction, Cli, FileListError, Invocation, ReportTo, UsageError, read_file_list,
};
use crate::discover;
use crate::engine::Outcome;
use crate::inspect::{self, Disassembly};
use crate::interrupt;
use crate::options::{Options, Quiet};
use crate::output::{Chunk, Sink};
use crate::plan::Plan;
use crate::pyerror::{ExceptionClass, PyException};
use crate::report::{self, CacheReport, ProblemReport, Report, ReportSink, RunReport};
use crate::session::Session;
use crate::terminal::TerminalSink;

/// argparse's exit status for a command line it refuses.
pub const USAGE_ERROR: i32 = 2;

/// `compileall [OPTIONS] [FILE|DIR]...`, once per target interpreter; the
/// exit status is the worst of the targets'.
pub fn compile(invocation: &Invocation) -> i32 {
    let targets = if invocation.pythons.is_empty() {
        match discover::default_python() {
            Ok(python) => vec![python],
            Err(message) => return usage_error(&message),
        }
    } else {
        invocation.pythons.clone()
    };
    let mut report = invocation.report.as_ref().map(|_| Report::new());
    let cache = open_cache(invocation);
    let mut runner = Runner {
        invocation,
        file_list: None,
        cache: cache.as_ref(),
    };
    let mut exit_code = 0;
    for python in targets {
        exit_code = exit_code.max(runner.compile_for(python, report.as_mut()));
    }
    if let Some(cache) = &cache {
        cache.finish();
    }
    if let (Some(mut report), Some(request)) = (report, &invocation.report) {
        report.exit_code = exit_code;
        if let Err(message) = write_report(&report, &request.to) {
            return usage_error(&message);
        }
    }
    exit_code
}

/// The bytecode cache the invocation asks for (not for `--check`, which
/// compiles nothing), if it can be used.
fn open_cache(invocation: &Invocation) -> Option<RunCache> {
    let request = invocation.cache.as_ref().filter(|_| !invocation.check)?;
    // Notices about the cache follow -q's rule for errors.
    let notices = invocation
        .compileall
        .as_ref()
        .map_or(true, |options| options.quiet.prints_errors());
    RunCache::open(request, notices)
}

/// The report as one JSON document, where it was asked to go.
fn write_report(report: &Report, to: &ReportTo) -> Result<(), String> {
    let json = serde_json::to_string_pretty(report).expect("reports serialize") + "\n";
    match to {
        ReportTo::File(path) => {
            fs_err::write(path, json).map_err(|err| format!("cannot write the report: {err}"))
        }
        ReportTo::Stdout => std::io::stdout()
            .write_all(json.as_bytes())
            .map_err(|err| err.to_string()),
    }
}

/// Why a target's run ended before compileall's own loop finished: printed
/// (and recorded) by [`Runner::compile_for`].
enum Failure {
    /// argparse's `parser.error`, or the interpreter cannot be used: exit 2.
    Usage(String),
    /// compileall raised this exception (`Class: message`, the bytes
    /// CPython's traceback ends with): exit 1.
    Raised(Vec<u8>),
    /// compileall printed this line (unless `shown` is false) and gave up:
    /// exit 1.
    Message { text: String, shown: bool },
}

/// Runs the targets of one invocation.
struct Runner<'i> {
    invocation: &'i Invocation,
    /// `-i`, read for the first target: stdin cannot be read twice.
    file_list: Option<Result<Vec<PathBuf>, FileListError>>,
    /// `--cache-dir`.
    cache: Option<&'i RunCache>,
}

impl Runner<'_> {
    /// One target's run: `python -m compileall` for `python`, recorded in
    /// the report (if any) however it ends.
    fn compile_for(&mut self, python: PathBuf, report: Option<&mut Report>) -> i32 {
        let started = Instant::now();
        let mut run = RunReport {
            python: python.to_string_lossy().into_owned(),
            ..RunReport::default()
        };
        // With a report on stdout, compileall's own messages would corrupt
        // it; warnings and errors on stderr still go through.
        let report_on_stdout = report.is_some()
            && self
                .invocation
                .report
                .as_ref()
                .is_some_and(|request| request.to == ReportTo::Stdout);
        let code = match self.run_target(python, report_on_stdout, &mut run) {
            Ok(code) => code,
            Err(Failure::Usage(message)) => {
                let code = usage_error(&message);
                run.error = Some(message);
                code
            }
            Err(Failure::Raised(line)) => {
                run.error = Some(String::from_utf8_lossy(&line).into_owned());
                traceback(&line)
            }
            Err(Failure::Message { text, shown }) => {
                if shown {
                    println!("{text}");
                }
                run.error = Some(text);
                1
            }
        };
        run.exit_code = code;
        run.seconds = report::seconds(started.elapsed());
        if let Some(report) = report {
            report.runs.push(run);
        }
        code
    }

    fn run_target(
        &mut self,
        python: PathBuf,
        report_on_stdout: bool,
        run: &mut RunReport,
    ) -> Result<i32, Failure> {
        // The interpreter starts while we check the arguments and walk the
        // tree.
        let starting = TargetCompiler::start_in_background(python, self.invocation);
        let options = match &self.invocation.compileall {
            Ok(options) => options,
            Err(err) => return Err(self.refusal(starting, err)),
        };
        // What the terminal shows: nothing on stdout when the report is
        // there.
        let shown = if report_on_stdout {
            Quiet::Nothing
        } else {
            options.quiet
        };
        let dests = self.dests(shown)?;
        let plan = (!dests.is_empty()).then(|| Plan::dests(&dests, options));

        let target = starting
            .wait()
            .map_err(|err| Failure::Usage(err.to_string()))?;
        run.version = target.compiler().target().full_version.clone();
        run.cache_tag = target.compiler().target().cache_tag.clone();
        if let Some(pattern) = &self.invocation.pattern {
            python_rejects(&target, pattern)?;
        }
        let cached = self
            .cache
            .and_then(|cache| cache.compiler(target.compiler()));
        let compiler: &dyn Compiler = match &cached {
            Some(cached) => cached,
            None => target.compiler(),
        };
        let session = Session::new(compiler)
            .map_err(|err| Failure::Usage(format!("cannot read the current directory: {err}")))?
            .with_recursion_limit(target.environment().recursion_limit);
        interrupt::set_on_ctrl_c(session.interrupt_flag());
        let sys_path = &target.environment().sys_path;
        if self.invocation.check {
            let plan = plan.unwrap_or_else(|| Plan::path(sys_path, options));
            return check(&session, plan, shown, run);
        }
        let mut terminal =
            TerminalSink::new(shown, report_on_stdout, self.cache.map(RunCache::cache));
        let stats_before = self.cache.map(RunCache::stats);
        let compile = |sink: &mut dyn Sink| match plan {
            Some(plan) => session.run(plan, sink),
            None => session.compile_path(sys_path, true, options, sink),
        };
        // Each file's record is kept only for a report: at 60,000 files
        // they are most of a run's memory.
        let outcome = if self.invocation.report.is_some() {
            let mut sink = ReportSink {
                inner: Some(&mut terminal),
                run: std::mem::take(run),
            };
            let outcome = compile(&mut sink);
            *run = sink.run;
            outcome
        } else {
            compile(&mut terminal)
        };
        if let (Some(cache), Some(before)) = (self.cache, stats_before) {
            run.cache = Some(cache_report(cache, before));
        }
        finish(outcome, options, &mut terminal, run)
    }

    /// The command line is refused: what the target says of `-x` comes
    /// first (CPython compiles it before its other checks), then the
    /// refusal.
    fn refusal(&self, starting: Starting, err: &UsageError) -> Failure {
        if let Some(pattern) = &self.invocation.pattern {
            let verdict = starting
                .wait()
                .map_err(|err| Failure::Usage(err.to_string()))
                .and_then(|target| python_rejects(&target, pattern));
            if let Err(failure) = verdict {
                return failure;
            }
        }
        Failure::Usage(match err {
            UsageError::Usage(message) => message.clone(),
            UsageError::Pattern(err) => {
                format!("-x: Python accepts this pattern, but it cannot be run here: {err}")
            }
        })
    }

    /// The `FILE|DIR` arguments and the names of `-i`'s list.
    fn dests(&mut self, shown: Quiet) -> Result<Vec<PathBuf>, Failure> {
        let mut dests = self.invocation.dests.clone();
        let Some(flist) = &self.invocation.flist else {
            return Ok(dests);
        };
        match self.file_list.get_or_insert_with(|| read_file_list(flist)) {
            Ok(names) => dests.extend(names.iter().cloned()),
            Err(FileListError::Unreadable) => {
                return Err(Failure::Message {
                    text: format!("Error reading file list {}", flist.to_string_lossy()),
                    shown: shown.prints_errors(),
                });
            }
            Err(FileListError::NotUtf8(message)) => {
                let exception = PyException::new(ExceptionClass::UnicodeDecodeError, &**message);
                return Err(Failure::Raised(exception.line()));
            }
        }
        Ok(dests)
    }
}

/// What one target's run did with the cache: the change in its counters.
fn cache_report(cache: &RunCache, before: Stats) -> CacheReport {
    let after = cache.stats();
    CacheReport {
        dir: cache.dir().to_string_lossy().into_owned(),
        hits: after.hits - before.hits,
        misses: after.misses - before.misses,
        stores: after.stores - before.stores,
        damaged: after.corrupt - before.corrupt,
    }
}

/// Whether the target's `re.compile` accepts `pattern`; if not, the
/// exception it raises.
fn python_rejects(target: &TargetCompiler, pattern: &str) -> Result<(), Failure> {
    match target.check_pattern(pattern) {
        Ok(PatternVerdict::Accepted) => Ok(()),
        Ok(PatternVerdict::Rejected { exception }) => Err(Failure::Raised(exception.into_bytes())),
        Err(err) => Err(Failure::Usage(err.to_string())),
    }
}

/// After compileall's loop: `[interrupted]` after Ctrl-C, the exit status,
/// or the exception it raised.
fn finish(
    outcome: Outcome,
    options: &Options,
    terminal: &mut TerminalSink,
    run: &mut RunReport,
) -> Result<i32, Failure> {
    match &outcome {
        Outcome::Completed { .. } => {
            terminal.finish();
            Ok(outcome.exit_code())
        }
        Outcome::Interrupted => {
            if options.quiet.prints_errors() {
                terminal.write(&Chunk::line("\n[interrupted]"));
            }
            terminal.finish();
            run.interrupted = true;
            Ok(1)
        }
        Outcome::Raised(exception) => {
            terminal.finish();
            Err(Failure::Raised(exception.line()))
        }
    }
}

/// `--check`: prints each problem (and records them in the report), exit
/// status 1 if there is any.
fn check(
    session: &Session<'_>,
    plan: Plan,
    shown: Quiet,
    run: &mut RunReport,
) -> Result<i32, Failure> {
    let problems = session
        .check(plan)
        .map_err(|exception| Failure::Raised(exception.line()))?;
    if shown.prints_errors() {
        let mut stdout = std::io::stdout().lock();
        for problem in &problems {
            let _ = writeln!(stdout, "{problem}");
        }
    }
    run.problems = Some(problems.iter().map(ProblemReport::from).collect());
    Ok(i32::from(!problems.is_empty()))
}

/// `compileall inspect`: header, validity and disassembly of each pyc;
/// exit status 1 if any pyc is unreadable, invalid or fails to
/// disassemble.
pub fn inspect(pycs: &[PathBuf], python: Option<&Path>, disassemble: bool) -> i32 {
    let mut stdout = std::io::stdout().lock();
    let mut code = 0;
    for pyc in pycs {
        let inspection = inspect::inspect(pyc);
        let _ = write!(stdout, "{inspection}");
        if inspection.error.is_some() || inspection.source.as_ref().is_some_and(|(_, v)| v.is_err())
        {
            code = 1;
        }
        if !disassemble || inspection.error.is_some() {
            continue;
        }
        let interpreter = python.map(Path::to_owned).or_else(|| {
            let version = inspection.version?.version;
            discover::on_path(&format!("python{version}"))
        });
        let Some(interpreter) = interpreter else {
            let _ = writeln!(
                stdout,
                "  disassembly: no interpreter for this version (pass --python)"
            );
            continue;
        };
        let _ = writeln!(stdout, "  disassembly ({}):", interpreter.display());
        let _ = stdout.flush();
        match inspect::disassemble(&interpreter, pyc) {
            Disassembly::Listing(text) => {
                for line in text.lines() {
                    let _ = writeln!(stdout, "    {line}");
                }
            }
            Disassembly::Failed(reason) => {
                code = 1;
                let _ = writeln!(stdout, "    failed: {reason}");
            }
            Disassembly::CannotRun(err) => {
                code = 1;
                let _ = writeln!(stdout, "    cannot run {}: {err}", interpreter.display());
            }
        }
    }
    code
}

/// `compileall completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> i32 {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "compileall", &mut script);
    print_generated(&script)
}

/// `compileall cache info|prune|clear`: exit status 1 when the cache
/// cannot be opened or changed, 2 when no folder is named.
pub fn cache(action: &CacheAction) -> i32 {
    let (CacheAction::Info { folder }
    | CacheAction::Prune { folder, .. }
    | CacheAction::Clear { folder }) = action;
    let Some(dir) = folder
        .cache_dir
        .as_ref()
        .filter(|dir| !dir.as_os_str().is_empty())
    else {
        return usage_error("no cache folder: give --cache-dir DIR or set COMPILEALL_CACHE_DIR");
    };
    let cache = match Cache::open(dir) {
        Ok(cache) => cache,
        Err(err) => {
            eprintln!("compileall: cache {}: {err}", dir.display());
            return 1;
        }
    };
    let done = match action {
        CacheAction::Info { .. } => cache.usage().map(|usage| {
            format!(
                "folder: {}\nentries: {}\nsize: {} bytes",
                dir.display(),
                usage.entries,
                usage.bytes
            )
        }),
        CacheAction::Prune { cache_max_size, .. } => cache.prune(*cache_max_size).map(|pruned| {
            format!(
                "removed {} entries ({} bytes); {} entries ({} bytes) left",
                pruned.removed.entries,
                pruned.removed.bytes,
                pruned.left.entries,
                pruned.left.bytes
            )
        }),
        CacheAction::Clear { .. } => cache.clear().map(|removed| {
            format!(
                "removed {} entries ({} bytes)",
                removed.entries, removed.bytes
            )
        }),
    };
    match done {
        Ok(text) => {
            println!("{text}");
            0
        }
        Err(err) => {
            eprintln!("compileall: cache {}: {err}", dir.display());
            1
        }
    }
}

/// `compileall man`.
pub fn man_page() -> i32 {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .expect("writing to memory cannot fail");
    print_generated(&page)
}

/// Writes a generated completion script or man page. It is generated in
/// memory first (clap_complete panics on a write error), and a reader that
/// stops early (`| head`) is not an error.
fn print_generated(bytes: &[u8]) -> i32 {
    match std::io::stdout().write_all(bytes) {
        Ok(()) => 0,
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(err) => usage_error(&err.to_string()),
    }
}

/// argparse's `parser.error`: exit status 2.
fn usage_error(message: &str) -> i32 {
    eprintln!("compileall: error: {message}");
    USAGE_ERROR
}

/// An exception escaping compileall: CPython prints a traceback whose last
/// line is the exception, and exits with status 1.
fn traceback(last_line: &[u8]) -> i32 {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(
        b"Traceback (most recent call last):\n  (raised where CPython's compileall raises)\n",
    );
    let _ = stderr.write_all(last_line);
    let _ = stderr.write_all(b"\n");
    1
}
