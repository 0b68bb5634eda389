//! RustPython code objects to a [`pymarshal`] object graph that shares
//! objects exactly where CPython 3.14's compiler does, so that the marshal
//! writer, which flags shared objects, writes CPython's bytes.
//!
//! What CPython shares (`Python/compile.c`, `Python/assemble.c`,
//! `Objects/codeobject.c`):
//!
//! - **Constants, module-wide.** Every constant goes through the
//!   compiler's constant cache, keyed by `_PyCode_ConstantKey` (type and
//!   value; `0.0` and `-0.0` apart, `True` apart from `1`), recursively
//!   for tuples and frozensets: equal constants anywhere in the module are
//!   one object.
//! - **`co_consts`, `co_names`, `co_localsplusnames`, `co_linetable` and
//!   `co_exceptiontable`** go through the same cache when each code object
//!   is made (`assemble_emit`, `makecode`), so equal ones of two code
//!   objects are one object, and one equal to a constant is that constant.
//! - **Strings made of `[A-Za-z0-9_]`** are interned (`intern_constants`),
//!   as are names, the file name, `co_name` and `co_qualname`; `''` and the
//!   one-character strings below U+0100 are interned singletons.
//!
//! Everything else (`co_code`, the kinds of the local variables) is a
//! fresh object per code object.

use std::collections::{HashMap, HashSet};

use num_bigint::BigInt;
use num_traits::FromPrimitive;
use pymarshal::{Code, Object, PyStr, Ref};
use rustpython_compiler_core::bytecode::{CodeFlags, CodeObject, ConstantData};

use super::Compiled;

/// Converts `compiled` (compiled with `filename` as its file name, given
/// as the code points of the Python `str`).
pub fn module(compiled: &Compiled, filename: &[u32]) -> Ref {
    let module = &compiled.code;
    let filename = Object::Str(
        PyStr::from_code_points(filename.iter().copied(), true)
            .expect("file names are valid code points"),
    )
    .into_ref();
    let mut interned_text = HashSet::new();
    collect_interned_text(module, true, &mut interned_text);
    let mut converter = Converter {
        filename,
        interned_text,
        identifiers: &compiled.identifiers,
        cache: HashMap::new(),
    };
    converter.code(module)
}

/// `_PyCode_ConstantKey`: equal keys are merged into one object. The
/// items of containers are the [`KeyId`]s of their items' keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    None,
    Ellipsis,
    Bool(bool),
    Int(BigInt),
    Float(u64),
    Complex(u64, u64),
    /// The code points, encoded as marshal writes them.
    Str(Box<[u8]>),
    Bytes(Box<[u8]>),
    Tuple(Box<[KeyId]>),
    /// Sorted, as a set's elements have no order.
    FrozenSet(Box<[KeyId]>),
    Slice([KeyId; 3]),
    /// Code objects are never equal to one another here.
    Code(usize),
    /// A compiler-made name such as `.0` (a comprehension's iterator):
    /// a static str of CPython's, which never takes an equal constant's
    /// place in the cache.
    HiddenName(Box<[u8]>),
}

/// A key's number in the cache, in the order keys were first seen.
type KeyId = u32;

struct Converter<'c> {
    filename: Ref,
    /// The text of every str some code object's constructor interns in
    /// place (see [`collect_interned_text`]), as UTF-8.
    interned_text: HashSet<Box<[u8]>>,
    /// The source's identifiers, interned by the parser.
    identifiers: &'c HashSet<Box<str>>,
    /// The module's constant cache: each key's number and object.
    cache: HashMap<Key, (KeyId, Ref)>,
}

