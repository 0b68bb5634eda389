//! Readable JSON for bytes and permission bits, and the normalizations
//! that make a run's output reproducible.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::hex::Hex;

/// Bytes that read as a JSON string when they are UTF-8, and as
/// `{"hex": "…"}` otherwise (POSIX file names, sources and pycs are bytes).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// The bytes as text, invalid UTF-8 replaced.
    pub fn lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl From<&str> for Bytes {
    fn from(text: &str) -> Self {
        Bytes(text.as_bytes().to_vec())
    }
}

impl From<String> for Bytes {
    fn from(text: String) -> Self {
        Bytes(text.into_bytes())
    }
}

impl From<&[u8]> for Bytes {
    fn from(bytes: &[u8]) -> Self {
        Bytes(bytes.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for Bytes {
    fn from(bytes: &[u8; N]) -> Self {
        Bytes(bytes.to_vec())
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes(bytes)
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&python_repr(&self.0))
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lossy())
    }
}

/// `b'…'`-like rendering: printable ASCII as is, everything else escaped.
pub fn python_repr(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => format!("{:?}", text),
        Err(_) => {
            let mut out = String::from("b\"");
            for &b in bytes {
                match b {
                    b'"' => out.push_str("\\\""),
                    b'\\' => out.push_str("\\\\"),
                    b'\n' => out.push_str("\\n"),
                    b'\t' => out.push_str("\\t"),
                    0x20..=0x7e => out.push(b as char),
                    _ => out.push_str(&format!("\\x{b:02x}")),
                }
            }
            out.push('"');
            out
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum BytesRepr {
    Text(String),
    Hex { hex: Hex },
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => BytesRepr::Hex {
                hex: Hex(self.0.clone()),
            }
            .serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match BytesRepr::deserialize(deserializer)? {
            BytesRepr::Text(text) => Bytes(text.into_bytes()),
            BytesRepr::Hex { hex } => Bytes(hex.0),
        })
    }
}

/// Permission bits, written in octal (`"0o644"`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mode(pub u32);

impl fmt::Debug for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0o{:o}", self.0)
    }
}

impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{self:?}"))
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.strip_prefix("0o")
            .and_then(|digits| u32::from_str_radix(digits, 8).ok())
            .map(Mode)
            .ok_or_else(|| serde::de::Error::custom(format!("not an octal mode: {text:?}")))
    }
}

/// Replaces every occurrence of `from` in `bytes` with `to`.
pub fn replace_all(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() || bytes.len() < from.len() {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// `_write_atomic` writes `{cfile}.{id(path)}` first: a random number that
/// reaches error messages (ours may name its temporary files differently,
/// as long as they start with a digit after `.pyc.`). Everything from the
/// digit to the next quote, space, colon or line end becomes `<tmp>`.
pub fn hide_temporary_names(text: &[u8]) -> Vec<u8> {
    hide_numbered(text, b".pyc.", b"<tmp>", |b| {
        !matches!(b, b'\'' | b'"' | b' ' | b'\n' | b':')
    })
}

/// CPython 3.14+ puts the C stack depth into `RecursionError` messages
/// ("(used 8152 kB)"); it depends on the caller's stack, not on the input.
pub fn hide_stack_depth(text: &[u8]) -> Vec<u8> {
    hide_numbered(text, b"(used ", b"N", |b| b.is_ascii_digit())
}

/// Replaces, after every `mark` followed by a digit, the run of bytes that
/// `in_run` accepts with `replacement`.
fn hide_numbered(text: &[u8], mark: &[u8], replacement: &[u8], in_run: fn(u8) -> bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(mark) && text.get(i + mark.len()).is_some_and(u8::is_ascii_digit) {
            out.extend_from_slice(mark);
            out.extend_from_slice(replacement);
            i += mark.len();
            while i < text.len() && in_run(text[i]) {
                i += 1;
            }
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// The lines of `text`, sorted, each ending in a newline (for output whose
/// line order CPython does not fix, as with `-j N`).
pub fn sorted_lines(text: &[u8]) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.sort_unstable();
    lines
        .iter()
        .flat_map(|l| l.iter().chain(b"\n"))
        .copied()
        .collect()
}

/// FNV-1a, 64 bits: a stable fingerprint of large files (not a security
/// measure).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_as_text_or_hex() {
        for bytes in [&b"caf\xc3\xa9.py"[..], b"caf\xe9.py", b""] {
            let value = Bytes(bytes.to_vec());
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(serde_json::from_str::<Bytes>(&json).unwrap(), value);
        }
        assert_eq!(serde_json::to_string(&Bytes::from("a")).unwrap(), "\"a\"");
        assert_eq!(
            serde_json::to_string(&Bytes::from(b"\xe9")).unwrap(),
            "{\"hex\":\"e9\"}"
        );
    }

    #[test]
    fn mode_is_octal() {
        assert_eq!(serde_json::to_string(&Mode(0o644)).unwrap(), "\"0o644\"");
        assert_eq!(
            serde_json::from_str::<Mode>("\"0o4755\"").unwrap(),
            Mode(0o4755)
        );
        assert!(serde_json::from_str::<Mode>("\"644\"").is_err());
    }

    #[test]
    fn temporary_names_are_hidden() {
        assert_eq!(
            hide_temporary_names(b"denied: 'p/__pycache__/a.cpython-314.pyc.140234'\n"),
            b"denied: 'p/__pycache__/a.cpython-314.pyc.<tmp>'\n"
        );
        assert_eq!(
            hide_temporary_names(b"'a.pyc.12.3.tmp' x.pyc.y"),
            b"'a.pyc.<tmp>' x.pyc.y"
        );
    }

    #[test]
    fn stack_depth_is_hidden() {
        assert_eq!(
            hide_stack_depth(b"overflow (used 8152 kB) during"),
            b"overflow (used N kB) during"
        );
    }

    #[test]
    fn lines_sort() {
        assert_eq!(sorted_lines(b"b\na\n"), b"a\nb\n");
        assert_eq!(sorted_lines(b"b\na"), b"a\nb\n");
        assert_eq!(sorted_lines(b""), b"");
    }
}
