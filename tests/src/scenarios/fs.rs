//! The scratch folder a scenario runs in: building its tree, applying setup
//! steps, and recording everything left in it.

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::text::{self, Bytes, Mode};
use super::{Entry, Found, Kind, Node, Setup};

/// Files up to this size are recorded whole; larger ones by fingerprint.
pub const CONTENTS_LIMIT: usize = 4096;

/// What the random part of every scratch folder's name becomes in records.
pub const PLACEHOLDER: &str = "@@@@@@@@@@";

/// A fresh `/tmp/cas-XXXXXXXXXX` (always the same length): the tree root
/// `t/` is the working directory, `o/` is "outside the tree".
pub struct Scratch {
    dir: tempfile::TempDir,
    /// `…/t`, the tree's root and the run's working directory.
    pub root: PathBuf,
    /// `…/o`, a folder outside the tree.
    pub out: PathBuf,
    tag: String,
}

impl Scratch {
    /// A new, empty scratch folder; `tag` is the interpreter's cache tag
    /// that `{TAG}` stands for.
    pub fn new(tag: &str) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("cas-")
            .rand_bytes(PLACEHOLDER.len())
            .tempdir_in("/tmp")
            .expect("creating a scratch folder in /tmp");
        let root = dir.path().join("t");
        let out = dir.path().join("o");
        for path in [dir.path(), &root, &out] {
            if path != dir.path() {
                std::fs::create_dir(path).unwrap();
            }
            set_mode(path, 0o755);
        }
        Scratch {
            dir,
            root,
            out,
            tag: tag.to_owned(),
        }
    }

    /// The scratch folder itself (HOME of the runs).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `{ROOT}`, `{OUT}` and `{TAG}` replaced by this folder's values.
    pub fn expand(&self, bytes: &[u8]) -> Vec<u8> {
        let bytes = text::replace_all(bytes, b"{ROOT}", self.root.as_os_str().as_bytes());
        let bytes = text::replace_all(&bytes, b"{OUT}", self.out.as_os_str().as_bytes());
        text::replace_all(&bytes, b"{TAG}", self.tag.as_bytes())
    }

    /// [`Scratch::expand`] as an `OsString`.
    pub fn expand_os(&self, bytes: &[u8]) -> OsString {
        OsStr::from_bytes(&self.expand(bytes)).to_owned()
    }

    /// A tree path (relative to the root; `../o/…` is outside) made absolute.
    pub fn path_of(&self, relative: &Bytes) -> PathBuf {
        self.root.join(self.expand_os(&relative.0))
    }

    /// Hides the random part of this folder's name wherever it appears
    /// (same length, so marshal length prefixes in pycs stay right).
    pub fn hide(&self, bytes: &[u8]) -> Vec<u8> {
        let name = self.dir.path().file_name().unwrap().as_bytes();
        let hidden: Vec<u8> = [&b"cas-"[..], PLACEHOLDER.as_bytes()].concat();
        text::replace_all(bytes, name, &hidden)
    }

    /// Creates the tree's entries, in order.
    pub fn build(&self, tree: &[Entry]) {
        build(&self.root, tree, &|bytes| self.expand(bytes));
    }

    /// Applies one setup step (other than running CPython).
    pub fn apply(&self, step: &Setup) {
        match step {
            Setup::Compile { .. } => unreachable!("run by the caller"),
            Setup::Write {
                path,
                contents,
                mtime,
            } => {
                let path = self.path_of(path);
                let previous = std::fs::symlink_metadata(&path).ok();
                std::fs::write(&path, self.expand(&contents.0)).unwrap();
                match mtime {
                    Some(mtime) => set_mtime(&path, *mtime, 0),
                    None => {
                        let previous = previous.expect("Write without mtime needs a file");
                        set_mtime(&path, previous.mtime(), previous.mtime_nsec() as u32);
                    }
                }
            }
            Setup::Touch {
                path,
                mtime,
                mtime_nsec,
            } => set_mtime(&self.path_of(path), *mtime, *mtime_nsec),
            Setup::Chmod { path, mode } => set_mode(&self.path_of(path), mode.0),
            Setup::Remove { path } => {
                let path = self.path_of(path);
                if std::fs::symlink_metadata(&path).unwrap().is_dir() {
                    std::fs::remove_dir_all(&path).unwrap();
                } else {
                    std::fs::remove_file(&path).unwrap();
                }
            }
            Setup::Symlink { path, target } => {
                let path = self.path_of(path);
                make_parents(&path);
                std::os::unix::fs::symlink(self.expand_os(&target.0), &path).unwrap();
            }
            Setup::Mkdir { path } => {
                let path = self.path_of(path);
                make_parents(&path);
                std::fs::create_dir(&path).unwrap();
                set_mode(&path, 0o755);
            }
            Setup::Fifo { path } => {
                let path = self.path_of(path);
                make_parents(&path);
                mkfifo(&path);
                set_mode(&path, 0o644);
            }
            Setup::Rename { path, to } => {
                std::fs::rename(self.path_of(path), self.path_of(to)).unwrap()
            }
            Setup::Truncate { path, len } => std::fs::File::options()
                .write(true)
                .open(self.path_of(path))
                .unwrap()
                .set_len(*len)
                .unwrap(),
        }
    }

    /// Everything in the tree and outside folder, sorted by path, with the
    /// scratch folder's name hidden; and the groups of hard links.
    pub fn snapshot(&self) -> (Vec<Found>, Vec<Vec<Bytes>>) {
        let hide = |bytes: &[u8]| self.hide(bytes);
        snapshot_of(&[(&self.root, &b""[..]), (&self.out, &b"../o/"[..])], &hide)
    }
}

