//! `--cache-dir`: the bytecode cache, judged by real CPython.
//!
//! A run served from the cache must print what CPython prints and write
//! the pycs the same run writes without a cache: the same bytes where the
//! backend's bytes are a function of the source (CPython 3.11's workers,
//! the native backend for 3.14), the same code objects where CPython's
//! workers let process state in (3.13 and later). Entries are filled at
//! one path and used at another, so every hit is re-targeted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use compileall_tests::pyc::code_difference;
use compileall_tests::pythons::{self, Python, SUPPORTED};
use compileall_tests::runs::{cpython, ours, ours_command, text};
use compileall_tests::scenarios::{self, Tree};
use serde_json::Value;

/// A package of real code (the target's own `json` and `email`), a source
/// CPython refuses, one that warns, and a data file.
fn build_tree(python: &Python, root: &Path) {
    Tree::new()
        .file("pkg/__init__.py", "")
        .file("pkg/a.py", "x = 1\n")
        .file("pkg/b.py", "def f():\n    \"\"\"doc\"\"\"\n    assert f\n")
        .file("pkg/bad.py", "def f(:\n")
        .file("pkg/warns.py", "x = 'a' is 'a'\n")
        .file("pkg/data.txt", "text\n")
        .build(root);
    for package in ["json", "email"] {
        copy_dir(
            &python.stdlib.join(package),
            &root.join("pkg").join(package),
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

/// Every pyc under `root`, by relative path.
fn pycs(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "pyc") {
                let bytes = std::fs::read(&path).unwrap();
                found.insert(path.strip_prefix(root).unwrap().to_owned(), bytes);
            }
        }
    }
    found
}

fn remove_pycaches(root: &Path) {
    for (pyc, _) in pycs(root) {
        let _ = std::fs::remove_dir_all(root.join(pyc).parent().unwrap());
    }
}

/// Whether `version`'s pycs from this backend are a function of the
/// source: then a cached pyc must have the uncached one's bytes.
fn bytes_are_exact(version: &str) -> bool {
    matches!(version, "3.11" | "3.14")
}

/// Checks the pycs of a cached run against those of the uncached run;
/// returns how many are byte-identical.
fn assert_same_pycs(
    version: &str,
    native: &[String],
    cached: &BTreeMap<PathBuf, Vec<u8>>,
    uncached: &BTreeMap<PathBuf, Vec<u8>>,
) -> usize {
    assert_eq!(
        cached.keys().collect::<Vec<_>>(),
        uncached.keys().collect::<Vec<_>>()
    );
    let mut identical = 0;
    for (path, theirs) in uncached {
        let mine = &cached[path];
        identical += usize::from(mine == theirs);
        // 3.14's natively compiled files are exact; its fallbacks are
        // CPython's workers, like 3.13 and 3.15.
        let source = path.to_string_lossy().replace("__pycache__/", "");
        let exact = bytes_are_exact(version)
            && (version != "3.14" || native.iter().any(|n| source.starts_with(&n[..n.len() - 3])));
        if exact {
            assert!(
                mine == theirs,
                "CPython {version}: {} differs in bytes",
                path.display()
            );
        } else if let Some(difference) = code_difference(theirs, mine) {
            panic!("CPython {version}: {}: {difference}", path.display());
        }
    }
    identical
}

