//! Whole runs of `python -m compileall`, recorded: a tree, arguments,
//! environment and setup per scenario; the record holds the exit status,
//! stdout, stderr and every file left behind. `cargo xtask fixtures`
//! records them from each real CPython into `fixtures/scenarios/`, and the
//! `scenarios` test replays each through our binary.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::differential::{self, Entry, Outcome, Run, Tree, User};
use crate::hex::Hex;
use crate::pythons::Python;

/// Something done to the tree before the recorded run.
#[derive(Clone, Debug)]
pub enum Setup {
    /// Run `python -m compileall` (real CPython) with these arguments.
    Compile(Vec<String>),
    /// Rewrite a file, with an mtime one hour later than the tree's.
    Touch(PathBuf, Vec<u8>),
    /// Make a symlink.
    Symlink(PathBuf, PathBuf),
    /// Make a folder.
    Mkdir(PathBuf),
}

/// One recorded situation.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Unique, readable name.
    pub name: String,
    /// The tree.
    pub tree: Tree,
    /// Arguments after `-m compileall`; `{ROOT}` is the tree's path.
    pub args: Vec<String>,
    /// Extra environment; `{ROOT}` likewise.
    pub env: Vec<(String, String)>,
    /// Standard input.
    pub stdin: Vec<u8>,
    /// Done before the recorded run.
    pub setup: Vec<Setup>,
    /// Whether stdout lines keep their order (not with `-j N`, where
    /// CPython prints as its workers finish).
    pub ordered: bool,
}

impl Scenario {
    fn new(name: &str, tree: &Tree, args: &[&str]) -> Scenario {
        let ordered = !args
            .windows(2)
            .any(|w| w[0] == "-j" && w[1] != "1" && w[1] != "-1");
        Scenario {
            name: name.to_owned(),
            tree: tree.clone(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
            stdin: Vec::new(),
            setup: Vec::new(),
            ordered,
        }
    }

    fn env(mut self, key: &str, value: &str) -> Scenario {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    fn stdin(mut self, bytes: &[u8]) -> Scenario {
        self.stdin = bytes.to_vec();
        self
    }

    fn setup(mut self, step: Setup) -> Scenario {
        self.setup.push(step);
        self
    }

    fn precompiled(self) -> Scenario {
        let args = self
            .args
            .iter()
            .filter(|a| !a.starts_with("-q"))
            .cloned()
            .chain(["-q".to_owned()])
            .collect();
        self.setup(Setup::Compile(args))
    }

    /// A fingerprint of the definition, stored with each record so a
    /// changed scenario is noticed.
    pub fn signature(&self) -> String {
        let text = format!(
            "{:?}",
            (
                &self.tree,
                &self.args,
                &self.env,
                &self.stdin,
                &self.setup,
                self.ordered
            )
        );
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        format!("{hash:016x}")
    }

    /// Builds the tree under `root` and applies the setup (with `python`).
    pub fn prepare(&self, python: &Path, root: &Path) {
        self.tree.build(root);
        for step in &self.setup {
            match step {
                Setup::Compile(args) => {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let run = Run {
                        env: self.env.clone(),
                        ..Run::new(python, &args)
                    };
                    run.cpython(root);
                }
                Setup::Touch(path, bytes) => {
                    let path = root.join(path);
                    std::fs::write(&path, bytes).unwrap();
                    let when =
                        SystemTime::UNIX_EPOCH + Duration::from_secs(differential::MTIME + 3600);
                    std::fs::File::options()
                        .write(true)
                        .open(&path)
                        .unwrap()
                        .set_modified(when)
                        .unwrap();
                }
                Setup::Symlink(path, target) => {
                    std::os::unix::fs::symlink(target, root.join(path)).unwrap();
                }
                Setup::Mkdir(path) => std::fs::create_dir_all(root.join(path)).unwrap(),
            }
        }
    }

    /// How to run it with `python`.
    pub fn run<'a>(&self, python: &'a Path) -> Run<'a> {
        Run {
            python,
            args: self.args.clone(),
            env: self.env.clone(),
            stdin: self.stdin.clone(),
            user: User::Current,
        }
    }
}

