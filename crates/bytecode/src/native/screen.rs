//! Checks on the token stream, before parsing, for sources whose native
//! pyc would not be certain to equal CPython's: CPython's tokenizer warns
//! about them or refuses them, or they reach limits the native compiler
//! handles differently. Each check errs on the safe side: a source that
//! fails one is compiled by CPython, which prints what it prints.

use std::collections::HashSet;

use ruff_python_ast::StringFlags;
use ruff_python_ast::token::{Token, TokenKind};
use ruff_text_size::Ranged;

/// Why the screen sends a source to CPython.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screened {
    /// A backslash escape CPython warns about (`"\d"`, `"\400"`).
    Escape,
    /// A number run into a name or keyword (`1if`, `0x1for`): CPython
    /// warns or refuses ("invalid decimal literal").
    NumberThenName,
    /// Parentheses nested near CPython's limit (200).
    NestedParentheses,
    /// Indentation near CPython's limit (100 levels).
    Indentation,
    /// An identifier outside ASCII: CPython normalizes identifiers (NFKC)
    /// and validates them against its own Unicode version.
    NonAsciiName,
    /// A form feed: CPython's tokenizer gives it column rules of its own.
    FormFeed,
    /// A decimal integer literal near CPython's limit on digits (4300,
    /// `sys.int_info.default_max_str_digits`), which CPython refuses.
    LongInteger,
    /// An imaginary literal too large for a double (`1e1000j`): CPython
    /// folds `3+1e1000j` into one constant, rustpython-codegen does not.
    InfiniteImaginary,
    /// A t-string: rustpython-codegen renders the text of its
    /// interpolations differently from CPython 3.14.
    TemplateString,
    /// `from __future__ import barry_as_FLUFL`, which changes the grammar.
    BarryAsFlufl,
    /// One expression of more tokens than bounds its depth safely: a chain
    /// of operators nests one level each (`1 + 1 + ...`), and CPython's
    /// compiler gives up (RecursionError) at a depth that depends on its C
    /// stack, so the native backend stays far below any such depth.
    LongExpression,
}

impl Screened {
    /// A short description, for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Screened::Escape => "escape sequence CPython warns about",
            Screened::NumberThenName => "number literal run into a name",
            Screened::NestedParentheses => "parentheses nested near CPython's limit",
            Screened::Indentation => "indentation near CPython's limit",
            Screened::NonAsciiName => "non-ASCII identifier",
            Screened::FormFeed => "form feed",
            Screened::LongInteger => "integer literal near CPython's digit limit",
            Screened::InfiniteImaginary => "imaginary literal too large for a double",
            Screened::TemplateString => "t-string",
            Screened::BarryAsFlufl => "from __future__ import barry_as_FLUFL",
            Screened::LongExpression => "expression too long to bound its depth",
        }
    }
}

/// CPython refuses a 201st nested bracket (`MAXLEVEL`); stay well clear.
const MAX_BRACKET_DEPTH: usize = 180;
/// CPython refuses a 99th indentation level (`MAXINDENT`); stay clear.
const MAX_INDENT_DEPTH: usize = 90;
/// Characters in an integer literal, below CPython's limit of 4300 digits.
const MAX_INTEGER_LENGTH: usize = 4_000;
/// Tokens in one item of an expression (between commas at one bracket
/// level). An item of n tokens nests at most about n levels deep; CPython
/// 3.14 compiles sums of 10,000 terms and overflows at 100,000.
pub const MAX_ITEM_TOKENS: usize = 2_000;

/// Screens the tokens of `text`; the first problem found, if any.
pub fn screen(text: &str, tokens: &[Token]) -> Result<(), Screened> {
    if text.contains('\x0c') {
        return Err(Screened::FormFeed);
    }
    let mut screener = Screener {
        text,
        items: vec![0],
        indents: 0,
        previous: None,
    };
    tokens.iter().try_for_each(|token| screener.token(token))
}

/// The state of one pass over the tokens.
struct Screener<'t> {
    text: &'t str,
    /// Tokens of the current item at each open bracket level, the logical
    /// line's own level first.
    items: Vec<usize>,
    indents: usize,
    previous: Option<&'t Token>,
}

impl<'t> Screener<'t> {
    fn token(&mut self, token: &'t Token) -> Result<(), Screened> {
        self.structure(token.kind())?;
        self.content(token)?;
        if let Some(previous) = self.previous
            && is_number(previous.kind())
            && previous.end() == token.start()
            && (token.kind() == TokenKind::Name || token.kind().is_keyword())
        {
            return Err(Screened::NumberThenName);
        }
        self.previous = Some(token);
        Ok(())
    }

