//! Python `str` semantics on POSIX path bytes.
//!
//! CPython sees file names as `str`: it decodes the bytes the kernel returns
//! with UTF-8 and the `surrogateescape` error handler, so every byte that is
//! not part of valid UTF-8 becomes a lone surrogate `U+DC80..U+DCFF`. The
//! output of `python -m compileall` is made of such strings (`repr(path)`,
//! sorted directory listings, `str.strip()` of `-i` lines), so a byte-exact
//! replacement needs the same rules applied to the same bytes. This crate is
//! that rule book, and nothing else:
//!
//! - [`fsdecode`]: the code points `os.fsdecode(bytes)` produces;
//! - [`repr`] / [`repr_with`]: `repr(os.fsdecode(bytes))`, and [`bytes_repr`]
//!   for `repr(bytes)`;
//! - [`cmp`]: the order `sorted()` puts file names in;
//! - [`is_alnum`], [`strip`], [`is_printable`]: the `str` predicates.
//!
//! ```
//! assert_eq!(pystr::repr(b"pkg/mod.py"), "'pkg/mod.py'");
//! assert_eq!(pystr::repr(b"it's"), "\"it's\"");
//! // An undecodable byte is a lone surrogate, which repr() escapes.
//! assert_eq!(pystr::repr(b"caf\xe9.py"), r"'caf\udce9.py'");
//! // U+00E9 sorts before the surrogate U+DC80, though 0xC3 > 0x80.
//! assert!(pystr::cmp("é".as_bytes(), b"\x80").is_lt());
//! ```
//!
//! Whether a non-ASCII character is printable depends on the Unicode database
//! of the interpreter. [`repr`] uses this crate's tables (from the
//! `unicode-general-category` crate); callers that can ask the real target
//! interpreter use [`repr_with`] with its answer, or call it only for ASCII.

use std::cmp::Ordering;

use unicode_general_category::{GeneralCategory, get_general_category};

/// One element of a Python `str`: a code point in `0..=0x10FFFF`, lone
/// surrogates included (which Rust's `char` cannot hold).
pub type CodePoint = u32;

/// The code points of `os.fsdecode(bytes)` on a UTF-8 file system: strict
/// UTF-8, with every byte that is not part of a valid sequence mapped to
/// `U+DC00 + byte` (`surrogateescape`).
///
/// ```
/// let s: Vec<u32> = pystr::fsdecode(b"a\xffb").collect();
/// assert_eq!(s, [0x61, 0xdcff, 0x62]);
/// ```
pub fn fsdecode(bytes: &[u8]) -> FsDecode<'_> {
    FsDecode {
        rest: bytes,
        valid: "".chars(),
        invalid: &[],
    }
}

/// Iterator returned by [`fsdecode`].
#[derive(Clone, Debug)]
pub struct FsDecode<'a> {
    rest: &'a [u8],
    valid: std::str::Chars<'a>,
    invalid: &'a [u8],
}

impl Iterator for FsDecode<'_> {
    type Item = CodePoint;

    fn next(&mut self) -> Option<CodePoint> {
        loop {
            if let Some(c) = self.valid.next() {
                return Some(c as CodePoint);
            }
            if let Some((&b, rest)) = self.invalid.split_first() {
                self.invalid = rest;
                return Some(0xDC00 + CodePoint::from(b));
            }
            if self.rest.is_empty() {
                return None;
            }
            // Every undecodable byte maps to its own surrogate, so how the
            // decoder groups bad bytes into errors does not matter: only
            // which bytes belong to valid sequences does, and Rust's strict
            // UTF-8 validation agrees with CPython's on that.
            let chunk = self.rest.utf8_chunks().next().expect("non-empty input");
            let consumed = chunk.valid().len() + chunk.invalid().len();
            self.valid = chunk.valid().chars();
            self.invalid = chunk.invalid();
            self.rest = &self.rest[consumed..];
        }
    }
}

/// `repr(os.fsdecode(bytes))`, deciding printability with this crate's
/// Unicode tables.
pub fn repr(bytes: &[u8]) -> String {
    repr_with(bytes, is_printable)
}

