//! The foundation fixtures: pyc headers, source hashes, cache paths,
//! compileall's dfile and `-e` rules, and the `str` rules behind them.
//!
//! [`queries`] is the table of questions; `cargo xtask fixtures` asks every
//! interpreter and stores the answers in `fixtures/foundation/`; the tests
//! compare the crates to those answers and, when an interpreter is
//! installed, to its live answers.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::hex::Hex;
use crate::oracle::Answer;

/// Bytes given literally, or a pattern repeated to a length (large inputs
/// stay small in the fixture files).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Input {
    /// These bytes.
    Literal {
        /// The bytes.
        hex: Hex,
    },
    /// `pattern` repeated and cut to `len` bytes.
    Repeated {
        /// The repeated unit.
        pattern_hex: Hex,
        /// The total length.
        len: usize,
    },
}

impl Input {
    /// The bytes this input stands for.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Input::Literal { hex } => hex.0.clone(),
            Input::Repeated { pattern_hex, len } => {
                pattern_hex.0.iter().copied().cycle().take(*len).collect()
            }
        }
    }
}

/// A pyc prefix: the interpreter's own magic (when `magic` is `None`) or the
/// given bytes, followed by `rest`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PycBytes {
    /// Replacement for the interpreter's magic number.
    pub magic: Option<Hex>,
    /// Everything after the magic.
    pub rest: Hex,
}

/// The `optimization` argument of `cache_from_source`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizationArg {
    /// An `int`.
    Int(i64),
    /// A `str`.
    Str(Hex),
}

/// One entry of a file tree built for a query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeEntry {
    /// `dir`, `file` or `symlink`.
    pub kind: String,
    /// Path relative to the tree's root.
    pub path: Hex,
    /// Symlink target; `{root}` stands for the tree's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Hex>,
}

/// One question for the oracle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Query {
    /// The interpreter's version, magic, cache tag and `-O` level.
    Info,
    /// `importlib.util.source_hash(data)`.
    SourceHash {
        /// The source bytes.
        data: Input,
    },
    /// `_classify_pyc(data, name, {})`.
    Classify {
        /// The pyc bytes.
        data: PycBytes,
        /// Module name for messages.
        name: String,
    },
    /// `_validate_timestamp_pyc(data, mtime, size, name, {})`.
    ValidateTimestamp {
        /// The pyc bytes.
        data: PycBytes,
        /// Source mtime.
        mtime: i64,
        /// Source size, or `None`.
        size: Option<u64>,
        /// Module name for messages.
        name: String,
    },
    /// `_validate_hash_pyc(data, hash, name, {})`.
    ValidateHash {
        /// The pyc bytes.
        data: PycBytes,
        /// The source hash to compare with.
        hash: Hex,
        /// Module name for messages.
        name: String,
    },
    /// `importlib.util.cache_from_source(path, optimization=...)` with
    /// `sys.pycache_prefix = prefix`, in directory `cwd`.
    CacheFromSource {
        /// Source path.
        path: Hex,
        /// `None` leaves the argument out.
        optimization: Option<OptimizationArg>,
        /// `sys.pycache_prefix`.
        prefix: Option<Hex>,
        /// Current directory during the call.
        cwd: Option<Hex>,
    },
    /// `importlib.util.source_from_cache(path)` with `sys.pycache_prefix`.
    SourceFromCache {
        /// Bytecode path.
        path: Hex,
        /// `sys.pycache_prefix`.
        prefix: Option<Hex>,
    },
    /// The dfile `compileall.compile_file` computes, and what it prints.
    Dfile {
        /// Source path.
        fullname: Hex,
        /// `ddir`.
        ddir: Option<Hex>,
        /// `stripdir`.
        stripdir: Option<Hex>,
        /// `prependdir`.
        prependdir: Option<Hex>,
    },
    /// Names a file tree for the queries after it; answers `None`.
    Tree {
        /// The name later queries use.
        name: String,
        /// The entries.
        entries: Vec<TreeEntry>,
    },
    /// Whether `compile_file(..., limit_sl_dest=limit)` skips `fullname`.
    SymlinkLeaves {
        /// A tree named earlier, built in a fresh directory that becomes
        /// the cwd.
        tree: String,
        /// Source path, relative to the tree.
        fullname: Hex,
        /// `-e` argument; `{root}` stands for the tree's root.
        limit: Hex,
    },
    /// `os.path.realpath(path)` in a fresh tree.
    Realpath {
        /// A tree named earlier.
        tree: String,
        /// The path; `{root}` stands for the tree's root.
        path: Hex,
    },
    /// `repr(os.fsdecode(s))`.
    StrRepr {
        /// The bytes.
        s: Hex,
    },
    /// `sorted(range(n), key=names.__getitem__)` of fsdecoded names.
    StrSort {
        /// The names.
        items: Vec<Hex>,
    },
    /// `os.fsencode(os.fsdecode(s).strip())`.
    StrStrip {
        /// The bytes.
        s: Hex,
    },
    /// `os.fsdecode(s).isalnum()`.
    StrIsalnum {
        /// The bytes.
        s: Hex,
    },
    /// `chr(cp).isprintable()` for each code point.
    StrIsprintable {
        /// The code points.
        code_points: Vec<u32>,
    },
    /// `repr(data)` of bytes.
    BytesRepr {
        /// The bytes.
        data: Hex,
    },
    /// `re.compile(pattern).search(os.fsdecode(path)) is not None`, as
    /// compileall's `-x` does.
    ReSearch {
        /// The pattern.
        pattern: String,
        /// The path searched.
        path: Hex,
    },
    /// `os.fsdecode(s).encode(codec, errors)`: what `print()` writes on a
    /// stream of that encoding.
    StrEncode {
        /// The text.
        s: Hex,
        /// The codec (`codecs.lookup` name).
        codec: String,
        /// The error handler.
        errors: String,
    },
    /// `str(int(os.fsdecode(s)))`, as argparse reads `-r`, `-j`, `-o`.
    Int {
        /// The text.
        s: Hex,
    },
}