impl Converter<'_> {
    fn code(&mut self, code: &CodeObject) -> Ref {
        let (consts_key, consts): (Vec<KeyId>, Vec<Ref>) = code
            .constants
            .iter()
            .map(|constant| self.constant(constant))
            .unzip();
        let exceptiontable = self.bytes(&code.exceptiontable);
        let linetable = self.bytes(&code.linetable);
        let key = Key::Tuple(consts_key.into());
        let consts = match self.cache.get(&key) {
            Some((_, consts)) => consts.clone(),
            None => {
                let items = consts
                    .into_iter()
                    .map(|constant| self.reinterned(constant))
                    .collect();
                self.merged(key, || Object::Tuple(items)).1
            }
        };
        let names = self.name_tuple(code.names.iter().map(String::as_str));
        let localsplusnames = if is_annotation_scope(code) {
            // `codegen_leave_annotations_scope` renames the symbol table's
            // `.format` parameter to `format` in a new tuple, after the
            // cache has seen the code object: never merged.
            Object::Tuple(localsplus_names(code).map(interned).collect()).into_ref()
        } else {
            self.name_tuple(localsplus_names(code))
        };
        Object::Code(Box::new(Code {
            argcount: as_i32(code.arg_count),
            posonlyargcount: as_i32(code.posonlyarg_count),
            kwonlyargcount: as_i32(code.kwonlyarg_count),
            stacksize: as_i32(code.max_stackdepth),
            flags: code.flags.bits() as i32,
            code: Object::Bytes(code.instructions.original_bytes()).into_ref(),
            consts,
            names,
            localsplusnames,
            localspluskinds: Object::Bytes(code.localspluskinds.to_vec()).into_ref(),
            filename: self.filename.clone(),
            name: interned(&code.obj_name),
            qualname: interned(&code.qualname),
            firstlineno: code
                .first_line_number
                .map_or(0, |line| as_i32(line.get() as u32)),
            linetable,
            exceptiontable,
        }))
        .into_ref()
    }

    /// A constant as `intern_constants` leaves it in a new `co_consts`: a
    /// frozenset holding a name-like str that the parser or the process had
    /// already interned as another object is rebuilt with that object, so
    /// it is a new frozenset, not the cache's.
    fn reinterned(&self, constant: Ref) -> Ref {
        let Object::FrozenSet(items) = &*constant else {
            return constant;
        };
        let replaced = items.iter().any(|item| match &**item {
            Object::Str(text) => {
                interns(text)
                    && std::str::from_utf8(&text.utf8).is_ok_and(|t| self.identifiers.contains(t))
            }
            _ => false,
        });
        if replaced {
            Object::FrozenSet(items.clone()).into_ref()
        } else {
            constant
        }
    }

    /// A line or exception table: bytes, through the constant cache
    /// (`assemble_emit` merges both).
    fn bytes(&mut self, bytes: &[u8]) -> Ref {
        self.merged(Key::Bytes(bytes.into()), || Object::Bytes(bytes.to_vec()))
            .1
    }

    /// A tuple of names, through the constant cache. Its items are the
    /// parser's interned objects: the cache may hold an equal constant
    /// that is not interned (`'os.path'`), and then `intern_strings` puts
    /// the interned object back in the tuple.
    fn name_tuple<'n>(&mut self, names: impl Iterator<Item = &'n str>) -> Ref {
        let (keys, items): (Vec<KeyId>, Vec<Ref>) = names
            .map(|name| {
                let key = if name.starts_with('.') {
                    Key::HiddenName(name.as_bytes().into())
                } else {
                    Key::Str(name.as_bytes().into())
                };
                let (id, cached) = self.merged(key, || Object::str(name, true));
                let item = match &*cached {
                    Object::Str(text) if text.interned => cached,
                    _ => interned(name),
                };
                (id, item)
            })
            .unzip();
        self.merged(Key::Tuple(keys.into()), || Object::Tuple(items))
            .1
    }

    /// The cached number and object for `key`, the object made by `make`
    /// the first time.
    fn merged(&mut self, key: Key, make: impl FnOnce() -> Object) -> (KeyId, Ref) {
        let next = KeyId::try_from(self.cache.len()).expect("fewer than 2**32 constants");
        let (id, object) = self
            .cache
            .entry(key)
            .or_insert_with(|| (next, make().into_ref()));
        (*id, object.clone())
    }

    /// One constant, merged, with its key's number.
    fn constant(&mut self, constant: &ConstantData) -> (KeyId, Ref) {
        match constant {
            ConstantData::Code { code } => {
                let object = self.code(code);
                let key = Key::Code(std::sync::Arc::as_ptr(&object) as usize);
                let (id, _) = self.merged(key, || Object::None);
                (id, object)
            }
            ConstantData::Tuple { elements } => {
                let (keys, items): (Vec<KeyId>, Vec<Ref>) = elements
                    .iter()
                    .map(|element| self.constant(element))
                    .unzip();
                self.merged(Key::Tuple(keys.into()), || Object::Tuple(items))
            }
            ConstantData::Frozenset { elements } => {
                let (mut keys, items): (Vec<KeyId>, Vec<Ref>) = distinct_set_elements(elements)
                    .map(|element| self.constant(element))
                    .unzip();
                keys.sort_unstable();
                self.merged(Key::FrozenSet(keys.into()), || Object::FrozenSet(items))
            }
            ConstantData::Str { value } => {
                let text = py_str(value);
                let interned = interns(&text) || self.interned_text.contains(&*text.utf8);
                let key = Key::Str(text.utf8.clone());
                self.merged(key, || Object::Str(PyStr { interned, ..text }))
            }
            ConstantData::Slice { elements } => {
                // The slice is merged, its items are not: `codegen_slice`
                // builds it from the syntax tree's own constant objects.
                let [start, stop, step] = &**elements;
                let ids = [start, stop, step].map(|item| self.constant(item).0);
                let [start, stop, step] = [start, stop, step].map(fresh_constant);
                self.merged(Key::Slice(ids), || Object::Slice { start, stop, step })
            }
            scalar => {
                let (key, object) = scalar_constant(scalar);
                self.merged(key, || object)
            }
        }
    }
}

