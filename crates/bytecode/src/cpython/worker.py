# The CPython side of the `bytecode` crate's worker pool. Runs under the
# target interpreter as `python -c <this> MODE`, reads requests on stdin and
# answers on stdout. It never writes files: the Rust side reads sources and
# writes pycs.
#
# Byte-exactness has two requirements beyond calling the same compiler:
#
# 1. The same call path. marshal.dumps() flags an object for back-references
#    by its reference count, so the bytes depend on how the caller holds the
#    code object. Each request therefore goes through py_compile.compile()
#    itself, with its file access redirected: get_data() returns the source
#    sent by Rust, path_stats() a dummy, _write_atomic() captures the pyc.
# 2. The same process state. Since 3.13, whether a string constant is
#    written as interned depends on which equal strings are already interned
#    in the process (code objects intern their qualname in place unless an
#    equal interned string exists). So MODE sets up the state of the process
#    compileall compiles in: "main" runs compileall.main() (as
#    `python -m compileall` does, which is where it compiles with -j 1, files
#    on the command line and sys.path), "pool" recreates its
#    ProcessPoolExecutor workers (directories with -j N != 1): a fork of the
#    main process where compileall forks (3.11, 3.12), a fresh process of
#    the forkserver otherwise.
#
# This file defines no nested functions, classes or lambdas: their qualnames
# would be interned strings CPython's compileall process does not have.
#
# Frames, both ways: u32 little-endian length, then the payload.
#   compile request:  b"C", u8 n, n x i32 levels, u32 len + filename,
#                     u32 len + dfile (empty: none), source
#   repr request:     b"R", bytes
#   regex request:    b"X", pattern in UTF-8
#   set-up notice:    b"S" (no answer): set up the process state now, as
#                     a compile request would, so that the imports overlap
#                     the caller's preparation
#   compile answer:   u32 len + stderr text, u8 n, n x (u8 ok, u32 len, data)
#                     where data is marshal.dumps(code) or the error message
#   repr answer:      repr(os.fsdecode(bytes)) in UTF-8
#   regex answer:     empty, or "module.Class: message" of re.compile's error
import sys
import os  # loaded at start-up already, never from the current directory

# `-c` put the current directory first on sys.path; `-m compileall` would
# have put its absolute path there (unless -P). Report the latter, import
# nothing from the former.
_path = list(sys.path)
if not getattr(sys.flags, "safe_path", False):
    del sys.path[0]
    _path[0] = os.getcwd()

import _codecs  # loaded at start-up (the streams' encodings need it)
import _signal  # not `signal`: that module's strings are not in compileall's process
import struct

# Ctrl-C reaches the whole process group; the parent decides what an
# interrupt means.
_signal.signal(_signal.SIGINT, _signal.SIG_IGN)

_read = sys.stdin.buffer.read
_out = sys.stdout.buffer
# Anything printed by accident (a .pth file, a debug hook) must not corrupt
# the protocol.
sys.stdout = sys.stderr
_stdout_encoding = sys.__stdout__.encoding or sys.getdefaultencoding()
_stderr_encoding = sys.__stderr__.encoding or sys.getdefaultencoding()


def _send(payload):
    _out.write(struct.pack("<I", len(payload)))
    _out.write(payload)
    _out.flush()


def _field(value):
    return struct.pack("<I", len(value)) + value


def _handshake():
    from importlib._bootstrap_external import MAGIC_NUMBER

    prefix = getattr(sys, "pycache_prefix", None)
    info = [
        ("version", "%d.%d.%d" % sys.version_info[:3]),
        ("release", "%s%d" % sys.version_info[3:5]),
        # The build: a rebuilt interpreter of the same version may compile
        # differently (patches), and the bytecode cache must tell.
        ("build", sys.version),
        ("magic", MAGIC_NUMBER.hex()),
        ("cache_tag", sys.implementation.cache_tag or ""),
        ("has_cache_tag", "1" if sys.implementation.cache_tag else ""),
        ("optimize", str(sys.flags.optimize)),
        ("pycache_prefix", prefix if prefix is not None else ""),
        ("has_pycache_prefix", "1" if prefix is not None else ""),
        ("recursion_limit", str(sys.getrecursionlimit())),
        ("executable", sys.executable or ""),
        ("pid", str(os.getpid())),
        # What print() does with compileall's messages.
        ("stdout_encoding", _codecs.lookup(sys.__stdout__.encoding).name),
        ("stdout_errors", sys.__stdout__.errors),
    ]
    info.extend(("path", entry) for entry in _path)
    _send(b"".join(_field(k.encode()) + _field(os.fsencode(v)) for k, v in info))


# The request being compiled: what the redirected loader methods return.
_current = {}


def _get_data(self, path):
    if path == _current.get("path"):
        return _current["source"]
    return _real_get_data(self, path)


def _path_stats(self, path):
    if path == _current.get("path"):
        return {"mtime": 0, "size": len(_current["source"])}
    return _real_path_stats(self, path)


def _write_atomic(path, data, mode=0o666):
    _current["pyc"] = data


