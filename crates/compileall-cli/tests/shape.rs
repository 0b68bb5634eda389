//! The crate's shape, checked on its own sources: imports between modules
//! point one way, functions stay short, and the binary stays thin.
//!
//! `src/lib.rs` declares the modules in layers, lowest first; a module
//! (with its submodules and unit tests) may only use modules of lower
//! layers. Every import then goes from a higher layer to a lower one, so
//! no module imports, directly or through others, a module that imports
//! it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The longest function allowed, signature and braces included.
const MAX_FUNCTION_LINES: usize = 80;
/// `main.rs` parses arguments and calls the library; nothing more.
const MAX_MAIN_LINES: usize = 150;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `src/lib.rs`'s `mod` declarations, with the layer of each: layers are
/// runs of declarations, separated by blank or comment lines.
fn declared_modules() -> Vec<(String, usize)> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut layer = 0;
    let mut in_layer = false;
    let mut modules = Vec::new();
    for line in lib.lines() {
        let line = line.trim();
        let line = line.strip_prefix("pub ").unwrap_or(line);
        match line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) {
            Some(name) => {
                modules.push((name.to_owned(), layer));
                in_layer = true;
            }
            None if in_layer => {
                layer += 1;
                in_layer = false;
            }
            None => {}
        }
    }
    modules
}

/// Every `.rs` file of a module: `src/NAME.rs` and everything under
/// `src/NAME/`.
fn module_files(name: &str) -> Vec<PathBuf> {
    let mut files = vec![src().join(format!("{name}.rs"))];
    let mut dirs = vec![src().join(name)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The crate modules a file's code names (`crate::NAME`, also inside
/// `use crate::{...}`), ignoring comments and docs.
fn used_modules(text: &str, modules: &[String]) -> Vec<String> {
    let mut used = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group.split(',').map(str::trim).collect(),
                None => vec![rest],
            };
            for name in names {
                let ident: String = name
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if modules.contains(&ident) && !used.contains(&ident) {
                    used.push(ident);
                }
            }
        }
    }
    used
}

#[test]
fn imports_point_down_the_declared_layers() {
    let modules = declared_modules();
    assert!(modules.len() > 10, "lib.rs declares {modules:?}");
    let names: Vec<String> = modules.iter().map(|(name, _)| name.clone()).collect();
    let layer_of = |name: &str| modules.iter().find(|(m, _)| m == name).unwrap().1;
    let mut upward = Vec::new();
    for (module, layer) in &modules {
        for file in module_files(module) {
            let text = std::fs::read_to_string(&file).unwrap();
            for used in used_modules(&text, &names) {
                if used != *module && layer_of(&used) >= *layer {
                    upward.push(format!("{} uses {used}", file.display()));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports not pointing to a lower layer of lib.rs:\n{}",
        upward.join("\n")
    );
}

/// Each function's length: from its `fn` line to the closing brace at the
/// same indentation (the code is rustfmt-formatted).
fn function_lengths(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut lengths = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let indent = line.len() - code.len();
        let words: Vec<&str> = code.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| *w == "fn") else {
            continue;
        };
        let qualifiers = [
            "pub",
            "pub(crate)",
            "const",
            "async",
            "unsafe",
            "extern",
            "\"C\"",
        ];
        if !words[..at].iter().all(|w| qualifiers.contains(w)) || code.ends_with(';') {
            continue;
        }
        let name: String = words[at + 1]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let end = (start..lines.len())
            .find(|&i| {
                let l = lines[i];
                (l.len() - l.trim_start().len() == indent && l.trim_start().starts_with('}'))
                    || (i == start && l.trim_end().ends_with('}'))
            })
            .unwrap_or(start);
        lengths.push((name, end - start + 1));
    }
    lengths
}

#[test]
fn functions_are_short() {
    let mut lengths = BTreeMap::new();
    let mut files = vec![src().join("main.rs"), src().join("lib.rs")];
    for (module, _) in declared_modules() {
        files.extend(module_files(&module));
    }
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (name, length) in function_lengths(&text) {
            lengths.insert(format!("{}::{name}", file.display()), length);
        }
    }
    assert!(
        lengths.len() > 100,
        "only {} functions found",
        lengths.len()
    );
    let long: Vec<_> = lengths
        .iter()
        .filter(|(_, length)| **length > MAX_FUNCTION_LINES)
        .collect();
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines: {long:?}"
    );
}

#[test]
fn main_is_thin() {
    let main = std::fs::read_to_string(src().join("main.rs")).unwrap();
    let lines = main.lines().count();
    assert!(lines < MAX_MAIN_LINES, "main.rs has {lines} lines");
}

/// The checks above would pass on nothing; make sure they see code.
#[test]
fn the_parsers_read_this_crates_code() {
    let text = "use crate::{options::Options, pyos};\nuse crate::engine::Outcome; // crate::walk\n";
    let modules: Vec<String> = ["options", "pyos", "engine", "walk"]
        .map(String::from)
        .to_vec();
    assert_eq!(used_modules(text, &modules), ["options", "pyos", "engine"]);
    let code = "fn a() {}\n\npub(crate) fn b(\n    x: u8,\n) -> u8 {\n    x\n}\n";
    assert_eq!(
        function_lengths(code),
        [("a".to_owned(), 1), ("b".to_owned(), 5)]
    );
}
