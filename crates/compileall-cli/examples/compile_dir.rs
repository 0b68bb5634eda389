//! Compiles a directory through the library, as `python -m compileall -q DIR`
//! would: `cargo r --example compile_dir -- /usr/bin/python3 src`.

use std::io::Write;
use std::path::Path;

use bytecode::cpython::{CpythonPool, PoolOptions};
use compileall_cli::{Captured, Options, Quiet, Session, Stream};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [python, dir] = &args[..] else {
        return Err("usage: compile_dir PYTHON DIR".into());
    };
    let pool = CpythonPool::start(Path::new(python), PoolOptions::default())?;
    let session = Session::new(&pool)?;
    let options = Options {
        quiet: Quiet::ErrorsOnly,
        ..Options::default()
    };
    let mut output = Captured::default();
    let outcome = session.compile_dir(Path::new(dir), &options, &mut output);
    std::io::stdout().write_all(&output.stream(Stream::Stdout))?;
    std::process::exit(outcome.exit_code());
}
