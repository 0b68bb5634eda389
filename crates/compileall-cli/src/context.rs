//! [`Context`]: what every step of one run shares (the backend, the
//! target's facts, the options), and the few things only it can answer
//! (`repr()` as the target prints it, text as the target's `print()`
//! encodes it).

use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use bytecode::{Compiler, CompilerProcess, Target};
use pycache_paths::CacheLayout;

use crate::options::{InvalidationMode, Options};
use crate::output::Chunk;

/// Why a run is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Compile what is stale.
    Compile,
    /// Only look (`--check`): the backend is not warmed up.
    Check,
}

/// Everything a step needs to know about the run.
pub(crate) struct Context<'c> {
    pub compiler: &'c dyn Compiler,
    pub target: &'c Target,
    pub layout: CacheLayout,
    /// `os.getcwd()` when the run started.
    pub cwd: &'c Path,
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
    warmed: [AtomicBool; 2],
}

/// A slot per kind of compiling process, for per-kind flags.
pub(crate) fn process_index(process: CompilerProcess) -> usize {
    match process {
        CompilerProcess::Main => 0,
        CompilerProcess::PoolWorker => 1,
    }
}

impl<'c> Context<'c> {
    /// The run's shared facts.
    pub fn new(
        compiler: &'c dyn Compiler,
        cwd: &'c Path,
        options: &'c Options,
        interrupted: &'c AtomicBool,
        purpose: Purpose,
    ) -> Self {
        let target = compiler.target();
        let warmed = purpose == Purpose::Check;
        Context {
            compiler,
            target,
            layout: CacheLayout {
                version: target.version,
                cache_tag: target.cache_tag.clone(),
                optimize_flag: target.optimize_flag,
                pycache_prefix: target.pycache_prefix.clone(),
            },
            cwd,
            options,
            levels: options.levels(),
            invalidation: options
                .invalidation_mode
                .unwrap_or_else(InvalidationMode::from_environment),
            interrupted,
            // Two threads per concurrent compile: while one waits for the
            // backend, the other reads the next source or writes the last
            // pyc, so the backend never idles on our I/O.
            threads: 2 * compiler.max_concurrency().max(1),
            // A codec we do not implement: the text's own bytes, as before
            // the target's encoding was known.
            stdout: target.stdout_encoding.unwrap_or(pystr::TextEncoding::FS),
            warmed: [AtomicBool::new(warmed), AtomicBool::new(warmed)],
        }
    }

    /// `repr(path)` as the target interpreter prints it.
    pub fn repr(&self, path: &Path) -> String {
        let bytes = path.as_os_str().as_bytes();
        // Printable ASCII is printed the same by every interpreter.
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

    /// Whether Ctrl-C stopped the run.
    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}
