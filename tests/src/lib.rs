//! Shared machinery of the conformance tests: finding the real CPython
//! interpreters, asking them questions through `oracle/oracle.py`, and the
//! tables of questions whose answers are recorded as fixtures.
//!
//! The yardstick of this project is real CPython. Every expected value in
//! the tests comes from an interpreter: either recorded in `fixtures/` by
//! `cargo xtask fixtures`, or asked live when the interpreter is installed
//! (`cargo xtask pythons`). A missing interpreter is a skip that is printed
//! to the terminal, never a silent pass.

pub mod foundation;
pub mod hex;
pub mod oracle;
pub mod pyc;
pub mod pythons;
pub mod runs;
pub mod scenarios;

use std::path::PathBuf;

/// The root of the Cargo workspace.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives inside the workspace")
        .to_path_buf()
}

/// The folder that holds recorded fixtures.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Prints a line straight to the terminal, bypassing the test harness's
/// output capture, so that skips are seen even when the test passes.
pub fn loud(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}
