//! Ctrl-C: the one place this crate needs `unsafe` (installing a signal
//! handler through libc).

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The flag the handler sets: the session's, once installed.
static INTERRUPTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();

extern "C" fn on_sigint(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    if let Some(flag) = INTERRUPTED.get() {
        flag.store(true, Ordering::SeqCst);
    }
}

/// Makes Ctrl-C set `flag` instead of killing the process: the run stops
/// at the next file boundary, kills the workers, and prints
/// `[interrupted]` as CPython does. The first flag installed stays for the
/// life of the process.
pub(crate) fn set_on_ctrl_c(flag: Arc<AtomicBool>) {
    let _ = INTERRUPTED.set(flag);
    // SAFETY: `on_sigint` is an `extern "C" fn(c_int)`, the handler type
    // signal(2) expects, and it only reads a `OnceLock` that is already
    // set and stores to an atomic that lives as long as the process.
    unsafe {
        libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t);
    }
}
