//! The writer: `marshal.dumps(code, 5)` as CPython 3.14 produces it inside
//! py_compile, with every FLAG_REF decided from the object graph.
//!
//! CPython's `w_ref` flags an object when its reference count is not 1, or
//! when it is an interned str. Three walks reproduce that, each with its
//! own stack instead of recursion: the first counts the edges to every
//! object (its reference count, give or take the references CPython holds
//! itself, see [`Edge`]); the second sorts the elements of every set, inner
//! sets first; the third writes in pre-order and numbers flagged objects in
//! the order it meets them, as `w_ref` does.

use std::collections::{HashMap, HashSet};
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

/// [`write()`] that reports the graphs `marshal.dumps` refuses instead of
/// panicking.
pub fn try_write(root: &Ref) -> Result<Vec<u8>, WriteError> {
    let graph = Graph::new(root)?;
    let mut emitter = Emitter::default();
    emitter.emit(&graph, root, Edge::Root)?;
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
    /// `co_code` of the code object at this address. `w_object` writes
    /// what `_PyCode_GetCode` returns: a new reference to bytes it makes
    /// once per code object and caches there. So co_code is flagged (count
    /// at least 2) and is its code object's own, whatever `Arc` holds it:
    /// the compiler's merged bytecode is not what gets written.
    CoCode(*const Object),
    /// `co_localspluskinds`, `co_linetable`, `co_exceptiontable`: bytes the
    /// compiler builds in place, so a 1-byte one is not the immortal
    /// singleton unless the constant cache merged it with a constant.
    CodeBytes,
}

