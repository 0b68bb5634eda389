//! The path rules of `compileall` itself: the `dfile` that `-d`, `-s` and
//! `-p` compile into code objects, and the `-e` symlink check.
//!
//! ```
//! use std::path::Path;
//! use pycache_paths::compileall::{DestinationRewrite, dfile};
//! use pyc_format::PythonVersion;
//!
//! // `compileall -s /build/root -p / /build/root/usr/lib/mod.py`
//! let rewrite = DestinationRewrite {
//!     stripdir: Some("/build/root".into()),
//!     prependdir: Some("/".into()),
//!     ..DestinationRewrite::default()
//! };
//! let out = dfile(Path::new("/build/root/usr/lib/mod.py"), &rewrite, PythonVersion::new(3, 14)).unwrap();
//! assert_eq!(out.path.as_deref(), Some(Path::new("/usr/lib/mod.py")));
//! ```

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use bstr::ByteSlice;
use pyc_format::PythonVersion;

use crate::pathbytes;

/// The `ddir`, `stripdir` and `prependdir` arguments of
/// `compileall.compile_file`.
///
/// ```
/// use std::path::Path;
/// use pycache_paths::compileall::{DestinationRewrite, dfile};
/// use pyc_format::PythonVersion;
///
/// // compile_file('src/pkg/mod.py', ddir='/srv/app')
/// let rewrite = DestinationRewrite { ddir: Some("/srv/app".into()), ..Default::default() };
/// let out = dfile(Path::new("src/pkg/mod.py"), &rewrite, PythonVersion::new(3, 14)).unwrap();
/// assert_eq!(out.path.as_deref(), Some(Path::new("/srv/app/mod.py")));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DestinationRewrite {
    /// `-d DESTDIR` for a file named on the command line.
    pub ddir: Option<PathBuf>,
    /// `-s STRIPDIR`.
    pub stripdir: Option<PathBuf>,
    /// `-p PREPENDDIR`.
    pub prependdir: Option<PathBuf>,
}

impl DestinationRewrite {
    /// What `compile_dir(dir, ddir=...)` passes down to each file: a `ddir`
    /// becomes "strip `dir`, prepend `ddir`".
    ///
    /// ```
    /// use std::path::Path;
    /// use pycache_paths::compileall::{DestinationRewrite, dfile};
    /// use pyc_format::PythonVersion;
    ///
    /// // compile_dir('src', ddir='/srv/app') reaching src/pkg/mod.py
    /// let rewrite = DestinationRewrite { ddir: Some("/srv/app".into()), ..Default::default() }
    ///     .for_directory(Path::new("src"));
    /// assert_eq!(rewrite.stripdir.as_deref(), Some(Path::new("src")));
    /// assert_eq!(rewrite.prependdir.as_deref(), Some(Path::new("/srv/app")));
    /// let out = dfile(Path::new("src/pkg/mod.py"), &rewrite, PythonVersion::new(3, 14)).unwrap();
    /// assert_eq!(out.path.as_deref(), Some(Path::new("/srv/app/pkg/mod.py")));
    /// ```
    pub fn for_directory(self, dir: &Path) -> Self {
        match self.ddir {
            Some(ddir) => DestinationRewrite {
                ddir: None,
                stripdir: Some(dir.to_owned()),
                prependdir: Some(ddir),
            },
            None => self,
        }
    }
}

/// The `dfile` compileall computes for one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dfile {
    /// The file name to compile into the code object; `None` means the
    /// source path itself.
    pub path: Option<PathBuf>,
    /// 3.12+ only: the stripdir is not a prefix of the source path, and
    /// compileall prints "The stripdir path ... is not a valid prefix for
    /// source path ...; ignoring" (unless `-qq`).
    pub stripdir_not_prefix: bool,
}

