//! Whole runs of `python -m compileall`, recorded from real CPython and
//! replayed through our `compileall`.
//!
//! A [`Scenario`] is an input tree, command-line arguments, environment,
//! optional standard input and setup steps; it runs with the tree's root as
//! the working directory. [`record`] runs it with real CPython and keeps a
//! [`Record`]: exit status, stdout, stderr, and every file, folder and link
//! left behind. [`regenerate`] (called by `cargo xtask fixtures`) stores the
//! records of one interpreter in `fixtures/scenarios/cpython-X.Y.json`; the
//! `scenarios` test runs each scenario through our binary ([`run_ours`]) and
//! lists every [`differences`] from the record and from CPython live.
//!
//! Reproducibility: every run happens in `/tmp/cas-XXXXXXXXXX/t` (a random
//! part of fixed length), and every occurrence of the random part (in
//! output, file names, file contents, link targets) becomes `@@@@@@@@@@`,
//! so pyc contents keep their marshal length prefixes. `_write_atomic`'s
//! random temporary names (`….pyc.12345`) become `….pyc.<tmp>` in messages,
//! and the interpreter's standard library path becomes `<stdlib>`.
//!
//! Other tests use the same pieces: [`Tree`] builds trees in a folder of
//! their own, [`snapshot`] lists what a folder holds, and [`execute`] with
//! [`differences`] compares CPython and ours on a scenario that is not
//! recorded (`tests/reliability.rs`).

mod catalog;
mod fs;
mod run;
mod text;
mod tree;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

pub use catalog::all;
pub use fs::{CONTENTS_LIMIT, PLACEHOLDER, snapshot};
pub use run::{PATH, TIME_LIMIT, drop_permission_override};
pub use text::{Bytes, Mode};
pub use tree::Tree;

use crate::pythons::Python;

/// The mtime of a tree's first file; each later file gets one second more,
/// so every pyc header differs.
pub const BASE_MTIME: i64 = 1_700_000_000;

/// One recorded situation: a tree, a command line, an environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    /// Unique name.
    pub name: String,
    /// What it covers (scenarios are listed by group).
    pub group: String,
    /// The tree, created in order under the root. Paths are relative to the
    /// root; `../o/…` is a folder outside the tree. `{TAG}` in a path is
    /// the interpreter's cache tag.
    pub tree: Vec<Entry>,
    /// Arguments after `-m compileall`. `{ROOT}` and `{OUT}` stand for the
    /// absolute paths of the root and of the outside folder.
    pub args: Vec<Bytes>,
    /// Variables added to the controlled environment (`{ROOT}`, `{OUT}`
    /// expand).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Standard input (`{ROOT}`, `{OUT}` expand); empty when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<Bytes>,
    /// Done to the tree, as root, before the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<Setup>,
    /// Run without root's power to ignore permission bits (setup steps
    /// still run with it), so that modes like 0o000 matter.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unprivileged: bool,
    /// The run's umask, when not 022.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub umask: Option<Mode>,
    /// CPython's line order is not fixed (`-j N`): stdout and stderr are
    /// recorded and compared as sorted lines.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unordered: bool,
    /// An argparse usage error: exit status 2 is compared, and our stderr
    /// must mention one of these (the offending option), or end with
    /// CPython's exact error line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage_error: Vec<String>,
}

/// One entry of a scenario's tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Path relative to the root.
    pub path: Bytes,
    /// What it is.
    #[serde(flatten)]
    pub node: Node,
    /// Permission bits (default: 0o644 for files and FIFOs, 0o755 for
    /// folders); set after the whole tree exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

