//! `cargo xtask bench`: our `compileall` and `python -m compileall`, run
//! alternately on the same corpora in one process, several rounds each;
//! medians of wall time, CPU time and peak memory, and their ratios.
//!
//! Every tool is one entry of [`tools`]; a new backend is one more entry
//! and one more column.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use compileall_tests::pythons::{self, Python};

use crate::corpus;

/// Options of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Rounds per scenario and tool (medians are reported).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// CPython versions to compare with.
    #[arg(long, value_delimiter = ',', default_values_t = ["3.11".to_string(), "3.14".to_string()])]
    pub versions: Vec<String>,
    /// Corpora: stdlib (the interpreter's own; 3.14 adds its test suite),
    /// synthetic (a generated tree of about 40 MB), popular (pinned
    /// packages from the package index), scale (a generated
    /// site-packages of `--scale-files` sources; not in the default list).
    #[arg(long, value_delimiter = ',', default_values_t = ["stdlib".to_string(), "synthetic".to_string(), "popular".to_string()])]
    pub corpora: Vec<String>,
    /// Sizes of the scale corpus, in sources: one corpus per size.
    #[arg(long, value_delimiter = ',', default_values_t = [corpus::scale::DEFAULT_FILES])]
    pub scale_files: Vec<usize>,
    /// Scenarios: cold, noop, incremental, opt3, warm-cache (a fresh tree
    /// compiled from a cache filled at another path; CPython runs cold),
    /// empty-cache (cold, storing into an empty cache), and
    /// incremental-install (not in the default list).
    #[arg(long, value_delimiter = ',', default_values_t = ["cold".to_string(), "noop".to_string(), "incremental".to_string(), "opt3".to_string(), "warm-cache".to_string(), "empty-cache".to_string()])]
    pub scenarios: Vec<String>,
    /// Where the trees are built (a tmpfs such as /dev/shm measures the
    /// tools rather than the disk).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Also write the results as Markdown to this file.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
}

/// Builds the command line of one tool for a target and arguments.
type CommandBuilder = Box<dyn Fn(&Python, &[&str]) -> Command>;

/// One way of running compileall.
struct Tool {
    name: &'static str,
    command: CommandBuilder,
    /// The CPython release lines it compiles for (`None`: all).
    versions: Option<&'static [&'static str]>,
    /// Whether it takes `--cache-dir`.
    caches: bool,
}

impl Tool {
    fn compiles_for(&self, python: &Python) -> bool {
        self.versions
            .is_none_or(|versions| versions.contains(&python.version.as_str()))
    }
}

fn tools(ours: &Path) -> Vec<Tool> {
    vec![
        Tool {
            name: "cpython",
            command: Box::new(|python, args| {
                let mut cmd = Command::new(&python.executable);
                cmd.args(["-m", "compileall"]).args(args);
                cmd
            }),
            versions: None,
            caches: false,
        },
        ours_with("ours (cpython workers)", ours, "cpython", None),
        ours_with("ours (native)", ours, "native", Some(&["3.14"])),
    ]
}

/// Our binary with `--backend backend`.
fn ours_with(
    name: &'static str,
    ours: &Path,
    backend: &'static str,
    versions: Option<&'static [&'static str]>,
) -> Tool {
    let ours = ours.to_owned();
    Tool {
        name,
        command: Box::new(move |python, args| {
            let mut cmd = Command::new(&ours);
            cmd.arg("--python")
                .arg(&python.executable)
                .args(["--backend", backend])
                .args(args);
            cmd
        }),
        versions,
        caches: true,
    }
}

/// What one run cost.
#[derive(Clone, Copy, Debug, Default)]
struct Measure {
    wall: Duration,
    cpu: Duration,
    /// Peak of the summed resident memory of the process tree, in bytes.
    peak_rss: u64,
}

