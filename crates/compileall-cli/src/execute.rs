//! The second half of `compileall.compile_file`, for the sources
//! [`crate::prepare`] found stale: print `Compiling`, read the source,
//! compile it through the backend, write the pycs (and hard-link
//! duplicates), and print what compile_file prints when that fails.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytecode::{CacheOutcome, CompileRequest, CompiledBy, CompilerProcess};
use pyc_format::PycHeader;

use crate::context::Context;
use crate::options::{InvalidationMode, Quiet};
use crate::output::{Chunk, FileStatus, SkipReason};
use crate::prepare::{Decision, Prepared};
use crate::pyerror::{ExceptionClass, PyException};
use crate::pyos;

/// The result of [`execute`].
#[derive(Clone)]
pub(crate) struct Executed {
    pub chunks: Vec<Chunk>,
    pub success: bool,
    pub status: FileStatus,
    pub elapsed: Duration,
    /// The backend that compiled it, if one was asked.
    pub compiled_by: Option<CompiledBy>,
    /// What the bytecode cache did, if there is one.
    pub cache: Option<CacheOutcome>,
}

/// The second half of `compile_file`: print `Compiling`, then one
/// `py_compile.compile(fullname, cfile, dfile, doraise=True, optimize=level)`
/// per level, hard-linking duplicates with `--hardlink-dupes`.
pub(crate) fn execute(ctx: &Context<'_>, prepared: &Prepared) -> Executed {
    let started = Instant::now();
    let Decision::Compile { dfile } = &prepared.decision else {
        let status = match prepared.decision {
            Decision::Skip(reason) => FileStatus::Skipped(reason),
            _ => FileStatus::Skipped(SkipReason::NotAFile),
        };
        return Executed {
            chunks: Vec::new(),
            success: true,
            status,
            elapsed: started.elapsed(),
            compiled_by: None,
            cache: None,
        };
    };
    let fullname = &prepared.source.fullname;
    let mut run = Execution {
        ctx,
        fullname,
        process: prepared.source.process,
        chunks: Vec::new(),
        success: true,
        error: None,
        compiled_by: None,
        cache: None,
    };
    if ctx.options.quiet.prints_progress() {
        run.chunks
            .push(ctx.line(format!("Compiling {}...", ctx.repr(fullname))));
    }
    if let Err(err) = run.compile_levels(dfile.as_deref(), &prepared.cfiles) {
        run.fail(err);
    }
    Executed {
        chunks: run.chunks,
        success: run.success,
        status: match run.error {
            Some(error) => FileStatus::Failed(error),
            None if run.success => FileStatus::Compiled,
            None => FileStatus::Interrupted,
        },
        elapsed: started.elapsed(),
        compiled_by: run.compiled_by,
        cache: run.cache,
    }
}

struct Execution<'a, 'c> {
    ctx: &'a Context<'c>,
    fullname: &'a Path,
    process: CompilerProcess,
    chunks: Vec<Chunk>,
    success: bool,
    /// The message of the failure, whatever `-q` prints of it.
    error: Option<String>,
    compiled_by: Option<CompiledBy>,
    cache: Option<CacheOutcome>,
}

/// Why a `py_compile.compile` call stopped.
enum Failure {
    /// `PyCompileError`: printed as its message.
    Compile(Vec<u8>),
    /// Another exception compile_file catches (`OSError` and friends).
    Exception(PyException),
    /// The backend failed (a worker died or hung).
    Backend(String),
    /// Ctrl-C arrived; nothing more is written.
    Interrupted,
}

impl Execution<'_, '_> {
    fn compile_levels(
        &mut self,
        dfile: Option<&Path>,
        cfiles: &[(i32, PathBuf)],
    ) -> Result<(), Failure> {
        let ctx = self.ctx;
        let refused = cfiles
            .iter()
            .position(|(_, cfile)| refused_cfile(cfile).is_some());
        let usable = &cfiles[..refused.unwrap_or(cfiles.len())];
        if !usable.is_empty() {
            let (source, meta) = read_source(self.fullname)
                .map_err(|err| self.os_error(&err, Some(self.fullname), None))?;
            let levels: Vec<i32> = usable.iter().map(|(level, _)| *level).collect();
            let output = ctx
                .compiler
                .compile(&CompileRequest {
                    source: &source,
                    filename: self.fullname,
                    dfile,
                    optimizations: &levels,
                    process: self.process,
                })
                .map_err(|err| Failure::Backend(err.to_string()))?;
            self.compiled_by = Some(output.compiled_by);
            self.cache = output.cache;
            if !output.warnings.is_empty() {
                self.chunks.push(Chunk::stderr(output.warnings));
            }
            let mut previous: Option<(&Path, Vec<u8>)> = None;
            for ((_, cfile), level) in usable.iter().zip(output.levels) {
                let marshalled = level.map_err(|err| Failure::Compile(err.message))?;
                let pyc = self.pyc_bytes(&source, &meta, &marshalled);
                self.write(cfile, &pyc, &meta)?;
                if ctx.options.hardlink_dupes
                    && let Some((previous_cfile, previous_pyc)) = &previous
                {
                    self.link_duplicate(previous_cfile, previous_pyc, cfile, &pyc)?;
                }
                previous = Some((cfile, pyc));
            }
        }
        if let Some(index) = refused {
            let cfile = &cfiles[index].1;
            let message = refused_cfile(cfile).unwrap_or_else(|| non_regular_message(cfile));
            return Err(Failure::Exception(PyException::new(
                ExceptionClass::FileExistsError,
                message,
            )));
        }
        Ok(())
    }

