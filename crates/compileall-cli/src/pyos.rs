//! Python's `os` functions as compileall and py_compile call them, on real
//! files: `os.listdir`, `os.makedirs`, `os.stat` and `int(st_mtime)`, and
//! `os.path.dirname`/`os.path.join` on `Path`s (the byte rules themselves
//! are `pycache_paths::pathbytes`).
//!
//! A [`Folder`] is an open directory: listed with one `getdents` loop, and
//! its files stat'ed and opened by name relative to it, so that a tree of
//! thousands of folders costs one listing per folder and no path lookup
//! from the root per file.

use std::ffi::{OsStr, OsString};
use std::fs::Metadata;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use pycache_paths::pathbytes;
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, RawDir};

/// `int(st.st_mtime)`: CPython builds the float from seconds plus
/// nanoseconds, and the rounding of that sum can carry into the seconds.
pub(crate) fn mtime(meta: &Metadata) -> i64 {
    int_mtime(meta.mtime(), meta.mtime_nsec())
}

fn int_mtime(seconds: i64, nanoseconds: i64) -> i64 {
    (seconds as f64 + nanoseconds as f64 * 1e-9) as i64
}

/// What compileall reads of `os.stat(path)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    /// `st_mode`: the file type and the permission bits.
    pub mode: u32,
    /// `st_size`.
    pub size: u64,
    /// `st_mtime`, seconds and nanoseconds.
    pub mtime: (i64, i64),
    /// `st_dev` and `st_ino`: which file it is.
    pub identity: (u64, u64),
}

impl Stat {
    /// `os.stat(path)`, following symlinks.
    pub fn of(path: &Path) -> io::Result<Stat> {
        Ok(Stat::from(&std::fs::metadata(path)?))
    }

    /// `stat.S_ISREG(st_mode)`.
    pub fn is_file(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFREG
    }

    /// `stat.S_ISDIR(st_mode)`.
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }

    /// `stat.S_ISLNK(st_mode)` (of an `lstat`).
    pub fn is_symlink(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }

    /// `int(st.st_mtime)`.
    pub fn int_mtime(&self) -> i64 {
        int_mtime(self.mtime.0, self.mtime.1)
    }
}

impl From<&Metadata> for Stat {
    fn from(meta: &Metadata) -> Stat {
        Stat {
            mode: meta.mode(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            identity: (meta.dev(), meta.ino()),
        }
    }
}

impl From<rustix::fs::Stat> for Stat {
    // The field types differ between architectures; these are the
    // kernel's, all within the target types' ranges.
    #[allow(clippy::unnecessary_cast)]
    fn from(st: rustix::fs::Stat) -> Stat {
        Stat {
            mode: st.st_mode as u32,
            size: st.st_size as u64,
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            identity: (st.st_dev as u64, st.st_ino as u64),
        }
    }
}

/// The type of a listed entry, as the listing tells it (`None`: the file
/// system does not say, and only a `stat` can tell).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// A directory (not a symlink to one).
    Dir,
    /// A regular file (not a symlink to one).
    File,
    /// A symlink.
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

/// An open directory.
#[derive(Debug)]
pub(crate) struct Folder {
    fd: OwnedFd,
}

impl Folder {
    /// Opens `path` as a directory; like Python's `os.listdir`, an empty
    /// path fails.
    pub fn open(path: &Path) -> io::Result<Folder> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        Ok(Folder {
            fd: rustix::fs::openat(CWD, path, flags, Mode::empty())?,
        })
    }

