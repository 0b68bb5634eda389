//! The CPython backend: a pool of persistent worker processes of the target
//! interpreter.
//!
//! Each worker is `python -c <worker.py>`, started on demand up to the
//! pool's size and kept for the whole run, so interpreter start-up is paid
//! once per worker rather than once per file. Workers speak a length-framed
//! protocol on stdin/stdout (see `worker.py`); their stderr is the caller's.
//!
//! Failure is contained per file: a worker that dies mid-request, or exceeds
//! the time limit (a watchdog thread kills it), fails that one request with
//! a [`BackendError`] and is replaced by a fresh worker on the next request.

mod watchdog;

use std::ffi::{OsStr, OsString};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use pyc_format::{Magic, PythonVersion};

use crate::{
    BackendError, CompileError, CompileOutput, CompileRequest, CompiledBy, Compiler,
    CompilerProcess, Target,
};
use watchdog::Watchdog;

/// The worker program, run with `python -c`.
const WORKER_PY: &str = include_str!("worker.py");

/// The program every worker runs; what its handshake holds depends on it,
/// so a record of a handshake is only good for the same program.
pub fn worker_program() -> &'static str {
    WORKER_PY
}

/// How a [`CpythonPool`] runs its workers.
///
/// ```
/// use std::time::Duration;
/// use bytecode::CompilerProcess;
/// use bytecode::cpython::PoolOptions;
///
/// let defaults = PoolOptions::default();
/// assert_eq!((defaults.max_workers, defaults.timeout), (1, Duration::from_secs(600)));
/// assert_eq!(defaults.first_worker, CompilerProcess::Main);
///
/// // `compileall -j 4 DIR`: compile_dir's pool processes, one minute per file.
/// let options = PoolOptions {
///     max_workers: 4,
///     timeout: Duration::from_secs(60),
///     first_worker: CompilerProcess::PoolWorker,
/// };
/// ```
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// The most workers alive at once (at least 1).
    pub max_workers: usize,
    /// How long one request may take before its worker is killed.
    pub timeout: Duration,
    /// The process the first worker emulates (workers of the other kind
    /// start when requests ask for them).
    pub first_worker: CompilerProcess,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_workers: 1,
            timeout: Duration::from_secs(600),
            first_worker: CompilerProcess::Main,
        }
    }
}

/// The target interpreter's verdict on a regular expression
/// ([`CpythonPool::check_regex`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatternVerdict {
    /// `re.compile` returned.
    Accepted,
    /// `re.compile` raised.
    Rejected {
        /// The last line of the traceback CPython prints, such as
        /// `re.PatternError: missing ), unterminated subpattern at
        /// position 0` (`re.error: ...` before 3.13).
        exception: String,
    },
}

/// Facts about the target interpreter beyond what bytecode needs, which
/// compileall's behaviour depends on.
///
/// ```no_run
/// use std::path::Path;
/// use bytecode::cpython::{CpythonPool, PoolOptions};
///
/// let python = Path::new(".pythons/cpython-3.14/usr/bin/python3.14");
/// let pool = CpythonPool::start(python, PoolOptions::default())?;
/// let environment = pool.environment();
/// assert_eq!(environment.sys_path[0], std::env::current_dir()?);
/// assert_eq!(environment.recursion_limit, 1000);
/// assert_eq!(environment.executable, std::env::current_dir()?.join(python));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    /// `sys.path` as `python -m compileall` would see it (the current
    /// directory first unless `-P`/`PYTHONSAFEPATH`).
    pub sys_path: Vec<PathBuf>,
    /// `sys.getrecursionlimit()`: compile_dir's default depth.
    pub recursion_limit: u32,
    /// `sys.executable`.
    pub executable: PathBuf,
}

