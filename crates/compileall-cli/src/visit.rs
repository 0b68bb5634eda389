//! What a run visits, in CPython's order, as found before anything is
//! known about the target: the values [`crate::walk`] and [`crate::plan`]
//! produce and [`crate::steps`] prepares.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bytecode::CompilerProcess;
use pycache_paths::compileall::DestinationRewrite;

use crate::pyerror::PyException;
use crate::pyos::{self, Folder, Stat};

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
    pub meta: Option<Stat>,
    /// The listing said it is a regular file (so no `stat()` was needed to
    /// know it is not a directory).
    pub regular: bool,
    /// The process CPython compiles it in.
    pub process: CompilerProcess,
    /// Found by listing its folder (whose leftovers the walk swept).
    pub walked: bool,
    /// For a walked file: its folder's `__pycache__`, shared with the
    /// folder's other files (taken when the file is prepared).
    pub pycache: Option<Arc<Pycache>>,
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
            pycache: None,
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
            // Prepared again after an earlier visit wrote pycs: what the
            // walk listed is out of date.
            pycache: None,
        }
    }
}

/// The `__pycache__` folder of a walked folder, as its files' pycs are
/// checked: opened, listed and swept of what killed runs left (once, by
/// the first of the folder's files prepared), its pyc headers read
/// relative to it, and closed when the last of those files is prepared.
/// A run so holds a few of them open at a time, not one per folder.
///
/// What it holds is the folder as it was when first opened, which is
/// what every later file of the folder sees too: the pycs written since
/// are those of files prepared before (each file has its own pycs), and a
/// file prepared again after compiling does not use it.
#[derive(Debug)]
pub(crate) struct Pycache {
    /// `dir/__pycache__`, as `os.path.join` makes it.
    path: PathBuf,
    /// Whether the walk's listing of `dir` had it (else there is nothing
    /// to sweep).
    listed: bool,
    opened: OnceLock<Opened>,
}

#[derive(Debug)]
enum Opened {
    /// Open, with the names it had.
    Listed(Folder, HashSet<OsString>),
    /// There was no such folder: none of its pycs exists.
    Absent,
    /// It could not be opened or listed (its pycs are read by path).
    Unusable,
}

impl Pycache {
    /// The `__pycache__` of the walked folder `dir`, which the walk's
    /// listing had (`listed`) or not.
    pub fn new(dir: &Path, listed: bool) -> Pycache {
        Pycache {
            path: pyos::join(dir, "__pycache__".as_ref()),
            listed,
            opened: OnceLock::new(),
        }
    }

    /// Sweeps it (opening and listing it), unless done already or the
    /// walk found none.
    pub fn sweep(&self) {
        if self.listed {
            self.opened();
        }
    }

    fn opened(&self) -> &Opened {
        self.opened.get_or_init(|| {
            let folder = match Folder::open(&self.path) {
                Ok(folder) => folder,
                Err(err) if err.kind() == io::ErrorKind::NotFound => return Opened::Absent,
                Err(_) => return Opened::Unusable,
            };
            let Ok(names) = folder.list() else {
                return Opened::Unusable;
            };
            let names: HashSet<OsString> = names.into_iter().map(|(n, _)| n).collect();
            // Leftovers of killed runs: only temporary pycs of processes
            // that are gone.
            atomic_file::sweep_listed(&self.path, names.iter().map(|n| n.as_bytes()), b".pyc");
            Opened::Listed(folder, names)
        })
    }

    /// The first `N` bytes of `cfile`, read relative to this folder;
    /// `None` when `cfile` is not in it or it could not be opened (the
    /// caller then opens the path). A name its listing did not have is
    /// missing without a system call.
    pub fn read_start<const N: usize>(&self, cfile: &Path) -> Option<io::Result<[u8; N]>> {
        if pyos::dirname(cfile).is_none_or(|dir| dir.as_os_str() != self.path.as_os_str()) {
            return None;
        }
        let name = cfile.file_name()?;
        let missing = || Some(Err(io::Error::from(io::ErrorKind::NotFound)));
        match self.opened() {
            Opened::Listed(_, names) if !names.contains(name) => missing(),
            Opened::Listed(folder, _) => Some(folder.read_start(name)),
            Opened::Absent => missing(),
            Opened::Unusable => None,
        }
    }
}
