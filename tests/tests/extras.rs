//! What `compileall` does beyond `python -m compileall`: `--check`,
//! `--report json`, `inspect`, several targets in one run, completions and
//! the man page, and the library used from a program. Each is judged by
//! what real CPython wrote or accepts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use compileall_tests::pythons;
use compileall_tests::runs::{cpython, ours, text};
use compileall_tests::scenarios::{self, Tree};
use serde_json::Value;

fn sample() -> Tree {
    Tree::new()
        .file("pkg/__init__.py", "")
        .file("pkg/a.py", "x = 1\n")
        .file("pkg/b.py", "def f():\n    \"\"\"doc\"\"\"\n    assert f\n")
        .file("pkg/bad.py", "def f(:\n")
        .file("pkg/data.txt", "text\n")
        .file("pkg/skip_me.py", "y = 2\n")
        .fifo("pkg/fifo.py")
}

fn touch(path: &Path, contents: &str) {
    std::fs::write(path, contents).unwrap();
    let later = SystemTime::now() + Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(later)
        .unwrap();
}

/// `--check` agrees with CPython: every source lacks a pyc before CPython
/// compiles; CPython's own pycs pass; a changed source, a corrupted pyc and
/// a pyc of another invalidation mode are each reported; nothing is ever
/// written.
#[test]
fn check_agrees_with_cpython() {
    let Some(python) = pythons::require("3.14", "--check") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    sample().build(root);
    let tag = &python.cache_tag;
    let sources = [
        "pkg/__init__.py",
        "pkg/a.py",
        "pkg/b.py",
        "pkg/bad.py",
        "pkg/skip_me.py",
    ];

    let before = ours(&python, root, &["--check", "pkg"]);
    assert_eq!(before.status.code(), Some(1));
    let listed = text(&before.stdout);
    for source in sources {
        assert!(
            listed.contains(&format!("{source}: missing")),
            "{source} not listed:\n{listed}"
        );
    }
    assert!(
        !root.join("pkg/__pycache__").exists(),
        "--check wrote something"
    );

    // CPython compiles (bad.py fails, so it stays missing).
    cpython(&python, root, &["-q", "pkg"]);
    let after = ours(&python, root, &["--check", "pkg"]);
    assert_eq!(
        text(&after.stdout).trim(),
        format!("pkg/bad.py: missing pkg/__pycache__/bad.{tag}.pyc (no such file)")
    );
    let after = ours(&python, root, &["--check", "-x", "bad", "pkg"]);
    assert_eq!(after.status.code(), Some(0), "{}", text(&after.stdout));
    assert!(after.stdout.is_empty());

    touch(&root.join("pkg/a.py"), "x = 2\n");
    std::fs::write(
        root.join(format!("pkg/__pycache__/b.{tag}.pyc")),
        b"garbage",
    )
    .unwrap();
    let problems = text(&ours(&python, root, &["--check", "-x", "bad", "pkg"]).stdout);
    assert!(
        problems.contains(&format!("pkg/a.py: stale pkg/__pycache__/a.{tag}.pyc")),
        "{problems}"
    );
    assert!(
        problems.contains(&format!("pkg/b.py: invalid pkg/__pycache__/b.{tag}.pyc")),
        "{problems}"
    );
    assert_eq!(problems.lines().count(), 2, "{problems}");

    // Checked-hash pycs written by CPython pass only in that mode.
    cpython(
        &python,
        root,
        &[
            "-q",
            "-f",
            "--invalidation-mode",
            "checked-hash",
            "-x",
            "bad",
            "pkg",
        ],
    );
    let hashed = ours(
        &python,
        root,
        &[
            "--check",
            "--invalidation-mode",
            "checked-hash",
            "-x",
            "bad",
            "pkg",
        ],
    );
    assert_eq!(hashed.status.code(), Some(0), "{}", text(&hashed.stdout));
    let timestamp = ours(&python, root, &["--check", "-x", "bad", "pkg"]);
    assert_eq!(timestamp.status.code(), Some(1));
    assert!(text(&timestamp.stdout).contains("hash-based, timestamp requested"));
}

