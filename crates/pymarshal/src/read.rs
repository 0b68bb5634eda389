//! The reader: `marshal.loads` over untrusted bytes.
//!
//! It follows `r_object` in `Python/marshal.c` case by case, with the same
//! error messages, but keeps its own stack of partly read containers instead
//! of recursing, so hostile nesting costs heap, not call stack; every length
//! is checked against the bytes left before anything is allocated.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use num_bigint::{BigInt, BigUint};

use crate::object::{Code, Object, PyStr, Ref, push_code_point};
use crate::types::{self, FLAG_REF, MAX_DEPTH};

/// The Python exception `marshal.loads` raises for the same input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// `EOFError`: the data ends inside an object.
    EofError,
    /// `ValueError`: a bad type code, length, digit or reference, or nesting
    /// deeper than [`MAX_DEPTH`](crate::MAX_DEPTH).
    ValueError,
    /// `TypeError`: a `TYPE_NULL` where an object is required.
    TypeError,
    /// `UnicodeDecodeError`: a str that is not UTF-8 (surrogates allowed).
    UnicodeDecodeError,
    /// `SystemError`: a code object whose fields have the wrong types.
    SystemError,
}

impl ErrorKind {
    /// The exception's Python name.
    pub fn python_name(self) -> &'static str {
        match self {
            ErrorKind::EofError => "EOFError",
            ErrorKind::ValueError => "ValueError",
            ErrorKind::TypeError => "TypeError",
            ErrorKind::UnicodeDecodeError => "UnicodeDecodeError",
            ErrorKind::SystemError => "SystemError",
        }
    }
}

/// Why [`read()`] refused its input: the exception CPython raises, its
/// message, and where in the input the problem was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// Offset in the input of the byte or field that is wrong, or of the
    /// end of the input when it is too short.
    pub offset: usize,
    /// The exception `marshal.loads` raises.
    pub kind: ErrorKind,
    /// The exception's message, in CPython's words (for decoding errors,
    /// the position is relative to the string's first byte, as CPython's;
    /// CPython prefixes "bad argument to internal function" with its C
    /// source position, which this message leaves out).
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (at offset {})",
            self.kind.python_name(),
            self.message,
            self.offset
        )
    }
}

impl std::error::Error for ReadError {}

/// `marshal.loads(data)`: the first object in `data` (what follows it is
/// ignored, as `loads` ignores it).
///
/// Objects written with FLAG_REF come back as one `Arc` shared by every
/// `TYPE_REF` to them. Differences from CPython, all on input CPython never
/// writes:
/// - a `TYPE_REF` to a tuple, list, dict or set still being read is an
///   error (CPython builds a cyclic object, which this model cannot hold);
///   to a code object, frozenset or slice being read it is CPython's own
///   error;
/// - a `TYPE_REF` that would put part of the graph deeper than
///   [`MAX_DEPTH`] is an error, so that what `read` returns can be written
///   again and walked recursively;
/// - sets and dicts keep duplicate elements and keys (CPython hashes them;
///   this model has no hashing, though it refuses unhashable keys as
///   CPython does);
/// - strs keep the interned flag they were written with (CPython's code
///   constructor interns `co_names` and similar strings again on load, and
///   its 1-character strs are its interned singletons).
///
/// ```
/// use pymarshal::{ErrorKind, read};
/// // A 2-tuple of the int 300, referenced twice.
/// let pair = read(b")\x02\xe9,\x01\x00\x00r\x00\x00\x00\x00").unwrap();
/// assert_eq!(pair.to_string(), "(300, 300)");
/// let err = read(b")\x02N").unwrap_err();
/// assert_eq!((err.kind, err.message.as_str(), err.offset), (ErrorKind::EofError, "EOF read where object expected", 3));
/// ```
pub fn read(data: &[u8]) -> Result<Ref, ReadError> {
    Reader::new(data).read_root()
}

/// What `r_object` produced: an object, or `NULL` (no object, no error).
type Produced = Option<Node>;