/// A query with the answer a real interpreter gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// The question.
    pub query: Query,
    /// The interpreter's answer.
    pub answer: Answer,
}

/// The answers of one interpreter run with the given flags.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Interpreter flags, such as `-O`.
    pub flags: Vec<String>,
    /// The answered queries; the first is always [`Query::Info`].
    pub cases: Vec<Case>,
}

/// The fixture file of one interpreter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fixture {
    /// `major.minor`.
    pub version: String,
    /// The exact release that answered.
    pub full_version: String,
    /// One entry per flag set.
    pub runs: Vec<Run>,
}

/// The interpreter flag sets the fixtures are recorded under.
pub const FLAG_SETS: [&[&str]; 3] = [&[], &["-O"], &["-OO"]];

/// Path of the fixture file for release line `version`.
pub fn fixture_path(version: &str) -> PathBuf {
    crate::fixtures_dir()
        .join("foundation")
        .join(format!("cpython-{version}.json"))
}

/// Loads the fixture of release line `version`, if recorded.
pub fn load_fixture(version: &str) -> Option<Fixture> {
    let bytes = std::fs::read(fixture_path(version)).ok()?;
    Some(
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("corrupt fixture for {version}: {e}")),
    )
}

/// The queries to ask under interpreter flags `flags`: everything without
/// flags, only what depends on `sys.flags.optimize` with `-O`/`-OO`.
pub fn queries(flags: &[&str]) -> Vec<Query> {
    let mut q = vec![Query::Info];
    if flags.is_empty() {
        q.extend(source_hash_queries());
        q.extend(header_queries());
        q.extend(cache_from_source_queries());
        q.extend(source_from_cache_queries());
        q.extend(dfile_queries());
        q.extend(symlink_queries());
        q.extend(str_queries());
        q.extend(regex_queries());
    } else {
        for path in SOURCE_PATHS {
            for prefix in [None, Some("/tmp/pfx")] {
                q.push(Query::CacheFromSource {
                    path: Hex::from(*path),
                    optimization: None,
                    prefix: prefix.map(Hex::from),
                    cwd: Some(Hex::from("/")),
                });
            }
        }
    }
    q
}

