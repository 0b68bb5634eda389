//! The object model: the Python values a marshalled code object can hold.

use std::sync::Arc;

use num_bigint::BigInt;

/// A shared object. Object identity is `Arc` pointer identity: two edges to
/// the same `Arc` are one Python object referenced twice, which is what
/// decides FLAG_REF for most objects (see the crate docs).
pub type Ref = Arc<Object>;

/// One Python object of a type marshal version 5 can write.
#[derive(Clone)]
pub enum Object {
    /// `None`.
    None,
    /// The `StopIteration` exception class (marshal can write it; code never holds it).
    StopIteration,
    /// `...`.
    Ellipsis,
    /// `False`.
    False,
    /// `True`.
    True,
    /// An `int` of any size.
    Int(BigInt),
    /// A `float`; compared by bit pattern.
    Float(f64),
    /// A `complex`; both parts compared by bit pattern.
    Complex {
        /// The real part.
        real: f64,
        /// The imaginary part.
        imag: f64,
    },
    /// A `bytes` object.
    Bytes(Vec<u8>),
    /// A `str`.
    Str(PyStr),
    /// A `tuple`.
    Tuple(Vec<Ref>),
    /// A `list`.
    List(Vec<Ref>),
    /// A `dict`, in insertion order.
    Dict(Vec<(Ref, Ref)>),
    /// A `set`, in the order the writer should emit (or the reader found) its elements.
    Set(Vec<Ref>),
    /// A `frozenset`, in the order the writer should emit (or the reader found) its elements.
    FrozenSet(Vec<Ref>),
    /// A `slice` (constant since CPython 3.14, marshal version 5).
    Slice {
        /// `slice.start`.
        start: Ref,
        /// `slice.stop`.
        stop: Ref,
        /// `slice.step`.
        step: Ref,
    },
    /// A code object.
    Code(Box<Code>),
}

/// A Python `str`: its code points encoded as CPython's marshal writes them
/// (UTF-8 with `surrogatepass`, so each lone surrogate is its own 3-byte
/// sequence), plus whether the object is interned.
///
/// ```
/// use pymarshal::PyStr;
/// let s = PyStr::from_code_points([0x61, 0xd800, 0xe9].into_iter(), false).unwrap();
/// assert_eq!(&*s.utf8, b"a\xed\xa0\x80\xc3\xa9");
/// assert_eq!(s.len_code_points(), 3);
/// assert!(!s.is_ascii());
/// assert!(PyStr::new("abc", true).is_ascii());
/// ```
#[derive(Clone)]
pub struct PyStr {
    /// The code points, UTF-8 encoded with `surrogatepass`.
    pub utf8: Box<[u8]>,
    /// Whether the string is interned (written as an `*_INTERNED` type, always FLAG_REF).
    pub interned: bool,
}

impl PyStr {
    /// A string of Rust text (which holds no surrogates).
    pub fn new(text: &str, interned: bool) -> Self {
        PyStr {
            utf8: text.as_bytes().into(),
            interned,
        }
    }

    /// A string of arbitrary code points, lone surrogates included (a
    /// surrogate pair stays two code points, as in CPython). `None` if a
    /// value is above U+10FFFF, which no Python string can hold.
    pub fn from_code_points(points: impl Iterator<Item = u32>, interned: bool) -> Option<Self> {
        let mut utf8 = Vec::new();
        for point in points {
            push_code_point(&mut utf8, point)?;
        }
        Some(PyStr {
            utf8: utf8.into(),
            interned,
        })
    }

    /// Whether every code point is below 128 (CPython's `str.isascii()`).
    pub fn is_ascii(&self) -> bool {
        self.utf8.is_ascii()
    }

    /// The number of code points, Python's `len()`.
    pub fn len_code_points(&self) -> usize {
        // Every code point has exactly one byte that is not a continuation byte.
        self.utf8.iter().filter(|&&b| b & 0xc0 != 0x80).count()
    }

