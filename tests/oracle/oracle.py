"""Answers questions about pyc headers, hashes and paths the way this
interpreter's own importlib, compileall and str do.

Reads one JSON list of queries on stdin and writes one JSON list of answers
(same order) on stdout. Bytes travel as hex strings, because file names and
sources need not be UTF-8. Each answer is {"ok": value} or
{"exc": "ExceptionClass", "msg": str(exception)}.

Used by `cargo xtask fixtures` to record fixtures and by the tests to ask a
live interpreter. Runs on CPython 3.8 and newer.
"""

import compileall
import contextlib
import importlib._bootstrap_external as bootstrap_external
import importlib.util
import io
import json
import os
import pathlib
import py_compile
import sys
import tempfile


def unhex(text):
    return bytes.fromhex(text)


def fs(text):
    """A path given as hex bytes, as the str CPython would see."""
    return os.fsdecode(unhex(text))


def fs_hex(path):
    return os.fsencode(path).hex()


def info(_query):
    return {
        "version": "%d.%d.%d" % sys.version_info[:3],
        "magic": int.from_bytes(importlib.util.MAGIC_NUMBER[:2], "little"),
        "magic_hex": importlib.util.MAGIC_NUMBER.hex(),
        "cache_tag": sys.implementation.cache_tag,
        "optimize_flag": sys.flags.optimize,
    }


def source_hash(query):
    return importlib.util.source_hash(input_bytes(query["data"])).hex()