/// Runs the benchmark and prints its table.
pub fn run(args: &BenchArgs, ours: &Path) -> Result<()> {
    // Orphans (CPython's forkserver outlives its parent) are re-parented to
    // us and reaped after each run, so their CPU time is counted too.
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a process flag.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let work_dir = args
        .work_dir
        .clone()
        .unwrap_or_else(|| compileall_tests::workspace_root().join("target/bench"));
    let installed = pythons::installed();
    let tools = tools(ours);
    let mut rows = Vec::new();
    for version in &args.versions {
        let Some(python) = installed.iter().find(|p| &p.version == version) else {
            bail!("CPython {version} is not provisioned; run `cargo xtask pythons`");
        };
        for corpus_name in &corpus_names(args) {
            let trees = work_dir.join(format!("{version}-{corpus_name}"));
            let pristine = trees.join("pristine/lib");
            let files = corpus::build(corpus_name, python, &pristine)?;
            // Every scenario of the corpus in each round, so that a drift
            // in the machine's speed reaches them all alike: the
            // empty-cache row is read against the cold one.
            let mut measures: Vec<Vec<Vec<Measure>>> =
                vec![vec![Vec::new(); tools.len()]; args.scenarios.len()];
            for round in 0..args.rounds {
                for (scenario, measures) in args.scenarios.iter().zip(&mut measures) {
                    eprintln!(
                        "bench: CPython {} {corpus_name} ({files} sources) {scenario}, round {}",
                        python.full_version,
                        round + 1
                    );
                    run_round(scenario, &tools, python, &pristine, &trees, round, measures)?;
                }
            }
            for (scenario, measures) in args.scenarios.iter().zip(&measures) {
                rows.push(Row {
                    python: python.full_version.clone(),
                    corpus: format!("{corpus_name} ({files} files)"),
                    scenario: scenario.clone(),
                    medians: measures
                        .iter()
                        .map(|m| (!m.is_empty()).then(|| median(m)))
                        .collect(),
                });
            }
        }
    }
    let mut table = render(&rows, &tools, args.rounds);
    table.push_str(&render_cache_overhead(&rows, &tools));
    println!("{table}");
    if let Some(path) = &args.markdown {
        fs_err::write(path, &table)?;
    }
    Ok(())
}

/// One round of `scenario`: each tool that compiles for `python` once, on
/// its own tree under `trees`, the order alternating with the round (so
/// that neither always meets a warmer page cache).
fn run_round(
    scenario: &str,
    tools: &[Tool],
    python: &Python,
    pristine: &Path,
    trees: &Path,
    round: usize,
    measures: &mut [Vec<Measure>],
) -> Result<()> {
    let order: Vec<usize> = if round.is_multiple_of(2) {
        (0..tools.len()).collect()
    } else {
        (0..tools.len()).rev().collect()
    };
    for index in order {
        if !tools[index].compiles_for(python) {
            continue;
        }
        let tree = trees.join(index.to_string());
        let measure = run_scenario(scenario, &tools[index], python, pristine, &tree, round)?;
        measures[index].push(measure);
    }
    Ok(())
}

/// The corpora of `--corpora`, with `scale` once per `--scale-files` size
/// (`scale-N`, which [`corpus::build`] generates with `N` sources).
fn corpus_names(args: &BenchArgs) -> Vec<String> {
    args.corpora
        .iter()
        .flat_map(|name| match name.as_str() {
            "scale" => args
                .scale_files
                .iter()
                .map(|n| format!("scale-{n}"))
                .collect(),
            _ => vec![name.clone()],
        })
        .collect()
}

