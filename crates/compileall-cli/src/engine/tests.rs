//! The engine's ordering rules, run as `Session::run` runs it, with a compiler
//! that needs no interpreter and can be told to be slow: output in
//! CPython's order whatever finishes first, nothing after a raise, a
//! source reached twice seeing its first visit's pycs, and main-process
//! compiles in CPython's order.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytecode::testing::{CannedCompiler, target};
use pyc_format::PythonVersion;

use super::*;
use crate::context::{Context, Purpose};
use crate::options::{Options, Quiet};
use crate::output::{Captured, Chunk, SkipReason, Stream};
use crate::plan::{DEFAULT_RECURSION_LIMIT, Plan};
use crate::pyerror::ExceptionClass;

fn compiler() -> CannedCompiler {
    CannedCompiler::new(target(PythonVersion::new(3, 14)))
}

/// `names` as empty sources in `dir`.
fn sources(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    names
        .iter()
        .map(|name| {
            let path = dir.join(name);
            std::fs::write(&path, "x = 1\n").unwrap();
            path
        })
        .collect()
}

/// Every chunk, with statuses, as one list of events in sink order.
#[derive(Default)]
struct Events {
    output: Captured,
    files: Vec<(PathBuf, FileStatus)>,
}

impl Sink for Events {
    fn write(&mut self, chunk: &Chunk) {
        self.output.write(chunk);
    }

    fn file(&mut self, outcome: &FileOutcome<'_>) {
        self.files
            .push((outcome.source.to_owned(), outcome.status.clone()));
    }
}

impl Events {
    fn stdout(&self) -> String {
        String::from_utf8(self.output.stream(Stream::Stdout)).unwrap()
    }
}

/// What `Session::run` does with `plan`: prepare the steps and run them
/// through the engine, a window at a time.
fn run(compiler: &CannedCompiler, plan: Plan) -> (Outcome, Events) {
    run_in_windows(compiler, plan, WINDOW)
}

fn run_in_windows(compiler: &CannedCompiler, plan: Plan, window: usize) -> (Outcome, Events) {
    let (visits, options) = plan.into_visits(DEFAULT_RECURSION_LIMIT);
    let cwd = std::env::current_dir().unwrap();
    let interrupted = AtomicBool::new(false);
    let ctx = Context::new(compiler, &cwd, &options, &interrupted, Purpose::Compile);
    let mut events = Events::default();
    let outcome = run_visits(&ctx, visits, &mut events, window);
    (outcome, events)
}

fn compiled_names(compiler: &CannedCompiler) -> Vec<PathBuf> {
    compiler.calls().into_iter().map(|c| c.filename).collect()
}

/// `compileall a.py DIR c.py` under `-j -1`: a.py is compiled, DIR raises
/// (`ValueError`), and c.py after it is never compiled, even though
/// several threads were free to take it.
#[test]
fn nothing_happens_after_a_raise() {
    let tmp = tempfile::tempdir().unwrap();
    let files = sources(tmp.path(), &["a.py", "c.py"]);
    let dir = tmp.path().join("dir");
    sources(&dir, &["b.py"]);
    let compiler = compiler().with_concurrency(4);
    let options = Options {
        workers: -1,
        ..Options::default()
    };
    let dests = [files[0].clone(), dir, files[1].clone()];
    let (outcome, events) = run(&compiler, Plan::dests(&dests, &options));
    assert_eq!(
        outcome,
        Outcome::Raised(PyException::new(
            ExceptionClass::ValueError,
            "workers must be greater or equal to 0"
        ))
    );
    assert_eq!(compiled_names(&compiler), [files[0].clone()]);
    assert_eq!(events.files, [(files[0].clone(), FileStatus::Compiled)]);
    assert!(!tmp.path().join("__pycache__/c.cpython-314.pyc").exists());
}

