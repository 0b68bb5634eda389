//! The real CPython interpreters the tests compare against, as provisioned
//! by `cargo xtask pythons` and listed in its manifest.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The release lines the project is checked against.
pub const SUPPORTED: [&str; 4] = ["3.11", "3.13", "3.14", "3.15"];

/// One interpreter in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Python {
    /// `major.minor`, such as `3.14`.
    pub version: String,
    /// The exact release, such as `3.14.10`.
    pub full_version: String,
    /// Absolute path of the runnable interpreter.
    pub executable: PathBuf,
    /// `importlib.util.MAGIC_NUMBER` as a number.
    pub magic: u16,
    /// `sys.implementation.cache_tag`.
    pub cache_tag: String,
    /// The interpreter's standard library folder.
    pub stdlib: PathBuf,
    /// CPython's own test suite, where it was installed.
    pub testsuite: Option<PathBuf>,
    /// Where it came from: `host` or `debian-sid`.
    pub source: String,
}

/// The manifest file `cargo xtask pythons` writes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// Interpreters, sorted by version.
    pub pythons: Vec<Python>,
}

/// The folder that holds the provisioned interpreters:
/// `$COMPILEALL_PYTHONS_DIR`, else `.pythons/` in the workspace.
pub fn pythons_dir() -> PathBuf {
    std::env::var_os("COMPILEALL_PYTHONS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join(".pythons"))
}

/// Reads the manifest; an absent or unreadable one lists nothing.
pub fn manifest() -> Manifest {
    let path = pythons_dir().join("pythons.json");
    std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Every provisioned interpreter whose executable still exists.
pub fn installed() -> Vec<Python> {
    manifest()
        .pythons
        .into_iter()
        .filter(|p| p.executable.is_file())
        .collect()
}

/// The interpreter of release line `version`, or `None` after printing a
/// loud skip notice naming `test`.
pub fn require(version: &str, test: &str) -> Option<Python> {
    let found = installed().into_iter().find(|p| p.version == version);
    if found.is_none() {
        crate::loud(&format!(
            "SKIPPED {test} for CPython {version}: interpreter not provisioned \
             (run `cargo xtask pythons`; looked in {})",
            pythons_dir().display()
        ));
    }
    found
}
