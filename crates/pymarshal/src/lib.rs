//! CPython 3.14's marshal format (version 5): the body of a `.pyc`.
//!
//! A pyc is a 16-byte header followed by `marshal.dumps(code)`. This crate
//! holds that body as a Rust object model ([`Object`], [`Code`], [`PyStr`]),
//! writes it with exactly the bytes CPython 3.14 writes ([`write()`]), and
//! reads it back ([`read()`], `marshal.loads`) from any input without
//! panicking.
//!
//! The hard part of the writer is not the encoding but the reference flags.
//! CPython's `w_ref` sets `FLAG_REF` on an object (and writes a later
//! occurrence as `TYPE_REF <index>`) when the object's reference count is
//! not 1 at `dumps` time, or when it is an interned str. Reference counts
//! are not in the model; the writer derives them from the graph, with the
//! rules below, so a compiler can build the graph with plain `Arc`s and get
//! CPython's bytes.
//!
//! ```
//! use pymarshal::{Code, Object, PyStr, Ref};
//!
//! // The module `x = 1`, built with a fresh Arc for every field.
//! let bytes = |b: &[u8]| Object::Bytes(b.to_vec()).into_ref();
//! let name = |s: &str| Object::Str(PyStr::new(s, true)).into_ref();
//! let tuple = |items: Vec<Ref>| Object::Tuple(items).into_ref();
//! let code = Code {
//!     argcount: 0, posonlyargcount: 0, kwonlyargcount: 0, stacksize: 1, flags: 0,
//!     code: bytes(b"\x80\x00^\x01t\x00R\x01#\x00"),
//!     consts: tuple(vec![Object::int(1).into_ref(), Object::None.into_ref()]),
//!     names: tuple(vec![name("x")]),
//!     localsplusnames: tuple(vec![]),
//!     localspluskinds: bytes(b""),
//!     filename: name("e.py"),
//!     name: name("<module>"),
//!     qualname: name("<module>"),
//!     firstlineno: 1,
//!     linetable: bytes(b"\xf0\x03\x01\x01\x01\xd8\x04\x05\x82\x01"),
//!     exceptiontable: bytes(b""),
//! };
//! let root = Object::Code(Box::new(code)).into_ref();
//! let written = pymarshal::write(&root);
//!
//! // What CPython 3.14's py_compile wrote for e.py, after the header.
//! let cpython: &[u8] = b"\xe3\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\
//!     \x00\x00\x00\x00\x00\xf3\n\x00\x00\x00\x80\x00^\x01t\x00R\x01#\x00)\x02\xe9\x01\x00\
//!     \x00\x00N)\x01\xda\x01x\xa9\x00\xf3\x00\x00\x00\x00\xda\x04e.py\xda\x08<module>r\x07\
//!     \x00\x00\x00\x01\x00\x00\x00s\n\x00\x00\x00\xf0\x03\x01\x01\x01\xd8\x04\x05\x82\x01r\
//!     \x05\x00\x00\x00";
//! assert_eq!(written, cpython);
//!
//! // Reading gives the same value back, and identity where CPython wrote
//! // TYPE_REF: co_qualname is the very object co_name is.
//! let read = pymarshal::read(cpython).unwrap();
//! assert_eq!(read, root);
//! let Object::Code(code) = &*read else { unreachable!() };
//! assert!(Ref::ptr_eq(&code.name, &code.qualname));
//! ```
//!
//! # What decides FLAG_REF
//!
//! Established from `Python/marshal.c`, `Objects/codeobject.c` and
//! experiments with CPython 3.14.10:
//!
//! - **Immortal objects are one object per value.** Their reference count
//!   is never 1, so they are always flagged, and every later occurrence of
//!   an equal value is a `TYPE_REF`, whatever `Arc`s hold them: the small
//!   ints `-5..=256`, `()`, `b''`, the 1-byte bytes *constants*, and every
//!   interned str (all equal interned strs are one object). `frozenset()` is
//!   not a singleton in 3.14 (written unflagged); neither are floats,
//!   complexes or other ints.
//! - **`PyStr::interned` is authoritative.** `''` and the 1-code-point strs
//!   below U+0100 are immortal interned singletons when made by the usual
//!   APIs, so a compiler should mark them interned; but CPython's compiler
//!   can make a non-singleton: rewriting `'%s%%%s' % (a, b)` into an
//!   f-string yields a fresh, non-interned `'%'` for the `%%`, and the
//!   module-wide constant cache then merges later `'%'` literals into that
//!   object (`ipaddress.py`). The writer writes what the flag says.
//! - **The root is flagged**: py_compile's frames hold the code object they
//!   pass to `marshal.dumps`, so its count is at least 2 (pycs start with
//!   `0xe3`).
//! - **`co_code` belongs to its code object and is always flagged.**
//!   `w_object` writes what `_PyCode_GetCode` returns: a new reference to
//!   bytes made once per code object and cached there. So two code objects
//!   with equal bytecode each write their own copy, even when the graph
//!   shares one `Arc` (as a compiler whose constant cache merges the
//!   assembled bytecode, as CPython's does, would build it).
//! - **`co_filename`, `co_name`, `co_qualname`** are interned by the code
//!   constructor (`init_code`), and the items of `co_names` and
//!   `co_localsplusnames` by `intern_strings`: build them with
//!   `interned: true`; then equal ones are one object by rule.
//! - **`co_localspluskinds`** is built in place for each code object and
//!   never merged: even at 1 byte it is not the immortal singleton, so it is
//!   flagged only if its `Arc` is shared. **`co_linetable` and
//!   `co_exceptiontable`** go through the constant cache (`assemble_emit`):
//!   equal ones are one object (share the `Arc`); a 1-byte one is treated as
//!   the singleton only when its `Arc` is also used as a constant (the cache
//!   merged them). The standard library has no linetable or exception table
//!   shorter than 2 bytes, so that last rule is read from the source, not
//!   observed.
//! - **Set and frozenset elements are always flagged**, and written in the
//!   order of `sorted(items, key=marshal.dumps)`: CPython dumps each element
//!   on its own (while holding an extra reference to it) and keeps the
//!   sorted `(dump, element)` pairs alive while writing them. The model's
//!   element order does not matter.
//! - **Everything else is its `Arc`**: flagged when two or more edges of the
//!   graph (items of containers, fields of code objects) lead to it. CPython
//!   shares objects the same way: its compiler's constant cache
//!   (`_PyCode_ConstantKey`: type and value, recursively into tuples and
//!   frozensets, `0.0` apart from `-0.0`) makes equal constants one object
//!   across the whole module, and also merges each code object's
//!   `co_consts`, `co_names`, `co_localsplusnames`, `co_linetable` and
//!   `co_exceptiontable`. The first object entered wins, with its interned
//!   flag (the `'%'` above). A compiler building the graph must share one
//!   `Arc` wherever that cache would.
//!
//! Reference indices are handed out in pre-order (an object before its
//! children), in the order `w_ref` flags them.
//!
//! Evidence: `tests/cpython_stdlib.rs` compiles every `.py` of CPython
//! 3.14's standard library and its test suite with `python3.14 -m
//! compileall -j 1` (optimization levels 0, 1 and 2) and checks that
//! `write(read(body))` is the body, byte for byte, for every pyc; and again
//! after giving every immortal object its own `Arc`, and after making equal
//! bytecode one `Arc` (so the rules above, not the reader's sharing,
//! produce the bytes). Run it with
//! `CARGO_TARGET_DIR=/work/target-marshal cargo t -p pymarshal --test cpython_stdlib -- --nocapture`.
//! On CPython 3.14.10 (1707 sources, 1702 of which it compiles; the other
//! 5 are bad-syntax and bad-encoding test data, skipped and counted): all
//! 5106 pycs identical, all three ways, no exceptions (20-30 s in a debug
//! build, most of it CPython compiling). `tests/fixtures.rs` checks hand-built
//! graphs against bytes recorded from CPython (`tests/fixtures/record.py`),
//! without an interpreter. To check other pycs of CPython 3.14:
//! `cargo r -p pymarshal --example roundtrip -- PYC...`.
//!
//! # The reader
//!
//! [`read()`] follows `r_object` case by case, with CPython's exception
//! types and messages ([`ReadError`]): `FLAG_REF`/`TYPE_REF` give back one
//! shared `Arc`; code objects pass `_PyCode_Validate`'s checks and get
//! `co_stacksize` 0 raised to 1 as `init_code` does; `TYPE_ASCII*` bytes
//! are latin-1; set elements and dict keys must be hashable. It keeps its
//! own stack instead of recursing, refuses nesting deeper than
//! [`MAX_DEPTH`] as CPython does, checks every length against the input
//! left before allocating, and never panics (`tests/fuzz.rs`).
//!
//! # Limits
//!
//! - Only what code objects hold: no `TYPE_UNKNOWN` types (CPython's
//!   writer would raise), only version 5 output (the reader also accepts
//!   the legacy `TYPE_INT64`, `TYPE_FLOAT` and `TYPE_COMPLEX`).
//! - A 1-byte bytes constant that is not the singleton cannot be expressed:
//!   the writer flags every 1-byte bytes constant (CPython's compiler makes
//!   none that reach a pyc of the standard library).
//! - [`write()`] panics where `marshal.dumps` raises: nesting deeper than
//!   [`MAX_DEPTH`] or sizes above `i32::MAX` ([`try_write`] returns the
//!   error).
//! - Where the reader differs from `marshal.loads`, on input CPython never
//!   writes: a `TYPE_REF` to a tuple, list, dict or set still being read is
//!   an error (CPython builds a cycle, which `Arc`s cannot hold); a
//!   `TYPE_REF` that would nest an object deeper than [`MAX_DEPTH`] is an
//!   error (CPython loads it, and could not dump it again); duplicate set
//!   elements and dict keys are kept (no hashing); strs keep the interned
//!   flag they were written with (CPython interns code names again on
//!   load, and returns its singletons for 1-character strs).
//! - Equality, [`first_difference`], `Display` and dropping recurse, one
//!   level per nesting level: fine for anything [`read()`] returns or
//!   CPython can write (at most [`MAX_DEPTH`] deep), not for hand-built
//!   graphs hundreds of thousands deep.
#![forbid(unsafe_code)]

mod eq;
mod object;
mod read;
mod repr;
pub mod retarget;
mod types;
mod write;

pub use eq::{Difference, first_difference};
pub use object::{Code, Object, PyStr, Ref};
pub use read::{ErrorKind, ReadError, read};
pub use types::MAX_DEPTH;
pub use write::{WriteError, try_write, write};