/// A file step that raises prints what it printed before raising (the
/// stripdir warning), and the files before it are compiled.
#[test]
fn a_raising_file_prints_its_output_first() {
    let tmp = tempfile::tempdir().unwrap();
    let files = sources(tmp.path(), &["a.py", "b.py", "c.py"]);
    let compiler = compiler().with_concurrency(4);
    // `-s b.py`: not a prefix of a.py (a warning), all of b.py (a raise).
    let options = Options {
        stripdir: Some(files[1].clone()),
        ..Options::default()
    };
    let (outcome, events) = run(&compiler, Plan::dests(&files, &options));
    let Outcome::Raised(exception) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(exception.class, ExceptionClass::TypeError);
    assert_eq!(compiled_names(&compiler), [files[0].clone()]);
    let a = files[0].display();
    let b = files[1].display();
    assert_eq!(
        events.stdout(),
        format!(
            "The stripdir path '{b}' is not a valid prefix for source path '{a}'; ignoring\n\
             Compiling '{a}'...\n"
        )
    );
}

/// `compileall -j 0 pkg pkg`: the second visit waits for the first (slow)
/// compile and then finds its pyc up to date, as CPython's sequential loop
/// does; it is not compiled twice.
#[test]
fn a_source_reached_twice_sees_the_first_visits_pycs() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    let files = sources(&pkg, &["a.py"]);
    let compiler = compiler()
        .with_concurrency(4)
        .slow(&files[0], Duration::from_millis(100));
    let options = Options {
        workers: 0,
        quiet: Quiet::ErrorsOnly,
        ..Options::default()
    };
    let (outcome, events) = run(&compiler, Plan::dests(&[pkg.clone(), pkg], &options));
    assert_eq!(outcome, Outcome::Completed { success: true });
    assert_eq!(compiled_names(&compiler), [files[0].clone()]);
    assert_eq!(
        events.files,
        [
            (files[0].clone(), FileStatus::Compiled),
            (files[0].clone(), FileStatus::Skipped(SkipReason::UpToDate)),
        ]
    );

    // With -f both visits compile, the second after the first.
    let forced = Options {
        force: true,
        ..options
    };
    let pkg = tmp.path().join("pkg");
    let (_, events) = run(&compiler, Plan::dests(&[pkg.clone(), pkg], &forced));
    assert_eq!(compiler.calls().len(), 3);
    assert!(events.files.iter().all(|(_, s)| *s == FileStatus::Compiled));
}

/// Files named on the command line compile in CPython's main process: one
/// at a time, in the command line's order, even when the backend could
/// take four at once and the first one is slow.
#[test]
fn main_process_compiles_keep_cpythons_order() {
    let tmp = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..20).map(|i| format!("m{i:02}.py")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let files = sources(tmp.path(), &names);
    let compiler = compiler()
        .with_concurrency(4)
        .slow(&files[0], Duration::from_millis(50));
    let options = Options {
        workers: 4,
        ..Options::default()
    };
    run(&compiler, Plan::dests(&files, &options));
    assert_eq!(compiled_names(&compiler), files);
    assert!(
        compiler
            .calls()
            .iter()
            .all(|call| call.process == CompilerProcess::Main)
    );
}

/// `-j 0 DIR`: pool compiles finish in any order (the first is slow), but
/// every line is printed in the walk's order.
#[test]
fn pool_compiles_print_in_walk_order() {
    let tmp = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..40).map(|i| format!("m{i:02}.py")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let files = sources(tmp.path(), &names);
    let compiler = compiler()
        .with_concurrency(4)
        .slow(&files[0], Duration::from_millis(100))
        .failing(
            &files[1],
            "  File \"m01.py\", line 1\nSyntaxError: invalid syntax\n",
        );
    let options = Options {
        workers: 0,
        ..Options::default()
    };
    let (outcome, events) = run(&compiler, Plan::dir(tmp.path(), &options));
    assert_eq!(outcome, Outcome::Completed { success: false });
    let mut expected = format!("Listing '{}'...\n", tmp.path().display());
    for file in &files {
        expected.push_str(&format!("Compiling '{}'...\n", file.display()));
        if file == &files[1] {
            expected.push_str("***   File \"m01.py\", line 1\nSyntaxError: invalid syntax\n\n");
        }
    }
    assert_eq!(events.stdout(), expected);
    let mut compiled = compiled_names(&compiler);
    compiled.sort();
    assert_eq!(compiled, files);
    assert!(
        compiler
            .calls()
            .iter()
            .all(|call| call.process == CompilerProcess::PoolWorker)
    );
}

