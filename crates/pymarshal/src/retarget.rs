//! Giving marshalled code objects another `co_filename`, by splicing the
//! bytes instead of reading and writing the whole graph.
//!
//! A compiled module is the same for every path it is compiled at, except
//! for `co_filename`, the one str every code object holds. CPython writes
//! that str in full at its first occurrence (flagged, since every code
//! object shares it) and as `TYPE_REF <index>` afterwards; reference
//! indices are handed out in the order objects appear, so replacing the one
//! full occurrence by another str leaves every other byte valid and equal
//! to what the compiler would have written for the other name. [`locate`]
//! finds the occurrences and checks that this holds; [`Located::retarget`]
//! splices.
//!
//! It holds for marshal versions 4 and 5 (CPython 3.11 to 3.15: same type
//! codes, same code-object layout) when the file name is shared with no
//! other object. CPython interns `co_filename` (3.12 and later) and the
//! string constants made only of `[A-Za-z0-9_]`; a name ending in `.py`
//! is never one of those, so no constant can be the same object. [`locate`]
//! still refuses any input where an object other than a `co_filename`
//! refers to the file name's index, or where a `co_filename` is not the
//! one name.
//!
//! ```
//! // `marshal.dumps(compile("x = 1\n", "a/e.py", "exec"))` on CPython 3.14:
//! // the module's co_filename written once, flagged and interned.
//! let dumped: &[u8] = b"\xe3\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\
//!     \x00\x00\x00\x00\x00\xf3\n\x00\x00\x00\x80\x00^\x01t\x00R\x01#\x00)\x02\xe9\x01\x00\
//!     \x00\x00N)\x01\xda\x01x\xa9\x00\xf3\x00\x00\x00\x00\xda\x06a/e.py\xda\x08<module>r\x07\
//!     \x00\x00\x00\x01\x00\x00\x00s\n\x00\x00\x00\xf0\x03\x01\x01\x01\xd8\x04\x05\x82\x01r\
//!     \x05\x00\x00\x00";
//! let located = pymarshal::retarget::locate(dumped)?;
//! assert_eq!(located.filename(), "a/e.py");
//! let moved = located.retarget(dumped, "elsewhere/e.py");
//! let pymarshal::Object::Code(code) = &*pymarshal::read(&moved)? else { unreachable!() };
//! assert_eq!(code.filename.to_string(), "'elsewhere/e.py'");
//! assert_eq!(moved.len(), dumped.len() + 8);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::ops::Range;

use crate::types::*;

/// Where a marshalled code object's file name is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// The byte ranges of the file name's full occurrences (type code,
    /// length and text), in order. There is one unless the str was written
    /// unflagged, copy by copy.
    spans: Vec<Range<usize>>,
    /// Its text.
    filename: String,
    /// Written as an interned str (3.12 and later intern it).
    interned: bool,
}

/// Why [`locate`] cannot re-target some bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocateError {
    /// Not marshal data that CPython writes for code objects (truncated, an
    /// unknown type code, nesting deeper than CPython allows).
    Malformed {
        /// Where the scan stopped.
        offset: usize,
    },
    /// The root is not a code object.
    NotCode,
    /// A `co_filename` is not a UTF-8 str, or not the same str in every
    /// code object, or its object is also used elsewhere.
    Shared,
}

impl fmt::Display for LocateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocateError::Malformed { offset } => write!(f, "bad marshal data at byte {offset}"),
            LocateError::NotCode => f.write_str("not a code object"),
            LocateError::Shared => f.write_str("co_filename is not one name of its own"),
        }
    }
}

impl std::error::Error for LocateError {}

/// Finds every full occurrence of the file name in `marshal.dumps(code)`
/// and checks that splicing another name in its place gives the bytes the
/// compiler would have written for that name.
pub fn locate(data: &[u8]) -> Result<Located, LocateError> {
    if data.first().is_none_or(|&code| code & !FLAG_REF != CODE) {
        return Err(LocateError::NotCode);
    }
    let mut scan = Scan {
        data,
        pos: 0,
        refs: 0,
        filename: None,
        spans: Vec::new(),
    };
    scan.object(0, Slot::Other)?;
    if scan.pos != data.len() {
        return Err(LocateError::Malformed { offset: scan.pos });
    }
    let Some(name) = scan.filename else {
        return Err(LocateError::Shared);
    };
    Ok(Located {
        spans: scan.spans,
        filename: name.text,
        interned: name.interned,
    })
}

impl Located {
    /// The file name the code objects hold.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The byte ranges of its full occurrences in the data it was found in.
    pub fn spans(&self) -> &[Range<usize>] {
        &self.spans
    }

