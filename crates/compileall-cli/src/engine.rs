//! Running a list of steps fast while printing exactly what CPython
//! prints.
//!
//! The steps arrive fully prepared (walked, checked for staleness, in
//! CPython's order). Compile jobs run on threads that block on the backend;
//! the calling thread prints every step's output in order as soon as it is
//! complete. What limits the parallelism:
//!
//! - Jobs CPython runs in its main process (`-j 1`, files named on the
//!   command line) go through one lane, in order: a CPython process's
//!   earlier compiles change its later output, so they must happen in one
//!   worker in CPython's order. Jobs CPython spreads over its process pool
//!   (`-j N`) run on as many threads as the backend can serve.
//! - A step where CPython raises: nothing after it may happen, so jobs are
//!   only taken from before the first such step.
//! - The same source reached twice (`compileall pkg pkg`): the second visit
//!   must see the pycs the first one wrote, so it waits for the first and is
//!   prepared again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use bytecode::{Compiler, CompilerProcess, Target};
use pycache_paths::CacheLayout;

use crate::file::{self, Decision, Executed, Prepared};
use crate::output::{Chunk, FileOutcome, FileStatus, Sink};
use crate::pyerror::PyException;
use crate::{InvalidationMode, Options, Outcome};

/// Everything a step needs to know about the run.
pub(crate) struct Context<'c> {
    pub compiler: &'c dyn Compiler,
    pub target: &'c Target,
    pub layout: CacheLayout,
    pub cwd: PathBuf,
    pub options: &'c Options,
    /// `sorted(set(optimize))`.
    pub levels: Vec<i32>,
    pub invalidation: InvalidationMode,
    pub interrupted: &'c AtomicBool,
    /// Compile threads to run.
    pub threads: usize,
    /// `sys.stdout`'s codec and error handler in the target interpreter.
    pub stdout: pystr::TextEncoding,
    /// Whether the backend was told to get ready for each kind of
    /// process (indexed by [`process_index`]).
    pub warmed: [AtomicBool; 2],
}

fn process_index(process: CompilerProcess) -> usize {
    match process {
        CompilerProcess::Main => 0,
        CompilerProcess::PoolWorker => 1,
    }
}

impl Context<'_> {
    /// `repr(path)` as the target interpreter prints it.
    pub fn repr(&self, path: &Path) -> String {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        if bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
            return pystr::repr(bytes);
        }
        self.compiler
            .repr(path.as_os_str())
            .unwrap_or_else(|| pystr::repr(bytes))
    }

    /// A source will be compiled in `process`: the first time, let the
    /// backend set up while the rest of the tree is prepared.
    pub fn warm_up(&self, process: CompilerProcess) {
        if !self.warmed[process_index(process)].swap(true, Ordering::Relaxed) {
            self.compiler.warm_up(process);
        }
    }

    /// `text` as `print(text)` writes it to the target's stdout.
    pub fn line(&self, text: impl AsRef<[u8]>) -> Chunk {
        Chunk::line(self.stdout_bytes(text.as_ref()))
    }

    /// `text` encoded for the target's stdout. Where `print()` would raise
    /// `UnicodeEncodeError` (a `strict` handler), CPython dies with a
    /// traceback; we print the text's own bytes instead.
    pub fn stdout_bytes(&self, text: &[u8]) -> Vec<u8> {
        pystr::encode(text, self.stdout).unwrap_or_else(|_| text.to_vec())
    }
}

/// One thing the run does, in CPython's order.
pub(crate) enum Step {
    /// Print a line.
    Line(Chunk),
    /// `compile_file` on one path.
    File(Box<Prepared>),
    /// An exception escapes compileall here.
    Raise(PyException),
}

impl Step {
    fn raises(&self) -> bool {
        match self {
            Step::Raise(_) => true,
            Step::File(prepared) => matches!(prepared.decision, Decision::Raise(_)),
            Step::Line(_) => false,
        }
    }
}

/// One unit of work for the compile threads.
struct Job {
    index: usize,
    /// For a repeated visit: the step of the previous visit of the same
    /// source, which must be finished first.
    after: Option<usize>,
}

