//! Running a list of steps fast while printing exactly what a sequential
//! CPython run prints.
//!
//! The steps arrive fully prepared (walked, checked for staleness, in
//! CPython's order). Compile jobs go to a fixed number of threads, each of
//! which blocks on the backend; the calling thread prints every step's
//! output in order as soon as it is complete. Two situations break plain
//! parallelism and are handled here:
//!
//! - a step where CPython raises: nothing after it may happen, so jobs are
//!   only taken from before the first such step;
//! - the same source reached twice (`compileall pkg pkg`): the second visit
//!   must see the pycs the first one wrote, so it is prepared again, in
//!   order, once the first has finished.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use bytecode::{Compiler, Target};
use pycache_paths::CacheLayout;

use crate::file::{self, Decision, Executed, Prepared};
use crate::output::{Chunk, Sink};
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

/// Runs `steps` and reports what CPython would have.
pub(crate) fn run(ctx: &Context<'_>, steps: Vec<Step>, sink: &mut dyn Sink) -> Outcome {
    let cutoff = steps.iter().position(Step::raises).unwrap_or(steps.len());

    // Compile jobs, and the steps that must wait for an earlier visit of
    // the same source.
    let mut jobs = Vec::new();
    let mut deferred = vec![false; cutoff];
    let mut compiling = HashSet::new();
    for (index, step) in steps[..cutoff].iter().enumerate() {
        let Step::File(prepared) = step else { continue };
        if !matches!(prepared.decision, Decision::Compile(_)) {
            continue;
        }
        match prepared.identity {
            Some(identity) if !compiling.insert(identity) => deferred[index] = true,
            _ => jobs.push(index),
        }
    }
    let total = (jobs.len() + deferred.iter().filter(|&&d| d).count()) as u64;

    let slots: Vec<OnceLock<Executed>> = (0..cutoff).map(|_| OnceLock::new()).collect();
    let next_job = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let finished = (Mutex::new(()), Condvar::new());

    std::thread::scope(|scope| {
        for _ in 0..ctx.threads.min(jobs.len()) {
            scope.spawn(|| {
                loop {
                    if stop.load(Ordering::SeqCst) || ctx.interrupted.load(Ordering::SeqCst) {
                        break;
                    }
                    let Some(&index) = jobs.get(next_job.fetch_add(1, Ordering::SeqCst)) else {
                        break;
                    };
                    let Step::File(prepared) = &steps[index] else {
                        unreachable!("jobs are file steps")
                    };
                    let _ = slots[index].set(file::execute(ctx, prepared));
                    let _guard = finished.0.lock().unwrap();
                    finished.1.notify_all();
                }
            });
        }

        let outcome = emit(
            ctx, &steps, cutoff, &deferred, &slots, &finished, total, sink,
        );
        stop.store(true, Ordering::SeqCst);
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
    deferred: &[bool],
    slots: &[OnceLock<Executed>],
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
        let executed = if deferred[index] {
            // Look again now that the earlier visit has written its pycs.
            let again = file::prepare(ctx, prepared.fullname.clone(), &prepared.rewrite, None);
            again.chunks.iter().for_each(|c| sink.write(c));
            match &again.decision {
                Decision::Raise(exc) => return Outcome::Raised(exc.clone()),
                Decision::Skip => None,
                Decision::Compile(_) => Some(Cow::Owned(file::execute(ctx, &again))),
            }
        } else {
            prepared.chunks.iter().for_each(|c| sink.write(c));
            match prepared.decision {
                Decision::Compile(_) => match wait(ctx, &slots[index], finished) {
                    Some(executed) => Some(Cow::Borrowed(executed)),
                    None => return Outcome::Interrupted,
                },
                _ => None,
            }
        };
        if let Some(executed) = executed {
            executed.chunks.iter().for_each(|c| sink.write(c));
            success &= executed.success;
            done += 1;
            sink.progress(done, total);
            if ctx.interrupted.load(Ordering::SeqCst) {
                return Outcome::Interrupted;
            }
        }
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

/// Waits for a compile result; `None` if the run was interrupted first.
fn wait<'a>(
    ctx: &Context<'_>,
    slot: &'a OnceLock<Executed>,
    finished: &(Mutex<()>, Condvar),
) -> Option<&'a Executed> {
    let mut guard = finished.0.lock().unwrap();
    loop {
        if let Some(executed) = slot.get() {
            return Some(executed);
        }
        if ctx.interrupted.load(Ordering::SeqCst) {
            return None;
        }
        guard = finished
            .1
            .wait_timeout(guard, Duration::from_millis(50))
            .unwrap()
            .0;
    }
}
