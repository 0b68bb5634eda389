//! Where rustpython-codegen 0.6.0's code objects differ from CPython
//! 3.14's for the same source, the rule CPython follows, applied after
//! compiling. Each rule was found by comparing the two compilers' code
//! objects field by field (`cargo xtask conformance --backend native`).

use rustpython_compiler_core::bytecode::{CodeFlags, CodeObject, ConstantData};

/// Applies every rule to `module` and the code objects nested in it.
pub fn to_cpython(module: &mut CodeObject) {
    visit(module, "");
}

/// The `__qualname__` prefix CPython gives the functions and classes
/// defined directly in `code`, whose own children get `inherited`
/// (`compiler_set_qualname`): nothing in the module, `C.` in a class,
/// `f.<locals>.` in a function. A `<generic parameters of f>` scope is
/// skipped over: its children are named as the enclosing scope's.
fn children_prefix(code: &CodeObject, inherited: &str) -> String {
    if code.obj_name.starts_with("<generic parameters of ") {
        inherited.to_owned()
    } else if code.flags.contains(CodeFlags::NEWLOCALS) {
        format!("{}.<locals>.", code.qualname)
    } else {
        format!("{}.", code.qualname)
    }
}

/// Walks `code`, a scope whose children would be named with `prefix`.
fn visit(code: &mut CodeObject, prefix: &str) {
    for constant in code.constants.iter_mut() {
        if let ConstantData::Code { code: child } = constant {
            annotate_qualname(prefix, child);
            let child_prefix = children_prefix(child, prefix);
            visit(child, &child_prefix);
        }
    }
}

/// CPython compiles a function's `__annotate__` in the scope that holds
/// the `def`, so its qualname is that scope's child name
/// (`Buffer.__annotate__` for method `Buffer.__buffer__`);
/// rustpython-codegen names it as a child of the function itself.
fn annotate_qualname(prefix: &str, child: &mut CodeObject) {
    if child.obj_name.as_str() == "__annotate__" {
        child.qualname = format!("{prefix}__annotate__");
    }
}