/// Prepares `tree` for `scenario` (untimed), then times one run.
fn run_scenario(
    scenario: &str,
    tool: &Tool,
    python: &Python,
    pristine: &Path,
    tree: &Path,
    round: usize,
) -> Result<Measure> {
    if scenario.ends_with("-cache") {
        return run_cache_scenario(scenario, tool, python, pristine, tree, round);
    }
    let lib = tree.join("lib");
    let (args, setup): (&[&str], Setup) = match scenario {
        "cold" => (&["-q", "-j0", "lib"], Setup::Fresh),
        "noop" => (&["-q", "-j0", "lib"], Setup::Compiled),
        "incremental" => (&["-q", "-j0", "lib"], Setup::Touched),
        "incremental-install" => (&["-q", "-j0", "lib"], Setup::Installed),
        "opt3" => (
            &[
                "-q",
                "-j0",
                "-o",
                "0",
                "-o",
                "1",
                "-o",
                "2",
                "--hardlink-dupes",
                "lib",
            ],
            Setup::Fresh,
        ),
        other => bail!(
            "unknown scenario {other:?} (cold, noop, incremental, opt3, incremental-install, \
             warm-cache, empty-cache)"
        ),
    };
    if !lib.exists() {
        copy_tree(pristine, &lib)?;
    }
    match setup {
        Setup::Fresh => remove_pycaches(&lib)?,
        Setup::Compiled | Setup::Touched | Setup::Installed => {
            if matches!(setup, Setup::Installed) {
                uninstall(&lib)?;
            }
            // Bring the tree up to date with the tool itself.
            let status = (tool.command)(python, args)
                .current_dir(tree)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
            if status.code().is_none_or(|c| c > 1) {
                bail!("{} failed to prepare {}", tool.name, lib.display());
            }
            if matches!(setup, Setup::Touched) {
                touch_one_percent(&lib, round)?;
            }
            if matches!(setup, Setup::Installed) {
                corpus::scale::install(&lib, INSTALLED, corpus::scale::INSTALLED_FILES)?;
            }
        }
    }
    time_run(tool, python, args, tree)
}

