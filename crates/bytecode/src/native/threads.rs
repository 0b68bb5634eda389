//! The threads the native backend compiles on: long-lived, each with a
//! large stack, so that a deep syntax tree (which the parser, the compiler
//! and dropping the tree all walk recursively) cannot overflow them, and so
//! that no source pays for starting a thread. The callers' threads hand
//! each compile over and wait for its bytes.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use super::compile::{FallbackReason, compile_text, quiet_panics};
use super::{convert, verify};

/// Stack of each compile thread. Reserved, not committed: only the pages a
/// deep tree touches are ever used.
const STACK_BYTES: usize = 512 << 20;

/// One source at one optimization level.
pub struct Unit {
    /// The decoded source.
    pub text: Arc<str>,
    /// The file name for messages (lossy).
    pub display_name: Arc<str>,
    /// The file name compiled into the code objects, as code points.
    pub filename: Arc<[u32]>,
    /// 0, 1 or 2.
    pub optimize: u8,
}

struct Job {
    unit: Unit,
    reply: Sender<Result<Vec<u8>, FallbackReason>>,
}

/// A fixed set of compile threads.
pub struct CompileThreads {
    jobs: Option<Sender<Job>>,
    handles: Vec<JoinHandle<()>>,
}

impl CompileThreads {
    /// Starts `count` threads (at least one, unless the system refuses:
    /// then every compile falls back).
    pub fn start(count: usize) -> CompileThreads {
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        let handles = (0..count.max(1))
            .filter_map(|index| {
                let queue = queue.clone();
                std::thread::Builder::new()
                    .name(format!("native-compile-{index}"))
                    .stack_size(STACK_BYTES)
                    .spawn(move || serve(&queue))
                    .ok()
            })
            .collect();
        CompileThreads {
            jobs: Some(jobs),
            handles,
        }
    }

    /// Compiles and marshals `unit` on one of the threads.
    pub fn compile(&self, unit: Unit) -> Result<Vec<u8>, FallbackReason> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        let jobs = self.jobs.as_ref().expect("open until dropped");
        if self.handles.is_empty() || jobs.send(Job { unit, reply }).is_err() {
            return Err(FallbackReason::Panic);
        }
        answer.recv().unwrap_or(Err(FallbackReason::Panic))
    }
}

impl Drop for CompileThreads {
    fn drop(&mut self) {
        // Closing the queue ends each thread's loop.
        self.jobs = None;
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}

fn serve(queue: &Receiver<Job>) {
    for Job { unit, reply } in queue {
        let result = quiet_panics::run(|| {
            let compiled = compile_text(&unit.text, &unit.display_name, unit.optimize)?;
            let module = convert::module(&compiled, &unit.filename);
            verify::check(&module).map_err(FallbackReason::Unfolded)?;
            Ok(pymarshal::write(&module))
        });
        let _ = reply.send(result);
    }
}
