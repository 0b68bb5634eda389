//! Bytes as hex strings in JSON: file names and sources need not be UTF-8.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A byte string that serializes as lowercase hex.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hex(pub Vec<u8>);

impl Hex {
    /// The bytes as an `OsStr` (POSIX paths are bytes).
    pub fn as_os_str(&self) -> &OsStr {
        OsStr::from_bytes(&self.0)
    }

    /// Encodes bytes as lowercase hex.
    pub fn encode(bytes: &[u8]) -> String {
        use fmt::Write;
        bytes
            .iter()
            .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
                write!(s, "{b:02x}").unwrap();
                s
            })
    }

    /// Decodes hex, `None` if it is not an even number of hex digits.
    pub fn decode(text: &str) -> Option<Vec<u8>> {
        if !text.len().is_multiple_of(2) {
            return None;
        }
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
            .collect()
    }
}

impl From<&[u8]> for Hex {
    fn from(bytes: &[u8]) -> Self {
        Hex(bytes.to_vec())
    }
}

impl From<&str> for Hex {
    fn from(text: &str) -> Self {
        Hex(text.as_bytes().to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for Hex {
    fn from(bytes: &[u8; N]) -> Self {
        Hex(bytes.to_vec())
    }
}

impl fmt::Debug for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Readable in assertion failures: Python's view of the bytes.
        write!(f, "{}", String::from_utf8_lossy(&self.0).escape_debug())
    }
}

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&Hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Hex::decode(&text)
            .map(Hex)
            .ok_or_else(|| serde::de::Error::custom(format!("not hex: {text:?}")))
    }
}
