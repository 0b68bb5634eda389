//! Finding interpreters: the default target, and `pythonX.Y` for
//! `inspect`'s disassembly.

use std::path::{Path, PathBuf};

/// The target when no `--python` is given, the first of:
///
/// 1. the active virtual environment's interpreter (`$VIRTUAL_ENV`);
/// 2. the interpreter of the virtual environment this binary was started
///    from: `pip install compileall-rs` puts the binary in the
///    environment's `bin`, and, like the scripts pip writes there (whose
///    shebang names that `bin/python`), running it by path targets that
///    environment without activating it;
/// 3. `python3` on `PATH`.
///
/// The error is the usage message to print.
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
    if let Some(python) = started_as().and_then(|exe| venv_python_beside(&exe)) {
        return Ok(python);
    }
    on_path("python3").ok_or_else(|| "no python3 on PATH and no --python given".to_owned())
}

/// The path this binary was started as: `argv[0]` when it names a folder,
/// else the file a shell found on `PATH` under that name. Not
/// `current_exe()`, which resolves symbolic links: pipx and `uv tool`
/// link the binary from their private environment into `~/.local/bin`,
/// and that environment's interpreter is not the user's.
fn started_as() -> Option<PathBuf> {
    let argv0 = PathBuf::from(std::env::args_os().next()?);
    if argv0
        .parent()
        .is_some_and(|dir| !dir.as_os_str().is_empty())
    {
        return std::path::absolute(argv0).ok();
    }
    on_path(argv0.to_str()?)
}

/// `bin/python` of the virtual environment whose `bin` holds `exe`: a
/// folder whose parent has `pyvenv.cfg` (PEP 405), as `python -m venv`,
/// virtualenv and uv make them.
fn venv_python_beside(exe: &Path) -> Option<PathBuf> {
    let bin = exe.parent()?;
    let python = bin.join("python");
    let is_venv = bin.parent()?.join("pyvenv.cfg").is_file();
    (is_venv && python.exists()).then_some(python)
}

/// The first file called `name` in a folder of `PATH`, as a shell finds
/// a command.
pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::venv_python_beside;

    /// A folder laid out as `python -m venv` lays one out, with `pyvenv.cfg`
    /// when `is_venv`.
    fn layout(is_venv: bool) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("bin")).unwrap();
        std::fs::write(root.path().join("bin/python"), "").unwrap();
        std::fs::write(root.path().join("bin/compileall"), "").unwrap();
        if is_venv {
            std::fs::write(root.path().join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        }
        root
    }

    #[test]
    fn a_binary_in_a_venv_bin_targets_that_venv() {
        let venv = layout(true);
        let exe = venv.path().join("bin/compileall");
        assert_eq!(
            venv_python_beside(&exe),
            Some(venv.path().join("bin/python"))
        );
    }

    #[test]
    fn a_python_beside_the_binary_outside_a_venv_is_not_the_target() {
        // /usr/bin, /usr/local/bin: `python` there may be another
        // interpreter than `python3` on PATH, or Python 2.
        let prefix = layout(false);
        assert_eq!(
            venv_python_beside(&prefix.path().join("bin/compileall")),
            None
        );
    }

    #[test]
    fn a_venv_without_bin_python_is_not_the_target() {
        let venv = layout(true);
        std::fs::remove_file(venv.path().join("bin/python")).unwrap();
        assert_eq!(
            venv_python_beside(&venv.path().join("bin/compileall")),
            None
        );
    }
}
