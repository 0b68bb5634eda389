//! Where argparse's reading of a command line differs from clap's.
//!
//! compileall's only positional argument is `nargs='*'`, and argparse
//! matches positionals in runs between options: the first run of
//! non-option strings takes it, and positional strings in any later run are
//! "unrecognized arguments" (`compileall pkg -q top.py` is an error, exit
//! status 2). clap collects positionals from anywhere, so [`extras`] finds
//! the strings argparse would reject, reading the option table from the
//! clap definition itself.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// How argparse classifies one command-line string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// An option; `takes_next` if its value is the following string.
    Option { takes_next: bool },
    /// A positional string.
    Positional,
    /// `--`: everything after it is positional.
    Separator,
}

/// The strings of `args` (without the program name) that argparse leaves
/// unrecognized because compileall's positional was already consumed.
pub fn extras(command: &clap::Command, args: &[OsString]) -> Vec<OsString> {
    let kinds = classify(command, args);
    let mut extras = Vec::new();
    let mut positional_consumed = false;
    let mut i = 0;
    while i < args.len() {
        match kinds[i] {
            Kind::Option { takes_next } => {
                i += 1;
                if takes_next && kinds.get(i) == Some(&Kind::Positional) {
                    i += 1;
                }
            }
            Kind::Positional | Kind::Separator => {
                let end = (i..args.len())
                    .find(|&j| matches!(kinds[j], Kind::Option { .. }))
                    .unwrap_or(args.len());
                if positional_consumed {
                    extras.extend_from_slice(&args[i..end]);
                }
                positional_consumed = true;
                i = end;
            }
        }
    }
    extras
}

fn classify(command: &clap::Command, args: &[OsString]) -> Vec<Kind> {
    let mut kinds = Vec::with_capacity(args.len());
    let mut separated = false;
    for arg in args {
        let bytes = arg.as_bytes();
        let kind = if separated {
            Kind::Positional
        } else if bytes == b"--" {
            separated = true;
            Kind::Separator
        } else {
            option_kind(command, bytes).unwrap_or(Kind::Positional)
        };
        kinds.push(kind);
    }
    kinds
}

/// `ArgumentParser._parse_optional`: `None` for a positional string.
fn option_kind(command: &clap::Command, arg: &[u8]) -> Option<Kind> {
    if !arg.starts_with(b"-") || arg.len() == 1 {
        return None;
    }
    if let Some(long) = arg.strip_prefix(b"--") {
        let (name, explicit) = match long.iter().position(|&b| b == b'=') {
            Some(eq) => (&long[..eq], true),
            None => (long, false),
        };
        // An exact name first, else (allow_abbrev) a unique prefix.
        let exact = command
            .get_arguments()
            .find(|a| a.get_long().is_some_and(|l| l.as_bytes() == name));
        let matches: Vec<&clap::Arg> = match exact {
            Some(option) => vec![option],
            None => command
                .get_arguments()
                .filter(|a| a.get_long().is_some_and(|l| l.as_bytes().starts_with(name)))
                .collect(),
        };
        if let [option] = matches[..] {
            return Some(Kind::Option {
                takes_next: !explicit && takes_value(option),
            });
        }
        if !matches.is_empty() {
            return Some(Kind::Option { takes_next: false });
        }
    } else if let Some(kind) = short_cluster(command, &arg[1..]) {
        return Some(kind);
    }
    if is_negative_number(arg) || arg.contains(&b' ') {
        return None;
    }
    // An unknown option: clap reports it.
    Some(Kind::Option { takes_next: false })
}

/// `-lq`, `-j4`, `-lr 5`: flags in a row, the first value-taking one
/// ending the cluster with the rest of the string or the next one.
fn short_cluster(command: &clap::Command, chars: &[u8]) -> Option<Kind> {
    let find = |c: u8| {
        command
            .get_arguments()
            .find(|a| a.get_short() == Some(char::from(c)))
    };
    // argparse only reads a cluster whose first letter is an option.
    find(*chars.first()?)?;
    for (i, &c) in chars.iter().enumerate() {
        match find(c) {
            Some(option) if takes_value(option) => {
                return Some(Kind::Option {
                    takes_next: i + 1 == chars.len(),
                });
            }
            Some(_) => {}
            None => break,
        }
    }
    Some(Kind::Option { takes_next: false })
}

fn takes_value(option: &clap::Arg) -> bool {
    option.get_action().takes_values()
}

/// argparse's `_negative_number_matcher` (`^-\d+$|^-\d*\.\d+$`): such a
/// string is positional when no option looks like a negative number.
fn is_negative_number(arg: &[u8]) -> bool {
    let body = &arg[1..];
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    match body.iter().position(|&b| b == b'.') {
        None => !body.is_empty() && digits(body),
        Some(dot) => digits(&body[..dot]) && body.len() > dot + 1 && digits(&body[dot + 1..]),
    }
}
