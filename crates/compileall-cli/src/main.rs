//! The `compileall` binary: `python -m compileall`, flag for flag.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use bytecode::CompilerProcess;
use bytecode::cpython::{CpythonPool, PoolOptions};
use std::time::Instant;

use bytecode::Compiler;
use clap::CommandFactory;
use compileall_cli::cli::{Args, Backend, Cli, Command, FileListError, UsageError, read_file_list};
use compileall_cli::report::{self, Report, ReportSink, RunReport};
use compileall_cli::{Chunk, Outcome, Plan, Session, Sink, Stream};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn main() -> ExitCode {
    let cli = match Cli::try_parse_argparse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(err.exit_code() as u8);
        }
    };
    let code = match cli.command {
        Some(Command::Inspect {
            pycs,
            python,
            no_disassembly,
        }) => inspect(&pycs, python.as_deref(), !no_disassembly),
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "compileall", &mut script);
            print_generated(&script)
        }
        Some(Command::Man) => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .expect("writing to memory cannot fail");
            print_generated(&page)
        }
        None => compile(cli.args),
    };
    ExitCode::from(code as u8)
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

/// `compileall [OPTIONS] [FILE|DIR]...`, once per target interpreter.
fn compile(args: Args) -> i32 {
    if args.backend == Backend::Native {
        return usage_error("the native backend is not available yet; use --backend cpython");
    }
    let targets = if args.python.is_empty() {
        match target_python(None) {
            Ok(python) => vec![python],
            Err(message) => return usage_error(&message),
        }
    } else {
        args.python.clone()
    };
    let mut report = args.report.map(|_| Report::new());
    let mut file_list = None;
    let mut exit_code = 0;
    for python in targets {
        let code = compile_for(&args, python, &mut file_list, report.as_mut());
        exit_code = exit_code.max(code);
    }
    if let Some(mut report) = report {
        report.exit_code = exit_code;
        let json = serde_json::to_string_pretty(&report).expect("reports serialize") + "\n";
        let written = match &args.report_file {
            Some(path) => std::fs::write(path, json)
                .map_err(|err| format!("cannot write the report to {}: {err}", path.display())),
            None => std::io::stdout()
                .write_all(json.as_bytes())
                .map_err(|err| err.to_string()),
        };
        if let Err(message) = written {
            return usage_error(&message);
        }
    }
    exit_code
}

/// One target's run: `python -m compileall` for `python`, recorded in the
/// report (if any) however it ends.
fn compile_for(
    args: &Args,
    python: PathBuf,
    file_list: &mut Option<Result<Vec<PathBuf>, FileListError>>,
    report: Option<&mut Report>,
) -> i32 {
    let started = Instant::now();
    let mut run = RunReport {
        python: python.to_string_lossy().into_owned(),
        ..RunReport::default()
    };
    // With a report on stdout, compileall's own messages would corrupt it;
    // warnings and errors on stderr still go through.
    let report_on_stdout = report.is_some() && args.report_file.is_none();
    let code = match run_target(args, python, file_list, report_on_stdout, &mut run) {
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
    };
    run.exit_code = code;
    run.seconds = report::seconds(started.elapsed());
    if let Some(report) = report {
        report.runs.push(run);
    }
    code
}

/// Why a target's run ended before compileall's own loop finished: printed
/// (and recorded) by [`compile_for`].
enum Failure {
    /// argparse's `parser.error`, or the interpreter cannot be used: exit 2.
    Usage(String),
    /// compileall raised this exception (`Class: message`, the bytes
    /// CPython's traceback ends with): exit 1.
    Raised(Vec<u8>),
}