    /// Rebuilds a `Located` from what [`filename`](Self::filename),
    /// [`spans`](Self::spans) and [`interned`](Self::interned) returned, as
    /// a store keeps them; `None` when the spans overlap or are out of order.
    pub fn from_parts(filename: String, spans: Vec<Range<usize>>, interned: bool) -> Option<Self> {
        let ordered = spans.windows(2).all(|pair| pair[0].end <= pair[1].start);
        let sized = spans.iter().all(|span| span.start < span.end);
        (ordered && sized).then_some(Located {
            spans,
            filename,
            interned,
        })
    }

    /// Whether the name is written as an interned str.
    pub fn interned(&self) -> bool {
        self.interned
    }

    /// Whether `data` holds this file name at every span (a cheap check
    /// that the spans belong to these bytes).
    pub fn matches(&self, data: &[u8]) -> bool {
        self.spans.iter().all(|span| {
            data.get(span.clone())
                .is_some_and(|written| strip_flag(written) == encode(&self.filename, self.interned))
        })
    }

    /// `data` with every occurrence of the file name replaced by `filename`,
    /// written as CPython writes that str (short or long ASCII, or UTF-8),
    /// keeping its reference flag and interned state.
    pub fn retarget(&self, data: &[u8], filename: &str) -> Vec<u8> {
        let replacement = encode(filename, self.interned);
        let grown = self.spans.len() * replacement.len();
        let mut out = Vec::with_capacity(data.len() + grown);
        let mut copied = 0;
        for span in &self.spans {
            out.extend_from_slice(&data[copied..span.start]);
            out.push(replacement[0] | (data[span.start] & FLAG_REF));
            out.extend_from_slice(&replacement[1..]);
            copied = span.end;
        }
        out.extend_from_slice(&data[copied..]);
        out
    }
}

/// `data`'s first byte without the reference flag, then the rest.
fn strip_flag(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    out[0] &= !FLAG_REF;
    out
}

/// A str as `w_object` writes it (version 4 and later), unflagged.
fn encode(text: &str, interned: bool) -> Vec<u8> {
    let length = text.chars().count();
    let mut out = Vec::with_capacity(text.len() + 5);
    if text.is_ascii() && length < 256 {
        out.push(if interned {
            SHORT_ASCII_INTERNED
        } else {
            SHORT_ASCII
        });
        out.push(length as u8);
    } else {
        out.push(match (text.is_ascii(), interned) {
            (true, true) => ASCII_INTERNED,
            (true, false) => ASCII,
            (false, true) => INTERNED,
            (false, false) => UNICODE,
        });
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(text.as_bytes());
    out
}

/// What the object being scanned is to its code object.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Filename,
    Other,
}

/// The file name as first seen.
struct Name {
    text: String,
    interned: bool,
    /// Its reference index, if it was flagged.
    index: Option<u32>,
}

struct Scan<'d> {
    data: &'d [u8],
    pos: usize,
    /// Reference indices handed out so far.
    refs: u32,
    filename: Option<Name>,
    spans: Vec<Range<usize>>,
}

impl<'d> Scan<'d> {
    fn malformed(&self) -> LocateError {
        LocateError::Malformed { offset: self.pos }
    }

    fn take(&mut self, n: usize) -> Result<&'d [u8], LocateError> {
        let data = self.data;
        let end = self.pos.checked_add(n).ok_or_else(|| self.malformed())?;
        let bytes = data.get(self.pos..end).ok_or_else(|| self.malformed())?;
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, LocateError> {
        Ok(self.take(1)?[0])
    }

