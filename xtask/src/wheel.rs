//! `cargo xtask test`'s wheel check: what a Python user gets from
//! `pip install .`.
//!
//! The host's pip builds the wheel from the checkout through
//! `pyproject.toml` (`pip wheel .`: the same PEP 517 build `pip install .`
//! runs, in pip's isolated build environment with the pinned maturin). A
//! fresh `python3 -m venv` installs it, and that environment's `compileall`
//! compiles a tree with no `--python`, compared with the environment's own
//! `python -m compileall` on a copy of the tree: stdout, stderr, exit
//! status and every file left behind (pyc bytes, modes, hard links). It
//! runs twice: by path from the environment's `bin` with no `VIRTUAL_ENV`,
//! and as a copy outside the environment with `VIRTUAL_ENV` set. `PATH`
//! holds no interpreter in either, so only those two rules can find the
//! target (`crates/compileall-cli/src/discover.rs`).
//!
//! pip builds in the checkout, so maturin's cargo uses the workspace's
//! `target/` and reuses the release build `cargo xtask test` made before;
//! only the binary is linked again (stripped, for the wheel).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use compileall_tests::pythons::Python;

use crate::conformance;

/// The distribution name in `pyproject.toml`.
const DISTRIBUTION: &str = "compileall-rs";

/// Builds, installs and compares; fails on any difference.
pub fn check(host: &Python) -> Result<()> {
    let started = Instant::now();
    let work = compileall_tests::workspace_root().join("target/wheel-test");
    if work.exists() {
        fs_err::remove_dir_all(&work)?;
    }
    fs_err::create_dir_all(&work)?;
    let wheel = build_wheel(&host.executable, &work.join("dist"))?;
    let venv = work.join("venv");
    checked(
        Command::new(&host.executable)
            .args(["-m", "venv"])
            .arg(&venv),
    )?;
    let python = venv.join("bin/python");
    checked(
        Command::new(&python)
            .args(["-m", "pip", "install", "--no-deps", "--no-index"])
            .arg(&wheel),
    )?;
    check_metadata(&python)?;
    let installed = venv.join("bin/compileall");
    let version = checked(Command::new(&installed).arg("--version"))?;
    let version = String::from_utf8(version.stdout)?;
    let expected = format!("compileall {}\n", env!("CARGO_PKG_VERSION"));
    ensure!(
        version.starts_with(&expected),
        "compileall --version: {version:?}"
    );

    let source = work.join("source");
    write_tree(&source)?;
    let no_python = work.join("no-python-on-path");
    fs_err::create_dir_all(&no_python)?;
    let mut differences = Vec::new();
    let run = Run {
        work: &work,
        source: &source,
        python: &python,
        path: &no_python,
    };
    // A venv's own binary, run by path, not activated.
    differences.extend(run.compare("bin-folder", Command::new(&installed))?);
    // An activated venv, the binary elsewhere (pipx, another venv).
    let elsewhere = work.join("elsewhere");
    fs_err::create_dir_all(&elsewhere)?;
    fs_err::copy(&installed, elsewhere.join("compileall"))?;
    let mut activated = Command::new(elsewhere.join("compileall"));
    activated.env("VIRTUAL_ENV", &venv);
    differences.extend(run.compare("virtual-env", activated)?);
    for difference in &differences {
        println!("DIFF {difference}");
    }
    if !differences.is_empty() {
        bail!("the installed wheel: {} differences", differences.len());
    }
    println!(
        "wheel {}: installed, compileall found its venv's python both ways, \
         same output and files as python -m compileall ({:.0} s)",
        wheel.file_name().unwrap_or_default().display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `pip wheel --no-deps .` from the workspace root; the one wheel built.
fn build_wheel(host_python: &Path, dist: &Path) -> Result<PathBuf> {
    checked(
        Command::new(host_python)
            .args(["-m", "pip", "wheel", "--no-deps", "--wheel-dir"])
            .arg(dist)
            .arg(compileall_tests::workspace_root())
            .stdout(Stdio::inherit()),
    )?;
    let wheels: Vec<PathBuf> = fs_err::read_dir(dist)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    match wheels.as_slice() {
        [wheel] if wheel.extension().is_some_and(|e| e == "whl") => Ok(wheel.clone()),
        _ => bail!("pip wheel left {wheels:?}, not one wheel"),
    }
}

/// The installed distribution's metadata, as `importlib.metadata` reads
/// it: the name, the workspace's version, and what an index page shows.
fn check_metadata(python: &Path) -> Result<()> {
    const FIELDS: [&str; 7] = [
        "Name",
        "Version",
        "Summary",
        "License-Expression",
        "Requires-Python",
        "Classifier",
        "Description-Content-Type",
    ];
    let script = format!(
        "import importlib.metadata as m, json\n\
         d = m.metadata({DISTRIBUTION:?})\n\
         print(json.dumps({{k: d.get_all(k) for k in {FIELDS:?}}}))"
    );
    let output = checked(Command::new(python).args(["-c", &script]))?;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let first = |field: &str| metadata[field][0].as_str().unwrap_or_default().to_owned();
    ensure!(first("Name") == DISTRIBUTION, "wheel metadata: {metadata}");
    ensure!(
        first("Version") == env!("CARGO_PKG_VERSION"),
        "wheel metadata: {metadata}"
    );
    ensure!(
        first("Description-Content-Type").starts_with("text/markdown"),
        "wheel metadata: no README: {metadata}"
    );
    for field in FIELDS {
        ensure!(
            !first(field).is_empty(),
            "wheel metadata: no {field}: {metadata}"
        );
    }
    Ok(())
}

/// A small tree with what compileall prints and writes differently:
/// packages, a docstring and an assert (`-o 1` differs), a module the same
/// at both levels (hard-linked), a syntax error (exit status 1), a
/// non-ASCII name.
fn write_tree(root: &Path) -> Result<()> {
    let files = [
        ("pkg/__init__.py", "\"\"\"A package.\"\"\"\n"),
        (
            "pkg/mod.py",
            "def f(x):\n    \"\"\"Doc.\"\"\"\n    assert x\n    return x\n",
        ),
        ("pkg/plain.py", "X = 1\n"),
        ("pkg/sub/deep.py", "import os\nprint(os.sep)\n"),
        ("bad.py", "def broken(:\n    pass\n"),
        ("café.py", "nom = 'café'\n"),
    ];
    for (path, text) in files {
        let path = root.join(path);
        fs_err::create_dir_all(path.parent().expect("inside the tree"))?;
        fs_err::write(&path, text)?;
    }
    Ok(())
}

/// What both tools' runs share.
struct Run<'a> {
    work: &'a Path,
    source: &'a Path,
    /// The venv's interpreter, which runs `-m compileall`.
    python: &'a Path,
    /// `PATH` for both runs: a folder with no interpreter in it.
    path: &'a Path,
}

impl Run<'_> {
    /// Compiles a copy of the tree with `python -m compileall` and one with
    /// `ours` (no `--python`), with the same arguments, and lists every
    /// difference.
    fn compare(&self, name: &str, mut ours: Command) -> Result<Vec<String>> {
        const ARGS: [&str; 5] = ["-o", "0", "-o", "1", "--hardlink-dupes"];
        let roots = [
            self.work.join(name).join("cpython"),
            self.work.join(name).join("ours"),
        ];
        for root in &roots {
            fs_err::create_dir_all(root)?;
            checked(
                Command::new("cp")
                    .arg("-a")
                    .arg(self.source)
                    .arg(root.join("tree")),
            )?;
        }
        let mut cpython = Command::new(self.python);
        cpython.args(["-m", "compileall"]);
        let theirs = self.output(cpython.args(ARGS), &roots[0])?;
        let mine = self.output(ours.args(ARGS), &roots[1])?;
        let mut differences = Vec::new();
        conformance::compare_outputs(&theirs, &mine, true, &mut differences);
        let mut pycs = Vec::new();
        conformance::compare_trees(
            &conformance::snapshot(&roots[0].join("tree"))?,
            &conformance::snapshot(&roots[1].join("tree"))?,
            &mut pycs,
            &mut differences,
        );
        differences.extend(
            pycs.iter()
                .map(|p| format!("{}: pyc bytes differ", p.display())),
        );
        ensure!(
            theirs.status.code() == Some(1),
            "{name}: python -m compileall exited {:?}; the tree's syntax error should give 1",
            theirs.status.code()
        );
        Ok(differences
            .into_iter()
            .map(|d| format!("{name}: {d}"))
            .collect())
    }

    /// `command tree`, in `root`, with `PATH` holding no interpreter and no
    /// `VIRTUAL_ENV` unless the command sets one.
    fn output(&self, command: &mut Command, root: &Path) -> Result<Output> {
        if command.get_envs().all(|(key, _)| key != "VIRTUAL_ENV") {
            command.env_remove("VIRTUAL_ENV");
        }
        command
            .arg("tree")
            .env("PATH", self.path)
            .current_dir(root)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {command:?}"))
    }
}

/// Runs `command`, its output captured; fails with its stderr unless it
/// succeeds.
fn checked(command: &mut Command) -> Result<Output> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output)
}