    /// `os.listdir()`: every name but `.` and `..`, in the directory's
    /// order, with its type where the listing tells it.
    pub fn list(&self) -> io::Result<Vec<(OsString, Option<EntryKind>)>> {
        let mut buffer = vec![MaybeUninit::<u8>::uninit(); 32 * 1024];
        let mut listing = RawDir::new(&self.fd, &mut buffer);
        let mut entries = Vec::new();
        while let Some(entry) = listing.next() {
            let entry = entry?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let kind = match entry.file_type() {
                FileType::Directory => Some(EntryKind::Dir),
                FileType::RegularFile => Some(EntryKind::File),
                FileType::Symlink => Some(EntryKind::Symlink),
                FileType::Unknown => None,
                _ => Some(EntryKind::Other),
            };
            entries.push((OsStr::from_bytes(name).to_owned(), kind));
        }
        Ok(entries)
    }

    /// `os.stat(name)` (`follow`) or `os.lstat(name)` of an entry.
    pub fn stat(&self, name: &OsStr, follow: bool) -> io::Result<Stat> {
        let flags = if follow {
            AtFlags::empty()
        } else {
            AtFlags::SYMLINK_NOFOLLOW
        };
        Ok(Stat::from(rustix::fs::statat(&self.fd, name, flags)?))
    }

    /// `open(name, 'rb').read(N)` of an entry, in one `read` for a regular
    /// file (fewer bytes if the file is shorter). Non-blocking, so that a
    /// FIFO reads as empty instead of hanging the run.
    pub fn read_start<const N: usize>(&self, name: &OsStr) -> io::Result<[u8; N]> {
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let file = rustix::fs::openat(&self.fd, name, flags, Mode::empty())?;
        let mut start = [0u8; N];
        let mut filled = 0;
        while filled < N {
            match rustix::io::read(&file, &mut start[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        Ok(start)
    }
}

/// `os.path.dirname(path)`, `None` when empty.
pub(crate) fn dirname(path: &Path) -> Option<&Path> {
    let dir = pathbytes::dirname(path.as_os_str().as_bytes());
    (!dir.is_empty()).then(|| Path::new(OsStr::from_bytes(dir)))
}

/// `os.path.join(dir, name)`.
pub(crate) fn join(dir: &Path, name: &OsStr) -> PathBuf {
    let joined = pathbytes::join(dir.as_os_str().as_bytes(), &[name.as_bytes()]);
    PathBuf::from(OsStr::from_bytes(&joined))
}

/// `os.makedirs(name)` as py_compile calls it (an existing leaf is not an
/// error); the error names the directory whose creation failed.
pub(crate) fn makedirs(name: &Path) -> Result<(), (io::Error, PathBuf)> {
    match std::fs::create_dir(name) {
        Ok(()) => return Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(err) if err.kind() != io::ErrorKind::NotFound => return Err((err, name.to_owned())),
        Err(_) => {}
    }
    // A parent is missing: create it (an existing one is fine), then retry.
    let trimmed = pathbytes::rstrip_slashes(name.as_os_str().as_bytes());
    if let Some(head) = dirname(Path::new(OsStr::from_bytes(trimmed))) {
        makedirs(head)?;
    }
    match std::fs::create_dir(name) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err((err, name.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makedirs_creates_missing_parents_and_accepts_existing_leaves() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a/b/__pycache__/");
        makedirs(&deep).unwrap();
        assert!(deep.is_dir());
        makedirs(&deep).unwrap();
    }

    /// As `os.makedirs('file/__pycache__')` raises `NotADirectoryError`
    /// naming the folder it tried to create.
    #[test]
    fn makedirs_names_the_folder_it_could_not_create() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("file"), "").unwrap();
        let (err, path) = makedirs(&tmp.path().join("file/__pycache__")).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOTDIR));
        assert_eq!(path, tmp.path().join("file/__pycache__"));
    }

    #[test]
    fn dirname_is_none_for_a_bare_name() {
        assert_eq!(dirname(Path::new("m.py")), None);
        assert_eq!(dirname(Path::new("pkg/m.py")), Some(Path::new("pkg")));
        assert_eq!(
            join(Path::new("pkg/"), OsStr::new("m.py")),
            Path::new("pkg/m.py")
        );
        assert_eq!(join(Path::new(""), OsStr::new("m.py")), Path::new("m.py"));
    }
}
