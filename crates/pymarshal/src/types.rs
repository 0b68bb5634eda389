//! The type codes of marshal version 5 (`Python/marshal.c`).

pub(crate) const NULL: u8 = b'0';
pub(crate) const NONE: u8 = b'N';
pub(crate) const FALSE: u8 = b'F';
pub(crate) const TRUE: u8 = b'T';
pub(crate) const STOPITER: u8 = b'S';
pub(crate) const ELLIPSIS: u8 = b'.';
pub(crate) const INT: u8 = b'i';
/// Read only: no CPython 3 writes it.
pub(crate) const INT64: u8 = b'I';
/// Read only: version 0's text float.
pub(crate) const FLOAT: u8 = b'f';
pub(crate) const BINARY_FLOAT: u8 = b'g';
/// Read only: version 0's text complex.
pub(crate) const COMPLEX: u8 = b'x';
pub(crate) const BINARY_COMPLEX: u8 = b'y';
pub(crate) const LONG: u8 = b'l';
pub(crate) const STRING: u8 = b's';
pub(crate) const INTERNED: u8 = b't';
pub(crate) const REF: u8 = b'r';
pub(crate) const TUPLE: u8 = b'(';
pub(crate) const LIST: u8 = b'[';
pub(crate) const DICT: u8 = b'{';
pub(crate) const CODE: u8 = b'c';
pub(crate) const UNICODE: u8 = b'u';
pub(crate) const SET: u8 = b'<';
pub(crate) const FROZENSET: u8 = b'>';
pub(crate) const SLICE: u8 = b':';
pub(crate) const ASCII: u8 = b'a';
pub(crate) const ASCII_INTERNED: u8 = b'A';
pub(crate) const SMALL_TUPLE: u8 = b')';
pub(crate) const SHORT_ASCII: u8 = b'z';
pub(crate) const SHORT_ASCII_INTERNED: u8 = b'Z';

/// Set on a type code: the object gets the next reference index.
pub(crate) const FLAG_REF: u8 = 0x80;

/// CPython's `MAX_MARSHAL_STACK_DEPTH` on Linux and macOS: nesting deeper
/// than this is refused by both `dumps` and `loads`.
pub const MAX_DEPTH: usize = 2000;

/// Marshal counts big-int digits in base 2**15.
pub(crate) const LONG_SHIFT: u32 = 15;
