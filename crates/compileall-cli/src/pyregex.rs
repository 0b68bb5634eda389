//! `-x REGEXP`: Python `re` patterns, searched with `fancy-regex`.
//!
//! fancy-regex already speaks most of Python's dialect (lookarounds,
//! backreferences, `(?P<name>...)`, `(?P=name)`, atomic groups, Unicode
//! classes). What differs is rewritten before compiling:
//!
//! | Python | meaning | rewritten to |
//! |---|---|---|
//! | `$` (no `(?m)`) | end, or before a final newline | `(?=\n?\z)` |
//! | `\Z` | end of string | `\z` |
//! | `{` not starting a valid repeat, lone `}` | literal brace | `\{`, `\}` |
//! | `{,n}` | repeat 0 to n | `{0,n}` |
//! | `[` `&&` `--` `~~` inside a class | literals | escaped |
//! | `\b` inside a class | backspace | `\x08` |
//! | `\0`, `\012` | octal escape | `\x{...}` |
//! | `(?#...)` | comment | removed |
//!
//! File names that are not valid UTF-8 are matched with each undecodable
//! byte replaced by U+FFFD (Python sees a lone surrogate there, which only a
//! pattern naming that surrogate could tell apart).

use std::fmt;

/// A compiled `-x` pattern.
#[derive(Clone, Debug)]
pub struct PyRegex {
    pattern: String,
    regex: fancy_regex::Regex,
}

/// A pattern that does not compile. (Python's own message, which `-x`
/// prints first, comes from the target interpreter.)
///
/// ```
/// use compileall_cli::PyRegex;
/// let err = PyRegex::new("[").unwrap_err();
/// assert_eq!(err.to_string(), r#"invalid regular expression "[": unterminated character set"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    /// The pattern as given.
    pub pattern: String,
    /// Why it does not compile.
    pub reason: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid regular expression {:?}: {}",
            self.pattern, self.reason
        )
    }
}

impl std::error::Error for PatternError {}

impl PyRegex {
    /// Compiles a Python `re` pattern.
    ///
    /// ```
    /// use compileall_cli::PyRegex;
    /// let rx = PyRegex::new(r"test_.*\.py$").unwrap();
    /// assert!(rx.search(b"pkg/test_x.py"));
    /// assert!(rx.search(b"pkg/test_x.py\n")); // Python's `$` allows a final newline
    /// assert!(!rx.search(b"pkg/x.py"));
    /// ```
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        let error = |reason: String| PatternError {
            pattern: pattern.to_owned(),
            reason,
        };
        let translated = translate(pattern).map_err(error)?;
        let regex = fancy_regex::Regex::new(&translated).map_err(|e| error(e.to_string()))?;
        Ok(PyRegex {
            pattern: pattern.to_owned(),
            regex,
        })
    }

    /// The pattern as given.
    ///
    /// ```
    /// use compileall_cli::PyRegex;
    /// assert_eq!(PyRegex::new(r"a{,2}\Z").unwrap().as_str(), r"a{,2}\Z");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// `rx.search(os.fsdecode(path)) is not None`.
    ///
    /// ```
    /// use compileall_cli::PyRegex;
    /// // Each answer is what Python's re.search gives.
    /// let tests = PyRegex::new("/tests?/").unwrap();
    /// assert!(tests.search(b"pkg/tests/test_a.py"));
    /// assert!(!tests.search(b"pkg/testing.py"));
    /// assert!(!PyRegex::new(r"\.py\Z").unwrap().search(b"a.py\n"));
    /// assert!(PyRegex::new(r"^a{,2}$").unwrap().search(b"aa"));
    /// assert!(!PyRegex::new(r"^a{,2}$").unwrap().search(b"aaa"));
    /// assert!(PyRegex::new(r"x{").unwrap().search(b"x{")); // a literal brace
    /// ```
    pub fn search(&self, path: &[u8]) -> bool {
        let text = String::from_utf8_lossy(path);
        // A pattern so pathological that the backtracking limit trips
        // matches nothing rather than aborting the run.
        self.regex.is_match(text.as_ref()).unwrap_or(false)
    }
}

/// Rewrites a Python pattern into fancy-regex syntax (see the module docs).
fn translate(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut translation = Translation {
        multiline: leading_flags(&chars).contains('m'),
        chars,
        i: 0,
        out: String::with_capacity(pattern.len() + 8),
        in_class: false,
        class_start: 0,
    };
    while translation.i < translation.chars.len() {
        translation.step()?;
    }
    if translation.in_class {
        return Err("unterminated character set".into());
    }
    Ok(translation.out)
}

