//! `--report json`: one machine-readable document per invocation. The
//! schema is documented in `docs/report.md`; field names are stable.

use bytecode::{CacheOutcome, CompiledBy};
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::check::Problem;
use crate::output::{Chunk, FileOutcome, FileStatus, Sink, SkipReason};

/// The whole report: one run per target interpreter.
///
/// ```
/// use compileall_cli::report::Report;
/// let json = serde_json::to_value(Report::new()).unwrap();
/// assert_eq!(json["schema"], "compileall-report/1");
/// assert_eq!(json["runs"], serde_json::json!([]));
/// assert_eq!(json["exit_code"], 0);
/// ```
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// `compileall-report/1`.
    pub schema: &'static str,
    /// This tool's version.
    pub compileall: &'static str,
    /// One entry per `--python`, in order.
    pub runs: Vec<RunReport>,
    /// The exit status of the invocation.
    pub exit_code: i32,
}

/// One target's run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunReport {
    /// The interpreter.
    pub python: String,
    /// Its exact version.
    pub version: String,
    /// Its cache tag.
    pub cache_tag: Option<String>,
    /// compileall's exit status for this target.
    pub exit_code: i32,
    /// Wall time, in seconds.
    pub seconds: f64,
    /// Files per outcome.
    pub counts: Counts,
    /// Every path compile_file was called for, in compileall's order.
    pub files: Vec<FileReport>,
    /// The exception compileall raised, if it did (`Class: message`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// True if Ctrl-C stopped the run.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// Under `--check`: every pyc that is missing, stale or invalid (present,
    /// possibly empty, only under `--check`; `files` is then empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<ProblemReport>>,
    /// With `--cache-dir`: how this target's run used the cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<CacheReport>,
}

/// How one target's run used the bytecode cache (lookups and stores count
/// optimization levels: a file compiled at `-o 0 -o 1` is two).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CacheReport {
    /// The cache folder.
    pub dir: String,
    /// Levels answered by the cache.
    pub hits: u64,
    /// Levels looked up and not found (damaged entries included).
    pub misses: u64,
    /// Levels stored.
    pub stores: u64,
    /// Entries that failed their checks and were compiled again.
    pub damaged: u64,
}

/// One `--check` finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProblemReport {
    /// The source, as compileall names it (lossy UTF-8).
    pub source: String,
    /// The pyc it should have.
    pub pyc: String,
    /// `missing`, `stale` or `invalid`.
    pub kind: &'static str,
    /// Why, in words.
    pub reason: String,
}

impl From<&Problem> for ProblemReport {
    fn from(problem: &Problem) -> Self {
        ProblemReport {
            source: lossy(&problem.source),
            pyc: lossy(&problem.pyc),
            kind: problem.kind.as_str(),
            reason: problem.reason.clone(),
        }
    }
}

/// How many files ended each way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Compiled and written.
    pub compiled: u64,
    /// Already current.
    pub up_to_date: u64,
    /// Not compiled for another reason.
    pub skipped: u64,
    /// Failed to compile or to be written.
    pub failed: u64,
}

/// One path.
///
/// Optional fields are left out of the JSON when they do not apply:
///
/// ```
/// use compileall_cli::report::FileReport;
/// let skipped = FileReport {
///     source: "demo/data.csv".into(),
///     status: "skipped",
///     reason: Some("not_python"),
///     pycs: Vec::new(),
///     error: None,
///     seconds: None,
///     backend: None,
///     fallback: None,
///     cache: None,
/// };
/// assert_eq!(
///     serde_json::to_string(&skipped).unwrap(),
///     r#"{"source":"demo/data.csv","status":"skipped","reason":"not_python"}"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileReport {
    /// The path as compileall names it (lossy UTF-8).
    pub source: String,
    /// `compiled`, `up_to_date`, `skipped`, `failed` or `interrupted`.
    pub status: &'static str,
    /// For `skipped`: `excluded`, `symlink_outside`, `not_a_file` or
    /// `not_python`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Its pycs, one per optimization level.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pycs: Vec<String>,
    /// For `failed`: the message compileall prints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For `compiled` and `failed`: seconds spent on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// For `compiled` and `failed`: the backend whose bytes or message
    /// these are, `native` or `cpython`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<&'static str>,
    /// Why the native backend passed the source to CPython, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// With `--cache-dir`, for `compiled` and `failed`: `hit` (written from
    /// the cache), `stored` (compiled, then stored) or `miss` (compiled,
    /// not stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache: Option<&'static str>,
}

