//! The writer: `marshal.dumps(code, 5)` as CPython 3.14 produces it inside
//! py_compile, with every FLAG_REF decided from the object graph.
//!
//! CPython's `w_ref` flags an object when its reference count is not 1, or
//! when it is an interned str. Two passes reproduce that: the first counts
//! the edges to every object (its reference count, give or take the extra
//! references CPython holds, see [`Edge`]), the second writes in pre-order
//! and numbers flagged objects in the order they are met, as `w_ref` does.

use std::collections::HashMap;
use std::fmt;

use num_bigint::{BigInt, Sign};
use num_traits::ToPrimitive;

use crate::object::{Code, Object, PyStr, Ref};
use crate::types::{self, FLAG_REF, MAX_DEPTH};

/// Why [`try_write`] could not write a graph: the same two failures as
/// `marshal.dumps` has for the types this model holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// More than [`MAX_DEPTH`] nested objects (CPython: `ValueError: object
    /// too deeply nested to marshal`).
    TooDeep,
    /// A length or a count of int digits above `i32::MAX` (CPython:
    /// `ValueError: unmarshallable object`).
    TooLarge,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WriteError::TooDeep => "object too deeply nested to marshal",
            WriteError::TooLarge => "unmarshallable object",
        })
    }
}

impl std::error::Error for WriteError {}

/// `marshal.dumps(root, 5)` as py_compile produces it: the bytes after the
/// 16-byte pyc header.
///
/// # Panics
///
/// If `marshal.dumps` would raise: nesting deeper than [`MAX_DEPTH`], or a
/// length above `i32::MAX` (see [`try_write`]). Graphs of compiled code never
/// come near either limit.
pub fn write(root: &Ref) -> Vec<u8> {
    match try_write(root) {
        Ok(bytes) => bytes,
        Err(err) => panic!("marshal.dumps would raise ValueError: {err}"),
    }
}

/// [`write`] that reports the graphs `marshal.dumps` refuses instead of
/// panicking.
pub fn try_write(root: &Ref) -> Result<Vec<u8>, WriteError> {
    let mut graph = Graph::default();
    graph.count(root, Edge::Root);
    let mut emitter = Emitter::default();
    emitter.object(&mut graph, root, Edge::Root)?;
    Ok(emitter.out)
}

/// How an object is reached, which decides the references CPython holds
/// beyond the graph's own edges and whether a singleton applies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edge {
    /// The object passed to `marshal.dumps`: py_compile's frame holds it too.
    Root,
    /// An element of a tuple, list, dict or slice, or a str field of a code
    /// object.
    Item,
    /// An element of a non-empty set: while writing, CPython holds each
    /// element in its sorted list of `(dumps(element), element)` pairs.
    SetItem,
    /// `co_code`: `_PyCode_GetCode` returns a new reference to the bytes it
    /// caches on the code object, so the count is at least 2.
    CoCode,
    /// `co_localspluskinds`, `co_linetable`, `co_exceptiontable`: bytes the
    /// compiler builds in place, never the 1-byte singletons.
    CodeBytes,
}

impl Edge {
    /// References CPython holds on top of the edge itself.
    fn extra_refs(self) -> u32 {
        match self {
            Edge::Root | Edge::SetItem | Edge::CoCode => 1,
            Edge::Item | Edge::CodeBytes => 0,
        }
    }
}

/// What makes two occurrences one Python object.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Key<'a> {
    /// An ordinary object: the `Arc` is the object.
    Ptr(*const Object),
    /// `-5..=256`: CPython's preallocated, immortal small ints.
    SmallInt(i16),
    /// `()`: the immortal empty tuple.
    EmptyTuple,
    /// `b''`: the immortal empty bytes.
    EmptyBytes,
    /// A 1-byte bytes constant: one of the 256 immortal singletons
    /// `PyBytes_FromStringAndSize(s, 1)` returns.
    ByteChar(u8),
    /// An interned str: all equal interned strs are one object. (`''` and
    /// the 1-code-point strs below U+0100 are interned singletons in CPython
    /// when made the usual way, but not always: see the crate docs.)
    Interned(&'a [u8]),
}

impl Key<'_> {
    /// Whether the key names an object CPython flags whatever the graph
    /// says: immortal objects have a huge reference count and interned strs
    /// are flagged by rule.
    fn always_flagged(self) -> bool {
        !matches!(self, Key::Ptr(_))
    }
}

