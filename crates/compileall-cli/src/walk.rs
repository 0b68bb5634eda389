//! `compileall._walk_dir`: the sorted, depth-first listing of a directory
//! tree, done in parallel but delivered in CPython's order.

use std::ffi::{OsStr, OsString};
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytecode::CompilerProcess;
use rayon::prelude::*;

use crate::Rewrite;
use crate::plan::Item;

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
    let mut names = match list(dir) {
        Ok(names) => names,
        Err(_) => {
            if quiet < 2 {
                out.push(Item::CantList(dir.to_owned()));
            }
            return out;
        }
    };
    names.sort_by(|a, b| pystr::cmp(a.as_bytes(), b.as_bytes()));
    let children: Vec<Vec<Item>> = names
        .par_iter()
        .filter(|name| name.as_bytes() != b"__pycache__")
        .map(|name| {
            let fullname = join(dir, name);
            let meta = std::fs::metadata(&fullname).ok();
            if !meta.as_ref().is_some_and(Metadata::is_dir) {
                return vec![Item::File {
                    fullname,
                    rewrite: Arc::clone(rewrite),
                    meta,
                    process,
                }];
            }
            let is_link =
                std::fs::symlink_metadata(&fullname).is_ok_and(|m| m.file_type().is_symlink());
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

/// `os.listdir(dir)`; like Python, `dir` may be empty (and then fails).
fn list(dir: &Path) -> std::io::Result<Vec<OsString>> {
    std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.file_name()))
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
