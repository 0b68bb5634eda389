//! Python exceptions as compileall prints them: `print(type(e).__name__ +
//! ':', e)`.

use std::io;
use std::path::Path;

/// An exception compileall reports: its class name and `str(e)`.
///
/// ```
/// use compileall_cli::PyException;
/// let exc = PyException::new("ValueError", "workers must be greater or equal to 0");
/// assert_eq!(exc.line(), b"ValueError: workers must be greater or equal to 0");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PyException {
    /// The class name, such as `PermissionError`.
    pub class: String,
    /// `str(exception)`, as bytes (file names need not be UTF-8).
    pub message: Vec<u8>,
}

impl PyException {
    /// An exception with a plain text message.
    ///
    /// ```
    /// use compileall_cli::PyException;
    /// let exc = PyException::new("AttributeError", "'str' object has no attribute 'search'");
    /// assert_eq!(exc.class, "AttributeError");
    /// assert_eq!(exc.message, b"'str' object has no attribute 'search'");
    /// ```
    pub fn new(class: &str, message: impl Into<Vec<u8>>) -> Self {
        PyException {
            class: class.to_owned(),
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
            return PyException::new("OSError", err.to_string());
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
        PyException::new(os_error_class(errno), message)
    }

    /// `type(e).__name__ + ': ' + str(e)`, the line compileall prints.
    ///
    /// ```
    /// use compileall_cli::PyException;
    /// let exc = PyException::new("TypeError", "join() missing 1 required positional argument: 'a'");
    /// assert_eq!(exc.line(), b"TypeError: join() missing 1 required positional argument: 'a'");
    /// ```
    pub fn line(&self) -> Vec<u8> {
        let mut line = Vec::with_capacity(self.class.len() + 2 + self.message.len());
        line.extend_from_slice(self.class.as_bytes());
        line.extend_from_slice(b": ");
        line.extend_from_slice(&self.message);
        line
    }
}

/// The OS's message for `errno`, as `os.strerror` gives it.
pub fn strerror(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// The `OSError` subclass CPython maps `errno` to (PEP 3151).
pub fn os_error_class(errno: i32) -> &'static str {
    match errno {
        libc::EAGAIN | libc::EALREADY | libc::EINPROGRESS => "BlockingIOError",
        libc::ECHILD => "ChildProcessError",
        libc::EPIPE | libc::ESHUTDOWN => "BrokenPipeError",
        libc::ECONNABORTED => "ConnectionAbortedError",
        libc::ECONNREFUSED => "ConnectionRefusedError",
        libc::ECONNRESET => "ConnectionResetError",
        libc::EEXIST => "FileExistsError",
        libc::ENOENT => "FileNotFoundError",
        libc::EISDIR => "IsADirectoryError",
        libc::ENOTDIR => "NotADirectoryError",
        libc::EINTR => "InterruptedError",
        libc::EACCES | libc::EPERM => "PermissionError",
        libc::ESRCH => "ProcessLookupError",
        libc::ETIMEDOUT => "TimeoutError",
        _ => "OSError",
    }
}