/// The kinds of tree entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Node {
    /// A folder.
    Dir,
    /// A regular file.
    File {
        /// Its bytes (`{ROOT}`, `{OUT}` expand).
        contents: Bytes,
        /// Seconds of its mtime (negative: before 1970).
        mtime: i64,
        /// Nanoseconds added to `mtime`.
        #[serde(default, skip_serializing_if = "is_zero")]
        mtime_nsec: u32,
    },
    /// A symbolic link (`{ROOT}`, `{OUT}` expand in the target).
    Symlink {
        /// Where it points.
        target: Bytes,
    },
    /// A named pipe.
    Fifo,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A step done to the tree before the recorded run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Setup {
    /// Run real `python -m compileall` with these arguments (as root, with
    /// the scenario's environment and umask), whatever tool is replayed.
    Compile {
        /// Arguments after `-m compileall`.
        args: Vec<Bytes>,
    },
    /// Replace a file's contents.
    Write {
        /// The file.
        path: Bytes,
        /// New contents.
        contents: Bytes,
        /// New mtime in seconds; `None` keeps the previous one exactly.
        mtime: Option<i64>,
    },
    /// Set a file's mtime.
    Touch {
        /// The file.
        path: Bytes,
        /// Seconds.
        mtime: i64,
        /// Nanoseconds added.
        #[serde(default, skip_serializing_if = "is_zero")]
        mtime_nsec: u32,
    },
    /// Change permission bits.
    Chmod {
        /// The entry.
        path: Bytes,
        /// New bits.
        mode: Mode,
    },
    /// Remove a file, link or whole folder.
    Remove {
        /// The entry.
        path: Bytes,
    },
    /// Make a symbolic link.
    Symlink {
        /// The link.
        path: Bytes,
        /// Its target.
        target: Bytes,
    },
    /// Make a folder (mode 0o755).
    Mkdir {
        /// The folder.
        path: Bytes,
    },
    /// Make a named pipe.
    Fifo {
        /// The pipe.
        path: Bytes,
    },
    /// Rename (move) an entry.
    Rename {
        /// The entry.
        path: Bytes,
        /// Its new path.
        to: Bytes,
    },
    /// Cut a file to `len` bytes.
    Truncate {
        /// The file.
        path: Bytes,
        /// Its new length.
        len: u64,
    },
}

/// An entry's type in a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Regular file.
    File,
    /// Folder.
    Dir,
    /// Symbolic link.
    Symlink,
    /// Named pipe.
    Fifo,
    /// Anything else.
    Other,
}

/// One entry found in the tree (or outside folder) after a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// Path relative to the root (`../o/…` outside).
    pub path: Bytes,
    /// Its type.
    pub kind: Kind,
    /// Permission bits.
    pub mode: Mode,
    /// File contents, up to [`CONTENTS_LIMIT`] bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contents: Option<Bytes>,
    /// `fnv1a64:<hash>:<length>` of larger files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Symlink target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Bytes>,
}

/// Everything one run did, normalized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Exit status (`None` when a signal ended the run).
    pub status: Option<i32>,
    /// The signal that ended the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// Killed after [`TIME_LIMIT`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// Standard output (sorted lines for unordered scenarios).
    pub stdout: Bytes,
    /// Standard error (sorted lines for unordered scenarios).
    pub stderr: Bytes,
    /// Every entry left under the root and in the outside folder, by path.
    pub tree: Vec<Found>,
    /// Groups of paths that are hard links to one file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Vec<Bytes>>,
}

/// A scenario with CPython's record of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// The scenario as defined when recorded.
    pub scenario: Scenario,
    /// What CPython did.
    pub record: Record,
}

/// The recorded scenarios of one interpreter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fixture {
    /// `major.minor`.
    pub version: String,
    /// The exact release recorded.
    pub full_version: String,
    /// Every scenario of [`all`], in order.
    pub scenarios: Vec<Recorded>,
}

impl Fixture {
    /// The record of the scenario named `name`.
    pub fn get(&self, name: &str) -> Option<&Recorded> {
        self.scenarios.iter().find(|r| r.scenario.name == name)
    }
}

/// Which program a scenario runs.
#[derive(Clone, Copy, Debug)]
pub enum Tool<'a> {
    /// `PYTHON -m compileall ARGS`.
    Cpython,
    /// `BINARY --python PYTHON ARGS`.
    Ours(&'a Path),
    /// `BINARY --python PYTHON --backend BACKEND ARGS`.
    OursWith {
        /// Our binary.
        binary: &'a Path,
        /// `native` or `cpython`.
        backend: &'a str,
    },
}