    /// Brackets, items, indentation and lines.
    fn structure(&mut self, kind: TokenKind) -> Result<(), Screened> {
        match kind {
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => {
                self.items.push(0);
                if self.items.len() > MAX_BRACKET_DEPTH + 1 {
                    return Err(Screened::NestedParentheses);
                }
            }
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => {
                if self.items.len() > 1 {
                    self.items.pop();
                }
                self.grow_item()?;
            }
            TokenKind::Comma => *self.items.last_mut().expect("a level") = 0,
            TokenKind::Newline => self.items = vec![0],
            TokenKind::Indent => {
                self.indents += 1;
                if self.indents > MAX_INDENT_DEPTH {
                    return Err(Screened::Indentation);
                }
            }
            TokenKind::Dedent => self.indents = self.indents.saturating_sub(1),
            TokenKind::NonLogicalNewline | TokenKind::Comment => {}
            _ => self.grow_item()?,
        }
        Ok(())
    }

    fn grow_item(&mut self) -> Result<(), Screened> {
        let item = self.items.last_mut().expect("a level");
        *item += 1;
        if *item > MAX_ITEM_TOKENS {
            return Err(Screened::LongExpression);
        }
        Ok(())
    }

    /// Names, numbers and string literals.
    fn content(&self, token: &Token) -> Result<(), Screened> {
        let text = &self.text[token.range()];
        match token.kind() {
            TokenKind::Name => check_name(text),
            TokenKind::Int if text.len() > MAX_INTEGER_LENGTH => Err(Screened::LongInteger),
            TokenKind::Complex => check_imaginary(text),
            TokenKind::TStringStart => Err(Screened::TemplateString),
            TokenKind::String | TokenKind::FStringMiddle | TokenKind::TStringMiddle => {
                let prefix = token.unwrap_string_flags().prefix();
                if prefix.is_raw() {
                    Ok(())
                } else {
                    check_escapes(text, prefix.is_bytes())
                }
            }
            _ => Ok(()),
        }
    }
}

fn check_name(name: &str) -> Result<(), Screened> {
    if !name.is_ascii() {
        Err(Screened::NonAsciiName)
    } else if name == "barry_as_FLUFL" {
        Err(Screened::BarryAsFlufl)
    } else {
        Ok(())
    }
}

/// An imaginary literal must be a finite double.
fn check_imaginary(literal: &str) -> Result<(), Screened> {
    let digits: String = literal
        .trim_end_matches(['j', 'J'])
        .chars()
        .filter(|&c| c != '_')
        .collect();
    match digits.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(()),
        _ => Err(Screened::InfiniteImaginary),
    }
}

fn is_number(kind: TokenKind) -> bool {
    matches!(kind, TokenKind::Int | TokenKind::Float | TokenKind::Complex)
}

/// The escapes of a non-raw literal: every one must be one CPython
/// accepts silently and resolves without its Unicode database.
fn check_escapes(literal: &str, bytes_literal: bool) -> Result<(), Screened> {
    let mut chars = literal.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            continue;
        }
        match chars.next() {
            Some('\n' | '\\' | '\'' | '"' | 'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | 'x') => {}
            // `\N{...}`: ruff resolves names with an older Unicode
            // database than CPython 3.14's; names are never withdrawn, so
            // every name it knows means the same character to CPython, and
            // one it does not know is a parse error (compiled by CPython).
            Some('u' | 'U' | 'N') if !bytes_literal => {}
            Some(first @ '0'..='7') => {
                // Three octal digits from `\4` up exceed 0o377: a warning.
                let rest = chars.as_str().as_bytes();
                let digits = 1 + rest
                    .iter()
                    .take(2)
                    .take_while(|b| (b'0'..=b'7').contains(*b))
                    .count();
                if digits == 3 && first > '3' {
                    return Err(Screened::Escape);
                }
            }
            _ => return Err(Screened::Escape),
        }
    }
    Ok(())
}

/// The identifiers of the source: the text of its name tokens, which
/// CPython's parser interns before any code object is made.
pub fn identifiers<'t>(text: &'t str, tokens: &[Token]) -> HashSet<&'t str> {
    tokens
        .iter()
        .filter(|token| token.kind() == TokenKind::Name)
        .map(|token| &text[token.range()])
        .collect()
}
