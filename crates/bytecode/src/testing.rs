//! A [`Compiler`] for tests and examples: no interpreter, canned answers,
//! and a log of what it was asked (enabled by the `testing` feature).
//!
//! [`CannedCompiler`] answers every optimization level with
//! `marshal.dumps(None)` (the one byte `N`), fails the sources it was told
//! to fail with the message py_compile would print, and can be told to
//! take its time over some sources, so that tests of the callers' ordering
//! rules see compiles finish out of order.
//!
//! ```
//! use std::path::Path;
//! use std::time::Duration;
//! use bytecode::testing::{CannedCompiler, target};
//! use bytecode::{CompileRequest, Compiler, CompilerProcess};
//! use pyc_format::PythonVersion;
//!
//! let compiler = CannedCompiler::new(target(PythonVersion::new(3, 14)))
//!     .failing("bad.py", "  File \"bad.py\", line 1\nSyntaxError: invalid syntax\n")
//!     .slow("big.py", Duration::from_millis(5));
//! let request = |name: &'static str| CompileRequest {
//!     source: b"x = 1\n",
//!     filename: Path::new(name),
//!     dfile: None,
//!     optimizations: &[0, 1],
//!     process: CompilerProcess::Main,
//! };
//! let good = compiler.compile(&request("good.py"))?;
//! assert_eq!(good.levels, [Ok(b"N".to_vec()), Ok(b"N".to_vec())]);
//! let bad = compiler.compile(&request("bad.py"))?;
//! assert_eq!(bad.levels.len(), 1); // stopped at the first failure, as py_compile does
//! assert!(bad.levels[0].is_err());
//! compiler.compile(&request("big.py"))?;
//! let names: Vec<_> = compiler.calls().into_iter().map(|call| call.filename).collect();
//! assert_eq!(names, [Path::new("good.py"), Path::new("bad.py"), Path::new("big.py")]);
//! # Ok::<(), bytecode::BackendError>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use pyc_format::PythonVersion;

use crate::{
    BackendError, CompileError, CompileOutput, CompileRequest, CompiledBy, Compiler, Target,
};

/// `marshal.dumps(None)`: what [`CannedCompiler`] answers for every level.
pub const MARSHALLED_NONE: &[u8] = b"N";

/// The [`Target`] of a CPython release line, from the `pyc-format` tables:
/// its magic number and cache tag, no `-O`, no pycache prefix, and a UTF-8
/// stdout with the `strict` handler.
///
/// ```
/// use bytecode::testing::target;
/// use pyc_format::PythonVersion;
///
/// let target = target(PythonVersion::new(3, 13));
/// assert_eq!(target.cache_tag.as_deref(), Some("cpython-313"));
/// assert_eq!(target.full_version, "3.13.0");
/// ```
///
/// # Panics
///
/// If `pyc-format` does not know the release line.
pub fn target(version: PythonVersion) -> Target {
    let info = version.info().expect("a release line pyc-format knows");
    Target {
        version,
        full_version: format!("{version}.0"),
        build: format!("{version}.0 (canned)"),
        magic: info.magic_bytes(),
        cache_tag: info.cache_tag.map(str::to_owned),
        optimize_flag: 0,
        pycache_prefix: None,
        stdout_encoding: Some(pystr::TextEncoding {
            codec: pystr::Codec::Utf8,
            errors: pystr::ErrorHandler::Strict,
        }),
    }
}

/// One request [`CannedCompiler`] received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// [`CompileRequest::filename`].
    pub filename: PathBuf,
    /// [`CompileRequest::dfile`].
    pub dfile: Option<PathBuf>,
    /// [`CompileRequest::optimizations`].
    pub optimizations: Vec<i32>,
    /// [`CompileRequest::process`].
    pub process: crate::CompilerProcess,
}

/// A compiler that needs no interpreter; see the [module docs](self).
#[derive(Debug)]
pub struct CannedCompiler {
    target: Target,
    concurrency: usize,
    failures: Vec<(PathBuf, Vec<u8>)>,
    delays: Vec<(PathBuf, Duration)>,
    calls: Mutex<Vec<Call>>,
}

impl CannedCompiler {
    /// A compiler for `target` that compiles every source, one at a time.
    pub fn new(target: Target) -> Self {
        CannedCompiler {
            target,
            concurrency: 1,
            failures: Vec::new(),
            delays: Vec::new(),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// Reports `concurrency` from [`Compiler::max_concurrency`], so that
    /// callers run that many compiles at once.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Fails the source whose `filename` is `filename`, at its first level,
    /// with `message` (py_compile's text, newline included).
    pub fn failing(mut self, filename: impl Into<PathBuf>, message: &str) -> Self {
        self.failures
            .push((filename.into(), message.as_bytes().to_vec()));
        self
    }

    /// Makes the compile of `filename` take at least `delay`.
    pub fn slow(mut self, filename: impl Into<PathBuf>, delay: Duration) -> Self {
        self.delays.push((filename.into(), delay));
        self
    }

    /// Every request so far, in the order they arrived.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("no panics while held").clone()
    }

    fn failure(&self, filename: &Path) -> Option<&[u8]> {
        self.failures
            .iter()
            .find(|(name, _)| name == filename)
            .map(|(_, message)| message.as_slice())
    }
}

impl Compiler for CannedCompiler {
    fn target(&self) -> &Target {
        &self.target
    }

    fn cache_identity(&self) -> Option<String> {
        Some("canned".to_owned())
    }

    fn compile(&self, request: &CompileRequest<'_>) -> Result<CompileOutput, BackendError> {
        self.calls.lock().expect("no panics while held").push(Call {
            filename: request.filename.to_owned(),
            dfile: request.dfile.map(Path::to_owned),
            optimizations: request.optimizations.to_vec(),
            process: request.process,
        });
        if let Some((_, delay)) = self.delays.iter().find(|(n, _)| n == request.filename) {
            std::thread::sleep(*delay);
        }
        let levels = match self.failure(request.filename) {
            Some(message) => vec![Err(CompileError {
                message: message.to_vec(),
            })],
            None => request
                .optimizations
                .iter()
                .map(|_| Ok(MARSHALLED_NONE.to_vec()))
                .collect(),
        };
        Ok(CompileOutput {
            levels,
            warnings: Vec::new(),
            compiled_by: CompiledBy::default(),
            cache: None,
        })
    }

    fn max_concurrency(&self) -> usize {
        self.concurrency
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CompilerProcess;

    #[test]
    fn the_optional_methods_keep_their_defaults() {
        let compiler = CannedCompiler::new(target(PythonVersion::new(3, 14)));
        assert_eq!(compiler.max_concurrency(), 1);
        assert_eq!(compiler.repr("é.py".as_ref()), None);
        compiler.warm_up(CompilerProcess::PoolWorker);
        compiler.cancel();
        assert!(compiler.calls().is_empty());
    }

    #[test]
    fn targets_follow_the_tables() {
        let target = target(PythonVersion::new(3, 11));
        assert_eq!(target.magic, pyc_format::Magic::from_number(3495));
        assert_eq!(target.cache_tag.as_deref(), Some("cpython-311"));
    }
}