impl Dfile {
    /// The line compileall prints (without `-qq`) when
    /// [`Dfile::stripdir_not_prefix`] is set; `repr` is the `repr()` of the
    /// interpreter that prints it (`pystr::repr`, or the target's own for
    /// non-ASCII names).
    ///
    /// ```
    /// use std::os::unix::ffi::OsStrExt;
    /// use std::path::Path;
    /// use pycache_paths::compileall::Dfile;
    ///
    /// let repr = |path: &Path| pystr::repr(path.as_os_str().as_bytes());
    /// assert_eq!(
    ///     Dfile::stripdir_warning(Path::new("/elsewhere"), Path::new("src/pkg/mod.py"), repr),
    ///     "The stripdir path '/elsewhere' is not a valid prefix for source path 'src/pkg/mod.py'; ignoring"
    /// );
    /// ```
    pub fn stripdir_warning(
        stripdir: &Path,
        fullname: &Path,
        repr: impl Fn(&Path) -> String,
    ) -> String {
        format!(
            "The stripdir path {} is not a valid prefix for source path {}; ignoring",
            repr(stripdir),
            repr(fullname)
        )
    }
}

/// `os.path.join()` called with no arguments, which compileall does when
/// stripping leaves nothing: Python raises `TypeError`.
///
/// ```
/// use std::path::Path;
/// use pycache_paths::compileall::{DestinationRewrite, dfile};
/// use pyc_format::PythonVersion;
///
/// // compile_file('src/pkg/mod.py', stripdir='src/pkg/mod.py')
/// let rewrite = DestinationRewrite { stripdir: Some("src/pkg/mod.py".into()), ..Default::default() };
/// let err = dfile(Path::new("src/pkg/mod.py"), &rewrite, PythonVersion::new(3, 14)).unwrap_err();
/// assert_eq!(err.to_string(), "join() missing 1 required positional argument: 'a'");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmptyJoin;

impl fmt::Display for EmptyJoin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("join() missing 1 required positional argument: 'a'")
    }
}

impl std::error::Error for EmptyJoin {}

/// The `dfile` of `compile_file(fullname, ddir, stripdir=..., prependdir=...)`
/// in the given release line: 3.11 removes matching components pairwise
/// (`list.remove`, so the first equal component anywhere goes); 3.12+ strips
/// only a component-wise prefix.
///
/// ```
/// use std::path::Path;
/// use pycache_paths::compileall::{DestinationRewrite, dfile};
/// use pyc_format::PythonVersion;
///
/// // compile_file('src/pkg/mod.py', stripdir='src/lib'): not a prefix.
/// let rewrite = DestinationRewrite { stripdir: Some("src/lib".into()), ..Default::default() };
/// let source = Path::new("src/pkg/mod.py");
/// let py311 = dfile(source, &rewrite, PythonVersion::new(3, 11)).unwrap();
/// assert_eq!(py311.path.as_deref(), Some(Path::new("pkg/mod.py")));
/// let py314 = dfile(source, &rewrite, PythonVersion::new(3, 14)).unwrap();
/// assert_eq!(py314.path, None); // the source path itself
/// assert!(py314.stripdir_not_prefix); // and compileall prints a warning
/// ```
pub fn dfile(
    fullname: &Path,
    rewrite: &DestinationRewrite,
    version: PythonVersion,
) -> Result<Dfile, EmptyJoin> {
    let fullname = fullname.as_os_str().as_bytes();
    let mut out = Dfile {
        path: None,
        stripdir_not_prefix: false,
    };
    let mut dfile: Option<Vec<u8>> = None;
    if let Some(ddir) = &rewrite.ddir {
        dfile = Some(pathbytes::join(
            ddir.as_os_str().as_bytes(),
            &[pathbytes::basename(fullname)],
        ));
    }
    if let Some(stripdir) = &rewrite.stripdir {
        let fullname_parts: Vec<&[u8]> = fullname.split_str("/").collect();
        let stripdir_parts: Vec<&[u8]> = stripdir.as_os_str().as_bytes().split_str("/").collect();
        if version <= PythonVersion::new(3, 11) {
            let mut ddir_parts = fullname_parts.clone();
            for (spart, opart) in stripdir_parts.iter().zip(&fullname_parts) {
                if spart == opart
                    && let Some(i) = ddir_parts.iter().position(|p| p == spart)
                {
                    ddir_parts.remove(i);
                }
            }
            dfile = Some(join_all(&ddir_parts)?);
        } else if fullname_parts.get(..stripdir_parts.len()) != Some(&stripdir_parts[..]) {
            out.stripdir_not_prefix = true;
        } else {
            dfile = Some(join_all(&fullname_parts[stripdir_parts.len()..])?);
        }
    }
    if let Some(prependdir) = &rewrite.prependdir {
        let prependdir = prependdir.as_os_str().as_bytes();
        dfile = Some(match &dfile {
            None => pathbytes::join(prependdir, &[fullname]),
            Some(d) => pathbytes::join(prependdir, &[d]),
        });
    }
    out.path = dfile.map(|d| PathBuf::from(OsString::from_vec(d)));
    Ok(out)
}

