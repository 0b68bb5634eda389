//! `cargo xtask semantics`: proves that the pycs our native backend writes
//! behave like CPython's own, by running CPython's regression tests on them.
//!
//! `cargo xtask conformance --backend native` shows that native pycs hold
//! the code objects CPython's compiler produces, field by field; this
//! command checks the claim end to end: CPython's test suite gives the same
//! verdicts when every module it imports (the test modules themselves and
//! the stdlib they test) is loaded from native pycs as when it is loaded
//! from CPython's.
//!
//! How:
//!
//! 1. The provisioned CPython 3.14's whole prefix is copied twice under
//!    `target/semantics/` (`cpython/` and `native/`) and every
//!    `__pycache__` in the copies is removed. Each copy's interpreter finds
//!    its stdlib next to itself, which is checked (`sys.prefix`,
//!    `os.__file__`); only its shared libraries still come from the original
//!    prefix (its binary has an absolute rpath), and they are the same.
//! 2. `cpython/`'s stdlib (with `test/`) is compiled by CPython
//!    (`python3.14 -m compileall -q -j0`), `native/`'s by our binary
//!    (`--backend native -q -j 0`), at optimization levels 0, 1 and 2 (some
//!    tests start child interpreters with `-O`/`-OO`). Ours runs twice, level
//!    0 then levels 1 and 2 ([`PASSES`]), each with a JSON report from which
//!    the natively compiled sources are counted; sources the native backend
//!    cannot compile exactly as CPython does go to CPython (the report says
//!    why), so those pycs are CPython's in both copies. Both copies must end
//!    with the same set of pycs (the test suite's deliberate syntax errors
//!    fail in both), and no pyc may exist before our binary runs.
//! 3. The tests run in each copy as `python3.14 -X frozen_modules=off -m
//!    test -jN MODULES` with `PYTHONDONTWRITEBYTECODE=1`. Frozen modules
//!    are turned off so that `os`, `site`, `codecs`, `runpy`, ... come from
//!    the pycs too (only importlib's bootstrap stays frozen); regrtest passes
//!    the option on to its workers. That the pycs are really used is
//!    asserted twice, cheaply: importing every selected test module under
//!    `python -v` must load each module's code from a pyc inside the copy
//!    and none from a source (a stale or unreadable pyc would be compiled
//!    from source in memory, silently); and the pycs' sizes and mtimes
//!    must be the same after the test run as before (nothing rewrote them).
//! 4. Verdicts per test module come from regrtest itself: a short driver
//!    ([`DRIVER`]) runs regrtest's `Regrtest` as `-m test` does and then
//!    writes its `TestResults` lists (good, bad, env changed, skipped,
//!    resource denied, no tests ran: what the summary prints) and durations
//!    as JSON. That is more robust than parsing the human summary, and
//!    more complete than `--junit-xml`, which names no module and has
//!    nothing for a module that crashed or failed to import. A module
//!    regrtest does not report at all is "not run".
//!
//! The table has one line per selected module (regrtest splits packages
//! such as test_asyncio into sub-modules; their verdicts are counted on
//! the module's line). A test counts against us when its verdict with
//! native pycs differs from its verdict with CPython's and that verdict was
//! not already a failure. Such tests are rerun alone, verbosely, with native pycs: one
//! that then matches is reported as flaky, otherwise the command fails and
//! prints the failing test cases (from the rerun's log). Modules that fail
//! with CPython's pycs too are reported as such and not held against us.
//!
//! The default selection covers the language and the compiler (grammar,
//! scopes, generators, coroutines, pattern matching, exceptions,
//! f/t-strings, tracing and line numbers, dis, ...) and a broad slice of
//! the stdlib; it leaves out modules that mostly wait on threads, processes
//! or timers (test_concurrent_futures, test_threading, test_tarfile, ...);
//! `--modules` runs others. On a 2-core machine the whole command takes
//! about 4 minutes: 1 to copy and compile, 1.5 per regrtest run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result, bail, ensure};
use compileall_tests::pythons::{self, Python};