fn run_target(
    args: &Args,
    python: PathBuf,
    file_list: &mut Option<Result<Vec<PathBuf>, FileListError>>,
    report_on_stdout: bool,
    run: &mut RunReport,
) -> Result<i32, Failure> {
    let pool_options = PoolOptions {
        max_workers: match args.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n.max(1) as usize,
        },
        timeout: std::time::Duration::from_secs_f64(args.worker_timeout.max(0.001)),
        // Directories with -j N != 1 compile in CPython's pool processes;
        // everything else in the main one.
        first_worker: if args.workers == 1 || args.compile_dest.is_empty() {
            CompilerProcess::Main
        } else {
            CompilerProcess::PoolWorker
        },
    };
    // The interpreter starts while we check the arguments and walk the tree.
    let starting = {
        let python = python.clone();
        std::thread::spawn(move || CpythonPool::start(&python, pool_options))
    };
    let pool = || {
        starting
            .join()
            .expect("pool start does not panic")
            .map_err(|err| Failure::Usage(err.to_string()))
    };

    let pattern = args.rx.clone().filter(|p| !p.is_empty());
    let invocation = match args.clone().into_invocation() {
        Ok(invocation) => invocation,
        Err(err) => {
            // CPython compiles -x before its other checks: its verdict on
            // the pattern comes first.
            if let Some(pattern) = &pattern {
                python_rejects(&pool()?, pattern)?;
            }
            return Err(Failure::Usage(match err {
                UsageError::Usage(message) => message,
                UsageError::Pattern(err) => {
                    format!("-x: Python accepts this pattern, but it cannot be run here: {err}")
                }
            }));
        }
    };
    let options = invocation.options;
    let mut dests = invocation.dests;
    if let Some(flist) = &invocation.flist {
        // Read once, even for several targets: stdin cannot be read twice.
        match file_list.get_or_insert_with(|| read_file_list(flist)) {
            Ok(names) => dests.extend(names.iter().cloned()),
            Err(FileListError::Unreadable) => {
                let message = format!("Error reading file list {}", flist.to_string_lossy());
                if options.quiet < 2 && !report_on_stdout {
                    println!("{message}");
                }
                run.error = Some(message);
                return Ok(1);
            }
            Err(FileListError::NotUtf8(message)) => {
                return Err(Failure::Raised(
                    format!("UnicodeDecodeError: {message}").into_bytes(),
                ));
            }
        }
    }
    let plan = (!dests.is_empty()).then(|| Plan::dests(&dests, &options));

    let pool = pool()?;
    let target = pool.target();
    run.version = target.full_version.clone();
    run.cache_tag = target.cache_tag.clone();
    if let Some(pattern) = &pattern {
        python_rejects(&pool, pattern)?;
    }
    let session = match Session::new(&pool) {
        Ok(session) => session.with_recursion_limit(pool.environment().recursion_limit),
        Err(err) => {
            return Err(Failure::Usage(format!(
                "cannot read the current directory: {err}"
            )));
        }
    };
    install_interrupt_handler(session.interrupt_flag());
    // What the terminal shows: nothing on stdout when the report is there.
    let shown_quiet = if report_on_stdout { 2 } else { options.quiet };
    if args.check {
        let plan = plan.unwrap_or_else(|| Plan::path(&pool.environment().sys_path, &options));
        return check(&session, plan, shown_quiet, run);
    }

    let mut terminal = TerminalSink::new(shown_quiet, report_on_stdout);
    let mut sink = ReportSink {
        inner: Some(&mut terminal),
        run: std::mem::take(run),
    };
    let outcome = match plan {
        Some(plan) => session.run(plan, &mut sink),
        None => session.compile_path(&pool.environment().sys_path, true, &options, &mut sink),
    };
    *run = std::mem::take(&mut sink.run);
    drop(sink);
    let code = match &outcome {
        Outcome::Completed { .. } => {
            terminal.finish();
            outcome.exit_code()
        }
        Outcome::Interrupted => {
            if options.quiet < 2 {
                terminal.write(&Chunk::line("\n[interrupted]"));
            }
            terminal.finish();
            run.interrupted = true;
            1
        }
        Outcome::Raised(exception) => {
            terminal.finish();
            return Err(Failure::Raised(exception.line()));
        }
    };
    Ok(code)
}

/// `--check`: prints each problem (and records them in the report), exit
/// status 1 if there is any.
fn check(
    session: &Session<'_>,
    plan: Plan,
    quiet: u8,
    run: &mut RunReport,
) -> Result<i32, Failure> {
    match session.check(plan) {
        Ok(problems) => {
            if quiet < 2 {
                let mut stdout = std::io::stdout().lock();
                for problem in &problems {
                    let _ = writeln!(stdout, "{problem}");
                }
            }
            run.problems = Some(problems.iter().map(report::ProblemReport::from).collect());
            Ok(i32::from(!problems.is_empty()))
        }
        Err(exception) => Err(Failure::Raised(exception.line())),
    }
}