/// `repr(os.fsdecode(bytes))` with the caller's answer to
/// `str.isprintable()` for non-ASCII code points (ASCII never asks).
///
/// ```
/// // Pretend nothing outside ASCII is printable.
/// assert_eq!(pystr::repr_with("é".as_bytes(), |_| false), r"'\xe9'");
/// ```
pub fn repr_with(bytes: &[u8], is_printable: impl Fn(CodePoint) -> bool) -> String {
    let has_single = bytes.contains(&b'\'');
    let has_double = bytes.contains(&b'"');
    let quote = if has_single && !has_double { '"' } else { '\'' };
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push(quote);
    for cp in fsdecode(bytes) {
        push_escaped(&mut out, cp, quote, &is_printable);
    }
    out.push(quote);
    out
}

fn push_escaped(
    out: &mut String,
    cp: CodePoint,
    quote: char,
    is_printable: &impl Fn(CodePoint) -> bool,
) {
    use std::fmt::Write;
    match cp {
        0x5C => out.push_str("\\\\"),
        0x09 => out.push_str("\\t"),
        0x0A => out.push_str("\\n"),
        0x0D => out.push_str("\\r"),
        _ if cp == quote as CodePoint => {
            out.push('\\');
            out.push(quote);
        }
        0x00..=0x1F | 0x7F => write!(out, "\\x{cp:02x}").unwrap(),
        0x20..=0x7E => out.push(cp as u8 as char),
        _ if is_printable(cp) => {
            out.push(char::from_u32(cp).expect("printable code points are scalar values"))
        }
        0x80..=0xFF => write!(out, "\\x{cp:02x}").unwrap(),
        0x100..=0xFFFF => write!(out, "\\u{cp:04x}").unwrap(),
        _ => write!(out, "\\U{cp:08x}").unwrap(),
    }
}

/// `repr(bytes)`: `b'...'` with CPython's quoting and escapes.
///
/// ```
/// assert_eq!(pystr::bytes_repr(b"\x00ab'\r\n"), r#"b"\x00ab'\r\n""#);
/// ```
pub fn bytes_repr(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let has_single = bytes.contains(&b'\'');
    let has_double = bytes.contains(&b'"');
    let quote = if has_single && !has_double {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(quote as char);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b == quote => {
                out.push('\\');
                out.push(quote as char);
            }
            0x20..=0x7E => out.push(b as char),
            _ => write!(out, "\\x{b:02x}").unwrap(),
        }
    }
    out.push(quote as char);
    out
}

/// Compares two byte strings the way Python compares their `os.fsdecode`d
/// `str`s: by code point, which is not byte order once undecodable bytes
/// (surrogates `U+DC80..`) meet valid non-ASCII characters.
pub fn cmp(a: &[u8], b: &[u8]) -> Ordering {
    // Valid UTF-8 orders bytewise exactly as its code points do.
    match (std::str::from_utf8(a), std::str::from_utf8(b)) {
        (Ok(_), Ok(_)) => a.cmp(b),
        _ => fsdecode(a).cmp(fsdecode(b)),
    }
}

/// `str.isprintable()` for one code point, from this crate's tables:
/// everything but the categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs, with the
/// ASCII space the one printable separator.
pub fn is_printable(cp: CodePoint) -> bool {
    if cp == 0x20 {
        return true;
    }
    let Some(c) = char::from_u32(cp) else {
        return false; // lone surrogate (Cs) or out of range
    };
    !matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Surrogate
            | GeneralCategory::PrivateUse
            | GeneralCategory::Unassigned
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::SpaceSeparator
    )
}

/// `str.isalnum()` of `os.fsdecode(bytes)`: non-empty, and every code point a
/// letter (Lu, Ll, Lt, Lm, Lo) or a number (Nd, Nl, No).
///
/// ```
/// assert!(pystr::is_alnum(b"1"));
/// assert!(pystr::is_alnum("opt٣".as_bytes()));
/// assert!(!pystr::is_alnum(b""));
/// assert!(!pystr::is_alnum(b"1.5"));
/// ```
pub fn is_alnum(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && fsdecode(bytes).all(|cp| {
            char::from_u32(cp).is_some_and(|c| {
                matches!(
                    get_general_category(c),
                    GeneralCategory::UppercaseLetter
                        | GeneralCategory::LowercaseLetter
                        | GeneralCategory::TitlecaseLetter
                        | GeneralCategory::ModifierLetter
                        | GeneralCategory::OtherLetter
                        | GeneralCategory::DecimalNumber
                        | GeneralCategory::LetterNumber
                        | GeneralCategory::OtherNumber
                )
            })
        })
}

