//! `cargo xtask conformance --python X DIR`: copies DIR twice, compiles one
//! copy with `python -m compileall` and the other with our `compileall`,
//! and reports every difference: files (paths, kinds, modes, bytes, symlink
//! targets, hard links), stdout and exit status.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail};

mod native;

/// Options of `cargo xtask conformance`.
#[derive(Debug, clap::Args)]
pub struct ConformanceArgs {
    /// The interpreter both tools compile for.
    #[arg(long)]
    pub python: PathBuf,
    /// The trees to compile (each is copied; the originals are not touched).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// `-j` for both tools. CPython's pycs depend on it (they are compiled
    /// in the main process at 1, in pool processes otherwise), and so does
    /// its output order, which is compared line by line only at 1.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub jobs: i64,
    /// Extra arguments for both tools (default: -q).
    #[arg(long, allow_hyphen_values = true, default_value = "-q")]
    pub args: String,
    /// Top-level entries of each tree to leave out (third-party packages
    /// are not part of a stdlib).
    #[arg(long, value_delimiter = ',', default_values_t = default_excludes())]
    pub exclude: Vec<String>,
    /// Scratch folder (default: target/conformance).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Our backend (`native` or `cpython`; default: ours picks). With
    /// `native`, pycs that differ from CPython's in bytes are compared as
    /// code objects, and a summary reports what was compiled natively.
    #[arg(long)]
    pub backend: Option<String>,
}

/// `site-packages` and `dist-packages`.
pub fn default_excludes() -> Vec<String> {
    vec!["site-packages".into(), "dist-packages".into()]
}

/// What one file system entry looks like after a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    kind: char,
    mode: u32,
    size: u64,
    digest: u64,
    link_target: Option<PathBuf>,
    /// Other paths of the same inode, for hard links.
    links: Vec<PathBuf>,
}

/// Runs the comparison; fails when anything differs.
pub fn run(args: &ConformanceArgs, ours: &Path) -> Result<()> {
    let work = args
        .work_dir
        .clone()
        .unwrap_or_else(|| compileall_tests::workspace_root().join("target/conformance"));
    let extra: Vec<&str> = args.args.split_whitespace().collect();
    let native = args.backend.as_deref() == Some("native");
    let mut differences = Vec::new();
    for (index, dir) in args.dirs.iter().enumerate() {
        let name = format!("tree{index}");
        let cpython_root = work.join("cpython");
        let ours_root = work.join("ours");
        for root in [&cpython_root, &ours_root] {
            if root.join(&name).exists() {
                fs_err::remove_dir_all(root.join(&name))?;
            }
            fs_err::create_dir_all(root)?;
            let status = Command::new("cp")
                .arg("-a")
                .arg(dir)
                .arg(root.join(&name))
                .status()?;
            if !status.success() {
                bail!("copying {} failed", dir.display());
            }
            for excluded in &args.exclude {
                let path = root.join(&name).join(excluded);
                if path.exists() {
                    fs_err::remove_dir_all(&path)?;
                }
            }
            remove_bytecode(&root.join(&name))?;
        }
        // Same relative paths in both runs, so co_filename and messages
        // are comparable byte for byte.
        let jobs = args.jobs.to_string();
        let report = work.join(format!("{name}-report.json"));
        let cpython = Command::new(&args.python)
            .args(["-m", "compileall", "-j", &jobs])
            .args(&extra)
            .arg(&name)
            .current_dir(&cpython_root)
            .stdin(Stdio::null())
            .output()
            .context("running python -m compileall")?;
        let mut ours_command = Command::new(ours);
        if let Some(backend) = &args.backend {
            ours_command.args(["--backend", backend]);
        }
        if native {
            ours_command
                .args(["--report", "json", "--report-file"])
                .arg(&report);
        }
        let mine = ours_command
            .arg("--python")
            .arg(&args.python)
            .args(["-j", &jobs])
            .args(&extra)
            .arg(&name)
            .current_dir(&ours_root)
            .stdin(Stdio::null())
            .output()
            .context("running compileall")?;
        let before = differences.len();
        compare_outputs(&cpython, &mine, args.jobs == 1, &mut differences);
        let theirs = snapshot(&cpython_root.join(&name))?;
        let ours_tree = snapshot(&ours_root.join(&name))?;
        let mut pycs_differing = Vec::new();
        compare_trees(&theirs, &ours_tree, &mut pycs_differing, &mut differences);
        if native {
            let roots = native::Roots {
                name: &name,
                cpython: &cpython_root,
                ours: &ours_root,
            };
            let summary = native::summarize(&report, &roots, &pycs_differing)?;
            println!("{}", summary.render(&dir.display().to_string()));
            differences.extend(summary.differences);
        } else {
            differences.extend(
                pycs_differing
                    .iter()
                    .map(|path| format!("{}: pyc bytes differ", path.display())),
            );
        }
        let pycs = theirs
            .keys()
            .filter(|p| p.extension().is_some_and(|e| e == "pyc"))
            .count();
        println!(
            "{} (-j {}): {} files after the run, {pycs} pycs, CPython exit {}, {} differences",
            dir.display(),
            args.jobs,
            theirs.len(),
            cpython.status.code().unwrap_or(-1),
            differences.len() - before
        );
    }
    for difference in differences.iter().take(50) {
        println!("DIFF {difference}");
    }
    if !differences.is_empty() {
        bail!("{} differences", differences.len());
    }
    println!("no differences");
    Ok(())
}

