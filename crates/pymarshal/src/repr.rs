//! Python's `repr()` of the model's objects, for messages and `inspect`.

use std::fmt::{self, Write};

use crate::object::{Code, Object, PyStr};

impl fmt::Display for Object {
    /// Python's `repr()` (code objects without their address).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        repr(self, f)
    }
}

impl fmt::Debug for Object {
    /// The same as `Display`: Python's `repr()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        repr(self, f)
    }
}

impl fmt::Display for PyStr {
    /// The text, as Python's `str()` shows it (lone surrogates as U+FFFD).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl fmt::Debug for PyStr {
    /// Python's `repr()`, marked when interned.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        str_repr(self, f)?;
        if self.interned {
            f.write_str(" (interned)")?;
        }
        Ok(())
    }
}

impl fmt::Display for Code {
    /// Python's `repr()` of a code object, without the address.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        code_repr(self, f)
    }
}

impl fmt::Debug for Code {
    /// Every field by its `co_*` name, values as Python's `repr()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Code");
        for (name, field) in crate::eq::code_fields(self) {
            s.field(name, &field);
        }
        s.finish()
    }
}

/// Python's `repr()` of `obj`, cut after about `limit` characters (with
/// `...` appended) so that huge or very shared graphs stay cheap to show.
pub(crate) fn repr_limited(obj: &Object, limit: usize) -> String {
    let mut out = Limited {
        text: String::new(),
        limit,
    };
    if repr(obj, &mut out).is_err() {
        out.text.push_str("...");
    }
    out.text
}

/// A `fmt::Write` that fails once it holds more than `limit` bytes.
struct Limited {
    text: String,
    limit: usize,
}

impl Write for Limited {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.limit.saturating_sub(self.text.len());
        if s.len() > room {
            let cut = (0..=room)
                .rev()
                .find(|&i| s.is_char_boundary(i))
                .unwrap_or(0);
            self.text.push_str(&s[..cut]);
            return Err(fmt::Error);
        }
        self.text.push_str(s);
        Ok(())
    }
}

pub(crate) fn repr(obj: &Object, out: &mut dyn Write) -> fmt::Result {
    match obj {
        Object::None => out.write_str("None"),
        Object::StopIteration => out.write_str("<class 'StopIteration'>"),
        Object::Ellipsis => out.write_str("Ellipsis"),
        Object::False => out.write_str("False"),
        Object::True => out.write_str("True"),
        Object::Int(v) => write!(out, "{v}"),
        Object::Float(v) => out.write_str(&float_repr(*v, true, false)),
        Object::Complex { real, imag } => complex_repr(*real, *imag, out),
        Object::Bytes(b) => out.write_str(&pystr::bytes_repr(b)),
        Object::Str(s) => str_repr(s, out),
        Object::Tuple(items) => {
            out.write_char('(')?;
            sequence(items.iter().map(|i| &**i), out)?;
            if items.len() == 1 {
                out.write_char(',')?;
            }
            out.write_char(')')
        }
        Object::List(items) => {
            out.write_char('[')?;
            sequence(items.iter().map(|i| &**i), out)?;
            out.write_char(']')
        }
        Object::Dict(pairs) => {
            out.write_char('{')?;
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.write_str(", ")?;
                }
                repr(k, out)?;
                out.write_str(": ")?;
                repr(v, out)?;
            }
            out.write_char('}')
        }
        Object::Set(items) if items.is_empty() => out.write_str("set()"),
        Object::Set(items) => {
            out.write_char('{')?;
            sequence(items.iter().map(|i| &**i), out)?;
            out.write_char('}')
        }
        Object::FrozenSet(items) if items.is_empty() => out.write_str("frozenset()"),
        Object::FrozenSet(items) => {
            out.write_str("frozenset({")?;
            sequence(items.iter().map(|i| &**i), out)?;
            out.write_str("})")
        }
        Object::Slice { start, stop, step } => {
            out.write_str("slice(")?;
            sequence([&**start, &**stop, &**step].into_iter(), out)?;
            out.write_char(')')
        }
        Object::Code(code) => code_repr(code, out),
    }
}