impl Edge {
    /// References CPython holds on top of the edge itself.
    fn extra_refs(self) -> u32 {
        match self {
            Edge::Root | Edge::SetItem | Edge::CoCode(_) => 1,
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
    /// The co_code of the code object at this address.
    CoCode(*const Object),
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
    /// Element order of each non-empty set, by the set's address.
    set_orders: HashMap<*const Object, Vec<usize>>,
    /// The 1-byte bytes objects used as constants (not only as code
    /// fields): those are the immortal singletons, or merged with them.
    constant_bytes: HashSet<*const Object>,
}

impl<'a> Graph<'a> {
    /// Counts every edge of the graph and sorts every set.
    fn new(root: &'a Ref) -> Result<Self, WriteError> {
        let mut graph = Graph::default();
        graph.find_constant_bytes(root);
        graph.count(root);
        graph.sort_sets(root)?;
        Ok(graph)
    }

    /// What makes `obj`, reached through `edge`, the Python object it is.
    fn key(&self, obj: &'a Ref, edge: Edge) -> Key<'a> {
        match (&**obj, edge) {
            (_, Edge::CoCode(code)) => Key::CoCode(code),
            (Object::Int(v), _) => small_int(v).map_or(Key::Ptr(ptr(obj)), Key::SmallInt),
            (Object::Tuple(items), _) if items.is_empty() => Key::EmptyTuple,
            (Object::Bytes(b), _) if b.is_empty() => Key::EmptyBytes,
            (Object::Bytes(b), _)
                if b.len() == 1
                    && (edge != Edge::CodeBytes || self.constant_bytes.contains(&ptr(obj))) =>
            {
                Key::ByteChar(b[0])
            }
            (Object::Str(s), _) if s.interned => Key::Interned(&s.utf8),
            _ => Key::Ptr(ptr(obj)),
        }
    }

    /// Records the 1-byte bytes reached other than as a code field.
    fn find_constant_bytes(&mut self, root: &'a Ref) {
        let mut expanded = HashSet::new();
        let mut stack = vec![(root, Edge::Root)];
        while let Some((obj, edge)) = stack.pop() {
            match &**obj {
                Object::Bytes(b)
                    if b.len() == 1 && !matches!(edge, Edge::CodeBytes | Edge::CoCode(_)) =>
                {
                    self.constant_bytes.insert(ptr(obj));
                }
                _ if expanded.insert(ptr(obj)) => {
                    children(obj, |child, edge| stack.push((child, edge)))
                }
                _ => {}
            }
        }
    }

    /// Counts each object's edges, visiting an object's children the first
    /// time it is reached (an object holds its references once, however
    /// many times it is itself referenced). An explicit stack keeps deep
    /// graphs off the call stack.
    fn count(&mut self, root: &'a Ref) {
        let mut stack = vec![(root, Edge::Root)];
        while let Some((obj, edge)) = stack.pop() {
            let count = self.counts.entry(self.key(obj, edge)).or_insert(0);
            *count += 1;
            if *count == 1 {
                children(obj, |child, edge| stack.push((child, edge)));
            }
        }
    }

    fn is_flagged(&self, key: Key<'a>, edge: Edge) -> bool {
        key.always_flagged()
            || edge.extra_refs() > 0
            || self.counts.get(&key).copied().unwrap_or(0) > 1
    }

    /// Sorts the elements of every set, inner sets first (a post-order
    /// walk), so that an element's sort key can be written with the orders
    /// of the sets inside it already known.
    fn sort_sets(&mut self, root: &'a Ref) -> Result<(), WriteError> {
        let mut expanded = HashSet::new();
        let mut stack = vec![(root, false)];
        // Sort keys by element: an element in several sets is dumped once.
        let mut keys: HashMap<Key<'a>, Vec<u8>> = HashMap::new();
        while let Some((obj, children_done)) = stack.pop() {
            if children_done {
                if let Object::Set(items) | Object::FrozenSet(items) = &**obj {
                    let order = self.sorted_order(items, &mut keys)?;
                    self.set_orders.insert(ptr(obj), order);
                }
            } else if expanded.insert(ptr(obj)) {
                stack.push((obj, true));
                children(obj, |child, _| stack.push((child, false)));
            }
        }
        Ok(())
    }

    /// The order `sorted(items, key=marshal.dumps)` gives: each key dumped
    /// in a fresh `WFILE` while CPython holds the element once more.
    fn sorted_order(
        &self,
        items: &'a [Ref],
        keys: &mut HashMap<Key<'a>, Vec<u8>>,
    ) -> Result<Vec<usize>, WriteError> {
        let mut order: Vec<usize> = (0..items.len()).collect();
        for item in items {
            let item_key = self.key(item, Edge::SetItem);
            if let std::collections::hash_map::Entry::Vacant(slot) = keys.entry(item_key) {
                let mut emitter = Emitter::default();
                emitter.emit(self, item, Edge::SetItem)?;
                slot.insert(emitter.out);
            }
        }
        // A stable sort on the bytes alone: list.sort is stable, and two
        // equal dumps are tuples whose second items compare equal or
        // unordered.
        order.sort_by(|&a, &b| {
            let key = |i: usize| &keys[&self.key(&items[i], Edge::SetItem)];
            key(a).cmp(key(b))
        });
        Ok(order)
    }
}

/// Calls `visit` on each object `obj` refers to, with the edge.
fn children<'a>(obj: &'a Ref, mut visit: impl FnMut(&'a Ref, Edge)) {
    match &**obj {
        Object::Tuple(items)
        | Object::List(items)
        | Object::Set(items)
        | Object::FrozenSet(items) => items.iter().for_each(|item| visit(item, Edge::Item)),
        Object::Dict(pairs) => pairs.iter().for_each(|(k, v)| {
            visit(k, Edge::Item);
            visit(v, Edge::Item);
        }),
        Object::Slice { start, stop, step } => {
            [start, stop, step]
                .into_iter()
                .for_each(|part| visit(part, Edge::Item));
        }
        Object::Code(code) => code_fields(code, ptr(obj))
            .into_iter()
            .for_each(|(f, e)| visit(f, e)),
        _ => {}
    }
}

/// The object fields of a code object, in marshal's order, with their edges.
fn code_fields(code: &Code, at: *const Object) -> [(&Ref, Edge); 10] {
    [
        (&code.code, Edge::CoCode(at)),
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

/// What is left to write, most recent last: `w_object`'s recursion as a
/// stack, so that nesting costs heap, not call stack.
enum Task<'a> {
    /// `w_object(obj)` at `depth`.
    Object(&'a Ref, Edge, usize),
    /// `co_firstlineno`, written between `co_qualname` and `co_linetable`.
    Long(i32),
    /// The `w_object(NULL)` that ends a dict, at `depth`.
    Null(usize),
}

/// One `WFILE`: the output and the reference indices handed out so far.
#[derive(Default)]
struct Emitter<'a> {
    out: Vec<u8>,
    refs: HashMap<Key<'a>, u32>,
}

impl<'a> Emitter<'a> {
    /// `w_object(root)` and everything under it.
    fn emit(&mut self, graph: &Graph<'a>, root: &'a Ref, edge: Edge) -> Result<(), WriteError> {
        let mut stack = vec![Task::Object(root, edge, 1)];
        while let Some(task) = stack.pop() {
            match task {
                Task::Long(value) => self.out.extend(value.to_le_bytes()),
                Task::Null(depth) => {
                    check_depth(depth)?;
                    self.out.push(types::NULL);
                }
                Task::Object(obj, edge, depth) => {
                    check_depth(depth)?;
                    let Some(flag) = self.reference(graph, obj, edge)? else {
                        continue;
                    };
                    self.header(obj, flag)?;
                    push_children(graph, obj, depth + 1, &mut stack);
                }
            }
        }
        Ok(())
    }

    /// `w_ref`: writes a `TYPE_REF` and returns `None` for an object already
    /// written; else the flag for its type byte (numbering it if flagged).
    fn reference(
        &mut self,
        graph: &Graph<'a>,
        obj: &'a Ref,
        edge: Edge,
    ) -> Result<Option<u8>, WriteError> {
        if is_constant_singleton(obj) {
            return Ok(Some(0));
        }
        let key = graph.key(obj, edge);
        if !graph.is_flagged(key, edge) {
            return Ok(Some(0));
        }
        if let Some(&index) = self.refs.get(&key) {
            self.out.push(types::REF);
            self.out.extend(index.to_le_bytes());
            return Ok(None);
        }
        let index = u32::try_from(self.refs.len()).map_err(|_| WriteError::TooLarge)?;
        self.refs.insert(key, index);
        Ok(Some(FLAG_REF))
    }

    /// `w_complex_object` up to the children: the type byte (with `flag`),
    /// the whole payload of an object without children, the length of a
    /// container.
    fn header(&mut self, obj: &Object, flag: u8) -> Result<(), WriteError> {
        match obj {
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
            Object::Tuple(items) => match u8::try_from(items.len()) {
                Ok(n) => self.out.extend([types::SMALL_TUPLE | flag, n]),
                Err(_) => {
                    self.out.push(types::TUPLE | flag);
                    self.size(items.len())?;
                }
            },
            Object::List(items) => {
                self.out.push(types::LIST | flag);
                self.size(items.len())?;
            }
            Object::Dict(_) => self.out.push(types::DICT | flag),
            Object::Set(items) => {
                self.out.push(types::SET | flag);
                self.size(items.len())?;
            }
            Object::FrozenSet(items) => {
                self.out.push(types::FROZENSET | flag);
                self.size(items.len())?;
            }
            Object::Slice { .. } => self.out.push(types::SLICE | flag),
            Object::Code(code) => {
                self.out.push(types::CODE | flag);
                let head = [
                    code.argcount,
                    code.posonlyargcount,
                    code.kwonlyargcount,
                    code.stacksize,
                    code.flags,
                ];
                for field in head {
                    self.out.extend(field.to_le_bytes());
                }
            }
        }
        Ok(())
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
        let code = match (s.is_ascii(), s.utf8.len() < 256, s.interned) {
            // ASCII: one byte per code point, so the byte length is `len()`.
            (true, true, false) => types::SHORT_ASCII,
            (true, true, true) => types::SHORT_ASCII_INTERNED,
            (true, false, false) => types::ASCII,
            (true, false, true) => types::ASCII_INTERNED,
            (false, _, false) => types::UNICODE,
            (false, _, true) => types::INTERNED,
        };
        self.out.push(code | flag);
        if code == types::SHORT_ASCII || code == types::SHORT_ASCII_INTERNED {
            self.out.push(s.utf8.len() as u8);
            self.out.extend_from_slice(&s.utf8);
            Ok(())
        } else {
            self.sized(&s.utf8)
        }
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

fn check_depth(depth: usize) -> Result<(), WriteError> {
    if depth > MAX_DEPTH {
        Err(WriteError::TooDeep)
    } else {
        Ok(())
    }
}

/// Schedules the children of `obj`, first child on top.
fn push_children<'a>(graph: &Graph<'a>, obj: &'a Ref, depth: usize, stack: &mut Vec<Task<'a>>) {
    let item = |child: &'a Ref| Task::Object(child, Edge::Item, depth);
    match &**obj {
        Object::Tuple(items) | Object::List(items) => stack.extend(items.iter().rev().map(item)),
        Object::Dict(pairs) => {
            stack.push(Task::Null(depth));
            for (k, v) in pairs.iter().rev() {
                stack.extend([item(v), item(k)]);
            }
        }
        Object::Set(items) | Object::FrozenSet(items) => {
            let order = graph
                .set_orders
                .get(&ptr(obj))
                .map_or(&[][..], Vec::as_slice);
            let sorted = order
                .iter()
                .rev()
                .map(|&i| Task::Object(&items[i], Edge::SetItem, depth));
            stack.extend(sorted);
        }
        Object::Slice { start, stop, step } => stack.extend([item(step), item(stop), item(start)]),
        Object::Code(code) => {
            let fields = code_fields(code, ptr(obj));
            let (before_lineno, after_lineno) = fields.split_at(8);
            let task = |&(field, edge): &(&'a Ref, Edge)| Task::Object(field, edge, depth);
            stack.extend(after_lineno.iter().rev().map(task));
            stack.push(Task::Long(code.firstlineno));
            stack.extend(before_lineno.iter().rev().map(task));
        }
        _ => {}
    }
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