/// `warm-cache`: a tree without pycs, and a cache that a run over another
/// copy, at another path, filled (once, untimed: so every hit is
/// re-targeted). `empty-cache`: a tree without pycs and an empty cache.
/// A tool without a cache (CPython) runs cold in both.
fn run_cache_scenario(
    scenario: &str,
    tool: &Tool,
    python: &Python,
    pristine: &Path,
    tree: &Path,
    round: usize,
) -> Result<Measure> {
    let lib = tree.join("lib");
    if !lib.exists() {
        copy_tree(pristine, &lib)?;
    }
    remove_pycaches(&lib)?;
    let mut args = vec!["-q".to_owned(), "-j0".to_owned()];
    if tool.caches {
        let name = tree
            .file_name()
            .expect("trees have names")
            .to_string_lossy();
        // One cache per scenario: the rounds of both interleave.
        let cache = tree.with_file_name(format!("{name}-{scenario}"));
        let warm = scenario == "warm-cache";
        if (!warm || round == 0) && cache.exists() {
            fs_err::remove_dir_all(&cache)?;
        }
        let cache_arg = cache.to_string_lossy().into_owned();
        if warm && round == 0 {
            let elsewhere = tree.with_file_name(format!("{name}-elsewhere")).join("lib");
            if !elsewhere.exists() {
                copy_tree(pristine, &elsewhere)?;
            }
            remove_pycaches(&elsewhere)?;
            let fill = [
                "-q",
                "-j0",
                "--cache-dir",
                &cache_arg,
                &elsewhere.to_string_lossy(),
            ];
            let status = (tool.command)(python, &fill)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
            if status.code().is_none_or(|c| c > 1) {
                bail!(
                    "{} failed to fill the cache from {}",
                    tool.name,
                    elsewhere.display()
                );
            }
        }
        args.extend(["--cache-dir".to_owned(), cache_arg]);
    }
    args.push("lib".to_owned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    time_run(tool, python, &args, tree)
}

enum Setup {
    /// No pycs at all.
    Fresh,
    /// Every pyc up to date.
    Compiled,
    /// Up to date, then 1% of the sources touched.
    Touched,
    /// Up to date, then a new package of
    /// [`corpus::scale::INSTALLED_FILES`] sources added.
    Installed,
}

/// The package `incremental-install` adds.
const INSTALLED: &str = "newly_installed";

/// Removes the package an earlier round of `incremental-install` added.
fn uninstall(lib: &Path) -> Result<()> {
    for dir in [
        lib.join(INSTALLED),
        lib.join(format!("{INSTALLED}-1.0.dist-info")),
    ] {
        if dir.exists() {
            fs_err::remove_dir_all(&dir)?;
        }
    }
    Ok(())
}

/// Times `tool` with `args` in `tree`, its output discarded.
fn time_run(tool: &Tool, python: &Python, args: &[&str], tree: &Path) -> Result<Measure> {
    let mut command = (tool.command)(python, args);
    command
        .current_dir(tree)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    measure(command)
}

fn measure(mut command: Command) -> Result<Measure> {
    // Leftovers of the untimed preparation must not count here: its
    // processes, and its writes (the file system would flush them, and
    // commit its deletions, during the timed run).
    reap_orphans();
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    let before = children_cpu();
    let start = Instant::now();
    let child = command.spawn().context("starting the tool")?;
    let pid = child.id();
    let peak = Arc::new(Mutex::new(0u64));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let rss = tree_rss(pid);
                let mut peak = peak.lock().unwrap();
                *peak = (*peak).max(rss);
                drop(peak);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let output = child.wait_with_output()?;
    let wall = start.elapsed();
    reap_orphans();
    done.store(true, Ordering::SeqCst);
    sampler.join().expect("sampler thread");
    if output.status.code().is_none_or(|c| c > 1) {
        bail!("{command:?} failed: {}", output.status);
    }
    Ok(Measure {
        wall,
        cpu: children_cpu().saturating_sub(before),
        peak_rss: *peak.lock().unwrap(),
    })
}

/// Waits for every descendant that outlived the tool (they are ours as
/// the subreaper), so that their CPU time is accounted.
fn reap_orphans() {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only to `status`.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid < 0 {
            return; // ECHILD: none left
        }
        if pid == 0 {
            if Instant::now() > deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// User plus system time of all waited-for descendants so far.
fn children_cpu() -> Duration {
    // SAFETY: `rusage` is a plain C struct of integers, for which all
    // zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage only writes the struct it is given, which lives
    // for the whole call.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Summed resident memory of `root` and all its descendants.
fn tree_rss(root: u32) -> u64 {
    let mut parent_of = BTreeMap::new();
    let Ok(entries) = fs_err::read_dir("/proc") else {
        return 0;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(stat) = fs_err::read_to_string(format!("/proc/{pid}/stat"))
            && let Some(after_name) = stat.rfind(')').map(|i| &stat[i + 2..])
            && let Some(ppid) = after_name
                .split(' ')
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok())
        {
            parent_of.insert(pid, ppid);
        }
    }
    let page = 4096;
    parent_of
        .keys()
        .filter(|&&pid| {
            let mut p = pid;
            loop {
                if p == root {
                    return true;
                }
                match parent_of.get(&p) {
                    Some(&pp) if pp != 0 && pp != p => p = pp,
                    _ => return false,
                }
            }
        })
        .filter_map(|pid| fs_err::read_to_string(format!("/proc/{pid}/statm")).ok())
        .filter_map(|statm| statm.split(' ').nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * page)
        .sum()
}

fn median(values: &[Measure]) -> Measure {
    let pick = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let mut rss: Vec<u64> = values.iter().map(|m| m.peak_rss).collect();
    rss.sort();
    Measure {
        wall: pick(values.iter().map(|m| m.wall).collect()),
        cpu: pick(values.iter().map(|m| m.cpu).collect()),
        peak_rss: rss[rss.len() / 2],
    }
}

struct Row {
    python: String,
    corpus: String,
    scenario: String,
    /// Per tool; `None` where the tool does not compile for the version.
    medians: Vec<Option<Measure>>,
}

/// For each corpus measured both cold and with an empty cache: what storing
/// into the cache cost each tool that has one, against its own cold run.
fn render_cache_overhead(rows: &[Row], tools: &[Tool]) -> String {
    let pairs: Vec<(&Row, &Row)> = rows
        .iter()
        .filter(|row| row.scenario == "empty-cache")
        .filter_map(|empty| {
            let cold = rows.iter().find(|row| {
                row.scenario == "cold" && row.python == empty.python && row.corpus == empty.corpus
            })?;
            Some((cold, empty))
        })
        .collect();
    if pairs.is_empty() {
        return String::new();
    }
    let caching: Vec<usize> = (0..tools.len()).filter(|&i| tools[i].caches).collect();
    let mut out = String::from(
        "\nAn empty cache against the same tool's cold run (wall time, same rounds):\n\n| CPython | corpus |",
    );
    for &index in &caching {
        let _ = write!(out, " {} |", tools[index].name);
    }
    out.push('\n');
    out.push_str(&"|---".repeat(2 + caching.len()));
    out.push_str("|\n");
    for (cold, empty) in pairs {
        let _ = write!(out, "| {} | {} |", cold.python, cold.corpus);
        for &index in &caching {
            match (cold.medians[index], empty.medians[index]) {
                (Some(cold), Some(empty)) => {
                    let change = empty.wall.as_secs_f64() / cold.wall.as_secs_f64() - 1.0;
                    let _ = write!(out, " {:+.1}% |", change * 100.0);
                }
                _ => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
    out
}

fn render(rows: &[Row], tools: &[Tool], rounds: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Medians of {rounds} rounds; ratio = CPython / tool (above 1: the tool is faster or smaller).\n"
    );
    let _ = write!(out, "| CPython | corpus | scenario |");
    for tool in tools {
        let _ = write!(out, " {} wall | cpu | peak RSS |", tool.name);
    }
    for tool in &tools[1..] {
        let _ = write!(
            out,
            " {}: wall ratio | cpu ratio | memory ratio |",
            tool.name
        );
    }
    out.push('\n');
    let columns = 3 + 3 * tools.len() + 3 * (tools.len() - 1);
    out.push_str(&"|---".repeat(columns));
    out.push_str("|\n");
    for row in rows {
        let _ = write!(
            out,
            "| {} | {} | {} |",
            row.python, row.corpus, row.scenario
        );
        for m in &row.medians {
            match m {
                Some(m) => {
                    let _ = write!(
                        out,
                        " {:.3} s | {:.3} s | {:.0} MB |",
                        m.wall.as_secs_f64(),
                        m.cpu.as_secs_f64(),
                        m.peak_rss as f64 / 1e6
                    );
                }
                None => out.push_str(" – | – | – |"),
            }
        }
        let base = row.medians[0].expect("CPython compiles for every version");
        for m in &row.medians[1..] {
            match m {
                Some(m) => {
                    let _ = write!(
                        out,
                        " {:.2}x | {:.2}x | {:.2}x |",
                        base.wall.as_secs_f64() / m.wall.as_secs_f64(),
                        base.cpu.as_secs_f64() / m.cpu.as_secs_f64().max(1e-9),
                        base.peak_rss as f64 / (m.peak_rss as f64).max(1.0)
                    );
                }
                None => out.push_str(" – | – | – |"),
            }
        }
        out.push('\n');
    }
    out
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs_err::create_dir_all(to.parent().expect("trees have parents"))?;
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status()?;
    if !status.success() {
        bail!("copying {} to {} failed", from.display(), to.display());
    }
    Ok(())
}

fn remove_pycaches(dir: &Path) -> Result<()> {
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if entry.file_name() == "__pycache__" {
                fs_err::remove_dir_all(&path)?;
            } else {
                remove_pycaches(&path)?;
            }
        } else if path.extension().is_some_and(|e| e == "pyc") {
            fs_err::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Gives every hundredth source (the same ones each round) a new mtime.
fn touch_one_percent(dir: &Path, round: usize) -> Result<()> {
    let mut sources = Vec::new();
    corpus::collect_sources(dir, &mut sources)?;
    sources.sort();
    let when = SystemTime::now() + Duration::from_secs(10 + round as u64);
    for source in sources.iter().step_by(100) {
        let file = fs_err::File::options().write(true).open(source)?;
        file.set_modified(when)?;
    }
    Ok(())
}
