//! A drop-in replacement for `python -m compileall`, as a library and as
//! the `compileall` binary.
//!
//! The library mirrors compileall's functions: [`Session::compile_dir`],
//! [`Session::compile_file`], [`Session::compile_path`], and
//! [`Session::compile_dests`] (the command line's loop over `FILE|DIR`
//! arguments). They produce the same files, bytes and messages as CPython's,
//! for any [`bytecode::Compiler`]; the messages go to a [`Sink`].
//!
//! ```no_run
//! use std::path::Path;
//! use bytecode::cpython::{CpythonPool, PoolOptions};
//! use compileall_cli::{Captured, Options, Outcome, Quiet, Session};
//!
//! let pool = CpythonPool::start(Path::new("python3"), PoolOptions { max_workers: 4, ..Default::default() })?;
//! let session = Session::new(&pool)?;
//! let mut output = Captured::default();
//! let options = Options { quiet: Quiet::ErrorsOnly, workers: 4, ..Options::default() };
//! let outcome = session.compile_dir(Path::new("src"), &options, &mut output);
//! assert!(matches!(outcome, Outcome::Completed { success: true }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Any [`bytecode::Compiler`] works; `bytecode::testing::CannedCompiler`
//! needs no interpreter (its pycs hold `marshal.dumps(None)`), which is
//! what this crate's tests and examples use:
//!
//! ```
//! use bytecode::testing::{CannedCompiler, target};
//! use compileall_cli::{Captured, Options, Outcome, Session, Stream};
//!
//! let tmp = tempfile::tempdir()?;
//! std::fs::write(tmp.path().join("m.py"), "x = 1\n")?;
//! let compiler = CannedCompiler::new(target(pyc_format::PythonVersion::new(3, 14)));
//! let mut output = Captured::default();
//! let outcome = Session::new(&compiler)?.compile_dir(tmp.path(), &Options::default(), &mut output);
//! assert_eq!(outcome, Outcome::Completed { success: true });
//! let stdout = String::from_utf8(output.stream(Stream::Stdout)).unwrap();
//! assert!(stdout.starts_with("Listing '") && stdout.ends_with("m.py'...\n"));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! How it is fast without changing a byte of output: the tree is walked and
//! every source checked for staleness in parallel, stale sources are
//! compiled on several threads, and the output of each step is printed in
//! exactly the order a sequential `python -m compileall -j 1` prints it
//! (see `docs/architecture.md`, which also maps this crate's modules).
//!
//! The binary is this library's [`cli`] (the command line, parsed into an
//! [`cli::Invocation`]) handed to [`driver`] (one run per target
//! interpreter, each with the compiler [`backend`] builds for it).

#![deny(unsafe_code)]

// The modules in layers, lowest first: a module uses only modules of the
// layers above its own (`tests/shape.rs` checks it). `docs/architecture.md`
// says what each one owns.

// Python's rules that the rest builds on.
mod pyerror;
mod pyint;
mod pyos;
mod pyregex;

// The vocabulary of a run: its arguments, its output, what it visits.
mod options;
mod output;
mod visit;

// What one run shares; pyc freshness; the directory walk.
mod context;
mod freshness;
mod walk;

// Before anything compiles: the plan, and compile_file's first half.
mod plan;
mod prepare;

// compile_file's second half; the prepare phase of a whole run.
mod execute;
mod steps;

// Running the steps in CPython's order.
mod engine;

// Judging the steps instead (`--check`).
pub mod check;

// The library's front rooms: sessions, reports, `inspect`.
pub mod inspect;
pub mod report;
mod session;

// The binary's pieces: the command line, interpreters, Ctrl-C, the terminal.
pub mod cli;
mod discover;
mod interpreters;
mod interrupt;
mod terminal;

// The compiler for a target, from the command line, and the bytecode
// cache in front of it.
pub mod backend;
mod cached;

// A whole invocation of the binary.
pub mod driver;

pub use engine::Outcome;
pub use options::{Exclude, InvalidationMode, Options, Quiet};
pub use output::{Captured, Chunk, FileOutcome, FileStatus, Sink, SkipReason, Stream};
pub use plan::{DEFAULT_RECURSION_LIMIT, Plan};
pub use pyerror::{ExceptionClass, PyException};
pub use pyint::parse_int;
pub use pyregex::{PatternError, PyRegex};
pub use session::Session;