/// `os.path.join(*parts)`.
fn join_all(parts: &[&[u8]]) -> Result<Vec<u8>, EmptyJoin> {
    let (first, rest) = parts.split_first().ok_or(EmptyJoin)?;
    Ok(pathbytes::join(first, rest))
}

/// Why the `-e` check could not be answered.
///
/// ```
/// use pycache_paths::compileall::ResolveError;
/// let err = ResolveError::SymlinkLoop("/tmp/x/loop1".into());
/// assert_eq!(err.to_string(), "Symlink loop from '/tmp/x/loop1'");
/// ```
#[derive(Debug)]
pub enum ResolveError {
    /// 3.11's `Path.resolve()` raises `RuntimeError: Symlink loop from
    /// '...'` when the resolved path loops.
    SymlinkLoop(PathBuf),
    /// The current directory could not be read.
    Io(io::Error),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::SymlinkLoop(path) => {
                write!(
                    f,
                    "Symlink loop from {}",
                    pystr::repr(path.as_os_str().as_bytes())
                )
            }
            ResolveError::Io(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for ResolveError {}

/// The `-e DIR` test of `compile_file`: `True` when `fullname` is a symlink
/// whose resolved target is not inside `limit` (`Path(limit).resolve() not
/// in Path(fullname).resolve().parents`), so compileall skips it silently.
/// Sources that are not symlinks are never skipped.
///
/// ```
/// use std::os::unix::fs::symlink;
/// use pycache_paths::compileall::symlink_leaves;
/// use pyc_format::PythonVersion;
///
/// let tmp = tempfile::tempdir()?;
/// let cwd = tmp.path().canonicalize()?;
/// std::fs::create_dir_all(cwd.join("lib/real"))?;
/// std::fs::write(cwd.join("lib/real/m.py"), "")?;
/// std::fs::write(cwd.join("outside.py"), "")?;
/// symlink("../outside.py", cwd.join("lib/out.py"))?;
/// symlink("real/m.py", cwd.join("lib/inner.py"))?;
///
/// // `fullname` is looked at from the process's working directory, so
/// // these paths are absolute; `cwd` only resolves relative ones.
/// let limit = cwd.join("lib");
/// let leaves = |source: &str| symlink_leaves(&cwd.join(source), &limit, &cwd, PythonVersion::new(3, 14));
/// assert!(leaves("lib/out.py")?); // compileall -e lib skips it
/// assert!(!leaves("lib/inner.py")?);
/// assert!(!leaves("outside.py")?); // not a symlink
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn symlink_leaves(
    fullname: &Path,
    limit: &Path,
    cwd: &Path,
    version: PythonVersion,
) -> Result<bool, ResolveError> {
    let is_link = std::fs::symlink_metadata(fullname).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(false);
    }
    let limit = path_resolve(limit, cwd, version)?;
    let target = path_resolve(fullname, cwd, version)?;
    Ok(!target.ancestors().skip(1).any(|parent| parent == limit))
}

/// `pathlib.Path(path).resolve()` (non-strict) in the given release line.
///
/// ```
/// use std::os::unix::fs::symlink;
/// use pycache_paths::compileall::path_resolve;
/// use pyc_format::PythonVersion;
///
/// let tmp = tempfile::tempdir()?;
/// let cwd = tmp.path().canonicalize()?;
/// symlink("loop2", cwd.join("loop1"))?;
/// symlink("loop1", cwd.join("loop2"))?;
/// // 3.11 raises RuntimeError("Symlink loop from '<cwd>/loop1'") ...
/// let err = path_resolve("loop1".as_ref(), &cwd, PythonVersion::new(3, 11)).unwrap_err();
/// assert_eq!(err.to_string(), format!("Symlink loop from '{}'", cwd.join("loop1").display()));
/// // ... 3.13+ returns the path where the loop was found.
/// assert_eq!(path_resolve("loop1".as_ref(), &cwd, PythonVersion::new(3, 14))?, cwd.join("loop1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn path_resolve(
    path: &Path,
    cwd: &Path,
    version: PythonVersion,
) -> Result<PathBuf, ResolveError> {
    let resolved = realpath(path, cwd);
    if version <= PythonVersion::new(3, 12)
        && let Err(err) = std::fs::metadata(&resolved)
        && err.raw_os_error() == Some(libc_eloop())
    {
        return Err(ResolveError::SymlinkLoop(resolved));
    }
    Ok(resolved)
}

