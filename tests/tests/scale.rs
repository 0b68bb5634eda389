//! Large trees: a run prepares and runs its visits a window at a time
//! (`engine::WINDOW`, 8,192) and keeps only a few folders open, so these
//! tests use trees larger than one window and wider than a small
//! descriptor limit, and require what CPython does.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

use compileall_tests::pythons::{self, Python};
use compileall_tests::scenarios::{self, PycAgreement, Scenario, Tool, Tree};

/// Visits per window in `compileall-cli`'s engine.
const WINDOW: usize = 8192;

/// `sources` one-line modules spread over folders of about 30, and one
/// that never compiles.
fn wide_tree(sources: usize) -> Tree {
    let mut tree = Tree::new().file("pkg/broken.py", "def broken(:\n");
    for i in 0..sources {
        tree = tree.file(format!("pkg/d{}/m{i}.py", i / 30), format!("x = {i}\n"));
    }
    tree
}

/// `compileall pkg pkg` over more visits than one window holds: the
/// `Listing` lines and the broken source's error in CPython's order, the
/// second visit of each source finding the pyc its first visit wrote (it
/// is in a later window), the same pycs.
#[test]
fn several_windows_print_and_write_what_cpython_does() {
    let Some(python) = pythons::require("3.11", "several windows") else {
        return;
    };
    let tree = wide_tree(WINDOW + 300);
    let scenario = Scenario::new("several-windows", "scale", &tree, &["pkg", "pkg"]);
    let run = |tool| {
        let record = scenarios::execute(&python, &scenario, tool);
        assert!(!record.timed_out, "{tool:?} hung");
        record
    };
    let cpython = run(Tool::Cpython);
    let ours = run(Tool::Ours(&scenarios::binary()));
    let differences = scenarios::differences(&scenario, &cpython, &ours, PycAgreement::Bytes);
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

/// Ours with at most `limit` open descriptors.
fn run_with_descriptor_limit(python: &Python, root: &Path, limit: u64, args: &[&str]) -> Output {
    let mut command = Command::new(scenarios::binary());
    command
        .arg("--python")
        .arg(&python.executable)
        .args(args)
        .current_dir(root);
    // SAFETY: only setrlimit, which is async-signal-safe, runs between
    // fork and exec.
    unsafe {
        command.pre_exec(move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.output().unwrap()
}

/// A tree of far more folders than the process may hold open: compiled,
/// then found up to date, with nothing printed and every pyc in place.
#[test]
fn more_folders_than_open_descriptors() {
    let Some(python) = pythons::require("3.14", "descriptor limit") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path();
    let mut tree = Tree::new();
    for i in 0..1200 {
        tree = tree
            .file(format!("pkg/d{i}/a.py"), "x = 1\n")
            .file(format!("pkg/d{i}/z.py"), "y = 2\n");
    }
    tree.build(root);
    for run in ["cold", "no-op"] {
        let output = run_with_descriptor_limit(&python, root, 96, &["-q", "pkg"]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{run}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        assert!(output.stdout.is_empty(), "{run}: {:?}", output.stdout);
        for i in [0, 599, 1199] {
            for name in ["a", "z"] {
                let pyc = format!("pkg/d{i}/__pycache__/{name}.{}.pyc", python.cache_tag);
                assert!(root.join(&pyc).is_file(), "{run}: {pyc} missing");
            }
        }
    }
}