/// The elements of a set display as the set holds them: an element equal
/// (by Python's `==`) to an earlier one is dropped, so `{1, 1.0, True}` is
/// `{1}`. rustpython-codegen keeps all three, being keyed by type.
fn distinct_set_elements(elements: &[ConstantData]) -> impl Iterator<Item = &ConstantData> {
    let mut seen = HashSet::new();
    elements
        .iter()
        .filter(move |element| python_value(element).is_none_or(|value| seen.insert(value)))
}

/// A constant's value as Python's `==` and `hash` see it: numbers equal
/// across `bool`, `int`, `float` and `complex`. `None` for a value equal to
/// nothing else (a NaN, a code object).
#[derive(PartialEq, Eq, PartialOrd, Ord, Hash)]
enum PythonValue {
    None,
    Ellipsis,
    Int(BigInt),
    /// A finite non-integral float, or an infinity, by its bits.
    Float(u64),
    /// A complex with a non-zero imaginary part: real and imaginary bits,
    /// `-0.0` folded into `0.0`.
    Complex(u64, u64),
    Str(Box<[u8]>),
    Bytes(Box<[u8]>),
    Tuple(Vec<PythonValue>),
    FrozenSet(Vec<PythonValue>),
}

fn python_value(constant: &ConstantData) -> Option<PythonValue> {
    Some(match constant {
        ConstantData::None => PythonValue::None,
        ConstantData::Ellipsis => PythonValue::Ellipsis,
        ConstantData::Boolean { value } => PythonValue::Int(BigInt::from(u8::from(*value))),
        ConstantData::Integer { value } => {
            PythonValue::Int(BigInt::from_signed_bytes_le(&value.to_signed_bytes_le()))
        }
        ConstantData::Float { value } => float_value(*value)?,
        ConstantData::Complex { value } if value.im == 0.0 => float_value(value.re)?,
        ConstantData::Complex { value } if value.re.is_nan() || value.im.is_nan() => return None,
        ConstantData::Complex { value } => {
            PythonValue::Complex((value.re + 0.0).to_bits(), (value.im + 0.0).to_bits())
        }
        ConstantData::Str { value } => PythonValue::Str(py_str(value).utf8),
        ConstantData::Bytes { value } => PythonValue::Bytes(value.as_slice().into()),
        ConstantData::Tuple { elements } => {
            PythonValue::Tuple(elements.iter().map(python_value).collect::<Option<_>>()?)
        }
        ConstantData::Frozenset { elements } => {
            let mut values = distinct_set_elements(elements)
                .map(python_value)
                .collect::<Option<Vec<_>>>()?;
            values.sort();
            PythonValue::FrozenSet(values)
        }
        ConstantData::Code { .. } | ConstantData::Slice { .. } => return None,
    })
}

/// A float's value: an integral one equals the int of that value.
fn float_value(value: f64) -> Option<PythonValue> {
    if value.is_nan() {
        None
    } else if value.is_finite() && value.fract() == 0.0 {
        BigInt::from_f64(value).map(PythonValue::Int)
    } else {
        Some(PythonValue::Float(value.to_bits()))
    }
}