/// A pool of CPython worker processes; see the [module docs](self).
///
/// The pool is shared between threads; each request takes an idle worker
/// of its kind, or waits for one:
///
/// ```no_run
/// use std::path::Path;
/// use bytecode::{CompileRequest, Compiler, CompilerProcess};
/// use bytecode::cpython::{CpythonPool, PoolOptions};
///
/// let options = PoolOptions { max_workers: 2, first_worker: CompilerProcess::PoolWorker, ..PoolOptions::default() };
/// let pool = CpythonPool::start(Path::new("python3"), options)?;
/// std::thread::scope(|scope| {
///     for name in ["a.py", "b.py"] {
///         let pool = &pool;
///         scope.spawn(move || {
///             let output = pool.compile(&CompileRequest {
///                 source: b"x = 1\n",
///                 filename: Path::new(name),
///                 dfile: None,
///                 optimizations: &[-1],
///                 process: CompilerProcess::PoolWorker,
///             });
///             assert!(output.unwrap().levels[0].is_ok());
///         });
///     }
/// });
/// # Ok::<(), bytecode::BackendError>(())
/// ```
pub struct CpythonPool {
    target: Target,
    environment: Environment,
    /// The handshake frame the target's facts were read from.
    handshake: Vec<u8>,
    options: PoolOptions,
    shared: Arc<Shared>,
    watchdog: Watchdog,
}

/// What the pool shares with the threads that start extra workers.
struct Shared {
    python: PathBuf,
    /// The magic number every worker must report.
    magic: Magic,
    state: Mutex<PoolState>,
    worker_freed: Condvar,
}

struct PoolState {
    idle: Vec<Worker>,
    /// Workers checked out for a request: pid and kind.
    busy: Vec<(u32, CompilerProcess)>,
    /// Workers being started, by kind.
    starting: Vec<CompilerProcess>,
    /// Why the last attempt to start a worker failed; cleared by a success.
    spawn_error: Option<String>,
    cancelled: bool,
}

impl PoolState {
    /// Workers alive or starting, of `kind` or (for `None`) of any kind.
    fn live(&self, kind: Option<CompilerProcess>) -> usize {
        let of = |p: CompilerProcess| kind.is_none_or(|k| k == p);
        self.idle.iter().filter(|w| of(w.process)).count()
            + self.busy.iter().filter(|(_, p)| of(*p)).count()
            + self.starting.iter().filter(|p| of(**p)).count()
    }
}

impl CpythonPool {
    /// Starts the first worker of `python` and learns the target from it.
    /// Further workers (up to `max_workers`) start in the background when
    /// requests wait for one.
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use bytecode::{Compiler, CompilerProcess};
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    ///
    /// // `compileall -j 4 DIR`: up to four of compile_dir's pool processes.
    /// let options = PoolOptions { max_workers: 4, first_worker: CompilerProcess::PoolWorker, ..PoolOptions::default() };
    /// let pool = CpythonPool::start(Path::new("python3"), options)?;
    /// assert_eq!(pool.max_concurrency(), 4);
    /// # Ok::<(), bytecode::BackendError>(())
    /// ```
    ///
    /// An interpreter that cannot run is refused at once:
    ///
    /// ```
    /// use std::path::Path;
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    ///
    /// let Err(err) = CpythonPool::start(Path::new("/nonexistent/python3"), PoolOptions::default()) else {
    ///     panic!("started");
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     "cannot use /nonexistent/python3 as the target Python: No such file or directory (os error 2)"
    /// );
    /// ```
    pub fn start(python: &Path, options: PoolOptions) -> Result<Self, BackendError> {
        let (worker, handshake) = Worker::spawn(python, options.first_worker)?;
        Ok(CpythonPool::new(python, options, handshake, vec![worker]))
    }

    /// A pool for `python` whose facts come from a handshake it sent
    /// before ([`handshake`](Self::handshake)), with no worker yet: the
    /// first request that needs one starts it, and each new worker must
    /// report the same magic number. A run that never needs the
    /// interpreter (every source up to date, or compiled natively) never
    /// starts it.
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use bytecode::Compiler;
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    ///
    /// let python = Path::new("python3");
    /// let recorded = CpythonPool::start(python, PoolOptions::default())?.handshake().to_vec();
    /// let lazy = CpythonPool::from_handshake(python, PoolOptions::default(), &recorded)?;
    /// assert_eq!(lazy.target().cache_tag.as_deref(), Some("cpython-311"));
    /// # Ok::<(), bytecode::BackendError>(())
    /// ```
    pub fn from_handshake(
        python: &Path,
        options: PoolOptions,
        handshake: &[u8],
    ) -> Result<Self, BackendError> {
        let handshake = Handshake::parse(handshake).map_err(|reason| BackendError::Start {
            python: python.to_owned(),
            reason: format!("recorded handshake: {reason}"),
        })?;
        Ok(CpythonPool::new(python, options, handshake, Vec::new()))
    }