/// How the pycs of two runs must agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PycAgreement {
    /// Byte for byte (the CPython workers write CPython's bytes).
    Bytes,
    /// Header byte for byte, body as equal code objects: the native
    /// backend writes CPython's code objects, and CPython's own bytes for
    /// them depend on what its process interned before.
    CodeObjects,
}

impl Scenario {
    /// A scenario of `tree` and `args`, with nothing else special; its
    /// output is unordered when the arguments ask for workers.
    pub fn new(name: &str, group: &str, tree: &Tree, args: &[&str]) -> Scenario {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::from(*a)).collect();
        Scenario {
            name: name.to_owned(),
            group: group.to_owned(),
            tree: tree.0.clone(),
            unordered: Scenario::uses_workers(&args),
            args,
            env: BTreeMap::new(),
            stdin: None,
            setup: Vec::new(),
            unprivileged: false,
            umask: None,
            usage_error: Vec::new(),
        }
    }

    /// Adds a variable to the environment.
    pub fn env(mut self, key: &str, value: &str) -> Scenario {
        self.env.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Sets the standard input.
    pub fn stdin(mut self, bytes: impl Into<Bytes>) -> Scenario {
        self.stdin = Some(bytes.into());
        self
    }

    /// Adds a setup step.
    pub fn setup(mut self, step: Setup) -> Scenario {
        self.setup.push(step);
        self
    }

    /// Runs without root's power to ignore permission bits.
    pub fn unprivileged(mut self) -> Scenario {
        self.unprivileged = true;
        self
    }

    /// Runs with this umask.
    pub fn umask(mut self, mask: u32) -> Scenario {
        self.umask = Some(Mode(mask));
        self
    }

    /// Declares an argparse usage error naming one of `options`.
    pub fn usage(mut self, options: &[&str]) -> Scenario {
        self.usage_error = options.iter().map(|o| o.to_string()).collect();
        self
    }

    /// Whether the arguments ask for more than one worker process: CPython
    /// then prints lines in the order its workers finish.
    pub fn uses_workers(args: &[Bytes]) -> bool {
        worker_argument(args).is_some_and(|(_, value)| {
            String::from_utf8_lossy(value)
                .trim()
                .parse::<i64>()
                .is_ok_and(|n| n != 1 && n >= 0)
        })
    }

    /// The same scenario with `-j 1`: our output with several workers must
    /// equal our output with one.
    pub fn with_one_worker(&self) -> Scenario {
        let mut copy = self.clone();
        if let Some((index, _)) = worker_argument(&self.args) {
            let arg = &self.args[index].0;
            copy.args[index] = if arg == b"-j" || arg == b"--workers" {
                copy.args[index + 1] = Bytes::from("1");
                self.args[index].clone()
            } else if arg.starts_with(b"--workers=") {
                Bytes::from("--workers=1")
            } else {
                Bytes::from("-j1")
            };
        }
        copy.unordered = false;
        copy
    }
}

/// The position and value of the last `-j N`, `-jN`, `--workers N` or
/// `--workers=N` argument.
fn worker_argument(args: &[Bytes]) -> Option<(usize, &[u8])> {
    let mut found = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].0.as_slice();
        if arg == b"--" {
            break;
        }
        if (arg == b"-j" || arg == b"--workers") && i + 1 < args.len() {
            found = Some((i, args[i + 1].0.as_slice()));
            i += 1;
        } else if let Some(value) = arg.strip_prefix(b"--workers=") {
            found = Some((i, value));
        } else if let Some(value) = arg.strip_prefix(b"-j") {
            found = Some((i, value));
        }
        i += 1;
    }
    found
}

/// Runs `scenario` with real CPython in a fresh scratch folder.
pub fn record(python: &Python, scenario: &Scenario) -> Record {
    execute(python, scenario, Tool::Cpython)
}

