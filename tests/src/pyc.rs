//! Pycs compared as code objects: the native backend writes CPython's code
//! objects, and CPython's own bytes for them depend on what its process
//! interned before (`docs/native.md`), so where the bytes differ the
//! header must still be the same and the bodies equal objects.

use pyc_format::HEADER_LEN;

/// Why two pycs do not hold the same code, or `None` when they do (same
/// header, equal objects in the bodies).
///
/// ```
/// use compileall_tests::pyc::code_difference;
/// let header = [0u8; 16];
/// // `N` and `N`: marshal.dumps(None) twice.
/// assert_eq!(code_difference(&[&header[..], b"N"].concat(), &[&header[..], b"N"].concat()), None);
/// // `N` against `T` (True).
/// assert!(code_difference(&[&header[..], b"N"].concat(), &[&header[..], b"T"].concat()).is_some());
/// ```
pub fn code_difference(theirs: &[u8], ours: &[u8]) -> Option<String> {
    let (Some(their_header), Some(our_header)) = (theirs.get(..HEADER_LEN), ours.get(..HEADER_LEN))
    else {
        return Some("shorter than a pyc header".into());
    };
    if their_header != our_header {
        return Some("headers differ".into());
    }
    let read = |bytes: &[u8]| pymarshal::read(&bytes[HEADER_LEN..]).map_err(|err| err.to_string());
    match (read(theirs), read(ours)) {
        (Ok(a), Ok(b)) => pymarshal::first_difference(&a, &b).map(|d| d.to_string()),
        (Err(err), _) => Some(format!("CPython's pyc does not read: {err}")),
        (_, Err(err)) => Some(format!("our pyc does not read: {err}")),
    }
}
