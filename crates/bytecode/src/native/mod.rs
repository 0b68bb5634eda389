//! The native backend: compiles for CPython 3.14 in this process, with
//! RustPython's ruff-based parser and `rustpython-codegen`, and writes the
//! code objects with a CPython-faithful marshal writer.
//!
//! A source goes through, in order:
//!
//! 1. [`decode`]: bytes to text as CPython's tokenizer decodes them.
//! 2. parsing (ruff), then [`screen`]: token-level checks for what CPython
//!    warns about or refuses and the parser accepts.
//! 3. [`shape`]: syntax-tree checks (sizes the compiler handles in
//!    quadratic time, constructs it renders differently).
//! 4. `compile_top` at each optimization level, with SyntaxWarnings
//!    caught; then [`fixup`] brings the code objects to what CPython 3.14
//!    produces where rustpython-codegen differs.
//! 5. [`convert`] to a marshal object graph, whose bytecode [`verify`]
//!    checks for what CPython's optimizer never leaves; marshalling.
//!
//! Any step that is not certain to give CPython's result declines with a
//! [`FallbackReason`], and the whole source goes to the CPython backend
//! instead, so that stdout, stderr, files and exit status are CPython's.
//! The compile runs on a thread with a large stack and under
//! `catch_unwind`: a deep tree or a panic in the compiler is a fallback,
//! never a crash.

mod compile;
pub mod convert;
pub mod decode;
pub mod fixup;
pub mod positions;
pub mod screen;
pub mod shape;
pub mod threads;
pub mod verify;

pub use compile::{Compiled, FallbackReason, compile_text};

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use pyc_format::PythonVersion;

use crate::{
    BackendError, CompileOutput, CompileRequest, CompiledBy, Compiler, CompilerProcess, Target,
};

/// The Python release line the native backend compiles for.
pub const NATIVE_VERSION: PythonVersion = PythonVersion::new(3, 14);

/// The target is not one the native backend compiles for.
///
/// ```
/// use bytecode::native::UnsupportedTarget;
/// use pyc_format::PythonVersion;
/// let err = UnsupportedTarget { version: PythonVersion::new(3, 13) };
/// assert_eq!(err.to_string(), "the native backend compiles for CPython 3.14 only, not 3.13");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnsupportedTarget {
    /// The target's release line.
    pub version: PythonVersion,
}

impl std::fmt::Display for UnsupportedTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the native backend compiles for CPython {NATIVE_VERSION} only, not {}",
            self.version
        )
    }
}

impl std::error::Error for UnsupportedTarget {}

/// The native backend as a [`Compiler`]: compiles in-process on the
/// calling thread's behalf, and hands every source it declines to
/// `fallback` (a CPython 3.14 backend), which also supplies the target's
/// facts (its handshake) and the `repr` of non-ASCII names.
pub struct NativeCompiler<F> {
    fallback: F,
    concurrency: usize,
    threads: threads::CompileThreads,
    /// Why every source must go to the fallback, when the environment
    /// changes how CPython compiles.
    environment: Option<FallbackReason>,
}

impl<F: Compiler> NativeCompiler<F> {
    /// A native backend for `fallback`'s target, running up to
    /// `concurrency` compiles at once.
    pub fn new(fallback: F, concurrency: usize) -> Result<Self, UnsupportedTarget> {
        let version = fallback.target().version;
        if version != NATIVE_VERSION {
            return Err(UnsupportedTarget { version });
        }
        let concurrency = concurrency.max(1);
        Ok(NativeCompiler {
            fallback,
            concurrency,
            threads: threads::CompileThreads::start(concurrency),
            environment: environment_override(),
        })
    }

    /// The backend that compiles what the native one declines.
    pub fn fallback(&self) -> &F {
        &self.fallback
    }

    fn compile_natively(
        &self,
        request: &CompileRequest<'_>,
    ) -> Result<CompileOutput, FallbackReason> {
        if let Some(reason) = &self.environment {
            return Err(reason.clone());
        }
        let text = decode::decode(request.source).map_err(FallbackReason::Decoding)?;
        let name = match request.dfile {
            Some(dfile) if !dfile.as_os_str().is_empty() => dfile.as_os_str(),
            _ => request.filename.as_os_str(),
        };
        let text: std::sync::Arc<str> = text.into();
        let filename: std::sync::Arc<[u32]> = pystr::fsdecode(name.as_bytes()).collect();
        let display_name: std::sync::Arc<str> = name.to_string_lossy().into();
        let levels = request
            .optimizations
            .iter()
            .map(|&level| {
                let unit = threads::Unit {
                    text: text.clone(),
                    display_name: display_name.clone(),
                    filename: filename.clone(),
                    optimize: self.optimize_level(level)?,
                };
                Ok(Ok(self.threads.compile(unit)?))
            })
            .collect::<Result<_, FallbackReason>>()?;
        Ok(CompileOutput {
            levels,
            warnings: Vec::new(),
            compiled_by: CompiledBy::Native,
            cache: None,
        })
    }

    /// The level to compile at: `-1` is the target's own level
    /// (`sys.flags.optimize`).
    fn optimize_level(&self, level: i32) -> Result<u8, FallbackReason> {
        let level = if level == -1 {
            i64::from(self.fallback.target().optimize_flag)
        } else {
            i64::from(level)
        };
        u8::try_from(level)
            .ok()
            .filter(|&level| level <= 2)
            .ok_or(FallbackReason::OptimizeLevel(level))
    }
}

/// Environment variables that change what CPython's compiler produces,
/// which the native backend does not follow: with one set, every source
/// goes to CPython.
fn environment_override() -> Option<FallbackReason> {
    ["PYTHONNODEBUGRANGES", "PYTHONINTMAXSTRDIGITS"]
        .into_iter()
        .find(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
        .map(FallbackReason::Environment)
}

impl<F: Compiler> Compiler for NativeCompiler<F> {
    fn target(&self) -> &Target {
        self.fallback.target()
    }

    /// Compiles natively; a source the native backend declines goes to the
    /// fallback, and the output says so ([`CompiledBy::Fallback`]).
    fn compile(&self, request: &CompileRequest<'_>) -> Result<CompileOutput, BackendError> {
        match self.compile_natively(request) {
            Ok(output) => Ok(output),
            Err(reason) => {
                let mut output = self.fallback.compile(request)?;
                output.compiled_by = CompiledBy::Fallback {
                    reason: reason.to_string(),
                };
                Ok(output)
            }
        }
    }

    fn repr(&self, name: &OsStr) -> Option<String> {
        self.fallback.repr(name)
    }

    /// The native compiler (part of the program, keyed by the cache as a
    /// whole) and what it falls back to.
    fn cache_identity(&self) -> Option<String> {
        let fallback = self.fallback.cache_identity()?;
        Some(format!(
            "native for CPython {NATIVE_VERSION}, falling back to {fallback}"
        ))
    }

    fn max_concurrency(&self) -> usize {
        self.concurrency
    }

    /// Nothing to set up here; the fallback starts working only when a
    /// source needs it.
    fn warm_up(&self, _process: CompilerProcess) {}

    fn cancel(&self) {
        self.fallback.cancel();
    }
}
