//! Bad input, faults and concurrent runs: `compileall` answers bad input as
//! CPython does (same messages, exit status and files), and no fault leaves
//! a broken pyc or a temporary file behind. See docs/reliability.md.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use compileall_tests::pythons::{self, Python};
use compileall_tests::scenarios::{self, PycAgreement, Scenario, Tool, Tree};

const CHECK_PYCS: &str = include_str!("../oracle/check_pycs.py");

/// Runs `scenario` with CPython and with ours and asserts they did the same
/// (the scenario harness's comparison, which hides 3.14's stack depth in
/// `RecursionError` messages); `ordered: false` compares stdout as sorted
/// lines (CPython's `-j N` prints in the order its workers finish), stderr
/// still exactly.
/// How our pycs must agree with CPython's: for 3.14, the native backend
/// writes them (see [`PycAgreement`]).
fn agreement(python: &Python) -> PycAgreement {
    if python.version == "3.14" {
        PycAgreement::CodeObjects
    } else {
        PycAgreement::Bytes
    }
}

fn assert_same(what: &str, python: &Python, scenario: &Scenario, ordered: bool) {
    let run = |tool| {
        let record = scenarios::execute(python, scenario, tool);
        assert!(!record.timed_out, "{what}: {tool:?} hung");
        if ordered {
            record
        } else {
            record.with_sorted_stdout()
        }
    };
    let (cpython, ours) = (run(Tool::Cpython), run(Tool::Ours(&scenarios::binary())));
    let differences = scenarios::differences(scenario, &cpython, &ours, agreement(python));
    assert!(
        differences.is_empty(),
        "{what} under CPython {} ({:?}): {} differences:\n{}",
        python.full_version,
        scenario.args,
        differences.len(),
        differences.join("\n")
    );
}

/// A scenario of this test file, in the order its output is printed.
fn scenario(name: &str, tree: &Tree, args: &[&str]) -> Scenario {
    Scenario {
        unordered: false,
        ..Scenario::new(name, "reliability", tree, args)
    }
}

fn bad_sources() -> Tree {
    let mut huge = b"# ".to_vec();
    huge.resize(50 << 20, b'x');
    huge.extend_from_slice(b"\nx = 1\n");
    Tree::new()
        .file("pkg/__init__.py", "")
        .file("pkg/a_good.py", "x = 1\n")
        .file("pkg/syntax.py", "def f(:\n")
        .file("pkg/indent.py", "if 1:\n  x = 1\n    y = 2\n")
        .file("pkg/tab.py", "if 1:\n        x = 1\n\ty = 2\n")
        .file("pkg/nul.py", b"x = 1\x00\n".to_vec())
        .file(
            "pkg/cookie_unknown.py",
            "# -*- coding: no-such-codec -*-\nx = 1\n",
        )
        .file(
            "pkg/cookie_conflict.py",
            b"\xef\xbb\xbf# -*- coding: latin-1 -*-\nx = 1\n".to_vec(),
        )
        .file(
            "pkg/cookie_twice.py",
            "# coding: latin-1\n# coding: utf-8\nx = '\u{e9}'\n",
        )
        .file("pkg/undecodable.py", b"x = '\xff\xfe'\n".to_vec())
        .file("pkg/warns.py", "x = '\\d'\nassert (x, 'message')\n")
        .file("pkg/empty.py", "")
        .file("pkg/huge.py", huge)
        .file(
            "pkg/recursion.py",
            format!("x = {}1\n", "1+".repeat(200_000)),
        )
        .file("pkg/memory.py", format!("x = {}1\n", "-".repeat(100_000)))
        .file(
            "pkg/parens.py",
            format!("x = {}{}\n", "(".repeat(300), ")".repeat(300)),
        )
        .dir("pkg/dir.py")
        .file("pkg/dir.py/inner.py", "y = 2\n")
        .fifo("pkg/fifo.py")
        .symlink("pkg/dangling.py", "nowhere.py")
        .symlink("pkg/loop.py", "loop.py")
        .file("pkg/z_last.py", "z = 3\n")
}

/// Every kind of bad source, answered exactly as CPython answers it, with
/// the good files around them still compiled.
#[test]
fn bad_sources_are_reported_like_cpython() {
    for version in pythons::SUPPORTED {
        let Some(python) = pythons::require(version, "bad sources") else {
            continue;
        };
        let tree = bad_sources();
        assert_same(
            "bad sources",
            &python,
            &scenario("bad_sources", &tree, &["pkg"]),
            true,
        );
        assert_same(
            "bad sources, quietly, in parallel",
            &python,
            &scenario("bad_sources_j2", &tree, &["-q", "-j", "2", "pkg"]),
            false,
        );
    }
}

