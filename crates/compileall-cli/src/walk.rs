//! `compileall._walk_dir`: the sorted, depth-first listing of a directory
//! tree, done in parallel but delivered in CPython's order.

use std::ffi::{OsStr, OsString};
use std::fs::{FileType, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use bstr::ByteSlice;
use bytecode::CompilerProcess;
use pycache_paths::compileall::DestinationRewrite;
use rayon::prelude::*;

use crate::options::Quiet;
use crate::pyos;
use crate::visit::{Source, Visit};

/// What every file of one `compile_dir` call shares.
pub(crate) struct Walk<'a> {
    /// `quiet`, which decides the `Listing` and `Can't list` lines.
    pub quiet: Quiet,
    /// The `ddir`/`stripdir`/`prependdir` its files get.
    pub rewrite: &'a Arc<DestinationRewrite>,
    /// The process CPython compiles its files in.
    pub process: CompilerProcess,
}

impl Walk<'_> {
    /// Walks `dir` like `_walk_dir(dir, maxlevels, quiet)`: `Listing` and
    /// `Can't list` visits per `quiet`, and a `File` visit (with its
    /// `stat()`, if that succeeded) for every entry that is not a directory.
    pub fn walk(&self, dir: &Path, maxlevels: i64) -> Vec<Visit> {
        let mut out = Vec::new();
        if self.quiet.prints_progress() {
            out.push(Visit::Listing(dir.to_owned()));
        }
        let mut entries = match pyos::listdir(dir) {
            Ok(entries) => entries,
            Err(_) => {
                if self.quiet.prints_errors() {
                    out.push(Visit::CantList(dir.to_owned()));
                }
                return out;
            }
        };
        entries.sort_by(|(a, _), (b, _)| pystr::cmp(a.as_bytes(), b.as_bytes()));
        sweep_leftovers(dir, &entries);
        let children: Vec<Vec<Visit>> = entries
            .par_iter()
            .filter(|(name, _)| name.as_bytes() != b"__pycache__")
            .map(|(name, kind)| self.entry(dir, name, *kind, maxlevels))
            .collect();
        out.extend(children.into_iter().flatten());
        out
    }

    /// One entry of `dir`'s listing: a file to compile, or a folder to walk.
    fn entry(
        &self,
        dir: &Path,
        name: &OsStr,
        kind: Option<FileType>,
        maxlevels: i64,
    ) -> Vec<Visit> {
        let fullname = pyos::join(dir, name);
        // The listing's file type answers `os.path.isdir` without a `stat`
        // for plain files and folders; symlinks need one. A source's `stat`
        // (its mtime decides staleness) is taken here, while the
        // interpreter may still be starting.
        let (is_dir, is_link, meta) = match kind {
            Some(kind) if kind.is_dir() => (true, false, None),
            Some(kind) if kind.is_file() && name.as_bytes().ends_with_str(".py") => {
                (false, false, std::fs::metadata(&fullname).ok())
            }
            Some(kind) if kind.is_file() => (false, false, None),
            _ => {
                let meta = std::fs::metadata(&fullname).ok();
                let is_dir = meta.as_ref().is_some_and(Metadata::is_dir);
                let is_link =
                    std::fs::symlink_metadata(&fullname).is_ok_and(|m| m.file_type().is_symlink());
                (is_dir, is_link, meta)
            }
        };
        if !is_dir {
            return vec![Visit::File(Source {
                fullname,
                rewrite: Arc::clone(self.rewrite),
                regular: kind.is_some_and(|k| k.is_file()),
                meta,
                process: self.process,
                walked: true,
            })];
        }
        if maxlevels > 0 && name != "." && name != ".." && !is_link {
            self.walk(&fullname, maxlevels - 1)
        } else {
            Vec::new()
        }
    }
}

/// Removes what killed runs left in this folder and its `__pycache__`
/// (temporary pycs of dead processes), while the listing is at hand: the
/// next run after an interruption leaves nothing behind. Pycs kept under
/// a `pycache_prefix` are swept once the target is known.
fn sweep_leftovers(dir: &Path, entries: &[(OsString, Option<FileType>)]) {
    atomic_file::sweep_listed(dir, entries.iter().map(|(n, _)| n.as_bytes()), b".pyc");
    if entries.iter().any(|(n, _)| n.as_bytes() == b"__pycache__") {
        let _ = atomic_file::sweep(&pyos::join(dir, OsStr::new("__pycache__")), b".pyc");
    }
}
