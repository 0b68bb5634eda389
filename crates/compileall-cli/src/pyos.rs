//! Python's `os` functions as compileall and py_compile call them, on real
//! files: `os.listdir`, `os.makedirs`, `int(os.stat(path).st_mtime)`, and
//! `os.path.dirname`/`os.path.join` on `Path`s (the byte rules themselves
//! are `pycache_paths::pathbytes`).

use std::ffi::{OsStr, OsString};
use std::fs::{FileType, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use pycache_paths::pathbytes;

/// `int(st.st_mtime)`: CPython builds the float from seconds plus
/// nanoseconds, and the rounding of that sum can carry into the seconds.
pub(crate) fn mtime(meta: &Metadata) -> i64 {
    (meta.mtime() as f64 + meta.mtime_nsec() as f64 * 1e-9) as i64
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

/// `os.listdir(dir)`, with the file type of each entry where the listing
/// tells it; like Python, `dir` may be empty (and then fails).
pub(crate) fn listdir(dir: &Path) -> io::Result<Vec<(OsString, Option<FileType>)>> {
    std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| (e.file_name(), e.file_type().ok())))
        .collect()
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