/// `-5..=256`, CPython's `_PY_NSMALLNEGINTS` and `_PY_NSMALLPOSINTS`.
fn small_int(value: &BigInt) -> Option<i16> {
    value.to_i16().filter(|v| (-5..=256).contains(v))
}

fn key<'a>(obj: &'a Ref, edge: Edge) -> Key<'a> {
    match &**obj {
        Object::Int(v) => small_int(v).map_or(Key::Ptr(ptr(obj)), Key::SmallInt),
        Object::Tuple(items) if items.is_empty() => Key::EmptyTuple,
        Object::Bytes(b) if b.is_empty() => Key::EmptyBytes,
        Object::Bytes(b) if b.len() == 1 && edge != Edge::CodeBytes => Key::ByteChar(b[0]),
        Object::Str(s) if s.interned => Key::Interned(&s.utf8),
        _ => Key::Ptr(ptr(obj)),
    }
}

fn ptr(obj: &Ref) -> *const Object {
    std::sync::Arc::as_ptr(obj)
}

/// The objects that `w_object` writes as a bare type byte, never flagged.
fn is_constant_singleton(obj: &Object) -> bool {
    matches!(
        obj,
        Object::None | Object::StopIteration | Object::Ellipsis | Object::False | Object::True
    )
}

/// Reference counts of the graph, and the sorted order of each set.
#[derive(Default)]
struct Graph<'a> {
    counts: HashMap<Key<'a>, u32>,
    /// Element order of each set already sorted, by the set's address:
    /// nested sets are written more than once (inside the sort keys of
    /// their parents), so sorting them again could cost exponential time.
    set_orders: HashMap<*const Object, Vec<usize>>,
}

impl<'a> Graph<'a> {
    /// Counts `obj` reached through `edge`, and its children the first time
    /// it is reached (an object holds its references once, however many
    /// times it is itself referenced). An explicit stack keeps deep graphs
    /// off the call stack.
    fn count(&mut self, root: &'a Ref, edge: Edge) {
        let mut stack = vec![(root, edge)];
        while let Some((obj, edge)) = stack.pop() {
            let key = key(obj, edge);
            let count = self.counts.entry(key).or_insert(0);
            let first_visit = *count == 0;
            *count += 1 + edge.extra_refs();
            if first_visit {
                push_children(obj, &mut stack);
            }
        }
    }

    fn is_flagged(&self, key: Key<'a>, edge: Edge) -> bool {
        key.always_flagged()
            || edge.extra_refs() > 0
            || self.counts.get(&key).copied().unwrap_or(0) > 1
    }
}

fn push_children<'a>(obj: &'a Ref, stack: &mut Vec<(&'a Ref, Edge)>) {
    match &**obj {
        Object::Tuple(items) | Object::List(items) => {
            stack.extend(items.iter().map(|item| (item, Edge::Item)));
        }
        Object::Set(items) | Object::FrozenSet(items) => {
            stack.extend(items.iter().map(|item| (item, Edge::Item)));
        }
        Object::Dict(pairs) => {
            for (k, v) in pairs {
                stack.extend([(k, Edge::Item), (v, Edge::Item)]);
            }
        }
        Object::Slice { start, stop, step } => {
            stack.extend([(start, Edge::Item), (stop, Edge::Item), (step, Edge::Item)]);
        }
        Object::Code(code) => stack.extend(code_fields(code)),
        _ => {}
    }
}

/// The object fields of a code object, in marshal's order, with their edges.
fn code_fields(code: &Code) -> [(&Ref, Edge); 10] {
    [
        (&code.code, Edge::CoCode),
        (&code.consts, Edge::Item),
        (&code.names, Edge::Item),
        (&code.localsplusnames, Edge::Item),
        (&code.localspluskinds, Edge::CodeBytes),
        (&code.filename, Edge::Item),
        (&code.name, Edge::Item),
        (&code.qualname, Edge::Item),
        (&code.linetable, Edge::CodeBytes),
        (&code.exceptiontable, Edge::CodeBytes),
    ]
}

/// One `WFILE`: the output and the reference indices handed out so far.
#[derive(Default)]
struct Emitter<'a> {
    out: Vec<u8>,
    refs: HashMap<Key<'a>, u32>,
    depth: usize,
}

