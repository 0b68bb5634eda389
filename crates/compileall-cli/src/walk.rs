//! `compileall._walk_dir`: the sorted, depth-first listing of a directory
//! tree, done in parallel but delivered in CPython's order.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bstr::ByteSlice;
use bytecode::CompilerProcess;
use pycache_paths::compileall::DestinationRewrite;
use rayon::prelude::*;

use crate::options::Quiet;
use crate::pyos::{self, EntryKind, Folder, Stat};
use crate::visit::{Pycache, Source, Visit};

/// What every file of one `compile_dir` call shares.
pub(crate) struct Walk<'a> {
    /// `quiet`, which decides the `Listing` and `Can't list` lines.
    pub quiet: Quiet,
    /// The `ddir`/`stripdir`/`prependdir` its files get.
    pub rewrite: &'a Arc<DestinationRewrite>,
    /// The process CPython compiles its files in.
    pub process: CompilerProcess,
}

/// One entry of a listing, once its type is known.
enum Found {
    /// Not a directory: a `compile_file` call.
    File(Source),
    /// A directory, and whether `_walk_dir` goes into it.
    Dir { fullname: PathBuf, walk_into: bool },
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
        let listed = Folder::open(dir).and_then(|folder| Ok((folder.list()?, folder)));
        let (mut entries, folder) = match listed {
            Ok(listed) => listed,
            Err(_) => {
                if self.quiet.prints_errors() {
                    out.push(Visit::CantList(dir.to_owned()));
                }
                return out;
            }
        };
        entries.sort_by(|(a, _), (b, _)| pystr::cmp(a.as_bytes(), b.as_bytes()));
        // The folder's own leftovers (pycs of `-b`) while the listing is at
        // hand; its `__pycache__` is swept when first opened.
        atomic_file::sweep_listed(dir, entries.iter().map(|(n, _)| n.as_bytes()), b".pyc");
        let has_pycache = entries.iter().any(|(n, _)| n.as_bytes() == b"__pycache__");
        let pycache = Arc::new(Pycache::new(dir, has_pycache));
        // Types and stats relative to the open folder, which is closed
        // before the walk goes deeper (open folders stay few).
        let found: Vec<Found> = entries
            .par_iter()
            .filter(|(name, _)| name.as_bytes() != b"__pycache__")
            .map(|(name, kind)| self.entry(&folder, dir, name, *kind, &pycache))
            .collect();
        drop(folder);
        if !found.iter().any(|f| matches!(f, Found::File(_))) {
            // No file of this folder will sweep it: now, then.
            pycache.sweep();
        }
        drop(pycache);
        let children: Vec<Vec<Visit>> = found
            .into_par_iter()
            .map(|found| match found {
                Found::File(source) => vec![Visit::File(source)],
                Found::Dir {
                    fullname,
                    walk_into,
                } if walk_into && maxlevels > 0 => self.walk(&fullname, maxlevels - 1),
                Found::Dir { .. } => Vec::new(),
            })
            .collect();
        // Exactly what is needed: a whole tree's visits pass through here.
        out.reserve_exact(children.iter().map(Vec::len).sum());
        out.extend(children.into_iter().flatten());
        out
    }

    /// One entry of `dir`'s listing: a file to compile, or a folder.
    fn entry(
        &self,
        folder: &Folder,
        dir: &Path,
        name: &OsStr,
        kind: Option<EntryKind>,
        pycache: &Arc<Pycache>,
    ) -> Found {
        let fullname = pyos::join(dir, name);
        // The listing's file type answers `os.path.isdir` without a `stat`
        // for plain files and folders; symlinks need one. A source's `stat`
        // (its mtime decides staleness) is taken here, while the
        // interpreter may still be starting.
        let (is_dir, is_link, meta) = match kind {
            Some(EntryKind::Dir) => (true, false, None),
            Some(EntryKind::File) if name.as_bytes().ends_with_str(".py") => {
                (false, false, folder.stat(name, true).ok())
            }
            Some(EntryKind::File) => (false, false, None),
            Some(EntryKind::Symlink) => {
                let meta = folder.stat(name, true).ok();
                (meta.is_some_and(|m| m.is_dir()), true, meta)
            }
            Some(EntryKind::Other) => (false, false, folder.stat(name, true).ok()),
            None => {
                // The file system does not say: `lstat`, then `stat` a
                // symlink's target.
                let lstat = folder.stat(name, false).ok();
                let is_link = lstat.is_some_and(|m| m.is_symlink());
                let meta = if is_link || lstat.is_none() {
                    folder.stat(name, true).ok()
                } else {
                    lstat
                };
                (meta.is_some_and(|m: Stat| m.is_dir()), is_link, meta)
            }
        };
        if is_dir {
            // Not a symlink, nor `os.curdir` or `os.pardir` (which the
            // listing never has, but `_walk_dir` tests for).
            let walk_into = name != "." && name != ".." && !is_link;
            return Found::Dir {
                fullname,
                walk_into,
            };
        }
        Found::File(Source {
            fullname,
            rewrite: Arc::clone(self.rewrite),
            regular: kind == Some(EntryKind::File),
            meta,
            process: self.process,
            walked: true,
            pycache: Some(Arc::clone(pycache)),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;
    use crate::options::Options;

    /// What the walk concluded about an entry: a folder (walked into or
    /// not), or a file with what `os.path.isfile` says and a source's mtime.
    fn conclusion(found: Found) -> String {
        match found {
            Found::Dir { walk_into, .. } => format!("dir, walked into: {walk_into}"),
            Found::File(source) => {
                let is_file = source
                    .meta
                    .map(|m| m.is_file())
                    .or(source.regular.then_some(true));
                let mtime = source
                    .meta
                    .filter(|_| source.fullname.extension() == Some("py".as_ref()));
                format!(
                    "file, isfile: {is_file:?}, mtime: {:?}",
                    mtime.map(|m| m.mtime)
                )
            }
        }
    }

    /// On a file system whose listing does not type its entries, `lstat`
    /// and `stat` lead to what the typed listing leads to: symlinks to
    /// folders are not walked into, broken ones are files that are not.
    #[test]
    fn untyped_entries_are_judged_as_typed_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("a.py"), "x = 1\n").unwrap();
        std::fs::write(dir.join("data.txt"), "").unwrap();
        std::fs::create_dir(dir.join("sub")).unwrap();
        symlink("sub", dir.join("link_to_dir")).unwrap();
        symlink("a.py", dir.join("link.py")).unwrap();
        symlink("nowhere", dir.join("broken.py")).unwrap();
        let rewrite = Arc::new(Options::default().rewrite());
        let walk = Walk {
            quiet: Quiet::Nothing,
            rewrite: &rewrite,
            process: CompilerProcess::PoolWorker,
        };
        let folder = Folder::open(dir).unwrap();
        let pycache = Arc::new(Pycache::new(dir, false));
        let entries = folder.list().unwrap();
        assert_eq!(entries.len(), 6);
        for (name, kind) in entries {
            assert!(
                kind.is_some(),
                "{name:?}: this file system types its entries"
            );
            let typed = conclusion(walk.entry(&folder, dir, &name, kind, &pycache));
            let untyped = conclusion(walk.entry(&folder, dir, &name, None, &pycache));
            assert_eq!(typed, untyped, "{name:?}");
        }
        let link = conclusion(walk.entry(&folder, dir, "link_to_dir".as_ref(), None, &pycache));
        assert_eq!(link, "dir, walked into: false");
        let broken = conclusion(walk.entry(&folder, dir, "broken.py".as_ref(), None, &pycache));
        assert_eq!(broken, "file, isfile: None, mtime: None");
    }
}