/// `--report json`: one JSON document on stdout, with an entry per path in
/// compileall's order; its verdicts and messages are CPython's.
#[test]
fn json_report_tells_what_cpython_did() {
    let Some(python) = pythons::require("3.14", "--report json") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (theirs, mine) = (dir.path().join("cpython"), dir.path().join("ours"));
    for root in [&theirs, &mine] {
        sample().build(root);
        // One source already compiled, so one is up to date.
        cpython(&python, root, &["-q", "pkg/__init__.py"]);
    }
    let cpython_output = cpython(&python, &theirs, &["-x", "skip_me", "pkg"]);
    let output = ours(
        &python,
        &mine,
        &["--report", "json", "-x", "skip_me", "pkg"],
    );
    assert_eq!(output.status.code(), cpython_output.status.code());
    let report: Value =
        serde_json::from_slice(&output.stdout).expect("stdout is one JSON document");
    assert_eq!(report["schema"], "compileall-report/1");
    assert_eq!(report["exit_code"], 1);
    let run = &report["runs"][0];
    assert_eq!(run["version"], python.full_version.as_str());
    let files: Vec<(String, String)> = run["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["source"].as_str().unwrap().to_owned(),
                f["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("pkg/__init__.py", "up_to_date"),
        ("pkg/a.py", "compiled"),
        ("pkg/b.py", "compiled"),
        ("pkg/bad.py", "failed"),
        ("pkg/data.txt", "skipped"),
        ("pkg/fifo.py", "skipped"),
        ("pkg/skip_me.py", "skipped"),
    ];
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(files, expected);
    assert_eq!(
        run["counts"],
        serde_json::json!({"compiled": 2, "up_to_date": 1, "skipped": 3, "failed": 1})
    );
    let reasons: Vec<&str> = run["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["reason"].as_str())
        .collect();
    assert_eq!(reasons, ["not_python", "not_a_file", "excluded"]);
    // The failure's message is the one CPython printed after "*** ".
    let cpython_stdout = text(&cpython_output.stdout);
    let start = cpython_stdout.find("*** ").unwrap() + 4;
    let end = cpython_stdout[start..]
        .find("\nListing")
        .map_or(cpython_stdout.len(), |i| start + i);
    let failed = &run["files"][3];
    assert_eq!(
        failed["error"].as_str().unwrap().trim_end(),
        cpython_stdout[start..end].trim_end()
    );
    // Both compiled the same files.
    for name in ["a", "b"] {
        let pyc = format!("pkg/__pycache__/{name}.{}.pyc", python.cache_tag);
        assert_eq!(
            std::fs::read(theirs.join(&pyc)).unwrap(),
            std::fs::read(mine.join(&pyc)).unwrap()
        );
    }
}

/// `--report json --report-file`: the report goes to the file, CPython's
/// output stays on stdout.
#[test]
fn json_report_to_a_file_keeps_the_output() {
    let Some(python) = pythons::require("3.14", "--report-file") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (theirs, mine) = (dir.path().join("cpython"), dir.path().join("ours"));
    for root in [&theirs, &mine] {
        sample().build(root);
    }
    let expected = cpython(&python, &theirs, &["pkg"]);
    let report_path = dir.path().join("report.json");
    let output = ours(
        &python,
        &mine,
        &[
            "--report",
            "json",
            "--report-file",
            report_path.to_str().unwrap(),
            "pkg",
        ],
    );
    assert_eq!(text(&output.stdout), text(&expected.stdout));
    let report: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["runs"][0]["counts"]["compiled"], 4);
}

/// `inspect` reports what importlib sees: CPython's magic, the source's
/// mtime and size or hash, and importlib's verdict and message once the
/// source changes.
#[test]
fn inspect_reads_headers_as_importlib_does() {
    let Some(python) = pythons::require("3.14", "inspect") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    Tree::new()
        .file("m.py", "x = 1\n")
        .file("h.py", "y = 2\n")
        .build(root);
    cpython(&python, root, &["-q", "m.py"]);
    cpython(
        &python,
        root,
        &["-q", "--invalidation-mode", "unchecked-hash", "h.py"],
    );
    let pyc = |name: &str| format!("__pycache__/{name}.{}.pyc", python.cache_tag);
    let facts = Command::new(&python.executable)
        .args([
            "-c",
            "import importlib.util, os, sys; st = os.stat('m.py'); \
             print(int.from_bytes(importlib.util.MAGIC_NUMBER[:2], 'little')); print(int(st.st_mtime)); \
             print(importlib.util.source_hash(open('h.py', 'rb').read()).hex())",
        ])
        .current_dir(root)
        .output()
        .unwrap();
    let facts = text(&facts.stdout);
    let facts: Vec<&str> = facts.lines().collect();
    let inspect = |args: &[&str]| {
        let output = Command::new(scenarios::binary())
            .arg("inspect")
            .arg("--python")
            .arg(&python.executable)
            .args(args)
            .current_dir(root)
            .output()
            .unwrap();
        text(&output.stdout)
    };
    let shown = inspect(&[&pyc("m"), &pyc("h")]);
    assert!(
        shown.contains(&format!("magic:   {} (CPython 3.14", facts[0])),
        "{shown}"
    );
    assert!(shown.contains(&format!("mtime:   {}", facts[1])), "{shown}");
    assert!(shown.contains("source size: 6 bytes"), "{shown}");
    assert!(shown.contains(&format!("hash:    {}", facts[2])), "{shown}");
    assert!(shown.contains("(unchecked hash)"), "{shown}");
    assert_eq!(shown.matches("(valid)").count(), 2, "{shown}");
    assert!(shown.contains("STORE_NAME"), "no disassembly:\n{shown}");
    // The body read without an interpreter: `x = 1` is one code object,
    // compiled by CPython as `m.py`.
    assert!(
        shown.contains("code:    1 code objects, file \"m.py\""),
        "{shown}"
    );

    touch(&root.join("m.py"), "x = 22\n");
    let verdict = Command::new(&python.executable)
        .args([
            "-c",
            "import importlib._bootstrap_external as b, os, sys\n\
             data = open(sys.argv[1], 'rb').read(); st = os.stat('m.py')\n\
             try:\n    b._validate_timestamp_pyc(data, int(st.st_mtime), st.st_size, 'm.py', {})\n\
             except ImportError as e:\n    print(e)",
            &pyc("m"),
        ])
        .current_dir(root)
        .output()
        .unwrap();
    let shown = inspect(&["--no-disassembly", &pyc("m")]);
    let message = text(&verdict.stdout);
    assert!(!message.trim().is_empty());
    assert!(
        shown.contains(&format!("(NOT valid: {})", message.trim())),
        "{shown}"
    );
}

/// Several `--python`s: each interpreter's pycs, as each CPython writes
/// them, and each CPython's output in turn.
#[test]
fn several_targets_in_one_run() {
    let (Some(older), Some(newer)) = (
        pythons::require("3.13", "several targets"),
        pythons::require("3.14", "several targets"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let roots: Vec<PathBuf> = ["a", "b", "ours"]
        .iter()
        .map(|n| dir.path().join(n).join("t"))
        .collect();
    for root in &roots {
        sample().build(root);
    }
    let first = cpython(&older, &roots[0], &["pkg"]);
    let second = cpython(&newer, &roots[1], &["pkg"]);
    let output = Command::new(scenarios::binary())
        .arg("--python")
        .arg(&older.executable)
        .arg("--python")
        .arg(&newer.executable)
        .arg("pkg")
        .current_dir(&roots[2])
        .output()
        .unwrap();
    assert_eq!(
        text(&output.stdout),
        text(&first.stdout) + &text(&second.stdout)
    );
    assert_eq!(output.status.code(), Some(1));
    for (python, root) in [(&older, &roots[0]), (&newer, &roots[1])] {
        for name in ["__init__", "a", "b", "skip_me"] {
            let pyc = format!("pkg/__pycache__/{name}.{}.pyc", python.cache_tag);
            assert_eq!(
                std::fs::read(root.join(&pyc)).unwrap(),
                std::fs::read(roots[2].join(&pyc)).unwrap(),
                "{pyc}"
            );
        }
    }
}

/// Completion scripts and the man page come from the same definition as
/// the parser: every flag is in them.
#[test]
fn completions_and_man_page_cover_every_flag() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = Command::new(scenarios::binary())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(output.status.success(), "{shell}");
        let script = text(&output.stdout);
        for flag in [
            "hardlink-dupes",
            "invalidation-mode",
            "python",
            "check",
            "report",
        ] {
            assert!(script.contains(flag), "{shell} completions lack {flag}");
        }
    }
    let man = Command::new(scenarios::binary())
        .arg("man")
        .output()
        .unwrap();
    let man = text(&man.stdout);
    assert!(man.contains(".TH compileall"));
    assert!(man.contains("hardlink\\-dupes"));
    let version = text(
        &Command::new(scenarios::binary())
            .arg("--version")
            .output()
            .unwrap()
            .stdout,
    );
    assert!(
        version.starts_with(&format!("compileall {}", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    for tested in pythons::SUPPORTED {
        assert!(version.contains(tested), "{version}");
    }
}

/// `--check --report json`: the report carries exactly the problems the
/// human `--check` prints, and stdout holds nothing but the report.
#[test]
fn check_report_lists_the_problems() {
    let Some(python) = pythons::require("3.14", "--check --report json") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    sample().build(root);
    // CPython compiles all but bad.py; then one source changes.
    cpython(&python, root, &["-q", "pkg"]);
    touch(&root.join("pkg/a.py"), "x = 2\n");
    let human = ours(&python, root, &["--check", "pkg"]);
    let json = ours(&python, root, &["--check", "--report", "json", "pkg"]);
    assert_eq!(json.status.code(), human.status.code());
    assert_eq!(human.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&json.stdout).expect("stdout is one JSON document");
    assert_eq!(report["exit_code"], 1);
    let problems = report["runs"][0]["problems"].as_array().unwrap();
    let lines: Vec<String> = problems
        .iter()
        .map(|p| {
            format!(
                "{}: {} {} ({})",
                p["source"].as_str().unwrap(),
                p["kind"].as_str().unwrap(),
                p["pyc"].as_str().unwrap(),
                p["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(lines, text(&human.stdout).lines().collect::<Vec<_>>());
    let kinds: Vec<&str> = problems
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["stale", "missing"],
        "a.py changed, bad.py never compiled"
    );
}

/// A list that cannot be read: CPython's exit status, and with the report
/// on stdout, stdout is still nothing but the report (which says why).
#[test]
fn report_on_stdout_stays_pure_when_the_run_fails_early() {
    let Some(python) = pythons::require("3.14", "--report json errors") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    sample().build(dir.path());
    let expected = cpython(&python, dir.path(), &["-i", "no-such-list.txt"]);
    let output = ours(
        &python,
        dir.path(),
        &["--report", "json", "-i", "no-such-list.txt"],
    );
    assert_eq!(output.status.code(), expected.status.code());
    let report: Value =
        serde_json::from_slice(&output.stdout).expect("stdout is one JSON document");
    assert_eq!(
        report["runs"][0]["error"].as_str().unwrap(),
        text(&expected.stdout).trim_end()
    );
}

/// `compileall completions bash | head -1` and the same for `man`: a reader
/// that stops early is not an error. The pipe's reading end is closed
/// before the program starts, so every write meets a closed pipe.
#[test]
fn completions_and_man_page_survive_a_closed_pipe() {
    for args in [&["completions", "bash"][..], &["man"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = Command::new(scenarios::binary())
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&output.stderr)
        );
    }
}

/// The library example (under 30 lines) compiles a directory exactly as
/// `python -m compileall -q` does.
#[test]
fn library_example_compiles_like_cpython() {
    let Some(python) = pythons::require("3.14", "library example") else {
        return;
    };
    let example = scenarios::binary()
        .parent()
        .unwrap()
        .join("examples/compile_dir");
    assert!(
        example.is_file(),
        "{} missing: cargo t --workspace builds it",
        example.display()
    );
    let source = include_str!("../../crates/compileall-cli/examples/compile_dir.rs");
    assert!(source.lines().count() < 30);
    let dir = tempfile::tempdir().unwrap();
    let (theirs, mine) = (dir.path().join("c/t"), dir.path().join("o/t"));
    for root in [&theirs, &mine] {
        sample().build(root);
    }
    let expected = cpython(&python, &theirs, &["-q", "pkg"]);
    let output = Command::new(&example)
        .arg(&python.executable)
        .arg("pkg")
        .current_dir(&mine)
        .output()
        .unwrap();
    assert_eq!(text(&output.stdout), text(&expected.stdout));
    assert_eq!(output.status.code(), expected.status.code());
    assert_eq!(scenarios::snapshot(&theirs), scenarios::snapshot(&mine));
}

/// With the interpreter's handshake on record, a run the native backend
/// can do alone starts no interpreter: nothing to do, or sources it
/// compiles itself. Anything the record depends on (here an environment
/// variable) makes the run ask the interpreter again, and a source the
/// native backend declines starts it when needed. The pycs are CPython's.
#[test]
fn recorded_interpreter_starts_only_when_needed() {
    let Some(python) = pythons::require("3.14", "interpreter records") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let starts = scratch.path().join("starts");
    let wrapper = scratch.path().join("python");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho started >> '{}'\nexec '{}' \"$@\"\n",
            starts.display(),
            python.executable.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let tree = scratch.path().join("t");
    Tree::new().file("pkg/a.py", "x = 1\n").build(&tree);
    let run = |extra_env: Option<(&str, &str)>| {
        let mut command = Command::new(scenarios::binary());
        command
            .arg("--python")
            .arg(&wrapper)
            .args(["-q", "pkg"])
            .env("XDG_CACHE_HOME", scratch.path().join("cache"))
            .current_dir(&tree);
        if let Some((name, value)) = extra_env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        std::fs::read_to_string(&starts)
            .unwrap_or_default()
            .lines()
            .count()
    };
    assert_eq!(run(None), 1, "the first run asks the interpreter");
    assert_eq!(run(None), 1, "nothing to do: no interpreter");
    touch(&tree.join("pkg/a.py"), "x = 2\n");
    assert_eq!(run(None), 1, "compiled natively: no interpreter");
    assert_eq!(
        run(Some(("COMPILEALL_TEST", "1"))),
        2,
        "another environment: asked again"
    );
    touch(&tree.join("pkg/b.py"), "def f(:\n");
    let output = Command::new(scenarios::binary())
        .arg("--python")
        .arg(&wrapper)
        .args(["-q", "pkg"])
        .env("XDG_CACHE_HOME", scratch.path().join("cache"))
        .current_dir(&tree)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stdout).contains("SyntaxError: invalid syntax"),
        "{}",
        text(&output.stdout)
    );
    let count = std::fs::read_to_string(&starts).unwrap().lines().count();
    assert_eq!(count, 3, "a syntax error goes to CPython, which starts");
    // What the runs wrote is what CPython writes.
    let pyc = tree.join("pkg/__pycache__/a.cpython-314.pyc");
    let ours_pyc = std::fs::read(&pyc).unwrap();
    std::fs::remove_file(&pyc).unwrap();
    cpython(&python, &tree, &["-q", "pkg/a.py"]);
    assert_eq!(std::fs::read(&pyc).unwrap(), ours_pyc);
}