    fn long(&mut self) -> Result<i32, LocateError> {
        let bytes = self.take(4)?;
        Ok(i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn size(&mut self) -> Result<usize, LocateError> {
        usize::try_from(self.long()?).map_err(|_| self.malformed())
    }

    /// Skips one object, noting what [`locate`] needs.
    fn object(&mut self, depth: usize, slot: Slot) -> Result<(), LocateError> {
        if depth > MAX_DEPTH {
            return Err(self.malformed());
        }
        let start = self.pos;
        let code = self.byte()?;
        let flagged = code & FLAG_REF != 0;
        let index = flagged.then(|| {
            self.refs += 1;
            self.refs - 1
        });
        let kind = code & !FLAG_REF;
        match kind {
            NULL | NONE | FALSE | TRUE | STOPITER | ELLIPSIS => {}
            INT => {
                self.take(4)?;
            }
            INT64 | BINARY_FLOAT => {
                self.take(8)?;
            }
            BINARY_COMPLEX => {
                self.take(16)?;
            }
            FLOAT => self.short_text()?,
            COMPLEX => {
                self.short_text()?;
                self.short_text()?;
            }
            LONG => {
                let digits = self.long()?.unsigned_abs() as usize;
                self.take(digits.checked_mul(2).ok_or_else(|| self.malformed())?)?;
            }
            STRING => {
                let n = self.size()?;
                self.take(n)?;
            }
            INTERNED | UNICODE | ASCII | ASCII_INTERNED | SHORT_ASCII | SHORT_ASCII_INTERNED => {
                let text = self.str_bytes(kind)?;
                if slot == Slot::Filename {
                    // Only a UTF-8 name can be written back as given (the
                    // ASCII types hold latin-1, `u` may hold surrogates).
                    let text = String::from_utf8(text.to_vec()).map_err(|_| LocateError::Shared)?;
                    let interned = matches!(kind, INTERNED | ASCII_INTERNED | SHORT_ASCII_INTERNED);
                    self.filename_seen(start, text, interned, index)?;
                }
            }
            REF => {
                let target = u32::try_from(self.long()?).map_err(|_| self.malformed())?;
                // A reference only reaches back, to an object already
                // written: one to the name's index comes after the name.
                let to_name = self
                    .filename
                    .as_ref()
                    .is_some_and(|name| name.index == Some(target));
                if to_name != (slot == Slot::Filename) {
                    return Err(LocateError::Shared);
                }
            }
            SMALL_TUPLE => {
                let n = usize::from(self.byte()?);
                self.items(n, depth)?;
            }
            TUPLE | LIST | SET | FROZENSET => {
                let n = self.size()?;
                self.items(n, depth)?;
            }
            DICT => self.dict(depth)?,
            SLICE => self.items(3, depth)?,
            CODE => self.code(depth)?,
            _ => return Err(LocateError::Malformed { offset: start }),
        }
        if slot == Slot::Filename && !is_str(kind) && kind != REF {
            return Err(LocateError::Shared);
        }
        Ok(())
    }

    fn short_text(&mut self) -> Result<(), LocateError> {
        let n = usize::from(self.byte()?);
        self.take(n)?;
        Ok(())
    }

    /// The bytes of a str whose type code was just read.
    fn str_bytes(&mut self, kind: u8) -> Result<&'d [u8], LocateError> {
        let n = match kind {
            SHORT_ASCII | SHORT_ASCII_INTERNED => usize::from(self.byte()?),
            _ => self.size()?,
        };
        self.take(n)
    }

    /// A full str in a `co_filename` slot: the first one is the name, any
    /// later one an unflagged copy of it.
    fn filename_seen(
        &mut self,
        start: usize,
        text: String,
        interned: bool,
        index: Option<u32>,
    ) -> Result<(), LocateError> {
        match &self.filename {
            None => {
                self.filename = Some(Name {
                    text,
                    interned,
                    index,
                })
            }
            Some(name) if name.text == text && name.interned == interned && index.is_none() => {}
            Some(_) => return Err(LocateError::Shared),
        }
        self.spans.push(start..self.pos);
        Ok(())
    }

    fn items(&mut self, n: usize, depth: usize) -> Result<(), LocateError> {
        for _ in 0..n {
            self.object(depth + 1, Slot::Other)?;
        }
        Ok(())
    }

    fn dict(&mut self, depth: usize) -> Result<(), LocateError> {
        loop {
            if self.data.get(self.pos) == Some(&NULL) {
                self.pos += 1;
                return Ok(());
            }
            self.object(depth + 1, Slot::Other)?;
            self.object(depth + 1, Slot::Other)?;
        }
    }

    /// The code-object layout of CPython 3.11 to 3.15.
    fn code(&mut self, depth: usize) -> Result<(), LocateError> {
        // argcount, posonlyargcount, kwonlyargcount, stacksize, flags.
        self.take(5 * 4)?;
        // co_code, co_consts, co_names, co_localsplusnames,
        // co_localspluskinds.
        self.items(5, depth)?;
        self.object(depth + 1, Slot::Filename)?;
        // co_name, co_qualname.
        self.items(2, depth)?;
        // co_firstlineno.
        self.take(4)?;
        // co_linetable, co_exceptiontable.
        self.items(2, depth)
    }
}

fn is_str(kind: u8) -> bool {
    matches!(
        kind,
        INTERNED | UNICODE | ASCII | ASCII_INTERNED | SHORT_ASCII | SHORT_ASCII_INTERNED
    )
}