fn source_hash_queries() -> Vec<Query> {
    let literal = |b: &[u8]| Query::SourceHash {
        data: Input::Literal { hex: Hex::from(b) },
    };
    let mut q: Vec<Query> = [
        &b""[..],
        b"a",
        b"print('hello')\n",
        b"1234567",
        b"12345678",
        b"123456789",
        b"0123456789abcdef",
        b"0123456789abcdefg",
        b"# -*- coding: latin-1 -*-\nname = '\xe9t\xe9'\n",
        b"\xff\xfe\x00\x01\x80\x81 not utf-8 \xc3\x28",
        b"\xef\xbb\xbfprint(1)\r\n",
        b"\x00",
    ]
    .iter()
    .map(|b| literal(b))
    .collect();
    for len in [1 << 20, (1 << 20) + 3, 5 << 20] {
        q.push(Query::SourceHash {
            data: Input::Repeated {
                pattern_hex: Hex::from("def f(x):\n    return x * 2  # \u{e9}\u{4e2d}\n"),
                len,
            },
        });
    }
    q
}

fn header_queries() -> Vec<Query> {
    let own = |rest: Vec<u8>| PycBytes {
        magic: None,
        rest: Hex(rest),
    };
    let other = |magic: &[u8], rest: Vec<u8>| PycBytes {
        magic: Some(Hex::from(magic)),
        rest: Hex(rest),
    };
    let word = |w: u32| w.to_le_bytes().to_vec();
    let header = |flags: u32, a: u32, b: u32| [word(flags), word(a), word(b)].concat();
    let names = ["mod", "pkg.sub", "it's", "m\u{f3}dulo"];

    let mut q = Vec::new();
    let mut classify = |data: PycBytes| {
        for name in names {
            q.push(Query::Classify {
                data: data.clone(),
                name: name.into(),
            });
        }
    };
    for flags in [0, 1, 2, 3, 4, 5, 0x8000_0000, 0xffff_ffff] {
        classify(own(header(flags, 7, 9)));
    }
    classify(own(header(0, 7, 9).into_iter().chain(*b"code").collect()));
    classify(own(vec![]));
    classify(own(vec![0; 11]));
    classify(own(vec![0; 12]));
    classify(other(b"", vec![]));
    classify(other(b"\x0d", vec![]));
    classify(other(b"\x0d\x0d\x0d", vec![]));
    classify(other(b"\xf3\x0d\x0d\x0a", header(0, 0, 0))); // 3.13's magic
    classify(other(b"\x2b\x0e\x0d\x0a", header(0, 0, 0))); // 3.14's magic
    classify(other(b"\xa7\x0d\x0d\x0a", header(0, 0, 0))); // 3.11's magic
    classify(other(b"\x42\x0d\x0d\x0a", header(0, 0, 0))); // 3.7's magic
    classify(other(b"\x00\x00\x00\x00", header(0, 0, 0)));
    classify(other(b"'\"\\\x7f", header(0, 0, 0)));

    let mtime_cases: [(u32, u32, i64, Option<u64>); 10] = [
        (1_700_000_000, 1234, 1_700_000_000, Some(1234)),
        (1_700_000_000, 1234, 1_700_000_001, Some(1234)),
        (1_700_000_000, 1234, 1_700_000_000, Some(1235)),
        (1_700_000_000, 1234, 1_700_000_000, None),
        (1_700_000_000, 1234, 1_699_999_999, None),
        (0xffff_ffff, 0, -1, Some(0)),
        (5, 7, (1 << 32) + 5, Some((1 << 32) + 7)),
        (0, 0, 0, Some(0)),
        (0, 0, 1 << 32, Some(1 << 33)),
        (42, 1, 42, Some(0)),
    ];
    for (pyc_mtime, pyc_size, mtime, size) in mtime_cases {
        for name in ["mod", "it's"] {
            q.push(Query::ValidateTimestamp {
                data: own(header(0, pyc_mtime, pyc_size)),
                mtime,
                size,
                name: name.into(),
            });
        }
    }
    let hash = *b"\x01\x23\x45\x67\x89\xab\xcd\xef";
    let with_hash = |flags: u32, h: &[u8]| own([word(flags), h.to_vec()].concat());
    for (data, hash) in [
        (with_hash(3, &hash), hash),
        (with_hash(1, &hash), hash),
        (with_hash(3, &hash), *b"\x01\x23\x45\x67\x89\xab\xcd\xee"),
        (with_hash(3, &hash[..7]), hash),
        (own(vec![3, 0, 0, 0]), hash),
    ] {
        for name in ["mod", "it's"] {
            q.push(Query::ValidateHash {
                data: data.clone(),
                hash: Hex(hash.to_vec()),
                name: name.into(),
            });
        }
    }
    q
}

