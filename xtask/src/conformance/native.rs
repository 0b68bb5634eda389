//! The native backend's part of a conformance run: which sources it
//! compiled (from our `--report json`), why it passed the others to
//! CPython, and, for the pycs whose bytes differ from CPython's, whether
//! their code objects are equal (any that are not is a difference).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Where the two copies of one tree are.
pub struct Roots<'a> {
    /// The tree's folder name in both roots (and in the report's paths).
    pub name: &'a str,
    /// CPython's copy's parent.
    pub cpython: &'a Path,
    /// Our copy's parent.
    pub ours: &'a Path,
}

/// What the native backend did with one tree.
#[derive(Default)]
pub struct Summary {
    /// Sources compiled (or refused) by the native backend.
    pub native: usize,
    /// Sources compiled (or refused) by either backend.
    pub compiled: usize,
    /// Pycs of natively compiled sources.
    pub native_pycs: usize,
    /// Of those, byte-identical to CPython's.
    pub identical_pycs: usize,
    /// Fallbacks by reason.
    pub fallbacks: BTreeMap<String, usize>,
    /// Code objects that differ: one line each, the first differing field.
    pub differences: Vec<String>,
}

impl Summary {
    /// The summary as printed.
    pub fn render(&self, tree: &str) -> String {
        let percent = |part: usize, whole: usize| 100.0 * part as f64 / whole.max(1) as f64;
        let mut text = format!(
            "{tree}: native backend compiled {} of {} sources ({:.2}%); {} of its {} pycs \
             byte-identical to CPython's ({:.2}%), the rest with equal code objects; \
             {} with different code objects",
            self.native,
            self.compiled,
            percent(self.native, self.compiled),
            self.identical_pycs,
            self.native_pycs,
            percent(self.identical_pycs, self.native_pycs),
            self.differences.len(),
        );
        for (reason, count) in &self.fallbacks {
            let _ = write!(text, "\n  fallback: {count:5}  {reason}");
        }
        text
    }
}

/// Reads our report and judges the pycs in `differing` (paths relative to
/// the tree) whose bytes differ from CPython's.
pub fn summarize(report: &Path, roots: &Roots<'_>, differing: &[PathBuf]) -> Result<Summary> {
    let text = fs_err::read_to_string(report)?;
    let report: serde_json::Value = serde_json::from_str(&text).context("our JSON report")?;
    let mut summary = Summary::default();
    let mut native_pycs = HashSet::new();
    let files = report["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|run| run["files"].as_array().into_iter().flatten());
    for file in files {
        let Some(backend) = file["backend"].as_str() else {
            continue;
        };
        summary.compiled += 1;
        if backend == "native" {
            summary.native += 1;
            for pyc in file["pycs"].as_array().into_iter().flatten() {
                native_pycs.insert(in_tree(pyc.as_str().unwrap_or_default(), roots.name));
            }
        } else if let Some(reason) = file["fallback"].as_str() {
            *summary.fallbacks.entry(reason.to_owned()).or_default() += 1;
        }
    }
    summary.native_pycs = native_pycs.len();
    let mut identical = native_pycs.len();
    for path in differing {
        if native_pycs.contains(path) {
            identical -= 1;
        }
        if let Some(difference) = code_difference(roots, path)? {
            summary
                .differences
                .push(format!("{}: {difference}", path.display()));
        }
    }
    summary.identical_pycs = identical;
    Ok(summary)
}

/// A report path (`tree0/pkg/__pycache__/m.cpython-314.pyc`) relative to
/// the tree.
fn in_tree(path: &str, name: &str) -> PathBuf {
    let path = Path::new(path);
    path.strip_prefix(name).unwrap_or(path).to_owned()
}

/// Why two pycs of the same path are not the same code, if they are not.
fn code_difference(roots: &Roots<'_>, path: &Path) -> Result<Option<String>> {
    let theirs = fs_err::read(roots.cpython.join(roots.name).join(path))?;
    let ours = fs_err::read(roots.ours.join(roots.name).join(path))?;
    Ok(compileall_tests::pyc::code_difference(&theirs, &ours))
}