/// An object read, with the height of its graph (1 for an object without
/// children), which bounds every recursive walk of what [`read()`] returns.
#[derive(Clone)]
struct Node {
    obj: Ref,
    height: usize,
}

/// A container whose children are being read.
enum Frame {
    /// A tuple or list: `n` items expected.
    Seq {
        items: Vec<Ref>,
        n: usize,
        list: bool,
        slot: Option<usize>,
    },
    /// A dict: pairs until a `NULL` key.
    Dict {
        pairs: Vec<(Ref, Ref)>,
        key: Option<Ref>,
        slot: Option<usize>,
    },
    /// A set or frozenset: `n` items expected.
    Set {
        items: Vec<Ref>,
        n: usize,
        frozen: bool,
        slot: Option<usize>,
    },
    /// A code object: the ten object fields, and `co_firstlineno` read
    /// between the eighth and the ninth.
    Code {
        head: [i32; 5],
        fields: Vec<Ref>,
        firstlineno: i32,
        slot: Option<usize>,
        offset: usize,
    },
    /// A slice: start, stop, step.
    Slice {
        parts: Vec<Ref>,
        slot: Option<usize>,
    },
}

/// How reading one object began.
enum Start {
    /// The object is complete (or is `NULL`).
    Done(Produced),
    /// A container with children to read.
    Open(Frame),
}

/// What a frame does with a child just read.
enum Next {
    /// Read another child.
    More,
    /// The container is complete (or `NULL`, for a slice missing a part).
    Done(Option<Ref>),
}

/// Objects every read shares, so that a run of one-byte objects costs a
/// pointer each, not an allocation each.
struct Singletons {
    none: Ref,
    stop_iteration: Ref,
    ellipsis: Ref,
    false_: Ref,
    true_: Ref,
}

struct Reader<'d> {
    data: &'d [u8],
    pos: usize,
    /// The reference list: `None` marks a slot reserved for an object still
    /// being read (CPython puts `None` there).
    refs: Vec<Option<Node>>,
    singletons: Singletons,
    /// Whether a tuple, slice or code object already checked is hashable
    /// (the name of the unhashable type inside it if not).
    hashable: HashMap<*const Object, Option<&'static str>>,
}

impl<'d> Reader<'d> {
    fn new(data: &'d [u8]) -> Self {
        Reader {
            data,
            pos: 0,
            refs: Vec::new(),
            hashable: HashMap::new(),
            singletons: Singletons {
                none: Arc::new(Object::None),
                stop_iteration: Arc::new(Object::StopIteration),
                ellipsis: Arc::new(Object::Ellipsis),
                false_: Arc::new(Object::False),
                true_: Arc::new(Object::True),
            },
        }
    }

    /// `read_object`: reads objects until the outermost one is complete.
    fn read_root(mut self) -> Result<Ref, ReadError> {
        // Each open container with the greatest height of its children so far.
        let mut stack: Vec<(Frame, usize)> = Vec::new();
        loop {
            let depth = stack.len() + 1;
            let mut produced = match self.start(depth)? {
                Start::Open(frame) => {
                    stack.push((frame, 0));
                    continue;
                }
                Start::Done(produced) => produced,
            };
            // Hand the object to its parent; completed parents go on up.
            loop {
                let Some((frame, tallest)) = stack.last_mut() else {
                    return produced.map(|node| node.obj).ok_or_else(|| {
                        self.error(
                            0,
                            ErrorKind::TypeError,
                            "NULL object in marshal data for object",
                        )
                    });
                };
                // A NULL (a dict's terminator) was read one level down too.
                let child_height = produced.as_ref().map_or(1, |node| node.height);
                *tallest = (*tallest).max(child_height);
                let height = *tallest + 1;
                match self.accept(frame, produced.map(|node| node.obj), height)? {
                    Next::More => break,
                    Next::Done(done) => {
                        stack.pop();
                        produced = done.map(|obj| Node { obj, height });
                    }
                }
            }
        }
    }

