//! Value equality, and the first difference between two graphs.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use crate::object::{Code, Object, PyStr, Ref};
use crate::repr::repr_limited;

/// Reprs in a [`Difference`] are cut after this many characters.
const REPR_LIMIT: usize = 400;

impl PartialEq for Object {
    /// Value equality as a code-object comparison needs it: floats by bit
    /// pattern (`-0.0 != 0.0`, equal NaNs equal), int/float/bool never equal
    /// to one another, sets and dicts whatever their order, code objects
    /// field by field (every field, `co_filename` and `co_qualname`
    /// included), the `interned` flag and `Arc` identity ignored.
    fn eq(&self, other: &Self) -> bool {
        Comparer::default().objects(self, other)
    }
}

impl PartialEq for PyStr {
    /// Same code points; the `interned` flag is not part of the value.
    fn eq(&self, other: &Self) -> bool {
        self.utf8 == other.utf8
    }
}

impl Eq for PyStr {}

impl PartialEq for Code {
    /// Every field equal, as for [`Object`].
    fn eq(&self, other: &Self) -> bool {
        Comparer::default().codes(self, other)
    }
}

/// Where two graphs first differ, from [`first_difference`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The path from the root, with CPython's field names:
    /// `co_consts[3].co_qualname`; empty for the roots themselves.
    pub path: String,
    /// `repr()` of the left value there (cut after a few hundred characters).
    pub left: String,
    /// `repr()` of the right value there.
    pub right: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "<root>"
        } else {
            &self.path
        };
        write!(f, "{path}: {} != {}", self.left, self.right)
    }
}

/// The first place, in marshal's order, where `a` and `b` are not equal
/// (see `PartialEq for Object`), or `None` when they are equal.
///
/// ```
/// use pymarshal::{Object, first_difference};
/// let a = Object::Tuple(vec![Object::int(1).into_ref(), Object::Float(0.0).into_ref()]);
/// let b = Object::Tuple(vec![Object::int(1).into_ref(), Object::Float(-0.0).into_ref()]);
/// let diff = first_difference(&a, &b).unwrap();
/// assert_eq!(diff.to_string(), "[1]: 0.0 != -0.0");
/// assert_eq!(first_difference(&a, &a.clone()), None);
/// ```
pub fn first_difference(a: &Object, b: &Object) -> Option<Difference> {
    let mut comparer = Comparer::default();
    let mut path = String::new();
    comparer.difference(a, b, &mut path)
}

/// The fields of a code object in marshal's order, by their `co_*` names,
/// as objects (the integers made into ints).
pub(crate) fn code_fields(code: &Code) -> [(&'static str, Field); 16] {
    let int = Field::Int;
    let obj = |o: &Ref| Field::Obj(o.clone());
    [
        ("co_argcount", int(code.argcount)),
        ("co_posonlyargcount", int(code.posonlyargcount)),
        ("co_kwonlyargcount", int(code.kwonlyargcount)),
        ("co_stacksize", int(code.stacksize)),
        ("co_flags", int(code.flags)),
        ("co_code", obj(&code.code)),
        ("co_consts", obj(&code.consts)),
        ("co_names", obj(&code.names)),
        ("co_localsplusnames", obj(&code.localsplusnames)),
        ("co_localspluskinds", obj(&code.localspluskinds)),
        ("co_filename", obj(&code.filename)),
        ("co_name", obj(&code.name)),
        ("co_qualname", obj(&code.qualname)),
        ("co_firstlineno", int(code.firstlineno)),
        ("co_linetable", obj(&code.linetable)),
        ("co_exceptiontable", obj(&code.exceptiontable)),
    ]
}

/// One field of a code object.
pub(crate) enum Field {
    Int(i32),
    Obj(Ref),
}

impl fmt::Debug for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Int(v) => write!(f, "{v}"),
            Field::Obj(o) => write!(f, "{o}"),
        }
    }
}

/// Remembers the pairs of objects already found equal, so that graphs
/// sharing subobjects (which `TYPE_REF` makes cheap to build) compare in
/// time linear in their size, not in the size of their unfolded trees.
#[derive(Default)]
struct Comparer {
    equal: HashSet<(*const Object, *const Object)>,
}

impl Comparer {
    fn refs(&mut self, a: &Ref, b: &Ref) -> bool {
        if Arc::ptr_eq(a, b) {
            return true;
        }
        let pair = (Arc::as_ptr(a), Arc::as_ptr(b));
        if self.equal.contains(&pair) {
            return true;
        }
        let equal = self.objects(a, b);
        if equal {
            self.equal.insert(pair);
        }
        equal
    }