/// Options of `cargo xtask semantics`.
#[derive(Debug, clap::Args)]
pub struct SemanticsArgs {
    /// CPython test modules to run, such as test_grammar or
    /// test_asyncio.test_tasks (default: a selection of about 190 covering
    /// the language, the compiler and much of the stdlib).
    #[arg(long, value_delimiter = ',')]
    pub modules: Vec<String>,
    /// regrtest's `-j` (0: regrtest's default, CPUs + 2 worker processes).
    #[arg(long, default_value_t = 0)]
    pub jobs: u32,
    /// regrtest's `--timeout`: seconds one test module may take.
    #[arg(long, default_value_t = 300)]
    pub timeout: u32,
    /// Scratch folder (default: target/semantics).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

/// The release line whose code objects the native backend produces.
const VERSION: &str = "3.14";

/// The language and the compiler.
const LANGUAGE: &str = "\
    test_grammar test_syntax test_compile test_ast test_unparse test_dis test_peepholer
    test_opcodes test_opcache test_code test_frame test_eof test_longexp test_lltrace
    test_symtable test_codeop test_tokenize test_keyword test_string_literals test_fstring
    test_tstring test_format test_int_literal test_source_encoding test_utf8source
    test_unicode_identifiers test_type_comments test_future_stmt test_flufl test_scope
    test_global test_named_expressions test_positional_only_arg test_keywordonlyarg
    test_unpack test_unpack_ex test_augassign test_genexps test_listcomps test_setcomps
    test_dictcomps test_patma test_with test_exceptions test_except_star
    test_exception_group test_exception_variations test_baseexception test_raise
    test_generators test_generator_stop test_yield_from test_coroutines test_asyncgen
    test_contextlib test_contextlib_async test_class test_descr test_descrtut test_super
    test_property test_decorators test_funcattrs test_call test_extcall test_dynamic
    test_metaclass test_subclassinit test_type_params test_type_aliases
    test_type_annotations test_annotationlib test_pep646_syntax test_typing
    test_genericalias test_genericclass test_dataclasses test_enum test_abc
    test_isinstance test_richcmp test_compare test_binop test_unary test_pow test_bool
    test_int test_long test_float test_complex test_string test_str test_bytes test_list
    test_tuple test_dict test_dictviews test_set test_slice test_range test_iter
    test_iterlen test_enumerate test_contains test_sort test_print test_builtin test_types
    test_sys test_gc test_finalization test_context test_marshal
    test_thread_local_bytecode
";

/// Tracing, line numbers and tracebacks: the line and exception tables.
const TRACING: &str = "\
    test_sys_settrace test_sys_setprofile test_monitoring test_traceback test_linecache
    test_inspect test_pdb test_bdb test_trace test_code_module test_warnings
";

/// Much-used stdlib.
const STDLIB: &str = "\
    test_functools test_itertools test_collections test_ordered_dict test_defaultdict
    test_deque test_userdict test_userlist test_userstring test_operator test_copy
    test_copyreg test_pickle test_weakref test_weakset test_heapq test_bisect test_re
    test_json test_argparse test_textwrap test_pprint test_difflib test_struct
    test_fractions test_decimal test_statistics test_math test_cmath test_random
    test_datetime test_calendar test_csv test_configparser test_shlex test_tomllib
    test_base64 test_binascii test_graphlib test_ipaddress test_uuid test_urlparse
    test_html test_htmlparser test_xml_etree test_email test_doctest test_unittest
    test_pathlib test_posixpath test_genericpath test_glob test_fnmatch test_shutil
    test_tempfile test_zipfile test_gzip test_zlib test_asyncio test_import test_importlib
    test_runpy test_pkgutil test_modulefinder test_zipimport test_pyclbr test_pydoc
";

/// The test modules run by default.
const DEFAULT_MODULES: [&str; 3] = [LANGUAGE, TRACING, STDLIB];

/// Runs regrtest as `python -m test` does, then writes its verdicts as
/// JSON to `argv[1]`; the other arguments are regrtest's.
const DRIVER: &str = r#"import json, sys
from test.libregrtest.main import Regrtest, _parse_args

regrtest = Regrtest(_parse_args(sys.argv[2:]))
code = 0
try:
    regrtest.main()
except SystemExit as exc:
    code = exc.code
r = regrtest.results
lists = [("passed", r.good), ("failed", r.bad), ("env changed", r.env_changed),
         ("skipped", r.skipped), ("resource denied", r.resource_denied),
         ("no tests ran", r.run_no_tests)]
with open(sys.argv[1], "w") as out:
    json.dump({"verdicts": {name: verdict for verdict, names in lists for name in names},
               "seconds": {name: seconds for seconds, name in r.test_times}}, out)
sys.exit(code)
"#;

/// What regrtest says of a test it does not report at all.
const NOT_RUN: &str = "not run";

/// One private copy of the interpreter's prefix.
struct Copy {
    /// `cpython` or `native`: whose pycs it gets.
    name: &'static str,
    /// The copy of the prefix.
    root: PathBuf,
    /// Its interpreter.
    python: PathBuf,
    /// Its stdlib (with `test/`).
    lib: PathBuf,
}

/// What regrtest reported for one run: verdict and seconds per test name.
#[derive(Default)]
struct Verdicts {
    verdicts: BTreeMap<String, String>,
    seconds: BTreeMap<String, f64>,
}

impl Verdicts {
    fn verdict(&self, name: &str) -> &str {
        self.verdicts.get(name).map_or(NOT_RUN, String::as_str)
    }
}

/// Runs the whole comparison; fails if a module fails only with native pycs.
pub fn run(args: &SemanticsArgs, ours: &Path) -> Result<()> {
    let started = Instant::now();
    let python = interpreter()?;
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| compileall_tests::workspace_root().join("target/semantics"));
    fs_err::create_dir_all(&work)?;
    let work = fs_err::canonicalize(&work)?;
    let modules: Vec<String> = if args.modules.is_empty() {
        DEFAULT_MODULES
            .iter()
            .flat_map(|group| group.split_whitespace())
            .map(str::to_owned)
            .collect()
    } else {
        args.modules.clone()
    };
    let (cpython, native, compiled) = prepare(&python, &work, ours)?;
    eprintln!("semantics: pycs ready after {:.0?}", started.elapsed());

