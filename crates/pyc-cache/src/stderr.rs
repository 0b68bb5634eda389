//! What a compiler wrote to stderr for one compile (its warnings), kept with
//! an entry so that a hit prints it again, naming the file asked for.
//!
//! CPython's warnings start each message with the file name:
//! `NAME:LINE: SyntaxWarning: ...`, then the source line. The name is
//! written as compiled (co_filename), encoded for stderr; only ASCII names
//! are written the same in every encoding, so only those are re-targeted.
//! A text that holds the name anywhere but at the start of a line, before
//! a colon, is not stored: which occurrence is the name would be a guess.

/// Where a text names the file: the offsets of each occurrence.
pub(crate) fn locate_names(text: &[u8], name: &str) -> Option<Vec<usize>> {
    if !name.is_ascii() || name.is_empty() {
        return None;
    }
    let name = name.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&text[from..], name).map(|i| from + i) {
        let line_start = at == 0 || text[at - 1] == b'\n';
        let colon = text.get(at + name.len()) == Some(&b':');
        if !(line_start && colon) {
            return None;
        }
        found.push(at);
        from = at + name.len();
    }
    Some(found)
}

/// `text` with the name written at `offsets` (`old_len` bytes each)
/// replaced by `name`.
pub(crate) fn retarget(text: &[u8], offsets: &[usize], old_len: usize, name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + offsets.len() * name.len());
    let mut copied = 0;
    for &at in offsets {
        out.extend_from_slice(&text[copied..at]);
        out.extend_from_slice(name.as_bytes());
        copied = at + old_len;
    }
    out.extend_from_slice(&text[copied..]);
    out
}

/// Whether `offsets` are in order, apart, and hold `name` in `text`.
pub(crate) fn matches(text: &[u8], offsets: &[usize], name: &str) -> bool {
    let mut end = 0;
    offsets.iter().all(|&at| {
        let ok = at >= end && text.get(at..at + name.len()) == Some(name.as_bytes());
        end = at + name.len();
        ok
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What CPython 3.14 wrote for `x = 'a' is 'a'` in `pkg/w.py`.
    const WARNING: &[u8] = b"pkg/w.py:1: SyntaxWarning: \"is\" with 'str' literal. Did you mean \"==\"?\n  x = 'a' is 'a'\n";

    #[test]
    fn names_at_line_starts_are_re_targeted() {
        let offsets = locate_names(WARNING, "pkg/w.py").unwrap();
        assert_eq!(offsets, [0]);
        let moved = retarget(WARNING, &offsets, 8, "/srv/app/pkg/w.py");
        assert!(moved.starts_with(b"/srv/app/pkg/w.py:1: SyntaxWarning"));
        assert_eq!(moved.len(), WARNING.len() + 9);
    }

    #[test]
    fn a_name_elsewhere_is_not_guessed() {
        let text = b"pkg/w.py:1: SyntaxWarning: invalid escape sequence\n  path = 'pkg/w.py'\n";
        assert_eq!(locate_names(text, "pkg/w.py"), None);
        assert_eq!(locate_names(WARNING, "caf\u{e9}.py"), None);
    }
}