/// The `--report json` of a run, and its cache counts.
fn report(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Sources the report says the native backend compiled, relative to
/// `root`.
fn natively_compiled(report: &Value, root: &Path) -> Vec<String> {
    report["runs"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["backend"] == "native")
        .map(|f| {
            let source = f["source"].as_str().unwrap();
            Path::new(source)
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// For every supported version: fill the cache at one path, compile a
/// copy at another from it, and compare with an uncached run there and
/// with CPython's own output.
#[test]
fn cached_runs_write_what_uncached_runs_write() {
    for version in SUPPORTED {
        let Some(python) = pythons::require(version, "cached_runs_write_what_uncached_runs_write")
        else {
            continue;
        };
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache");
        let (first, second) = (tmp.path().join("first"), tmp.path().join("second-copy"));
        build_tree(&python, &first);
        build_tree(&python, &second);
        let cache_arg = cache.to_str().unwrap();
        let args = |root: &Path| -> Vec<String> {
            // -q: CPython's -j 0 interleaves its workers' progress lines.
            ["-q", "-o", "0", "-o", "1", "--hardlink-dupes", "-j", "0"]
                .iter()
                .map(|s| s.to_string())
                .chain([root.join("pkg").to_string_lossy().into_owned()])
                .collect()
        };
        let filled_args: Vec<String> = args(&first);
        let mut fill: Vec<&str> = vec!["--cache-dir", cache_arg];
        fill.extend(filled_args.iter().map(String::as_str));
        let filled = ours(&python, tmp.path(), &fill);
        assert_eq!(filled.status.code(), Some(1), "{}", text(&filled.stderr));

        let report_path = tmp.path().join("report.json");
        let second_args = args(&second);
        let plain: Vec<&str> = second_args.iter().map(String::as_str).collect();
        let mut cached_args = vec![
            "--cache-dir",
            cache_arg,
            "--report",
            "json",
            "--report-file",
            report_path.to_str().unwrap(),
        ];
        cached_args.extend(&plain);
        let cached = ours(&python, tmp.path(), &cached_args);
        let cached_pycs = pycs(&second);
        let run_report = report(&report_path);
        let counts = &run_report["runs"][0]["cache"];
        assert!(counts["hits"].as_u64().unwrap() > 60, "{version}: {counts}");
        let native = natively_compiled(&run_report, &second);

        remove_pycaches(&second);
        let uncached = ours(&python, tmp.path(), &plain);
        let identical = assert_same_pycs(version, &native, &cached_pycs, &pycs(&second));
        assert_eq!(text(&cached.stdout), text(&uncached.stdout));
        assert_eq!(text(&cached.stderr), text(&uncached.stderr));
        assert_eq!(cached.status.code(), uncached.status.code());

        remove_pycaches(&second);
        let theirs = cpython(&python, tmp.path(), &plain);
        assert_eq!(
            text(&cached.stdout),
            text(&theirs.stdout),
            "CPython {version}"
        );
        assert_eq!(cached.status.code(), theirs.status.code());
        eprintln!(
            "CPython {}: {} pycs from the cache, {identical} byte-identical to the uncached run, cache {counts}",
            python.full_version,
            cached_pycs.len()
        );
    }
}

/// The arguments of a plain run over `root/pkg`: `-q -o 0 -o 1`, or
/// `-q` alone (one level: one entry per source) when `ONE_LEVEL` is set
/// for the test's process.
fn plain_args(root: &Path) -> Vec<String> {
    let levels: &[&str] = if ONE_LEVEL.with(|one| one.get()) {
        &[]
    } else {
        &["-o", "0", "-o", "1"]
    };
    ["-q"]
        .iter()
        .chain(levels)
        .map(|s| s.to_string())
        .chain([root.join("pkg").to_string_lossy().into_owned()])
        .collect()
}

/// A run over `root/pkg` with the cache in `cache` (if any) and `extra`
/// arguments first.
fn run_in(python: &Python, root: &Path, cache: Option<&Path>, extra: &[&str]) -> Output {
    let plain = plain_args(root);
    let mut args: Vec<&str> = extra.to_vec();
    if let Some(cache) = cache {
        args.extend(["--cache-dir", cache.to_str().unwrap()]);
    }
    args.extend(plain.iter().map(String::as_str));
    ours(python, root, &args)
}

/// What an uncached run writes in `root` (the tree is left compiled).
fn uncached_pycs(python: &Python, root: &Path) -> (Output, BTreeMap<PathBuf, Vec<u8>>) {
    remove_pycaches(root);
    let output = run_in(python, root, None, &[]);
    (output, pycs(root))
}

/// Checks `root`'s pycs, and the run's stdout and status, against an
/// uncached run in the same place.
fn assert_as_uncached(python: &Python, root: &Path, run: &Output) {
    let cached = pycs(root);
    let (uncached, expected) = uncached_pycs(python, root);
    assert_same_pycs(&python.version, &[], &cached, &expected);
    assert_eq!(text(&run.stdout), text(&uncached.stdout));
    assert_eq!(run.status.code(), uncached.status.code());
}

/// Every provisioned supported interpreter (each missing one is a loud
/// skip).
fn all_versions(test: &str) -> Vec<Python> {
    SUPPORTED
        .iter()
        .filter_map(|v| pythons::require(v, test))
        .collect()
}

/// Four runs at once over one empty cache, each on its own copy: none
/// waits for or breaks another, and every tree gets its uncached pycs.
#[test]
fn concurrent_runs_share_one_cache() {
    for python in all_versions("concurrent_runs_share_one_cache") {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache");
        let roots: Vec<PathBuf> = (0..4)
            .map(|i| tmp.path().join(format!("copy{i}")))
            .collect();
        for root in &roots {
            build_tree(&python, root);
        }
        let children: Vec<_> = roots
            .iter()
            .map(|root| {
                let plain = plain_args(root);
                let mut args = vec!["--cache-dir", cache.to_str().unwrap(), "-j", "0"];
                args.extend(plain.iter().map(String::as_str));
                ours_command(&python, root, &args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs: Vec<Output> = children
            .into_iter()
            .map(|child| child.wait_with_output().unwrap())
            .collect();
        for (root, output) in roots.iter().zip(&outputs) {
            assert_eq!(text(&output.stderr).matches("compileall:").count(), 0);
            let cached = pycs(root);
            remove_pycaches(root);
            let uncached = run_in(&python, root, None, &["-j", "0"]);
            let identical = assert_same_pycs(&python.version, &[], &cached, &pycs(root));
            // CPython 3.13+ workers: code objects equal (checked above).
            if bytes_are_exact(&python.version) {
                assert_eq!(identical, cached.len(), "CPython {}", python.version);
            }
            assert_eq!(output.status.code(), uncached.status.code());
            assert_eq!(text(&output.stdout), text(&uncached.stdout));
        }
        // And a fifth run finds everything it can cache.
        let fifth = tmp.path().join("fifth");
        build_tree(&python, &fifth);
        let report_path = tmp.path().join("report.json");
        run_in(
            &python,
            &fifth,
            Some(&cache),
            &[
                "-j",
                "0",
                "--report",
                "json",
                "--report-file",
                report_path.to_str().unwrap(),
            ],
        );
        let counts = &report(&report_path)["runs"][0]["cache"];
        assert_eq!(counts["misses"], 1, "{counts}"); // bad.py
    }
}

/// Our own lines on stderr (the cache's notices), not the compiler's.
fn notices(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|line| line.starts_with("compileall: "))
        .collect()
}

/// Every entry file of a cache.
fn entries(cache: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for bucket in std::fs::read_dir(cache.join("pyc-v1")).unwrap() {
        let bucket = bucket.unwrap().path();
        if bucket.file_name().unwrap().len() != 2 {
            continue;
        }
        for entry in std::fs::read_dir(&bucket).unwrap() {
            found.push(entry.unwrap().path());
        }
    }
    found.sort();
    found
}

thread_local! {
    static ONE_LEVEL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Damages four entries four ways: cut short, one byte changed, replaced
/// by garbage, replaced by a symlink to a good copy.
fn damage(cache: &Path, elsewhere: &Path) {
    let all = entries(cache);
    assert!(all.len() >= 4);
    let bytes = std::fs::read(&all[0]).unwrap();
    std::fs::write(&all[0], &bytes[..bytes.len() / 2]).unwrap();
    let mut bytes = std::fs::read(&all[1]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&all[1], bytes).unwrap();
    std::fs::write(&all[2], b"not an entry").unwrap();
    std::fs::copy(&all[3], elsewhere).unwrap();
    std::fs::remove_file(&all[3]).unwrap();
    std::os::unix::fs::symlink(elsewhere, &all[3]).unwrap();
}

/// Damaged entries are ignored with one line each on stderr (none under
/// -qq), the sources compiled again, the entries replaced.
#[test]
fn damaged_entries_are_compiled_again_and_replaced() {
    // One entry per source, so each damaged entry is looked up.
    ONE_LEVEL.with(|one| one.set(true));
    for python in all_versions("damaged_entries_are_compiled_again_and_replaced") {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache");
        let roots: Vec<PathBuf> = (0..4)
            .map(|i| tmp.path().join(format!("copy{i}")))
            .collect();
        roots.iter().for_each(|root| build_tree(&python, root));
        run_in(&python, &roots[0], Some(&cache), &[]);
        damage(&cache, &tmp.path().join("good-copy"));

        let run = run_in(&python, &roots[1], Some(&cache), &[]);
        let stderr = text(&run.stderr);
        let notices = notices(&stderr);
        assert_eq!(notices.len(), 4, "{stderr}");
        // In the order of the sources, each naming its own and the damage.
        for reason in [
            "(truncated)",
            "(checksum mismatch)",
            "(not a cache entry of this version)",
            "(not a regular file of this user)",
        ] {
            assert_eq!(
                notices.iter().filter(|n| n.contains(reason)).count(),
                1,
                "{stderr}"
            );
        }
        for notice in &notices {
            assert!(notice.contains("is damaged"), "{notice}");
            assert!(notice.contains(roots[1].to_str().unwrap()), "{notice}");
        }
        assert_as_uncached(&python, &roots[1], &run);

        // Replaced: the next run is quiet and served.
        let run = run_in(&python, &roots[2], Some(&cache), &[]);
        assert!(
            !text(&run.stderr).contains("compileall: "),
            "{}",
            text(&run.stderr)
        );
        assert_as_uncached(&python, &roots[2], &run);

        // -qq silences the notices, as it does compileall's errors.
        damage(&cache, &tmp.path().join("good-copy-2"));
        let run = run_in(&python, &roots[3], Some(&cache), &["-qq"]);
        assert!(
            !text(&run.stderr).contains("compileall: "),
            "{}",
            text(&run.stderr)
        );
        assert_eq!(run.stdout, b"");
    }
}

/// Runs our binary in a private mount namespace after `setup` (a shell
/// snippet mounting something over `$CACHE`); `None` (after a loud skip)
/// where this machine cannot mount.
fn in_mount_namespace(python: &Python, root: &Path, cache: &Path, setup: &str) -> Option<Output> {
    let plain = plain_args(root);
    let script = format!("{setup} || exit 99; exec \"$@\"");
    let output = Command::new("unshare")
        .args(["-m", "sh", "-c", &script, "sh"])
        .arg(scenarios::binary())
        .arg("--python")
        .arg(&python.executable)
        .arg("--cache-dir")
        .arg(cache)
        .args(&plain)
        .env("CACHE", cache)
        .env_remove("COMPILEALL_CACHE_DIR")
        .output()
        .ok()?;
    if output.status.code() == Some(99)
        || (!output.status.success()
            && output.stdout.is_empty()
            && text(&output.stderr).contains("unshare"))
    {
        compileall_tests::loud(&format!(
            "SKIPPED cache mount test: cannot mount in a private namespace here: {}",
            text(&output.stderr)
        ));
        return None;
    }
    Some(output)
}

/// A cache on a full file system: one line says storing stopped, every pyc
/// is still written, and the output is the uncached run's.
#[test]
fn a_full_disk_turns_storing_off() {
    for python in all_versions("a_full_disk_turns_storing_off") {
        let tmp = tempfile::tempdir().unwrap();
        let (root, cache) = (tmp.path().join("tree"), tmp.path().join("cache"));
        build_tree(&python, &root);
        std::fs::create_dir(&cache).unwrap();
        // Room for a few entries, not for the ~40 this tree makes.
        let setup = "mount -t tmpfs -o size=96k,mode=0700 tmpfs \"$CACHE\"";
        let Some(run) = in_mount_namespace(&python, &root, &cache, setup) else {
            return;
        };
        let stderr = text(&run.stderr);
        let notices = notices(&stderr);
        assert_eq!(notices.len(), 1, "{stderr}");
        assert!(
            notices[0].contains("storing is off for this run"),
            "{stderr}"
        );
        assert!(notices[0].contains("No space left on device"), "{stderr}");
        assert_as_uncached(&python, &root, &run);
    }
}

/// A read-only cache still serves its entries; storing stops with one
/// line.
#[test]
fn a_read_only_cache_serves_and_stores_nothing() {
    let Some(python) = pythons::require("3.14", "a_read_only_cache_serves_and_stores_nothing")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (root, cache) = (tmp.path().join("tree"), tmp.path().join("cache"));
    build_tree(&python, &root);
    run_in(&python, &root, Some(&cache), &[]);
    remove_pycaches(&root);
    std::fs::write(root.join("pkg/new.py"), "fresh = True\n").unwrap();
    let setup = "mount --bind \"$CACHE\" \"$CACHE\" && mount -o remount,bind,ro \"$CACHE\"";
    let Some(run) = in_mount_namespace(&python, &root, &cache, setup) else {
        return;
    };
    let stderr = text(&run.stderr);
    let notices = notices(&stderr);
    assert_eq!(notices.len(), 1, "{stderr}");
    assert!(notices[0].contains("Read-only file system"), "{stderr}");
    assert_as_uncached(&python, &root, &run);
}

/// A copy of `python`'s interpreter whose build differs (the build time
/// in `sys.version` changed, as a rebuilt interpreter of the same release
/// has), next to the original so it finds the same standard library.
/// `None` (after a loud skip) when the time cannot be patched.
fn rebuilt(python: &Python) -> Option<(Python, tempfile::TempPath)> {
    let version = Command::new(&python.executable)
        .args(["-c", "import sys; print(sys.version)"])
        .output()
        .unwrap();
    let version = text(&version.stdout);
    // "3.14.10 (main, Oct 26 2026, 15:12:11) [GCC 16.2.0]": the time.
    let time = version
        .split(", ")
        .nth(2)
        .and_then(|t| t.get(..8))?
        .to_owned();
    let mut binary = std::fs::read(&python.executable).unwrap();
    let found: Vec<usize> = binary
        .windows(8)
        .enumerate()
        .filter(|(_, w)| *w == time.as_bytes())
        .map(|(i, _)| i)
        .collect();
    let [at] = found[..] else {
        compileall_tests::loud(&format!(
            "SKIPPED the rebuilt-interpreter test: build time {time:?} found {} times in {}",
            found.len(),
            python.executable.display()
        ));
        return None;
    };
    binary[at + 7] = if binary[at + 7] == b'0' { b'1' } else { b'0' };
    let copy = python.executable.with_extension("rebuilt-for-test");
    std::fs::write(&copy, &binary).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let rebuilt = Python {
        executable: copy.clone(),
        ..python.clone()
    };
    Some((rebuilt, tempfile::TempPath::try_from_path(copy).ok()?))
}

/// An interpreter of another build or release never gets the entries of
/// the one that filled the cache.
#[test]
fn an_upgraded_interpreter_gets_no_old_entries() {
    let Some(python) = pythons::require("3.14", "an_upgraded_interpreter_gets_no_old_entries")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let report_path = tmp.path().join("report.json");
    let report_args = [
        "--report",
        "json",
        "--report-file",
        report_path.to_str().unwrap(),
    ];
    // Distinct sources only: equal ones (empty `__init__.py`s) share entries
    // within a run.
    let fill = |python: &Python, name: &str| {
        let root = tmp.path().join(name);
        Tree::new()
            .file("pkg/a.py", "x = 1\n")
            .file("pkg/b.py", "def f():\n    return 2\n")
            .file("pkg/c.py", "class C:\n    \"\"\"doc\"\"\"\n")
            .build(&root);
        let run = run_in(python, &root, Some(&cache), &report_args);
        (root, run, report(&report_path)["runs"][0]["cache"].clone())
    };
    let (_, _, first) = fill(&python, "first");
    assert_eq!(first["hits"], 0);
    let (_, _, again) = fill(&python, "again");
    assert!(again["hits"].as_u64().unwrap() > 0);
    let mut upgrades = Vec::new();
    let rebuilt = rebuilt(&python);
    if let Some((rebuilt, _)) = &rebuilt {
        upgrades.push(rebuilt.clone());
    }
    upgrades.extend(
        ["3.13", "3.15"]
            .iter()
            .filter_map(|v| pythons::require(v, "upgrades")),
    );
    for (index, upgraded) in upgrades.iter().enumerate() {
        let (root, run, counts) = fill(upgraded, &format!("upgraded{index}"));
        assert_eq!(
            counts["hits"],
            0,
            "{}: {counts}",
            upgraded.executable.display()
        );
        assert!(counts["stores"].as_u64().unwrap() > 0);
        assert_as_uncached(upgraded, &root, &run);
    }
}

/// Folders the cache must not use: another user's, one others may write
/// to, one with a symlink inside. Each is refused in one line on stderr,
/// and the run goes on without the cache.
#[test]
fn unsafe_cache_folders_are_refused() {
    let Some(python) = pythons::require("3.14", "unsafe_cache_folders_are_refused") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tree");
    build_tree(&python, &root);
    use std::os::unix::fs::PermissionsExt;
    let writable = tmp.path().join("writable");
    std::fs::create_dir(&writable).unwrap();
    std::fs::set_permissions(&writable, std::fs::Permissions::from_mode(0o777)).unwrap();
    let with_link = tmp.path().join("with-link");
    std::fs::create_dir(&with_link).unwrap();
    std::fs::create_dir(tmp.path().join("outside")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("outside"), with_link.join("pyc-v1")).unwrap();
    let others = if own_uid() == 0 {
        let dir = tmp.path().join("others");
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        dir
    } else {
        PathBuf::from("/usr")
    };
    for (cache, reason) in [
        (&writable, "may be written by other users"),
        (&with_link, "is a symlink inside the cache"),
        (&others, "belongs to user"),
    ] {
        remove_pycaches(&root);
        let run = run_in(&python, &root, Some(cache), &[]);
        let stderr = text(&run.stderr);
        let notices = notices(&stderr);
        assert_eq!(notices.len(), 1, "{stderr}");
        assert!(
            notices[0].contains(reason) && notices[0].contains("running without the cache"),
            "{stderr}"
        );
        assert_as_uncached(&python, &root, &run);
    }
    assert!(!tmp.path().join("outside/00").exists());
}

/// This process's user: the owner of a file it just made.
fn own_uid() -> u32 {
    let probe = tempfile::NamedTempFile::new().unwrap();
    std::os::unix::fs::MetadataExt::uid(&probe.as_file().metadata().unwrap())
}

/// COMPILEALL_CACHE_DIR turns the cache on; `--no-cache` wins over it;
/// `compileall cache info|prune|clear` tell and shrink it.
#[test]
fn environment_no_cache_and_the_cache_command() {
    let Some(python) = pythons::require("3.14", "environment_no_cache_and_the_cache_command")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (root, cache) = (tmp.path().join("tree"), tmp.path().join("cache"));
    build_tree(&python, &root);
    let plain = plain_args(&root);
    let args: Vec<&str> = plain.iter().map(String::as_str).collect();
    let with_env = |extra: &[&str]| {
        let mut all = extra.to_vec();
        all.extend(&args);
        ours_command(&python, &root, &all)
            .env("COMPILEALL_CACHE_DIR", &cache)
            .output()
            .unwrap()
    };
    with_env(&["--no-cache"]);
    assert!(!cache.exists(), "--no-cache wins over COMPILEALL_CACHE_DIR");
    remove_pycaches(&root);
    let run = with_env(&[]);
    assert_as_uncached(&python, &root, &run);
    let stored = entries(&cache).len();
    assert!(stored > 60, "{stored} entries");

    let cache_command = |action: &[&str]| {
        let output = Command::new(scenarios::binary())
            .arg("cache")
            .args(action)
            .arg("--cache-dir")
            .arg(&cache)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let info = cache_command(&["info"]);
    assert!(info.contains(&format!("entries: {stored}\n")), "{info}");
    let pruned = cache_command(&["prune", "--cache-max-size", "20K"]);
    assert!(pruned.starts_with("removed "), "{pruned}");
    let left = entries(&cache).len();
    assert!(left > 0 && left < stored, "{left} of {stored} left");
    let total: u64 = entries(&cache)
        .iter()
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(total <= 20 << 10, "{total} bytes left");
    cache_command(&["clear"]);
    assert!(entries(&cache).is_empty());
    assert!(cache_command(&["info"]).contains("entries: 0\n"));
}

/// A warning quotes its source line from the file it names. With `-d`,
/// that names another path (where CPython finds no line, or another one),
/// so a stored warning is not replayed there: the source is compiled.
#[test]
fn warnings_are_replayed_only_for_the_file_they_read() {
    let Some(python) =
        pythons::require("3.14", "warnings_are_replayed_only_for_the_file_they_read")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let (first, second) = (tmp.path().join("first"), tmp.path().join("second"));
    build_tree(&python, &first);
    build_tree(&python, &second);
    let filled = run_in(&python, &first, Some(&cache), &[]);
    assert!(text(&filled.stderr).contains("SyntaxWarning"));
    let report_path = tmp.path().join("report.json");
    let ddir = ["-d", "/srv/app"];
    let mut args = ddir.to_vec();
    args.extend([
        "--report",
        "json",
        "--report-file",
        report_path.to_str().unwrap(),
    ]);
    let cached = run_in(&python, &second, Some(&cache), &args);
    let files = report(&report_path)["runs"][0]["files"].clone();
    let warns = files
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"].as_str().unwrap().ends_with("warns.py"))
        .unwrap()
        .clone();
    assert_eq!(warns["cache"], "miss", "{warns}");
    remove_pycaches(&second);
    let plain = plain_args(&second);
    let mut cpython_args: Vec<&str> = ddir.to_vec();
    cpython_args.extend(plain.iter().map(String::as_str));
    let theirs = cpython(&python, &second, &cpython_args);
    assert_eq!(text(&cached.stderr), text(&theirs.stderr));
    assert_eq!(text(&cached.stdout), text(&theirs.stdout));
}