/// Problems with folders and existing pycs: unreadable sources and
/// `__pycache__` folders, a `__pycache__` that is a file, pycs that are
/// symlinks or folders. Run without root's power to ignore permission bits
/// (`scenarios::drop_permission_override`), so that they mean something.
#[test]
fn file_system_problems_are_reported_like_cpython() {
    for version in pythons::SUPPORTED {
        let Some(python) = pythons::require(version, "file system problems") else {
            continue;
        };
        let tree = Tree::new()
            .file("pkg/a_good.py", "x = 1\n")
            .file("pkg/unreadable.py", "x = 2\n")
            .mode(0o000)
            .file("ro/stale.py", "x = 3\n")
            .dir("ro/__pycache__")
            .mode(0o555)
            .file("pycache_file/m.py", "x = 4\n")
            .file("pycache_file/__pycache__", "not a folder")
            .file("links/m.py", "x = 5\n")
            .file("links/target.pyc", "")
            .symlink("links/__pycache__/m.{TAG}.pyc", "../target.pyc")
            .file("dirs/m.py", "x = 6\n")
            .dir("dirs/__pycache__/m.{TAG}.pyc")
            .file("ro_source/m.py", "x = 7\n")
            .mode(0o444);
        let args = ["pkg", "ro", "pycache_file", "links", "dirs", "ro_source"];
        let problems = scenario("file_system_problems", &tree, &args).unprivileged();
        assert_same("file system problems", &python, &problems, true);
    }
}

/// Invalid command lines: the exit status CPython gives, an error message,
/// and nothing written.
#[test]
fn invalid_arguments_change_nothing() {
    let Some(python) = pythons::require("3.14", "invalid arguments") else {
        return;
    };
    let cases: &[&[&str]] = &[
        &["--no-such-flag", "pkg"],
        &["-r", "deep", "pkg"],
        &["-j", "many", "pkg"],
        &["-o", "O2", "pkg"],
        &["-x", "(unclosed", "pkg"],
        &["-i", "no-such-list.txt"],
        &["-d", "dest", "-s", "strip", "pkg"],
        &["-d", "dest", "-p", "prepend", "pkg"],
        &["--hardlink-dupes", "pkg"],
        &["--invalidation-mode", "sometimes", "pkg"],
        &["-e"],
    ];
    let tree = Tree::new().file("pkg/m.py", "x = 1\n");
    for args in cases {
        let scenario = scenario("invalid_arguments", &tree, args);
        let cpython = scenarios::execute(&python, &scenario, Tool::Cpython);
        let ours = scenarios::execute(&python, &scenario, Tool::Ours(&scenarios::binary()));
        assert_eq!(
            cpython.status, ours.status,
            "exit status for {args:?}\nours: {}",
            ours.stderr
        );
        assert!(
            !ours.stderr.lossy().trim().is_empty() || !ours.stdout.lossy().trim().is_empty(),
            "{args:?}: no message"
        );
        assert!(
            !ours
                .tree
                .iter()
                .any(|f| f.path.lossy().contains("__pycache__")),
            "{args:?} wrote pycs"
        );
        assert_eq!(
            (&cpython.tree, &cpython.links),
            (&ours.tree, &ours.links),
            "{args:?}: trees differ"
        );
    }
}

/// A tree big enough that a run takes a while: `modules` modules of
/// real-looking code.
fn big_tree(modules: usize) -> Tree {
    let mut tree = Tree::new();
    for i in 0..modules {
        let mut source = format!("\"\"\"Module {i}.\"\"\"\nimport os\n\n");
        for f in 0..40 {
            source.push_str(&format!(
                "def function_{f}(a, b={f}):\n    \"\"\"Doc {f}.\"\"\"\n    assert a is not None\n    return [x * b for x in range(a) if x % {m} == 0]\n\n",
                m = f % 7 + 1
            ));
        }
        tree = tree.file(format!("big/pkg{}/m{i}.py", i % 10), source);
    }
    tree
}