    let driver = work.join("regrtest_verdicts.py");
    fs_err::write(&driver, DRIVER)?;
    let mut results = Vec::new();
    for copy in [&cpython, &native] {
        let loaded = check_imports_use_pycs(copy, &modules)?;
        eprintln!(
            "semantics: {}: the selected test modules import {loaded} modules, all from pycs",
            copy.name
        );
        results.push(run_suite(copy, &driver, &work, &modules, args)?);
    }
    let native_results = results.pop().context("the native run")?;
    let cpython_results = results.pop().context("the CPython run")?;
    let suspects = suspects(&cpython_results, &native_results);
    let reruns = rerun(&native, &driver, &work, &suspects, args)?;
    let rows = rows(&modules, &cpython_results, &native_results, &reruns);
    println!("{}", render(&rows));
    for count in &compiled {
        println!("{}", count.render());
    }
    print_regressions(&cpython_results, &reruns)?;
    println!("semantics: took {:.0?}", started.elapsed());
    let regressions: Vec<&str> = rows
        .iter()
        .filter(|row| row.note == Note::Regression)
        .map(|row| row.module.as_str())
        .collect();
    if !regressions.is_empty() {
        bail!(
            "{} test module(s) pass with CPython's pycs but not with native pycs: {}",
            regressions.len(),
            regressions.join(", ")
        );
    }
    Ok(())
}

/// The two copies, compiled, and what the native backend compiled itself.
fn prepare(python: &Python, work: &Path, ours: &Path) -> Result<(Copy, Copy, Vec<NativeCount>)> {
    let started = Instant::now();
    let cpython = make_copy(python, work, "cpython")?;
    let native = make_copy(python, work, "native")?;
    eprintln!(
        "semantics: two copies of {} made in {:.1?}",
        python.full_version,
        started.elapsed()
    );
    compile_with_cpython(&cpython, work)?;
    let compiled = compile_with_native(&native, ours, work)?;
    check_same_pycs(&cpython, &native)?;
    Ok((cpython, native, compiled))
}

/// The provisioned CPython 3.14, with its test suite.
fn interpreter() -> Result<Python> {
    let Some(python) = pythons::installed()
        .into_iter()
        .find(|p| p.version == VERSION)
    else {
        bail!(
            "CPython {VERSION} is not provisioned (looked in {}); run `cargo xtask pythons`",
            pythons::pythons_dir().display()
        );
    };
    if python.testsuite.as_ref().is_none_or(|dir| !dir.is_dir()) {
        bail!("CPython {VERSION}'s test suite is not installed; run `cargo xtask pythons`");
    }
    Ok(python)
}

/// A command running `python` with none of the caller's `PYTHON*`
/// variables (a `PYTHONPATH` or `PYTHONHOME` would change what is
/// imported) and with `PYTHONDONTWRITEBYTECODE=1`: nothing but the
/// compiles may write a pyc (compileall writes regardless of it), and
/// nothing may rewrite one.
fn python_command(python: &Path) -> Command {
    let mut command = Command::new(python);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("PYTHON") {
            command.env_remove(name);
        }
    }
    command
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null());
    command
}

