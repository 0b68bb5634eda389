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
use pymarshal::{Code, Object, PyStr, Ref};
use rustpython_compiler_core::bytecode::{CodeFlags, CodeObject, ConstantData};

/// Converts `module` (compiled with `filename` as its file name, given
/// as the code points of the Python `str`).
pub fn module(module: &CodeObject, filename: &[u32]) -> Ref {
    let filename = Object::Str(
        PyStr::from_code_points(filename.iter().copied(), true)
            .expect("file names are valid code points"),
    )
    .into_ref();
    let mut class_qualnames = HashSet::new();
    collect_class_qualnames(module, true, &mut class_qualnames);
    let mut converter = Converter {
        filename,
        class_qualnames,
        cache: HashMap::new(),
    };
    converter.code(module)
}

/// `_PyCode_ConstantKey`: equal keys are merged into one object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    None,
    Ellipsis,
    Bool(bool),
    Int(BigInt),
    Float(u64),
    Complex(u64, u64),
    Str(Vec<u32>),
    Bytes(Vec<u8>),
    Tuple(Vec<Key>),
    /// Sorted, as a set's elements have no order.
    FrozenSet(Vec<Key>),
    Slice(Box<[Key; 3]>),
    /// Code objects are never equal to one another here.
    Code(usize),
}

struct Converter {
    filename: Ref,
    /// The `__qualname__` constants of class bodies (see [`module`]).
    class_qualnames: HashSet<String>,
    /// The module's constant cache.
    cache: HashMap<Key, Ref>,
}

impl Converter {
    fn code(&mut self, code: &CodeObject) -> Ref {
        let (consts_key, consts): (Vec<Key>, Vec<Ref>) =
            code.constants.iter().map(|constant| self.constant(constant)).unzip();
        let exceptiontable = self.bytes(&code.exceptiontable);
        let linetable = self.bytes(&code.linetable);
        let consts = self.merged(Key::Tuple(consts_key), || Object::Tuple(consts));
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
            firstlineno: code.first_line_number.map_or(0, |line| as_i32(line.get() as u32)),
            linetable,
            exceptiontable,
        }))
        .into_ref()
    }

    /// A line or exception table: bytes, through the constant cache
    /// (`assemble_emit` merges both).
    fn bytes(&mut self, bytes: &[u8]) -> Ref {
        self.merged(Key::Bytes(bytes.to_vec()), || Object::Bytes(bytes.to_vec()))
    }

    /// A tuple of names (interned strs), through the constant cache.
    fn name_tuple<'n>(&mut self, names: impl Iterator<Item = &'n str>) -> Ref {
        let (keys, items): (Vec<Key>, Vec<Ref>) = names
            .map(|name| (Key::Str(name.chars().map(u32::from).collect()), interned(name)))
            .unzip();
        self.merged(Key::Tuple(keys), || Object::Tuple(items))
    }

    /// The cached object for `key`, made by `make` the first time.
    fn merged(&mut self, key: Key, make: impl FnOnce() -> Object) -> Ref {
        self.cache.entry(key).or_insert_with(|| make().into_ref()).clone()
    }

    /// One constant and its key, merged.
    fn constant(&mut self, constant: &ConstantData) -> (Key, Ref) {
        match constant {
            ConstantData::Code { code } => {
                let object = self.code(code);
                (Key::Code(std::sync::Arc::as_ptr(&object) as usize), object)
            }
            ConstantData::Tuple { elements } => {
                let (keys, items): (Vec<Key>, Vec<Ref>) =
                    elements.iter().map(|element| self.constant(element)).unzip();
                let key = Key::Tuple(keys);
                (key.clone(), self.merged(key, || Object::Tuple(items)))
            }
            ConstantData::Frozenset { elements } => {
                let (keys, items): (Vec<Key>, Vec<Ref>) =
                    elements.iter().map(|element| self.constant(element)).unzip();
                let mut sorted = keys;
                sorted.sort();
                let key = Key::FrozenSet(sorted);
                (key.clone(), self.merged(key, || Object::FrozenSet(items)))
            }
            ConstantData::Str { value } => {
                let points: Vec<u32> = value.code_points().map(|point| point.to_u32()).collect();
                let interned = interns(&points) || self.class_qualnames.contains(&value.to_string());
                let text = PyStr::from_code_points(points.iter().copied(), interned)
                    .expect("code points of a str");
                let key = Key::Str(points);
                (key.clone(), self.merged(key, || Object::Str(text)))
            }
            ConstantData::Slice { elements } => {
                // The slice is merged, its items are not: `codegen_slice`
                // builds it from the syntax tree's own constant objects.
                let [start, stop, step] = &**elements;
                let (start_key, start) = fresh_constant(start);
                let (stop_key, stop) = fresh_constant(stop);
                let (step_key, step) = fresh_constant(step);
                let key = Key::Slice(Box::new([start_key, stop_key, step_key]));
                (key.clone(), self.merged(key, || Object::Slice { start, stop, step }))
            }
            scalar => {
                let (key, object) = scalar_constant(scalar);
                (key.clone(), self.merged(key, || object))
            }
        }
    }
}

/// A constant item of a slice: its own object, not merged.
fn fresh_constant(constant: &ConstantData) -> (Key, Ref) {
    let (key, object) = scalar_constant(constant);
    (key, object.into_ref())
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
            let points: Vec<u32> = value.code_points().map(|point| point.to_u32()).collect();
            let text = PyStr::from_code_points(points.iter().copied(), interns(&points))
                .expect("code points of a str");
            (Key::Str(points), Object::Str(text))
        }
        ConstantData::Bytes { value } => (Key::Bytes(value.clone()), Object::Bytes(value.clone())),
        ConstantData::Code { .. }
        | ConstantData::Tuple { .. }
        | ConstantData::Frozenset { .. }
        | ConstantData::Slice { .. } => unreachable!("containers are converted by Converter"),
    }
}

/// Whether CPython interns a str constant with these code points:
/// `should_intern_string` (only `[A-Za-z0-9_]`), or an interned singleton.
fn interns(points: &[u32]) -> bool {
    let name_like = points
        .iter()
        .all(|&p| p < 128 && (char::from(p as u8).is_ascii_alphanumeric() || p == u32::from(b'_')));
    name_like || (points.len() == 1 && points[0] < 0x100)
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

/// The qualnames of the class bodies in `code` (a module when `root`).
/// A class body stores its `__qualname__` from a constant that is the
/// very object `co_qualname` is, which the code object's constructor
/// interns: so that constant, and every equal constant the cache merged
/// with it, is interned even when it is not name-like (`A.B`).
fn collect_class_qualnames(code: &CodeObject, root: bool, names: &mut HashSet<String>) {
    if !root && !code.flags.contains(CodeFlags::NEWLOCALS) {
        names.insert(code.qualname.clone());
    }
    for constant in code.constants.iter() {
        if let ConstantData::Code { code } = constant {
            collect_class_qualnames(code, false, names);
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
