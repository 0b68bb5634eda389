//! One source through the native pipeline: parse, screen, shape, compile,
//! fix up; each step may decline with a [`FallbackReason`].

use std::collections::HashSet;
use std::fmt;

use ruff_python_ast::PythonVersion as RuffPythonVersion;
use ruff_python_parser::{Mode as ParseMode, ParseOptions};
use rustpython_codegen::compile::{CompileOpts, compile_top_with_syntax_warning_handler};
use rustpython_compiler_core::bytecode::CodeObject;
use rustpython_compiler_core::{Mode, SourceFileBuilder};

use super::decode::Undecodable;
use super::screen::Screened;
use super::shape::Shape;
use super::verify::Unfolded;

/// Why a source is compiled by CPython instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FallbackReason {
    /// The bytes need a decoding path we do not have, or do not decode.
    Decoding(Undecodable),
    /// The parser rejects the source: CPython reports the SyntaxError.
    Syntax,
    /// A token-level check ([`screen`](super::screen)).
    Screened(Screened),
    /// A syntax-tree check ([`shape`](super::shape)).
    Shape(Shape),
    /// The bytecode holds what CPython's optimizer removes ([`verify`](super::verify)).
    Unfolded(Unfolded),
    /// The compiler would emit a SyntaxWarning, which CPython prints.
    Warning,
    /// The compiler refused the source (CPython reports its own error).
    Codegen(String),
    /// The compiler panicked.
    Panic,
    /// An optimization level other than 0, 1 and 2, whose handling is
    /// CPython's own.
    OptimizeLevel(i64),
    /// The environment changes how CPython compiles (for example
    /// `PYTHONNODEBUGRANGES`), which the native backend does not follow.
    Environment(&'static str),
}

impl fmt::Display for FallbackReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FallbackReason::Decoding(why) => write!(f, "decoding: {why}"),
            FallbackReason::Syntax => f.write_str("syntax error"),
            FallbackReason::Screened(why) => f.write_str(why.as_str()),
            FallbackReason::Shape(why) => f.write_str(why.as_str()),
            FallbackReason::Unfolded(why) => f.write_str(why.as_str()),
            FallbackReason::Warning => f.write_str("SyntaxWarning"),
            FallbackReason::Codegen(message) => write!(f, "compiler error: {message}"),
            FallbackReason::Panic => f.write_str("compiler panic"),
            FallbackReason::OptimizeLevel(level) => write!(f, "optimization level {level}"),
            FallbackReason::Environment(variable) => write!(f, "{variable} is set"),
        }
    }
}

/// A module compiled by rustpython-codegen and brought to CPython's code.
pub struct Compiled {
    /// The module's code object.
    pub code: CodeObject,
    /// The source's identifiers ([`identifiers`](super::screen::identifiers)),
    /// which decide how CPython shares some constants.
    pub identifiers: HashSet<Box<str>>,
}

/// Parses `text` (already decoded) and compiles it at `optimize` (0, 1 or
/// 2) with `filename` as the code objects' file name, on the current
/// thread, which needs a large stack for deep sources (the native
/// backend runs it on [`CompileThreads`](super::threads::CompileThreads)).
pub fn compile_text(text: &str, filename: &str, optimize: u8) -> Result<Compiled, FallbackReason> {
    let options =
        ParseOptions::from(ParseMode::Module).with_target_version(RuffPythonVersion::PY314);
    let parsed = ruff_python_parser::parse(text, options).map_err(|_| FallbackReason::Syntax)?;
    if !parsed.unsupported_syntax_errors().is_empty() {
        return Err(FallbackReason::Syntax);
    }
    super::screen::screen(text, parsed.tokens()).map_err(FallbackReason::Screened)?;
    let identifiers = super::screen::identifiers(text, parsed.tokens())
        .into_iter()
        .map(Box::from)
        .collect();
    super::shape::check(parsed.syntax(), text, optimize).map_err(FallbackReason::Shape)?;
    let mut module = parsed.into_syntax();
    super::positions::to_cpython(&mut module, text);
    let source_file = SourceFileBuilder::new(filename, text).finish();
    let options = CompileOpts {
        optimize,
        ..CompileOpts::default()
    };
    let mut warned = false;
    let mut on_warning = |_, _| {
        warned = true;
        Ok(())
    };
    let compiled = compile_top_with_syntax_warning_handler(
        module,
        source_file,
        Mode::Exec,
        options,
        Some(&mut on_warning),
    );
    let mut code = compiled.map_err(|err| FallbackReason::Codegen(err.to_string()))?;
    if warned {
        return Err(FallbackReason::Warning);
    }
    super::fixup::to_cpython(&mut code);
    Ok(Compiled { code, identifiers })
}

pub(super) mod quiet_panics {
    //! Panics inside the native compiler are expected failures (the
    //! source falls back to CPython), so they must not print the default
    //! panic message on stderr, whose contents must stay CPython's.

    use std::cell::Cell;
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::Once;

    use super::FallbackReason;

    thread_local! {
        static QUIET: Cell<bool> = const { Cell::new(false) };
    }

    /// Installs, once per process, a hook that stays silent on threads
    /// running [`run`] and defers to the previous hook elsewhere.
    fn install_hook() {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let previous = panic::take_hook();
            panic::set_hook(Box::new(move |info| {
                if !QUIET.with(Cell::get) {
                    previous(info);
                }
            }));
        });
    }

    /// Runs `f`, a panic becoming [`FallbackReason::Panic`].
    pub fn run<T>(f: impl FnOnce() -> Result<T, FallbackReason>) -> Result<T, FallbackReason> {
        install_hook();
        QUIET.with(|quiet| quiet.set(true));
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        QUIET.with(|quiet| quiet.set(false));
        result.unwrap_or(Err(FallbackReason::Panic))
    }
}
