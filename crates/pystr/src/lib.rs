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
//! - [`is_alnum`], [`strip`], [`is_printable`], [`decimal_value`]: the `str`
//!   predicates;
//! - [`encode`]: `str.encode(codec, errors)`, what `print()` writes.
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

#![forbid(unsafe_code)]

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

/// The digit value of a code point with Unicode's `Numeric_Type=Decimal`
/// (general category Nd), as `int()` reads it: `int('٣') == 3`,
/// `int('２') == 2`. Decimal digits come in contiguous runs of ten, zero
/// first, so the value is the distance from the run's start.
///
/// ```
/// assert_eq!(pystr::decimal_value('7' as u32), Some(7));
/// assert_eq!(pystr::decimal_value('\u{ff12}' as u32), Some(2));
/// assert_eq!(pystr::decimal_value('x' as u32), None);
/// ```
pub fn decimal_value(cp: CodePoint) -> Option<u32> {
    let is_decimal = |cp: CodePoint| {
        char::from_u32(cp)
            .is_some_and(|c| get_general_category(c) == GeneralCategory::DecimalNumber)
    };
    if !is_decimal(cp) {
        return None;
    }
    let mut start = cp;
    while start > 0 && is_decimal(start - 1) {
        start -= 1;
    }
    Some((cp - start) % 10)
}

/// A text stream's codec and error handler, as in `sys.stdout.encoding` and
/// `sys.stdout.errors`: what `print()` turns a `str` into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextEncoding {
    /// The codec.
    pub codec: Codec,
    /// What happens to a code point the codec cannot encode.
    pub errors: ErrorHandler,
}

/// The codecs [`encode`] implements, by `codecs.lookup(name).name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// `utf-8`: encodes everything but lone surrogates.
    Utf8,
    /// `ascii`: code points below 128.
    Ascii,
    /// `iso8859-1` (latin-1): code points below 256.
    Latin1,
}

/// Python's codec error handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorHandler {
    /// Raise `UnicodeEncodeError`.
    Strict,
    /// Lone surrogates `U+DC80..U+DCFF` become the byte they stand for.
    SurrogateEscape,
    /// Surrogates are encoded as UTF-8 would encode them (utf-8 only).
    SurrogatePass,
    /// `\xNN`, `\uNNNN` or `\UNNNNNNNN`.
    BackslashReplace,
    /// `?`.
    Replace,
    /// Dropped.
    Ignore,
    /// `&#NNN;`.
    XmlCharRefReplace,
}

impl TextEncoding {
    /// `os.fsencode`'s encoding: UTF-8 with `surrogateescape`, which gives
    /// back the original bytes of any [`fsdecode`]d text.
    pub const FS: TextEncoding = TextEncoding {
        codec: Codec::Utf8,
        errors: ErrorHandler::SurrogateEscape,
    };

    /// From Python's names (`sys.stdout.encoding` normalized by
    /// `codecs.lookup`, and `sys.stdout.errors`); `None` for codecs and
    /// handlers this crate does not implement.
    ///
    /// ```
    /// use pystr::{Codec, ErrorHandler, TextEncoding};
    /// let e = TextEncoding::from_python_names("ascii", "backslashreplace").unwrap();
    /// assert_eq!((e.codec, e.errors), (Codec::Ascii, ErrorHandler::BackslashReplace));
    /// assert!(TextEncoding::from_python_names("cp1252", "strict").is_none());
    /// ```
    pub fn from_python_names(codec: &str, errors: &str) -> Option<TextEncoding> {
        let codec = match codec {
            "utf-8" => Codec::Utf8,
            "ascii" => Codec::Ascii,
            "iso8859-1" => Codec::Latin1,
            _ => return None,
        };
        let errors = match errors {
            "strict" => ErrorHandler::Strict,
            "surrogateescape" => ErrorHandler::SurrogateEscape,
            "surrogatepass" if codec == Codec::Utf8 => ErrorHandler::SurrogatePass,
            "backslashreplace" => ErrorHandler::BackslashReplace,
            "replace" => ErrorHandler::Replace,
            "ignore" => ErrorHandler::Ignore,
            "xmlcharrefreplace" => ErrorHandler::XmlCharRefReplace,
            _ => return None,
        };
        Some(TextEncoding { codec, errors })
    }
}

/// Where `str.encode` raises `UnicodeEncodeError` (the `strict` handler, or
/// `surrogateescape` meeting a code point it cannot turn into a byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeError {
    /// The code point that cannot be encoded.
    pub code_point: CodePoint,
}

/// `os.fsdecode(bytes).encode(codec, errors)`: the bytes `print()` writes
/// for this text on a stream of that encoding.
///
/// ```
/// use pystr::{Codec, ErrorHandler, TextEncoding};
/// let ascii = TextEncoding { codec: Codec::Ascii, errors: ErrorHandler::BackslashReplace };
/// assert_eq!(pystr::encode("café 中".as_bytes(), ascii).unwrap(), br"caf\xe9 \u4e2d");
/// let utf8 = TextEncoding { codec: Codec::Utf8, errors: ErrorHandler::BackslashReplace };
/// assert_eq!(pystr::encode(b"a\xffb", utf8).unwrap(), br"a\udcffb");
/// assert_eq!(pystr::encode(b"a\xffb", TextEncoding::FS).unwrap(), b"a\xffb");
/// ```
pub fn encode(bytes: &[u8], encoding: TextEncoding) -> Result<Vec<u8>, EncodeError> {
    use std::io::Write;
    let limit: CodePoint = match encoding.codec {
        Codec::Utf8 => 0x11_0000,
        Codec::Ascii => 0x80,
        Codec::Latin1 => 0x100,
    };
    let is_surrogate = |cp: CodePoint| (0xD800..0xE000).contains(&cp);
    let mut out = Vec::with_capacity(bytes.len());
    for cp in fsdecode(bytes) {
        if cp < limit && !is_surrogate(cp) {
            match encoding.codec {
                Codec::Utf8 => {
                    let c = char::from_u32(cp).expect("a scalar value");
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                Codec::Ascii | Codec::Latin1 => out.push(cp as u8),
            }
            continue;
        }
        match encoding.errors {
            ErrorHandler::Strict => return Err(EncodeError { code_point: cp }),
            ErrorHandler::SurrogateEscape if (0xDC80..0xDD00).contains(&cp) => {
                out.push((cp - 0xDC00) as u8)
            }
            ErrorHandler::SurrogateEscape => return Err(EncodeError { code_point: cp }),
            ErrorHandler::SurrogatePass if is_surrogate(cp) => out.extend_from_slice(&[
                0xE0 | (cp >> 12) as u8,
                0x80 | ((cp >> 6) & 0x3F) as u8,
                0x80 | (cp & 0x3F) as u8,
            ]),
            ErrorHandler::SurrogatePass => return Err(EncodeError { code_point: cp }),
            ErrorHandler::BackslashReplace => {
                let _ = match cp {
                    0..0x100 => write!(out, "\\x{cp:02x}"),
                    0x100..0x1_0000 => write!(out, "\\u{cp:04x}"),
                    _ => write!(out, "\\U{cp:08x}"),
                };
            }
            ErrorHandler::Replace => out.push(b'?'),
            ErrorHandler::Ignore => {}
            ErrorHandler::XmlCharRefReplace => {
                let _ = write!(out, "&#{cp};");
            }
        }
    }
    Ok(out)
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
