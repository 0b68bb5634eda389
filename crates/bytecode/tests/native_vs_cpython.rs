//! The native backend against real CPython 3.14, source by source: on
//! thousands of snippets from CPython's own test suite (most of them
//! invalid Python) and on hostile sources, every source the native backend
//! compiles must give the code objects CPython's py_compile gives, and
//! every source CPython refuses or warns about must go to CPython.

use std::path::{Path, PathBuf};
use std::process::Command;

use bytecode::cpython::{CpythonPool, PoolOptions};
use bytecode::native::NativeCompiler;
use bytecode::{CompileOutput, CompileRequest, CompiledBy, Compiler, CompilerProcess};

/// Optimization levels every source is compiled at.
const LEVELS: &[i32] = &[0, 1, 2];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The provisioned CPython 3.14, or `None` after a loud skip message.
fn python314() -> Option<PathBuf> {
    let python = workspace_root().join(".pythons/cpython-3.14/usr/bin/python3.14");
    if python.is_file() {
        Some(python)
    } else {
        eprintln!(
            "SKIPPED: CPython 3.14 is not provisioned at {} (run `cargo xtask pythons`)",
            python.display()
        );
        None
    }
}

/// What went wrong with one source, for the final report.
struct Mismatch {
    source: Vec<u8>,
    problem: String,
}

/// Compiles `source` both ways; a mismatch if the native backend compiled
/// it and the result is not CPython's.
fn compare<F: Compiler>(native: &NativeCompiler<F>, source: &[u8]) -> Result<bool, Mismatch> {
    let request = CompileRequest {
        source,
        filename: Path::new("snippet.py"),
        dfile: None,
        optimizations: LEVELS,
        process: CompilerProcess::Main,
    };
    let fail = |problem: String| Mismatch {
        source: source.to_vec(),
        problem,
    };
    let ours = native
        .compile(&request)
        .map_err(|err| fail(format!("native backend error: {err}")))?;
    if ours.compiled_by != CompiledBy::Native {
        return Ok(false);
    }
    let cpython = native
        .fallback()
        .compile(&request)
        .map_err(|err| fail(format!("CPython backend error: {err}")))?;
    if !cpython.warnings.is_empty() {
        return Err(fail(format!(
            "CPython warns, native compiled: {}",
            String::from_utf8_lossy(&cpython.warnings)
        )));
    }
    same_code(&ours, &cpython).map_err(fail)?;
    Ok(true)
}

/// Both outputs hold, level by level, equal code objects.
fn same_code(ours: &CompileOutput, cpython: &CompileOutput) -> Result<(), String> {
    if cpython.levels.len() != ours.levels.len() {
        return Err(format!("CPython compiled {} levels", cpython.levels.len()));
    }
    for (level, (mine, theirs)) in LEVELS.iter().zip(ours.levels.iter().zip(&cpython.levels)) {
        let theirs = match theirs {
            Ok(bytes) => bytes,
            Err(error) => {
                return Err(format!(
                    "CPython refuses, native compiled (-O{level}): {}",
                    String::from_utf8_lossy(&error.message)
                ));
            }
        };
        let mine = mine.as_ref().expect("native levels are all compiled");
        let (mine, theirs) = (pymarshal::read(mine), pymarshal::read(theirs));
        let (mine, theirs) = (
            mine.map_err(|e| e.to_string())?,
            theirs.map_err(|e| e.to_string())?,
        );
        if let Some(difference) = pymarshal::first_difference(&theirs, &mine) {
            return Err(format!("code objects differ at -O{level}: {difference}"));
        }
    }
    Ok(())
}

fn report(mismatches: &[Mismatch]) -> String {
    mismatches
        .iter()
        .take(20)
        .map(|m| {
            format!(
                "{}\n    source: {:?}\n",
                m.problem,
                String::from_utf8_lossy(&m.source)
            )
        })
        .collect()
}

fn native_backend(python: &Path) -> NativeCompiler<CpythonPool> {
    let pool = CpythonPool::start(python, PoolOptions::default()).expect("CPython 3.14 starts");
    NativeCompiler::new(pool, 1).expect("a 3.14 target")
}