/// `compileall inspect`: header, validity and disassembly of each pyc.
fn inspect(pycs: &[PathBuf], python: Option<&Path>, disassemble: bool) -> i32 {
    let mut stdout = std::io::stdout().lock();
    let mut code = 0;
    for pyc in pycs {
        let inspection = compileall_cli::inspect::inspect(pyc);
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
            let name = format!("python{version}");
            let path = std::env::var_os("PATH").unwrap_or_default();
            std::env::split_paths(&path)
                .map(|dir| dir.join(&name))
                .find(|p| p.is_file())
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
        let output = std::process::Command::new(&interpreter)
            .arg("-c")
            .arg(compileall_cli::inspect::DISASSEMBLE_PY)
            .arg(pyc)
            .output();
        match output {
            Ok(output) if output.status.success() => {
                for line in String::from_utf8_lossy(&output.stdout).lines() {
                    let _ = writeln!(stdout, "    {line}");
                }
            }
            Ok(output) => {
                code = 1;
                let reason = String::from_utf8_lossy(&output.stderr);
                let _ = writeln!(
                    stdout,
                    "    failed: {}",
                    reason.lines().last().unwrap_or_default()
                );
            }
            Err(err) => {
                code = 1;
                let _ = writeln!(stdout, "    cannot run {}: {err}", interpreter.display());
            }
        }
    }
    code
}

/// Whether the target's `re.compile` accepts `pattern`; if not, the
/// exception it raises.
fn python_rejects(pool: &CpythonPool, pattern: &str) -> Result<(), Failure> {
    match pool.check_regex(pattern) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(exception)) => Err(Failure::Raised(exception.into_bytes())),
        Err(err) => Err(Failure::Usage(err.to_string())),
    }
}

/// argparse's `parser.error`: exit status 2.
fn usage_error(message: &str) -> i32 {
    eprintln!("compileall: error: {message}");
    2
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

/// `--python`, else the active virtual environment's interpreter, else
/// `python3` on `PATH`.
fn target_python(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(python) = explicit {
        return Ok(python.to_owned());
    }
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        let python = Path::new(&venv).join("bin").join("python");
        if python.exists() {
            return Ok(python);
        }
        return Err(format!(
            "VIRTUAL_ENV is {}, but it has no bin/python; pass --python",
            python.display()
        ));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("python3"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| "no python3 on PATH and no --python given".to_owned())
}

static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

extern "C" fn on_sigint(_: libc::c_int) {
    if let Some(flag) = INTERRUPTED.get() {
        flag.store(true, Ordering::SeqCst);
    }
}

/// Ctrl-C sets the session's flag; the run stops at the next file boundary,
/// kills the workers, and prints `[interrupted]` as CPython does.
fn install_interrupt_handler(flag: Arc<AtomicBool>) {
    let _ = INTERRUPTED.set(flag);
    // SAFETY: the handler only stores to an atomic that outlives the process.
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
    }
}

/// Writes the run's output to the real stdout and stderr, with a progress
/// bar on stderr when it is a terminal.
struct TerminalSink {
    stdout: std::io::BufWriter<std::io::Stdout>,
    stdout_is_terminal: bool,
    bar: Option<ProgressBar>,
    /// Drop what would go to stdout (a report is printed there instead).
    stdout_suppressed: bool,
}

impl TerminalSink {
    fn new(quiet: u8, stdout_suppressed: bool) -> Self {
        let bar = (quiet == 0 && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(8));
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} compiling {pos}/{len} [{elapsed}] {wide_bar}",
                )
                .expect("valid template"),
            );
            bar
        });
        TerminalSink {
            stdout: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout()),
            stdout_is_terminal: std::io::stdout().is_terminal(),
            bar,
            stdout_suppressed,
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let _ = self.stdout.flush();
    }

    fn emit(&mut self, chunk: &Chunk) {
        match chunk.stream {
            Stream::Stdout if self.stdout_suppressed => {}
            Stream::Stdout => {
                let _ = self.stdout.write_all(&chunk.bytes);
                if self.stdout_is_terminal {
                    let _ = self.stdout.flush();
                }
            }
            Stream::Stderr => {
                // Keep the relative order of the two streams.
                let _ = self.stdout.flush();
                let _ = std::io::stderr().write_all(&chunk.bytes);
            }
        }
    }
}

impl Sink for TerminalSink {
    fn write(&mut self, chunk: &Chunk) {
        match self.bar.clone() {
            Some(bar) if self.stdout_is_terminal || chunk.stream == Stream::Stderr => {
                bar.suspend(|| self.emit(chunk))
            }
            _ => self.emit(chunk),
        }
    }

    fn progress(&mut self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    }
}
