//! The `compileall` binary: `python -m compileall`, flag for flag.
//!
//! Parsing the command line and dispatching it is all that happens here;
//! the work is the library's ([`compileall_cli::driver`]).

use std::process::ExitCode;

use compileall_cli::cli::{Cli, Command};
use compileall_cli::driver;

/// glibc's allocator made the threads that prepare and compile wait on its
/// arena locks and spent a tenth of a run in malloc and free; mimalloc's
/// per-thread heaps do neither (docs/performance.md, "The allocator").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse_argparse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(err.exit_code() as u8);
        }
    };
    let code = match cli.command {
        Some(Command::Inspect {
            pycs,
            python,
            no_disassembly,
        }) => driver::inspect(&pycs, python.as_deref(), !no_disassembly),
        Some(Command::Cache { action }) => driver::cache(&action),
        Some(Command::Completions { shell }) => driver::completions(shell),
        Some(Command::Man) => driver::man_page(),
        None => driver::compile(&cli.args.into_invocation()),
    };
    ExitCode::from(code as u8)
}