def _compile(levels, filename, dfile, source):
    """py_compile.compile(filename, cfile, dfile, doraise=True, optimize=level)
    per level; cfile '' keeps py_compile away from the file system."""
    results = []
    _current["path"] = filename
    _current["source"] = source
    captured = _io.StringIO()
    real_stderr, sys.stderr = sys.stderr, captured
    try:
        for level in levels:
            try:
                py_compile.compile(
                    filename,
                    "",
                    dfile,
                    True,
                    optimize=level,
                    invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP,
                )
            except py_compile.PyCompileError as err:
                message = err.msg.encode(_stdout_encoding, "backslashreplace")
                results.append(b"\x00" + _field(message))
                break
            results.append(b"\x01" + _field(_current.pop("pyc")[16:]))
    finally:
        sys.stderr = real_stderr
        _current.clear()
    warnings_text = captured.getvalue().encode(_stderr_encoding, "backslashreplace")
    return _field(warnings_text) + bytes([len(results)]) + b"".join(results)


def _check_regex(pattern):
    import re

    try:
        re.compile(pattern)
    except Exception as err:
        name = type(err).__qualname__
        if type(err).__module__ != "builtins":
            name = type(err).__module__ + "." + name
        return ("%s: %s" % (name, err)).encode("utf-8", "backslashreplace")
    return b""


def _pool_imports():
    """What starting compile_dir's ProcessPoolExecutor imports."""
    import concurrent.futures.process
    import multiprocessing.synchronize


def _serve_pool(*args, **kwargs):
    # A forked worker: the main process, plus starting the pool.
    import multiprocessing.popen_fork

    _pool_imports()
    _serve()


# A compile request read before the process state was set up.
_pending = None
_ready = False


def _serve(*args, **kwargs):
    """Answers requests. Until the process state is set up, it returns at the
    first compile request (kept in _pending) so the caller can set it up."""
    global _pending
    requests = 0
    while True:
        if _pending is not None:
            request, _pending = _pending, None
        else:
            header = _read(4)
            if len(header) < 4:
                os._exit(0)
            (size,) = struct.unpack("<I", header)
            request = _read(size)
        op = request[:1]
        if op == b"R":
            _send(repr(os.fsdecode(request[1:])).encode("utf-8", "surrogateescape"))
        elif op == b"X":
            _send(_check_regex(request[1:].decode("utf-8", "surrogateescape")))
        elif op == b"S":
            if not _ready:
                return
        elif not _ready:
            _pending = request
            return
        else:
            # The compiler's garbage is acyclic and freed by reference
            # counting; the cyclic collector only costs time (about 6% of
            # compiling the stdlib). Collect now and then so that rare
            # cycles stay bounded.
            gc.disable()
            requests += 1
            if requests % 1000 == 0:
                gc.collect()
            count = request[1]
            levels = struct.unpack_from("<%di" % count, request, 2)
            offset = 2 + 4 * count
            (name_len,) = struct.unpack_from("<I", request, offset)
            offset += 4
            filename = os.fsdecode(request[offset : offset + name_len])
            offset += name_len
            (dfile_len,) = struct.unpack_from("<I", request, offset)
            offset += 4
            dfile = os.fsdecode(request[offset : offset + dfile_len]) if dfile_len else None
            _send(_compile(levels, filename, dfile, request[offset + dfile_len :]))


def _set_up_and_serve():
    """Recreates the compileall process this worker stands for, then serves
    from inside it. Deferred to the first compile request: a run with
    nothing to compile never pays for it."""
    global _ready, _real_get_data, _real_path_stats, gc, _io, py_compile
    import gc
    import io as _io
    import py_compile
    import runpy  # `python -m` imports it
    import importlib._bootstrap_external
    from importlib.machinery import SourceFileLoader

    _real_get_data = SourceFileLoader.get_data
    _real_path_stats = SourceFileLoader.path_stats
    SourceFileLoader.get_data = _get_data
    SourceFileLoader.path_stats = _path_stats
    importlib._bootstrap_external._write_atomic = _write_atomic

    import compileall

    _ready = True
    pool = sys.argv[1:2] == ["pool"]
    forks = False
    if pool:
        import multiprocessing

        # compileall switches "fork" to "forkserver" where it knows to
        # (3.13+); a forked worker is a copy of the main process.
        forks = multiprocessing.get_start_method() == "fork" and "get_start_method" not in (
            compileall.compile_dir.__code__.co_names
        )
    if pool and not forks:
        import multiprocessing.forkserver
        import multiprocessing.popen_forkserver

        if "_forkserver_authkey" in multiprocessing.forkserver.ForkServer().__dict__:
            import hmac  # the child authenticates to the forkserver (3.14+)
        _pool_imports()
        _serve()
    else:
        compileall.compile_dir = _serve_pool if pool else _serve
        compileall.compile_file = _serve
        compileall.compile_path = _serve
        sys.argv = ["compileall", "-q", os.curdir]
        compileall.main()


try:
    _handshake()
    _serve()
    _set_up_and_serve()
except BrokenPipeError:
    # The parent went away (it exits without waiting for workers that are
    # still starting): nothing left to answer, and nothing to report.
    os._exit(0)
