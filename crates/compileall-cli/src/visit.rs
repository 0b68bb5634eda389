//! What a run visits, in CPython's order, as found before anything is
//! known about the target: the values [`crate::walk`] and [`crate::plan`]
//! produce and [`crate::steps`] prepares.

use std::fs::Metadata;
use std::path::PathBuf;
use std::sync::Arc;

use bytecode::CompilerProcess;
use pycache_paths::compileall::DestinationRewrite;

use crate::pyerror::PyException;

/// One thing compileall does, in its order.
#[derive(Debug)]
pub(crate) enum Visit {
    /// `Listing 'dir'...`
    Listing(PathBuf),
    /// `Can't list 'dir'`
    CantList(PathBuf),
    /// `compile_file(fullname, ...)`.
    File(Source),
    /// An exception compileall raises here.
    Raise(PyException),
}

/// One `compile_file` call: the path and the arguments that came with it.
#[derive(Debug)]
pub(crate) struct Source {
    /// The path as compileall names it.
    pub fullname: PathBuf,
    /// `ddir`, `stripdir`, `prependdir`.
    pub rewrite: Arc<DestinationRewrite>,
    /// Its `stat()`, when the walk already took it.
    pub meta: Option<Metadata>,
    /// The listing said it is a regular file (so no `stat()` was needed to
    /// know it is not a directory).
    pub regular: bool,
    /// The process CPython compiles it in.
    pub process: CompilerProcess,
    /// Found by listing its folder (whose leftovers the walk swept).
    pub walked: bool,
}

impl Source {
    /// A path named on the command line (or passed to `compile_file`):
    /// nothing known about it yet, compiled in CPython's main process.
    pub fn named(fullname: PathBuf, rewrite: Arc<DestinationRewrite>) -> Source {
        Source {
            fullname,
            rewrite,
            meta: None,
            regular: false,
            process: CompilerProcess::Main,
            walked: false,
        }
    }

    /// The same call, to be prepared again from scratch.
    pub fn again(&self) -> Source {
        Source {
            fullname: self.fullname.clone(),
            rewrite: Arc::clone(&self.rewrite),
            meta: None,
            regular: false,
            process: self.process,
            walked: self.walked,
        }
    }
}
