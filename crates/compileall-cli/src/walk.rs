//! `compileall._walk_dir`: the sorted, depth-first listing of a directory
//! tree, done in parallel but delivered in CPython's order.

use std::ffi::{OsStr, OsString};
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::output::Chunk;

/// One item of a walk, in order.
pub(crate) enum Walked<T> {
    /// A line to print (`Listing ...` or `Can't list ...`).
    Line(Chunk),
    /// A non-directory entry, already turned into `T` by the caller.
    File(T),
}

/// Walks `dir` like `_walk_dir(dir, maxlevels, quiet)`. Each path that is
/// not a directory goes through `on_file` (in parallel), together with its
/// `stat()` if that succeeded; `repr` formats directory names for messages.
pub(crate) fn walk<T, F, R>(
    dir: &Path,
    maxlevels: i64,
    quiet: u8,
    on_file: &F,
    repr: &R,
) -> Vec<Walked<T>>
where
    T: Send,
    F: Fn(PathBuf, Option<Metadata>) -> T + Sync,
    R: Fn(&Path) -> String + Sync,
{
    let mut out = Vec::new();
    if quiet == 0 {
        out.push(Walked::Line(Chunk::line(format!(
            "Listing {}...",
            repr(dir)
        ))));
    }
    let mut names = match list(dir) {
        Ok(names) => names,
        Err(_) => {
            if quiet < 2 {
                out.push(Walked::Line(Chunk::line(format!(
                    "Can't list {}",
                    repr(dir)
                ))));
            }
            return out;
        }
    };
    names.sort_by(|a, b| pystr::cmp(a.as_bytes(), b.as_bytes()));
    let children: Vec<Vec<Walked<T>>> = names
        .par_iter()
        .filter(|name| name.as_bytes() != b"__pycache__")
        .map(|name| {
            let fullname = join(dir, name);
            let meta = std::fs::metadata(&fullname).ok();
            if !meta.as_ref().is_some_and(Metadata::is_dir) {
                return vec![Walked::File(on_file(fullname, meta))];
            }
            let is_link =
                std::fs::symlink_metadata(&fullname).is_ok_and(|m| m.file_type().is_symlink());
            if maxlevels > 0 && name != "." && name != ".." && !is_link {
                walk(&fullname, maxlevels - 1, quiet, on_file, repr)
            } else {
                Vec::new()
            }
        })
        .collect();
    out.extend(children.into_iter().flatten());
    out
}

/// `os.listdir(dir)`; like Python, `dir` may be empty (and then fails).
fn list(dir: &Path) -> std::io::Result<Vec<OsString>> {
    std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.file_name()))
        .collect()
}

/// `os.path.join(dir, name)` for a name from a listing (never absolute).
pub(crate) fn join(dir: &Path, name: &OsStr) -> PathBuf {
    let dir = dir.as_os_str().as_bytes();
    let mut path = Vec::with_capacity(dir.len() + 1 + name.len());
    path.extend_from_slice(dir);
    if !dir.is_empty() && !dir.ends_with(b"/") {
        path.push(b'/');
    }
    path.extend_from_slice(name.as_bytes());
    PathBuf::from(OsStr::from_bytes(&path))
}
