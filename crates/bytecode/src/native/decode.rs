//! Source bytes to text, as CPython's tokenizer decodes what `compile()`
//! receives from py_compile (`decode_str` in `Parser/tokenizer`).
//!
//! Only the paths whose result is certain are taken here: a UTF-8 BOM, no
//! coding cookie or one naming UTF-8, Latin-1 or ASCII (by the names
//! CPython's codec registry maps to them). Anything else (another codec, a
//! BOM with a cookie, bytes the codec rejects, a NUL byte) is left to
//! CPython, which either decodes it or reports the error compileall prints.

use std::borrow::Cow;

/// Why a source is not decoded here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Undecodable {
    /// The coding cookie names a codec we do not implement (lower-cased).
    Codec(String),
    /// A UTF-8 BOM together with a cookie naming another codec: CPython's
    /// "encoding problem" error.
    BomWithCookie,
    /// The bytes are not valid in the source's codec.
    Invalid,
    /// CPython refuses source code with a NUL byte.
    NulByte,
}

impl std::fmt::Display for Undecodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Undecodable::Codec(name) => write!(f, "coding cookie {name:?}"),
            Undecodable::BomWithCookie => f.write_str("a BOM and a coding cookie"),
            Undecodable::Invalid => f.write_str("bytes invalid in the source encoding"),
            Undecodable::NulByte => f.write_str("a NUL byte"),
        }
    }
}

/// The codecs decoded here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Codec {
    Utf8,
    Latin1,
    Ascii,
}

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Decodes `source` and translates its newlines (`\r\n` and `\r` become
/// `\n`), as the tokenizer does before parsing.
///
/// ```
/// use bytecode::native::decode::{decode, Undecodable};
/// assert_eq!(decode(b"\xef\xbb\xbfx = 1\r\n").unwrap(), "x = 1\n");
/// assert_eq!(decode(b"# -*- coding: latin-1 -*-\ns = '\xe9'\n").unwrap(), "# -*- coding: latin-1 -*-\ns = '\u{e9}'\n");
/// assert_eq!(decode(b"# coding: cp1252\n"), Err(Undecodable::Codec("cp1252".into())));
/// ```
pub fn decode(source: &[u8]) -> Result<Cow<'_, str>, Undecodable> {
    if source.contains(&0) {
        return Err(Undecodable::NulByte);
    }
    let (body, bom) = match source.strip_prefix(UTF8_BOM) {
        Some(rest) => (rest, true),
        None => (source, false),
    };
    let codec = match cookie(body) {
        None => Codec::Utf8,
        Some(name) if bom && name == "utf-8" => Codec::Utf8,
        Some(_) if bom => return Err(Undecodable::BomWithCookie),
        Some(name) => codec_named(&name).ok_or(Undecodable::Codec(name))?,
    };
    let text: Cow<'_, str> = match codec {
        Codec::Utf8 => Cow::Borrowed(std::str::from_utf8(body).map_err(|_| Undecodable::Invalid)?),
        Codec::Ascii if body.is_ascii() => {
            Cow::Borrowed(std::str::from_utf8(body).expect("ASCII is UTF-8"))
        }
        Codec::Ascii => return Err(Undecodable::Invalid),
        Codec::Latin1 => Cow::Owned(body.iter().map(|&b| char::from(b)).collect()),
    };
    Ok(translate_newlines(text))
}

