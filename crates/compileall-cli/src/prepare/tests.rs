//! The per-file decision table of `compile_file`, without an interpreter.
//! The exception messages are those CPython 3.11 and 3.14 print for the
//! same calls (`python -m compileall -x '' a.py`, `-s a.py a.py`, ...).

use std::os::unix::fs::symlink;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use bytecode::testing::{CannedCompiler, target};
use pyc_format::{PycHeader, PythonVersion};

use super::*;
use crate::context::Purpose;
use crate::options::{Options, Quiet};
use crate::pyregex::PyRegex;

/// `tree/` with a stale source, a fresh one (its pyc written), a text
/// file, a folder, and symlinks leading inside and outside `tree/`.
fn tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("tree/pkg")).unwrap();
    std::fs::write(root.join("tree/a.py"), "x = 1\n").unwrap();
    std::fs::write(root.join("tree/fresh.py"), "y = 2\n").unwrap();
    std::fs::write(root.join("tree/notes.txt"), "").unwrap();
    std::fs::write(root.join("outside.py"), "").unwrap();
    symlink("../outside.py", root.join("tree/out.py")).unwrap();
    symlink("a.py", root.join("tree/in.py")).unwrap();
    let meta = std::fs::metadata(root.join("tree/fresh.py")).unwrap();
    let magic = target(PythonVersion::new(3, 14)).magic;
    let header = PycHeader::timestamp(magic, pyos::mtime(&meta), meta.len());
    std::fs::create_dir(root.join("tree/__pycache__")).unwrap();
    let pyc = [&header.to_bytes()[..], b"N"].concat();
    std::fs::write(root.join("tree/__pycache__/fresh.cpython-314.pyc"), pyc).unwrap();
    tmp
}

/// `compile_file(root/path, ...)`'s first half for a 3.14 target.
fn prepare_in(root: &Path, path: &str, options: &Options) -> Prepared {
    prepare_for(PythonVersion::new(3, 14), root, path, options)
}

fn prepare_for(version: PythonVersion, root: &Path, path: &str, options: &Options) -> Prepared {
    let compiler = CannedCompiler::new(target(version));
    let interrupted = AtomicBool::new(false);
    let ctx = Context::new(&compiler, root, options, &interrupted, Purpose::Check);
    let source = Source::named(root.join(path), Arc::new(options.rewrite()));
    prepare(&ctx, source)
}

fn raise(class: ExceptionClass, message: &str) -> Decision {
    Decision::Raise(PyException::new(class, message))
}

/// Checks each `(what, path, options, decision)` of a table.
fn assert_decisions(root: &Path, cases: Vec<(&str, &str, Options, Decision)>) {
    for (what, path, options, expected) in cases {
        let prepared = prepare_in(root, path, &options);
        assert_eq!(prepared.decision, expected, "{what}");
    }
}

fn exclude(pattern: &str) -> Options {
    Options {
        rx: Some(Exclude::Pattern(PyRegex::new(pattern).unwrap())),
        ..Options::default()
    }
}

fn limit(root: &Path) -> Options {
    Options {
        limit_sl_dest: Some(root.join("tree")),
        ..Options::default()
    }
}

#[test]
fn what_is_compiled() {
    let tmp = tree();
    let root = tmp.path();
    let compile = Decision::Compile { dfile: None };
    let force = Options {
        force: true,
        ..Options::default()
    };
    let ddir = Options {
        ddir: Some("/srv/app".into()),
        ..Options::default()
    };
    assert_decisions(
        root,
        vec![
            (
                "a stale source",
                "tree/a.py",
                Options::default(),
                compile.clone(),
            ),
            (
                "-f, a fresh source",
                "tree/fresh.py",
                force,
                compile.clone(),
            ),
            (
                "-x not matching",
                "tree/a.py",
                exclude("/b\\.py$"),
                compile.clone(),
            ),
            (
                "-e, a symlink staying inside",
                "tree/in.py",
                limit(root),
                compile,
            ),
            (
                "-d, a named file",
                "tree/a.py",
                ddir,
                Decision::Compile {
                    dfile: Some("/srv/app/a.py".into()),
                },
            ),
        ],
    );
}

#[test]
fn what_is_skipped() {
    let tmp = tree();
    let root = tmp.path();
    let skip = Decision::Skip;
    assert_decisions(
        root,
        vec![
            (
                "a fresh source",
                "tree/fresh.py",
                Options::default(),
                skip(SkipReason::UpToDate),
            ),
            (
                "-x matching",
                "tree/a.py",
                exclude("/a\\.py$"),
                skip(SkipReason::Excluded),
            ),
            (
                "a missing path",
                "tree/gone.py",
                Options::default(),
                skip(SkipReason::NotAFile),
            ),
            (
                "a folder",
                "tree/pkg",
                Options::default(),
                skip(SkipReason::NotAFile),
            ),
            (
                "not a .py",
                "tree/notes.txt",
                Options::default(),
                skip(SkipReason::NotPython),
            ),
            (
                "-e, a symlink leaving it",
                "tree/out.py",
                limit(root),
                skip(SkipReason::SymlinkOutside),
            ),
        ],
    );
}