fn check_pycs(python: &Python, root: &Path) -> Vec<String> {
    let output = Command::new(&python.executable)
        .arg("-c")
        .arg(CHECK_PYCS)
        .arg(root)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn spawn_ours(python: &Python, cwd: &Path, args: &[&str]) -> std::process::Child {
    Command::new(scenarios::binary())
        .arg("--python")
        .arg(&python.executable)
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Killed (SIGKILL) at arbitrary moments, many times: every pyc on disk is
/// complete and valid after each kill, and the next full run leaves no
/// temporary file behind.
#[test]
fn sigkill_never_leaves_a_broken_pyc() {
    let Some(python) = pythons::require("3.14", "SIGKILL") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    // Large enough that every kill moment below falls inside the run.
    big_tree(2000).build(scratch.path());
    // A cheap, reproducible spread of kill moments.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..12 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let delay = Duration::from_millis(30 + (seed >> 33) % 700);
        let mut child = spawn_ours(&python, scratch.path(), &["-f", "-q", "-j", "2", "big"]);
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
        let problems: Vec<String> = check_pycs(&python, scratch.path())
            .into_iter()
            .filter(|p| !p.starts_with("leftover temporary file"))
            .collect();
        assert!(
            problems.is_empty(),
            "round {round}, killed after {delay:?}: {problems:#?}"
        );
    }
    let status = spawn_ours(&python, scratch.path(), &["-q", "big"])
        .wait()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let problems = check_pycs(&python, scratch.path());
    assert!(problems.is_empty(), "after a complete run: {problems:#?}");
}

/// Ctrl-C: the run stops promptly, prints what CPython prints, and leaves
/// only complete pycs and no temporary files.
#[test]
fn sigint_stops_promptly_and_cleanly() {
    let Some(python) = pythons::require("3.14", "SIGINT") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    // Interrupted once compiling is under way (the first pyc exists), with
    // most of the 2,000 modules still to go: a fixed delay would race with
    // a run that keeps getting faster.
    big_tree(2000).build(scratch.path());
    let mut child = spawn_ours(&python, scratch.path(), &["-j", "2", "big"]);
    let first_pyc = scratch.path().join("big/pkg0/__pycache__");
    let waiting = Instant::now();
    while std::fs::read_dir(&first_pyc).map_or(true, |mut d| d.next().is_none()) {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "no pyc appeared within a minute"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = Instant::now();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    let stopped_after = sent.elapsed();
    assert!(
        stopped_after < Duration::from_secs(3),
        "took {stopped_after:?} to stop"
    );
    assert_eq!(status.code(), Some(1));
    assert!(
        stdout.ends_with("\n[interrupted]\n"),
        "stdout ends with {:?}",
        &stdout[stdout.len().saturating_sub(80)..]
    );
    let problems = check_pycs(&python, scratch.path());
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A worker that crashes, and one that hangs, fail only the file they held;
/// the run completes and everything else is compiled.
#[test]
fn crashing_and_hanging_workers_fail_only_their_file() {
    let Some(python) = pythons::require("3.14", "worker faults") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let hooks = scratch.path().join("hooks");
    std::fs::create_dir(&hooks).unwrap();
    // Installed in every worker through PYTHONPATH: misbehave on command.
    std::fs::write(
        hooks.join("sitecustomize.py"),
        "import os, time, py_compile\n\
         _real = py_compile.compile\n\
         def compile(file, *args, **kwargs):\n\
         \x20   if 'crash_me' in file:\n\
         \x20       os.abort()\n\
         \x20   if 'hang_me' in file:\n\
         \x20       time.sleep(3600)\n\
         \x20   return _real(file, *args, **kwargs)\n\
         py_compile.compile = compile\n",
    )
    .unwrap();
    let tree = Tree::new()
        .file("pkg/a.py", "a = 1\n")
        .file("pkg/crash_me.py", "b = 2\n")
        .file("pkg/hang_me.py", "c = 3\n")
        .file("pkg/z.py", "d = 4\n");
    tree.build(&scratch.path().join("t"));
    let started = Instant::now();
    let output = Command::new(scenarios::binary())
        .arg("--python")
        .arg(&python.executable)
        // The CPython workers are what is under test; the native backend
        // would compile these sources itself.
        .args(["--backend", "cpython", "--worker-timeout", "2", "pkg"])
        .env("PYTHONPATH", &hooks)
        .current_dir(scratch.path().join("t"))
        .output()
        .unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "stdout:\n{stdout}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
    for failed in ["crash_me.py", "hang_me.py"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("*** ") && l.contains(failed)),
            "no error line for {failed}:\n{stdout}"
        );
    }
    let pycache = scratch.path().join("t/pkg/__pycache__");
    for compiled in ["a", "z"] {
        assert!(
            pycache
                .join(format!("{compiled}.{}.pyc", python.cache_tag))
                .is_file(),
            "{compiled} not compiled:\n{stdout}"
        );
    }
    for failed in ["crash_me", "hang_me"] {
        assert!(
            !pycache
                .join(format!("{failed}.{}.pyc", python.cache_tag))
                .exists()
        );
    }
}

/// A write error (the file-size limit standing in for a full disk, which
/// the file-system test below reproduces where mounting is allowed): a
/// clear error, the previous pyc untouched, no temporary file left.
#[test]
fn write_errors_keep_the_previous_pyc() {
    let Some(python) = pythons::require("3.14", "write errors") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let small = "x = 1\n";
    Tree::new()
        .file("pkg/m.py", small)
        .file("pkg/ok.py", "y = 2\n")
        .build(root);
    let status = spawn_ours(&python, root, &["-q", "pkg"]).wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let cfile = root.join(format!("pkg/__pycache__/m.{}.pyc", python.cache_tag));
    let before = std::fs::read(&cfile).unwrap();
    // A new version of m.py whose pyc is far over the limit.
    let big: String = (0..4000)
        .map(|i| format!("name_{i} = 'value {i}'\n"))
        .collect();
    std::fs::write(root.join("pkg/m.py"), &big).unwrap();
    let mut command = Command::new(scenarios::binary());
    command
        .arg("--python")
        .arg(&python.executable)
        .arg("pkg")
        .current_dir(root);
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 16 * 1024,
                rlim_max: 16 * 1024,
            };
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("*** OSError: [Errno 27] File too large"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read(&cfile).unwrap(),
        before,
        "the previous pyc changed"
    );
    let problems: Vec<String> = check_pycs(&python, root)
        .into_iter()
        .filter(|p| p.contains("leftover"))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A full file system (a small tmpfs, where this machine allows mounting
/// one): the error CPython prints, the previous pyc untouched, no temporary
/// file left.
#[test]
fn full_disk_keeps_the_previous_pyc() {
    let Some(python) = pythons::require("3.14", "full disk") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let mount_point = scratch.path().join("small");
    std::fs::create_dir(&mount_point).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=96k", "tmpfs"])
        .arg(&mount_point)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        compileall_tests::loud(
            "SKIPPED full disk: cannot mount a tmpfs here (write_errors_keep_the_previous_pyc covers the error path)",
        );
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mount_point.clone());
    Tree::new().file("pkg/m.py", "x = 1\n").build(&mount_point);
    assert_eq!(
        spawn_ours(&python, &mount_point, &["-q", "pkg"])
            .wait()
            .unwrap()
            .code(),
        Some(0)
    );
    let cfile = mount_point.join(format!("pkg/__pycache__/m.{}.pyc", python.cache_tag));
    let before = std::fs::read(&cfile).unwrap();
    // Fill the file system, then make m.py stale with a pyc that cannot fit.
    let big: String = (0..3000)
        .map(|i| format!("name_{i} = 'value {i}'\n"))
        .collect();
    std::fs::write(mount_point.join("pkg/m.py"), &big).unwrap();
    let filler = mount_point.join("filler");
    let mut filler_file = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    use std::io::Write;
    while filler_file.write_all(&block).is_ok() {}
    drop(filler_file);
    let output = Command::new(scenarios::binary())
        .arg("--python")
        .arg(&python.executable)
        .arg("pkg")
        .current_dir(&mount_point)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("No space left on device"), "{stdout}");
    assert_eq!(
        std::fs::read(&cfile).unwrap(),
        before,
        "the previous pyc changed"
    );
    let leftovers: Vec<_> = std::fs::read_dir(mount_point.join("pkg/__pycache__"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != format!("m.{}.pyc", python.cache_tag).as_str())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Two of our runs at once, and one next to `python -m compileall`: every
/// pyc valid afterwards.
#[test]
fn concurrent_runs_leave_valid_pycs() {
    let Some(python) = pythons::require("3.14", "concurrent runs") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    big_tree(200).build(scratch.path());
    for with_cpython in [false, true] {
        let first = spawn_ours(&python, scratch.path(), &["-f", "-q", "-j", "2", "big"]);
        let second = if with_cpython {
            Command::new(&python.executable)
                .args(["-m", "compileall", "-f", "-q", "big"])
                .current_dir(scratch.path())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        } else {
            spawn_ours(&python, scratch.path(), &["-f", "-q", "-j", "2", "big"])
        };
        for mut child in [first, second] {
            assert!(child.wait().unwrap().success());
        }
        let problems = check_pycs(&python, scratch.path());
        assert!(
            problems.is_empty(),
            "with CPython: {with_cpython}: {problems:#?}"
        );
    }
}