def input_bytes(spec):
    """Test inputs are given literally ({"hex": ...}) or as a pattern
    repeated to a length ({"pattern_hex": ..., "len": n}) so large inputs
    stay small in the fixture files."""
    if "hex" in spec:
        return unhex(spec["hex"])
    pattern = unhex(spec["pattern_hex"])
    return (pattern * (spec["len"] // len(pattern) + 1))[: spec["len"]]


def pyc_bytes(spec):
    """The interpreter's own magic number (or the given bytes), then rest."""
    magic = importlib.util.MAGIC_NUMBER if spec["magic"] is None else unhex(spec["magic"])
    return magic + unhex(spec["rest"])


def classify(query):
    return bootstrap_external._classify_pyc(pyc_bytes(query["data"]), query["name"], {})


def validate_timestamp(query):
    bootstrap_external._validate_timestamp_pyc(
        pyc_bytes(query["data"]), query["mtime"], query["size"], query["name"], {}
    )
    return None


def validate_hash(query):
    bootstrap_external._validate_hash_pyc(
        pyc_bytes(query["data"]), unhex(query["hash"]), query["name"], {}
    )
    return None


@contextlib.contextmanager
def pycache_prefix(prefix, cwd):
    saved_prefix, saved_cwd = sys.pycache_prefix, os.getcwd()
    sys.pycache_prefix = None if prefix is None else fs(prefix)
    if cwd is not None:
        os.chdir(fs(cwd))
    try:
        yield
    finally:
        sys.pycache_prefix = saved_prefix
        os.chdir(saved_cwd)


def optimization_arg(spec):
    if spec is None:
        return {}
    if "int" in spec:
        return {"optimization": spec["int"]}
    return {"optimization": fs(spec["str"])}


def cache_from_source(query):
    with pycache_prefix(query.get("prefix"), query.get("cwd")):
        path = importlib.util.cache_from_source(
            fs(query["path"]), **optimization_arg(query.get("optimization"))
        )
    return fs_hex(path)


def source_from_cache(query):
    with pycache_prefix(query.get("prefix"), None):
        return fs_hex(importlib.util.source_from_cache(fs(query["path"])))


def dfile(query):
    """The dfile compile_file passes to py_compile, and what it prints."""
    seen = []

    def fake_compile(file, cfile=None, dfile=None, doraise=False, **kwargs):
        seen.append(dfile)
        return cfile

    optional = lambda key: None if query.get(key) is None else fs(query[key])
    out = io.StringIO()
    real_isfile, real_compile = os.path.isfile, py_compile.compile
    os.path.isfile = lambda path: True
    py_compile.compile = fake_compile
    try:
        with contextlib.redirect_stdout(out):
            compileall.compile_file(
                fs(query["fullname"]),
                optional("ddir"),
                force=True,
                quiet=1,
                stripdir=optional("stripdir"),
                prependdir=optional("prependdir"),
            )
    finally:
        os.path.isfile, py_compile.compile = real_isfile, real_compile
    return {
        "dfile": None if seen[0] is None else fs_hex(seen[0]),
        "stdout": out.getvalue(),
    }


def build_tree(root, entries):
    """entries: {"kind": "dir" | "file" | "symlink", "path": hex, "target": hex}
    with "{root}" in a symlink target standing for the tree's root."""
    for entry in entries:
        path = os.path.join(root, fs(entry["path"]))
        if entry["kind"] == "dir":
            os.makedirs(path, exist_ok=True)
        elif entry["kind"] == "file":
            with open(path, "wb"):
                pass
        else:
            target = fs(entry["target"]).replace("{root}", root)
            os.symlink(target, path)


TREES = {}


def define_tree(query):
    TREES[query["name"]] = query["entries"]
    return None


def symlink_leaves(query):
    """compile_file's -e test: does it skip `fullname` (relative to a fresh
    tree, which is also the current directory)?"""
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.realpath(tmp)
        build_tree(root, TREES[query["tree"]])
        saved = os.getcwd()
        os.chdir(root)
        try:
            fullname = fs(query["fullname"])
            limit = fs(query["limit"]).replace("{root}", root)
            if not os.path.islink(fullname):
                return False
            resolved = pathlib.Path(fullname).resolve()
            return pathlib.Path(limit).resolve() not in resolved.parents
        finally:
            os.chdir(saved)


def realpath(query):
    """os.path.realpath in a fresh tree; the answer is relative to it."""
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.realpath(tmp)
        build_tree(root, TREES[query["tree"]])
        saved = os.getcwd()
        os.chdir(root)
        try:
            path = fs(query["path"]).replace("{root}", root)
            result = os.path.realpath(path)
            if result == root:
                return "{root}"
            if result.startswith(root + "/"):
                result = "{root}" + result[len(root):]
            return fs_hex(result)
        finally:
            os.chdir(saved)


def str_repr(query):
    return repr(fs(query["s"]))


def str_sort(query):
    names = [fs(h) for h in query["items"]]
    return sorted(range(len(names)), key=lambda i: names[i])


def str_strip(query):
    return fs_hex(fs(query["s"]).strip())


def str_isalnum(query):
    return fs(query["s"]).isalnum()


def str_isprintable(query):
    return [chr(cp).isprintable() for cp in query["code_points"]]


def bytes_repr(query):
    return repr(unhex(query["data"]))


def str_encode(query):
    return fs(query["s"]).encode(query["codec"], query["errors"]).hex()


def int_(query):
    return str(int(fs(query["s"])))


def re_search(query):
    import re

    return re.compile(query["pattern"]).search(fs(query["path"])) is not None


OPS = {
    "info": info,
    "source_hash": source_hash,
    "classify": classify,
    "validate_timestamp": validate_timestamp,
    "validate_hash": validate_hash,
    "cache_from_source": cache_from_source,
    "source_from_cache": source_from_cache,
    "dfile": dfile,
    "tree": define_tree,
    "symlink_leaves": symlink_leaves,
    "realpath": realpath,
    "str_repr": str_repr,
    "str_sort": str_sort,
    "str_strip": str_strip,
    "str_isalnum": str_isalnum,
    "str_isprintable": str_isprintable,
    "bytes_repr": bytes_repr,
    "re_search": re_search,
    "str_encode": str_encode,
    "int": int_,
}


def answer(query):
    try:
        return {"ok": OPS[query["op"]](query)}
    except Exception as exc:  # the exception *is* the answer
        return {"exc": type(exc).__name__, "msg": str(exc)}


def main():
    queries = json.load(sys.stdin)
    json.dump([answer(q) for q in queries], sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