/// Runs `command`, returning its stdout; fails unless it exits with 0.
fn output(command: &mut Command, what: &str) -> Result<String> {
    let output = command
        .output()
        .with_context(|| format!("running {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Copies the interpreter's prefix to `work/name`, without any pyc, and
/// checks that the copy imports its stdlib from itself.
fn make_copy(python: &Python, work: &Path, name: &'static str) -> Result<Copy> {
    // sys.prefix is `<root>/usr` for the provisioned Debian builds; the
    // copy takes `<root>` so that `etc/` comes along.
    let prefix = output(
        python_command(&python.executable).args(["-c", "import sys; print(sys.prefix)"]),
        "the interpreter",
    )?;
    let prefix = fs_err::canonicalize(prefix.trim_end())?;
    let root = match prefix.file_name() {
        Some(last) if last == "usr" => prefix.parent().unwrap_or(&prefix).to_owned(),
        _ => prefix,
    };
    let relative = |path: &Path| -> Result<PathBuf> {
        let path = fs_err::canonicalize(path)?;
        Ok(path.strip_prefix(&root)?.to_owned())
    };
    let dest = work.join(name);
    let copy = Copy {
        name,
        python: dest.join(relative(&python.executable)?),
        lib: dest.join(relative(&python.stdlib)?),
        root: dest,
    };
    if copy.root.exists() {
        fs_err::remove_dir_all(&copy.root)?;
    }
    let status = Command::new("cp")
        .arg("-a")
        .arg(&root)
        .arg(&copy.root)
        .status()?;
    ensure!(status.success(), "copying {} failed", root.display());
    for dir in pycache_dirs(&copy.root)? {
        fs_err::remove_dir_all(dir)?;
    }
    check_runs_from_copy(&copy)?;
    Ok(copy)
}

/// Fails unless the copy's `sys.prefix` and the `os` it imports are inside
/// the copy.
fn check_runs_from_copy(copy: &Copy) -> Result<()> {
    let paths = output(
        python_command(&copy.python).args([
            "-X",
            "frozen_modules=off",
            "-c",
            "import os, sys; print(sys.prefix); print(os.__file__)",
        ]),
        "the copied interpreter",
    )?;
    for path in paths.lines() {
        ensure!(
            Path::new(path).starts_with(&copy.root),
            "the copy in {} runs with {path}, outside the copy",
            copy.root.display()
        );
    }
    Ok(())
}

/// Every `__pycache__` folder under `dir` (symbolic links not followed).
fn pycache_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in fs_err::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                if entry.file_name() == "__pycache__" {
                    found.push(entry.path());
                } else {
                    pending.push(entry.path());
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Every pyc under `lib`, relative to it, with its size and mtime.
fn pycs(lib: &Path) -> Result<BTreeMap<PathBuf, (u64, SystemTime)>> {
    let mut pycs = BTreeMap::new();
    for dir in pycache_dirs(lib)? {
        for entry in fs_err::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "pyc") {
                let meta = entry.metadata()?;
                pycs.insert(
                    path.strip_prefix(lib)?.to_owned(),
                    (meta.len(), meta.modified()?),
                );
            }
        }
    }
    Ok(pycs)
}

/// The optimization levels compiled, in our binary's two passes: the pycs
/// the tests load, then the `-O` and `-OO` ones, which some tests' child
/// interpreters load (and, started with `-E`, would write if missing). Two
/// passes, because a source the native backend cannot compile at one level
/// goes to CPython at every level of its pass.
const PASSES: [&[&str]; 2] = [&["-o", "0"], &["-o", "1", "-o", "2"]];

/// `python -m compileall -q -j0 -o 0 -o 1 -o 2 LIB` in the copy: CPython's
/// own pycs.
fn compile_with_cpython(copy: &Copy, work: &Path) -> Result<()> {
    let mut command = python_command(&copy.python);
    command
        .args(["-m", "compileall", "-q", "-j0"])
        .args(PASSES.concat())
        .arg(&copy.lib);
    compile("cpython", &mut command, work)
}

/// Our binary with the native backend on the copy's stdlib, one pass per
/// entry of [`PASSES`], each counted from its report.
fn compile_with_native(copy: &Copy, ours: &Path, work: &Path) -> Result<Vec<NativeCount>> {
    let mut counts = Vec::new();
    for (index, levels) in PASSES.iter().enumerate() {
        let name = format!("native-pass{}", index + 1);
        let report = work.join(format!("{name}-report.json"));
        let mut command = Command::new(ours);
        command
            .arg("--python")
            .arg(&copy.python)
            .args(["--backend", "native", "-q", "-j", "0"])
            .args(*levels)
            .args(["--report", "json", "--report-file"])
            .arg(&report)
            .arg(&copy.lib)
            .stdin(Stdio::null());
        compile(&name, &mut command, work)?;
        counts.push(NativeCount::from_report(&report, levels.join(" "))?);
    }
    Ok(counts)
}

/// Runs a compile command, its output kept in `work/NAME-compile.log`.
/// Exit status 1 is expected: the test suite holds sources with deliberate
/// syntax errors (`check_same_pycs` checks that nothing else is missing).
fn compile(name: &str, command: &mut Command, work: &Path) -> Result<()> {
    let started = Instant::now();
    let output = command
        .output()
        .with_context(|| format!("compiling ({name})"))?;
    let log = work.join(format!("{name}-compile.log"));
    fs_err::write(&log, [output.stdout.as_slice(), &output.stderr].concat())?;
    if !matches!(output.status.code(), Some(0 | 1)) {
        bail!(
            "compiling ({name}) failed ({}); see {}",
            output.status,
            log.display()
        );
    }
    eprintln!(
        "semantics: {name}: stdlib compiled in {:.1?}",
        started.elapsed()
    );
    Ok(())
}

/// Fails unless both copies have pycs for the same sources.
fn check_same_pycs(cpython: &Copy, native: &Copy) -> Result<()> {
    let theirs = pycs(&cpython.lib)?;
    let ours = pycs(&native.lib)?;
    let only = |a: &BTreeMap<PathBuf, _>, b: &BTreeMap<PathBuf, _>| -> Vec<String> {
        a.keys()
            .filter(|k| !b.contains_key(*k))
            .map(|k| k.display().to_string())
            .collect()
    };
    let (only_theirs, only_ours) = (only(&theirs, &ours), only(&ours, &theirs));
    ensure!(
        only_theirs.is_empty() && only_ours.is_empty(),
        "the two compiles left different pycs: only CPython's: {:?}; only ours: {:?}",
        &only_theirs[..only_theirs.len().min(10)],
        &only_ours[..only_ours.len().min(10)]
    );
    ensure!(
        !theirs.is_empty(),
        "no pycs were written in {}",
        cpython.lib.display()
    );
    Ok(())
}

/// How many of the stdlib's sources the native backend compiled itself,
/// from our `--report json`.
#[derive(Default)]
struct NativeCount {
    /// The pass's levels, such as `-o 0`.
    levels: String,
    /// Sources compiled (or refused with a syntax error) by either backend.
    compiled: usize,
    /// Of those, by the native backend.
    native: usize,
    /// Why the others went to CPython, by reason.
    fallbacks: BTreeMap<String, usize>,
}

impl NativeCount {
    fn from_report(report: &Path, levels: String) -> Result<NativeCount> {
        let text = fs_err::read_to_string(report)?;
        let report: serde_json::Value = serde_json::from_str(&text).context("our JSON report")?;
        let mut count = NativeCount {
            levels,
            ..NativeCount::default()
        };
        let files = report["runs"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|run| run["files"].as_array().into_iter().flatten());
        let mut up_to_date = 0;
        for file in files {
            // A pyc that was already there was not written by us.
            up_to_date += usize::from(file["status"] == "up_to_date");
            // Skipped entries (not Python, ...) have no backend.
            let Some(backend) = file["backend"].as_str() else {
                continue;
            };
            count.compiled += 1;
            if backend == "native" {
                count.native += 1;
            } else {
                let reason = file["fallback"].as_str().unwrap_or("(no reason given)");
                *count.fallbacks.entry(reason.to_owned()).or_default() += 1;
            }
        }
        ensure!(count.compiled > 0, "our report lists no compiled source");
        ensure!(
            up_to_date == 0,
            "{up_to_date} sources already had pycs before our binary ran ({})",
            count.levels
        );
        Ok(count)
    }

    fn render(&self) -> String {
        let mut text = format!(
            "native backend, {}: compiled {} of the stdlib's {} sources natively ({:.1}%); \
             the other {} went to CPython:",
            self.levels,
            self.native,
            self.compiled,
            100.0 * self.native as f64 / self.compiled as f64,
            self.compiled - self.native
        );
        for (reason, count) in &self.fallbacks {
            let _ = write!(text, "\n  {count:4}  {reason}");
        }
        text
    }
}

/// Imports every selected test module under `python -v` and counts the
/// modules whose code came from a pyc of the copy; fails if any came from
/// a source, which is what importlib does, silently, when a pyc is stale or
/// invalid.
fn check_imports_use_pycs(copy: &Copy, modules: &[String]) -> Result<usize> {
    const IMPORT_ALL: &str = "import importlib, sys
for name in sys.argv[1:]:
    try:
        importlib.import_module('test.' + name)
    except Exception:  # unittest.SkipTest for other platforms' tests, ...
        pass
";
    let output = python_command(&copy.python)
        .args(["-X", "frozen_modules=off", "-v", "-c", IMPORT_ALL])
        .args(modules)
        .output()
        .context("importing the test modules")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut from_pycs = 0;
    let mut elsewhere = Vec::new();
    // importlib says `# code object from '<pyc>'` (a repr) for a pyc and
    // `# code object from <source>` for a source it compiled.
    for line in stderr.lines() {
        let Some(origin) = line.strip_prefix("# code object from ") else {
            continue;
        };
        let path = origin.trim_matches('\'');
        if path.ends_with(".pyc") && Path::new(path).starts_with(&copy.lib) {
            from_pycs += 1;
        } else {
            elsewhere.push(path.to_owned());
        }
    }
    ensure!(
        elsewhere.is_empty(),
        "{}: {} modules were not loaded from the copy's pycs, such as {:?}",
        copy.name,
        elsewhere.len(),
        &elsewhere[..elsewhere.len().min(5)]
    );
    ensure!(
        from_pycs >= modules.len(),
        "{}: only {from_pycs} modules loaded from pycs for {} test modules",
        copy.name,
        modules.len()
    );
    Ok(from_pycs)
}

/// Runs the selected modules in one copy; fails if the run changed any pyc.
fn run_suite(
    copy: &Copy,
    driver: &Path,
    work: &Path,
    modules: &[String],
    args: &SemanticsArgs,
) -> Result<Verdicts> {
    let before = pycs(&copy.lib)?;
    let jobs = format!("-j{}", args.jobs);
    let run = Regrtest {
        copy,
        driver,
        stem: work.join(format!("{}-regrtest", copy.name)),
        timeout: args.timeout,
    };
    let verdicts = run.run(modules, &[&jobs])?;
    let after = pycs(&copy.lib)?;
    // A pyc that appeared or changed was written by a test's subprocess
    // that ignores PYTHONDONTWRITEBYTECODE (-E, -I): importlib found no
    // usable pyc there, so some code did not come from the compiled pycs.
    let changed: Vec<String> = after
        .iter()
        .filter(|(path, meta)| before.get(*path) != Some(*meta))
        .map(|(path, _)| path.display().to_string())
        .chain(
            before
                .keys()
                .filter(|path| !after.contains_key(*path))
                .map(|path| path.display().to_string()),
        )
        .collect();
    ensure!(
        changed.is_empty(),
        "{}: the test run wrote, changed or removed {} pycs of the stdlib, such as {:?}",
        copy.name,
        changed.len(),
        &changed[..changed.len().min(10)]
    );
    Ok(verdicts)
}

/// One regrtest run through [`DRIVER`].
struct Regrtest<'a> {
    copy: &'a Copy,
    driver: &'a Path,
    /// `STEM.log` gets regrtest's output, `STEM.json` the verdicts.
    stem: PathBuf,
    timeout: u32,
}

impl Regrtest<'_> {
    fn run(&self, tests: &[String], options: &[&str]) -> Result<Verdicts> {
        let (json, log) = (
            self.stem.with_extension("json"),
            self.stem.with_extension("log"),
        );
        if json.exists() {
            fs_err::remove_file(&json)?;
        }
        let log_file = fs_err::File::create(&log)?;
        eprintln!(
            "semantics: {}: regrtest {} {} test module(s) (log: {})",
            self.copy.name,
            options.join(" "),
            tests.len(),
            log.display()
        );
        let started = Instant::now();
        // -B (PYTHONDONTWRITEBYTECODE) and -X options reach regrtest's
        // workers through support.args_from_interpreter_flags().
        let status = python_command(&self.copy.python)
            .args(["-X", "frozen_modules=off"])
            .arg(self.driver)
            .arg(&json)
            .args(options)
            .arg(format!("--timeout={}", self.timeout))
            .args(tests)
            .current_dir(self.driver.parent().unwrap_or(Path::new("/")))
            .stdout(Stdio::from(log_file.try_clone()?.into_file()))
            .stderr(Stdio::from(log_file.into_file()))
            .status()
            .context("running regrtest")?;
        eprintln!(
            "semantics: {}: regrtest done in {:.0?} ({status})",
            self.copy.name,
            started.elapsed()
        );
        if !json.exists() {
            bail!(
                "regrtest gave no verdicts ({status}); see {}",
                log.display()
            );
        }
        parse_verdicts(&json)
    }
}

