//! [`CachedCompiler`]: `--cache-dir`, a [`Compiler`] that answers from a
//! [`pyc_cache::Cache`] what was compiled before, and stores what it had
//! to compile.
//!
//! A request is answered from the cache only when every level it asks for
//! is there; otherwise the backend compiles the whole request, as it would
//! have without a cache, and each level is stored if all succeeded. A
//! compile's warnings are stored with it and printed again on each hit,
//! naming the file asked for; sources that fail are never stored (their
//! message is the backend's to print each time).
//!
//! The key ([`pyc_cache::KeyBuilder`]) holds everything the bytes depend
//! on: this program (its own bytes: the native compiler is part of it),
//! the backend ([`Compiler::cache_identity`]), the target's release,
//! build, magic number and cache tag, the compiling process (CPython's
//! workers intern strings per process), the optimization level as the
//! target resolves it, and the source bytes. Not the file name: the cache
//! writes the requested one into the entry's code objects. Names made only
//! of `[A-Za-z0-9_]` (CPython may intern those and share them with an
//! equal constant) and names that are not UTF-8 bypass the cache.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use bytecode::{
    BackendError, CacheOutcome, CompileOutput, CompileRequest, CompiledBy, Compiler,
    CompilerProcess, Target,
};
use pyc_cache::{Cache, Key, KeyBuilder, Lookup, Stats, StoreError};

use crate::cli::CacheRequest;
use crate::context::process_index;

/// The cache of one invocation, shared by its targets.
pub(crate) struct RunCache {
    cache: Arc<Cache>,
    /// The thread hashing this program ([`Cache::program_identity`])
    /// while the interpreter starts and the tree is walked.
    hashing: Mutex<Option<JoinHandle<std::io::Result<Key>>>>,
    /// Its result; `None` if the program could not be read.
    program: OnceLock<Option<Key>>,
    max_size: u64,
    notices: bool,
}

impl RunCache {
    /// Opens the cache `request` names; when it cannot be used, says why on
    /// stderr (unless `notices` is off) and returns `None`: the run goes on
    /// without it.
    pub fn open(request: &CacheRequest, notices: bool) -> Option<RunCache> {
        match Cache::open(&request.dir) {
            Ok(cache) => {
                let cache = Arc::new(cache);
                let hashing = Arc::clone(&cache);
                let program =
                    std::thread::spawn(move || hashing.program_identity(&std::env::current_exe()?));
                Some(RunCache {
                    cache,
                    hashing: Mutex::new(Some(program)),
                    program: OnceLock::new(),
                    max_size: request.max_size,
                    notices,
                })
            }
            Err(err) => {
                notice(
                    notices,
                    &format!(
                        "cache {}: {err}; running without the cache",
                        request.dir.display()
                    ),
                );
                None
            }
        }
    }

    /// `inner` behind the cache, unless its output cannot be cached.
    pub fn compiler<'a>(&'a self, inner: &'a dyn Compiler) -> Option<CachedCompiler<'a>> {
        let program = self.program()?;
        CachedCompiler::new(inner, &self.cache, &program, self.notices)
    }

    /// This program's identity, once hashed; `None` (said once) if it
    /// could not be read.
    fn program(&self) -> Option<Key> {
        *self.program.get_or_init(|| {
            let thread = self
                .hashing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()?;
            let hashed = thread
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("panicked")));
            if let Err(err) = &hashed {
                notice(
                    self.notices,
                    &format!(
                        "cache {}: cannot identify this program: {err}; running without the cache",
                        self.dir().display()
                    ),
                );
            }
            hashed.ok()
        })
    }

    /// The cache itself.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        self.cache.dir()
    }

    /// How the invocation has used it so far.
    pub fn stats(&self) -> Stats {
        self.cache.stats()
    }

    /// Keeps the cache within its size once the invocation is done.
    pub fn finish(&self) {
        if let Err(err) = self.cache.finish(self.max_size) {
            notice(
                self.notices,
                &format!(
                    "cache {}: cannot keep it within its size: {err}",
                    self.dir().display()
                ),
            );
        }
    }
}

/// A line on stderr about the cache.
fn notice(shown: bool, text: &str) {
    if shown {
        let _ = writeln!(std::io::stderr(), "compileall: {text}");
    }
}

/// A compiler with a bytecode cache in front.
pub(crate) struct CachedCompiler<'a> {
    inner: &'a dyn Compiler,
    cache: &'a Cache,
    /// The parts every key of this target shares.
    common: KeyBuilder,
    /// Whether to print a line on stderr when an entry is bad or the cache
    /// stops working (not under `-qq`).
    notices: bool,
    /// `warm_up` asked for, per process kind, and not yet passed on.
    warm_up_pending: [AtomicBool; 2],
}