    /// The code points, decoded leniently: the bytes are trusted to be what
    /// [`PyStr::from_code_points`] or the reader produced.
    pub fn code_points(&self) -> impl Iterator<Item = u32> + '_ {
        let mut rest = &self.utf8[..];
        std::iter::from_fn(move || {
            let (&lead, tail) = rest.split_first()?;
            let extra = match lead {
                0xf0.. => 3,
                0xe0.. => 2,
                0xc0.. => 1,
                _ => 0,
            };
            let extra = extra.min(tail.len());
            let mut point = u32::from(lead) & (0x7f >> extra);
            for &b in &tail[..extra] {
                point = (point << 6) | u32::from(b & 0x3f);
            }
            rest = &tail[extra..];
            Some(point)
        })
    }

    /// The text with each lone surrogate shown as U+FFFD, for messages.
    pub fn to_string_lossy(&self) -> String {
        self.code_points()
            .map(|p| char::from_u32(p).unwrap_or('\u{fffd}'))
            .collect()
    }
}

/// Appends one code point in UTF-8, surrogates included; `None` above U+10FFFF.
pub(crate) fn push_code_point(out: &mut Vec<u8>, point: u32) -> Option<()> {
    // The low bits of each byte; the `as u8` casts keep exactly those bits.
    let cont = |shift: u32| 0x80 | ((point >> shift) & 0x3f) as u8;
    match point {
        0..=0x7f => out.push(point as u8),
        0x80..=0x7ff => out.extend([0xc0 | (point >> 6) as u8, cont(0)]),
        0x800..=0xffff => out.extend([0xe0 | (point >> 12) as u8, cont(6), cont(0)]),
        0x1_0000..=0x10_ffff => {
            out.extend([0xf0 | (point >> 18) as u8, cont(12), cont(6), cont(0)]);
        }
        _ => return None,
    }
    Some(())
}

/// A code object as CPython 3.14 marshals it, fields in marshal's order.
///
/// The `Ref` fields hold objects of the types named in their docs; the
/// writer writes whatever they hold, the reader checks nothing beyond what
/// CPython's reader checks at the marshal level.
#[derive(Clone)]
pub struct Code {
    /// `co_argcount`.
    pub argcount: i32,
    /// `co_posonlyargcount`.
    pub posonlyargcount: i32,
    /// `co_kwonlyargcount`.
    pub kwonlyargcount: i32,
    /// `co_stacksize`.
    pub stacksize: i32,
    /// `co_flags`.
    pub flags: i32,
    /// `co_code`: a bytes object.
    pub code: Ref,
    /// `co_consts`: a tuple.
    pub consts: Ref,
    /// `co_names`: a tuple of str.
    pub names: Ref,
    /// `co_localsplusnames`: a tuple of str.
    pub localsplusnames: Ref,
    /// `co_localspluskinds`: a bytes object.
    pub localspluskinds: Ref,
    /// `co_filename`: a str.
    pub filename: Ref,
    /// `co_name`: a str.
    pub name: Ref,
    /// `co_qualname`: a str.
    pub qualname: Ref,
    /// `co_firstlineno`.
    pub firstlineno: i32,
    /// `co_linetable`: a bytes object.
    pub linetable: Ref,
    /// `co_exceptiontable`: a bytes object.
    pub exceptiontable: Ref,
}

impl Object {
    /// A new shared reference to this object.
    pub fn into_ref(self) -> Ref {
        Arc::new(self)
    }

    /// An `int` object.
    pub fn int(value: impl Into<BigInt>) -> Self {
        Object::Int(value.into())
    }

    /// A `str` object of Rust text.
    pub fn str(text: &str, interned: bool) -> Self {
        Object::Str(PyStr::new(text, interned))
    }

    /// The Python type name, as `type(x).__name__` says it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Object::None => "NoneType",
            Object::StopIteration => "type",
            Object::Ellipsis => "ellipsis",
            Object::False | Object::True => "bool",
            Object::Int(_) => "int",
            Object::Float(_) => "float",
            Object::Complex { .. } => "complex",
            Object::Bytes(_) => "bytes",
            Object::Str(_) => "str",
            Object::Tuple(_) => "tuple",
            Object::List(_) => "list",
            Object::Dict(_) => "dict",
            Object::Set(_) => "set",
            Object::FrozenSet(_) => "frozenset",
            Object::Slice { .. } => "slice",
            Object::Code(_) => "code",
        }
    }
}