/// Runs `scenario` with our binary (`compileall --python PYTHON ARGS`).
pub fn run_ours(python: &Python, scenario: &Scenario, binary: &Path) -> Record {
    execute(python, scenario, Tool::Ours(binary))
}

/// Runs `scenario` with `tool` in a fresh scratch folder and records what
/// happened, normalized.
pub fn execute(python: &Python, scenario: &Scenario, tool: Tool<'_>) -> Record {
    let scratch = fs::Scratch::new(&python.cache_tag);
    scratch.build(&scenario.tree);
    let invocation = |program: &Path, args: Vec<OsString>, unprivileged: bool| {
        let env = scenario
            .env
            .iter()
            .map(|(k, v)| (k.clone(), scratch.expand_os(v.as_bytes())))
            .collect();
        let stdin = scenario
            .stdin
            .as_ref()
            .map(|s| scratch.expand(&s.0))
            .unwrap_or_default();
        run::Invocation {
            program,
            args,
            cwd: &scratch.root,
            home: scratch.path(),
            env,
            stdin,
            unprivileged,
            umask: scenario.umask.map_or(0o022, |m| m.0),
        }
        .run()
    };
    let expand_all = |args: &[Bytes]| -> Vec<OsString> {
        args.iter().map(|a| scratch.expand_os(&a.0)).collect()
    };
    for step in &scenario.setup {
        match step {
            Setup::Compile { args } => {
                let args = [OsString::from("-m"), OsString::from("compileall")]
                    .into_iter()
                    .chain(expand_all(args))
                    .collect();
                invocation(&python.executable, args, false);
            }
            other => scratch.apply(other),
        }
    }
    let args = expand_all(&scenario.args);
    let output = match tool {
        Tool::Cpython => {
            let args = [OsString::from("-m"), OsString::from("compileall")]
                .into_iter()
                .chain(args)
                .collect();
            invocation(&python.executable, args, scenario.unprivileged)
        }
        Tool::Ours(binary) => {
            let args = [OsString::from("--python"), python.executable.clone().into()]
                .into_iter()
                .chain(args)
                .collect();
            invocation(binary, args, scenario.unprivileged)
        }
        Tool::OursWith { binary, backend } => {
            let args = [
                OsString::from("--python"),
                python.executable.clone().into(),
                OsString::from("--backend"),
                OsString::from(backend),
            ]
            .into_iter()
            .chain(args)
            .collect();
            invocation(binary, args, scenario.unprivileged)
        }
    };
    let message = |bytes: &[u8]| {
        let bytes = scratch.hide(bytes);
        let bytes = text::replace_all(&bytes, python.stdlib.as_os_str().as_bytes(), b"<stdlib>");
        let bytes = text::hide_stack_depth(&text::hide_temporary_names(&bytes));
        if scenario.unordered {
            Bytes(text::sorted_lines(&bytes))
        } else {
            Bytes(bytes)
        }
    };
    let (tree, links) = scratch.snapshot();
    Record {
        status: output.status,
        signal: output.signal,
        timed_out: output.timed_out,
        stdout: message(&output.stdout),
        stderr: message(&output.stderr),
        tree,
        links,
    }
}

impl Record {
    /// The record with stdout and stderr as sorted lines, as recorded for
    /// unordered scenarios.
    pub fn with_sorted_output(&self) -> Record {
        Record {
            stdout: Bytes(text::sorted_lines(&self.stdout.0)),
            stderr: Bytes(text::sorted_lines(&self.stderr.0)),
            ..self.clone()
        }
    }

    /// The record with only stdout as sorted lines (stderr kept as is).
    pub fn with_sorted_stdout(&self) -> Record {
        Record {
            stdout: Bytes(text::sorted_lines(&self.stdout.0)),
            ..self.clone()
        }
    }
}

