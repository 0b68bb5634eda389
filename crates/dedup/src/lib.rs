//! `compileall --hardlink-dupes`: when the pycs of two optimization levels
//! of one source have identical bytes (a module without docstrings or
//! asserts compiles the same at `-O` as without), the later one becomes a
//! hard link to the earlier, which saves disk space in distribution
//! packages.
//!
//! CPython compares with `filecmp.cmp(shallow=False)`, then unlinks the
//! later file and links it to the earlier, leaving a moment with no file at
//! all. Here the link is made under a temporary name and renamed over the
//! later file ([`atomic_file::replace_with_hard_link`]), so the path always
//! holds a complete pyc.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let opt0 = dir.path().join("m.cpython-314.pyc");
//! let opt1 = dir.path().join("m.cpython-314.opt-1.pyc");
//! std::fs::write(&opt0, b"same")?;
//! std::fs::write(&opt1, b"same")?;
//! assert_eq!(dedup::link_if_identical(&opt0, &opt1)?, dedup::Outcome::Linked);
//!
//! use std::os::unix::fs::MetadataExt;
//! assert_eq!(std::fs::metadata(&opt0)?.ino(), std::fs::metadata(&opt1)?.ino());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// What [`link_if_identical`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The files were identical; the later one is now a link to the earlier.
    Linked,
    /// The files differ (or one is not a regular file); nothing changed.
    Different,
}

/// A failure, naming the paths the equivalent Python call would name.
#[derive(Debug)]
pub struct Error {
    /// The first path of the failing call.
    pub path: PathBuf,
    /// The second path, for the linking step (`'earlier' -> 'later'`).
    pub path2: Option<PathBuf>,
    /// The OS error.
    pub source: io::Error,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path2 {
            Some(p2) => write!(
                f,
                "{} -> {}: {}",
                self.path.display(),
                p2.display(),
                self.source
            ),
            None => write!(f, "{}: {}", self.path.display(), self.source),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// `filecmp.cmp(a, b, shallow=False)`: both regular files with equal bytes.
pub fn same_contents(a: &Path, b: &Path) -> Result<bool, Error> {
    let stat = |path: &Path| {
        std::fs::metadata(path).map_err(|source| Error {
            path: path.to_owned(),
            path2: None,
            source,
        })
    };
    let (meta_a, meta_b) = (stat(a)?, stat(b)?);
    if !meta_a.is_file() || !meta_b.is_file() || meta_a.len() != meta_b.len() {
        return Ok(false);
    }
    let read = |path: &Path| {
        let mut bytes = Vec::with_capacity(meta_a.len() as usize);
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map(|_| bytes)
            .map_err(|source| Error {
                path: path.to_owned(),
                path2: None,
                source,
            })
    };
    Ok(read(a)? == read(b)?)
}

/// Replaces `later` by a hard link to `earlier`, atomically.
pub fn link(earlier: &Path, later: &Path) -> Result<(), Error> {
    atomic_file::replace_with_hard_link(earlier, later).map_err(|err| Error {
        path: earlier.to_owned(),
        path2: Some(later.to_owned()),
        source: err.source,
    })
}

/// Compares `later` with `earlier` as compileall does and, if identical,
/// makes `later` a hard link to `earlier`.
pub fn link_if_identical(earlier: &Path, later: &Path) -> Result<Outcome, Error> {
    if !same_contents(later, earlier)? {
        return Ok(Outcome::Different);
    }
    link(earlier, later)?;
    Ok(Outcome::Linked)
}