    fn new(python: &Path, options: PoolOptions, handshake: Handshake, idle: Vec<Worker>) -> Self {
        let Handshake {
            target,
            environment,
            frame,
        } = handshake;
        let options = PoolOptions {
            max_workers: options.max_workers.max(1),
            ..options
        };
        CpythonPool {
            shared: Arc::new(Shared {
                python: python.to_owned(),
                magic: target.magic,
                state: Mutex::new(PoolState {
                    idle,
                    busy: Vec::new(),
                    starting: Vec::new(),
                    spawn_error: None,
                    cancelled: false,
                }),
                worker_freed: Condvar::new(),
            }),
            target,
            environment,
            handshake: frame,
            options,
            watchdog: Watchdog::start(),
        }
    }

    /// The same pool, starting at most `max_workers` workers from now on
    /// (at least one): a pool behind the native backend compiles only the
    /// few sources it declines.
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use bytecode::Compiler;
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    ///
    /// let options = PoolOptions { max_workers: 8, ..PoolOptions::default() };
    /// let pool = CpythonPool::start(Path::new("python3"), options)?.with_max_workers(2);
    /// assert_eq!(pool.max_concurrency(), 2);
    /// # Ok::<(), bytecode::BackendError>(())
    /// ```
    pub fn with_max_workers(mut self, max_workers: usize) -> Self {
        self.options.max_workers = max_workers.max(1);
        self
    }

    /// The handshake the interpreter sent, for
    /// [`from_handshake`](Self::from_handshake) in a later run.
    pub fn handshake(&self) -> &[u8] {
        &self.handshake
    }

    /// What the interpreter reported about its environment.
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    ///
    /// let pool = CpythonPool::start(Path::new("python3"), PoolOptions::default())?;
    /// // With no FILE|DIR, compileall compiles each directory of sys.path;
    /// // `python -m` puts the current directory first.
    /// assert_eq!(pool.environment().sys_path[0], std::env::current_dir()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The interpreter this pool runs, as given to [`start`](Self::start).
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use bytecode::cpython::{CpythonPool, PoolOptions};
    ///
    /// let pool = CpythonPool::start(Path::new("python3"), PoolOptions::default())?;
    /// assert_eq!(pool.python(), Path::new("python3"));
    /// assert!(pool.environment().executable.is_absolute()); // `sys.executable`
    /// # Ok::<(), bytecode::BackendError>(())
    /// ```
    pub fn python(&self) -> &Path {
        &self.shared.python
    }

    /// Runs `f` on an idle worker of the given kind (`None`: any). A worker
    /// that fails is discarded, not reused.
    fn with_worker<T>(
        &self,
        process: Option<CompilerProcess>,
        f: impl FnOnce(&mut Worker) -> Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        let mut worker = self.checkout(process)?;
        let result = f(&mut worker);
        let shared = &self.shared;
        let mut state = shared.state.lock().unwrap();
        state.busy.retain(|&(pid, _)| pid != worker.pid());
        match result {
            Ok(value) if !state.cancelled => {
                state.idle.push(worker);
                drop(state);
                shared.worker_freed.notify_all();
                Ok(value)
            }
            result => {
                drop(state);
                shared.worker_freed.notify_all();
                worker.kill();
                result
            }
        }
    }