pub(crate) fn compare_outputs(
    cpython: &Output,
    ours: &Output,
    ordered: bool,
    out: &mut Vec<String>,
) {
    if cpython.status.code() != ours.status.code() {
        out.push(format!(
            "exit status: CPython {:?}, ours {:?}",
            cpython.status.code(),
            ours.status.code()
        ));
    }
    // With a process pool, CPython prints in whatever order its workers
    // finish, and its workers' block-buffered writes to the shared pipe
    // can even interleave within a line; ours is always the sequential
    // order. Unordered, the output is compared as the multiset of its
    // characters: the same text, in any interleaving.
    let normalize = |bytes: &[u8]| -> Vec<String> {
        let lines = String::from_utf8_lossy(bytes)
            .lines()
            .map(normalize_temp_names)
            .collect::<Vec<String>>();
        if ordered {
            return lines;
        }
        let mut chars: Vec<char> = lines.concat().chars().collect();
        chars.sort_unstable();
        vec![chars.into_iter().collect()]
    };
    let (theirs, mine) = (normalize(&cpython.stdout), normalize(&ours.stdout));
    if theirs != mine {
        let first = theirs
            .iter()
            .zip(&mine)
            .position(|(a, b)| a != b)
            .unwrap_or(theirs.len().min(mine.len()));
        out.push(format!(
            "stdout differs at line {}: CPython {:?}, ours {:?} ({} vs {} lines)",
            first + 1,
            theirs.get(first),
            mine.get(first),
            theirs.len(),
            mine.len()
        ));
    }
    let (theirs, mine) = (normalize(&cpython.stderr), normalize(&ours.stderr));
    if theirs != mine {
        out.push(format!(
            "stderr differs: CPython {} lines, ours {} lines",
            theirs.len(),
            mine.len()
        ));
    }
}

/// `_write_atomic` names its temporary file `{cfile}.{id(path)}`, a random
/// number that shows up in error messages.
fn normalize_temp_names(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(".pyc.") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let end = rest.find(['\'', '"']).unwrap_or(rest.len());
        out.push_str("<tmp>");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Every difference between the trees, except pycs whose only difference
/// is their bytes: those go to `pycs` (for the caller to judge).
pub(crate) fn compare_trees(
    theirs: &BTreeMap<PathBuf, Entry>,
    ours: &BTreeMap<PathBuf, Entry>,
    pycs: &mut Vec<PathBuf>,
    out: &mut Vec<String>,
) {
    for (path, entry) in theirs {
        match ours.get(path) {
            None => out.push(format!("{}: only CPython wrote it", path.display())),
            Some(mine)
                if path.extension().is_some_and(|e| e == "pyc") && same_but_bytes(entry, mine) =>
            {
                pycs.push(path.clone());
            }
            Some(mine) if mine != entry => out.push(format!(
                "{}: CPython {entry:?}, ours {mine:?}",
                path.display()
            )),
            Some(_) => {}
        }
    }
    for path in ours.keys().filter(|p| !theirs.contains_key(*p)) {
        out.push(format!("{}: only we wrote it", path.display()));
    }
}

/// Entries equal in all but their contents.
fn same_but_bytes(theirs: &Entry, ours: &Entry) -> bool {
    theirs.digest != ours.digest
        && Entry {
            digest: 0,
            size: 0,
            ..theirs.clone()
        } == Entry {
            digest: 0,
            size: 0,
            ..ours.clone()
        }
}

pub(crate) fn snapshot(root: &Path) -> Result<BTreeMap<PathBuf, Entry>> {
    let mut entries = BTreeMap::new();
    let mut inodes: HashMap<u64, Vec<PathBuf>> = HashMap::new();
    visit(root, root, &mut entries, &mut inodes)?;
    for paths in inodes.values().filter(|p| p.len() > 1) {
        for path in paths {
            let others = paths.iter().filter(|p| *p != path).cloned().collect();
            entries.get_mut(path).expect("recorded").links = others;
        }
    }
    Ok(entries)
}

fn visit(
    root: &Path,
    dir: &Path,
    entries: &mut BTreeMap<PathBuf, Entry>,
    inodes: &mut HashMap<u64, Vec<PathBuf>>,
) -> Result<()> {
    for item in fs_err::read_dir(dir)? {
        let item = item?;
        let path = item.path();
        let relative = path.strip_prefix(root).expect("under root").to_owned();
        let meta = fs_err::symlink_metadata(&path)?;
        let kind = meta.file_type();
        let (kind_char, digest, link_target) = if kind.is_symlink() {
            ('l', 0, Some(fs_err::read_link(&path)?))
        } else if kind.is_dir() {
            ('d', 0, None)
        } else if kind.is_file() {
            ('f', fnv(&fs_err::read(&path)?), None)
        } else {
            ('o', 0, None)
        };
        if kind.is_file() && meta.nlink() > 1 {
            inodes.entry(meta.ino()).or_default().push(relative.clone());
        }
        entries.insert(
            relative,
            Entry {
                kind: kind_char,
                mode: meta.mode() & 0o7777,
                size: if kind.is_dir() { 0 } else { meta.len() },
                digest,
                link_target,
                links: Vec::new(),
            },
        );
        if kind.is_dir() {
            visit(root, &path, entries, inodes)?;
        }
    }
    Ok(())
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn remove_bytecode(dir: &Path) -> Result<()> {
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if entry.file_name() == "__pycache__" {
                fs_err::remove_dir_all(&path)?;
            } else {
                remove_bytecode(&path)?;
            }
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "pyc") {
            fs_err::remove_file(&path)?;
        }
    }
    Ok(())
}