/// Creates `tree`'s entries under the existing folder `root`, in order;
/// `expand` rewrites paths, contents and link targets first.
pub fn build(root: &Path, tree: &[Entry], expand: &dyn Fn(&[u8]) -> Vec<u8>) {
    let expand_os = |bytes: &[u8]| OsString::from_vec(expand(bytes));
    let mut modes = Vec::new();
    for entry in tree {
        let path = root.join(expand_os(&entry.path.0));
        make_parents(&path);
        let default = match &entry.node {
            Node::Dir => {
                // Listed after its contents only to get a mode.
                if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                    std::fs::create_dir(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
                }
                0o755
            }
            Node::File {
                contents,
                mtime,
                mtime_nsec,
            } => {
                std::fs::write(&path, expand(&contents.0))
                    .unwrap_or_else(|e| panic!("writing {path:?}: {e}"));
                set_mtime(&path, *mtime, *mtime_nsec);
                0o644
            }
            Node::Symlink { target } => {
                std::os::unix::fs::symlink(expand_os(&target.0), &path).unwrap();
                continue;
            }
            Node::Fifo => {
                mkfifo(&path);
                0o644
            }
        };
        modes.push((path, entry.mode.map_or(default, |m| m.0)));
    }
    // Modes last, innermost first: nothing is created in a folder after it
    // got its final mode.
    for (path, mode) in modes.iter().rev() {
        set_mode(path, *mode);
    }
}

/// Creates the missing folders above `path` (mode 0o755).
fn make_parents(path: &Path) {
    let mut missing = Vec::new();
    let mut parent = path.parent();
    while let Some(dir) = parent {
        if std::fs::symlink_metadata(dir).is_ok() {
            break;
        }
        missing.push(dir.to_owned());
        parent = dir.parent();
    }
    for dir in missing.iter().rev() {
        std::fs::create_dir(dir).unwrap();
        set_mode(dir, 0o755);
    }
}

/// Everything under `root`, as a scenario's record lists it (kind, mode,
/// contents or fingerprint, link target; sorted by path), and the groups
/// of hard links; paths are relative to `root`.
pub fn snapshot(root: &Path) -> (Vec<Found>, Vec<Vec<Bytes>>) {
    snapshot_of(&[(root, &b""[..])], &|bytes| bytes.to_vec())
}