/// Source paths asked about in `cache_from_source` queries.
pub const SOURCE_PATHS: &[&str] = &[
    "foo.py",
    "pkg/foo.py",
    "/abs/pkg/foo.py",
    "foo",
    "foo.bar.py",
    ".hidden.py",
    "pkg/.py",
    "noext.",
    "a.b.c",
    "pkg/",
    "./foo.py",
    "./pkg/./foo.py",
    "../x/foo.py",
    "dir//foo.py",
    "dir/",
    "//foo.py",
    "/foo.py",
    "m\u{f3}dulo/\u{4e2d}\u{6587}.py",
    "x.pyw",
    "x.PY",
    "",
    "foo.py/",
];

fn cache_from_source_queries() -> Vec<Query> {
    let mut paths: Vec<Hex> = SOURCE_PATHS.iter().map(|p| Hex::from(*p)).collect();
    paths.push(Hex::from(b"caf\xe9/n\xffm.py"));
    let optimizations: Vec<Option<OptimizationArg>> = vec![
        None,
        Some(OptimizationArg::Int(0)),
        Some(OptimizationArg::Int(1)),
        Some(OptimizationArg::Int(2)),
        Some(OptimizationArg::Int(-1)),
        Some(OptimizationArg::Int(12345678901)),
        Some(OptimizationArg::Str(Hex::from(""))),
        Some(OptimizationArg::Str(Hex::from("1"))),
        Some(OptimizationArg::Str(Hex::from("opt"))),
        Some(OptimizationArg::Str(Hex::from("1.5"))),
        Some(OptimizationArg::Str(Hex::from(" "))),
        Some(OptimizationArg::Str(Hex::from("\u{e9}"))),
        Some(OptimizationArg::Str(Hex::from("\u{663}"))),
        Some(OptimizationArg::Str(Hex::from("a_b"))),
        Some(OptimizationArg::Str(Hex::from(b"\xff"))),
    ];
    let mut q = Vec::new();
    for path in &paths {
        for optimization in &optimizations {
            q.push(Query::CacheFromSource {
                path: path.clone(),
                optimization: optimization.clone(),
                prefix: None,
                cwd: None,
            });
        }
        for prefix in ["/tmp/pfx", "/tmp/pfx/", "relpfx", "/"] {
            for cwd in ["/", "/usr"] {
                for optimization in [None, Some(OptimizationArg::Int(2))] {
                    q.push(Query::CacheFromSource {
                        path: path.clone(),
                        optimization,
                        prefix: Some(Hex::from(prefix)),
                        cwd: Some(Hex::from(cwd)),
                    });
                }
            }
        }
    }
    q
}

fn source_from_cache_queries() -> Vec<Query> {
    let paths: Vec<Hex> = [
        "pkg/__pycache__/foo.cpython-314.pyc",
        "__pycache__/foo.cpython-314.opt-1.pyc",
        "__pycache__/foo.cpython-311.opt-2.pyc",
        "/abs/__pycache__/foo.cpython-311.pyc",
        "foo.cpython-314.pyc",
        "__pycache__/foo.pyc",
        "__pycache__/a.b.c.d.pyc",
        "__pycache__/a.b.c.d.e.pyc",
        "__pycache__/foo.cpython-314.opt.pyc",
        "__pycache__/foo.cpython-314.opt-.pyc",
        "__pycache__/foo.cpython-314.x-1.pyc",
        "__pycache__/foo.cpython-314.opt-1a.pyc",
        "__pycache__/foo.cpython-314.opt-1.5.pyc",
        "__pycache__/.cpython-314.pyc",
        "pycache/foo.cpython-314.pyc",
        "__pycache__//foo.cpython-314.pyc",
        "/tmp/pfx/abs/pkg/foo.cpython-314.pyc",
        "/tmp/pfx/foo.cpython-314.pyc",
        "/tmp/pfxy/__pycache__/foo.cpython-314.pyc",
        "/tmp/pfx/__pycache__/foo.cpython-314.opt-2.pyc",
        "relpfx/a/foo.cpython-314.pyc",
        "\u{4e2d}/__pycache__/\u{6587}.cpython-314.opt-\u{663}.pyc",
        "",
    ]
    .iter()
    .map(|p| Hex::from(*p))
    .chain([Hex::from(b"d\xff/__pycache__/n\xe9.cpython-314.pyc")])
    .collect();
    let mut q = Vec::new();
    for path in &paths {
        for prefix in [None, Some("/tmp/pfx"), Some("/tmp/pfx/"), Some("relpfx")] {
            q.push(Query::SourceFromCache {
                path: path.clone(),
                prefix: prefix.map(Hex::from),
            });
        }
    }
    q
}