impl<'a> Emitter<'a> {
    /// `w_object`.
    fn object(
        &mut self,
        graph: &mut Graph<'a>,
        obj: &'a Ref,
        edge: Edge,
    ) -> Result<(), WriteError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(WriteError::TooDeep);
        }
        let result = self.object_at_depth(graph, obj, edge);
        self.depth -= 1;
        result
    }

    fn object_at_depth(
        &mut self,
        graph: &mut Graph<'a>,
        obj: &'a Ref,
        edge: Edge,
    ) -> Result<(), WriteError> {
        let mut flag = 0;
        if !is_constant_singleton(obj) {
            let key = key(obj, edge);
            if graph.is_flagged(key, edge) {
                if let Some(&index) = self.refs.get(&key) {
                    self.out.push(types::REF);
                    self.long(index);
                    return Ok(());
                }
                let index = u32::try_from(self.refs.len()).map_err(|_| WriteError::TooLarge)?;
                self.refs.insert(key, index);
                flag = FLAG_REF;
            }
        }
        self.complex_object(graph, obj, flag)
    }

    /// `w_complex_object`: the type byte (with `flag`) and the payload.
    fn complex_object(
        &mut self,
        graph: &mut Graph<'a>,
        obj: &'a Ref,
        flag: u8,
    ) -> Result<(), WriteError> {
        match &**obj {
            Object::None => self.out.push(types::NONE),
            Object::StopIteration => self.out.push(types::STOPITER),
            Object::Ellipsis => self.out.push(types::ELLIPSIS),
            Object::False => self.out.push(types::FALSE),
            Object::True => self.out.push(types::TRUE),
            Object::Int(v) => self.int(v, flag)?,
            Object::Float(v) => {
                self.out.push(types::BINARY_FLOAT | flag);
                self.out.extend(v.to_le_bytes());
            }
            Object::Complex { real, imag } => {
                self.out.push(types::BINARY_COMPLEX | flag);
                self.out.extend(real.to_le_bytes());
                self.out.extend(imag.to_le_bytes());
            }
            Object::Bytes(b) => {
                self.out.push(types::STRING | flag);
                self.sized(b)?;
            }
            Object::Str(s) => self.str(s, flag)?,
            Object::Tuple(items) => {
                if let Ok(n) = u8::try_from(items.len()) {
                    self.out.extend([types::SMALL_TUPLE | flag, n]);
                } else {
                    self.out.push(types::TUPLE | flag);
                    self.size(items.len())?;
                }
                self.items(graph, items)?;
            }
            Object::List(items) => {
                self.out.push(types::LIST | flag);
                self.size(items.len())?;
                self.items(graph, items)?;
            }
            Object::Dict(pairs) => {
                self.out.push(types::DICT | flag);
                for (k, v) in pairs {
                    self.object(graph, k, Edge::Item)?;
                    self.object(graph, v, Edge::Item)?;
                }
                // The terminator is a `w_object(NULL)`: it counts for depth.
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(WriteError::TooDeep);
                }
                self.depth -= 1;
                self.out.push(types::NULL);
            }
            Object::Set(items) => self.set(graph, obj, items, types::SET | flag)?,
            Object::FrozenSet(items) => self.set(graph, obj, items, types::FROZENSET | flag)?,
            Object::Slice { start, stop, step } => {
                self.out.push(types::SLICE | flag);
                for part in [start, stop, step] {
                    self.object(graph, part, Edge::Item)?;
                }
            }
            Object::Code(code) => self.code(graph, code, flag)?,
        }
        Ok(())
    }

    fn items(&mut self, graph: &mut Graph<'a>, items: &'a [Ref]) -> Result<(), WriteError> {
        items
            .iter()
            .try_for_each(|item| self.object(graph, item, Edge::Item))
    }

    /// `TYPE_INT` when the value fits in 32 bits, else `TYPE_LONG` in
    /// base-2**15 digits, least significant first, the count signed.
    fn int(&mut self, value: &BigInt, flag: u8) -> Result<(), WriteError> {
        if let Some(small) = value.to_i32() {
            self.out.push(types::INT | flag);
            self.out.extend(small.to_le_bytes());
            return Ok(());
        }
        self.out.push(types::LONG | flag);
        let digits = long_digits(value);
        let count = i32::try_from(digits.len()).map_err(|_| WriteError::TooLarge)?;
        let signed = if value.sign() == Sign::Minus {
            -count
        } else {
            count
        };
        self.out.extend(signed.to_le_bytes());
        for digit in digits {
            self.out.extend(digit.to_le_bytes());
        }
        Ok(())
    }

    fn str(&mut self, s: &PyStr, flag: u8) -> Result<(), WriteError> {
        let interned = s.interned;
        if s.is_ascii() {
            // ASCII: one byte per code point, so the byte length is `len()`.
            if let Ok(n) = u8::try_from(s.utf8.len()) {
                let code = if interned {
                    types::SHORT_ASCII_INTERNED
                } else {
                    types::SHORT_ASCII
                };
                self.out.extend([code | flag, n]);
                self.out.extend_from_slice(&s.utf8);
                return Ok(());
            }
            let code = if interned {
                types::ASCII_INTERNED
            } else {
                types::ASCII
            };
            self.out.push(code | flag);
        } else {
            let code = if interned {
                types::INTERNED
            } else {
                types::UNICODE
            };
            self.out.push(code | flag);
        }
        self.sized(&s.utf8)
    }

    /// A set or frozenset: elements in the order of their own
    /// `marshal.dumps`, as CPython sorts them for reproducible output.
    fn set(
        &mut self,
        graph: &mut Graph<'a>,
        obj: &'a Ref,
        items: &'a [Ref],
        code: u8,
    ) -> Result<(), WriteError> {
        self.out.push(code);
        self.size(items.len())?;
        let order = match graph.set_orders.get(&ptr(obj)) {
            Some(order) => order.clone(),
            None => {
                let order = sorted_order(graph, items)?;
                graph.set_orders.insert(ptr(obj), order.clone());
                order
            }
        };
        order
            .into_iter()
            .try_for_each(|i| self.object(graph, &items[i], Edge::SetItem))
    }

    fn code(&mut self, graph: &mut Graph<'a>, code: &'a Code, flag: u8) -> Result<(), WriteError> {
        self.out.push(types::CODE | flag);
        for field in [
            code.argcount,
            code.posonlyargcount,
            code.kwonlyargcount,
            code.stacksize,
            code.flags,
        ] {
            self.out.extend(field.to_le_bytes());
        }
        let fields = code_fields(code);
        let (before_lineno, after_lineno) = fields.split_at(8);
        for &(field, edge) in before_lineno {
            self.object(graph, field, edge)?;
        }
        self.out.extend(code.firstlineno.to_le_bytes());
        for &(field, edge) in after_lineno {
            self.object(graph, field, edge)?;
        }
        Ok(())
    }

    fn long(&mut self, value: u32) {
        self.out.extend(value.to_le_bytes());
    }

    /// `W_SIZE`: a 32-bit length, refusing what does not fit.
    fn size(&mut self, len: usize) -> Result<(), WriteError> {
        let len = i32::try_from(len).map_err(|_| WriteError::TooLarge)?;
        self.out.extend(len.to_le_bytes());
        Ok(())
    }

    /// `w_pstring`.
    fn sized(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.size(bytes.len())?;
        self.out.extend_from_slice(bytes);
        Ok(())
    }
}