#[test]
fn what_raises() {
    let tmp = tree();
    let root = tmp.path();
    let empty_rx = Options {
        rx: Some(Exclude::EmptyString),
        ..Options::default()
    };
    let one_level_dupes = Options {
        hardlink_dupes: true,
        ..Options::default()
    };
    let strip_all = Options {
        stripdir: Some(root.join("tree/a.py")),
        ..Options::default()
    };
    assert_decisions(
        root,
        vec![
            (
                "-x ''",
                "tree/notes.txt",
                empty_rx,
                raise(
                    ExceptionClass::AttributeError,
                    "'str' object has no attribute 'search'",
                ),
            ),
            (
                "--hardlink-dupes with one level",
                "tree/a.py",
                one_level_dupes,
                raise(
                    ExceptionClass::ValueError,
                    "Hardlinking of duplicated bytecode makes sense only for more than one optimization level",
                ),
            ),
            (
                "-s the whole path",
                "tree/a.py",
                strip_all,
                raise(
                    ExceptionClass::TypeError,
                    "join() missing 1 required positional argument: 'a'",
                ),
            ),
        ],
    );
}

/// The tests run in compile_file's order: `-x ''` raises even for a path
/// that does not exist, and a failed `-s` join before `-x` is looked at.
#[test]
fn earlier_tests_win() {
    let tmp = tree();
    let root = tmp.path();
    let empty_rx = Options {
        rx: Some(Exclude::EmptyString),
        ..Options::default()
    };
    let prepared = prepare_in(root, "tree/gone.py", &empty_rx);
    assert!(matches!(prepared.decision, Decision::Raise(_)));
    let strip_all = Options {
        stripdir: Some(root.join("tree/a.py")),
        rx: Some(Exclude::EmptyString),
        ..Options::default()
    };
    let prepared = prepare_in(root, "tree/a.py", &strip_all);
    assert_eq!(
        prepared.decision,
        raise(
            ExceptionClass::TypeError,
            "join() missing 1 required positional argument: 'a'"
        )
    );
}

/// What a stale source records for the steps after it: its pycs, one per
/// level in `sorted(set(optimize))` order, its identity and cache folder.
#[test]
fn a_stale_source_records_its_pycs() {
    let tmp = tree();
    let root = tmp.path();
    let options = Options {
        optimize: vec![2, 0, 1, 2],
        ..Options::default()
    };
    let prepared = prepare_in(root, "tree/a.py", &options);
    let pycache = root.join("tree/__pycache__");
    assert_eq!(
        prepared.cfiles,
        [
            (0, pycache.join("a.cpython-314.pyc")),
            (1, pycache.join("a.cpython-314.opt-1.pyc")),
            (2, pycache.join("a.cpython-314.opt-2.pyc")),
        ]
    );
    assert_eq!(prepared.cache_dir.as_deref(), Some(pycache.as_path()));
    let meta = pyos::Stat::of(&root.join("tree/a.py")).unwrap();
    assert_eq!(prepared.identity, Some(meta.identity));
    // Named on the command line: the walk did not sweep its folder.
    assert!(!prepared.cache_dir_swept());

    let legacy = Options {
        legacy: true,
        ..Options::default()
    };
    let prepared = prepare_in(root, "tree/a.py", &legacy);
    assert_eq!(prepared.cfiles, [(-1, root.join("tree/a.pyc"))]);
}

/// A stripdir that is not a prefix: 3.12+ warn and keep the path (unless
/// `-qq`); 3.11 strips the components it shares.
#[test]
fn stripdir_not_a_prefix() {
    let tmp = tree();
    let root = tmp.path();
    let options = Options {
        stripdir: Some("/elsewhere".into()),
        ..Options::default()
    };
    let prepared = prepare_in(root, "tree/a.py", &options);
    assert_eq!(prepared.decision, Decision::Compile { dfile: None });
    let warning = format!(
        "The stripdir path '/elsewhere' is not a valid prefix for source path '{}'; ignoring\n",
        root.join("tree/a.py").display()
    );
    assert_eq!(prepared.chunks, [Chunk::line(warning.trim_end())]);

    let silent = Options {
        quiet: Quiet::Nothing,
        ..options.clone()
    };
    assert!(prepare_in(root, "tree/a.py", &silent).chunks.is_empty());

    let py311 = prepare_for(PythonVersion::new(3, 11), root, "tree/a.py", &options);
    assert!(py311.chunks.is_empty());
    assert!(matches!(
        py311.decision,
        Decision::Compile { dfile: Some(_) }
    ));
}