/// Reads the JSON [`DRIVER`] writes.
fn parse_verdicts(json: &Path) -> Result<Verdicts> {
    let text = fs_err::read_to_string(json)?;
    let value: serde_json::Value = serde_json::from_str(&text).context("regrtest's verdicts")?;
    let mut verdicts = Verdicts::default();
    for (name, verdict) in value["verdicts"].as_object().into_iter().flatten() {
        let verdict = verdict.as_str().context("a verdict")?;
        verdicts.verdicts.insert(name.clone(), verdict.to_owned());
    }
    for (name, seconds) in value["seconds"].as_object().into_iter().flatten() {
        verdicts
            .seconds
            .insert(name.clone(), seconds.as_f64().unwrap_or(0.0));
    }
    Ok(verdicts)
}

/// Whether a test's verdict with native pycs counts against them: it
/// differs from its verdict with CPython's, which was not a failure.
fn counts_against(theirs: &str, ours: &str) -> bool {
    !failing(theirs) && ours != theirs
}

/// Whether a verdict is a failure.
fn failing(verdict: &str) -> bool {
    verdict == "failed" || verdict == NOT_RUN
}

/// Tests whose verdicts count against native pycs, before any rerun.
fn suspects(cpython: &Verdicts, native: &Verdicts) -> Vec<String> {
    let names: std::collections::BTreeSet<&String> = cpython
        .verdicts
        .keys()
        .chain(native.verdicts.keys())
        .collect();
    names
        .into_iter()
        .filter(|name| counts_against(cpython.verdict(name), native.verdict(name)))
        .cloned()
        .collect()
}