fn dfile_queries() -> Vec<Query> {
    let fullnames = [
        "pkg/mod.py",
        "/build/root/usr/lib/mod.py",
        "a/b/a/mod.py",
        "./pkg/mod.py",
        "pkg/sub/pkg/mod.py",
        "mod.py",
    ];
    let ddirs = ["dest", "/dest/", ""];
    let stripdirs = [
        None,
        Some("pkg"),
        Some("pkg/"),
        Some("/build/root"),
        Some("/build/root/"),
        Some("a/b"),
        Some("b"),
        Some("pkg/mod.py"),
        Some("."),
        Some("pkg/sub"),
    ];
    let prependdirs = [None, Some("/"), Some("pre"), Some("/pre/")];
    let mut q = Vec::new();
    for fullname in fullnames {
        let query =
            |ddir: Option<&str>, stripdir: Option<&str>, prependdir: Option<&str>| Query::Dfile {
                fullname: Hex::from(fullname),
                ddir: ddir.map(Hex::from),
                stripdir: stripdir.map(Hex::from),
                prependdir: prependdir.map(Hex::from),
            };
        for ddir in ddirs {
            q.push(query(Some(ddir), None, None));
        }
        for stripdir in stripdirs {
            for prependdir in prependdirs {
                q.push(query(None, stripdir, prependdir));
            }
        }
    }
    q.push(Query::Dfile {
        fullname: Hex::from(b"r\xe9p/m\xff.py"),
        ddir: None,
        stripdir: Some(Hex::from(b"r\xe9p")),
        prependdir: Some(Hex::from("/x")),
    });
    q
}

/// The tree the symlink queries run in.
pub fn symlink_tree() -> Vec<TreeEntry> {
    let entry = |kind: &str, path: &str, target: Option<&str>| TreeEntry {
        kind: kind.into(),
        path: Hex::from(path),
        target: target.map(Hex::from),
    };
    vec![
        entry("dir", "inside/sub", None),
        entry("dir", "outside", None),
        entry("file", "inside/real.py", None),
        entry("file", "inside/sub/deep.py", None),
        entry("file", "outside/o.py", None),
        entry("symlink", "inside/link_in.py", Some("real.py")),
        entry("symlink", "inside/link_deep.py", Some("sub/deep.py")),
        entry("symlink", "inside/link_out.py", Some("../outside/o.py")),
        entry("symlink", "inside/abs_out.py", Some("{root}/outside/o.py")),
        entry("symlink", "inside/abs_in.py", Some("{root}/inside/real.py")),
        entry("symlink", "inside/dangling.py", Some("nowhere.py")),
        entry("symlink", "inside/loop.py", Some("loop.py")),
        entry("symlink", "inside/ping.py", Some("pong.py")),
        entry("symlink", "inside/pong.py", Some("ping.py")),
        entry("symlink", "inside/to_outside", Some("../outside")),
        entry("symlink", "inside/chain.py", Some("link_in.py")),
        entry("symlink", "inside/chain_out.py", Some("to_outside/o.py")),
        entry("symlink", "outside/back.py", Some("../inside/real.py")),
        entry("symlink", "alias", Some("inside")),
    ]
}

