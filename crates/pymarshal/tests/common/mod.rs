//! Shared by the integration tests: the recording interpreter, fixtures,
//! and graph rewrites.

#![allow(dead_code)] // each test binary uses its own part

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use num_traits::ToPrimitive;
use pymarshal::{Code, Object, Ref};

/// CPython 3.14, provisioned by `cargo xtask pythons` under `.pythons/`.
/// Prints `SKIPPED: <reason>` and returns `None` when it is missing.
pub fn python(test: &str) -> Option<PathBuf> {
    let path = workspace_root().join(".pythons/cpython-3.14/usr/bin/python3.14");
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: {test}: no CPython 3.14 at {} (run `cargo xtask pythons`)",
            path.display()
        );
        None
    }
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// The offset of the first differing byte, for messages.
pub fn first_mismatch(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

/// A copy of the graph in which every object that CPython makes one object
/// per value (small ints, `()`, `b''`, 1-byte bytes constants, interned
/// strs) gets its own `Arc` at every edge, while every other object keeps
/// its sharing. The writer must produce the same bytes from it: those
/// objects' identity comes from their value, not from the `Arc`.
pub fn unshare_immortals(root: &Ref) -> Ref {
    Rewriter {
        unshare: true,
        ..Rewriter::default()
    }
    .edge(root, false)
}

/// A copy of the graph in which code objects with equal bytecode share one
/// `co_code` bytes object, as a compiler's constant cache merges them
/// (CPython's does: `assemble_emit`). The writer must produce the same
/// bytes: CPython writes each code object's own copy of its bytecode.
pub fn merge_co_code(root: &Ref) -> Ref {
    Rewriter::default().edge(root, false)
}

#[derive(Default)]
struct Rewriter {
    /// Give value-identified objects their own `Arc` at every edge.
    unshare: bool,
    done: HashMap<*const Object, Ref>,
    bytecode: HashMap<Vec<u8>, Ref>,
}

impl Rewriter {
    fn edge(&mut self, obj: &Ref, code_bytes: bool) -> Ref {
        let by_value = self.unshare
            && match &**obj {
                Object::Int(v) => v.to_i16().is_some_and(|v| (-5..=256).contains(&v)),
                Object::Tuple(items) => items.is_empty(),
                Object::Bytes(b) => b.is_empty() || (b.len() == 1 && !code_bytes),
                Object::Str(s) => s.interned,
                _ => false,
            };
        if by_value {
            return Arc::new((**obj).clone());
        }
        if let Some(done) = self.done.get(&Arc::as_ptr(obj)) {
            return done.clone();
        }
        let rebuilt = Arc::new(self.rebuild(obj));
        self.done.insert(Arc::as_ptr(obj), rebuilt.clone());
        rebuilt
    }

    fn co_code(&mut self, code: &Ref) -> Ref {
        if self.unshare {
            return self.edge(code, true);
        }
        let Object::Bytes(b) = &**code else {
            return code.clone();
        };
        self.bytecode
            .entry(b.clone())
            .or_insert_with(|| code.clone())
            .clone()
    }

    fn items(&mut self, items: &[Ref]) -> Vec<Ref> {
        items.iter().map(|item| self.edge(item, false)).collect()
    }

    fn rebuild(&mut self, obj: &Object) -> Object {
        match obj {
            Object::Tuple(items) => Object::Tuple(self.items(items)),
            Object::List(items) => Object::List(self.items(items)),
            Object::Set(items) => Object::Set(self.items(items)),
            Object::FrozenSet(items) => Object::FrozenSet(self.items(items)),
            Object::Dict(pairs) => Object::Dict(
                pairs
                    .iter()
                    .map(|(k, v)| (self.edge(k, false), self.edge(v, false)))
                    .collect(),
            ),
            Object::Slice { start, stop, step } => Object::Slice {
                start: self.edge(start, false),
                stop: self.edge(stop, false),
                step: self.edge(step, false),
            },
            Object::Code(code) => Object::Code(Box::new(Code {
                code: self.co_code(&code.code),
                consts: self.edge(&code.consts, false),
                names: self.edge(&code.names, false),
                localsplusnames: self.edge(&code.localsplusnames, false),
                localspluskinds: self.edge(&code.localspluskinds, true),
                filename: self.edge(&code.filename, false),
                name: self.edge(&code.name, false),
                qualname: self.edge(&code.qualname, false),
                linetable: self.edge(&code.linetable, true),
                exceptiontable: self.edge(&code.exceptiontable, true),
                ..(**code).clone()
            })),
            other => other.clone(),
        }
    }
}