/// A file system entry as stored in a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedEntry {
    /// `f`, `d`, `l` or `p`.
    pub kind: char,
    /// Permission bits.
    pub mode: u32,
    /// File contents (up to 64 KiB; larger files by hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contents: Option<Hex>,
    /// FNV-1a hash and length of larger files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Symlink target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Hex>,
    /// Other paths of the same inode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Hex>,
}

impl RecordedEntry {
    fn from_entry(entry: &Entry) -> RecordedEntry {
        let (contents, digest) = match &entry.contents {
            Some(bytes) if bytes.len() <= 64 * 1024 => (Some(Hex(bytes.clone())), None),
            Some(bytes) => (None, Some(digest(bytes))),
            None => (None, None),
        };
        RecordedEntry {
            kind: entry.kind,
            mode: entry.mode,
            contents,
            digest,
            target: entry
                .target
                .as_ref()
                .map(|t| Hex::from(t.as_os_str().as_bytes())),
            links: entry
                .links
                .iter()
                .map(|l| Hex::from(l.as_os_str().as_bytes()))
                .collect(),
        }
    }
}

fn digest(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{hash:016x}/{}", bytes.len())
}

/// What CPython did in one scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The scenario's name.
    pub name: String,
    /// [`Scenario::signature`] when recorded.
    pub signature: String,
    /// Exit status.
    pub status: Option<i32>,
    /// Stdout (normalized; sorted lines where unordered).
    pub stdout: String,
    /// Stderr (normalized).
    pub stderr: String,
    /// Every entry left in the tree, by hex path.
    pub tree: BTreeMap<Hex, RecordedEntry>,
}

impl Record {
    /// The record of an outcome.
    pub fn new(scenario: &Scenario, outcome: &Outcome) -> Record {
        Record {
            name: scenario.name.clone(),
            signature: scenario.signature(),
            status: outcome.status,
            stdout: outcome.stdout.clone(),
            stderr: outcome.stderr.clone(),
            tree: outcome
                .tree
                .iter()
                .map(|(path, entry)| {
                    (
                        Hex::from(path.as_os_str().as_bytes()),
                        RecordedEntry::from_entry(entry),
                    )
                })
                .collect(),
        }
    }

    /// Every way `ours` differs from this record of CPython.
    pub fn differences(&self, ours: &Record, ordered: bool) -> Vec<String> {
        let mut out = Vec::new();
        if self.status != ours.status {
            out.push(format!(
                "exit status: CPython {:?}, ours {:?}",
                self.status, ours.status
            ));
        }
        fn lines(text: &str, ordered: bool) -> Vec<&str> {
            let mut lines: Vec<&str> = text.lines().collect();
            if !ordered {
                lines.sort_unstable();
            }
            lines
        }
        if lines(&self.stdout, ordered) != lines(&ours.stdout, ordered) {
            out.push(format!(
                "stdout:\n--- CPython\n{}--- ours\n{}",
                self.stdout, ours.stdout
            ));
        }
        // A traceback is CPython's own; only the exception line compares.
        let stderr_same = if self.stderr.contains("Traceback (most recent call last):") {
            self.stderr.lines().last() == ours.stderr.lines().last()
        } else if self.status == Some(2) {
            // argparse's usage text is not clap's: both must complain.
            !ours.stderr.trim().is_empty()
        } else {
            self.stderr == ours.stderr
        };
        if !stderr_same {
            out.push(format!(
                "stderr:\n--- CPython\n{}--- ours\n{}",
                self.stderr, ours.stderr
            ));
        }
        for (path, theirs) in &self.tree {
            match ours.tree.get(path) {
                None => out.push(format!("{path:?}: only CPython left it")),
                Some(mine) if mine != theirs => {
                    out.push(format!("{path:?}: CPython {theirs:?}\n    ours {mine:?}"))
                }
                Some(_) => {}
            }
        }
        for path in ours.tree.keys().filter(|p| !self.tree.contains_key(*p)) {
            out.push(format!("{path:?}: only we left it"));
        }
        out
    }
}

/// The recorded scenarios of one interpreter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fixture {
    /// `major.minor`.
    pub version: String,
    /// The exact release recorded.
    pub full_version: String,
    /// One record per scenario, in [`all`] order.
    pub records: Vec<Record>,
}

