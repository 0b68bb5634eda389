//! Putting a file in place atomically, so that readers only ever see the old
//! file or the complete new one, and cleaning up after runs that were killed
//! half-way.
//!
//! Both operations go through a temporary name in the target's own
//! directory, then `rename(2)` it over the target, which POSIX makes atomic:
//!
//! - [`write()`]: create the temporary file (with the requested mode, subject
//!   to the umask), write the bytes, rename;
//! - [`replace_with_hard_link`]: hard-link an existing file under the
//!   temporary name, rename.
//!
//! Temporary names are `{target}.{pid}.{sequence}.tmp`. A process killed
//! between create and rename leaves one behind; [`sweep`] removes those
//! whose process is gone (never one of a live process, which may be about to
//! rename it).
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let target = dir.path().join("mod.cpython-314.pyc");
//! atomic_file::write(&target, b"new bytes", 0o644)?;
//! assert_eq!(std::fs::read(&target)?, b"new bytes");
//!
//! let twin = dir.path().join("mod.cpython-314.opt-1.pyc");
//! atomic_file::replace_with_hard_link(&target, &twin)?;
//! assert_eq!(std::fs::read(&twin)?, b"new bytes");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The system call that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Creating the temporary file (`open(O_CREAT | O_EXCL)`).
    Create,
    /// Writing or closing the temporary file.
    Write,
    /// Hard-linking under the temporary name.
    Link,
    /// Renaming the temporary name over the target.
    Rename,
}