/// The suspects' second chance: rerun alone, verbosely (the log then names
/// every failing test), with native pycs.
struct Rerun {
    verdicts: Verdicts,
    log: Option<PathBuf>,
}

fn rerun(
    native: &Copy,
    driver: &Path,
    work: &Path,
    suspects: &[String],
    args: &SemanticsArgs,
) -> Result<Rerun> {
    if suspects.is_empty() {
        return Ok(Rerun {
            verdicts: Verdicts::default(),
            log: None,
        });
    }
    let run = Regrtest {
        copy: native,
        driver,
        stem: work.join("native-rerun"),
        timeout: args.timeout,
    };
    let verdicts = run.run(suspects, &["-j1", "-v"])?;
    Ok(Rerun {
        verdicts,
        log: Some(run.stem.with_extension("log")),
    })
}

/// How a module's verdicts compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Note {
    Same,
    /// It fails (or does not run) with CPython's pycs: not held against us.
    FailsWithCpython,
    /// Differed, then matched when rerun.
    Flaky,
    /// Passes with CPython's pycs, not with ours, rerun included.
    Regression,
}

/// One line of the table: a selected module (all its parts, such as
/// test_asyncio's sub-modules).
struct Row {
    module: String,
    theirs: String,
    ours: String,
    seconds: (f64, f64),
    note: Note,
}