fn symlink_queries() -> Vec<Query> {
    let fullnames = [
        "inside/real.py",
        "inside/link_in.py",
        "inside/link_deep.py",
        "inside/link_out.py",
        "inside/abs_out.py",
        "inside/abs_in.py",
        "inside/dangling.py",
        "inside/chain.py",
        "inside/chain_out.py",
        "inside/to_outside/o.py",
        "outside/back.py",
        "alias/link_in.py",
        "alias/link_out.py",
        "./inside/../inside/link_in.py",
    ];
    let limits = [
        "inside",
        "inside/",
        "{root}/inside",
        ".",
        "outside",
        "nonexistent",
        "/",
        "alias",
        "inside/sub",
        "inside/to_outside",
    ];
    let tree = || "links".to_string();
    let mut q = vec![Query::Tree {
        name: tree(),
        entries: symlink_tree(),
    }];
    for fullname in fullnames {
        for limit in limits {
            q.push(Query::SymlinkLeaves {
                tree: tree(),
                fullname: Hex::from(fullname),
                limit: Hex::from(limit),
            });
        }
    }
    for path in [
        "inside/link_in.py",
        "inside/chain_out.py",
        "inside/to_outside/o.py",
        "inside/to_outside/../real.py",
        "inside/../inside/link_out.py",
        "inside/dangling.py",
        "inside/dangling.py/x/../y",
        "missing/x/../y",
        "{root}/alias/chain.py",
        "alias",
        "alias/",
        ".",
        "..",
        "inside/loop.py",
        "inside/ping.py",
        "inside/loop.py/x",
    ] {
        q.push(Query::Realpath {
            tree: tree(),
            path: Hex::from(path),
        });
    }
    q
}

/// Strings whose Python view the tests check.
fn sample_strings() -> Vec<Hex> {
    let mut v: Vec<Hex> = [
        "",
        "a",
        "pkg/mod.py",
        "it's",
        "say \"hi\"",
        "both ' and \"",
        "back\\slash",
        "tab\there",
        "new\nline",
        "cr\rhere",
        "nul\0",
        "esc\u{1b}",
        "del\u{7f}",
        "caf\u{e9}",
        "\u{4e2d}\u{6587}",
        "emoji \u{1f600}",
        "nbsp\u{a0}",
        "soft\u{ad}hyphen",
        "zw\u{200b}sp",
        "ls\u{2028}",
        "pua\u{e000}",
        "nonchar\u{ffff}",
        "\u{10ffff}",
        "combining e\u{301}",
        "ideographic\u{3000}space",
        "\u{85}next line",
        " \t padded \r\n",
    ]
    .iter()
    .map(|s| Hex::from(*s))
    .collect();
    for bytes in [
        &b"caf\xe9.py"[..],
        b"\xff",
        b"\x80\x81",
        b"\xed\xa0\x80",
        b"\xc0\xaf",
        b"\xf4\x90\x80\x80",
        b"ok\xe2\x82",
        b"\xe2\x82\xac\xff",
        b"' \xff",
    ] {
        v.push(Hex::from(bytes));
    }
    v
}

fn str_queries() -> Vec<Query> {
    let strings = sample_strings();
    let mut q: Vec<Query> = strings
        .iter()
        .map(|s| Query::StrRepr { s: s.clone() })
        .collect();
    q.extend(strings.iter().map(|s| Query::StrStrip { s: s.clone() }));
    q.extend(strings.iter().map(|s| Query::BytesRepr { data: s.clone() }));
    for s in [
        "1", "12", "a1", "opt", "", " ", "1.5", "-1", "\u{e9}", "\u{663}", "\u{2155}", "\u{2160}",
        "a_b", "e\u{301}",
    ] {
        q.push(Query::StrIsalnum { s: Hex::from(s) });
    }
    q.push(Query::StrIsalnum {
        s: Hex::from(b"a\xff"),
    });
    q.push(Query::StrSort { items: strings });
    q.push(Query::StrSort {
        items: [
            "b.py",
            "a.py",
            "B.py",
            "_x.py",
            "\u{e9}.py",
            "z.py",
            "\u{1f600}.py",
            "\u{ff5e}.py",
        ]
        .iter()
        .map(|s| Hex::from(*s))
        .chain([&b"\x80.py"[..], b"\xff.py", b"e\xcc.py"].map(Hex::from))
        .collect(),
    });
    for codec in ["utf-8", "ascii", "iso8859-1"] {
        for errors in [
            "strict",
            "surrogateescape",
            "surrogatepass",
            "backslashreplace",
            "replace",
            "ignore",
            "xmlcharrefreplace",
        ] {
            if errors == "surrogatepass" && codec != "utf-8" {
                continue;
            }
            for s in &sample_strings() {
                q.push(Query::StrEncode {
                    s: s.clone(),
                    codec: codec.into(),
                    errors: errors.into(),
                });
            }
        }
    }
    for s in [
        "4",
        " -2\n",
        "+0",
        "1_000",
        "007",
        "",
        " ",
        "1.0",
        "0x10",
        "1__0",
        "_1",
        "1_",
        "--1",
        "one",
        "1 2",
        "- 1",
        "\u{ff12}",
        "\u{663}\u{660}",
        "\u{3000}5\u{85}",
        "1\u{2155}",
        "\u{1d7ce}\u{1d7d9}",
        "99999999999999999999",
        "-99999999999999999999",
        "9223372036854775807",
        "-9223372036854775807",
        "0_0",
        "\u{b2}",
    ] {
        q.push(Query::Int { s: Hex::from(s) });
    }
    // Code points assigned long ago, whose printability no Unicode update
    // has changed.
    q.push(Query::StrIsprintable {
        code_points: vec![
            0x20, 0x41, 0x7e, 0x7f, 0x80, 0x9f, 0xa0, 0xa1, 0xad, 0xe9, 0x300, 0x378, 0x5d0, 0x600,
            0x61c, 0x663, 0x1680, 0x2000, 0x200b, 0x200e, 0x2028, 0x2029, 0x202f, 0x2060, 0x3000,
            0x4e2d, 0xd7ff, 0xe000, 0xf8ff, 0xfeff, 0xfffd, 0xfffe, 0xffff, 0x1f600, 0xe0001,
            0xf0000, 0x10ffff,
        ],
    });
    q
}

