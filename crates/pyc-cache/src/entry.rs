//! The bytes of one entry file, and the checks a read entry must pass.
//!
//! ```text
//! magic      b"PYCCACHE"
//! format     u32 (1)
//! length     u32: the whole entry's size, checksum included
//! key        32 bytes: the key the entry was stored under
//! origin     u16 length + UTF-8: who compiled it (the caller's label)
//! filename   u32 length + UTF-8, then u8 interned: the co_filename inside
//! spans      u32 count, then (u32 start, u32 end) each: where it is written
//! marshal    u32 length + bytes: marshal.dumps(code)
//! stderr     u32 length + bytes: what the compiler wrote to stderr
//! names      u32 count, then u32 offset each: where stderr names the file
//! checksum   16 bytes: XXH3-128 of everything before it
//! ```
//!
//! All integers are little-endian. An entry that fails any check is
//! [`Corruption`], never a panic.
//!
//! The checksum is there to catch damage (a torn write, a flipped bit), not
//! a forger: anyone who may write in the private cache folder may write any
//! checksum. So it is XXH3, an order of magnitude faster than a
//! cryptographic hash, which every stored and every read entry pays for.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use pymarshal::retarget::Located;

use crate::key::Key;

const MAGIC: &[u8; 8] = b"PYCCACHE";
/// Format 1 had a BLAKE3 checksum.
const FORMAT: u32 = 2;
const CHECKSUM_LEN: usize = 16;

/// An entry, borrowing its bytes: from the caller when stored, from the
/// entry file when read (a hit copies them once, into the pyc's bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry<'b> {
    pub origin: Cow<'b, str>,
    pub located: Located,
    pub marshal: &'b [u8],
    /// The compiler's warnings, and where they name the file.
    pub stderr: &'b [u8],
    pub stderr_names: Vec<usize>,
}

/// Why an entry file was not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// Shorter than its own lengths say.
    Truncated,
    /// Its bytes do not match its checksum.
    Checksum,
    /// Not an entry of this format.
    Foreign,
    /// An entry stored under another key.
    WrongKey,
    /// The file name spans do not hold the file name.
    Spans,
    /// Not a regular file, or not the user's own.
    NotOwnFile,
    /// It could not be read.
    Unreadable(String),
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corruption::Truncated => f.write_str("truncated"),
            Corruption::Checksum => f.write_str("checksum mismatch"),
            Corruption::Foreign => f.write_str("not a cache entry of this version"),
            Corruption::WrongKey => f.write_str("stored under another key"),
            Corruption::Spans => f.write_str("inconsistent file name record"),
            Corruption::NotOwnFile => f.write_str("not a regular file of this user"),
            Corruption::Unreadable(reason) => write!(f, "unreadable: {reason}"),
        }
    }
}

/// The entry's bytes, checksum included.
pub(crate) fn encode(key: &Key, entry: &Entry<'_>) -> Vec<u8> {
    let filename = entry.located.filename().as_bytes();
    let mut out = Vec::with_capacity(entry.marshal.len() + filename.len() + 128);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    let length_at = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(key.as_bytes());
    let origin = &entry.origin.as_bytes()[..entry.origin.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(origin.len() as u16).to_le_bytes());
    out.extend_from_slice(origin);
    out.extend_from_slice(&(filename.len() as u32).to_le_bytes());
    out.extend_from_slice(filename);
    out.push(u8::from(entry.located.interned()));
    out.extend_from_slice(&(entry.located.spans().len() as u32).to_le_bytes());
    for span in entry.located.spans() {
        out.extend_from_slice(&(span.start as u32).to_le_bytes());
        out.extend_from_slice(&(span.end as u32).to_le_bytes());
    }
    out.extend_from_slice(&(entry.marshal.len() as u32).to_le_bytes());
    out.extend_from_slice(entry.marshal);
    out.extend_from_slice(&(entry.stderr.len() as u32).to_le_bytes());
    out.extend_from_slice(entry.stderr);
    out.extend_from_slice(&(entry.stderr_names.len() as u32).to_le_bytes());
    for &at in &entry.stderr_names {
        out.extend_from_slice(&(at as u32).to_le_bytes());
    }
    let length = (out.len() + CHECKSUM_LEN) as u32;
    out[length_at..length_at + 4].copy_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&checksum(&out));
    out
}