/// Everything under each folder, its paths prefixed with the folder's
/// prefix; `hide` rewrites paths, contents and link targets.
fn snapshot_of(
    folders: &[(&Path, &[u8])],
    hide: &dyn Fn(&[u8]) -> Vec<u8>,
) -> (Vec<Found>, Vec<Vec<Bytes>>) {
    let mut found = Vec::new();
    let mut inodes: BTreeMap<(u64, u64), Vec<Bytes>> = BTreeMap::new();
    for (dir, prefix) in folders {
        visit(dir, prefix, hide, &mut found, &mut inodes);
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    let mut links: Vec<Vec<Bytes>> = inodes
        .into_values()
        .filter(|paths| paths.len() > 1)
        .map(|mut paths| {
            paths.sort();
            paths
        })
        .collect();
    links.sort();
    (found, links)
}

fn visit(
    dir: &Path,
    prefix: &[u8],
    hide: &dyn Fn(&[u8]) -> Vec<u8>,
    found: &mut Vec<Found>,
    inodes: &mut BTreeMap<(u64, u64), Vec<Bytes>>,
) {
    let mut names: Vec<OsString> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {dir:?}: {e}"))
        .map(|item| item.unwrap().file_name())
        .collect();
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in names {
        let path = dir.join(&name);
        let relative = Bytes(hide(&[prefix, name.as_bytes()].concat()));
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let file_type = meta.file_type();
        let kind = if file_type.is_symlink() {
            Kind::Symlink
        } else if file_type.is_dir() {
            Kind::Dir
        } else if file_type.is_file() {
            Kind::File
        } else if std::os::unix::fs::FileTypeExt::is_fifo(&file_type) {
            Kind::Fifo
        } else {
            Kind::Other
        };
        let mut entry = Found {
            path: relative.clone(),
            kind,
            mode: Mode(meta.mode() & 0o7777),
            contents: None,
            digest: None,
            target: None,
        };
        match kind {
            Kind::File => {
                let bytes = hide(&std::fs::read(&path).unwrap());
                if bytes.len() <= CONTENTS_LIMIT {
                    entry.contents = Some(Bytes(bytes));
                } else {
                    entry.digest = Some(digest(&bytes));
                }
                if meta.nlink() > 1 {
                    inodes
                        .entry((meta.dev(), meta.ino()))
                        .or_default()
                        .push(relative.clone());
                }
            }
            Kind::Symlink => {
                let target = std::fs::read_link(&path).unwrap();
                entry.target = Some(Bytes(hide(target.as_os_str().as_bytes())));
            }
            _ => {}
        }
        found.push(entry);
        if kind == Kind::Dir {
            let child_prefix = [relative.0.as_slice(), b"/"].concat();
            // The child prefix was hidden already; re-hiding is a no-op.
            visit(&path, &child_prefix, hide, found, inodes);
        }
    }
}

/// `fnv1a64:<hash>:<length>` of large contents.
pub fn digest(bytes: &[u8]) -> String {
    format!("fnv1a64:{:016x}:{}", text::fnv1a(bytes), bytes.len())
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {path:?}: {e}"));
}

/// Sets a file's mtime to `secs + nsec / 1e9` (negative `secs` reach
/// before 1970).
fn set_mtime(path: &Path, secs: i64, nsec: u32) {
    let when = if secs >= 0 {
        SystemTime::UNIX_EPOCH + Duration::new(secs as u64, nsec)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
            + Duration::from_nanos(u64::from(nsec))
    };
    std::fs::File::options()
        .write(true)
        .open(path)
        .or_else(|_| std::fs::File::open(path))
        .unwrap_or_else(|e| panic!("opening {path:?}: {e}"))
        .set_modified(when)
        .unwrap_or_else(|e| panic!("setting the mtime of {path:?}: {e}"));
}

fn mkfifo(path: &Path) {
    let c_path = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    let status = unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) };
    assert_eq!(
        status,
        0,
        "mkfifo {path:?}: {}",
        std::io::Error::last_os_error()
    );
}