impl Report {
    /// An empty report.
    ///
    /// ```
    /// use compileall_cli::report::Report;
    /// let report = Report::new();
    /// assert_eq!(report.schema, "compileall-report/1");
    /// assert_eq!((report.runs.len(), report.exit_code), (0, 0));
    /// ```
    pub fn new() -> Report {
        Report {
            schema: "compileall-report/1",
            compileall: env!("CARGO_PKG_VERSION"),
            runs: Vec::new(),
            exit_code: 0,
        }
    }
}

/// A sink that records outcomes into a [`RunReport`], forwarding output to
/// another sink (or dropping it when the report replaces the output).
///
/// ```
/// use std::path::{Path, PathBuf};
/// use std::time::Duration;
/// use bytecode::{CacheOutcome, CompiledBy};
/// use compileall_cli::report::{ReportSink, RunReport};
/// use compileall_cli::{Captured, FileOutcome, FileStatus, Sink, SkipReason};
///
/// let mut output = Captured::default();
/// let mut sink = ReportSink { inner: Some(&mut output), run: RunReport::default() };
/// // What a run reports for one compiled source and one data file.
/// let pycs = [(-1, PathBuf::from("demo/__pycache__/good.cpython-314.pyc"))];
/// sink.file(&FileOutcome {
///     source: Path::new("demo/good.py"),
///     status: &FileStatus::Compiled,
///     pycs: &pycs,
///     elapsed: Duration::from_micros(957),
///     compiled_by: Some(&CompiledBy::Native),
///     cache: Some(CacheOutcome::Miss { stored: true }),
/// });
/// sink.file(&FileOutcome {
///     source: Path::new("demo/data.csv"),
///     status: &FileStatus::Skipped(SkipReason::NotPython),
///     pycs: &[],
///     elapsed: Duration::ZERO,
///     compiled_by: None,
///     cache: None,
/// });
/// let run = sink.run;
/// assert_eq!((run.counts.compiled, run.counts.skipped), (1, 1));
/// assert_eq!(run.files[0].pycs, ["demo/__pycache__/good.cpython-314.pyc"]);
/// assert_eq!(run.files[0].seconds, Some(0.000957));
/// assert_eq!(run.files[0].backend, Some("native"));
/// assert_eq!(run.files[0].cache, Some("stored"));
/// assert_eq!(run.files[1].reason, Some("not_python"));
/// ```
pub struct ReportSink<'a> {
    /// Where the human-readable output goes, if anywhere.
    pub inner: Option<&'a mut dyn Sink>,
    /// The run being recorded.
    pub run: RunReport,
}

impl Sink for ReportSink<'_> {
    fn write(&mut self, chunk: &Chunk) {
        if let Some(inner) = self.inner.as_deref_mut() {
            inner.write(chunk);
        }
    }

    fn progress(&mut self, done: u64, total: u64) {
        if let Some(inner) = self.inner.as_deref_mut() {
            inner.progress(done, total);
        }
    }

    fn file(&mut self, outcome: &FileOutcome<'_>) {
        let (status, reason, error) = match outcome.status {
            FileStatus::Skipped(SkipReason::UpToDate) => {
                self.run.counts.up_to_date += 1;
                ("up_to_date", None, None)
            }
            FileStatus::Skipped(reason) => {
                self.run.counts.skipped += 1;
                ("skipped", Some(reason.as_str()), None)
            }
            FileStatus::Compiled => {
                self.run.counts.compiled += 1;
                ("compiled", None, None)
            }
            FileStatus::Failed(error) => {
                self.run.counts.failed += 1;
                ("failed", None, Some(error.clone()))
            }
            FileStatus::Interrupted => ("interrupted", None, None),
        };
        let timed = matches!(outcome.status, FileStatus::Compiled | FileStatus::Failed(_));
        self.run.files.push(FileReport {
            source: lossy(outcome.source),
            status,
            reason,
            pycs: outcome.pycs.iter().map(|(_, pyc)| lossy(pyc)).collect(),
            error,
            seconds: timed.then(|| seconds(outcome.elapsed)),
            backend: outcome.compiled_by.map(CompiledBy::backend),
            fallback: outcome
                .compiled_by
                .and_then(CompiledBy::reason)
                .map(str::to_owned),
            cache: outcome.cache.map(|cache| match cache {
                CacheOutcome::Hit => "hit",
                CacheOutcome::Miss { stored: true } => "stored",
                CacheOutcome::Miss { stored: false } => "miss",
            }),
        });
        if let Some(inner) = self.inner.as_deref_mut() {
            inner.file(outcome);
        }
    }
}

