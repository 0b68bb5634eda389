//! What a run reports, in the order CPython prints it: the output
//! ([`Chunk`]s for stdout and stderr) and what happened to each path
//! ([`FileOutcome`]), delivered to a [`Sink`].

use bytecode::{CacheOutcome, CompiledBy};
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// Why compile_file did nothing with a path.
///
/// ```
/// use std::path::Path;
/// use bytecode::testing::{CannedCompiler, target};
/// use compileall_cli::{Chunk, Exclude, FileOutcome, FileStatus, Options, PyRegex, Session, Sink, SkipReason};
///
/// struct LastStatus(Option<FileStatus>);
/// impl Sink for LastStatus {
///     fn write(&mut self, _chunk: &Chunk) {}
///     fn file(&mut self, outcome: &FileOutcome<'_>) {
///         self.0 = Some(outcome.status.clone());
///     }
/// }
///
/// let dir = tempfile::tempdir()?;
/// let test_a = dir.path().join("test_a.py");
/// std::fs::write(&test_a, "x = 1\n")?;
/// let compiler = CannedCompiler::new(target(pyc_format::PythonVersion::new(3, 14)));
/// let session = Session::new(&compiler)?;
/// let status = |path: &Path, options: &Options| {
///     let mut sink = LastStatus(None);
///     session.compile_file(path, options, &mut sink);
///     sink.0.unwrap()
/// };
/// // -x test_
/// let exclude = Options { rx: Some(Exclude::Pattern(PyRegex::new("test_")?)), ..Options::default() };
/// assert_eq!(status(&test_a, &exclude), FileStatus::Skipped(SkipReason::Excluded));
/// // A path that is not there.
/// let missing = dir.path().join("missing.py");
/// assert_eq!(status(&missing, &Options::default()), FileStatus::Skipped(SkipReason::NotAFile));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// `-x` matched.
    Excluded,
    /// `-e`: a symlink leading outside the allowed folder.
    SymlinkOutside,
    /// Not a regular file (a FIFO, a dangling symlink, a missing path).
    NotAFile,
    /// A file not ending in `.py`.
    NotPython,
    /// Every pyc already matches the source's mtime.
    UpToDate,
}

impl SkipReason {
    /// A stable name for reports (the `reason` of a skipped file in
    /// `--report json`).
    ///
    /// ```
    /// use compileall_cli::SkipReason;
    /// assert_eq!(SkipReason::Excluded.as_str(), "excluded");
    /// assert_eq!(SkipReason::SymlinkOutside.as_str(), "symlink_outside");
    /// assert_eq!(SkipReason::NotAFile.as_str(), "not_a_file");
    /// assert_eq!(SkipReason::NotPython.as_str(), "not_python");
    /// assert_eq!(SkipReason::UpToDate.as_str(), "up_to_date");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Excluded => "excluded",
            SkipReason::SymlinkOutside => "symlink_outside",
            SkipReason::NotAFile => "not_a_file",
            SkipReason::NotPython => "not_python",
            SkipReason::UpToDate => "up_to_date",
        }
    }
}

/// What happened to one path, for reports.
///
/// A sink sees one status per path compile_file is called for, in
/// compileall's order; a second run finds the pyc up to date:
///
/// ```
/// use std::path::PathBuf;
/// use bytecode::testing::{CannedCompiler, target};
/// use compileall_cli::{Chunk, FileOutcome, FileStatus, Options, Session, Sink, SkipReason};
///
/// #[derive(Default)]
/// struct Statuses(Vec<(PathBuf, FileStatus)>);
/// impl Sink for Statuses {
///     fn write(&mut self, _chunk: &Chunk) {}
///     fn file(&mut self, outcome: &FileOutcome<'_>) {
///         self.0.push((outcome.source.to_owned(), outcome.status.clone()));
///     }
/// }
///
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("a.py"), "x = 1\n")?;
/// std::fs::write(dir.path().join("notes.txt"), "")?;
/// let compiler = CannedCompiler::new(target(pyc_format::PythonVersion::new(3, 14)));
/// let session = Session::new(&compiler)?;
/// for first in [FileStatus::Compiled, FileStatus::Skipped(SkipReason::UpToDate)] {
///     let mut statuses = Statuses::default();
///     session.compile_dir(dir.path(), &Options::default(), &mut statuses);
///     assert_eq!(statuses.0, [
///         (dir.path().join("a.py"), first),
///         (dir.path().join("notes.txt"), FileStatus::Skipped(SkipReason::NotPython)),
///     ]);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// compile_file returned without compiling.
    Skipped(SkipReason),
    /// Every pyc was written.
    Compiled,
    /// Compilation or writing failed; the message compileall prints.
    Failed(String),
    /// The run was interrupted while this file was under way.
    Interrupted,
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
    /// The backend that compiled it, where one was asked to.
    pub compiled_by: Option<&'a CompiledBy>,
    /// What the bytecode cache did for it, when there is one.
    pub cache: Option<CacheOutcome>,
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