fn rows(modules: &[String], cpython: &Verdicts, native: &Verdicts, rerun: &Rerun) -> Vec<Row> {
    modules
        .iter()
        .map(|module| {
            let parts = parts(module, cpython, native);
            // A fold, not sum(): an empty sum of f64s is -0.0.
            let seconds = |v: &Verdicts| {
                parts
                    .iter()
                    .filter_map(|n| v.seconds.get(*n))
                    .fold(0.0, |a, b| a + b)
            };
            Row {
                module: module.clone(),
                theirs: describe(&parts, cpython),
                ours: describe(&parts, native),
                seconds: (seconds(cpython), seconds(native)),
                note: note(&parts, cpython, native, rerun),
            }
        })
        .collect()
}

fn note(parts: &[&String], cpython: &Verdicts, native: &Verdicts, rerun: &Rerun) -> Note {
    let mut note = Note::Same;
    if parts.is_empty() {
        return Note::FailsWithCpython;
    }
    for name in parts {
        let theirs = cpython.verdict(name);
        if counts_against(theirs, native.verdict(name)) {
            if counts_against(theirs, rerun.verdicts.verdict(name)) {
                return Note::Regression;
            }
            note = Note::Flaky;
        } else if failing(theirs) && note == Note::Same {
            note = Note::FailsWithCpython;
        }
    }
    note
}

/// The names regrtest reported for `module`: itself, or its sub-modules
/// when it is a package regrtest splits (test_asyncio, ...).
fn parts<'a>(module: &str, cpython: &'a Verdicts, native: &'a Verdicts) -> Vec<&'a String> {
    let prefix = format!("{module}.");
    let mut parts: Vec<&String> = cpython
        .verdicts
        .keys()
        .chain(native.verdicts.keys())
        .filter(|name| *name == module || name.starts_with(&prefix))
        .collect();
    parts.sort();
    parts.dedup();
    parts
}

/// A module's verdict: `passed`, or `70 passed, 2 skipped` for a split one.
fn describe(parts: &[&String], verdicts: &Verdicts) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for name in parts {
        *counts.entry(verdicts.verdict(name)).or_default() += 1;
    }
    match counts.len() {
        0 => NOT_RUN.to_owned(),
        1 if parts.len() == 1 => verdicts.verdict(parts[0]).to_owned(),
        _ => {
            let mut counts: Vec<_> = counts.into_iter().collect();
            counts.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
            let counts: Vec<String> = counts.iter().map(|(v, n)| format!("{n} {v}")).collect();
            counts.join(", ")
        }
    }
}

fn render(rows: &[Row]) -> String {
    let headers = [
        "test module",
        "CPython's pycs",
        "native pycs",
        "seconds (C/N)",
    ];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|row| {
            let note = match row.note {
                Note::Same => "",
                Note::FailsWithCpython => "fails with CPython's pycs too",
                Note::Flaky => "flaky: differed, matched when rerun",
                Note::Regression => "REGRESSION",
            };
            [
                row.module.clone(),
                row.theirs.clone(),
                row.ours.clone(),
                format!("{:.1} / {:.1}", row.seconds.0, row.seconds.1),
                note.to_owned(),
            ]
        })
        .collect();
    let width = |column: usize| {
        cells
            .iter()
            .map(|c| c[column].len())
            .chain([headers[column].len()])
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2), width(3)];
    let mut text = String::new();
    let line = |text: &mut String, cells: [&str; 5]| {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
        text.push_str(line.trim_end());
        text.push('\n');
    };
    line(
        &mut text,
        [headers[0], headers[1], headers[2], headers[3], ""],
    );
    for c in &cells {
        line(&mut text, [&c[0], &c[1], &c[2], &c[3], &c[4]]);
    }
    text.push_str(&totals(rows));
    text
}

