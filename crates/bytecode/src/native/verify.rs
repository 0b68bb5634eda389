//! Checks on the compiled bytecode for instruction sequences that
//! rustpython-codegen emits and CPython 3.14's optimizer never leaves, in
//! places where the rule that would remove them cannot be applied from
//! outside the compiler. A code object that holds one is compiled by
//! CPython instead.

use pymarshal::Object;

/// What the bytecode holds that CPython would not have emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unfolded {
    /// `BUILD_LIST 0`, constants appended one by one, then `GET_ITER`:
    /// iterating a literal of more than 30 constants, which CPython folds
    /// into one constant tuple.
    IteratedConstantList,
}

impl Unfolded {
    /// A short description, for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Unfolded::IteratedConstantList => "iterated constant list left unfolded",
        }
    }
}

/// CPython 3.14's opcode numbers (`dis.opmap`) for the instructions
/// the checks read.
mod opcode {
    pub const CACHE: u8 = 0;
    pub const GET_ITER: u8 = 16;
    pub const BUILD_LIST: u8 = 46;
    pub const EXTENDED_ARG: u8 = 69;
    pub const LIST_APPEND: u8 = 78;
    pub const LOAD_CONST: u8 = 82;
    pub const LOAD_SMALL_INT: u8 = 94;
}

/// Checks the code objects in `object` (a converted module: its
/// `co_code` is the bytes the pyc will hold).
pub fn check(object: &Object) -> Result<(), Unfolded> {
    match object {
        Object::Code(code) => {
            if let Object::Bytes(co_code) = &*code.code
                && has_iterated_constant_list(&instructions(co_code))
            {
                return Err(Unfolded::IteratedConstantList);
            }
            check(&code.consts)
        }
        Object::Tuple(items) => items.iter().try_for_each(|item| check(item)),
        _ => Ok(()),
    }
}

/// `(opcode, argument)` pairs of `co_code`, without caches; an
/// `EXTENDED_ARG` prefix is folded into the argument it extends.
fn instructions(co_code: &[u8]) -> Vec<(u8, u32)> {
    let mut out = Vec::with_capacity(co_code.len() / 2);
    let mut extended = 0u32;
    for unit in co_code.chunks_exact(2) {
        let (op, arg) = (unit[0], u32::from(unit[1]));
        match op {
            opcode::CACHE => {}
            opcode::EXTENDED_ARG => extended = (extended | arg) << 8,
            _ => {
                out.push((op, extended | arg));
                extended = 0;
            }
        }
    }
    out
}

fn has_iterated_constant_list(instructions: &[(u8, u32)]) -> bool {
    instructions.iter().enumerate().any(|(start, &(op, arg))| {
        if op != opcode::BUILD_LIST || arg != 0 {
            return false;
        }
        let rest = &instructions[start + 1..];
        let pairs = rest
            .chunks_exact(2)
            .take_while(|pair| {
                matches!(pair[0].0, opcode::LOAD_CONST | opcode::LOAD_SMALL_INT)
                    && pair[1] == (opcode::LIST_APPEND, 1)
            })
            .count();
        pairs > 0
            && rest
                .get(2 * pairs)
                .is_some_and(|&(op, _)| op == opcode::GET_ITER)
    })
}