    /// Takes an idle worker. When there is none and the pool has room, a
    /// new one starts in the background, and this waits for whichever
    /// worker is free first: a short run never waits for a start-up it
    /// does not need.
    ///
    /// There is never more than one [`CompilerProcess::Main`] worker, like
    /// the one main process of CPython's compileall: what a process has
    /// compiled before changes its later output, so those compiles must
    /// happen in one process, in order.
    fn checkout(&self, process: Option<CompilerProcess>) -> Result<Worker, BackendError> {
        let shared = &self.shared;
        let wanted = |w: &Worker| process.is_none_or(|p| w.process == p);
        let mut state = shared.state.lock().unwrap();
        loop {
            if state.cancelled {
                return Err(BackendError::Cancelled);
            }
            if let Some(index) = state.idle.iter().position(wanted) {
                let worker = state.idle.swap_remove(index);
                state.busy.push((worker.pid(), worker.process));
                return Ok(worker);
            }
            let kind = process.unwrap_or(self.options.first_worker);
            let room_for_kind = kind != CompilerProcess::Main || state.live(Some(kind)) == 0;
            if let Some(reason) = &state.spawn_error {
                if state.live(None) == 0 {
                    return Err(BackendError::Start {
                        python: shared.python.clone(),
                        reason: reason.clone(),
                    });
                }
            } else if room_for_kind && state.live(None) < self.options.max_workers {
                state.starting.push(kind);
                let shared = Arc::clone(shared);
                std::thread::spawn(move || shared.add_worker(kind));
            } else if room_for_kind && let Some(index) = state.idle.iter().position(|w| !wanted(w))
            {
                // The pool is full of idle workers of the other kind: trade
                // one in, or nothing would ever be free for this request.
                let unwanted = state.idle.swap_remove(index);
                drop(state);
                unwanted.kill();
                state = shared.state.lock().unwrap();
                continue;
            }
            state = shared.worker_freed.wait(state).unwrap();
        }
    }

    /// One request under the time limit.
    fn timed_request(&self, worker: &mut Worker, parts: &[&[u8]]) -> Result<Vec<u8>, BackendError> {
        let armed = self.watchdog.arm(worker.pid(), self.options.timeout);
        let answer = worker.request(parts);
        let fired = armed.fired();
        // Disarm before anything may reap the worker, so its pid is never
        // reused while the watchdog could still kill it.
        drop(armed);
        if fired {
            return Err(BackendError::TimedOut {
                limit: self.options.timeout,
            });
        }
        answer.map_err(|err| worker.failure(err))
    }
}

impl Shared {
    /// Starts one worker (already listed as starting) and makes it idle.
    fn add_worker(&self, process: CompilerProcess) {
        let started = Worker::spawn(&self.python, process).and_then(|(worker, handshake)| {
            let magic = handshake.target.magic;
            if magic != self.magic {
                worker.kill();
                return Err(BackendError::Protocol(format!(
                    "a new worker reports magic {}, the pool's target has {}",
                    hex(&magic.0),
                    hex(&self.magic.0)
                )));
            }
            Ok(worker)
        });
        let mut state = self.state.lock().unwrap();
        if let Some(index) = state.starting.iter().position(|&p| p == process) {
            state.starting.swap_remove(index);
        }
        match started {
            Ok(worker) if !state.cancelled => {
                state.spawn_error = None;
                state.idle.push(worker);
            }
            Ok(worker) => {
                drop(state);
                worker.kill();
                return;
            }
            Err(err) => state.spawn_error = Some(err.to_string()),
        }
        drop(state);
        self.worker_freed.notify_all();
    }
}

impl Compiler for CpythonPool {
    fn target(&self) -> &Target {
        &self.target
    }

    fn compile(&self, request: &CompileRequest<'_>) -> Result<CompileOutput, BackendError> {
        let levels = u8::try_from(request.optimizations.len())
            .map_err(|_| BackendError::Protocol("more than 255 optimization levels".into()))?;
        let filename = request.filename.as_os_str().as_bytes();
        let dfile = request.dfile.map_or(&b""[..], |d| d.as_os_str().as_bytes());
        let mut head =
            Vec::with_capacity(14 + 4 * usize::from(levels) + filename.len() + dfile.len());
        head.push(b'C');
        head.push(levels);
        for level in request.optimizations {
            head.extend_from_slice(&level.to_le_bytes());
        }
        for name in [filename, dfile] {
            head.extend_from_slice(&u32_len(name)?.to_le_bytes());
            head.extend_from_slice(name);
        }
        let answer = self.with_worker(Some(request.process), |worker| {
            self.timed_request(worker, &[&head, request.source])
        })?;
        parse_compile_answer(&answer)
            .ok_or_else(|| BackendError::Protocol("malformed compile answer".into()))
    }

    /// The interpreter's own compiler: its bytes depend on the target
    /// (keyed apart) and the process ([`CompileRequest::process`]).
    fn cache_identity(&self) -> Option<String> {
        Some("cpython workers".to_owned())
    }

    fn max_concurrency(&self) -> usize {
        self.options.max_workers
    }

