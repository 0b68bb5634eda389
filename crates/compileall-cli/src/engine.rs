//! Running the prepared steps fast while printing exactly what CPython
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
//!
//! The visits are prepared and run a window at a time ([`run_visits`]), so
//! that what a run holds per file (its preparation, its result) is that
//! of one window, whatever the size of the tree. A window starts once the
//! previous one is finished, so a source visited again in a later window
//! is prepared after its earlier visit wrote its pycs, as in CPython.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use bytecode::CompilerProcess;

use crate::context::Context;
use crate::execute::{self, Executed};
use crate::output::{FileOutcome, FileStatus, Sink};
use crate::prepare::{self, Decision, Prepared};
use crate::pyerror::PyException;
use crate::steps::{self, Step};
use crate::visit::Visit;

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
    /// use compileall_cli::{ExceptionClass, Outcome, PyException};
    /// assert_eq!(Outcome::Completed { success: true }.exit_code(), 0);
    /// assert_eq!(Outcome::Completed { success: false }.exit_code(), 1);
    /// // `compileall -j -1 DIR` raises this; CPython exits with status 1.
    /// let raised = PyException::new(ExceptionClass::ValueError, "workers must be greater or equal to 0");
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

/// Visits per window: enough that every compile thread has work in a
/// window (1% of its sources stale is still dozens of jobs) and that the
/// pause between windows is rare, small enough that one window's state
/// (about 1 KB per file) is a few MB.
pub(crate) const WINDOW: usize = 8192;

/// Prepares and runs `visits`, `window` at a time, and reports what
/// CPython would have.
pub(crate) fn run_visits(
    ctx: &Context<'_>,
    visits: Vec<Visit>,
    sink: &mut dyn Sink,
    window: usize,
) -> Outcome {
    let mut visits = visits.into_iter();
    let mut progress = Progress::default();
    let mut success = true;
    loop {
        let batch: Vec<Visit> = visits.by_ref().take(window).collect();
        let last = visits.as_slice().is_empty();
        let steps = steps::prepare_all(ctx, batch);
        steps::sweep_leftovers(&steps);
        match run(ctx, steps, sink, &mut progress) {
            Outcome::Completed { success: ok } => success &= ok,
            other => return other,
        }
        if last {
            return Outcome::Completed { success };
        }
    }
}

/// Compiles done, and known of so far, across windows.
#[derive(Debug, Default)]
struct Progress {
    done: u64,
    total: u64,
}

/// Runs one window's `steps`.
fn run(
    ctx: &Context<'_>,
    steps: Vec<Step>,
    sink: &mut dyn Sink,
    progress: &mut Progress,
) -> Outcome {
    let cutoff = steps.iter().position(Step::raises).unwrap_or(steps.len());
    let schedule = Schedule::new(&steps[..cutoff]);
    let board = Board {
        ctx,
        steps: &steps,
        slots: (0..cutoff).map(|_| OnceLock::new()).collect(),
        stop: AtomicBool::new(false),
        finished: Mutex::new(()),
        changed: Condvar::new(),
    };
    let next_pool_job = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        if !schedule.main.is_empty() {
            scope.spawn(|| board.run_in_order(&schedule.main));
        }
        // A backend worker costs a process start; a handful of jobs is done
        // sooner by the workers already running.
        let pool = &schedule.pool;
        let pool_threads = ctx.threads.min((pool.len() / 16).max(1)).min(pool.len());
        for _ in 0..pool_threads {
            scope.spawn(|| board.run_any(pool, &next_pool_job));
        }
        let outcome = board.emit(&schedule, sink, progress);
        board.stop.store(true, Ordering::SeqCst);
        board.changed.notify_all();
        if outcome == Outcome::Interrupted {
            ctx.compiler.cancel();
        }
        outcome
    })
}

/// One unit of work for the compile threads.
struct Job {
    index: usize,
    /// For a repeated visit: the step of the previous visit of the same
    /// source, which must be finished first.
    after: Option<usize>,
}

/// What a step asks of the compile threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Work {
    /// Nothing: its output is known once prepared.
    None,
    /// Compile it.
    Compile,
    /// Prepare it again once the earlier visit of the same source is
    /// done, then compile what that finds stale; the result carries the
    /// output of that second preparation.
    Revisit,
}

/// The jobs of the steps before the cut-off, in CPython's order.
struct Schedule {
    /// Jobs of CPython's main process, run one at a time in this order.
    main: Vec<Job>,
    /// Jobs of CPython's pool processes, run on several threads.
    pool: Vec<Job>,
    /// Per step.
    work: Vec<Work>,
}

impl Schedule {
    fn new(steps: &[Step]) -> Schedule {
        let mut schedule = Schedule {
            main: Vec::new(),
            pool: Vec::new(),
            work: vec![Work::None; steps.len()],
        };
        let mut last_visit = HashMap::new();
        for (index, step) in steps.iter().enumerate() {
            let Step::File(prepared) = step else { continue };
            if !matches!(prepared.decision, Decision::Compile { .. }) {
                continue;
            }
            let after = prepared
                .identity
                .and_then(|id| last_visit.insert(id, index));
            schedule.work[index] = match after {
                None => Work::Compile,
                Some(_) => Work::Revisit,
            };
            let job = Job { index, after };
            match prepared.source.process {
                CompilerProcess::Main => schedule.main.push(job),
                CompilerProcess::PoolWorker => schedule.pool.push(job),
            }
        }
        schedule
    }

