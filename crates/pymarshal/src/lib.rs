//! CPython 3.14's marshal format, version 5.
#![forbid(unsafe_code)]

mod eq;
mod object;
mod read;
mod repr;
mod types;
mod write;

pub use eq::{Difference, first_difference};
pub use object::{Code, Object, PyStr, Ref};
pub use read::{ErrorKind, ReadError, read};
pub use types::MAX_DEPTH;
pub use write::{WriteError, try_write, write};
