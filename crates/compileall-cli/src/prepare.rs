//! The first half of `compileall.compile_file`: everything that only reads
//! the file system (dfile, `-x`, `-e`, bytecode paths, the up-to-date
//! check), run in parallel while the tree is walked. What it decides is a
//! [`Decision`]; [`crate::execute`] carries out the compiles.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use bstr::ByteSlice;
use pycache_paths::Optimization;
use pycache_paths::compileall::{self as rules, Dfile};

use crate::context::Context;
use crate::freshness;
use crate::options::Exclude;
use crate::output::{Chunk, SkipReason};
use crate::pyerror::{ExceptionClass, PyException};
use crate::pyos::{self, Stat};
use crate::visit::{Pycache, Source};

/// What `prepare` decided for one source.
pub(crate) struct Prepared {
    /// The `compile_file` call (kept to prepare it again when an earlier
    /// step rewrote its pycs).
    pub source: Source,
    /// Output printed while deciding (the stripdir warning).
    pub chunks: Vec<Chunk>,
    /// The decision.
    pub decision: Decision,
    /// Device and inode of the source, to notice the same file reached twice.
    pub identity: Option<(u64, u64)>,
    /// The folder its pycs go to, for `.py` sources: where an interrupted
    /// earlier run may have left temporary files.
    pub cache_dir: Option<PathBuf>,
    /// One bytecode path per optimization level, in compile order (once
    /// known to be a file).
    pub cfiles: Vec<(i32, PathBuf)>,
    /// The source's `stat()`, for `.py` files.
    pub meta: Option<Stat>,
}

/// What compile_file does with a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Nothing.
    Skip(SkipReason),
    /// Compile it: its pycs are stale or missing. `dfile` is the name
    /// compiled into the code objects (`None`: the path itself).
    Compile { dfile: Option<PathBuf> },
    /// compileall raises here (a traceback in CPython); the run stops.
    Raise(PyException),
}

impl Prepared {
    /// Whether the walk already swept its cache folder: a walked source
    /// whose pycs go to its own folder's `__pycache__` (or, with `-b`,
    /// next to it).
    pub fn cache_dir_swept(&self) -> bool {
        let Some(cache_dir) = &self.cache_dir else {
            return true;
        };
        let folder = pyos::dirname(&self.source.fullname);
        let own = |dir: &Path| match folder {
            Some(folder) => dir.as_os_str() == folder.as_os_str(),
            None => dir.as_os_str().is_empty(),
        };
        self.source.walked
            && (own(cache_dir)
                || (cache_dir.file_name().is_some_and(|n| n == "__pycache__")
                    && cache_dir.parent().is_some_and(own)))
    }
}

/// The first half of `compile_file(fullname, ...)`.
pub(crate) fn prepare(ctx: &Context<'_>, mut source: Source) -> Prepared {
    let meta = source.meta.take();
    // Dropped when this file is prepared: the last of its folder's files
    // closes it. Swept by the first, whatever it decides, so that every
    // walked `__pycache__` with files next to it is swept.
    let pycache = source.pycache.take();
    if let Some(pycache) = &pycache {
        pycache.sweep();
    }
    let mut prepared = Prepared {
        source,
        chunks: Vec::new(),
        decision: Decision::Skip(SkipReason::NotAFile),
        identity: None,
        cache_dir: None,
        cfiles: Vec::new(),
        meta: None,
    };
    prepared.decision = match decide(ctx, &mut prepared, meta, pycache.as_deref()) {
        Ok(decision) | Err(decision) => decision,
    };
    prepared
}

/// compile_file's tests, in its order. `Err` is a decision reached before
/// the last test (a skip or a raise).
fn decide(
    ctx: &Context<'_>,
    prepared: &mut Prepared,
    meta: Option<Stat>,
    pycache: Option<&Pycache>,
) -> Result<Decision, Decision> {
    let dfile = dfile(ctx, &prepared.source, &mut prepared.chunks)?;
    if ctx.options.hardlink_dupes && ctx.levels.len() < 2 {
        return Err(Decision::Raise(PyException::new(
            ExceptionClass::ValueError,
            "Hardlinking of duplicated bytecode makes sense only for more than one optimization level",
        )));
    }
    let fullname = prepared.source.fullname.as_path();
    exclude(ctx, fullname)?;
    let is_py = fullname.as_os_str().as_bytes().ends_with_str(".py");
    let meta = is_file(fullname, meta, prepared.source.regular, is_py)?;
    prepared.identity = meta.map(|meta| meta.identity);
    let cfiles = cfiles(ctx, fullname)?;
    let Some(meta) = meta.filter(|_| is_py) else {
        return Err(Decision::Skip(SkipReason::NotPython));
    };
    prepared.cache_dir = cfiles
        .first()
        .and_then(|(_, cfile)| pyos::dirname(cfile))
        .map(Path::to_owned);
    let fresh =
        !ctx.options.force && freshness::up_to_date(ctx.target.magic, &meta, &cfiles, pycache);
    prepared.cfiles = cfiles;
    prepared.meta = Some(meta);
    if fresh {
        return Err(Decision::Skip(SkipReason::UpToDate));
    }
    ctx.warm_up(prepared.source.process);
    Ok(Decision::Compile { dfile })
}