/// A path for the report.
///
/// ```
/// use std::ffi::OsStr;
/// use std::os::unix::ffi::OsStrExt;
/// use compileall_cli::report::lossy;
/// // A name that is not UTF-8: the bad byte becomes U+FFFD.
/// assert_eq!(lossy(OsStr::from_bytes(b"caf\xe9.py").as_ref()), "caf\u{fffd}.py");
/// ```
pub fn lossy(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A duration in seconds, to the microsecond.
///
/// ```
/// use std::time::Duration;
/// use compileall_cli::report::seconds;
/// assert_eq!(seconds(Duration::from_nanos(41_258_600)), 0.041259);
/// ```
pub fn seconds(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::check::ProblemKind;
    use crate::output::Captured;

    /// The report's shape (`docs/report.md`), kept as a snapshot: one run
    /// with a file of each status and the fields that only some carry.
    #[test]
    fn report_shape() {
        let mut output = Captured::default();
        let mut sink = ReportSink {
            inner: Some(&mut output),
            run: RunReport {
                python: "/usr/bin/python3.14".into(),
                version: "3.14.0".into(),
                cache_tag: Some("cpython-314".into()),
                ..RunReport::default()
            },
        };
        let statuses = [
            ("pkg/a.py", FileStatus::Compiled),
            ("pkg/b.py", FileStatus::Skipped(SkipReason::UpToDate)),
            ("pkg/c.txt", FileStatus::Skipped(SkipReason::NotPython)),
            (
                "pkg/d.py",
                FileStatus::Failed("SyntaxError: invalid syntax".into()),
            ),
            ("pkg/e.py", FileStatus::Interrupted),
        ];
        for (source, status) in &statuses {
            let pycs = match source
                .strip_prefix("pkg/")
                .and_then(|n| n.strip_suffix(".py"))
            {
                Some(name) => vec![(
                    -1,
                    PathBuf::from(format!("pkg/__pycache__/{name}.cpython-314.pyc")),
                )],
                None => Vec::new(),
            };
            sink.file(&FileOutcome {
                source: source.as_ref(),
                status,
                pycs: &pycs,
                elapsed: Duration::from_micros(1500),
                compiled_by: None,
                cache: (*source == "pkg/a.py").then_some(CacheOutcome::Hit),
            });
        }
        let mut run = sink.run;
        run.exit_code = 1;
        run.seconds = 0.25;
        run.interrupted = true;
        run.cache = Some(CacheReport {
            dir: "/home/me/.cache/compileall/pyc".into(),
            hits: 1,
            misses: 0,
            stores: 0,
            damaged: 0,
        });
        let checked = RunReport {
            python: "python3.13".into(),
            error: Some("ValueError: workers must be greater or equal to 0".into()),
            problems: Some(vec![ProblemReport::from(&Problem {
                source: "pkg/a.py".into(),
                pyc: "pkg/__pycache__/a.cpython-313.pyc".into(),
                kind: ProblemKind::Missing,
                reason: "no such file".into(),
            })]),
            ..RunReport::default()
        };
        let report = Report {
            compileall: "0.0.0-test",
            runs: vec![run, checked],
            exit_code: 1,
            ..Report::new()
        };
        insta::assert_snapshot!(serde_json::to_string_pretty(&report).unwrap());
    }
}