/// Checks that a CPython record is what the scenario's definition expects
/// of it (a usage error exits 2 and names one of its options).
pub fn check_definition(scenario: &Scenario, record: &Record) -> Result<(), String> {
    if scenario.usage_error.is_empty() {
        if record.status == Some(2) {
            return Err(format!(
                "{}: CPython exited 2 (a usage error?) but usage_error is empty:\n{}",
                scenario.name, record.stderr
            ));
        }
        return Ok(());
    }
    let stderr = record.stderr.lossy();
    if record.status != Some(2) || !stderr.contains("usage:") {
        return Err(format!(
            "{}: expected an argparse usage error, CPython exited {:?}:\n{stderr}",
            scenario.name, record.status
        ));
    }
    if !scenario
        .usage_error
        .iter()
        .any(|m| stderr.contains(m.as_str()))
    {
        return Err(format!(
            "{}: CPython's usage error mentions none of {:?}:\n{stderr}",
            scenario.name, scenario.usage_error
        ));
    }
    Ok(())
}

/// Records every scenario with real CPython, on two threads, in [`all`]
/// order; panics if a record contradicts its scenario's definition.
pub fn record_all(python: &Python) -> Vec<Recorded> {
    let scenarios = all();
    let records = parallel_map(&scenarios, 2, |scenario| record(python, scenario));
    let problems: Vec<String> = scenarios
        .iter()
        .zip(&records)
        .filter_map(|(scenario, record)| check_definition(scenario, record).err())
        .collect();
    assert!(
        problems.is_empty(),
        "CPython {} contradicts {} scenario definitions:\n{}",
        python.full_version,
        problems.len(),
        problems.join("\n")
    );
    scenarios
        .into_iter()
        .zip(records)
        .map(|(scenario, record)| Recorded { scenario, record })
        .collect()
}

/// Applies `f` to every item on `threads` threads; results in item order.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let result = f(item);
                    results.lock().unwrap()[index] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every item was processed"))
        .collect()
}

/// Path of the fixture of release line `version`.
pub fn fixture_path(version: &str) -> PathBuf {
    crate::fixtures_dir()
        .join("scenarios")
        .join(format!("cpython-{version}.json"))
}

/// Loads the fixture of `version`, if recorded; panics if it is corrupt.
pub fn load_fixture(version: &str) -> Option<Fixture> {
    let bytes = std::fs::read(fixture_path(version)).ok()?;
    Some(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "corrupt scenario fixture {}: {e}",
            fixture_path(version).display()
        )
    }))
}

/// Records every scenario with `python` and writes its fixture; returns
/// the number of scenarios.
pub fn regenerate(python: &Python) -> std::io::Result<usize> {
    let fixture = Fixture {
        version: python.version.clone(),
        full_version: python.full_version.clone(),
        scenarios: record_all(python),
    };
    let path = fixture_path(&python.version);
    std::fs::create_dir_all(path.parent().unwrap())?;
    let mut json = serde_json::to_string_pretty(&fixture).map_err(std::io::Error::other)?;
    json.push('\n');
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, json)?;
    std::fs::rename(&temporary, &path)?;
    Ok(fixture.scenarios.len())
}

/// Our `compileall` binary: `$COMPILEALL_BIN`, else `compileall` in the
/// target folder of the running test (`target/<profile>/`, next to
/// `deps/`). Panics, saying how to build it, when it does not exist.
pub fn binary() -> PathBuf {
    let path = match std::env::var_os("COMPILEALL_BIN") {
        Some(path) => PathBuf::from(path),
        None => {
            let exe = std::env::current_exe().expect("the test's own path");
            exe.parent()
                .and_then(Path::parent)
                .expect("the test runs from target/<profile>/deps/")
                .join("compileall")
        }
    };
    assert!(
        path.is_file(),
        "our compileall binary {} does not exist: build it with \
         `cargo b -p compileall-cli` (or point COMPILEALL_BIN at it)",
        path.display()
    );
    path
}