/// `\r\n` and lone `\r` to `\n`; the text itself when it has none.
fn translate_newlines(text: Cow<'_, str>) -> Cow<'_, str> {
    if !text.contains('\r') {
        return text;
    }
    Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
}

/// The coding cookie of the first two lines, as the tokenizer looks for
/// it: line 1, then line 2 only if line 1 holds nothing but blanks or a
/// comment.
fn cookie(body: &[u8]) -> Option<String> {
    let mut lines = body.split_inclusive(|&b| b == b'\n');
    let first = lines.next()?;
    if let Some(name) = coding_spec(first) {
        return Some(name);
    }
    if !blank_or_comment(first) {
        return None;
    }
    coding_spec(lines.next()?)
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\x0c')
}

/// Whether the tokenizer keeps looking for a cookie after this line.
fn blank_or_comment(line: &[u8]) -> bool {
    line.iter()
        .take_while(|&&b| !matches!(b, b'#' | b'\n' | b'\r'))
        .all(|&b| is_blank(b))
}

/// `get_coding_spec`: a comment that is the only thing on its line and
/// contains `coding[:=]`, then blanks, then `[-\w.]+` (ASCII word
/// characters). The name is reduced like `get_normal_name`.
fn coding_spec(line: &[u8]) -> Option<String> {
    // CPython scans only up to `size - 6`, so the `coding` keyword must
    // start before the last six bytes of the line.
    let scan_end = line.len().checked_sub(6)?;
    let hash = line[..scan_end].iter().position(|&b| !is_blank(b))?;
    if line[hash] != b'#' {
        return None;
    }
    (hash..scan_end).find_map(|start| {
        let rest = line[start..].strip_prefix(b"coding")?;
        let rest = rest
            .strip_prefix(b":")
            .or_else(|| rest.strip_prefix(b"="))?;
        let rest = &rest[rest
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count()..];
        let length = rest
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            .count();
        (length > 0).then(|| normal_name(&rest[..length]))
    })
}

/// `get_normal_name`: the first twelve characters lower-cased with `_` as
/// `-`, mapped to `utf-8` or `iso-8859-1` when they name those; any other
/// name is returned lower-cased, for the codec registry.
fn normal_name(name: &[u8]) -> String {
    let head: String = name
        .iter()
        .take(12)
        .map(|&b| {
            if b == b'_' {
                '-'
            } else {
                char::from(b.to_ascii_lowercase())
            }
        })
        .collect();
    let is = |full: &str| head == full || head.starts_with(&format!("{full}-"));
    if is("utf-8") {
        "utf-8".into()
    } else if is("latin-1") || is("iso-8859-1") || is("iso-latin-1") {
        "iso-8859-1".into()
    } else {
        String::from_utf8_lossy(name).to_ascii_lowercase()
    }
}

/// The codec CPython's registry finds for `name`, among those decoded
/// here (`encodings.aliases` of 3.14, for the three codecs).
fn codec_named(name: &str) -> Option<Codec> {
    let key = name.replace('-', "_");
    match key.as_str() {
        "utf_8" | "utf8" | "u8" | "utf" | "cp65001" | "utf8_ucs2" | "utf8_ucs4" => {
            Some(Codec::Utf8)
        }
        "iso_8859_1" | "latin_1" | "latin1" | "latin" | "l1" | "iso8859_1" | "iso8859" | "8859"
        | "cp819" | "ibm819" | "csisolatin1" | "iso_ir_100" => Some(Codec::Latin1),
        "ascii" | "us_ascii" | "us" | "646" | "cp367" | "ibm367" | "csascii" | "iso646_us"
        | "iso_ir_6" => Some(Codec::Ascii),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_rules() {
        assert_eq!(cookie(b"# coding: utf-8\n"), Some("utf-8".into()));
        assert_eq!(
            cookie(b"#!/usr/bin/env python\n# vim: set fileencoding=latin1 :\n"),
            Some("latin1".into())
        );
        // Code on line 1 ends the search.
        assert_eq!(cookie(b"x = 1\n# coding: latin-1\n"), None);
        // Not a comment of its own.
        assert_eq!(cookie(b"x = 1  # coding: latin-1\n"), None);
        // A last line without its newline counts too.
        assert_eq!(cookie(b"# coding: latin-1"), Some("iso-8859-1".into()));
        assert_eq!(
            cookie(b"# -*- coding: UTF_8-unix -*-\n"),
            Some("utf-8".into())
        );
        assert_eq!(
            cookie(b"# -*- coding: Latin-1 -*-\n"),
            Some("iso-8859-1".into())
        );
    }
}
