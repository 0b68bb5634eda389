//! Python's `int(text)`, which argparse uses for `-r`, `-j` and `-o`.

/// Parses `text` as Python's `int()` does in base 10: surrounding
/// whitespace, an optional sign, digits with single underscores between
/// them. `None` where Python raises `ValueError`.
///
/// Two known differences, both outside any real command line: Python also
/// accepts non-ASCII decimal digits (`int('٣') == 3`), and has no upper
/// bound where this returns `None` beyond `i64`.
pub fn parse_int(text: &str) -> Option<i64> {
    let text = text.trim_matches(|c: char| pystr::is_space(c as u32));
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    if !well_formed {
        return None;
    }
    let mut value: i64 = 0;
    for b in digits.bytes().filter(|&b| b != b'_') {
        value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::parse_int;

    // Each expectation is what `int(text)` gives in CPython 3.11.
    #[test]
    fn accepts_what_python_accepts() {
        assert_eq!(parse_int("4"), Some(4));
        assert_eq!(parse_int(" -2\n"), Some(-2));
        assert_eq!(parse_int("+0"), Some(0));
        assert_eq!(parse_int("1_000"), Some(1000));
        assert_eq!(parse_int("007"), Some(7));
    }

    #[test]
    fn rejects_what_python_rejects() {
        for text in [
            "", " ", "1.0", "0x10", "1__0", "_1", "1_", "--1", "one", "1 2",
        ] {
            assert_eq!(parse_int(text), None, "{text:?}");
        }
    }
}
