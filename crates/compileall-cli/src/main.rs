//! The `compileall` binary: `python -m compileall`, flag for flag.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use bytecode::CompilerProcess;
use bytecode::cpython::{CpythonPool, PoolOptions};
use clap::Parser;
use compileall_cli::cli::{Args, Backend, FileListError, UsageError, read_file_list};
use compileall_cli::{Chunk, Outcome, Plan, Session, Sink, Stream};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(err.exit_code() as u8);
        }
    };
    ExitCode::from(run(args) as u8)
}

fn run(args: Args) -> i32 {
    if args.backend == Backend::Native {
        return usage_error("the native backend is not available yet; use --backend cpython");
    }
    let python = match target_python(args.python.as_deref()) {
        Ok(python) => python,
        Err(message) => return usage_error(&message),
    };
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
    let starting = std::thread::spawn(move || CpythonPool::start(&python, pool_options));
    let pool = || match starting.join().expect("pool start does not panic") {
        Ok(pool) => Ok(pool),
        Err(err) => Err(usage_error(&err.to_string())),
    };

    let pattern = args.rx.clone().filter(|p| !p.is_empty());
    let invocation = match args.into_invocation() {
        Ok(invocation) => invocation,
        Err(err) => {
            // CPython compiles -x before its other checks: its verdict on
            // the pattern comes first.
            if let Some(pattern) = &pattern {
                match pool() {
                    Ok(pool) => {
                        if let Some(code) = python_rejects(&pool, pattern) {
                            return code;
                        }
                    }
                    Err(code) => return code,
                }
            }
            return match err {
                UsageError::Usage(message) => usage_error(&message),
                UsageError::Pattern(err) => usage_error(&format!(
                    "-x: Python accepts this pattern, but it cannot be run here: {err}"
                )),
            };
        }
    };
    let options = invocation.options;
    let mut dests = invocation.dests;
    if let Some(flist) = &invocation.flist {
        match read_file_list(flist) {
            Ok(names) => dests.extend(names),
            Err(FileListError::Unreadable) => {
                if options.quiet < 2 {
                    println!("Error reading file list {}", flist.to_string_lossy());
                }
                return 1;
            }
            Err(FileListError::NotUtf8(message)) => {
                return traceback(format!("UnicodeDecodeError: {message}").as_bytes());
            }
        }
    }
    let plan = (!dests.is_empty()).then(|| Plan::dests(&dests, &options));

    let pool = match pool() {
        Ok(pool) => pool,
        Err(code) => return code,
    };
    if let Some(pattern) = &pattern
        && let Some(code) = python_rejects(&pool, pattern)
    {
        return code;
    }
    let session = match Session::new(&pool) {
        Ok(session) => session.with_recursion_limit(pool.environment().recursion_limit),
        Err(err) => return usage_error(&format!("cannot read the current directory: {err}")),
    };
    install_interrupt_handler(session.interrupt_flag());

    let mut sink = TerminalSink::new(options.quiet);
    let outcome = match plan {
        Some(plan) => session.run(plan, &mut sink),
        None => session.compile_path(&pool.environment().sys_path, true, &options, &mut sink),
    };
    match &outcome {
        Outcome::Completed { .. } => {}
        Outcome::Interrupted => {
            if options.quiet < 2 {
                sink.write(&Chunk::line("\n[interrupted]"));
            }
        }
        Outcome::Raised(exception) => {
            sink.finish();
            return traceback(&exception.line());
        }
    }
    sink.finish();
    outcome.exit_code()
}

/// The exit status if the target's `re.compile` rejects `pattern` (after
/// printing its exception), `None` if it accepts it.
fn python_rejects(pool: &CpythonPool, pattern: &str) -> Option<i32> {
    match pool.check_regex(pattern) {
        Ok(Ok(())) => None,
        Ok(Err(exception)) => Some(traceback(exception.as_bytes())),
        Err(err) => Some(usage_error(&err.to_string())),
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
}

impl TerminalSink {
    fn new(quiet: u8) -> Self {
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