    fn error(&self, offset: usize, kind: ErrorKind, message: &str) -> ReadError {
        ReadError {
            offset,
            kind,
            message: message.to_owned(),
        }
    }

    fn value_error(&self, offset: usize, message: &str) -> ReadError {
        self.error(offset, ErrorKind::ValueError, message)
    }

    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// `r_string` on a buffer: exactly `n` bytes or "marshal data too short".
    fn bytes(&mut self, n: usize) -> Result<&'d [u8], ReadError> {
        if self.remaining() < n {
            return Err(self.error(
                self.data.len(),
                ErrorKind::EofError,
                "marshal data too short",
            ));
        }
        let start = self.pos;
        self.pos += n;
        Ok(&self.data[start..self.pos])
    }

    /// `r_byte`: one byte or "EOF read where not expected".
    fn byte(&mut self) -> Result<u8, ReadError> {
        let Some(&b) = self.data.get(self.pos) else {
            return Err(self.error(self.pos, ErrorKind::EofError, "EOF read where not expected"));
        };
        self.pos += 1;
        Ok(b)
    }

    /// `r_long`: a signed 32-bit little-endian value.
    fn long(&mut self) -> Result<i32, ReadError> {
        let b = self.bytes(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A 32-bit length; negative is `message`, a ValueError.
    fn size(&mut self, message: &str) -> Result<usize, ReadError> {
        let at = self.pos;
        let n = self.long()?;
        usize::try_from(n).map_err(|_| self.value_error(at, message))
    }

    /// A capacity for `n` children that the input can actually hold (each
    /// takes at least one byte), so a forged count cannot allocate.
    fn capacity(&self, n: usize) -> usize {
        n.min(self.remaining())
    }

    /// `r_ref_reserve`: a slot for an object whose children come first.
    fn reserve(&mut self, flag: bool) -> Option<usize> {
        flag.then(|| {
            self.refs.push(None);
            self.refs.len() - 1
        })
    }

    /// `r_ref_insert`: fills a reserved slot.
    fn fill(&mut self, slot: Option<usize>, obj: &Ref, height: usize) {
        if let Some(slot) = slot {
            self.refs[slot] = Some(Node {
                obj: obj.clone(),
                height,
            });
        }
    }

    /// `R_REF`: registers an object without children, complete on arrival.
    fn register(&mut self, flag: bool, obj: Object) -> Start {
        let node = Node {
            obj: Arc::new(obj),
            height: 1,
        };
        if flag {
            self.refs.push(Some(node.clone()));
        }
        Start::Done(Some(node))
    }

    /// The start of `r_object`: the type byte, the depth check, and either
    /// the whole object or an open container.
    fn start(&mut self, depth: usize) -> Result<Start, ReadError> {
        let at = self.pos;
        let Some(&code) = self.data.get(at) else {
            return Err(self.error(at, ErrorKind::EofError, "EOF read where object expected"));
        };
        self.pos += 1;
        if depth > MAX_DEPTH {
            return Err(self.value_error(at, "recursion limit exceeded"));
        }
        let flag = code & FLAG_REF != 0;
        let single = |obj: &Ref| {
            Ok(Start::Done(Some(Node {
                obj: obj.clone(),
                height: 1,
            })))
        };
        match code & !FLAG_REF {
            types::NULL => Ok(Start::Done(None)),
            types::NONE => single(&self.singletons.none),
            types::STOPITER => single(&self.singletons.stop_iteration),
            types::ELLIPSIS => single(&self.singletons.ellipsis),
            types::FALSE => single(&self.singletons.false_),
            types::TRUE => single(&self.singletons.true_),
            types::INT => {
                let v = self.long()?;
                Ok(self.register(flag, Object::Int(v.into())))
            }
            types::INT64 => {
                let b = self.bytes(8)?;
                let v = i64::from_le_bytes(b.try_into().expect("8 bytes"));
                Ok(self.register(flag, Object::Int(v.into())))
            }
            types::LONG => {
                let v = self.big_int()?;
                Ok(self.register(flag, Object::Int(v)))
            }
            types::FLOAT => {
                let v = self.text_float()?;
                Ok(self.register(flag, Object::Float(v)))
            }
            types::BINARY_FLOAT => {
                let v = self.binary_float()?;
                Ok(self.register(flag, Object::Float(v)))
            }
            types::COMPLEX => {
                let real = self.text_float()?;
                let imag = self.text_float()?;
                Ok(self.register(flag, Object::Complex { real, imag }))
            }
            types::BINARY_COMPLEX => {
                let real = self.binary_float()?;
                let imag = self.binary_float()?;
                Ok(self.register(flag, Object::Complex { real, imag }))
            }
            types::STRING => {
                let n = self.size("bad marshal data (bytes object size out of range)")?;
                let b = self.bytes(n)?.to_vec();
                Ok(self.register(flag, Object::Bytes(b)))
            }
            types::ASCII | types::ASCII_INTERNED => {
                let n = self.size("bad marshal data (string size out of range)")?;
                let s = self.latin1(n, code & !FLAG_REF == types::ASCII_INTERNED)?;
                Ok(self.register(flag, Object::Str(s)))
            }
            types::SHORT_ASCII | types::SHORT_ASCII_INTERNED => {
                let n = usize::from(self.byte()?);
                let s = self.latin1(n, code & !FLAG_REF == types::SHORT_ASCII_INTERNED)?;
                Ok(self.register(flag, Object::Str(s)))
            }
            types::UNICODE | types::INTERNED => {
                let n = self.size("bad marshal data (string size out of range)")?;
                let s = self.utf8(n, code & !FLAG_REF == types::INTERNED)?;
                Ok(self.register(flag, Object::Str(s)))
            }
            types::SMALL_TUPLE => {
                let n = usize::from(self.byte()?);
                Ok(self.open_seq(n, false, flag))
            }
            types::TUPLE => {
                let n = self.size("bad marshal data (tuple size out of range)")?;
                Ok(self.open_seq(n, false, flag))
            }
            types::LIST => {
                let n = self.size("bad marshal data (list size out of range)")?;
                Ok(self.open_seq(n, true, flag))
            }
            types::DICT => {
                let slot = self.reserve(flag);
                Ok(Start::Open(Frame::Dict {
                    pairs: Vec::new(),
                    key: None,
                    slot,
                }))
            }
            types::SET | types::FROZENSET => {
                let n = self.size("bad marshal data (set size out of range)")?;
                Ok(self.open_set(n, code & !FLAG_REF == types::FROZENSET, flag))
            }
            types::CODE => self.open_code(flag, at),
            types::REF => self.reference(depth),
            types::SLICE => {
                let slot = self.reserve(flag);
                Ok(Start::Open(Frame::Slice {
                    parts: Vec::with_capacity(3),
                    slot,
                }))
            }
            _ => Err(self.value_error(at, "bad marshal data (unknown type code)")),
        }
    }

    fn open_seq(&mut self, n: usize, list: bool, flag: bool) -> Start {
        if n == 0 {
            let obj = if list {
                Object::List(Vec::new())
            } else {
                Object::Tuple(Vec::new())
            };
            return self.register(flag, obj);
        }
        // CPython registers tuples and lists before their items; this model
        // cannot hold the object before it is complete, so it reserves.
        let slot = self.reserve(flag);
        let items = Vec::with_capacity(self.capacity(n));
        Start::Open(Frame::Seq {
            items,
            n,
            list,
            slot,
        })
    }

    fn open_set(&mut self, n: usize, frozen: bool, flag: bool) -> Start {
        if n == 0 {
            let obj = if frozen {
                Object::FrozenSet(Vec::new())
            } else {
                Object::Set(Vec::new())
            };
            return self.register(flag, obj);
        }
        let slot = self.reserve(flag);
        let items = Vec::with_capacity(self.capacity(n));
        Start::Open(Frame::Set {
            items,
            n,
            frozen,
            slot,
        })
    }

    fn open_code(&mut self, flag: bool, offset: usize) -> Result<Start, ReadError> {
        let slot = self.reserve(flag);
        let mut head = [0; 5];
        for field in &mut head {
            *field = self.long()?;
        }
        let fields = Vec::with_capacity(10);
        Ok(Start::Open(Frame::Code {
            head,
            fields,
            firstlineno: 0,
            slot,
            offset,
        }))
    }

    /// `TYPE_REF`: an earlier object, or an error for a bad index or an
    /// object still being read.
    ///
    /// A reference can graft a deep object deep down again, so that a small
    /// input makes a graph far deeper than its nesting: CPython loads that
    /// (and could not dump it again); this reader refuses a reference that
    /// would put anything below [`MAX_DEPTH`], which keeps every recursive
    /// walk of the model (drop, equality, repr, the writer) bounded.
    fn reference(&mut self, depth: usize) -> Result<Start, ReadError> {
        let at = self.pos;
        let n = self.long()?;
        let found = usize::try_from(n)
            .ok()
            .and_then(|i| self.refs.get(i))
            .and_then(Option::as_ref);
        match found {
            Some(node) if depth - 1 + node.height > MAX_DEPTH => Err(self.value_error(
                at,
                "recursion limit exceeded (an object referenced again nests too deep)",
            )),
            Some(node) => Ok(Start::Done(Some(node.clone()))),
            None => Err(self.value_error(at, "bad marshal data (invalid reference)")),
        }
    }

    /// `PyDict_SetItem` and `PySet_Add` hash their key: a list, dict or set,
    /// or a tuple, slice or code object holding one, is a TypeError.
    fn check_hashable(&mut self, obj: &Ref, what: &str, at: usize) -> Result<(), ReadError> {
        match unhashable(obj, &mut self.hashable) {
            None => Ok(()),
            Some(inner) => {
                let message = format!(
                    "cannot use '{}' as a {what} (unhashable type: '{inner}')",
                    obj.type_name()
                );
                Err(self.error(at, ErrorKind::TypeError, &message))
            }
        }
    }

    /// Gives `child` to the innermost open container.
    fn accept(
        &mut self,
        frame: &mut Frame,
        child: Option<Ref>,
        height: usize,
    ) -> Result<Next, ReadError> {
        let at = self.pos;
        match frame {
            Frame::Seq {
                items,
                n,
                list,
                slot,
            } => {
                let Some(child) = child else {
                    let what = if *list { "list" } else { "tuple" };
                    let message = format!("NULL object in marshal data for {what}");
                    return Err(self.error(at, ErrorKind::TypeError, &message));
                };
                items.push(child);
                if items.len() < *n {
                    return Ok(Next::More);
                }
                let items = std::mem::take(items);
                let obj = Arc::new(if *list {
                    Object::List(items)
                } else {
                    Object::Tuple(items)
                });
                self.fill(*slot, &obj, height);
                Ok(Next::Done(Some(obj)))
            }
            Frame::Dict { pairs, key, slot } => {
                // A NULL key ends the dict; so does a NULL value, which
                // CPython drops with its key without raising.
                match (key.take(), child) {
                    (None, Some(k)) => {
                        *key = Some(k);
                        return Ok(Next::More);
                    }
                    (Some(k), Some(v)) => {
                        self.check_hashable(&k, "dict key", at)?;
                        pairs.push((k, v));
                        return Ok(Next::More);
                    }
                    (_, None) => {}
                }
                let obj = Arc::new(Object::Dict(std::mem::take(pairs)));
                self.fill(*slot, &obj, height);
                Ok(Next::Done(Some(obj)))
            }
            Frame::Set {
                items,
                n,
                frozen,
                slot,
            } => {
                let Some(child) = child else {
                    return Err(self.error(
                        at,
                        ErrorKind::TypeError,
                        "NULL object in marshal data for set",
                    ));
                };
                self.check_hashable(&child, "set element", at)?;
                items.push(child);
                if items.len() < *n {
                    return Ok(Next::More);
                }
                let items = std::mem::take(items);
                let obj = Arc::new(if *frozen {
                    Object::FrozenSet(items)
                } else {
                    Object::Set(items)
                });
                self.fill(*slot, &obj, height);
                Ok(Next::Done(Some(obj)))
            }
            Frame::Code {
                head,
                fields,
                firstlineno,
                slot,
                offset,
            } => {
                let Some(child) = child else {
                    let message = "NULL object in marshal data for code object";
                    return Err(self.error(at, ErrorKind::TypeError, message));
                };
                fields.push(child);
                if fields.len() == 8 {
                    *firstlineno = self.long()?;
                }
                if fields.len() < 10 {
                    return Ok(Next::More);
                }
                let code = build_code(*head, std::mem::take(fields), *firstlineno)
                    .map_err(|(kind, message)| self.error(*offset, kind, message))?;
                let obj = Arc::new(Object::Code(Box::new(code)));
                self.fill(*slot, &obj, height);
                Ok(Next::Done(Some(obj)))
            }
            Frame::Slice { parts, slot } => {
                // A NULL part makes the slice NULL, without an error of its
                // own; its reserved slot stays empty.
                let Some(child) = child else {
                    return Ok(Next::Done(None));
                };
                parts.push(child);
                if parts.len() < 3 {
                    return Ok(Next::More);
                }
                let [start, stop, step]: [Ref; 3] =
                    std::mem::take(parts).try_into().expect("three parts");
                let obj = Arc::new(Object::Slice { start, stop, step });
                self.fill(*slot, &obj, height);
                Ok(Next::Done(Some(obj)))
            }
        }
    }

    /// `r_PyLong`: a signed count of base-2**15 digits, each in range, the
    /// last one non-zero.
    fn big_int(&mut self) -> Result<BigInt, ReadError> {
        let at = self.pos;
        let n = self.long()?;
        if n == i32::MIN {
            return Err(self.value_error(at, "bad marshal data (long size out of range)"));
        }
        let count = n.unsigned_abs() as usize;
        if self.remaining() / 2 < count {
            return Err(self.error(
                self.data.len(),
                ErrorKind::EofError,
                "marshal data too short",
            ));
        }
        let mut digits = Vec::with_capacity(count);
        for i in 0..count {
            let digit_at = self.pos;
            let b = self.bytes(2)?;
            let digit = u16::from_le_bytes([b[0], b[1]]);
            if digit > 0x7fff {
                return Err(
                    self.value_error(digit_at, "bad marshal data (digit out of range in long)")
                );
            }
            if digit == 0 && i == count - 1 {
                return Err(self.value_error(digit_at, "bad marshal data (unnormalized long data)"));
            }
            digits.push(digit);
        }
        let magnitude = from_digits(&digits);
        Ok(if n < 0 {
            -BigInt::from(magnitude)
        } else {
            BigInt::from(magnitude)
        })
    }

    fn binary_float(&mut self) -> Result<f64, ReadError> {
        let b = self.bytes(8)?;
        Ok(f64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    /// `r_float_str`: version 0's text float, parsed up to its first NUL as
    /// `PyOS_string_to_double` sees the C string.
    fn text_float(&mut self) -> Result<f64, ReadError> {
        let n = usize::from(self.byte()?);
        let at = self.pos;
        let text = self.bytes(n)?;
        let text = text.split(|&b| b == 0).next().unwrap_or_default();
        let parsed = std::str::from_utf8(text).ok().and_then(parse_float);
        parsed.ok_or_else(|| {
            let message = format!(
                "could not convert string to float: {}",
                pystr::bytes_repr(text).trim_start_matches('b')
            );
            self.value_error(at, &message)
        })
    }

    /// `TYPE_ASCII*`: CPython decodes the bytes as latin-1, whatever they are.
    fn latin1(&mut self, n: usize, interned: bool) -> Result<PyStr, ReadError> {
        let bytes = self.bytes(n)?;
        let mut utf8 = Vec::with_capacity(n);
        for &b in bytes {
            push_code_point(&mut utf8, u32::from(b)).expect("latin-1 is in range");
        }
        Ok(new_str(utf8, interned))
    }

    /// `TYPE_UNICODE`/`TYPE_INTERNED`: UTF-8 with `surrogatepass`.
    fn utf8(&mut self, n: usize, interned: bool) -> Result<PyStr, ReadError> {
        let at = self.pos;
        let bytes = self.bytes(n)?;
        if let Err((position, reason)) = check_utf8_surrogatepass(bytes) {
            let message = format!(
                "'utf-8' codec can't decode byte 0x{:02x} in position {position}: {reason}",
                bytes[position]
            );
            return Err(self.error(at + position, ErrorKind::UnicodeDecodeError, &message));
        }
        Ok(new_str(bytes.to_vec(), interned))
    }
}

/// A str with the interned flag its type code gave it. (CPython's reader
/// returns its interned singletons for `''` and the 1-code-point latin-1
/// strs whatever the flag; the model keeps what the writer wrote.)
fn new_str(utf8: Vec<u8>, interned: bool) -> PyStr {
    PyStr {
        utf8: utf8.into(),
        interned,
    }
}

/// The non-negative integer of base-2**15 digits, least significant first.
fn from_digits(digits: &[u16]) -> BigUint {
    let mut words = vec![0u32; (digits.len() * 15).div_ceil(32)];
    for (i, &digit) in digits.iter().enumerate() {
        let bit = i * 15;
        let (word, shift) = (bit / 32, bit % 32);
        let wide = u64::from(digit) << shift;
        words[word] |= wide as u32;
        if let Some(next) = words.get_mut(word + 1) {
            *next |= (wide >> 32) as u32;
        }
    }
    BigUint::new(words)
}

/// `PyOS_string_to_double` on the syntax CPython's `repr` and `%r` write,
/// `inf`/`nan` spellings included; Rust's parser accepts the same forms.
fn parse_float(text: &str) -> Option<f64> {
    // Rust accepts a leading '+' and "infinity"/"nan" in any case, as does
    // CPython; neither accepts whitespace or underscores here.
    text.parse().ok()
}

/// Checks UTF-8 as CPython's decoder with `surrogatepass` accepts it:
/// standard UTF-8 plus the 3-byte forms of U+D800..U+DFFF. On error, the
/// position of the offending byte and CPython's reason.
fn check_utf8_surrogatepass(bytes: &[u8]) -> Result<(), (usize, &'static str)> {
    let mut i = 0;
    while i < bytes.len() {
        let lead = bytes[i];
        let (len, second) = match lead {
            0x00..=0x7f => {
                i += 1;
                continue;
            }
            0xc2..=0xdf => (2, 0x80..=0xbf),
            0xe0 => (3, 0xa0..=0xbf),
            // 0xed would be 0x80..=0x9f without surrogatepass.
            0xe1..=0xef => (3, 0x80..=0xbf),
            0xf0 => (4, 0x90..=0xbf),
            0xf1..=0xf3 => (4, 0x80..=0xbf),
            0xf4 => (4, 0x80..=0x8f),
            _ => return Err((i, "invalid start byte")),
        };
        for k in 1..len {
            let Some(&b) = bytes.get(i + k) else {
                return Err((i, "unexpected end of data"));
            };
            let ok = if k == 1 {
                second.contains(&b)
            } else {
                (0x80..=0xbf).contains(&b)
            };
            if !ok {
                return Err((i, "invalid continuation byte"));
            }
        }
        i += len;
    }
    Ok(())
}

/// `_PyCode_Validate`, then the checks `_PyCode_New` makes before it builds
/// the object: the fields have the types the model promises.
fn build_code(
    head: [i32; 5],
    fields: Vec<Ref>,
    firstlineno: i32,
) -> Result<Code, (ErrorKind, &'static str)> {
    let [argcount, posonlyargcount, kwonlyargcount, stacksize, flags] = head;
    let [
        code,
        consts,
        names,
        localsplusnames,
        localspluskinds,
        filename,
        name,
        qualname,
        linetable,
        exceptiontable,
    ]: [Ref; 10] = fields.try_into().expect("ten fields");
    let is_bytes = |o: &Ref| matches!(**o, Object::Bytes(_));
    let is_tuple = |o: &Ref| matches!(**o, Object::Tuple(_));
    let is_str = |o: &Ref| matches!(**o, Object::Str(_));
    let kinds = match &*localspluskinds {
        Object::Bytes(b) => Some(b.as_slice()),
        _ => None,
    };
    let nlocalsplus = match &*localsplusnames {
        Object::Tuple(items) => Some(items.len()),
        _ => None,
    };
    let types_ok = argcount >= posonlyargcount
        && posonlyargcount >= 0
        && kwonlyargcount >= 0
        && stacksize >= 0
        && flags >= 0
        && is_bytes(&code)
        && is_tuple(&consts)
        && is_tuple(&names)
        && nlocalsplus.is_some()
        && kinds.is_some_and(|k| Some(k.len()) == nlocalsplus)
        && is_str(&name)
        && is_str(&qualname)
        && is_str(&filename)
        && is_bytes(&linetable)
        && is_bytes(&exceptiontable);
    if !types_ok {
        return Err((ErrorKind::SystemError, "bad argument to internal function"));
    }
    if let Object::Bytes(b) = &*code
        && !b.len().is_multiple_of(2)
    {
        return Err((ErrorKind::ValueError, "code: co_code is malformed"));
    }
    const CO_FAST_LOCAL: u8 = 0x20;
    const CO_VARARGS: i32 = 0x4;
    const CO_VARKEYWORDS: i32 = 0x8;
    let nlocals = kinds
        .unwrap_or_default()
        .iter()
        .filter(|&&k| k & CO_FAST_LOCAL != 0)
        .count();
    let needed = i64::from(argcount)
        + i64::from(kwonlyargcount)
        + i64::from(flags & CO_VARARGS != 0)
        + i64::from(flags & CO_VARKEYWORDS != 0);
    if (nlocals as i64) < needed {
        return Err((ErrorKind::ValueError, "code: co_varnames is too small"));
    }
    let all_str = |o: &Ref| match &**o {
        Object::Tuple(items) => items.iter().all(is_str),
        _ => false,
    };
    if !all_str(&names) || !all_str(&localsplusnames) {
        return Err((ErrorKind::SystemError, "non-string found in code slot"));
    }
    Ok(Code {
        argcount,
        posonlyargcount,
        kwonlyargcount,
        // init_code: "if (con->stacksize == 0) con->stacksize = 1;"
        stacksize: stacksize.max(1),
        flags,
        code,
        consts,
        names,
        localsplusnames,
        localspluskinds,
        filename,
        name,
        qualname,
        firstlineno,
        linetable,
        exceptiontable,
    })
}

/// The unhashable type that makes `obj` unhashable, if any, in the order
/// CPython's hash functions meet it. Results for containers are remembered:
/// shared subgraphs are checked once.
fn unhashable(
    obj: &Ref,
    memo: &mut HashMap<*const Object, Option<&'static str>>,
) -> Option<&'static str> {
    let children: Vec<&Ref> = match &**obj {
        Object::List(_) | Object::Dict(_) | Object::Set(_) => return Some(obj.type_name()),
        Object::Tuple(items) => items.iter().collect(),
        Object::Slice { start, stop, step } => vec![start, stop, step],
        Object::Code(code) => vec![&code.consts],
        _ => return None,
    };
    if let Some(&known) = memo.get(&Arc::as_ptr(obj)) {
        return known;
    }
    let found = children
        .into_iter()
        .find_map(|child| unhashable(child, memo));
    memo.insert(Arc::as_ptr(obj), found);
    found
}