    fn objects(&mut self, a: &Object, b: &Object) -> bool {
        match (a, b) {
            (Object::None, Object::None)
            | (Object::StopIteration, Object::StopIteration)
            | (Object::Ellipsis, Object::Ellipsis)
            | (Object::False, Object::False)
            | (Object::True, Object::True) => true,
            (Object::Int(x), Object::Int(y)) => x == y,
            (Object::Float(x), Object::Float(y)) => x.to_bits() == y.to_bits(),
            (Object::Complex { real: r1, imag: i1 }, Object::Complex { real: r2, imag: i2 }) => {
                r1.to_bits() == r2.to_bits() && i1.to_bits() == i2.to_bits()
            }
            (Object::Bytes(x), Object::Bytes(y)) => x == y,
            (Object::Str(x), Object::Str(y)) => x == y,
            (Object::Tuple(x), Object::Tuple(y)) | (Object::List(x), Object::List(y)) => {
                self.sequences(x, y)
            }
            (Object::Set(x), Object::Set(y)) | (Object::FrozenSet(x), Object::FrozenSet(y)) => {
                self.unordered(x, y, |c, p, q| c.refs(p, q))
            }
            (Object::Dict(x), Object::Dict(y)) => self.unordered(x, y, |c, (k1, v1), (k2, v2)| {
                c.refs(k1, k2) && c.refs(v1, v2)
            }),
            (
                Object::Slice {
                    start: a1,
                    stop: b1,
                    step: c1,
                },
                Object::Slice {
                    start: a2,
                    stop: b2,
                    step: c2,
                },
            ) => self.refs(a1, a2) && self.refs(b1, b2) && self.refs(c1, c2),
            (Object::Code(x), Object::Code(y)) => self.codes(x, y),
            _ => false,
        }
    }

    fn sequences(&mut self, x: &[Ref], y: &[Ref]) -> bool {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| self.refs(p, q))
    }

    /// Equal as multisets: in order first (the common case), else by
    /// matching each element of `x` with an unused equal one of `y`.
    fn unordered<T>(&mut self, x: &[T], y: &[T], eq: impl Fn(&mut Self, &T, &T) -> bool) -> bool {
        if x.len() != y.len() {
            return false;
        }
        if x.iter().zip(y).all(|(p, q)| eq(self, p, q)) {
            return true;
        }
        let mut used = vec![false; y.len()];
        x.iter().all(|p| {
            let found = (0..y.len()).find(|&j| !used[j] && eq(self, p, &y[j]));
            found.inspect(|&j| used[j] = true).is_some()
        })
    }

    fn codes(&mut self, x: &Code, y: &Code) -> bool {
        code_fields(x)
            .into_iter()
            .zip(code_fields(y))
            .all(|((_, p), (_, q))| match (p, q) {
                (Field::Int(p), Field::Int(q)) => p == q,
                (Field::Obj(p), Field::Obj(q)) => self.refs(&p, &q),
                _ => false,
            })
    }

    /// The first difference under `path`, which it extends while descending
    /// and restores on the way out.
    fn difference(&mut self, a: &Object, b: &Object, path: &mut String) -> Option<Difference> {
        if self.objects(a, b) {
            return None;
        }
        let found = match (a, b) {
            (Object::Tuple(x), Object::Tuple(y)) | (Object::List(x), Object::List(y)) => {
                self.first_in_sequence(x, y, path)
            }
            (
                Object::Slice {
                    start: a1,
                    stop: b1,
                    step: c1,
                },
                Object::Slice {
                    start: a2,
                    stop: b2,
                    step: c2,
                },
            ) => [("start", a1, a2), ("stop", b1, b2), ("step", c1, c2)]
                .into_iter()
                .find_map(|(name, p, q)| self.descend(path, &format!(".{name}"), p, q)),
            (Object::Code(x), Object::Code(y)) => self.first_in_code(x, y, path),
            _ => None,
        };
        Some(found.unwrap_or_else(|| Difference {
            path: path.clone(),
            left: repr_limited(a, REPR_LIMIT),
            right: repr_limited(b, REPR_LIMIT),
        }))
    }

    fn first_in_sequence(&mut self, x: &[Ref], y: &[Ref], path: &mut String) -> Option<Difference> {
        x.iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| self.descend(path, &format!("[{i}]"), p, q))
    }

    fn first_in_code(&mut self, x: &Code, y: &Code, path: &mut String) -> Option<Difference> {
        let dot = if path.is_empty() { "" } else { "." };
        code_fields(x)
            .into_iter()
            .zip(code_fields(y))
            .find_map(|((name, p), (_, q))| {
                let segment = format!("{dot}{name}");
                match (p, q) {
                    (Field::Int(p), Field::Int(q)) if p != q => Some(Difference {
                        path: format!("{path}{segment}"),
                        left: p.to_string(),
                        right: q.to_string(),
                    }),
                    (Field::Obj(p), Field::Obj(q)) => self.descend(path, &segment, &p, &q),
                    _ => None,
                }
            })
    }

    fn descend(
        &mut self,
        path: &mut String,
        segment: &str,
        p: &Ref,
        q: &Ref,
    ) -> Option<Difference> {
        if self.refs(p, q) {
            return None;
        }
        let len = path.len();
        let segment = if len == 0 {
            segment.trim_start_matches('.')
        } else {
            segment
        };
        path.push_str(segment);
        let found = self.difference(p, q, path);
        path.truncate(len);
        found
    }
}
