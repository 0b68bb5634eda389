//! Project automation: `cargo xtask <command>`.
//!
//! - `pythons`: provision the real CPython interpreters the tests compare
//!   against;
//! - `fixtures`: record what those interpreters answer, under `tests/`;
//! - `test`: everything CI runs (provision, build, test, conformance, the
//!   crates packaging check, the wheel built and installed in a fresh venv);
//! - `conformance`: compile a tree with both tools and report differences
//!   (`--backend native`: code objects compared, fallbacks counted);
//! - `semantics`: CPython's own test modules on native pycs and on CPython's;
//! - `bench`: time the tools side by side.

mod bench;
mod conformance;
mod corpus;
mod fixtures;
mod packaging;
mod popular;
mod pythons;
mod semantics;
mod wheel;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Project automation for compileall")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Provision CPython 3.13, 3.14 and 3.15 (and record the host's 3.11)
    Pythons(pythons::PythonsArgs),
    /// Re-record the fixtures under tests/fixtures from real CPython
    Fixtures {
        /// Only these versions (default: all supported)
        #[arg(long, value_delimiter = ',')]
        versions: Vec<String>,
    },
    /// Run everything CI runs: provision, build, test, conformance
    Test,
    /// Compile trees with both tools and report every difference
    Conformance(conformance::ConformanceArgs),
    /// Time our compileall against python -m compileall
    Bench(bench::BenchArgs),
    /// Run CPython's test modules on its own pycs and on native ones
    Semantics(semantics::SemanticsArgs),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Task::Pythons(args) => pythons::run(&args).map(drop),
        Task::Fixtures { versions } => fixtures::run(&versions),
        Task::Test => test(),
        Task::Conformance(args) => conformance::run(&args, &build_release()?),
        Task::Bench(args) => bench::run(&args, &build_release()?),
        Task::Semantics(args) => semantics::run(&args, &build_release()?),
    }
}

/// `cargo build --release -p compileall-cli` (with the flag [`cargo`] adds), returning the binary.
fn build_release() -> Result<PathBuf> {
    cargo(&["build", "--release", "-p", "compileall-cli"])?;
    // The build goes where cargo puts it: `CARGO_TARGET_DIR` when set (one
    // build folder per worktree), else the workspace's `target`.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| compileall_tests::workspace_root().join(dir))
        .unwrap_or_else(|| compileall_tests::workspace_root().join("target"));
    Ok(target.join("release/compileall"))
}

/// Runs `cargo SUBCOMMAND --ignore-rust-version ARGS...`. The flag is how
/// this workspace builds: the native backend's ruff crates declare Rust 1.96
/// but compile with 1.95 (see `.cargo/config.toml`).
fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let (subcommand, rest) = args.split_first().expect("a cargo subcommand");
    let status = Command::new(cargo)
        .arg(subcommand)
        .arg("--ignore-rust-version")
        .args(rest)
        .current_dir(compileall_tests::workspace_root())
        .status()?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}

/// The README's test command.
fn test() -> Result<()> {
    let manifest = pythons::run(&pythons::PythonsArgs::default())?;
    cargo(&["build", "--workspace", "--all-targets"])?;
    cargo(&["test", "--workspace"])?;
    packaging::check()?;

    // Whole standard libraries through both tools: 3.11's, and 3.14's,
    // which includes CPython's own test suite (libpython3.14-testsuite).
    let ours = build_release()?;
    for version in ["3.11", "3.14"] {
        let Some(python) = manifest.pythons.iter().find(|p| p.version == version) else {
            eprintln!("SKIPPED conformance on the {version} stdlib: interpreter not provisioned");
            continue;
        };
        if version == "3.14" && python.testsuite.is_none() {
            eprintln!(
                "WARNING: CPython {version}'s test suite is not installed; comparing the stdlib alone"
            );
        }
        // -j 1 compiles in CPython's main process, -j 0 in its pool
        // processes; their pycs differ, and both must match. Since 3.13,
        // what a pool process compiled earlier can change its later
        // output, and CPython's pool hands out files as workers come free,
        // so CPython's own -j 0 bytes are not reproducible for every file:
        // there, only the deterministic -j 1 run is compared byte for byte.
        let jobs_checked: &[i64] = if version == "3.11" { &[1, 0] } else { &[1] };
        for &jobs in jobs_checked {
            conformance::run(
                &conformance_args(python, vec![python.stdlib.clone()], jobs, "cpython"),
                &ours,
            )?;
        }
        if version == "3.14" {
            native_conformance(python, &ours)?;
        }
    }
    // Last: the wheel build reuses the release build above.
    match manifest.pythons.iter().find(|p| p.source == "host") {
        Some(host) => wheel::check(host)?,
        None => eprintln!(
            "SKIPPED the wheel test: no host python3 (it builds, installs into and compares with a venv of it)"
        ),
    }
    Ok(())
}

/// The native backend on the 3.14 stdlib with its test suite, the
/// synthetic corpus and the popular packages: every pyc it writes must
/// hold CPython's code objects (compared with a fresh `-j 1` run, the
/// bytes it aims at).
fn native_conformance(
    python: &compileall_tests::pythons::Python,
    ours: &std::path::Path,
) -> Result<()> {
    let corpora = compileall_tests::workspace_root().join("target/corpora");
    let mut dirs = vec![python.stdlib.clone()];
    for name in ["synthetic", "popular"] {
        let dest = corpora.join(name);
        corpus::build(name, python, &dest)?;
        dirs.push(dest);
    }
    conformance::run(&conformance_args(python, dirs, 1, "native"), ours)
}

fn conformance_args(
    python: &compileall_tests::pythons::Python,
    dirs: Vec<PathBuf>,
    jobs: i64,
    backend: &str,
) -> conformance::ConformanceArgs {
    conformance::ConformanceArgs {
        python: python.executable.clone(),
        dirs,
        jobs,
        args: "-q".into(),
        exclude: conformance::default_excludes(),
        work_dir: None,
        backend: Some(backend.to_owned()),
    }
}
