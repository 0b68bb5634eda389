"""Prints source snippets taken from CPython's own test suite, for the
native backend's differential test (tests/native_vs_cpython.rs).

Every string literal of the listed test modules is a candidate source (most
are not valid Python, which is the point: CPython refuses them, and the
native backend must too), plus the `>>>` examples of their doctests.
Output: one hex-encoded UTF-8 (surrogatepass) snippet per line, deduplicated,
in a stable order.

Usage: python3.14 snippets.py TEST_DIR
"""

import ast
import os
import sys

MODULES = [
    "test_syntax.py", "test_grammar.py", "test_exceptions.py", "test_fstring.py",
    "test_tstring.py", "test_string_literals.py", "test_patma.py",
    "test_positional_only_arg.py", "test_type_params.py", "test_compile.py",
    "test_ast/test_ast.py", "test_unparse.py", "test_tokenize.py", "test_eof.py",
    "test_flufl.py", "test_global.py", "test_named_expressions.py",
    "test_keywordonlyarg.py", "test_unpack_ex.py", "test_genexps.py",
    "test_coroutines.py", "test_asyncgen.py", "test_scope.py",
    "test_annotationlib.py", "test_type_annotations.py", "test_peepholer.py",
    "test_compiler_codegen.py", "test_opcodes.py", "test_with.py",
    "test_future_stmt/test_future.py", "test_utf8source.py", "test_source_encoding.py",
    "test_unicode_identifiers.py", "test_dictcomps.py", "test_setcomps.py",
    "test_listcomps.py", "test_exception_group.py", "test_except_star.py",
    "test_raise.py", "test_generators.py", "test_dis.py", "test_sys_settrace.py",
]
MAX_LENGTH = 20_000


def doctest_examples(text):
    """The `>>>` examples of a docstring, continuation lines included."""
    examples, current = [], None
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(">>> "):
            if current is not None:
                examples.append("\n".join(current) + "\n")
            current = [stripped[4:]]
        elif stripped.startswith("... ") and current is not None:
            current.append(stripped[4:])
        elif stripped == "..." and current is not None:
            current.append("")
        elif current is not None:
            examples.append("\n".join(current) + "\n")
            current = None
    if current is not None:
        examples.append("\n".join(current) + "\n")
    return examples


def snippets(path):
    with open(path, "rb") as file:
        tree = ast.parse(file.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            value = node.value
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            if 0 < len(value) <= MAX_LENGTH:
                yield value
                if ">>> " in value:
                    yield from doctest_examples(value)


def main():
    test_dir = sys.argv[1]
    seen = set()
    for module in MODULES:
        path = os.path.join(test_dir, module)
        if not os.path.exists(path):
            continue
        for snippet in snippets(path):
            if snippet not in seen:
                seen.add(snippet)
                sys.stdout.write(snippet.encode("utf-8", "surrogatepass").hex() + "\n")


main()
