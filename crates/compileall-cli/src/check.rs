//! `compileall --check`: which sources lack a valid, current pyc, without
//! writing anything.
//!
//! The test is stricter than compileall's own up-to-date check (which only
//! compares magic, zero flags and mtime): a pyc passes if importlib would
//! use it for its source and it was written in the requested invalidation
//! mode. A timestamp pyc must match the source's mtime and size; a
//! hash-based pyc must carry the source's hash, checked or unchecked as
//! requested.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use pyc_format::{Invalidation, PycError, PycHeader};

use crate::context::Context;
use crate::freshness;
use crate::options::InvalidationMode;
use crate::prepare::Decision;
use crate::pyerror::PyException;
use crate::pyos::Stat;
use crate::steps::{self, Step};
use crate::visit::Visit;

/// What is wrong with a pyc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// There is no pyc.
    Missing,
    /// The pyc belongs to an older version of the source, or was written in
    /// another invalidation mode.
    Stale,
    /// The file cannot be a pyc for this interpreter (wrong magic, bad
    /// flags, truncated, unreadable, not a regular file).
    Invalid,
}

impl ProblemKind {
    /// `missing`, `stale` or `invalid`.
    ///
    /// ```
    /// use compileall_cli::check::ProblemKind;
    /// assert_eq!(ProblemKind::Stale.as_str(), "stale");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Missing => "missing",
            ProblemKind::Stale => "stale",
            ProblemKind::Invalid => "invalid",
        }
    }
}

/// One source whose pyc is not as it should be. `Display` gives the line
/// `compileall --check` prints.
///
/// ```
/// use compileall_cli::check::{Problem, ProblemKind};
/// let problem = Problem {
///     source: "demo/good.py".into(),
///     pyc: "demo/__pycache__/good.cpython-314.pyc".into(),
///     kind: ProblemKind::Stale,
///     reason: "source mtime or size changed".into(),
/// };
/// assert_eq!(
///     problem.to_string(),
///     "demo/good.py: stale demo/__pycache__/good.cpython-314.pyc (source mtime or size changed)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The source, as compileall names it.
    pub source: PathBuf,
    /// The pyc it should have.
    pub pyc: PathBuf,
    /// What is wrong.
    pub kind: ProblemKind,
    /// Why, in words.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} {} ({})",
            self.source.display(),
            self.kind.as_str(),
            self.pyc.display(),
            self.reason
        )
    }
}

/// Every problem of `visits`, prepared `window` at a time (a large tree's
/// preparation is never held all at once), in compileall's order. A
/// visit where compileall would raise ends the check with that exception.
pub(crate) fn check_visits(
    ctx: &Context<'_>,
    visits: Vec<Visit>,
    window: usize,
) -> Result<Vec<Problem>, PyException> {
    let mut visits = visits.into_iter();
    let mut problems = Vec::new();
    loop {
        let batch: Vec<Visit> = visits.by_ref().take(window).collect();
        if batch.is_empty() {
            return Ok(problems);
        }
        problems.extend(check(ctx, &steps::prepare_all(ctx, batch))?);
    }
}

/// Every problem among the prepared steps, in compileall's order. A step
/// where compileall would raise ends the check with that exception.
fn check(ctx: &Context<'_>, steps: &[Step]) -> Result<Vec<Problem>, PyException> {
    let mut problems = Vec::new();
    for step in steps {
        let prepared = match step {
            Step::Line(_) => continue,
            Step::Raise(exception) => return Err(exception.clone()),
            Step::File(prepared) => prepared,
        };
        if let Decision::Raise(exception) = &prepared.decision {
            return Err(exception.clone());
        }
        let Some(meta) = &prepared.meta else { continue };
        let source = &prepared.source.fullname;
        let mut source_bytes = None;
        for (_, pyc) in &prepared.cfiles {
            let verdict = judge(ctx, source, meta, pyc, &mut source_bytes);
            if let Err((kind, reason)) = verdict {
                problems.push(Problem {
                    source: source.clone(),
                    pyc: pyc.clone(),
                    kind,
                    reason,
                });
            }
        }
    }
    Ok(problems)
}

/// One pyc of `source`: `Ok` if it passes.
fn judge(
    ctx: &Context<'_>,
    source: &Path,
    meta: &Stat,
    pyc: &Path,
    source_bytes: &mut Option<io::Result<Vec<u8>>>,
) -> Result<(), (ProblemKind, String)> {
    let invalid = |reason: String| (ProblemKind::Invalid, reason);
    let stale = |reason: &str| (ProblemKind::Stale, reason.to_owned());
    match std::fs::symlink_metadata(pyc) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err((ProblemKind::Missing, "no such file".into()));
        }
        Err(err) => return Err(invalid(err.to_string())),
        Ok(m) if !m.is_file() => return Err(invalid("not a regular file".into())),
        Ok(_) => {}
    }
    let data = std::fs::read(pyc).map_err(|err| invalid(err.to_string()))?;
    let name = source.to_string_lossy();
    pyc_format::classify(&data, ctx.target.magic, &name).map_err(|err| invalid(err.to_string()))?;
    if data.len() <= pyc_format::HEADER_LEN {
        return Err(invalid("no code after the header".into()));
    }
    let header = PycHeader::parse(&data).ok_or_else(|| invalid("unreadable header".into()))?;
    if let Some(reason) = mode_mismatch(ctx.invalidation, header.invalidation) {
        return Err(stale(reason));
    }
    // Only a hash-based pyc needs the source's bytes; read them once for
    // all its levels.
    let bytes: &[u8] = match header.invalidation {
        Invalidation::Timestamp { .. } => b"",
        Invalidation::Hash { .. } => {
            match source_bytes.get_or_insert_with(|| std::fs::read(source)) {
                Ok(bytes) => bytes,
                Err(err) => return Err(invalid(format!("cannot read the source: {err}"))),
            }
        }
    };
    match freshness::importlib_verdict(&data, ctx.target.magic, source, meta, bytes) {
        Ok(_) => Ok(()),
        Err(PycError::Stale { .. }) => Err(stale("source mtime or size changed")),
        Err(PycError::HashMismatch { .. }) => Err(stale("source hash changed")),
        Err(err) => Err(invalid(err.to_string())),
    }
}

/// Why a pyc written in another invalidation mode than the one requested
/// is stale, if it is.
fn mode_mismatch(requested: InvalidationMode, found: Invalidation) -> Option<&'static str> {
    match (requested, found) {
        (InvalidationMode::Timestamp, Invalidation::Timestamp { .. }) => None,
        (InvalidationMode::Timestamp, Invalidation::Hash { .. }) => {
            Some("hash-based, timestamp requested")
        }
        (_, Invalidation::Timestamp { .. }) => Some("timestamp-based, hash requested"),
        (mode, Invalidation::Hash { checked, .. }) => {
            match (checked, mode == InvalidationMode::CheckedHash) {
                (true, false) => Some("checked-hash, unchecked-hash requested"),
                (false, true) => Some("unchecked-hash, checked-hash requested"),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests;
