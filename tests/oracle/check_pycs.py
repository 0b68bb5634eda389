"""Checks every pyc under a tree the way the import system would use it.

Usage: python check_pycs.py ROOT

For each `__pycache__/*.pyc` whose cache tag is this interpreter's: the
header must pass importlib's own checks against the source next to it, and
the rest must unmarshal to a code object. Leftover temporary files (ours,
`*.tmp`, or CPython's `*.pyc.<number>`) are reported too. Prints one line
per problem and exits 1 if there is any.
"""

import importlib._bootstrap_external as bootstrap_external
import importlib.util
import marshal
import os
import sys
import types

root = sys.argv[1]
tag = sys.implementation.cache_tag
problems = []
checked = 0
for directory, dirs, files in os.walk(root):
    for name in files:
        path = os.path.join(directory, name)
        if name.endswith(".tmp") or ".pyc." in name:
            problems.append("leftover temporary file %s" % path)
            continue
        if not (name.endswith(".pyc") and os.path.basename(directory) == "__pycache__"):
            continue
        if ("." + tag + ".") not in name:
            continue
        checked += 1
        with open(path, "rb") as f:
            data = f.read()
        try:
            source = importlib.util.source_from_cache(path)
            st = os.stat(source)
            flags = bootstrap_external._classify_pyc(data, name, {})
            if flags & 0b1:
                with open(source, "rb") as f:
                    source_hash = importlib.util.source_hash(f.read())
                if flags & 0b10:
                    bootstrap_external._validate_hash_pyc(data, source_hash, name, {})
            else:
                bootstrap_external._validate_timestamp_pyc(
                    data, int(st.st_mtime), st.st_size, name, {}
                )
            code = marshal.loads(memoryview(data)[16:])
            if not isinstance(code, types.CodeType):
                raise ImportError("not a code object")
        except Exception as exc:
            problems.append("%s: %s: %s" % (path, type(exc).__name__, exc))
for problem in problems:
    print(problem)
print("checked %d pycs, %d problems" % (checked, len(problems)), file=sys.stderr)
sys.exit(1 if problems else 0)