/// Every way `ours` differs from `expected` (CPython's record), as
/// readable lines; empty when they agree under the comparison rules:
/// exit status exactly; stdout exactly (as sorted lines when unordered);
/// stderr exactly, or only its last line after a traceback, or, for a
/// usage error, only that ours is not empty and names the option; the tree
/// entry by entry; hard-link groups.
pub fn differences(
    scenario: &Scenario,
    expected: &Record,
    ours: &Record,
    pycs: PycAgreement,
) -> Vec<String> {
    let mut out = Vec::new();
    let ended = |r: &Record| match (r.status, r.signal, r.timed_out) {
        (_, _, true) => format!("killed after {}s", TIME_LIMIT.as_secs()),
        (Some(code), _, _) => format!("exit status {code}"),
        (None, Some(signal), _) => format!("killed by signal {signal}"),
        (None, None, _) => "no exit status".to_owned(),
    };
    if (expected.status, expected.signal, expected.timed_out)
        != (ours.status, ours.signal, ours.timed_out)
    {
        out.push(format!(
            "CPython: {}; ours: {}",
            ended(expected),
            ended(ours)
        ));
    }
    if expected.stdout != ours.stdout {
        out.push(format!(
            "stdout differs (- CPython, + ours):\n{}",
            line_diff(&expected.stdout.lossy(), &ours.stdout.lossy())
        ));
    }
    let theirs = expected.stderr.lossy();
    let mine = ours.stderr.lossy();
    if !scenario.usage_error.is_empty() {
        let last_line_same = theirs.trim_end().lines().last() == mine.trim_end().lines().last();
        let mentions = scenario
            .usage_error
            .iter()
            .any(|option| mine.contains(option.as_str()));
        if mine.trim().is_empty() || !(mentions || last_line_same) {
            out.push(format!(
                "stderr of a usage error must mention one of {:?} (CPython: {:?}); ours:\n{}",
                scenario.usage_error,
                theirs.trim_end().lines().last().unwrap_or(""),
                indent(&mine)
            ));
        }
    } else if theirs.contains("Traceback (most recent call last):") {
        let last = |text: &str| text.trim_end().lines().last().unwrap_or("").to_owned();
        if last(&theirs) != last(&mine) {
            out.push(format!(
                "last line of stderr (CPython died with a traceback):\n- {}\n+ {}",
                last(&theirs),
                last(&mine)
            ));
        }
    } else if theirs != mine {
        out.push(format!(
            "stderr differs (- CPython, + ours):\n{}",
            line_diff(&theirs, &mine)
        ));
    }
    out.extend(tree_differences(expected, ours, pycs));
    out
}

fn tree_differences(expected: &Record, ours: &Record, pycs: PycAgreement) -> Vec<String> {
    let mut out = Vec::new();
    let theirs: BTreeMap<&Bytes, &Found> = expected.tree.iter().map(|f| (&f.path, f)).collect();
    let mine: BTreeMap<&Bytes, &Found> = ours.tree.iter().map(|f| (&f.path, f)).collect();
    for (path, t) in &theirs {
        let Some(m) = mine.get(path) else {
            out.push(format!("{path:?}: only CPython left it ({})", describe(t)));
            continue;
        };
        if t.kind != m.kind {
            out.push(format!(
                "{path:?}: CPython left a {:?}, ours a {:?}",
                t.kind, m.kind
            ));
            continue;
        }
        if t.mode != m.mode {
            out.push(format!(
                "{path:?}: mode CPython {:?}, ours {:?}",
                t.mode, m.mode
            ));
        }
        if t.target != m.target {
            out.push(format!(
                "{path:?}: link target CPython {:?}, ours {:?}",
                t.target, m.target
            ));
        }
        let agree = (t.contents == m.contents && t.digest == m.digest)
            || (pycs == PycAgreement::CodeObjects && same_code(t, m));
        if !agree {
            out.push(format!("{path:?}: {}", contents_difference(t, m)));
        }
    }
    for (path, m) in &mine {
        if !theirs.contains_key(path) {
            out.push(format!("{path:?}: only ours left it ({})", describe(m)));
        }
    }
    if expected.links != ours.links {
        out.push(format!(
            "hard links: CPython {:?}, ours {:?}",
            expected.links, ours.links
        ));
    }
    out
}