/// Path of the fixture of release line `version`.
pub fn fixture_path(version: &str) -> PathBuf {
    crate::fixtures_dir()
        .join("scenarios")
        .join(format!("cpython-{version}.json"))
}

/// Loads a fixture, if recorded.
pub fn load_fixture(version: &str) -> Option<Fixture> {
    let bytes = std::fs::read(fixture_path(version)).ok()?;
    Some(
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("corrupt scenario fixture {version}: {e}")),
    )
}

/// Runs one scenario with `run_tool` (CPython or ours) on a fresh tree and
/// records what happened.
pub fn record_with(scenario: &Scenario, python: &Python, tool: Tool) -> Record {
    let (_dir, root) = differential::fresh_root();
    scenario.prepare(&python.executable, &root);
    let run = scenario.run(&python.executable);
    let output = match tool {
        Tool::Cpython => run.cpython(&root),
        Tool::Ours => run.ours(&root),
    };
    let mut outcome = differential::outcome(output, &root);
    outcome.stdout = hide_interpreter(&outcome.stdout, python);
    outcome.stderr = hide_interpreter(&normalize_stack_depth(&outcome.stderr), python);
    outcome.stdout = normalize_stack_depth(&outcome.stdout);
    if !scenario.ordered {
        let mut lines: Vec<&str> = outcome.stdout.lines().collect();
        lines.sort_unstable();
        outcome.stdout = lines.iter().map(|l| format!("{l}\n")).collect();
    }
    Record::new(scenario, &outcome)
}

/// Which tool runs a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// `python -m compileall`.
    Cpython,
    /// Our binary.
    Ours,
}

/// Paths of the interpreter's installation differ between machines.
fn hide_interpreter(text: &str, python: &Python) -> String {
    let prefix = python
        .stdlib
        .parent()
        .and_then(Path::parent)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    if prefix.len() > 1 {
        text.replace(&prefix, "<prefix>")
    } else {
        text.to_owned()
    }
}