/// The table's last line.
fn totals(rows: &[Row]) -> String {
    let count = |note| rows.iter().filter(|r| r.note == note).count();
    format!(
        "{} test modules: {} same verdicts, {} failing with CPython's pycs too, {} flaky, {} regressions",
        rows.len(),
        count(Note::Same),
        count(Note::FailsWithCpython),
        count(Note::Flaky),
        count(Note::Regression)
    )
}

/// The tests that failed in the rerun, from its verbose log.
fn print_regressions(cpython: &Verdicts, rerun: &Rerun) -> Result<()> {
    let Some(log) = &rerun.log else {
        return Ok(());
    };
    for (name, verdict) in &rerun.verdicts.verdicts {
        println!(
            "rerun with native pycs: {name}: {verdict} (with CPython's pycs: {})",
            cpython.verdict(name)
        );
    }
    let text = fs_err::read_to_string(log)?;
    let failures: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("FAIL: ") || line.starts_with("ERROR: "))
        .collect();
    for failure in failures.iter().take(40) {
        println!("  {failure}");
    }
    println!("  (the rerun's full log: {})", log.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdicts(list: &[(&str, &str)]) -> Verdicts {
        Verdicts {
            verdicts: list
                .iter()
                .map(|(name, verdict)| ((*name).to_owned(), (*verdict).to_owned()))
                .collect(),
            seconds: BTreeMap::new(),
        }
    }

    fn notes(
        cpython: &[(&str, &str)],
        native: &[(&str, &str)],
        rerun: &[(&str, &str)],
    ) -> Vec<(String, String, Note)> {
        let modules: Vec<String> = ["test_a", "test_b", "test_c", "test_pkg", "test_gone"]
            .map(str::to_owned)
            .to_vec();
        let rerun = Rerun {
            verdicts: verdicts(rerun),
            log: None,
        };
        rows(&modules, &verdicts(cpython), &verdicts(native), &rerun)
            .into_iter()
            .map(|row| (row.module, row.ours, row.note))
            .collect()
    }

    #[test]
    fn only_failures_with_native_pycs_that_persist_count() {
        let cpython = [
            ("test_a", "passed"),
            ("test_b", "passed"),
            ("test_c", "failed"),
            ("test_pkg.test_x", "passed"),
            ("test_pkg.test_y", "skipped"),
        ];
        let native = [
            ("test_a", "failed"),
            ("test_b", "env changed"),
            ("test_c", "passed"),
            ("test_pkg.test_x", "passed"),
        ];
        let rerun = [
            ("test_a", "failed"),
            ("test_b", "passed"),
            ("test_pkg.test_y", "skipped"),
        ];
        let notes = notes(&cpython, &native, &rerun);
        let note = |module: &str| notes.iter().find(|n| n.0 == module).map(|n| n.2);
        assert_eq!(note("test_a"), Some(Note::Regression));
        assert_eq!(note("test_b"), Some(Note::Flaky));
        assert_eq!(note("test_c"), Some(Note::FailsWithCpython));
        assert_eq!(note("test_pkg"), Some(Note::Flaky));
        assert_eq!(note("test_gone"), Some(Note::FailsWithCpython));
        let ours = |module: &str| notes.iter().find(|n| n.0 == module).map(|n| n.1.clone());
        assert_eq!(ours("test_pkg").as_deref(), Some("1 not run, 1 passed"));
        assert_eq!(ours("test_gone").as_deref(), Some("not run"));
    }

    #[test]
    fn suspects_are_tests_whose_verdict_got_worse_or_changed() {
        let cpython = verdicts(&[
            ("test_a", "passed"),
            ("test_b", "failed"),
            ("test_c", "skipped"),
        ]);
        let native = verdicts(&[
            ("test_a", "passed"),
            ("test_b", "passed"),
            ("test_d", "passed"),
        ]);
        assert_eq!(suspects(&cpython, &native), ["test_c"]);
    }

    #[test]
    fn the_table_has_one_line_per_module_and_a_summary() {
        let cpython = verdicts(&[("test_a", "passed")]);
        let rerun = Rerun {
            verdicts: Verdicts::default(),
            log: None,
        };
        let rows = rows(&["test_a".to_owned()], &cpython, &cpython, &rerun);
        let table = render(&rows);
        assert_eq!(
            table,
            "test module  CPython's pycs  native pycs  seconds (C/N)\n\
             test_a       passed          passed           0.0 / 0.0\n\
             1 test modules: 1 same verdicts, 0 failing with CPython's pycs too, 0 flaky, 0 regressions"
        );
    }
}