/// Preparing and running a window at a time changes nothing: the same
/// output, statuses and compiles for any window size, with a source
/// reached twice (`compileall -j 0 pkg pkg`), a failure, and a raise that
/// cuts the run short (`-s` equal to a whole path).
#[test]
fn windows_change_nothing() {
    let outcomes = |window: usize| {
        let tmp = tempfile::tempdir().unwrap();
        let pkg = tmp.path().join("pkg");
        let files = sources(&pkg, &["a.py", "b.py", "c.py"]);
        sources(&pkg.join("sub"), &["d.py", "e.py"]);
        let compiler = compiler()
            .with_concurrency(4)
            .slow(&files[0], Duration::from_millis(30))
            .failing(&files[1], "SyntaxError: invalid syntax\n");
        let options = Options {
            workers: 0,
            ..Options::default()
        };
        let (outcome, events) = run_in_windows(
            &compiler,
            Plan::dests(&[pkg.clone(), pkg.clone()], &options),
            window,
        );
        let strip = Options {
            stripdir: Some(files[2].clone()),
            ..options
        };
        let (raised, after_raise) = run_in_windows(&compiler, Plan::dests(&files, &strip), window);
        let root = tmp.path().display().to_string();
        let relative = |events: &Events| {
            let files: Vec<_> = events
                .files
                .iter()
                .map(|(path, status)| {
                    (
                        path.strip_prefix(tmp.path()).unwrap().to_owned(),
                        status.clone(),
                    )
                })
                .collect();
            (events.stdout().replace(&root, "ROOT"), files)
        };
        let mut compiled = compiled_names(&compiler);
        compiled.sort();
        (
            outcome,
            relative(&events),
            raised,
            relative(&after_raise),
            compiled.len(),
        )
    };
    let whole = outcomes(WINDOW);
    assert_eq!(whole.0, Outcome::Completed { success: false });
    assert_eq!(
        whole.4,
        5 + 1 + 1,
        "five sources, b.py again (it failed), a.py"
    );
    for window in [1, 2, 3, 5] {
        assert_eq!(outcomes(window), whole, "window of {window}");
    }
}

/// compile_file's failure message per `-q`, after which the run goes on.
#[test]
fn failures_print_per_quiet_level() {
    let tmp = tempfile::tempdir().unwrap();
    let files = sources(tmp.path(), &["bad.py", "good.py"]);
    let message = "  File \"bad.py\", line 1\nSyntaxError: invalid syntax\n";
    let compiler = compiler().failing(&files[0], message);
    let bad = files[0].display();
    let expected = [
        (
            Quiet::All,
            format!(
                "Compiling '{bad}'...\n*** {message}\nCompiling '{}'...\n",
                files[1].display()
            ),
        ),
        (
            Quiet::ErrorsOnly,
            format!("*** Error compiling '{bad}'...\n{message}\n"),
        ),
        (Quiet::Nothing, String::new()),
    ];
    for (quiet, stdout) in expected {
        let options = Options {
            quiet,
            force: true,
            ..Options::default()
        };
        let (outcome, events) = run(&compiler, Plan::dests(&files, &options));
        assert_eq!(outcome, Outcome::Completed { success: false }, "{quiet:?}");
        assert_eq!(events.stdout(), stdout, "{quiet:?}");
        assert_eq!(
            events.files[0].1,
            FileStatus::Failed(message.to_owned()),
            "{quiet:?}"
        );
        assert_eq!(events.files[1].1, FileStatus::Compiled, "{quiet:?}");
    }
}