/// CPython 3.14+ puts the C stack depth into RecursionError messages; it
/// depends on the caller's stack (see docs/reliability.md).
pub fn normalize_stack_depth(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("(used ") {
        out.push_str(&rest[..i + 6]);
        rest = &rest[i + 6..];
        let end = rest.find(' ').unwrap_or(rest.len());
        out.push('N');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Records every scenario with `python` and writes its fixture.
pub fn regenerate(python: &Python) -> std::io::Result<usize> {
    let scenarios = all(&python.cache_tag);
    let records: Vec<Record> = std::thread::scope(|scope| {
        let chunks: Vec<&[Scenario]> = scenarios
            .chunks(scenarios.len().div_ceil(2).max(1))
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|s| record_with(s, python, Tool::Cpython))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let count = records.len();
    let fixture = Fixture {
        version: python.version.clone(),
        full_version: python.full_version.clone(),
        records,
    };
    let path = fixture_path(&python.version);
    std::fs::create_dir_all(path.parent().unwrap())?;
    let mut text = serde_json::to_string_pretty(&fixture).map_err(std::io::Error::other)?;
    text.push('\n');
    let temp = path.with_extension("json.tmp");
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, &path)?;
    Ok(count)
}

fn package() -> Tree {
    Tree::new()
        .file("pkg/__init__.py", "")
        .file("pkg/a.py", "x = 1\n")
        .file("pkg/b.py", "\"\"\"Docs.\"\"\"\ndef f(x):\n    \"\"\"More docs.\"\"\"\n    assert x, 'x'\n    return x\n")
        .file("pkg/sub/__init__.py", "from .c import y\n")
        .file("pkg/sub/c.py", "import os\ny = os.sep\n")
        .file("pkg/sub/deep/d.py", "z = [i for i in range(3)]\n")
        .file("pkg/data.txt", "not python\n")
        .file("top.py", "print('top')\n")
}

fn broken() -> Tree {
    Tree::new()
        .file("bad/ok.py", "x = 1\n")
        .file("bad/syntax.py", "def f(:\n")
        .file("bad/indent.py", "if 1:\n  x = 1\n    y = 2\n")
        .file("bad/tab.py", "if 1:\n        x = 1\n\ty = 2\n")
        .file("bad/nul.py", b"x = 1\x00\n".to_vec())
        .file("bad/cookie.py", "# -*- coding: no-such-codec -*-\n")
        .file(
            "bad/bom_cookie.py",
            b"\xef\xbb\xbf# coding: latin-1\nx = 1\n".to_vec(),
        )
        .file("bad/undecodable.py", b"x = '\xff'\n".to_vec())
        .file("bad/warning.py", "x = '\\d'\ny = 1 is 1\n")
        .file("bad/empty.py", "")
}

fn odd_names() -> Tree {
    Tree::new()
        .file("names/caf\u{e9}.py", "x = 1\n")
        .file(std::ffi::OsStr::from_bytes(b"names/n\xe9.py"), "x = 2\n")
        .file("names/it's.py", "x = 3\n")
        .file("names/say \"hi\".py", "x = 4\n")
        .file("names/two.dots.py", "x = 5\n")
        .file("names/\u{4e2d}\u{6587}.py", "x = 6\n")
        .file("names/tab\there.py", "x = 7\n")
}

fn links() -> Tree {
    Tree::new()
        .file("links/real.py", "x = 1\n")
        .file("outside/o.py", "y = 2\n")
        .file("outside/sub/s.py", "z = 3\n")
        .symlink("links/to_real.py", "real.py")
        .symlink("links/to_outside.py", "../outside/o.py")
        .symlink("links/dir_outside", "../outside/sub")
        .symlink("links/dangling.py", "nowhere.py")
        .symlink("links/loop.py", "loop.py")
        .dir("links/dir.py")
        .file("links/dir.py/inner.py", "w = 4\n")
        .fifo("links/fifo.py")
}

/// Every scenario, in a fixed order; some trees need the interpreter's
/// cache tag in file names.
pub fn all(tag: &str) -> Vec<Scenario> {
    let pkg = package();
    let both = pkg.clone().file("bad2/e.py", "def f(:\n");
    let mut s = vec![
        Scenario::new("plain", &pkg, &["pkg"]),
        Scenario::new("dot", &pkg, &["."]),
        Scenario::new("trailing_slash", &pkg, &["pkg/"]),
        Scenario::new("several_dests", &pkg, &["pkg/sub", "top.py", "pkg"]),
        Scenario::new("same_dest_twice", &pkg, &["pkg", "pkg"]),
        Scenario::new("overlapping_dests", &pkg, &["pkg/sub", "./pkg"]),
        Scenario::new("file_args", &pkg, &["pkg/a.py", "top.py", "pkg/data.txt"]),
        Scenario::new("missing_dest", &pkg, &["nope", "nope.py", "pkg/a.py"]),
        Scenario::new("no_recursion", &pkg, &["-l", "pkg"]),
        Scenario::new("depth_1", &pkg, &["-r", "1", "pkg"]),
        Scenario::new("depth_0", &pkg, &["-r", "0", "pkg"]),
        Scenario::new("depth_negative", &pkg, &["-r", "-1", "pkg"]),
        Scenario::new("depth_overrides_l", &pkg, &["-l", "-r", "2", "pkg"]),
        Scenario::new("quiet", &both, &["-q", "pkg", "bad2"]),
        Scenario::new("very_quiet", &both, &["-qq", "pkg", "bad2"]),
        Scenario::new("quiet_twice_flag", &both, &["-q", "-q", "bad2"]),
        Scenario::new("legacy", &pkg, &["-b", "pkg"]),
        Scenario::new("ddir_dir", &pkg, &["-d", "/installed", "pkg"]),
        Scenario::new("ddir_relative", &pkg, &["-d", "rel", "pkg/sub"]),
        Scenario::new("ddir_file", &pkg, &["-d", "/installed", "pkg/a.py"]),
        Scenario::new(
            "stripdir_prependdir",
            &pkg,
            &["-s", "pkg", "-p", "/usr/lib", "pkg"],
        ),
        Scenario::new(
            "stripdir_absolute",
            &pkg,
            &["-s", "{ROOT}", "-p", "/", "{ROOT}/pkg"],
        ),
        Scenario::new("stripdir_trailing_slash", &pkg, &["-s", "pkg/", "pkg"]),
        Scenario::new("stripdir_not_prefix", &pkg, &["-s", "elsewhere", "pkg"]),
        Scenario::new("stripdir_partial", &pkg, &["-s", "pk", "-p", "/x", "pkg"]),
        Scenario::new("stripdir_zip_quirk", &pkg, &["-s", "sub/pkg", "pkg/sub"]),
        Scenario::new("prependdir_only", &pkg, &["-p", "/opt", "pkg/sub"]),
        Scenario::new("stripdir_whole_file", &pkg, &["-s", "pkg/a.py", "pkg/a.py"]),
        Scenario::new("ddir_with_stripdir", &pkg, &["-d", "a", "-s", "b", "pkg"]),
        Scenario::new("regex_simple", &pkg, &["-x", "sub", "pkg"]),
        Scenario::new("regex_anchor", &pkg, &["-x", "a\\.py$", "pkg"]),
        Scenario::new("regex_lookahead", &pkg, &["-x", "pkg/(?!sub)", "pkg"]),
        Scenario::new(
            "regex_backreference",
            &pkg,
            &["-x", "(b)\\.py|(\\w)\\2", "pkg"],
        ),
        Scenario::new("regex_invalid", &pkg, &["-x", "(", "pkg"]),
        Scenario::new("regex_empty", &pkg, &["-x", "", "pkg"]),
        Scenario::new("list_file", &pkg, &["-i", "list.txt"]),
        Scenario::new("list_stdin", &pkg, &["-i", "-"])
            .stdin(b"pkg/sub\n\n  top.py  \nmissing.py\n"),
        Scenario::new("list_missing", &pkg, &["-i", "no-such-list"]),
        Scenario::new("list_missing_quiet", &pkg, &["-qq", "-i", "no-such-list"]),
        Scenario::new("list_and_args", &pkg, &["-i", "list.txt", "top.py"]),
        Scenario::new("workers_0", &pkg, &["-j", "0", "pkg"]),
        Scenario::new("workers_2", &both, &["-j", "2", "pkg", "bad2"]),
        Scenario::new("workers_negative_dir", &pkg, &["-j", "-1", "pkg"]),
        Scenario::new("workers_negative_file", &pkg, &["-j", "-1", "top.py"]),
        Scenario::new(
            "opt_levels",
            &pkg,
            &["-o", "0", "-o", "1", "-o", "2", "pkg"],
        ),
        Scenario::new("opt_repeated", &pkg, &["-o", "1", "-o", "1", "pkg"]),
        Scenario::new("opt_unusual", &pkg, &["-o", "3", "pkg/a.py"]),
        Scenario::new(
            "opt_interpreter_and_0",
            &pkg,
            &["-o", "-1", "-o", "0", "pkg/sub"],
        ),
        Scenario::new(
            "hardlink",
            &pkg,
            &["-o", "0", "-o", "1", "-o", "2", "--hardlink-dupes", "pkg"],
        ),
        Scenario::new("hardlink_one_level", &pkg, &["--hardlink-dupes", "pkg"]),
        Scenario::new(
            "hardlink_same_level_twice",
            &pkg,
            &["-o", "1", "-o", "1", "--hardlink-dupes", "pkg"],
        ),
        Scenario::new(
            "hardlink_legacy",
            &pkg,
            &["-b", "-o", "0", "-o", "1", "--hardlink-dupes", "pkg/sub"],
        ),
        Scenario::new(
            "mode_timestamp",
            &pkg,
            &["--invalidation-mode", "timestamp", "pkg"],
        ),
        Scenario::new(
            "mode_checked_hash",
            &pkg,
            &["--invalidation-mode", "checked-hash", "pkg"],
        ),
        Scenario::new(
            "mode_unchecked_hash",
            &pkg,
            &["--invalidation-mode", "unchecked-hash", "pkg"],
        ),
        Scenario::new(
            "mode_abbreviated_flag",
            &pkg,
            &["--inval", "unchecked-hash", "pkg"],
        ),
        Scenario::new("source_date_epoch", &pkg, &["pkg"]).env("SOURCE_DATE_EPOCH", "1700000000"),
        Scenario::new("source_date_epoch_empty", &pkg, &["pkg"]).env("SOURCE_DATE_EPOCH", ""),
        Scenario::new(
            "source_date_epoch_overridden",
            &pkg,
            &["--invalidation-mode", "timestamp", "pkg"],
        )
        .env("SOURCE_DATE_EPOCH", "1"),
        // The interpreter's own imports would also cache under the prefix,
        // at machine-specific paths: they are kept out of the record.
        Scenario::new("pycache_prefix_absolute", &pkg, &["pkg"])
            .env("PYTHONPYCACHEPREFIX", "{ROOT}/cache")
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        Scenario::new("pycache_prefix_relative", &pkg, &["pkg/sub"])
            .env("PYTHONPYCACHEPREFIX", "rel_cache")
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        Scenario::new("pythonoptimize", &pkg, &["pkg"]).env("PYTHONOPTIMIZE", "1"),
        Scenario::new(
            "pythonoptimize_2",
            &pkg,
            &["-o", "-1", "-o", "1", "pkg/sub"],
        )
        .env("PYTHONOPTIMIZE", "2"),
        Scenario::new("up_to_date", &pkg, &["pkg"]).precompiled(),
        Scenario::new("forced", &pkg, &["-f", "pkg"]).precompiled(),
        Scenario::new("stale_one", &pkg, &["pkg"])
            .precompiled()
            .setup(Setup::Touch("pkg/a.py".into(), b"x = 2\n".to_vec())),
        Scenario::new("up_to_date_levels", &pkg, &["-o", "0", "-o", "2", "pkg"]).precompiled(),
        Scenario::new(
            "hash_never_up_to_date",
            &pkg,
            &["--invalidation-mode", "checked-hash", "pkg"],
        )
        .precompiled(),
        Scenario::new("broken_sources", &broken(), &["bad"]),
        Scenario::new("broken_sources_quiet", &broken(), &["-q", "bad"]),
        Scenario::new("broken_sources_ddir", &broken(), &["-d", "/x", "bad"]),
        Scenario::new("odd_names", &odd_names(), &["names"]),
        Scenario::new(
            "odd_names_quiet_errors",
            &odd_names().file("names/\u{e9}rr.py", "def (:\n"),
            &["-q", "names"],
        ),
        Scenario::new("links", &links(), &["links"]),
        Scenario::new("links_limit_inside", &links(), &["-e", "links", "links"]),
        Scenario::new("links_limit_root", &links(), &["-e", ".", "links"]),
        Scenario::new("links_limit_empty", &links(), &["-e", "", "links"]),
        Scenario::new(
            "link_as_dest",
            &links(),
            &["links/dir_outside", "links/to_outside.py"],
        ),
        Scenario::new("cfile_symlink", &pkg, &["pkg/sub"])
            .setup(Setup::Mkdir("pkg/sub/__pycache__".into()))
            .setup(Setup::Symlink(
                format!("pkg/sub/__pycache__/c.{tag}.pyc").into(),
                "../../a.py".into(),
            )),
        Scenario::new("cfile_directory", &pkg, &["pkg/sub"]).setup(Setup::Mkdir(
            format!("pkg/sub/__pycache__/c.{tag}.pyc").into(),
        )),
        Scenario::new(
            "pycache_is_a_file",
            &pkg.clone()
                .file("plain/__pycache__", "x")
                .file("plain/m.py", "m = 1\n"),
            &["plain"],
        ),
        Scenario::new("no_args_quiet", &pkg, &["-q"]).env("PYTHONSAFEPATH", "1"),
        Scenario::new("no_args", &pkg, &[])
            .env("PYTHONPATH", "{ROOT}/pkg/sub:")
            .env("PYTHONSAFEPATH", "1"),
        Scenario::new("usage_unknown_flag", &pkg, &["--frobnicate", "pkg"]),
        Scenario::new("usage_bad_int", &pkg, &["-r", "x", "pkg"]),
        Scenario::new(
            "usage_bad_mode",
            &pkg,
            &["--invalidation-mode", "sometimes", "pkg"],
        ),
    ];
    // The list file that -i reads.
    for scenario in s.iter_mut().filter(|s| s.name.starts_with("list_")) {
        scenario.tree = scenario.tree.clone().file(
            "list.txt",
            "pkg/a.py\n\n  pkg/sub  \r\nmissing.py\npkg/data.txt\n",
        );
    }
    s
}
