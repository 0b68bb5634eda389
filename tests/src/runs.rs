//! One run of each tool, as the integration tests start them: our binary
//! for a target interpreter, and that interpreter's `python -m compileall`.

use std::path::Path;
use std::process::{Command, Output};

use crate::pythons::Python;
use crate::scenarios;

/// Our binary for `python`, in `cwd`, with `args`; the environment's
/// `COMPILEALL_CACHE_DIR` is left out, so no test uses a cache it did not
/// ask for.
pub fn ours_command(python: &Python, cwd: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(scenarios::binary());
    command
        .arg("--python")
        .arg(&python.executable)
        .args(args)
        .current_dir(cwd)
        .env_remove("COMPILEALL_CACHE_DIR");
    command
}

/// [`ours_command`], run to completion.
pub fn ours(python: &Python, cwd: &Path, args: &[&str]) -> Output {
    ours_command(python, cwd, args).output().unwrap()
}

/// `python -m compileall args` in `cwd`.
pub fn cpython(python: &Python, cwd: &Path, args: &[&str]) -> Output {
    Command::new(&python.executable)
        .args(["-m", "compileall"])
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Output bytes as text, for comparisons and messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