/// Two pycs with the same header and equal code objects.
fn same_code(theirs: &Found, mine: &Found) -> bool {
    match (&theirs.contents, &mine.contents) {
        (Some(t), Some(m)) => crate::pyc::code_difference(&t.0, &m.0).is_none(),
        _ => false,
    }
}

fn describe(found: &Found) -> String {
    let size = match (&found.contents, &found.digest) {
        (Some(c), _) => format!(", {} bytes", c.0.len()),
        (None, Some(d)) => format!(", {d}"),
        _ => String::new(),
    };
    let target = found
        .target
        .as_ref()
        .map(|t| format!(" -> {t:?}"))
        .unwrap_or_default();
    format!("{:?} {:?}{size}{target}", found.kind, found.mode)
}

fn contents_difference(theirs: &Found, mine: &Found) -> String {
    match (&theirs.contents, &mine.contents) {
        (Some(t), Some(m)) => {
            let at =
                t.0.iter()
                    .zip(&m.0)
                    .position(|(a, b)| a != b)
                    .unwrap_or(t.0.len().min(m.0.len()));
            let window = |b: &[u8]| {
                let end = (at + 16).min(b.len());
                crate::hex::Hex::encode(&b[at.min(end)..end])
            };
            format!(
                "contents differ from byte {at} (CPython {} bytes, ours {}): CPython {}…, ours {}…",
                t.0.len(),
                m.0.len(),
                window(&t.0),
                window(&m.0)
            )
        }
        _ => format!(
            "contents differ: CPython {}, ours {}",
            describe(theirs),
            describe(mine)
        ),
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// A unified-style diff of two texts' lines (`-` only in `a`, `+` only in
/// `b`, two spaces for both), at most 60 lines.
pub fn line_diff(a: &str, b: &str) -> String {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    // Longest common subsequence table, from the ends.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut lines = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            lines.push(format!("      {}", a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            lines.push(format!("    + {}", b[j]));
            j += 1;
        } else {
            lines.push(format!("    - {}", a[i]));
            i += 1;
        }
    }
    if lines.len() > 60 {
        let more = lines.len() - 60;
        lines.truncate(60);
        lines.push(format!("    … {more} more lines"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<Bytes> {
        list.iter().map(|a| Bytes::from(*a)).collect()
    }

    #[test]
    fn worker_arguments_are_found_in_every_form() {
        assert!(Scenario::uses_workers(&args(&["-j", "2", "pkg"])));
        assert!(Scenario::uses_workers(&args(&["-j0", "pkg"])));
        assert!(Scenario::uses_workers(&args(&["--workers=3"])));
        assert!(!Scenario::uses_workers(&args(&["-j", "1", "pkg"])));
        assert!(!Scenario::uses_workers(&args(&["-j", "-1", "pkg"])));
        assert!(!Scenario::uses_workers(&args(&["--", "-j2"])));
        let scenario = Scenario {
            name: "n".into(),
            group: "g".into(),
            tree: Vec::new(),
            args: args(&["-q", "--workers", "2", "pkg"]),
            env: BTreeMap::new(),
            stdin: None,
            setup: Vec::new(),
            unprivileged: false,
            umask: None,
            unordered: true,
            usage_error: Vec::new(),
        };
        let one = scenario.with_one_worker();
        assert_eq!(one.args, args(&["-q", "--workers", "1", "pkg"]));
        assert!(!one.unordered);
    }

    #[test]
    fn line_diff_marks_both_sides() {
        assert_eq!(
            line_diff("a\nb\nc\n", "a\nc\nd\n"),
            "      a\n    - b\n      c\n    + d"
        );
    }

    #[test]
    fn every_scenario_is_unique_and_serializes_back() {
        let scenarios = all();
        let mut names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), scenarios.len(), "duplicate scenario names");
        for scenario in &scenarios {
            let json = serde_json::to_string(scenario).unwrap();
            let back: Scenario = serde_json::from_str(&json).unwrap();
            assert_eq!(&back, scenario, "{json}");
            assert_eq!(
                scenario.unordered,
                Scenario::uses_workers(&scenario.args),
                "{}",
                scenario.name
            );
        }
    }
}
