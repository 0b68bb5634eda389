//! Finding interpreters: the default target, and `pythonX.Y` for
//! `inspect`'s disassembly.

use std::path::{Path, PathBuf};

/// The target when no `--python` is given: the active virtual
/// environment's interpreter, else `python3` on `PATH`. The error is the
/// usage message to print.
pub(crate) fn default_python() -> Result<PathBuf, String> {
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        let python = Path::new(&venv).join("bin").join("python");
        if python.exists() {
            return Ok(python);
        }
        return Err(format!(
            "VIRTUAL_ENV is {}, but it has no bin/python; pass --python",
            python.display()
        ));
    }
    on_path("python3").ok_or_else(|| "no python3 on PATH and no --python given".to_owned())
}

/// The first file called `name` in a folder of `PATH`, as a shell finds
/// a command.
pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