    /// Tells an idle worker of that kind to set up its process state now
    /// (see `worker.py`): a one-way notice of a few bytes, so this never
    /// waits, and the next request to that worker queues behind the
    /// set-up as it would have behind its own. Workers started later set
    /// up on their first request.
    fn warm_up(&self, process: CompilerProcess) {
        let mut state = self.shared.state.lock().unwrap();
        if let Some(worker) = state
            .idle
            .iter_mut()
            .find(|w| w.process == process && !w.warmed)
        {
            worker.warmed = true;
            // A worker that died fails its next request, which reports it.
            let _ = worker.send(&[b"S"]);
        }
    }

    fn cancel(&self) {
        let mut state = self.shared.state.lock().unwrap();
        state.cancelled = true;
        for &(pid, _) in &state.busy {
            // SAFETY: kill(2) takes plain integers and touches no memory of
            // ours. The pid is still this worker's: busy workers are not
            // reaped until their request returns.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        let idle = std::mem::take(&mut state.idle);
        drop(state);
        self.shared.worker_freed.notify_all();
        for worker in idle {
            worker.kill();
        }
    }

    fn repr(&self, name: &OsStr) -> Option<String> {
        self.ask(b"R", name.as_bytes())
            .ok()
            .and_then(|answer| String::from_utf8(answer).ok())
    }
}

impl CpythonPool {
    /// What the target's `re.compile(pattern)` makes of `pattern`.
    ///
    /// ```no_run
    /// use std::path::Path;
    /// use bytecode::cpython::{CpythonPool, PatternVerdict, PoolOptions};
    ///
    /// let python = Path::new(".pythons/cpython-3.14/usr/bin/python3.14");
    /// let pool = CpythonPool::start(python, PoolOptions::default())?;
    /// assert_eq!(pool.check_regex(r"test_.*\.py$")?, PatternVerdict::Accepted);
    /// assert_eq!(
    ///     pool.check_regex("(")?,
    ///     PatternVerdict::Rejected {
    ///         exception: "re.PatternError: missing ), unterminated subpattern at position 0".to_owned()
    ///     }
    /// );
    /// # Ok::<(), bytecode::BackendError>(())
    /// ```
    pub fn check_regex(&self, pattern: &str) -> Result<PatternVerdict, BackendError> {
        let answer = self.ask(b"X", pattern.as_bytes())?;
        Ok(if answer.is_empty() {
            PatternVerdict::Accepted
        } else {
            PatternVerdict::Rejected {
                exception: String::from_utf8_lossy(&answer).into_owned(),
            }
        })
    }

    fn ask(&self, op: &[u8], payload: &[u8]) -> Result<Vec<u8>, BackendError> {
        self.with_worker(None, |worker| self.timed_request(worker, &[op, payload]))
    }
}

fn u32_len(bytes: &[u8]) -> Result<u32, BackendError> {
    u32::try_from(bytes.len())
        .map_err(|_| BackendError::Protocol("request larger than 4 GiB".into()))
}

/// Splits `u32 len + data` off the front of `bytes`.
fn take_field<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let field = bytes.get(4..4 + len)?;
    *bytes = &bytes[4 + len..];
    Some(field)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_compile_answer(mut bytes: &[u8]) -> Option<CompileOutput> {
    let warnings = take_field(&mut bytes)?.to_vec();
    let (&count, rest) = bytes.split_first()?;
    bytes = rest;
    let mut levels = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let (&ok, rest) = bytes.split_first()?;
        bytes = rest;
        let data = take_field(&mut bytes)?.to_vec();
        levels.push(if ok == 1 {
            Ok(data)
        } else {
            Err(CompileError { message: data })
        });
    }
    bytes.is_empty().then_some(CompileOutput {
        levels,
        warnings,
        compiled_by: CompiledBy::Cpython,
        cache: None,
    })
}

/// A field of the handshake a worker sends when it starts (`_handshake` in
/// `worker.py`), by the key it is sent under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    /// `major.minor.micro`.
    Version,
    /// `releaselevel` and `serial`, such as `final0` or `rc1`.
    Release,
    /// `sys.version`: the version with its build.
    Build,
    /// `MAGIC_NUMBER.hex()`.
    Magic,
    /// Non-empty when `sys.implementation.cache_tag` is set.
    HasCacheTag,
    /// `sys.implementation.cache_tag`.
    CacheTag,
    /// `sys.flags.optimize`.
    Optimize,
    /// Non-empty when `sys.pycache_prefix` is set.
    HasPycachePrefix,
    /// `sys.pycache_prefix`.
    PycachePrefix,
    /// `sys.getrecursionlimit()`.
    RecursionLimit,
    /// `sys.executable`.
    Executable,
    /// `codecs.lookup(sys.stdout.encoding).name`.
    StdoutEncoding,
    /// `sys.stdout.errors`.
    StdoutErrors,
    /// One entry of `sys.path` (the field repeats).
    Path,
}