impl<'a> CachedCompiler<'a> {
    /// `inner` behind `cache`, for this `program` (its identity); `None`
    /// when `inner`'s output cannot be cached.
    pub fn new(
        inner: &'a dyn Compiler,
        cache: &'a Cache,
        program: &Key,
        notices: bool,
    ) -> Option<Self> {
        let backend = inner.cache_identity()?;
        let target = inner.target();
        let common = KeyBuilder::new()
            .part("program", program.as_bytes())
            .part("backend", backend.as_bytes())
            .part("release", target.full_version.as_bytes())
            .part("build", target.build.as_bytes())
            .part("magic", &target.magic.0)
            .part(
                "cache tag",
                target.cache_tag.as_deref().unwrap_or("").as_bytes(),
            );
        Some(CachedCompiler {
            inner,
            cache,
            common,
            notices,
            warm_up_pending: [AtomicBool::new(false), AtomicBool::new(false)],
        })
    }

    /// One key per requested level.
    fn keys(&self, request: &CompileRequest<'_>) -> Vec<Key> {
        let process: &[u8] = match request.process {
            CompilerProcess::Main => b"main",
            CompilerProcess::PoolWorker => b"pool worker",
        };
        let source = self
            .common
            .clone()
            .part("process", process)
            .part("source", request.source);
        let own_level = self.inner.target().optimize_flag as i32;
        request
            .optimizations
            .iter()
            .map(|&level| {
                let level = if level < 0 { own_level } else { level };
                source
                    .clone()
                    .part("optimize", level.to_string().as_bytes())
                    .finish()
            })
            .collect()
    }

    /// Every level from the cache, or `None` (with what went wrong in
    /// `notices`).
    fn lookup(
        &self,
        keys: &[Key],
        request: &CompileRequest<'_>,
        filename: &str,
        notices: &mut Vec<String>,
    ) -> Option<CompileOutput> {
        let mut levels = Vec::with_capacity(keys.len());
        let mut warnings = Vec::new();
        let mut origin = None;
        for key in keys {
            match self.cache.get(key, filename, warnings_usable(request)) {
                Lookup::Hit(mut hit) => {
                    levels.push(Ok(hit.marshal));
                    warnings.append(&mut hit.stderr);
                    origin.get_or_insert(hit.origin);
                }
                Lookup::Miss => return None,
                Lookup::Corrupt(corruption) => {
                    notices.push(format!(
                        "cache entry {key} for {filename} is damaged ({corruption}); compiling it again"
                    ));
                    return None;
                }
                Lookup::Off(err) => {
                    notices.push(format!("{err}; going on without the cache"));
                    return None;
                }
            }
        }
        Some(CompileOutput {
            levels,
            warnings,
            compiled_by: origin.as_deref().map(compiled_by).unwrap_or_default(),
            cache: Some(CacheOutcome::Hit),
        })
    }

    /// Stores each level of a clean compile; whether all were stored.
    fn store(
        &self,
        keys: &[Key],
        request: &CompileRequest<'_>,
        output: &CompileOutput,
        notices: &mut Vec<String>,
    ) -> bool {
        if output.levels.len() != keys.len() || output.levels.iter().any(Result::is_err) {
            return false;
        }
        let Some(warnings) = warnings_per_level(request, &output.warnings, keys.len()) else {
            return false;
        };
        let origin = origin(&output.compiled_by);
        let mut stored = true;
        for (key, level) in keys.iter().zip(&output.levels) {
            let Ok(marshal) = level else { return false };
            match self.cache.put(key, marshal, &origin, warnings) {
                Ok(()) => {}
                Err(
                    StoreError::Off
                    | StoreError::NotRetargetable(_)
                    | StoreError::StderrNotRetargetable,
                ) => stored = false,
                Err(err) => {
                    notices.push(format!("cache {}: {err}", self.cache.dir().display()));
                    stored = false;
                }
            }
        }
        stored
    }

    /// `notices` as stderr lines, before the compiler's own warnings.
    fn with_notices(&self, mut output: CompileOutput, notices: Vec<String>) -> CompileOutput {
        if self.notices && !notices.is_empty() {
            let mut text: Vec<u8> = notices
                .iter()
                .flat_map(|notice| format!("compileall: {notice}\n").into_bytes())
                .collect();
            text.append(&mut output.warnings);
            output.warnings = text;
        }
        output
    }
}

impl Compiler for CachedCompiler<'_> {
    fn target(&self) -> &Target {
        self.inner.target()
    }

    fn compile(&self, request: &CompileRequest<'_>) -> Result<CompileOutput, BackendError> {
        let Some(filename) = embedded_name(request) else {
            return self.inner.compile(request);
        };
        let keys = self.keys(request);
        let mut notices = Vec::new();
        if let Some(output) = self.lookup(&keys, request, filename, &mut notices) {
            return Ok(self.with_notices(output, notices));
        }
        // The first miss: the backend will be needed after all.
        if self.warm_up_pending[process_index(request.process)].swap(false, Ordering::Relaxed) {
            self.inner.warm_up(request.process);
        }
        let mut output = self.inner.compile(request)?;
        let stored = self.store(&keys, request, &output, &mut notices);
        output.cache = Some(CacheOutcome::Miss { stored });
        Ok(self.with_notices(output, notices))
    }

    fn cache_identity(&self) -> Option<String> {
        self.inner.cache_identity()
    }

    fn repr(&self, name: &std::ffi::OsStr) -> Option<String> {
        self.inner.repr(name)
    }

    fn max_concurrency(&self) -> usize {
        self.inner.max_concurrency()
    }

    /// Held back until a request misses: a run the cache answers whole
    /// starts no worker (CPython's workers import compileall's modules as
    /// they start, which costs more than answering from the cache). From
    /// a cache that was empty, nothing can be answered: the warm-up goes on
    /// at once, as without a cache.
    fn warm_up(&self, process: CompilerProcess) {
        if self.cache.was_empty() {
            self.inner.warm_up(process);
        } else {
            self.warm_up_pending[process_index(process)].store(true, Ordering::Relaxed);
        }
    }

    fn cancel(&self) {
        self.inner.cancel();
    }
}