fn sequence<'a>(items: impl Iterator<Item = &'a Object>, out: &mut dyn Write) -> fmt::Result {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.write_str(", ")?;
        }
        repr(item, out)?;
    }
    Ok(())
}

/// `<code object NAME, file "FILENAME", line N>`: CPython's repr without
/// `at 0x...`, which no file records.
fn code_repr(code: &Code, out: &mut dyn Write) -> fmt::Result {
    let text = |o: &Object| match o {
        Object::Str(s) => s.to_string_lossy(),
        other => repr_limited(other, 80),
    };
    write!(
        out,
        "<code object {}, file \"{}\", line {}>",
        text(&code.name),
        text(&code.filename),
        code.firstlineno
    )
}

/// `repr(str)`: CPython's quote choice and escapes, printability from
/// `pystr`'s Unicode tables.
fn str_repr(s: &PyStr, out: &mut dyn Write) -> fmt::Result {
    let has_single = s.utf8.contains(&b'\'');
    let has_double = s.utf8.contains(&b'"');
    let quote = if has_single && !has_double { '"' } else { '\'' };
    out.write_char(quote)?;
    for cp in s.code_points() {
        match cp {
            0x5c => out.write_str("\\\\")?,
            0x09 => out.write_str("\\t")?,
            0x0a => out.write_str("\\n")?,
            0x0d => out.write_str("\\r")?,
            _ if cp == quote as u32 => {
                out.write_char('\\')?;
                out.write_char(quote)?;
            }
            0x20..=0x7e => out.write_char(char::from(cp as u8))?,
            _ if cp > 0x7f && pystr::is_printable(cp) => {
                out.write_char(char::from_u32(cp).unwrap_or('\u{fffd}'))?;
            }
            0..=0xff => write!(out, "\\x{cp:02x}")?,
            0x100..=0xffff => write!(out, "\\u{cp:04x}")?,
            _ => write!(out, "\\U{cp:08x}")?,
        }
    }
    out.write_char(quote)
}

/// `repr(float)`: the shortest digits that round-trip, in fixed notation
/// for exponents -4..16 and scientific notation otherwise, as CPython's
/// `float_repr_style == 'short'`. `dot_0` appends `.0` to integral values
/// (float's repr does, complex's does not); `sign` writes `+` on
/// non-negative values (complex's imaginary part).
pub(crate) fn float_repr(v: f64, dot_0: bool, sign: bool) -> String {
    let plus = if sign { "+" } else { "" };
    if v.is_nan() {
        return format!("{plus}nan");
    }
    if v.is_infinite() {
        return if v < 0.0 {
            "-inf".into()
        } else {
            format!("{plus}inf")
        };
    }
    // Rust's `{:e}` gives the same shortest round-trip digits as CPython's
    // `repr`: one digit, optional fraction, `e`, the exponent.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exponent) = sci.split_once('e').expect("{:e} has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exponent + 1;
    let mut out = String::from(if v.is_sign_negative() { "-" } else { plus });
    if !(-3..=16).contains(&decpt) {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let e = decpt - 1;
        let esign = if e < 0 { '-' } else { '+' };
        out.push_str(&format!("e{esign}{:02}", e.abs()));
    } else if decpt <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat(decpt.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let decpt = decpt as usize;
        if decpt >= digits.len() {
            out.push_str(&digits);
            out.push_str(&"0".repeat(decpt - digits.len()));
            if dot_0 {
                out.push_str(".0");
            }
        } else {
            out.push_str(&digits[..decpt]);
            out.push('.');
            out.push_str(&digits[decpt..]);
        }
    }
    out
}

/// `repr(complex)`: `imagj` when the real part is +0.0, else
/// `(real+imagj)`.
fn complex_repr(real: f64, imag: f64, out: &mut dyn Write) -> fmt::Result {
    if real == 0.0 && real.is_sign_positive() {
        write!(out, "{}j", float_repr(imag, false, false))
    } else {
        write!(
            out,
            "({}{}j)",
            float_repr(real, false, false),
            float_repr(imag, false, true)
        )
    }
}