    fn jobs(&self) -> u64 {
        (self.main.len() + self.pool.len()) as u64
    }
}

/// What the compile threads and the printing thread share.
struct Board<'r, 'c> {
    ctx: &'r Context<'c>,
    steps: &'r [Step],
    /// Per step before the cut-off: the result of its job, once done.
    slots: Vec<OnceLock<Executed>>,
    /// Set when printing ended: the compile threads stop.
    stop: AtomicBool,
    finished: Mutex<()>,
    /// Signalled when a job finished or the run stops.
    changed: Condvar,
}

impl Board<'_, '_> {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::SeqCst) && !self.ctx.is_interrupted()
    }

    /// The main-process lane: each job in turn.
    fn run_in_order(&self, jobs: &[Job]) {
        for job in jobs {
            if !self.running() || !self.run_job(job) {
                break;
            }
        }
    }

    /// A pool thread: the next job nobody took yet, until none is left.
    fn run_any(&self, jobs: &[Job], next: &AtomicUsize) {
        while self.running() {
            let Some(job) = jobs.get(next.fetch_add(1, Ordering::SeqCst)) else {
                break;
            };
            if !self.run_job(job) {
                break;
            }
        }
    }

    /// Runs one job; false if the run stopped while it waited.
    fn run_job(&self, job: &Job) -> bool {
        if let Some(after) = job.after
            && self.wait(after).is_none()
        {
            return false;
        }
        let prepared = self.prepared(job.index);
        let executed = match job.after {
            None => execute::execute(self.ctx, prepared),
            Some(_) => {
                // Look again now that the earlier visit wrote its pycs.
                let again = prepare::prepare(self.ctx, prepared.source.again());
                let mut executed = execute::execute(self.ctx, &again);
                executed.chunks.splice(0..0, again.chunks);
                executed
            }
        };
        let _ = self.slots[job.index].set(executed);
        let _guard = self.finished.lock().unwrap();
        self.changed.notify_all();
        true
    }

    fn prepared(&self, index: usize) -> &Prepared {
        match &self.steps[index] {
            Step::File(prepared) => prepared,
            _ => unreachable!("jobs are file steps"),
        }
    }

    /// Waits for a job's result; `None` if the run was interrupted or
    /// stopped first.
    fn wait(&self, index: usize) -> Option<&Executed> {
        let slot = &self.slots[index];
        let mut guard = self.finished.lock().unwrap();
        loop {
            if let Some(executed) = slot.get() {
                return Some(executed);
            }
            if !self.running() {
                return None;
            }
            guard = self
                .changed
                .wait_timeout(guard, Duration::from_millis(50))
                .unwrap()
                .0;
        }
    }

    /// Prints every step before the cut-off in order, waiting for compile
    /// results as needed, then what the cut-off step raises.
    fn emit(&self, schedule: &Schedule, sink: &mut dyn Sink, progress: &mut Progress) -> Outcome {
        let mut success = true;
        progress.total += schedule.jobs();
        sink.progress(progress.done, progress.total);
        for (index, work) in schedule.work.iter().enumerate() {
            if self.ctx.is_interrupted() {
                return Outcome::Interrupted;
            }
            let prepared = match &self.steps[index] {
                Step::Line(chunk) => {
                    sink.write(chunk);
                    continue;
                }
                Step::File(prepared) => prepared,
                Step::Raise(_) => unreachable!("raising steps come at the cut-off"),
            };
            if *work != Work::Revisit {
                prepared.chunks.iter().for_each(|c| sink.write(c));
            }
            if *work == Work::None {
                report_skip(prepared, sink);
                continue;
            }
            let Some(executed) = self.wait(index) else {
                return Outcome::Interrupted;
            };
            executed.chunks.iter().for_each(|c| sink.write(c));
            sink.file(&FileOutcome {
                source: &prepared.source.fullname,
                status: &executed.status,
                pycs: &prepared.cfiles,
                elapsed: executed.elapsed,
                compiled_by: executed.compiled_by.as_ref(),
                cache: executed.cache,
            });
            success &= executed.success;
            progress.done += 1;
            sink.progress(progress.done, progress.total);
        }
        match self.steps.get(schedule.work.len()) {
            None => Outcome::Completed { success },
            Some(step) => raised(step, sink),
        }
    }
}

/// A prepared step without a job: compile_file returned at once.
fn report_skip(prepared: &Prepared, sink: &mut dyn Sink) {
    if let Decision::Skip(reason) = prepared.decision {
        sink.file(&FileOutcome {
            source: &prepared.source.fullname,
            status: &FileStatus::Skipped(reason),
            pycs: &prepared.cfiles,
            elapsed: Duration::ZERO,
            compiled_by: None,
            cache: None,
        });
    }
}

/// The cut-off step: what it prints, and the exception it raises.
fn raised(step: &Step, sink: &mut dyn Sink) -> Outcome {
    match step {
        Step::Raise(exc) => Outcome::Raised(exc.clone()),
        Step::File(prepared) => {
            prepared.chunks.iter().for_each(|c| sink.write(c));
            match &prepared.decision {
                Decision::Raise(exc) => Outcome::Raised(exc.clone()),
                _ => unreachable!("the cut-off step raises"),
            }
        }
        Step::Line(_) => unreachable!("the cut-off step raises"),
    }
}

#[cfg(test)]
mod tests;