/// Whether `str.strip()` with no argument removes this code point.
pub fn is_space(cp: CodePoint) -> bool {
    matches!(
        cp,
        0x09..=0x0D
            | 0x1C..=0x20
            | 0x85
            | 0xA0
            | 0x1680
            | 0x2000..=0x200A
            | 0x2028
            | 0x2029
            | 0x202F
            | 0x205F
            | 0x3000
    )
}

/// `os.fsencode(os.fsdecode(bytes).strip())`: the bytes with leading and
/// trailing Python whitespace removed.
///
/// ```
/// assert_eq!(pystr::strip(b" \tpkg/a.py\r\n"), b"pkg/a.py");
/// assert_eq!(pystr::strip("\u{3000}x\u{85}".as_bytes()), b"x");
/// ```
pub fn strip(bytes: &[u8]) -> &[u8] {
    let mut start = 0;
    while start < bytes.len() {
        match leading_space_len(&bytes[start..]) {
            Some(n) => start += n,
            None => break,
        }
    }
    let mut end = bytes.len();
    while end > start {
        match trailing_space_len(&bytes[start..end]) {
            Some(n) => end -= n,
            None => break,
        }
    }
    &bytes[start..end]
}

fn leading_space_len(bytes: &[u8]) -> Option<usize> {
    let len = match bytes.first()? {
        b if *b < 0x80 => 1,
        b if b >> 5 == 0b110 => 2,
        b if b >> 4 == 0b1110 => 3,
        _ => return None, // no 4-byte character is whitespace
    };
    let c = std::str::from_utf8(bytes.get(..len)?)
        .ok()?
        .chars()
        .next()?;
    is_space(c as CodePoint).then_some(len)
}

fn trailing_space_len(bytes: &[u8]) -> Option<usize> {
    (1..=3.min(bytes.len())).find_map(|len| {
        let tail = &bytes[bytes.len() - len..];
        let c = std::str::from_utf8(tail).ok()?.chars().next()?;
        (c.len_utf8() == len && is_space(c as CodePoint)).then_some(len)
    })
}

/// `os.fsdecode(bytes).encode('utf-8', 'backslashreplace')`: valid UTF-8 is
/// kept, each undecodable byte becomes the text `\udcXX`. This is how
/// compileall prints error messages that carry undecodable file names.
///
/// ```
/// assert_eq!(pystr::backslashreplace(b"a\xffb"), r"a\udcffb");
/// ```
pub fn backslashreplace(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            write!(out, "\\udc{b:02x}").unwrap();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsdecode_maps_each_bad_byte() {
        // An overlong encoding and an encoded surrogate are both invalid.
        let s: Vec<_> = fsdecode(b"\xc0\xaf\xed\xa0\x80x").collect();
        assert_eq!(s, [0xdcc0, 0xdcaf, 0xdced, 0xdca0, 0xdc80, 0x78]);
        // A truncated sequence at the end.
        let s: Vec<_> = fsdecode("é".as_bytes().split_last().unwrap().1).collect();
        assert_eq!(s, [0xdcc3]);
    }

    #[test]
    fn repr_quotes_like_python() {
        assert_eq!(repr(b"a'b\"c"), r#"'a\'b"c'"#);
        assert_eq!(repr(b"a\"b"), r#"'a"b'"#);
        assert_eq!(repr(b"\\"), r"'\\'");
        assert_eq!(repr(b"\x7f\x00\x1b"), r"'\x7f\x00\x1b'");
    }

    #[test]
    fn strip_keeps_inner_space_and_non_space() {
        assert_eq!(strip(b"  a b  "), b"a b");
        assert_eq!(strip(b"\xff "), b"\xff");
        assert_eq!(strip(b"   "), b"");
        assert_eq!(strip("x\u{200b}".as_bytes()), "x\u{200b}".as_bytes());
    }
}
