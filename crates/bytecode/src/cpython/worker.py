# The CPython side of the `bytecode` crate's worker pool. Runs under the
# target interpreter as `python -c`, reads requests on stdin and answers on
# stdout. It compiles exactly as py_compile does (SourceFileLoader's
# source_to_code, PyCompileError's message) and never touches the file
# system: the Rust side reads sources and writes pycs.
#
# Frames, both ways: u32 little-endian length, then the payload.
#   compile request:  b"C", u8 n, n x i32 levels, u32 len + filename, source
#   repr request:     b"R", bytes
#   regex request:    b"X", pattern in UTF-8
#   compile answer:   u32 len + stderr text, u8 n, n x (u8 ok, u32 len, data)
#                     where data is marshal.dumps(code) or the error message
#   repr answer:      repr(os.fsdecode(bytes)) in UTF-8
#   regex answer:     empty, or "module.Class: message" of re.compile's error
import sys


def _worker():
    import os  # already loaded at start-up, never from the current directory

    # `-c` put the current directory first on sys.path; `-m compileall`
    # would have put its absolute path there (unless -P). Report the latter,
    # import nothing from the former.
    path = list(sys.path)
    if not getattr(sys.flags, "safe_path", False):
        del sys.path[0]
        path[0] = os.getcwd()

    import marshal
    import signal
    import struct

    # Ctrl-C reaches the whole process group; the parent decides what an
    # interrupt means, a half-compiled answer would only confuse it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    # The compiler's garbage is acyclic and freed by reference counting;
    # the cyclic collector only costs time here (about 6% of compiling the
    # stdlib). Collect now and then so that rare cycles (exceptions with
    # tracebacks) stay bounded.
    import gc

    gc.disable()
    requests = 0

    read = sys.stdin.buffer.read
    out = sys.stdout.buffer
    # Anything printed by accident (a .pth file, a debug hook) must not
    # corrupt the protocol.
    sys.stdout = sys.stderr
    stdout_encoding = sys.__stdout__.encoding or sys.getdefaultencoding()
    stderr_encoding = sys.__stderr__.encoding or sys.getdefaultencoding()

    def send(payload):
        out.write(struct.pack("<I", len(payload)))
        out.write(payload)
        out.flush()

    def field(value):
        return struct.pack("<I", len(value)) + value

    from importlib._bootstrap_external import MAGIC_NUMBER

    info = {
        "version": "%d.%d.%d" % sys.version_info[:3],
        "release": "%s%d" % sys.version_info[3:5],
        "magic": MAGIC_NUMBER.hex(),
        "cache_tag": sys.implementation.cache_tag or "",
        "has_cache_tag": "1" if sys.implementation.cache_tag else "",
        "optimize": str(sys.flags.optimize),
        "pycache_prefix": sys.pycache_prefix if getattr(sys, "pycache_prefix", None) is not None else "",
        "has_pycache_prefix": "1" if getattr(sys, "pycache_prefix", None) is not None else "",
        "recursion_limit": str(sys.getrecursionlimit()),
        "executable": sys.executable or "",
        "pid": str(os.getpid()),
    }
    payload = b"".join(field(k.encode()) + field(os.fsencode(v)) for k, v in info.items())
    payload += b"".join(field(b"path") + field(os.fsencode(p)) for p in path)
    send(payload)

    import io
    from importlib.machinery import SourceFileLoader

    while True:
        header = read(4)
        if len(header) < 4:
            return
        (size,) = struct.unpack("<I", header)
        request = read(size)
        op = request[:1]
        if op == b"R":
            send(repr(os.fsdecode(request[1:])).encode("utf-8", "surrogateescape"))
            continue
        if op == b"X":
            import re

            try:
                re.compile(request[1:].decode("utf-8", "surrogateescape"))
            except Exception as err:
                name = type(err).__qualname__
                if type(err).__module__ != "builtins":
                    name = type(err).__module__ + "." + name
                send(("%s: %s" % (name, err)).encode("utf-8", "backslashreplace"))
            else:
                send(b"")
            continue
        requests += 1
        if requests % 1000 == 0:
            gc.collect()
        count = request[1]
        levels = struct.unpack_from("<%di" % count, request, 2)
        offset = 2 + 4 * count
        (name_len,) = struct.unpack_from("<I", request, offset)
        offset += 4
        filename = os.fsdecode(request[offset : offset + name_len])
        source = request[offset + name_len :]

        loader = SourceFileLoader("<py_compile>", filename)
        results = []
        captured = io.StringIO()
        real_stderr, sys.stderr = sys.stderr, captured
        try:
            for level in levels:
                try:
                    code = loader.source_to_code(source, filename, _optimize=level)
                except Exception as err:
                    import py_compile

                    msg = py_compile.PyCompileError(err.__class__, err, filename).msg
                    results.append(b"\x00" + field(msg.encode(stdout_encoding, "backslashreplace")))
                    break
                results.append(b"\x01" + field(marshal.dumps(code)))
        finally:
            sys.stderr = real_stderr
        warnings_text = captured.getvalue().encode(stderr_encoding, "backslashreplace")
        send(field(warnings_text) + bytes([len(results)]) + b"".join(results))


try:
    _worker()
except BrokenPipeError:
    # The parent went away (it exits without waiting for workers that are
    # still starting): nothing left to answer, and nothing to report.
    import os

    os._exit(0)
