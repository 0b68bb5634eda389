//! `compileall._walk_dir`: the sorted, depth-first listing of a directory
//! tree, done in parallel but delivered in CPython's order.

use std::ffi::{OsStr, OsString};
use std::fs::{FileType, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytecode::CompilerProcess;
use rayon::prelude::*;

use crate::Rewrite;
use crate::plan::{Item, Source};

/// Walks `dir` like `_walk_dir(dir, maxlevels, quiet)`: `Listing` and
/// `Can't list` items per `quiet`, and a `File` item (with its `stat()`, if
/// that succeeded) for every entry that is not a directory.
pub(crate) fn walk(
    dir: &Path,
    maxlevels: i64,
    quiet: u8,
    rewrite: &Arc<Rewrite>,
    process: CompilerProcess,
) -> Vec<Item> {
    let mut out = Vec::new();
    if quiet == 0 {
        out.push(Item::Listing(dir.to_owned()));
    }
    let mut entries = match list(dir) {
        Ok(entries) => entries,
        Err(_) => {
            if quiet < 2 {
                out.push(Item::CantList(dir.to_owned()));
            }
            return out;
        }
    };
    entries.sort_by(|(a, _), (b, _)| pystr::cmp(a.as_bytes(), b.as_bytes()));
    sweep_leftovers(dir, &entries);
    let children: Vec<Vec<Item>> = entries
        .par_iter()
        .filter(|(name, _)| name.as_bytes() != b"__pycache__")
        .map(|(name, kind)| {
            let fullname = join(dir, name);
            // The listing's file type answers `os.path.isdir` without a
            // `stat` for plain files and folders; symlinks need one. A
            // source's `stat` (its mtime decides staleness) is taken here,
            // while the interpreter may still be starting.
            let (is_dir, is_link, meta) = match kind {
                Some(kind) if kind.is_dir() => (true, false, None),
                Some(kind) if kind.is_file() && name.as_bytes().ends_with(b".py") => {
                    (false, false, std::fs::metadata(&fullname).ok())
                }
                Some(kind) if kind.is_file() => (false, false, None),
                _ => {
                    let meta = std::fs::metadata(&fullname).ok();
                    let is_dir = meta.as_ref().is_some_and(Metadata::is_dir);
                    let is_link = std::fs::symlink_metadata(&fullname)
                        .is_ok_and(|m| m.file_type().is_symlink());
                    (is_dir, is_link, meta)
                }
            };
            if !is_dir {
                return vec![Item::File(Source {
                    fullname,
                    rewrite: Arc::clone(rewrite),
                    regular: kind.is_some_and(|k| k.is_file()),
                    meta,
                    process,
                    walked: true,
                })];
            }
            if maxlevels > 0 && name != "." && name != ".." && !is_link {
                walk(&fullname, maxlevels - 1, quiet, rewrite, process)
            } else {
                Vec::new()
            }
        })
        .collect();
    out.extend(children.into_iter().flatten());
    out
}

/// Removes what killed runs left in this folder and its `__pycache__`
/// (temporary pycs of dead processes), while the listing is at hand: the
/// next run after an interruption leaves nothing behind. Pycs kept under
/// a `pycache_prefix` are swept once the target is known.
fn sweep_leftovers(dir: &Path, entries: &[(OsString, Option<FileType>)]) {
    atomic_file::sweep_listed(dir, entries.iter().map(|(n, _)| n.as_bytes()), b".pyc");
    if entries.iter().any(|(n, _)| n.as_bytes() == b"__pycache__") {
        let _ = atomic_file::sweep(&join(dir, OsStr::new("__pycache__")), b".pyc");
    }
}

/// `os.listdir(dir)`; like Python, `dir` may be empty (and then fails).
fn list(dir: &Path) -> std::io::Result<Vec<(OsString, Option<FileType>)>> {
    std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| (e.file_name(), e.file_type().ok())))
        .collect()
}

/// `os.path.join(dir, name)` for a name from a listing (never absolute).
fn join(dir: &Path, name: &OsStr) -> PathBuf {
    let dir = dir.as_os_str().as_bytes();
    let mut path = Vec::with_capacity(dir.len() + 1 + name.len());
    path.extend_from_slice(dir);
    if !dir.is_empty() && !dir.ends_with(b"/") {
        path.push(b'/');
    }
    path.extend_from_slice(name.as_bytes());
    PathBuf::from(OsStr::from_bytes(&path))
}