const fn libc_eloop() -> i32 {
    40 // ELOOP on Linux
}

/// `os.path.realpath(path, strict=False)`: resolve every symlink that can be
/// resolved, keep the rest of the path as written, detect loops.
///
/// ```
/// use std::os::unix::fs::symlink;
/// use pycache_paths::compileall::realpath;
///
/// let tmp = tempfile::tempdir()?;
/// let cwd = tmp.path().canonicalize()?;
/// std::fs::create_dir_all(cwd.join("lib/real"))?;
/// symlink("real", cwd.join("lib/alias"))?;
/// symlink("missing", cwd.join("dangling"))?;
/// assert_eq!(realpath("lib/../lib/alias/./m.py".as_ref(), &cwd), cwd.join("lib/real/m.py"));
/// assert_eq!(realpath("dangling".as_ref(), &cwd), cwd.join("missing"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn realpath(path: &Path, cwd: &Path) -> PathBuf {
    let filename = path.as_os_str().as_bytes();
    let mut rest: Vec<Part> = filename
        .rsplit_str("/")
        .map(|p| Part::Name(p.to_vec()))
        .collect();
    let mut part_count = rest.len();
    let mut resolved: Vec<u8> = if filename.starts_with(b"/") {
        b"/".to_vec()
    } else {
        cwd.as_os_str().as_bytes().to_vec()
    };
    // Symlinks met so far, with their resolved targets once known; a link
    // met again before it is resolved is a loop.
    let mut seen: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();

    while part_count > 0 {
        let name = match rest.pop().expect("part_count counts the stack") {
            Part::Resolved(link) => {
                if let Some(entry) = seen.iter_mut().find(|(l, _)| *l == link) {
                    entry.1 = Some(resolved.clone());
                }
                continue;
            }
            Part::Name(name) => name,
        };
        part_count -= 1;
        if name.is_empty() || name == b"." {
            continue;
        }
        if name == b".." {
            let cut = resolved.rfind_byte(b'/').unwrap_or(0);
            resolved.truncate(cut.max(1));
            continue;
        }
        let mut newpath = resolved.clone();
        if newpath != b"/" {
            newpath.push(b'/');
        }
        newpath.extend_from_slice(&name);
        let newpath_os = Path::new(std::ffi::OsStr::from_bytes(&newpath));
        let is_link =
            std::fs::symlink_metadata(newpath_os).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            resolved = newpath;
            continue;
        }
        if let Some((_, target)) = seen.iter().find(|(l, _)| *l == newpath) {
            resolved = target.clone().unwrap_or(newpath);
            continue;
        }
        let Ok(target) = std::fs::read_link(newpath_os) else {
            resolved = newpath;
            continue;
        };
        let target = target.into_os_string().into_vec();
        if target.starts_with(b"/") {
            resolved = b"/".to_vec();
        }
        seen.push((newpath.clone(), None));
        rest.push(Part::Resolved(newpath));
        let parts: Vec<Part> = target
            .rsplit_str("/")
            .map(|p| Part::Name(p.to_vec()))
            .collect();
        part_count += parts.len();
        rest.extend(parts);
    }
    PathBuf::from(OsString::from_vec(resolved))
}

enum Part {
    Name(Vec<u8>),
    /// Marks the end of a symlink's target parts; holds the link's path.
    Resolved(Vec<u8>),
}