/// The `co_filename` the request compiles in (py_compile's `dfile or
/// file`), when the cache may re-target entries to it.
fn embedded_name<'r>(request: &CompileRequest<'r>) -> Option<&'r str> {
    let name: &Path = request
        .dfile
        .filter(|dfile| !dfile.as_os_str().is_empty())
        .unwrap_or(request.filename);
    let name = name.to_str()?;
    let internable = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (!internable).then_some(name)
}

/// Whether warnings from the cache can be printed for `request`: they
/// quote source lines read from the file they name (CPython's linecache),
/// which is the source compiled only when no `dfile` names another.
fn warnings_usable(request: &CompileRequest<'_>) -> bool {
    request
        .dfile
        .is_none_or(|dfile| dfile.as_os_str().is_empty() || dfile == request.filename)
}

/// What the compiler wrote to stderr at each of `levels` levels: all of
/// `warnings` for one level; for several, the text must be the same text
/// once per level (CPython warns at each compile), else `None` (not
/// stored: which level said what is not known).
fn warnings_per_level<'w>(
    request: &CompileRequest<'_>,
    warnings: &'w [u8],
    levels: usize,
) -> Option<&'w [u8]> {
    if warnings.is_empty() {
        return Some(warnings);
    }
    if !warnings_usable(request) || levels == 0 || !warnings.len().is_multiple_of(levels) {
        return None;
    }
    let part = &warnings[..warnings.len() / levels];
    warnings
        .chunks(part.len())
        .all(|chunk| chunk == part)
        .then_some(part)
}

/// [`CompiledBy`] as an entry records it.
fn origin(compiled_by: &CompiledBy) -> String {
    match compiled_by {
        CompiledBy::Native => "native".to_owned(),
        CompiledBy::Cpython => "cpython".to_owned(),
        CompiledBy::Fallback { reason } => format!("fallback: {reason}"),
    }
}

/// The [`CompiledBy`] an entry's origin records.
fn compiled_by(origin: &str) -> CompiledBy {
    match origin {
        "native" => CompiledBy::Native,
        other => match other.strip_prefix("fallback: ") {
            Some(reason) => CompiledBy::Fallback {
                reason: reason.to_owned(),
            },
            None => CompiledBy::Cpython,
        },
    }
}

#[cfg(test)]
mod tests {
    use bytecode::testing::{CannedCompiler, target};
    use pyc_format::PythonVersion;

    use super::*;

    fn request<'r>(source: &'r [u8], filename: &'r Path, levels: &'r [i32]) -> CompileRequest<'r> {
        CompileRequest {
            source,
            filename,
            dfile: None,
            optimizations: levels,
            process: CompilerProcess::Main,
        }
    }

    #[test]
    fn origins_round_trip() {
        for by in [
            CompiledBy::Native,
            CompiledBy::Cpython,
            CompiledBy::Fallback {
                reason: "t-string".into(),
            },
        ] {
            assert_eq!(compiled_by(&origin(&by)), by);
        }
    }

    #[test]
    fn names_that_could_be_interned_bypass_the_cache() {
        let levels = [0];
        assert_eq!(
            embedded_name(&request(b"", Path::new("pkg/m.py"), &levels)),
            Some("pkg/m.py")
        );
        assert_eq!(
            embedded_name(&request(b"", Path::new("module"), &levels)),
            None
        );
    }

    #[test]
    fn keys_follow_the_source_and_the_resolved_level() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::open(tmp.path()).unwrap();
        let compiler = CannedCompiler::new(target(PythonVersion::new(3, 14)));
        let program = KeyBuilder::new().part("program", b"test").finish();
        let cached = CachedCompiler::new(&compiler, &cache, &program, true).unwrap();
        let name = Path::new("m.py");
        let keys = |source: &[u8], levels: &[i32]| cached.keys(&request(source, name, levels));
        // -1 is the target's own level (0 here).
        assert_eq!(keys(b"x = 1\n", &[-1]), keys(b"x = 1\n", &[0]));
        assert_ne!(keys(b"x = 1\n", &[0]), keys(b"x = 1\n", &[1]));
        assert_ne!(keys(b"x = 1\n", &[0]), keys(b"x = 2\n", &[0]));
    }
}