/// Runs `steps` and reports what CPython would have.
pub(crate) fn run(ctx: &Context<'_>, steps: Vec<Step>, sink: &mut dyn Sink) -> Outcome {
    let cutoff = steps.iter().position(Step::raises).unwrap_or(steps.len());

    let mut main_jobs = Vec::new();
    let mut pool_jobs = Vec::new();
    let mut last_visit = HashMap::new();
    for (index, step) in steps[..cutoff].iter().enumerate() {
        let Step::File(prepared) = step else { continue };
        if !matches!(prepared.decision, Decision::Compile(_)) {
            continue;
        }
        let after = prepared
            .identity
            .and_then(|id| last_visit.get(&id).copied());
        if let Some(identity) = prepared.identity {
            last_visit.insert(identity, index);
        }
        let job = Job { index, after };
        match prepared.source.process {
            CompilerProcess::Main => main_jobs.push(job),
            CompilerProcess::PoolWorker => pool_jobs.push(job),
        }
    }
    let total = (main_jobs.len() + pool_jobs.len()) as u64;

    let slots: Vec<OnceLock<Executed>> = (0..cutoff).map(|_| OnceLock::new()).collect();
    // Per step: no job, a job, or a repeated visit (prepared again, so
    // its result carries the output of that second preparation).
    let mut jobs_by_step = vec![None; cutoff];
    for job in main_jobs.iter().chain(&pool_jobs) {
        jobs_by_step[job.index] = Some(job.after.is_some());
    }
    let next_pool_job = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let finished = (Mutex::new(()), Condvar::new());
    let run_job = |job: &Job| {
        if let Some(after) = job.after
            && wait(ctx, &stop, &slots[after], &finished).is_none()
        {
            return false;
        }
        let Step::File(prepared) = &steps[job.index] else {
            unreachable!("jobs are file steps")
        };
        let executed = match job.after {
            None => file::execute(ctx, prepared),
            Some(_) => {
                // Look again now that the earlier visit wrote its pycs.
                let again = file::prepare(ctx, prepared.source.again());
                let mut executed = file::execute(ctx, &again);
                executed.chunks.splice(0..0, again.chunks);
                executed
            }
        };
        let _ = slots[job.index].set(executed);
        let _guard = finished.0.lock().unwrap();
        finished.1.notify_all();
        true
    };
    let running = || !stop.load(Ordering::SeqCst) && !ctx.interrupted.load(Ordering::SeqCst);

    std::thread::scope(|scope| {
        if !main_jobs.is_empty() {
            scope.spawn(|| {
                for job in &main_jobs {
                    if !running() || !run_job(job) {
                        break;
                    }
                }
            });
        }
        // A backend worker costs a process start; a handful of jobs is done
        // sooner by the workers already running.
        let pool_threads = ctx
            .threads
            .min((pool_jobs.len() / 16).max(1))
            .min(pool_jobs.len());
        for _ in 0..pool_threads {
            scope.spawn(|| {
                while running() {
                    let Some(job) = pool_jobs.get(next_pool_job.fetch_add(1, Ordering::SeqCst))
                    else {
                        break;
                    };
                    if !run_job(job) {
                        break;
                    }
                }
            });
        }

        let outcome = emit(
            ctx,
            &steps,
            cutoff,
            &jobs_by_step,
            &slots,
            &stop,
            &finished,
            total,
            sink,
        );
        stop.store(true, Ordering::SeqCst);
        finished.1.notify_all();
        if matches!(outcome, Outcome::Interrupted) {
            ctx.compiler.cancel();
        }
        outcome
    })
}

/// Prints every step in order, waiting for compile results as needed.
#[allow(clippy::too_many_arguments)]
fn emit(
    ctx: &Context<'_>,
    steps: &[Step],
    cutoff: usize,
    jobs_by_step: &[Option<bool>],
    slots: &[OnceLock<Executed>],
    stop: &AtomicBool,
    finished: &(Mutex<()>, Condvar),
    total: u64,
    sink: &mut dyn Sink,
) -> Outcome {
    let mut success = true;
    let mut done = 0;
    sink.progress(0, total);
    for (index, step) in steps[..cutoff].iter().enumerate() {
        if ctx.interrupted.load(Ordering::SeqCst) {
            return Outcome::Interrupted;
        }
        let prepared = match step {
            Step::Line(chunk) => {
                sink.write(chunk);
                continue;
            }
            Step::File(prepared) => prepared,
            Step::Raise(_) => unreachable!("raising steps come at the cutoff"),
        };
        let Some(repeated) = jobs_by_step[index] else {
            prepared.chunks.iter().for_each(|c| sink.write(c));
            if let Decision::Skip(reason) = prepared.decision {
                sink.file(&FileOutcome {
                    source: &prepared.source.fullname,
                    status: &FileStatus::Skipped(reason),
                    pycs: &prepared.cfiles,
                    elapsed: Duration::ZERO,
                });
            }
            continue;
        };
        if !repeated {
            prepared.chunks.iter().for_each(|c| sink.write(c));
        }
        let Some(executed) = wait(ctx, stop, &slots[index], finished) else {
            return Outcome::Interrupted;
        };
        executed.chunks.iter().for_each(|c| sink.write(c));
        sink.file(&FileOutcome {
            source: &prepared.source.fullname,
            status: &executed.status,
            pycs: &prepared.cfiles,
            elapsed: executed.elapsed,
        });
        success &= executed.success;
        done += 1;
        sink.progress(done, total);
    }
    match steps.get(cutoff) {
        None => Outcome::Completed { success },
        Some(Step::Raise(exc)) => Outcome::Raised(exc.clone()),
        Some(Step::File(prepared)) => {
            prepared.chunks.iter().for_each(|c| sink.write(c));
            match &prepared.decision {
                Decision::Raise(exc) => Outcome::Raised(exc.clone()),
                _ => unreachable!("the cutoff step raises"),
            }
        }
        Some(Step::Line(_)) => unreachable!("the cutoff step raises"),
    }
}

/// Waits for a compile result; `None` if the run was interrupted or
/// stopped first.
fn wait<'a>(
    ctx: &Context<'_>,
    stop: &AtomicBool,
    slot: &'a OnceLock<Executed>,
    finished: &(Mutex<()>, Condvar),
) -> Option<&'a Executed> {
    let mut guard = finished.0.lock().unwrap();
    loop {
        if let Some(executed) = slot.get() {
            return Some(executed);
        }
        if ctx.interrupted.load(Ordering::SeqCst) || stop.load(Ordering::SeqCst) {
            return None;
        }
        guard = finished
            .1
            .wait_timeout(guard, Duration::from_millis(50))
            .unwrap()
            .0;
    }
}
