//! Python's path-string functions on the bytes of POSIX paths: the one
//! place this workspace joins, splits and trims paths as Python does.
//!
//! Two families look alike and differ in corner cases, so both are here
//! under their Python names:
//!
//! - `posixpath` (what `os.path` is on POSIX), which compileall calls:
//!   [`join`], [`dirname`], [`basename`];
//! - importlib's private helpers, which `cache_from_source` and
//!   `source_from_cache` call: [`importlib_join`] (`_path_join`) and
//!   [`importlib_split`] (`_path_split`).
//!
//! ```
//! use pycache_paths::pathbytes::{dirname, importlib_join, join};
//!
//! // os.path.join keeps empty parts and doubled slashes ...
//! assert_eq!(join(b"pkg/", &[b"", b"m.py"]), b"pkg/m.py");
//! assert_eq!(join(b"pkg", &[b"/abs", b"m.py"]), b"/abs/m.py");
//! // ... importlib's _path_join drops empty parts and trailing slashes.
//! assert_eq!(importlib_join(&[b"", b"pkg//", b"__pycache__"]), b"pkg/__pycache__");
//! assert_eq!(dirname(b"pkg/sub/"), b"pkg/sub");
//! ```

use bstr::ByteSlice;

/// `posixpath.join(a, *rest)`: a part starting with `/` restarts the path.
///
/// ```
/// use pycache_paths::pathbytes::join;
/// assert_eq!(join(b"", &[b"m.py"]), b"m.py");
/// assert_eq!(join(b"/", &[b"srv", b"m.py"]), b"/srv/m.py");
/// ```
pub fn join(a: &[u8], rest: &[&[u8]]) -> Vec<u8> {
    let mut path = a.to_vec();
    for part in rest {
        if part.starts_with(b"/") {
            path = part.to_vec();
        } else if path.is_empty() || path.ends_with(b"/") {
            path.extend_from_slice(part);
        } else {
            path.push(b'/');
            path.extend_from_slice(part);
        }
    }
    path
}

/// `posixpath.dirname(path)`: everything before the last `/`, trailing
/// slashes removed unless it is all slashes.
///
/// ```
/// use pycache_paths::pathbytes::dirname;
/// assert_eq!(dirname(b"pkg/m.py"), b"pkg");
/// assert_eq!(dirname(b"m.py"), b"");
/// assert_eq!(dirname(b"/m.py"), b"/");
/// assert_eq!(dirname(b"//m.py"), b"//");
/// assert_eq!(dirname(b"a//b"), b"a");
/// ```
pub fn dirname(path: &[u8]) -> &[u8] {
    let head = match path.rfind_byte(b'/') {
        Some(i) => &path[..=i],
        None => return b"",
    };
    match rstrip_slashes(head) {
        b"" => head,
        trimmed => trimmed,
    }
}

/// `posixpath.basename(path)`: everything after the last `/`.
///
/// ```
/// use pycache_paths::pathbytes::basename;
/// assert_eq!(basename(b"pkg/m.py"), b"m.py");
/// assert_eq!(basename(b"pkg/"), b"");
/// ```
pub fn basename(path: &[u8]) -> &[u8] {
    match path.rfind_byte(b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// importlib's `_path_split`: the parts before and after the last `/`,
/// neither of which keeps it.
///
/// ```
/// use pycache_paths::pathbytes::importlib_split;
/// assert_eq!(importlib_split(b"pkg/__pycache__/m.pyc"), (&b"pkg/__pycache__"[..], &b"m.pyc"[..]));
/// assert_eq!(importlib_split(b"m.pyc"), (&b""[..], &b"m.pyc"[..]));
/// ```
pub fn importlib_split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.rfind_byte(b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (b"", path),
    }
}

/// importlib's `_path_join` on POSIX: drop empty parts, strip trailing
/// slashes from each, join with `/`.
///
/// ```
/// use pycache_paths::pathbytes::importlib_join;
/// assert_eq!(importlib_join(&[b"", b"__pycache__", b"x.pyc"]), b"__pycache__/x.pyc");
/// assert_eq!(importlib_join(&[b"/", b"x"]), b"/x");
/// assert_eq!(importlib_join(&[b"a//", b"b"]), b"a/b");
/// ```
pub fn importlib_join(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, part) in parts.iter().filter(|p| !p.is_empty()).enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(rstrip_slashes(part));
    }
    out
}

/// `path.rstrip('/')`.
///
/// ```
/// use pycache_paths::pathbytes::rstrip_slashes;
/// assert_eq!(rstrip_slashes(b"pkg//"), b"pkg");
/// assert_eq!(rstrip_slashes(b"//"), b"");
/// ```
pub fn rstrip_slashes(path: &[u8]) -> &[u8] {
    let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    &path[..end]
}

/// `path.lstrip('/')`.
///
/// ```
/// use pycache_paths::pathbytes::lstrip_slashes;
/// assert_eq!(lstrip_slashes(b"//srv/app"), b"srv/app");
/// ```
pub fn lstrip_slashes(path: &[u8]) -> &[u8] {
    let start = path.iter().position(|&b| b != b'/').unwrap_or(path.len());
    &path[start..]
}

/// `s.rpartition(sep)` for a one-byte separator: before, the separator (or
/// nothing), after.
pub(crate) fn rpartition(s: &[u8], sep: u8) -> (&[u8], &[u8], &[u8]) {
    match s.rfind_byte(sep) {
        Some(i) => (&s[..i], &s[i..=i], &s[i + 1..]),
        None => (b"", b"", s),
    }
}