#[test]
fn snippets_of_cpythons_test_suite() {
    let Some(python) = python314() else { return };
    let test_dir = python.parent().unwrap().join("../lib/python3.14/test");
    if !test_dir.is_dir() {
        eprintln!(
            "SKIPPED: CPython 3.14's test suite is not installed at {}",
            test_dir.display()
        );
        return;
    }
    let listing = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snippets.py"))
        .arg(&test_dir)
        .output()
        .expect("python3.14 runs");
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let snippets: Vec<Vec<u8>> = String::from_utf8(listing.stdout)
        .unwrap()
        .lines()
        .map(decode_hex)
        .collect();
    assert!(snippets.len() > 1000, "only {} snippets", snippets.len());

    let native = native_backend(&python);
    let mut compiled = 0;
    let mut mismatches = Vec::new();
    for snippet in &snippets {
        match compare(&native, snippet) {
            Ok(natively) => compiled += usize::from(natively),
            Err(mismatch) => mismatches.push(mismatch),
        }
    }
    eprintln!(
        "{} snippets, {compiled} compiled natively, {} mismatches",
        snippets.len(),
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", report(&mismatches));
}

/// Sources built to break a compiler: each must compile to CPython's code
/// objects or go to CPython, and never crash or hang the process.
#[test]
fn hostile_sources() {
    let Some(python) = python314() else { return };
    let native = native_backend(&python);
    let mut mismatches = Vec::new();
    for source in hostile() {
        if let Err(mismatch) = compare(&native, &source) {
            mismatches.push(mismatch);
        }
    }
    assert!(mismatches.is_empty(), "{}", report(&mismatches));
}

fn hostile() -> Vec<Vec<u8>> {
    let repeat = |unit: &str, n: usize| unit.repeat(n);
    let mut sources: Vec<String> = vec![
        format!("x = {}1{}\n", repeat("(", 199), repeat(")", 199)),
        format!("x = {}1{}\n", repeat("(", 201), repeat(")", 201)),
        format!("x = {}1{}\n", repeat("[", 250), repeat("]", 250)),
        format!("x = 1{}\n", repeat(" + 1", 5_000)),
        format!("x = 1{}\n", repeat(" + 1", 200_000)),
        format!("x = a{}\n", repeat(".b", 100_000)),
        format!("x = -{}1\n", repeat("-", 100_000)),
        format!("x = [{}]\n", (0..50_000).map(|i| i.to_string()).collect::<Vec<_>>().join(", ")),
        format!("x = '{}'\n", repeat("a", 1_000_000)),
        format!("x = 1{}\n", repeat("0", 5_000)),
        "x = 1if True else 2\n".into(),
        "x = 0x1for\n".into(),
        "s = '\\d'\n".into(),
        "s = b'\\N{DIGIT ONE}'\n".into(),
        "s = '\\N{DIGIT ONE}\\N{EM DASH}\\N{em dash}'\n".into(),
        "s = '\\ud800'\n".into(),
        "s = '\\ud83d\\ude00'\n".into(),
        "s = '\\400'\n".into(),
        "if x:\n\tpass\n        pass\n".into(),
        "if x:\n        pass\n\tpass\n".into(),
        "x = 1\n\x0cy = 2\n".into(),
        "def f(): x = 1;\n".into(),
        "class C: pass;  # c\n".into(),
        "é = 1\n".into(),
        "ﬁ = 1\n".into(),
        "x = f'{1 = }'\n".into(),
        "x = f'''{(1,  # c\n 2)=}'''\n".into(),
        "async def f():\n    return all(await x for x in y)\n".into(),
        "for x in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32): pass\n".into(),
        "def f():\n    try:\n        pass\n    finally:\n        return 1\n".into(),
        "assert (x, 'message')\n".into(),
        "x is 1\n".into(),
        "nonlocal x\n".into(),
        "return 1\n".into(),
        "def f(a, a): pass\n".into(),
        "from __future__ import braces\n".into(),
        "x = 1\nfrom __future__ import annotations\n".into(),
        "def f[T](x: T) -> T: return x\n".into(),
        "type A[T] = list[T]\n".into(),
        "x = {1, 1.0, True, 1 + 0j}\n".into(),
        "x = {0.0, -0.0, 0, False, 0j, (1, 2), (1.0, 2), 'a', b'a'}\n".into(),
        "x = {2**70, 2.0**70, float('nan')}\n".into(),
        "x = 1 in {1, 1.0}\n".into(),
        "def f():\n    return [x := i for i in range(3) if (x := i) or not x]\n".into(),
        "def f():\n    return [y for i in range(3) if (y := i)]\n".into(),
        "def f():\n    total = 0\n    return [total := total + v for v in range(3)]\n".into(),
        "class C:\n    z = [w for i in range(3) if (w := i)]\n".into(),
        "def g():\n    return {k: (m := k) for k in 'ab'}, m\n".into(),
        "def g():\n    def h():\n        return [q for q in range(3) if (r := q)]\n    return h\n".into(),
        "if any((n := x) > 1 for x in range(3)): pass\n".into(),
        "x = 1e1000\n".into(),
        "x = -1e1000\n".into(),
        "x = 1e1000j\n".into(),
        "x = 3+1e1000j\n".into(),
        "x = 1e1000 - 1e1000\n".into(),
        "x = 2 * 1e1000\n".into(),
        "x = 1e1000 * 0\n".into(),
        "x = (1e1000, -1e1000, 1e1000j)\n".into(),
        "x = -(1e1000j)\n".into(),
        "x = 1e1000 + 1e1000j\n".into(),
    ];
    let indent = |n: usize| {
        (0..n)
            .map(|i| format!("{}if x:\n", " ".repeat(i)))
            .collect::<String>()
    };
    sources.push(format!("{}{}pass\n", indent(99), " ".repeat(99)));
    sources.push(format!("{}{}pass\n", indent(101), " ".repeat(101)));
    let mut bytes: Vec<Vec<u8>> = sources.into_iter().map(String::into_bytes).collect();
    bytes.extend([
        b"x = 1\x00\n".to_vec(),
        b"\xef\xbb\xbf# coding: latin-1\nx = 1\n".to_vec(),
        b"\xef\xbb\xbfx = '\xc3\xa9'\r\n".to_vec(),
        b"# coding: latin-1\nx = '\xe9'\n".to_vec(),
        b"# coding: cp1252\nx = '\x80'\n".to_vec(),
        b"x = '\xff'\n".to_vec(),
        b"s = '''a\r\nb\rc'''\r\n".to_vec(),
    ]);
    bytes
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}