impl Field {
    fn key(self) -> &'static [u8] {
        match self {
            Field::Version => b"version",
            Field::Release => b"release",
            Field::Build => b"build",
            Field::Magic => b"magic",
            Field::HasCacheTag => b"has_cache_tag",
            Field::CacheTag => b"cache_tag",
            Field::Optimize => b"optimize",
            Field::HasPycachePrefix => b"has_pycache_prefix",
            Field::PycachePrefix => b"pycache_prefix",
            Field::RecursionLimit => b"recursion_limit",
            Field::Executable => b"executable",
            Field::StdoutEncoding => b"stdout_encoding",
            Field::StdoutErrors => b"stdout_errors",
            Field::Path => b"path",
        }
    }

    fn name(self) -> String {
        String::from_utf8_lossy(self.key()).into_owned()
    }
}

/// What a worker reports when it starts: the target and its environment.
struct Handshake {
    target: Target,
    environment: Environment,
    /// The frame they were read from.
    frame: Vec<u8>,
}

impl Handshake {
    /// Reads the handshake frame: `u32 len + key, u32 len + value` pairs.
    fn parse(bytes: &[u8]) -> Result<Handshake, String> {
        let fields = HandshakeFields::parse(bytes).ok_or("garbled handshake")?;
        Ok(Handshake {
            target: fields.target()?,
            environment: fields.environment()?,
            frame: bytes.to_vec(),
        })
    }
}

/// The handshake's key/value pairs, in the order they came.
struct HandshakeFields(Vec<(Vec<u8>, Vec<u8>)>);

impl HandshakeFields {
    fn parse(mut bytes: &[u8]) -> Option<HandshakeFields> {
        let mut fields = Vec::new();
        while !bytes.is_empty() {
            let key = take_field(&mut bytes)?.to_vec();
            let value = take_field(&mut bytes)?.to_vec();
            fields.push((key, value));
        }
        Some(HandshakeFields(fields))
    }

    /// Every value sent under `field`'s key.
    fn all(&self, field: Field) -> impl Iterator<Item = &[u8]> {
        self.0
            .iter()
            .filter(move |(key, _)| key == field.key())
            .map(|(_, value)| value.as_slice())
    }

    fn get(&self, field: Field) -> Option<&[u8]> {
        self.all(field).next()
    }

    fn text(&self, field: Field) -> Result<&str, String> {
        let value = self
            .get(field)
            .ok_or_else(|| format!("handshake lacks {}", field.name()))?;
        std::str::from_utf8(value)
            .map_err(|_| format!("handshake field {} is not UTF-8", field.name()))
    }

    fn number(&self, field: Field) -> Result<u64, String> {
        self.text(field)?
            .parse()
            .map_err(|_| format!("handshake field {} is not a number", field.name()))
    }

    fn path(&self, field: Field) -> Option<PathBuf> {
        self.get(field)
            .map(|v| PathBuf::from(OsString::from_vec(v.to_vec())))
    }

    fn flag(&self, field: Field) -> bool {
        self.get(field).is_some_and(|v| !v.is_empty())
    }

    fn magic(&self) -> Result<Magic, String> {
        let magic_hex = self.text(Field::Magic)?;
        let magic: Vec<u8> = (0..magic_hex.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(magic_hex.get(i..i + 2)?, 16).ok())
            .collect();
        Ok(Magic(
            magic
                .try_into()
                .map_err(|_| "magic number is not 4 bytes")?,
        ))
    }