/// The `dfile` for `-d`/`-s`/`-p`, and the warning for a stripdir that is
/// not a prefix.
fn dfile(
    ctx: &Context<'_>,
    source: &Source,
    chunks: &mut Vec<Chunk>,
) -> Result<Option<PathBuf>, Decision> {
    let fullname = &source.fullname;
    let dfile = rules::dfile(fullname, &source.rewrite, ctx.target.version).map_err(|err| {
        Decision::Raise(PyException::new(ExceptionClass::TypeError, err.to_string()))
    })?;
    if dfile.stripdir_not_prefix
        && ctx.options.quiet.prints_errors()
        && let Some(stripdir) = &source.rewrite.stripdir
    {
        let warning = Dfile::stripdir_warning(stripdir, fullname, |p| ctx.repr(p));
        chunks.push(ctx.line(warning));
    }
    Ok(dfile.path)
}

/// `-x` and `-e`: skip the source, or raise.
fn exclude(ctx: &Context<'_>, fullname: &Path) -> Result<(), Decision> {
    match &ctx.options.rx {
        Some(Exclude::Pattern(rx)) if rx.search(fullname.as_os_str().as_bytes()) => {
            return Err(Decision::Skip(SkipReason::Excluded));
        }
        Some(Exclude::EmptyString) => {
            return Err(Decision::Raise(PyException::new(
                ExceptionClass::AttributeError,
                "'str' object has no attribute 'search'",
            )));
        }
        _ => {}
    }
    let Some(limit) = &ctx.options.limit_sl_dest else {
        return Ok(());
    };
    match rules::symlink_leaves(fullname, limit, ctx.cwd, ctx.target.version) {
        Ok(true) => Err(Decision::Skip(SkipReason::SymlinkOutside)),
        Ok(false) => Ok(()),
        Err(rules::ResolveError::SymlinkLoop(path)) => Err(Decision::Raise(PyException::new(
            ExceptionClass::RuntimeError,
            format!("Symlink loop from {}", ctx.repr(&path)),
        ))),
        Err(rules::ResolveError::Io(err)) => Err(Decision::Raise(PyException::os_error(
            &err,
            None,
            None,
            &|p| ctx.repr(p),
        ))),
    }
}

/// `os.path.isfile(fullname)`: the source's `stat()` if it is a file, when
/// one is needed (a plain file the listing already identified needs it
/// only if it is a source).
fn is_file(
    fullname: &Path,
    meta: Option<Stat>,
    regular: bool,
    is_py: bool,
) -> Result<Option<Stat>, Decision> {
    let meta = match meta {
        Some(meta) => Some(meta),
        None if regular && !is_py => None,
        None => match Stat::of(fullname) {
            Ok(meta) => Some(meta),
            Err(_) => return Err(Decision::Skip(SkipReason::NotAFile)),
        },
    };
    match meta {
        Some(meta) if !meta.is_file() => Err(Decision::Skip(SkipReason::NotAFile)),
        meta => Ok(meta),
    }
}

/// The bytecode path of each optimization level.
fn cfiles(ctx: &Context<'_>, fullname: &Path) -> Result<Vec<(i32, PathBuf)>, Decision> {
    ctx.levels
        .iter()
        .map(|&level| {
            if ctx.options.legacy {
                return Ok((level, pycache_paths::legacy_cache_path(fullname)));
            }
            let optimization = match level {
                ..0 => Optimization::Interpreter,
                0 => Optimization::Text("".as_ref()),
                _ => Optimization::Level(level as u64),
            };
            let cfile = ctx
                .layout
                .cache_from_source(fullname, optimization, ctx.cwd)
                .map_err(|err| Decision::Raise(PyException::from_path_error(&err)))?;
            Ok((level, cfile))
        })
        .collect()
}

#[cfg(test)]
mod tests;
