//! The writer against CPython on real code: every `.py` of CPython 3.14's
//! standard library and test suite, compiled by `python3.14 -m compileall
//! -j 1` at optimization levels 0, 1 and 2, must come out of
//! `write(read(body))` byte for byte, and again after every immortal object
//! got its own `Arc` (`common::unshare_immortals`) and after equal bytecode
//! got one `Arc` (`common::merge_co_code`).
//!
//! Run alone, with its figures:
//! `CARGO_TARGET_DIR=/work/target-marshal cargo t -p pymarshal --test cpython_stdlib -- --nocapture`

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Pycs whose bytes the writer is known not to reproduce, with the reason.
/// Empty: every rule CPython 3.14 applies to the standard library is
/// visible in the graph.
const KNOWN_EXCEPTIONS: &[(&str, &str)] = &[];

const LEVELS: [&str; 3] = ["", ".opt-1", ".opt-2"];

#[test]
fn stdlib_and_test_suite_round_trip_byte_for_byte() {
    let Some(python) = common::python("stdlib_and_test_suite_round_trip_byte_for_byte") else {
        return;
    };
    let lib = python.parent().unwrap().join("../lib/python3.14");
    let lib = lib
        .canonicalize()
        .expect("the stdlib folder of the provisioned CPython");
    let prefix = tempfile::tempdir().unwrap();
    compile_all(&python, &lib, prefix.path());

    let mut sources = Vec::new();
    collect_sources(&lib, &mut sources);
    assert!(
        sources.len() > 1000,
        "only {} sources under {}",
        sources.len(),
        lib.display()
    );

    let mut pycs = Vec::new();
    let mut not_compiled = Vec::new();
    for source in &sources {
        let found: Vec<PathBuf> = LEVELS
            .iter()
            .map(|tag| pyc_path(prefix.path(), source, tag))
            .filter(|pyc| pyc.is_file())
            .collect();
        if found.is_empty() {
            not_compiled.push(source.clone());
        }
        pycs.extend(found);
    }

    let failures = check_in_parallel(&pycs);
    let (known, unexpected): (Vec<_>, Vec<_>) = failures
        .iter()
        .partition(|(pyc, _)| KNOWN_EXCEPTIONS.iter().any(|(name, _)| pyc.ends_with(name)));
    eprintln!(
        "{} sources: {} pycs written by CPython {}, {} identical after read+write, after unsharing \
         immortals and after merging co_code; {} known exceptions; {} sources CPython could not compile (skipped)",
        sources.len(),
        pycs.len(),
        std::fs::read_to_string(common::fixture("version.txt"))
            .unwrap_or_default()
            .trim(),
        pycs.len() - failures.len(),
        known.len(),
        not_compiled.len(),
    );
    for (pyc, reason) in &known {
        eprintln!("known exception: {}: {reason}", pyc.display());
    }
    assert!(
        unexpected.is_empty(),
        "{} of {} pycs differ:\n{}",
        unexpected.len(),
        pycs.len(),
        unexpected
            .iter()
            .take(20)
            .map(|(p, r)| format!("{}: {r}\n", p.display()))
            .collect::<String>()
    );
    // Bad-syntax and bad-encoding test data only: a handful.
    assert!(
        not_compiled.len() < 50,
        "{} sources not compiled: {not_compiled:?}",
        not_compiled.len()
    );
}

/// `python3.14 -m compileall -q -j 1 -o 0 -o 1 -o 2 LIB` with the pycs
/// redirected under `prefix` (the provisioned tree stays untouched).
fn compile_all(python: &Path, lib: &Path, prefix: &Path) {
    let status = Command::new(python)
        .env_clear()
        .arg("-X")
        .arg(format!("pycache_prefix={}", prefix.display()))
        .args([
            "-m",
            "compileall",
            "-q",
            "-j",
            "1",
            "-o",
            "0",
            "-o",
            "1",
            "-o",
            "2",
        ])
        .arg(lib)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run compileall");
    // compileall exits 1 when some file did not compile, which the stdlib's
    // bad-syntax test data guarantees.
    assert!(status.code().is_some(), "compileall killed: {status}");
}

fn collect_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        // compileall follows symbolic links (os.path.isdir/isfile).
        let path = entry.path();
        if path.is_dir() && entry.file_name() != "__pycache__" {
            collect_sources(&path, out);
        } else if path.is_file() && path.extension().is_some_and(|e| e == "py") {
            out.push(path);
        }
    }
}

/// Where `sys.pycache_prefix` puts the pyc of `source`.
fn pyc_path(prefix: &Path, source: &Path, tag: &str) -> PathBuf {
    let dir = source.parent().unwrap().strip_prefix("/").unwrap();
    let stem = source.file_stem().unwrap().to_str().unwrap();
    prefix
        .join(dir)
        .join(format!("{stem}.cpython-314{tag}.pyc"))
}

fn check_in_parallel(pycs: &[PathBuf]) -> Vec<(PathBuf, String)> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let chunk = pycs.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = pycs
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|pyc| check(pyc).err().map(|e| (pyc.clone(), e)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

fn check(pyc: &Path) -> Result<(), String> {
    let data = std::fs::read(pyc).map_err(|e| e.to_string())?;
    let body = data.get(16..).ok_or("shorter than a header")?;
    let root = pymarshal::read(body).map_err(|e| format!("read: {e}"))?;
    let written = pymarshal::write(&root);
    if written != body {
        return Err(format!(
            "write(read(body)) differs at byte {}",
            common::first_mismatch(&written, body)
        ));
    }
    for (variant, graph) in [
        ("immortals unshared", common::unshare_immortals(&root)),
        ("co_code merged", common::merge_co_code(&root)),
    ] {
        let written = pymarshal::write(&graph);
        if written != body {
            let at = common::first_mismatch(&written, body);
            return Err(format!("write(graph with {variant}) differs at byte {at}"));
        }
    }
    Ok(())
}