/// A pattern being rewritten, one element at a time.
struct Translation {
    chars: Vec<char>,
    /// The next char to read.
    i: usize,
    out: String,
    /// `(?m)`: `$` matches at every line end, as in fancy-regex.
    multiline: bool,
    /// Inside `[...]`.
    in_class: bool,
    /// Position right after a class's opening `[` or `[^`.
    class_start: usize,
}

impl Translation {
    /// Rewrites the element at `i` and moves past it.
    fn step(&mut self) -> Result<(), String> {
        let c = self.chars[self.i];
        if c == '\\' {
            self.escape()
        } else if self.in_class {
            self.class_member(c);
            Ok(())
        } else {
            self.outside_class(c)
        }
    }

    /// `\X`: the escapes whose meaning differs between the dialects.
    fn escape(&mut self) -> Result<(), String> {
        let Some(&next) = self.chars.get(self.i + 1) else {
            return Err("bad escape (end of pattern)".into());
        };
        self.i += 2;
        match next {
            'Z' if !self.in_class => self.out.push_str(r"\z"),
            'b' if self.in_class => self.out.push_str(r"\x08"),
            '0'..='7' if next == '0' || self.in_class => {
                let mut value = next.to_digit(8).unwrap();
                let mut taken = 0;
                while taken < 2 && self.i < self.chars.len() && self.chars[self.i].is_digit(8) {
                    value = value * 8 + self.chars[self.i].to_digit(8).unwrap();
                    self.i += 1;
                    taken += 1;
                }
                self.out.push_str(&format!(r"\x{{{value:x}}}"));
            }
            _ => {
                self.out.push('\\');
                self.out.push(next);
            }
        }
        Ok(())
    }

    /// A char inside `[...]`.
    fn class_member(&mut self, c: char) {
        match c {
            ']' if self.i != self.class_start => {
                self.in_class = false;
                self.out.push(']');
            }
            ']' => self.out.push_str(r"\]"),
            '[' => self.out.push_str(r"\["),
            '&' | '-' | '~' if self.chars.get(self.i + 1) == Some(&c) => {
                self.out.push(c);
                self.out.push('\\');
                self.out.push(c);
                self.i += 1;
            }
            _ => self.out.push(c),
        }
        self.i += 1;
    }

    /// A char outside any class.
    fn outside_class(&mut self, c: char) -> Result<(), String> {
        let next = [1, 2].map(|k| self.chars.get(self.i + k).copied());
        match c {
            '[' => {
                self.in_class = true;
                self.out.push('[');
                if next[0] == Some('^') {
                    self.out.push('^');
                    self.i += 1;
                }
                self.class_start = self.i + 1;
            }
            '$' if !self.multiline => self.out.push_str(r"(?=\n?\z)"),
            '(' if next == [Some('?'), Some('#')] => {
                let end = self.chars[self.i..]
                    .iter()
                    .position(|&c| c == ')')
                    .ok_or("missing ), unterminated comment")?;
                self.i += end;
            }
            '{' => match repeat_bounds(&self.chars[self.i..]) {
                Some((text, len)) => {
                    self.out.push_str(&text);
                    self.i += len - 1;
                }
                None => self.out.push_str(r"\{"),
            },
            '}' => self.out.push_str(r"\}"),
            _ => self.out.push(c),
        }
        self.i += 1;
        Ok(())
    }
}

/// The letters of a `(?flags)` group at the start of the pattern.
fn leading_flags(chars: &[char]) -> String {
    if chars.len() < 3 || chars[0] != '(' || chars[1] != '?' {
        return String::new();
    }
    chars[2..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect()
}

/// A Python repeat `{m}`, `{m,}`, `{,n}`, `{m,n}` or `{,}` at the start of
/// `chars`: the fancy-regex spelling and how many chars it spans. `None`
/// means Python reads the `{` as a literal.
fn repeat_bounds(chars: &[char]) -> Option<(String, usize)> {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>()
    };
    if chars.get(1) == Some(&'}') {
        return None;
    }
    let lo = digits(&mut i);
    let hi = if chars.get(i) == Some(&',') {
        i += 1;
        Some(digits(&mut i))
    } else {
        None
    };
    if chars.get(i) != Some(&'}') {
        return None;
    }
    let lo = if lo.is_empty() { "0".to_owned() } else { lo };
    let text = match hi {
        None => format!("{{{lo}}}"),
        Some(hi) => format!("{{{lo},{hi}}}"),
    };
    Some((text, i + 1))
}