/// The order `sorted(items, key=marshal.dumps)` gives, each key dumped in a
/// fresh `WFILE` while the element is held once more than the graph says.
fn sorted_order<'a>(graph: &mut Graph<'a>, items: &'a [Ref]) -> Result<Vec<usize>, WriteError> {
    let mut keyed = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let mut emitter = Emitter::default();
        emitter.object(graph, item, Edge::SetItem)?;
        keyed.push((emitter.out, i));
    }
    // A stable sort on the bytes alone: list.sort is stable, and two equal
    // dumps are tuples whose second items compare equal or unordered.
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(keyed.into_iter().map(|(_, i)| i).collect())
}

/// The base-2**15 digits of `|value|`, least significant first.
fn long_digits(value: &BigInt) -> Vec<u16> {
    let magnitude = value.magnitude();
    let bits = magnitude.bits();
    let words = magnitude.to_u64_digits();
    let count = bits.div_ceil(u64::from(types::LONG_SHIFT));
    (0..count)
        .map(|i| {
            let bit = i * u64::from(types::LONG_SHIFT);
            let (word, shift) = ((bit / 64) as usize, bit % 64);
            let mut chunk = words[word] >> shift;
            if shift > 64 - u64::from(types::LONG_SHIFT)
                && let Some(next) = words.get(word + 1)
            {
                chunk |= next << (64 - shift);
            }
            (chunk & 0x7fff) as u16
        })
        .collect()
}
