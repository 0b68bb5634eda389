//! The cache folder's safety rules: created private to its user, refused
//! when another user owns it or others may write to it, and no symlink
//! inside it (one could lead reads and writes out of the cache).

use std::fmt;
use std::fs::{self, DirBuilder, Metadata};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// The folder inside the cache folder that holds this format's entries.
pub(crate) const FORMAT_DIR: &str = "pyc-v1";

/// The tag that tells backup tools the folder is a cache
/// (<https://bford.info/cachedir/>).
const CACHEDIR_TAG: &[u8] =
    b"Signature: 8a477f597d28d172789f06886806bc55\n# A cache of compiled Python code made by compileall: https://github.com/compileall-rs/compileall\n";

/// Why a cache folder is not used.
#[derive(Debug)]
pub enum OpenError {
    /// It could not be created or read.
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// It is not a folder.
    NotAFolder(PathBuf),
    /// Another user owns it.
    NotYours {
        /// The path concerned.
        path: PathBuf,
        /// Its owner.
        owner: u32,
    },
    /// Users other than its owner may write to it.
    Writable(PathBuf),
    /// A symlink inside the cache.
    Symlink(PathBuf),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            OpenError::NotAFolder(path) => write!(f, "{} is not a folder", path.display()),
            OpenError::NotYours { path, owner } => write!(
                f,
                "{} belongs to user {owner}, not to this user ({})",
                path.display(),
                effective_uid()
            ),
            OpenError::Writable(path) => write!(
                f,
                "{} may be written by other users (group or other write permission)",
                path.display()
            ),
            OpenError::Symlink(path) => write!(
                f,
                "{} is a symlink inside the cache, which could lead out of it",
                path.display()
            ),
        }
    }
}

impl std::error::Error for OpenError {}

/// The user this process acts as (asked once: it is checked for every
/// entry read).
#[allow(unsafe_code)]
pub(crate) fn effective_uid() -> u32 {
    static EUID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    // SAFETY: geteuid has no preconditions and cannot fail.
    *EUID.get_or_init(|| unsafe { libc::geteuid() })
}

/// Creates `dir` (private) if it does not exist, checks it, and returns
/// its format folder, created and checked the same way.
pub(crate) fn prepare(dir: &Path) -> Result<PathBuf, OpenError> {
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| OpenError::Io { path, source }
    };
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    create_private(dir).map_err(io_error(dir))?;
    // The folder named may be reached through a symlink (the user chose
    // it); what it leads to must be private.
    let meta = fs::metadata(dir).map_err(io_error(dir))?;
    check_private(dir, &meta)?;
    if let Err(source) = write_tag(dir) {
        // A read-only cache can still be read.
        if source.kind() != io::ErrorKind::ReadOnlyFilesystem
            && source.kind() != io::ErrorKind::PermissionDenied
        {
            return Err(OpenError::Io {
                path: dir.join("CACHEDIR.TAG"),
                source,
            });
        }
    }
    let format_dir = dir.join(FORMAT_DIR);
    private_folder(&format_dir)?;
    Ok(format_dir)
}

/// Creates `path` (and any missing parent) with mode 0700 if need be, and
/// checks it is a real folder, not a symlink, that is the user's own and
/// that no one else may write to: the rule for a folder inside the cache,
/// and for any per-user folder of this program's (compileall's interpreter
/// records).
///
/// ```
/// let home = tempfile::tempdir()?;
/// let records = home.path().join(".cache/compileall/interpreters");
/// pyc_cache::private_folder(&records)?;
/// std::os::unix::fs::symlink(&records, home.path().join("link"))?;
/// assert!(pyc_cache::private_folder(&home.path().join("link")).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn private_folder(path: &Path) -> Result<(), OpenError> {
    create_private_all(path).map_err(|source| OpenError::Io {
        path: path.to_owned(),
        source,
    })?;
    let meta = fs::symlink_metadata(path).map_err(|source| OpenError::Io {
        path: path.to_owned(),
        source,
    })?;
    if meta.file_type().is_symlink() {
        return Err(OpenError::Symlink(path.to_owned()));
    }
    check_private(path, &meta)
}

/// `mkdir(path, 0o700)`, fine if it exists (whatever it is: the checks
/// after this look at it without following links).
fn create_private(path: &Path) -> io::Result<()> {
    match DirBuilder::new().mode(0o700).create(path) {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// [`create_private`], parents included (also 0700).
fn create_private_all(path: &Path) -> io::Result<()> {
    match DirBuilder::new().recursive(true).mode(0o700).create(path) {
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

fn check_private(path: &Path, meta: &Metadata) -> Result<(), OpenError> {
    if !meta.is_dir() {
        return Err(OpenError::NotAFolder(path.to_owned()));
    }
    if meta.uid() != effective_uid() {
        return Err(OpenError::NotYours {
            path: path.to_owned(),
            owner: meta.uid(),
        });
    }
    if meta.mode() & 0o022 != 0 {
        return Err(OpenError::Writable(path.to_owned()));
    }
    Ok(())
}

fn write_tag(dir: &Path) -> io::Result<()> {
    let tag = dir.join("CACHEDIR.TAG");
    match fs::symlink_metadata(&tag) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            atomic_file::write(&tag, CACHEDIR_TAG, 0o600).map_err(|err| err.source)
        }
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_new_cache_is_private_and_tagged() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("deep/cache");
        let format_dir = prepare(&dir).unwrap();
        for folder in [&dir, &format_dir] {
            let mode = fs::metadata(folder).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{}", folder.display());
        }
        assert!(
            fs::read(dir.join("CACHEDIR.TAG"))
                .unwrap()
                .starts_with(b"Signature: 8a477f")
        );
    }

    #[test]
    fn a_folder_others_may_write_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(prepare(&dir), Err(OpenError::Writable(_))));
    }

    #[test]
    fn a_symlink_inside_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        let elsewhere = tmp.path().join("elsewhere");
        fs::create_dir_all(&dir).unwrap();
        fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.join(FORMAT_DIR)).unwrap();
        assert!(matches!(prepare(&dir), Err(OpenError::Symlink(_))));
    }
}
