//! `--check`'s verdicts, on pycs written by a compiler that needs no
//! interpreter and then tampered with; the lines it prints are ours, so
//! they are kept as a snapshot.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use bytecode::testing::{CannedCompiler, target};
use pyc_format::PythonVersion;

use super::*;
use crate::context::Purpose;
use crate::engine;
use crate::options::Options;
use crate::output::Captured;
use crate::plan::{DEFAULT_RECURSION_LIMIT, Plan};

/// What `Session::check` does with `plan`; the same answer whatever the
/// window the visits are prepared in.
fn check_plan(compiler: &CannedCompiler, plan: Plan) -> Result<Vec<Problem>, PyException> {
    let (visits, options) = plan.into_visits(DEFAULT_RECURSION_LIMIT);
    let cwd = std::env::current_dir().unwrap();
    let interrupted = AtomicBool::new(false);
    let ctx = Context::new(compiler, &cwd, &options, &interrupted, Purpose::Check);
    let again: Vec<Visit> = visits.iter().map(visit_again).collect();
    let whole = check_visits(&ctx, visits, engine::WINDOW);
    let one_by_one = check_visits(&ctx, again, 1);
    let text = |r: &Result<Vec<Problem>, PyException>| match r {
        Ok(problems) => problems.iter().map(Problem::to_string).collect::<Vec<_>>(),
        Err(exception) => vec![format!("{exception:?}")],
    };
    assert_eq!(text(&whole), text(&one_by_one), "windows of one visit");
    whole
}

/// The same visit, to check again.
fn visit_again(visit: &Visit) -> Visit {
    match visit {
        Visit::Listing(dir) => Visit::Listing(dir.clone()),
        Visit::CantList(dir) => Visit::CantList(dir.clone()),
        Visit::File(source) => Visit::File(source.again()),
        Visit::Raise(exception) => Visit::Raise(exception.clone()),
    }
}

/// Writes `dir`'s pycs as `Session::compile_dir` does.
fn compile(compiler: &CannedCompiler, dir: &Path, options: &Options) {
    let (visits, options) = Plan::dir(dir, options).into_visits(DEFAULT_RECURSION_LIMIT);
    let cwd = std::env::current_dir().unwrap();
    let interrupted = AtomicBool::new(false);
    let ctx = Context::new(compiler, &cwd, &options, &interrupted, Purpose::Compile);
    engine::run_visits(&ctx, visits, &mut Captured::default(), engine::WINDOW);
}

fn set_mtime(path: &Path, seconds: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
        .unwrap();
}

/// Every way a pyc can fail, one source each.
#[test]
fn every_problem_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let names = [
        "current",
        "edited",
        "garbage",
        "header_only",
        "folder",
        "missing",
    ];
    for name in names {
        std::fs::write(root.join(format!("{name}.py")), "x = 1\n").unwrap();
        set_mtime(&root.join(format!("{name}.py")), 1_700_000_000);
    }
    let compiler = CannedCompiler::new(target(PythonVersion::new(3, 14)));
    compile(&compiler, root, &Options::default());

    let pyc = |name: &str| root.join(format!("__pycache__/{name}.cpython-314.pyc"));
    set_mtime(&root.join("edited.py"), 1_700_000_001);
    std::fs::write(pyc("garbage"), b"garbage").unwrap();
    let header = std::fs::read(pyc("header_only")).unwrap();
    std::fs::write(pyc("header_only"), &header[..pyc_format::HEADER_LEN]).unwrap();
    std::fs::remove_file(pyc("folder")).unwrap();
    std::fs::create_dir(pyc("folder")).unwrap();
    std::fs::remove_file(pyc("missing")).unwrap();

    let problems = check_plan(&compiler, Plan::dir(root, &Options::default())).unwrap();
    let root_text = root.display().to_string();
    let lines: Vec<String> = problems
        .iter()
        .map(|problem| problem.to_string().replace(&root_text, "[tmp]"))
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}

/// A pyc written in another invalidation mode is stale, whatever its
/// contents; one in the requested mode is judged by importlib's rules.
#[test]
fn invalidation_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(root.join("m.py"), "x = 1\n").unwrap();
    let compiler = CannedCompiler::new(target(PythonVersion::new(3, 14)));
    let with_mode = |mode| Options {
        invalidation_mode: Some(mode),
        ..Options::default()
    };
    let verdicts = |requested| -> Vec<String> {
        let plan = Plan::dir(root, &with_mode(requested));
        let problems = check_plan(&compiler, plan).unwrap();
        problems.iter().map(|p| p.reason.clone()).collect()
    };
    let modes = [
        InvalidationMode::Timestamp,
        InvalidationMode::CheckedHash,
        InvalidationMode::UncheckedHash,
    ];
    let mut table = Vec::new();
    for written in modes {
        let options = Options {
            force: true,
            ..with_mode(written)
        };
        compile(&compiler, root, &options);
        for requested in modes {
            table.push(format!(
                "{written:?} pyc, {requested:?} requested: {:?}",
                verdicts(requested)
            ));
        }
    }
    // A hash-based pyc whose source changed.
    std::fs::write(root.join("m.py"), "x = 2\n").unwrap();
    table.push(format!(
        "UncheckedHash pyc, source edited: {:?}",
        verdicts(InvalidationMode::UncheckedHash)
    ));
    insta::assert_snapshot!(table.join("\n"));
}

/// compileall raises before looking at any pyc: `--check` ends with the
/// same exception.
#[test]
fn a_raise_ends_the_check() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("m.py"), "x = 1\n").unwrap();
    let compiler = CannedCompiler::new(target(PythonVersion::new(3, 14)));
    let options = Options {
        workers: -1,
        ..Options::default()
    };
    let err = check_plan(&compiler, Plan::dir(tmp.path(), &options)).unwrap_err();
    assert_eq!(
        err.line(),
        b"ValueError: workers must be greater or equal to 0"
    );
}
