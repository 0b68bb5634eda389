//! Python's `int(text)`, which argparse uses for `-r`, `-j` and `-o`.

/// Parses `text` as Python's `int()` does in base 10, or `None` where
/// Python raises `ValueError`.
///
/// Like CPython, it first maps every Unicode decimal digit to its ASCII
/// digit (`int('２') == 2`) and every Unicode space to a space, then reads
/// surrounding whitespace, an optional sign, and digits with single
/// underscores between them. Python's integers have no bound; values beyond
/// `i64` saturate, which keeps every comparison compileall makes with them
/// (`-r` against a depth, `-j` against 0 and 1) as it is in Python.
///
/// ```
/// use compileall_cli::parse_int;
/// // What int() returns in CPython 3.14:
/// assert_eq!(parse_int(" -7\n"), Some(-7));
/// assert_eq!(parse_int("1_000"), Some(1000));
/// assert_eq!(parse_int("\u{ff12}"), Some(2)); // FULLWIDTH DIGIT TWO
/// assert_eq!(parse_int("\u{3000} 5\t"), Some(5));
/// assert_eq!(parse_int("007"), Some(7));
/// // ... and where it raises ValueError:
/// for text in ["1__000", "_1", "1_", "1.5", "", "0x10"] {
///     assert_eq!(parse_int(text), None);
/// }
/// ```
pub fn parse_int(text: &str) -> Option<i64> {
    let ascii: String = text
        .chars()
        .map(|c| {
            if pystr::is_space(c as u32) {
                ' '
            } else if let Some(digit) = pystr::decimal_value(c as u32) {
                char::from_digit(digit, 10).expect("a decimal digit")
            } else {
                c
            }
        })
        .collect();
    let text = ascii.trim_matches(' ');
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
        let digit = i64::from(b - b'0');
        value = value.saturating_mul(10).saturating_add(digit);
    }
    Some(if negative {
        value.saturating_neg()
    } else {
        value
    })
}
