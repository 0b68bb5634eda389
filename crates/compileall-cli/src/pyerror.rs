//! Python exceptions as compileall prints them: `print(type(e).__name__ +
//! ':', e)`.

use std::fmt;
use std::io;
use std::path::Path;

use pycache_paths::PathError;

/// The class of an exception compileall raises or prints.
///
/// ```
/// use compileall_cli::ExceptionClass;
/// assert_eq!(ExceptionClass::FileNotFoundError.name(), "FileNotFoundError");
/// assert_eq!(ExceptionClass::for_errno(13), ExceptionClass::PermissionError); // EACCES
/// assert_eq!(ExceptionClass::for_errno(28), ExceptionClass::OsError); // ENOSPC has no subclass
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExceptionClass {
    /// `AttributeError` (`-x ''`: the pattern stays a string).
    AttributeError,
    /// `IndexError` (3.11's `cache_from_source` under a pycache prefix).
    IndexError,
    /// `NotImplementedError` (no cache tag).
    NotImplementedError,
    /// `RuntimeError` (3.11's symlink loop under `-e`).
    RuntimeError,
    /// `TypeError` (`-s` equal to the whole path).
    TypeError,
    /// `UnicodeDecodeError` (`-i` with a list that is not UTF-8).
    UnicodeDecodeError,
    /// `ValueError` (`-j -1`, `--hardlink-dupes` with one level, bad
    /// optimization tags).
    ValueError,
    /// `OSError` for an errno without a subclass.
    OsError,
    /// `BlockingIOError`.
    BlockingIoError,
    /// `BrokenPipeError`.
    BrokenPipeError,
    /// `ChildProcessError`.
    ChildProcessError,
    /// `ConnectionAbortedError`.
    ConnectionAbortedError,
    /// `ConnectionRefusedError`.
    ConnectionRefusedError,
    /// `ConnectionResetError`.
    ConnectionResetError,
    /// `FileExistsError` (also py_compile's refusal to replace a symlink).
    FileExistsError,
    /// `FileNotFoundError`.
    FileNotFoundError,
    /// `InterruptedError`.
    InterruptedError,
    /// `IsADirectoryError`.
    IsADirectoryError,
    /// `NotADirectoryError`.
    NotADirectoryError,
    /// `PermissionError`.
    PermissionError,
    /// `ProcessLookupError`.
    ProcessLookupError,
    /// `TimeoutError`.
    TimeoutError,
}

impl ExceptionClass {
    /// `type(e).__name__`.
    pub fn name(self) -> &'static str {
        match self {
            ExceptionClass::AttributeError => "AttributeError",
            ExceptionClass::IndexError => "IndexError",
            ExceptionClass::NotImplementedError => "NotImplementedError",
            ExceptionClass::RuntimeError => "RuntimeError",
            ExceptionClass::TypeError => "TypeError",
            ExceptionClass::UnicodeDecodeError => "UnicodeDecodeError",
            ExceptionClass::ValueError => "ValueError",
            ExceptionClass::OsError => "OSError",
            ExceptionClass::BlockingIoError => "BlockingIOError",
            ExceptionClass::BrokenPipeError => "BrokenPipeError",
            ExceptionClass::ChildProcessError => "ChildProcessError",
            ExceptionClass::ConnectionAbortedError => "ConnectionAbortedError",
            ExceptionClass::ConnectionRefusedError => "ConnectionRefusedError",
            ExceptionClass::ConnectionResetError => "ConnectionResetError",
            ExceptionClass::FileExistsError => "FileExistsError",
            ExceptionClass::FileNotFoundError => "FileNotFoundError",
            ExceptionClass::InterruptedError => "InterruptedError",
            ExceptionClass::IsADirectoryError => "IsADirectoryError",
            ExceptionClass::NotADirectoryError => "NotADirectoryError",
            ExceptionClass::PermissionError => "PermissionError",
            ExceptionClass::ProcessLookupError => "ProcessLookupError",
            ExceptionClass::TimeoutError => "TimeoutError",
        }
    }

    /// The `OSError` subclass CPython maps `errno` to (PEP 3151).
    pub fn for_errno(errno: i32) -> Self {
        match errno {
            libc::EAGAIN | libc::EALREADY | libc::EINPROGRESS => ExceptionClass::BlockingIoError,
            libc::ECHILD => ExceptionClass::ChildProcessError,
            libc::EPIPE | libc::ESHUTDOWN => ExceptionClass::BrokenPipeError,
            libc::ECONNABORTED => ExceptionClass::ConnectionAbortedError,
            libc::ECONNREFUSED => ExceptionClass::ConnectionRefusedError,
            libc::ECONNRESET => ExceptionClass::ConnectionResetError,
            libc::EEXIST => ExceptionClass::FileExistsError,
            libc::ENOENT => ExceptionClass::FileNotFoundError,
            libc::EISDIR => ExceptionClass::IsADirectoryError,
            libc::ENOTDIR => ExceptionClass::NotADirectoryError,
            libc::EINTR => ExceptionClass::InterruptedError,
            libc::EACCES | libc::EPERM => ExceptionClass::PermissionError,
            libc::ESRCH => ExceptionClass::ProcessLookupError,
            libc::ETIMEDOUT => ExceptionClass::TimeoutError,
            _ => ExceptionClass::OsError,
        }
    }
}

impl fmt::Display for ExceptionClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An exception compileall reports: its class and `str(e)`.
///
/// ```
/// use compileall_cli::{ExceptionClass, PyException};
/// let exc = PyException::new(ExceptionClass::ValueError, "workers must be greater or equal to 0");
/// assert_eq!(exc.line(), b"ValueError: workers must be greater or equal to 0");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyException {
    /// The class, such as `PermissionError`.
    pub class: ExceptionClass,
    /// `str(exception)`, as bytes (file names need not be UTF-8).
    pub message: Vec<u8>,
}