/// Asks `python` every question under every flag set and returns the
/// fixture to store.
pub fn record(python: &crate::pythons::Python) -> Result<Fixture, String> {
    let mut runs = Vec::new();
    for flags in FLAG_SETS {
        let queries = queries(flags);
        let answers = crate::oracle::ask(&python.executable, flags, &queries)?;
        runs.push(Run {
            flags: flags.iter().map(|f| f.to_string()).collect(),
            cases: queries
                .into_iter()
                .zip(answers)
                .map(|(query, answer)| Case { query, answer })
                .collect(),
        });
    }
    Ok(Fixture {
        version: python.version.clone(),
        full_version: python.full_version.clone(),
        runs,
    })
}

/// `-x` patterns against paths, covering where Python's `re` and
/// fancy-regex differ in syntax.
fn regex_queries() -> Vec<Query> {
    let patterns = [
        r"test",
        r"^pkg/",
        r"\.py$",
        r"a\.py$",
        r"a\.py\Z",
        r"(?i)TEST",
        r"/tests?/",
        r"(?<=pkg/)a",
        r"(?<!pkg/)a\.py",
        r"(?=.*sub)",
        r"(?!pkg)",
        r"(\w)\1",
        r"(?P<d>[a-z])(?P=d)",
        r"[[]",
        r"[]a]",
        r"[^]]x",
        r"a{",
        r"{x}",
        r"a{,2}b",
        r"a{2}",
        r"a{1,}",
        r"x{}",
        r"[a&&b]",
        r"[a--b]",
        r"[\b]",
        r"\d+",
        r"caf.\.py",
        r"é",
        r"(?#comment)a",
        r"^$",
        r"(?m)py$",
        r"(?s)a.b",
        r"a.b",
        r"(?x) a \. py",
        r"\x61",
        r"\u0061",
        r"\0",
        r"(?>a+)b",
        r"a++",
        r"\bsub\b",
        r"[\w.]+/",
        r"\/",
        r"$",
    ];
    let paths: Vec<Hex> = [
        "pkg/a.py",
        "pkg/test_a.py",
        "pkg/tests/x.py",
        "pkg/sub/aa.py",
        "a.py\n",
        "a.py\n\n",
        "aab",
        "ab",
        "b",
        "pkg/caf\u{e9}.py",
        "x]x",
        "[",
        "a{",
        "{x}",
        "a\nb",
        "\u{8}",
        "\0",
        "",
        "TEST.py",
        "sub",
        "a&b",
        "a-b",
    ]
    .iter()
    .map(|p| Hex::from(*p))
    .chain([Hex::from(&b"caf\xe9.py"[..])])
    .collect();
    let mut q = Vec::new();
    for pattern in patterns {
        for path in &paths {
            q.push(Query::ReSearch {
                pattern: pattern.to_owned(),
                path: path.clone(),
            });
        }
    }
    q
}