    fn target(&self) -> Result<Target, String> {
        let mut full_version = self.text(Field::Version)?.to_owned();
        let version = PythonVersion::parse(&full_version).ok_or("unparsable version")?;
        match self.text(Field::Release)? {
            "final0" => {}
            prerelease => full_version.push_str(prerelease),
        }
        Ok(Target {
            version,
            full_version,
            build: self.text(Field::Build)?.to_owned(),
            magic: self.magic()?,
            cache_tag: self
                .flag(Field::HasCacheTag)
                .then(|| self.text(Field::CacheTag).map(str::to_owned))
                .transpose()?,
            optimize_flag: self.number(Field::Optimize)? as u32,
            pycache_prefix: if self.flag(Field::HasPycachePrefix) {
                self.path(Field::PycachePrefix)
            } else {
                None
            },
            stdout_encoding: pystr::TextEncoding::from_python_names(
                self.text(Field::StdoutEncoding)?,
                self.text(Field::StdoutErrors)?,
            ),
        })
    }

    fn environment(&self) -> Result<Environment, String> {
        Ok(Environment {
            sys_path: self
                .all(Field::Path)
                .map(|v| PathBuf::from(OsString::from_vec(v.to_vec())))
                .collect(),
            recursion_limit: self.number(Field::RecursionLimit)? as u32,
            executable: self.path(Field::Executable).unwrap_or_default(),
        })
    }
}

/// One worker process.
struct Worker {
    /// The compileall process it emulates.
    process: CompilerProcess,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Told to set up its process state ([`Compiler::warm_up`]).
    warmed: bool,
}

impl Worker {
    fn spawn(python: &Path, process: CompilerProcess) -> Result<(Worker, Handshake), BackendError> {
        let start_error = |reason: String| BackendError::Start {
            python: python.to_owned(),
            reason,
        };
        let mut child = Command::new(python)
            .arg("-c")
            .arg(WORKER_PY)
            .arg(match process {
                CompilerProcess::Main => "main",
                CompilerProcess::PoolWorker => "pool",
            })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // Its own process group: a terminal's Ctrl-C goes to us, and we
            // decide what happens to the workers.
            .process_group(0)
            .spawn()
            .map_err(|err| start_error(err.to_string()))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::with_capacity(1 << 16, child.stdout.take().expect("piped"));
        let mut worker = Worker {
            process,
            child,
            stdin,
            stdout,
            warmed: false,
        };
        let handshake = match worker.read_frame() {
            Ok(frame) => Handshake::parse(&frame).map_err(start_error)?,
            Err(_) => {
                let status = worker
                    .child
                    .wait()
                    .map_or_else(|e| e.to_string(), |s| s.to_string());
                return Err(start_error(format!("it exited during start-up ({status})")));
            }
        };
        Ok((worker, handshake))
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one frame made of `parts` and reads the answer frame.
    fn request(&mut self, parts: &[&[u8]]) -> io::Result<Vec<u8>> {
        self.send(parts)?;
        self.read_frame()
    }

    /// Sends one frame made of `parts`.
    fn send(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let len = u32::try_from(len).map_err(|_| io::Error::other("request larger than 4 GiB"))?;
        self.stdin.write_all(&len.to_le_bytes())?;
        for part in parts {
            self.stdin.write_all(part)?;
        }
        self.stdin.flush()
    }

    fn read_frame(&mut self) -> io::Result<Vec<u8>> {
        let mut len = [0; 4];
        self.stdout.read_exact(&mut len)?;
        let mut frame = vec![0; u32::from_le_bytes(len) as usize];
        self.stdout.read_exact(&mut frame)?;
        Ok(frame)
    }

    /// Turns an I/O failure into the reason: usually the worker is gone.
    fn failure(&mut self, err: io::Error) -> BackendError {
        match self.child.try_wait() {
            Ok(Some(status)) => BackendError::WorkerDied {
                status: status.to_string(),
            },
            _ if matches!(
                err.kind(),
                io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe
            ) =>
            {
                // The pipe closed before the exit status arrived.
                let status = self
                    .child
                    .wait()
                    .map_or_else(|e| e.to_string(), |s| s.to_string());
                BackendError::WorkerDied { status }
            }
            _ => BackendError::Io(err),
        }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for CpythonPool {
    fn drop(&mut self) {
        // Busy workers belong to threads that outlive nothing: the pool is
        // only dropped once every request has returned.
        let mut state = self.shared.state.lock().unwrap();
        state.cancelled = true;
        for worker in std::mem::take(&mut state.idle) {
            worker.kill();
        }
    }
}