impl PyException {
    /// An exception with a plain text message.
    ///
    /// ```
    /// use compileall_cli::{ExceptionClass, PyException};
    /// let exc = PyException::new(ExceptionClass::AttributeError, "'str' object has no attribute 'search'");
    /// assert_eq!(exc.class.name(), "AttributeError");
    /// assert_eq!(exc.message, b"'str' object has no attribute 'search'");
    /// ```
    pub fn new(class: ExceptionClass, message: impl Into<Vec<u8>>) -> Self {
        PyException {
            class,
            message: message.into(),
        }
    }

    /// The `OSError` subclass Python raises for `err`, with `str(e)` built
    /// from errno, strerror and the file name(s) the failing call had.
    /// `repr` is the `repr()` to use for file names.
    ///
    /// ```
    /// use std::io::Error;
    /// use std::os::unix::ffi::OsStrExt;
    /// use std::path::Path;
    /// use compileall_cli::PyException;
    ///
    /// let repr = |path: &Path| pystr::repr(path.as_os_str().as_bytes());
    /// let missing = Error::from_raw_os_error(2); // ENOENT
    /// let exc = PyException::os_error(&missing, Some(Path::new("src/mod.py")), None, &repr);
    /// assert_eq!(exc.line(), b"FileNotFoundError: [Errno 2] No such file or directory: 'src/mod.py'");
    /// let cross_device = Error::from_raw_os_error(18); // EXDEV
    /// let exc = PyException::os_error(&cross_device, Some(Path::new("a.tmp")), Some(Path::new("a.pyc")), &repr);
    /// assert_eq!(exc.line(), b"OSError: [Errno 18] Invalid cross-device link: 'a.tmp' -> 'a.pyc'");
    /// ```
    pub fn os_error(
        err: &io::Error,
        filename: Option<&Path>,
        filename2: Option<&Path>,
        repr: &dyn Fn(&Path) -> String,
    ) -> Self {
        let Some(errno) = err.raw_os_error() else {
            return PyException::new(ExceptionClass::OsError, err.to_string());
        };
        let mut message = format!("[Errno {errno}] {}", strerror(errno));
        if let Some(filename) = filename {
            message.push_str(": ");
            message.push_str(&repr(filename));
            if let Some(filename2) = filename2 {
                message.push_str(" -> ");
                message.push_str(&repr(filename2));
            }
        }
        PyException::new(ExceptionClass::for_errno(errno), message)
    }

    /// The exception `importlib.util.cache_from_source` raises.
    ///
    /// ```
    /// use compileall_cli::PyException;
    /// use pycache_paths::PathError;
    /// let exc = PyException::from_path_error(&PathError::NoCacheTag);
    /// assert_eq!(exc.line(), b"NotImplementedError: sys.implementation.cache_tag is None");
    /// ```
    pub fn from_path_error(err: &PathError) -> Self {
        let class = match err {
            PathError::NoCacheTag => ExceptionClass::NotImplementedError,
            PathError::IndexOutOfRange => ExceptionClass::IndexError,
            PathError::OptimizationNotAlphanumeric(_)
            | PathError::NotInPycache(_)
            | PathError::DotCount(_)
            | PathError::OptimizationPrefix
            | PathError::OptimizationLevelNotAlphanumeric(_) => ExceptionClass::ValueError,
        };
        PyException::new(class, err.to_string())
    }

    /// `type(e).__name__ + ': ' + str(e)`, the line compileall prints.
    ///
    /// ```
    /// use compileall_cli::{ExceptionClass, PyException};
    /// let exc = PyException::new(ExceptionClass::TypeError, "join() missing 1 required positional argument: 'a'");
    /// assert_eq!(exc.line(), b"TypeError: join() missing 1 required positional argument: 'a'");
    /// ```
    pub fn line(&self) -> Vec<u8> {
        let class = self.class.name();
        let mut line = Vec::with_capacity(class.len() + 2 + self.message.len());
        line.extend_from_slice(class.as_bytes());
        line.extend_from_slice(b": ");
        line.extend_from_slice(&self.message);
        line
    }
}

/// The OS's message for `errno`, as `os.strerror` gives it.
fn strerror(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    /// pycache-paths names the class of each error too; both must agree.
    #[test]
    fn path_errors_keep_pycache_paths_class() {
        let name = OsString::from("x");
        let errors = [
            PathError::OptimizationNotAlphanumeric(name.clone()),
            PathError::NoCacheTag,
            PathError::NotInPycache(name.clone()),
            PathError::DotCount(name.clone()),
            PathError::OptimizationPrefix,
            PathError::OptimizationLevelNotAlphanumeric(name),
            PathError::IndexOutOfRange,
        ];
        for err in &errors {
            let exc = PyException::from_path_error(err);
            assert_eq!(exc.class.name(), err.exception_type(), "{err:?}");
            assert_eq!(exc.message, err.to_string().into_bytes());
        }
    }

    /// The message Python builds: `[Errno N] strerror`, without Rust's
    /// `(os error N)` suffix.
    #[test]
    fn os_errors_read_like_python() {
        let repr = |path: &Path| format!("<{}>", path.display());
        let full = io::Error::from_raw_os_error(libc::ENOSPC);
        let exc = PyException::os_error(&full, Some(Path::new("m.pyc")), None, &repr);
        assert_eq!(
            exc.line(),
            b"OSError: [Errno 28] No space left on device: <m.pyc>"
        );
        let other = io::Error::other("no errno");
        assert_eq!(
            PyException::os_error(&other, None, None, &repr).line(),
            b"OSError: no errno"
        );
    }
}