/// A constant item of a slice: its own object, not merged.
fn fresh_constant(constant: &ConstantData) -> Ref {
    scalar_constant(constant).1.into_ref()
}

/// A constant that holds no other object.
fn scalar_constant(constant: &ConstantData) -> (Key, Object) {
    match constant {
        ConstantData::None => (Key::None, Object::None),
        ConstantData::Ellipsis => (Key::Ellipsis, Object::Ellipsis),
        ConstantData::Boolean { value: true } => (Key::Bool(true), Object::True),
        ConstantData::Boolean { value: false } => (Key::Bool(false), Object::False),
        ConstantData::Integer { value } => {
            let value = BigInt::from_signed_bytes_le(&value.to_signed_bytes_le());
            (Key::Int(value.clone()), Object::Int(value))
        }
        ConstantData::Float { value } => (Key::Float(value.to_bits()), Object::Float(*value)),
        ConstantData::Complex { value } => (
            Key::Complex(value.re.to_bits(), value.im.to_bits()),
            Object::Complex {
                real: value.re,
                imag: value.im,
            },
        ),
        ConstantData::Str { value } => {
            let text = py_str(value);
            let text = PyStr {
                interned: interns(&text),
                ..text
            };
            (Key::Str(text.utf8.clone()), Object::Str(text))
        }
        ConstantData::Bytes { value } => (
            Key::Bytes(value.as_slice().into()),
            Object::Bytes(value.clone()),
        ),
        ConstantData::Code { .. }
        | ConstantData::Tuple { .. }
        | ConstantData::Frozenset { .. }
        | ConstantData::Slice { .. } => unreachable!("containers are converted by Converter"),
    }
}

/// A str constant as marshal sees it (not yet deciding interning). The
/// code points of a WTF-8 string are written one by one, so a surrogate
/// stays a surrogate, as in CPython's `surrogatepass` encoding.
fn py_str(value: &rustpython_wtf8::Wtf8) -> PyStr {
    match value.as_str() {
        Ok(text) => PyStr::new(text, false),
        Err(_) => PyStr::from_code_points(value.code_points().map(|point| point.to_u32()), false)
            .expect("code points of a str"),
    }
}

/// Whether CPython interns a str constant: `should_intern_string` (only
/// `[A-Za-z0-9_]`), or an interned singleton (`''`, one code point below
/// U+0100).
fn interns(text: &PyStr) -> bool {
    let name_like = text
        .utf8
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'_');
    name_like
        || (text.len_code_points() == 1 && text.code_points().next().is_some_and(|p| p < 0x100))
}

fn interned(text: &str) -> Ref {
    Object::Str(PyStr::new(text, true)).into_ref()
}

/// `co_localsplusnames`: the local variables, then the cells that are not
/// arguments or locals, then the free variables.
fn localsplus_names(code: &CodeObject) -> impl Iterator<Item = &str> {
    let cells = code
        .cellvars
        .iter()
        .filter(|cell| !code.varnames.contains(cell));
    code.varnames
        .iter()
        .chain(cells)
        .chain(code.freevars.iter())
        .map(String::as_str)
}

/// The text of the strs that the code objects' constructors intern in
/// place: the qualnames of class bodies. A class body stores its
/// `__qualname__` from a constant that is the very object `co_qualname`
/// is, which `init_code` interns; the constant cache merged every later
/// equal constant into that object, so they are interned too even when not
/// name-like (`A.B`). Names are not among them: the parser interned its
/// own objects for them first, so `intern_strings` replaces a name with
/// the parser's object and leaves an equal constant (`'os.path'`) alone.
fn collect_interned_text(code: &CodeObject, root: bool, text: &mut HashSet<Box<[u8]>>) {
    if !root && !code.flags.contains(CodeFlags::NEWLOCALS) {
        text.insert(code.qualname.as_bytes().into());
    }
    for constant in code.constants.iter() {
        if let ConstantData::Code { code } = constant {
            collect_interned_text(code, false, text);
        }
    }
}

/// An `__annotate__` function CPython generates for annotations: named so,
/// with its one parameter `format`.
fn is_annotation_scope(code: &CodeObject) -> bool {
    code.obj_name == "__annotate__"
        && code.arg_count == 1
        && code.varnames.first().is_some_and(|name| name == "format")
}

fn as_i32(value: u32) -> i32 {
    i32::try_from(value).expect("code object counts fit in an int")
}
