//! Where the run's messages go, in the order CPython prints them.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::file::{FileStatus, SkipReason};

/// Which stream a piece of output belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Progress and error lines (`print()` in compileall.py).
    Stdout,
    /// Compiler warnings and fatal errors.
    Stderr,
}

/// A piece of output: bytes for one stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// The stream.
    pub stream: Stream,
    /// The bytes, newlines included.
    pub bytes: Vec<u8>,
}

impl Chunk {
    /// A line for stdout; the newline is added.
    ///
    /// ```
    /// use compileall_cli::{Chunk, Stream};
    /// let chunk = Chunk::line("Listing 'demo'...");
    /// assert_eq!((chunk.stream, chunk.bytes.as_slice()), (Stream::Stdout, &b"Listing 'demo'...\n"[..]));
    /// ```
    pub fn line(text: impl Into<Vec<u8>>) -> Chunk {
        let mut bytes = text.into();
        bytes.push(b'\n');
        Chunk {
            stream: Stream::Stdout,
            bytes,
        }
    }

    /// Bytes for stderr, as they are.
    ///
    /// ```
    /// use compileall_cli::{Chunk, Stream};
    /// let chunk = Chunk::stderr("no newline added");
    /// assert_eq!((chunk.stream, chunk.bytes.as_slice()), (Stream::Stderr, &b"no newline added"[..]));
    /// ```
    pub fn stderr(bytes: impl Into<Vec<u8>>) -> Chunk {
        Chunk {
            stream: Stream::Stderr,
            bytes: bytes.into(),
        }
    }
}

/// What happened to one path compile_file was called for.
#[derive(Clone, Copy, Debug)]
pub struct FileOutcome<'a> {
    /// The path as compileall names it.
    pub source: &'a Path,
    /// What happened.
    pub status: &'a FileStatus,
    /// Its bytecode paths (empty where it is not a Python source).
    pub pycs: &'a [(i32, PathBuf)],
    /// Time spent compiling and writing it.
    pub elapsed: Duration,
}

/// Receives the run's output in order, and its progress.
///
/// Only [`Sink::write`] is required. A sink that keeps the last line of
/// each failure instead of printing:
///
/// ```no_run
/// use std::path::Path;
/// use bytecode::cpython::{CpythonPool, PoolOptions};
/// use compileall_cli::{Chunk, FileOutcome, FileStatus, Options, Session, Sink};
///
/// #[derive(Default)]
/// struct Failures(Vec<String>);
///
/// impl Sink for Failures {
///     fn write(&mut self, _chunk: &Chunk) {}
///     fn file(&mut self, outcome: &FileOutcome<'_>) {
///         if let FileStatus::Failed(message) = outcome.status {
///             let last = message.lines().last().unwrap_or_default();
///             self.0.push(format!("{}: {last}", outcome.source.display()));
///         }
///     }
/// }
///
/// // demo/ holds good.py, bad.py (a syntax error), data.csv and pkg/__init__.py.
/// let pool = CpythonPool::start(Path::new("python3"), PoolOptions::default())?;
/// let mut failures = Failures::default();
/// Session::new(&pool)?.compile_dir(Path::new("demo"), &Options::default(), &mut failures);
/// assert_eq!(failures.0, ["demo/bad.py: SyntaxError: invalid syntax"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Sink {
    /// One piece of output.
    fn write(&mut self, chunk: &Chunk);

    /// `done` of `total` sources have been compiled.
    fn progress(&mut self, _done: u64, _total: u64) {}

    /// One path's outcome, in the order compileall visits paths (after
    /// its output).
    fn file(&mut self, _outcome: &FileOutcome<'_>) {}
}

/// A sink that keeps everything, for callers that want the text.
#[derive(Clone, Debug, Default)]
pub struct Captured {
    /// Every chunk, in order.
    pub chunks: Vec<Chunk>,
}

impl Captured {
    /// The concatenated bytes of one stream.
    ///
    /// ```
    /// use compileall_cli::{Captured, Chunk, Sink, Stream};
    /// let mut output = Captured::default();
    /// output.write(&Chunk::line("Listing 'demo'..."));
    /// output.write(&Chunk::stderr("a warning\n"));
    /// output.write(&Chunk::line("Compiling 'demo/good.py'..."));
    /// assert_eq!(output.stream(Stream::Stdout), b"Listing 'demo'...\nCompiling 'demo/good.py'...\n");
    /// assert_eq!(output.stream(Stream::Stderr), b"a warning\n");
    /// ```
    pub fn stream(&self, stream: Stream) -> Vec<u8> {
        self.chunks
            .iter()
            .filter(|c| c.stream == stream)
            .flat_map(|c| c.bytes.iter().copied())
            .collect()
    }
}

impl Sink for Captured {
    fn write(&mut self, chunk: &Chunk) {
        self.chunks.push(chunk.clone());
    }
}