/// A failed atomic replacement. The target is untouched, and the temporary
/// file has been removed (if it could be).
#[derive(Debug)]
pub struct Error {
    /// What failed.
    pub operation: Operation,
    /// The path the failing call was about (for `Rename` and `Link`, the
    /// source of the call).
    pub path: PathBuf,
    /// The second path of `Rename` and `Link`.
    pub path2: Option<PathBuf>,
    /// The OS error.
    pub source: io::Error,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path2 {
            Some(path2) => write!(
                f,
                "{:?} of {} -> {} failed: {}",
                self.operation,
                self.path.display(),
                path2.display(),
                self.source
            ),
            None => write!(
                f,
                "{:?} of {} failed: {}",
                self.operation,
                self.path.display(),
                self.source
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

const SUFFIX: &[u8] = b".tmp";

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary name next to `target`: `{target}.{pid}.{sequence}.tmp`.
pub fn temp_path(target: &Path) -> PathBuf {
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let mut name = target.as_os_str().to_owned();
    name.push(format!(".{}.{sequence}.tmp", std::process::id()));
    PathBuf::from(name)
}

/// Atomically replaces (or creates) `target` with a file holding `bytes`,
/// created with permission bits `mode & 0o666` less the umask.
pub fn write(target: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let temp = temp_path(target);
    let fail = |operation, path: &Path, path2: Option<&Path>, source| Error {
        operation,
        path: path.to_owned(),
        path2: path2.map(Path::to_owned),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & 0o666)
        .open(&temp)
        .map_err(|e| fail(Operation::Create, &temp, None, e))?;
    let written = file.write_all(bytes).and_then(|()| file.flush());
    drop(file);
    let result = written
        .map_err(|e| fail(Operation::Write, &temp, None, e))
        .and_then(|()| {
            std::fs::rename(&temp, target)
                .map_err(|e| fail(Operation::Rename, &temp, Some(target), e))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Atomically makes `target` a hard link to `existing`, replacing what
/// `target` was.
pub fn replace_with_hard_link(existing: &Path, target: &Path) -> Result<(), Error> {
    let temp = temp_path(target);
    std::fs::hard_link(existing, &temp).map_err(|source| Error {
        operation: Operation::Link,
        path: existing.to_owned(),
        path2: Some(temp.clone()),
        source,
    })?;
    std::fs::rename(&temp, target).map_err(|source| {
        let _ = std::fs::remove_file(&temp);
        Error {
            operation: Operation::Rename,
            path: temp.clone(),
            path2: Some(target.to_owned()),
            source,
        }
    })
}

/// If `file_name` is a temporary name made by [`temp_path`]: the name of
/// the target it stood in for, and the process id that made it.
pub fn temp_owner(file_name: &[u8]) -> Option<(&[u8], u32)> {
    let stem = file_name.strip_suffix(SUFFIX)?;
    let mut parts = stem.rsplitn(3, |&b| b == b'.');
    let sequence = parts.next()?;
    let pid = parts.next()?;
    let target = parts.next().filter(|base| !base.is_empty())?;
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if !digits(sequence) || !digits(pid) {
        return None;
    }
    Some((target, std::str::from_utf8(pid).ok()?.parse().ok()?))
}

fn process_is_gone(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only asks whether the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    !alive
}

/// Removes, from `dir`, the temporary files of processes that no longer
/// run, for targets whose name ends in `target_suffix` (so that a folder
/// shared with other files only loses what was certainly ours). Returns
/// how many were removed; a missing `dir` is not an error.
pub fn sweep(dir: &Path, target_suffix: &[u8]) -> io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(err),
    };
    let names = entries
        .map(|entry| entry.map(|e| e.file_name()))
        .collect::<io::Result<Vec<_>>>()?;
    Ok(sweep_listed(
        dir,
        names.iter().map(|n| n.as_bytes()),
        target_suffix,
    ))
}

/// [`sweep`] for a folder whose names the caller has already listed.
pub fn sweep_listed<'a>(
    dir: &Path,
    names: impl IntoIterator<Item = &'a [u8]>,
    target_suffix: &[u8],
) -> usize {
    // Our own pid is asked only once a temporary name turns up: a clean
    // folder (nearly every one) costs no system call.
    names
        .into_iter()
        .filter(|name| {
            temp_owner(name).is_some_and(|(target, owner)| {
                target.ends_with(target_suffix)
                    && owner != std::process::id()
                    && process_is_gone(owner)
            })
        })
        .filter(|name| std::fs::remove_file(dir.join(std::ffi::OsStr::from_bytes(name))).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_round_trip() {
        let temp = temp_path(Path::new("/x/__pycache__/m.cpython-314.pyc"));
        let name = temp.file_name().unwrap().as_bytes();
        assert_eq!(
            temp_owner(name),
            Some((&b"m.cpython-314.pyc"[..], std::process::id()))
        );
        assert_eq!(temp_owner(b"m.cpython-314.pyc"), None);
        assert_eq!(temp_owner(b"m.cpython-314.pyc.140234567890"), None);
        assert_eq!(temp_owner(b".12.3.tmp"), None);
    }

    #[test]
    fn sweep_spares_live_processes() {
        let dir = tempfile::tempdir().unwrap();
        let mine = temp_path(&dir.path().join("a.pyc"));
        std::fs::write(&mine, b"").unwrap();
        // pid 1 is always alive; u32::MAX is never a process.
        let init = dir.path().join("b.pyc.1.0.tmp");
        let dead = dir.path().join(format!("c.pyc.{}.0.tmp", i32::MAX));
        let other = dir.path().join(format!("notes.txt.{}.0.tmp", i32::MAX));
        for path in [&init, &dead, &other] {
            std::fs::write(path, b"").unwrap();
        }
        assert_eq!(sweep(dir.path(), b".pyc").unwrap(), 1);
        assert!(mine.exists() && init.exists() && !dead.exists() && other.exists());
    }

    #[test]
    fn failed_write_leaves_target_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t.pyc");
        std::fs::write(&target, b"old").unwrap();
        // Renaming a file over a directory fails after the temp is written.
        let blocker = dir.path().join("d.pyc");
        std::fs::create_dir(&blocker).unwrap();
        std::fs::write(blocker.join("keep"), b"").unwrap();
        let err = write(&blocker, b"new", 0o644).unwrap_err();
        assert_eq!(err.operation, Operation::Rename);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
    }
}
