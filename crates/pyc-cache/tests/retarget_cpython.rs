//! The cache serves one entry at every path a module is installed at, by
//! splicing the asked-for `co_filename` into the bytes compiled for
//! another path. Proof against real CPython, for every supported release
//! line: each interpreter compiles its own standard library twice, under
//! two different file names, in two fresh processes that compile the same
//! files in the same order (so process state, which 3.13 and later let
//! into the bytes, is the same); what was compiled for the first name,
//! re-targeted to the second, must be the bytes compiled for the second,
//! at optimization levels 0 and 2.

use std::path::{Path, PathBuf};
use std::process::Command;

use compileall_tests::pythons::{self, SUPPORTED};

/// Compiles every source under `lib` with `co_filename` = `prefix` +
/// its path inside `lib`, writing `marshal.dumps(code)` to `out`, one file
/// per source and level, in sorted order.
const COMPILE: &str = r#"
import marshal, os, sys
lib, prefix, out = sys.argv[1:4]
n = 0
for root, dirs, files in os.walk(lib):
    # The standard library itself: not its test suite, not installed packages.
    dirs[:] = sorted(d for d in dirs if root != lib or d not in ("test", "site-packages", "dist-packages", "idlelib", "lib2to3"))
    for name in sorted(files):
        if not name.endswith(".py"):
            continue
        path = os.path.join(root, name)
        if not os.path.isfile(path):  # Debian's dangling sitecustomize.py link
            continue
        rel = os.path.relpath(path, lib)
        with open(path, "rb") as f:
            source = f.read()
        for level in (0, 2):
            try:
                code = compile(source, prefix + rel, "exec", dont_inherit=True, optimize=level)
            except (SyntaxError, ValueError):
                break
            with open(os.path.join(out, "%d-%s" % (level, rel.replace("/", "%"))), "wb") as f:
                f.write(marshal.dumps(code))
            n += 1
print(n)
"#;

fn compile_all(python: &Path, lib: &Path, prefix: &str, out: &Path) -> usize {
    std::fs::create_dir_all(out).unwrap();
    let output = Command::new(python)
        .args(["-I", "-c", COMPILE])
        .arg(lib)
        .arg(prefix)
        .arg(out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn retargeted_entries_are_the_bytes_compiled_for_the_other_name() {
    for version in SUPPORTED {
        let Some(python) = pythons::require(version, "retarget_cpython") else {
            continue;
        };
        let tmp = tempfile::tempdir().unwrap();
        let (first, second) = (tmp.path().join("first"), tmp.path().join("second"));
        // Different lengths, and one long enough for the long ASCII form.
        let long = format!("/opt/{}/site-packages/", "x".repeat(300));
        let compiled = compile_all(&python.executable, &python.stdlib, "/usr/lib/py/", &first);
        let again = compile_all(&python.executable, &python.stdlib, &long, &second);
        assert_eq!(compiled, again);
        assert!(compiled > 500, "CPython {version} compiled only {compiled}");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&first)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        names.sort();
        let mut mismatched = Vec::new();
        for path in &names {
            let name = path.file_name().unwrap();
            let bytes = std::fs::read(path).unwrap();
            let expected = std::fs::read(second.join(name)).unwrap();
            let located = pymarshal::retarget::locate(&bytes)
                .unwrap_or_else(|err| panic!("{version} {}: {err}", path.display()));
            let rel = name.to_str().unwrap()[2..].replace('%', "/");
            assert_eq!(located.filename(), format!("/usr/lib/py/{rel}"));
            if located.retarget(&bytes, &format!("{long}{rel}")) != expected {
                mismatched.push(rel);
            }
        }
        eprintln!(
            "CPython {}: {} compiled modules re-targeted, {} differ",
            python.full_version,
            names.len(),
            mismatched.len()
        );
        assert!(mismatched.is_empty(), "CPython {version}: {mismatched:?}");
    }
}
