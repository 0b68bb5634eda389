//! Kills workers whose request runs past its deadline.
//!
//! One thread sleeps until the earliest armed deadline. Killing the worker
//! closes its pipes, which wakes the thread blocked reading its answer; the
//! [`Armed`] guard then tells that thread the worker was killed on purpose.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub(super) struct Watchdog {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    next_id: u64,
    armed: Vec<Entry>,
    shutdown: bool,
}

struct Entry {
    id: u64,
    pid: u32,
    deadline: Instant,
    fired: Arc<AtomicBool>,
}

/// A deadline for one request; disarmed when dropped.
pub(super) struct Armed<'a> {
    shared: &'a Shared,
    id: u64,
    fired: Arc<AtomicBool>,
}

impl Armed<'_> {
    /// Whether the watchdog killed the worker.
    pub(super) fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock().unwrap();
        state.armed.retain(|e| e.id != self.id);
    }
}

impl Watchdog {
    pub(super) fn start() -> Watchdog {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        });
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("worker-watchdog".into())
                .spawn(move || watch(&shared))
                .expect("spawning the watchdog thread")
        };
        Watchdog {
            shared,
            thread: Some(thread),
        }
    }

    /// Kills process `pid` if the returned guard lives longer than `limit`.
    pub(super) fn arm(&self, pid: u32, limit: Duration) -> Armed<'_> {
        let fired = Arc::new(AtomicBool::new(false));
        let mut state = self.shared.state.lock().unwrap();
        state.next_id += 1;
        let id = state.next_id;
        state.armed.push(Entry {
            id,
            pid,
            deadline: Instant::now() + limit,
            fired: Arc::clone(&fired),
        });
        drop(state);
        self.shared.changed.notify_one();
        Armed {
            shared: &self.shared,
            id,
            fired,
        }
    }
}

fn watch(shared: &Shared) {
    let mut state = shared.state.lock().unwrap();
    loop {
        if state.shutdown {
            return;
        }
        let now = Instant::now();
        for entry in state.armed.iter().filter(|e| e.deadline <= now) {
            if !entry.fired.swap(true, Ordering::SeqCst) {
                // SAFETY: kill(2) takes plain integers and touches no
                // memory of ours. The pid is still the worker's: the child
                // is not reaped while armed (its owner waits on it only
                // after disarming), so the pid cannot have been reused.
                unsafe { libc::kill(entry.pid as libc::pid_t, libc::SIGKILL) };
            }
        }
        let next = state
            .armed
            .iter()
            .filter(|e| !e.fired.load(Ordering::SeqCst))
            .map(|e| e.deadline)
            .min();
        state = match next {
            Some(deadline) => {
                let wait = deadline.saturating_duration_since(Instant::now());
                shared.changed.wait_timeout(state, wait).unwrap().0
            }
            None => shared.changed.wait(state).unwrap(),
        };
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.state.lock().unwrap().shutdown = true;
        self.shared.changed.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