    fn pyc_bytes(&self, source: &[u8], meta: &Metadata, marshalled: &[u8]) -> Vec<u8> {
        let magic = self.ctx.target.magic;
        let header = match self.ctx.invalidation {
            InvalidationMode::Timestamp => {
                PycHeader::timestamp(magic, pyos::mtime(meta), meta.size())
            }
            InvalidationMode::CheckedHash => {
                PycHeader::hash(magic, pyc_format::source_hash(magic, source), true)
            }
            InvalidationMode::UncheckedHash => {
                PycHeader::hash(magic, pyc_format::source_hash(magic, source), false)
            }
        };
        let mut pyc = Vec::with_capacity(pyc_format::HEADER_LEN + marshalled.len());
        pyc.extend_from_slice(&header.to_bytes());
        pyc.extend_from_slice(marshalled);
        pyc
    }

    /// `os.makedirs(dirname(cfile))` then `_write_atomic(cfile, pyc, mode)`.
    fn write(&self, cfile: &Path, pyc: &[u8], meta: &Metadata) -> Result<(), Failure> {
        if self.ctx.is_interrupted() {
            return Err(Failure::Interrupted);
        }
        if let Some(dir) = pyos::dirname(cfile) {
            pyos::makedirs(dir).map_err(|(err, path)| self.os_error(&err, Some(&path), None))?;
        }
        // `_calc_mode`: the source's mode, made writable by the owner.
        let mode = meta.mode() | 0o200;
        atomic_file::write(cfile, pyc, mode).map_err(|err| match err.operation {
            atomic_file::Operation::Write => self.os_error(&err.source, None, None),
            _ => self.os_error(&err.source, Some(&err.path), err.path2.as_deref()),
        })
    }

    /// compileall's `--hardlink-dupes` step after writing `cfile`.
    fn link_duplicate(
        &self,
        previous: &Path,
        previous_pyc: &[u8],
        cfile: &Path,
        pyc: &[u8],
    ) -> Result<(), Failure> {
        if previous_pyc != pyc {
            return Ok(());
        }
        if previous == cfile {
            // Two levels share one path (`-b`, or -1 next to the
            // interpreter's own level): CPython unlinks the file, then fails
            // to link it to itself.
            std::fs::remove_file(cfile).map_err(|err| self.os_error(&err, Some(cfile), None))?;
            let gone = io::Error::from_raw_os_error(libc::ENOENT);
            return Err(self.os_error(&gone, Some(previous), Some(cfile)));
        }
        dedup::link(previous, cfile)
            .map_err(|err| self.os_error(&err.source, Some(&err.path), err.path2.as_deref()))
    }

    fn os_error(
        &self,
        err: &io::Error,
        filename: Option<&Path>,
        filename2: Option<&Path>,
    ) -> Failure {
        Failure::Exception(PyException::os_error(err, filename, filename2, &|p| {
            self.ctx.repr(p)
        }))
    }

    /// compile_file's `except` clauses: mark failure and print per `-q`.
    fn fail(&mut self, failure: Failure) {
        self.success = false;
        // The worker encoded py_compile's message for stdout already.
        let message = match failure {
            Failure::Interrupted => return,
            Failure::Compile(message) => message,
            Failure::Exception(exc) => self.ctx.stdout_bytes(&exc.line()),
            Failure::Backend(reason) => self.ctx.stdout_bytes(
                format!("Error compiling {}: {reason}", self.ctx.repr(self.fullname)).as_bytes(),
            ),
        };
        self.error = Some(String::from_utf8_lossy(&message).into_owned());
        let mut text = Vec::with_capacity(message.len() + 40);
        match self.ctx.options.quiet {
            Quiet::Nothing => return,
            Quiet::ErrorsOnly => text.extend_from_slice(&self.ctx.stdout_bytes(
                format!("*** Error compiling {}...\n", self.ctx.repr(self.fullname)).as_bytes(),
            )),
            Quiet::All => text.extend_from_slice(b"*** "),
        }
        text.extend_from_slice(&message);
        self.chunks.push(Chunk::line(text));
    }
}

/// py_compile's refusal to replace a symlink or a non-regular file.
fn refused_cfile(cfile: &Path) -> Option<Vec<u8>> {
    let lmeta = std::fs::symlink_metadata(cfile).ok()?;
    if lmeta.file_type().is_symlink() {
        let mut message = cfile.as_os_str().as_bytes().to_vec();
        message.extend_from_slice(
            b" is a symlink and will be changed into a regular file if import writes a byte-compiled file to it",
        );
        return Some(message);
    }
    (!lmeta.is_file()).then(|| non_regular_message(cfile))
}

fn non_regular_message(cfile: &Path) -> Vec<u8> {
    let mut message = cfile.as_os_str().as_bytes().to_vec();
    message.extend_from_slice(
        b" is a non-regular file and will be changed into a regular one if import writes a byte-compiled file to it",
    );
    message
}

/// `loader.get_data(file)`, plus the `stat` py_compile takes afterwards.
fn read_source(path: &Path) -> io::Result<(Vec<u8>, Metadata)> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    // One byte more than the size, so the read that finds the end needs
    // no new allocation; read through `take`, because `File`'s own
    // read_to_end asks for the size again (a statx and an lseek per file).
    let mut source = Vec::with_capacity(meta.len() as usize + 1);
    (&mut file).take(u64::MAX).read_to_end(&mut source)?;
    Ok((source, meta))
}
