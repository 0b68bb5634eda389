//! Asking a real interpreter through `oracle/oracle.py`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The oracle script, embedded so the tests need no path to it.
pub const ORACLE_PY: &str = include_str!("../oracle/oracle.py");

/// One answer: what the call returned, or the exception it raised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    /// The call returned this value.
    Ok {
        /// The returned value, in the oracle's JSON encoding.
        ok: Value,
    },
    /// The call raised.
    Exc {
        /// The exception class name.
        exc: String,
        /// `str(exception)`.
        msg: String,
    },
}

/// Runs the oracle with `python` (plus interpreter flags such as `-O`) on
/// `queries` and returns one answer per query.
pub fn ask<Q: Serialize>(
    python: &Path,
    flags: &[&str],
    queries: &[Q],
) -> Result<Vec<Answer>, String> {
    let input = serde_json::to_vec(queries).map_err(|e| e.to_string())?;
    let mut child = Command::new(python)
        .args(flags)
        .arg("-c")
        .arg(ORACLE_PY)
        // The oracle must see the interpreter's defaults, not the caller's.
        .env_remove("PYTHONPYCACHEPREFIX")
        .env_remove("PYTHONOPTIMIZE")
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    writer
        .join()
        .expect("writer thread")
        .map_err(|e| format!("writing queries to {}: {e}", python.display()))?;
    if !output.status.success() {
        return Err(format!(
            "oracle failed under {} ({}): {}",
            python.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let answers: Vec<Answer> = serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    if answers.len() != queries.len() {
        return Err(format!(
            "{} answers for {} queries",
            answers.len(),
            queries.len()
        ));
    }
    Ok(answers)
}