/// Reads an entry back, checking its checksum and that it was stored under
/// `key`.
pub(crate) fn decode<'b>(key: &Key, bytes: &'b [u8]) -> Result<Entry<'b>, Corruption> {
    if bytes.len() < MAGIC.len() + 8 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(Corruption::Foreign);
    }
    let mut header = Reader {
        bytes,
        pos: MAGIC.len(),
    };
    if header.u32()? != FORMAT {
        return Err(Corruption::Foreign);
    }
    if bytes.len() < header.u32()? as usize {
        return Err(Corruption::Truncated);
    }
    let Some(body_len) = bytes.len().checked_sub(CHECKSUM_LEN) else {
        return Err(Corruption::Truncated);
    };
    let (body, checksum_read) = bytes.split_at(body_len);
    let mut reader = Reader {
        bytes: body,
        pos: header.pos,
    };
    if checksum(body) != checksum_read {
        return Err(Corruption::Checksum);
    }
    if reader.take(32)? != key.as_bytes() {
        return Err(Corruption::WrongKey);
    }
    let origin_len = usize::from(reader.u16()?);
    let origin = Cow::Borrowed(reader.text(origin_len)?);
    let filename_len = reader.u32()? as usize;
    let filename = reader.text(filename_len)?.to_owned();
    let interned = reader.take(1)?[0] != 0;
    let count = reader.u32()? as usize;
    let mut spans: Vec<Range<usize>> = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        spans.push(reader.u32()? as usize..reader.u32()? as usize);
    }
    let marshal_len = reader.u32()? as usize;
    let marshal = reader.take(marshal_len)?;
    let stderr_len = reader.u32()? as usize;
    let stderr = reader.take(stderr_len)?;
    let names = reader.u32()? as usize;
    let mut stderr_names = Vec::with_capacity(names.min(1024));
    for _ in 0..names {
        stderr_names.push(reader.u32()? as usize);
    }
    if reader.pos != body.len() {
        return Err(Corruption::Truncated);
    }
    let located = Located::from_parts(filename, spans, interned).ok_or(Corruption::Spans)?;
    if !located.matches(marshal)
        || !crate::stderr::matches(stderr, &stderr_names, located.filename())
    {
        return Err(Corruption::Spans);
    }
    Ok(Entry {
        origin,
        located,
        marshal,
        stderr,
        stderr_names,
    })
}

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_LEN] {
    twox_hash::XxHash3_128::oneshot(bytes).to_le_bytes()
}

struct Reader<'b> {
    bytes: &'b [u8],
    pos: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8], Corruption> {
        let end = self.pos.checked_add(n).ok_or(Corruption::Truncated)?;
        let taken = self.bytes.get(self.pos..end).ok_or(Corruption::Truncated)?;
        self.pos = end;
        Ok(taken)
    }

    fn u16(&mut self) -> Result<u16, Corruption> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Corruption> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn text(&mut self, n: usize) -> Result<&'b str, Corruption> {
        std::str::from_utf8(self.take(n)?).map_err(|_| Corruption::Foreign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyBuilder;

    /// `marshal.dumps(compile("x = 1\n", "e.py", "exec"))` on CPython 3.14.
    const DUMPED: &[u8] = b"\xe3\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\
        \x00\x00\x00\x00\x00\xf3\n\x00\x00\x00\x80\x00^\x01t\x00R\x01#\x00)\x02\xe9\x01\x00\
        \x00\x00N)\x01\xda\x01x\xa9\x00\xf3\x00\x00\x00\x00\xda\x04e.py\xda\x08<module>r\x07\
        \x00\x00\x00\x01\x00\x00\x00s\n\x00\x00\x00\xf0\x03\x01\x01\x01\xd8\x04\x05\x82\x01r\
        \x05\x00\x00\x00";

    fn entry() -> Entry<'static> {
        Entry {
            origin: "native".into(),
            located: pymarshal::retarget::locate(DUMPED).unwrap(),
            marshal: DUMPED,
            stderr: b"e.py:1: SyntaxWarning: x\n",
            stderr_names: vec![0],
        }
    }

    #[test]
    fn round_trips() {
        let key = KeyBuilder::new().part("source", b"x = 1\n").finish();
        let bytes = encode(&key, &entry());
        assert_eq!(decode(&key, &bytes), Ok(entry()));
    }

    #[test]
    fn every_damage_is_caught() {
        let key = KeyBuilder::new().part("source", b"x = 1\n").finish();
        let other = KeyBuilder::new().part("source", b"x = 2\n").finish();
        let bytes = encode(&key, &entry());
        assert_eq!(decode(&other, &bytes), Err(Corruption::WrongKey));
        for cut in 0..bytes.len() {
            assert!(decode(&key, &bytes[..cut]).is_err(), "cut at {cut}");
        }
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            assert!(decode(&key, &flipped).is_err(), "flip at {at}");
        }
    }
}
