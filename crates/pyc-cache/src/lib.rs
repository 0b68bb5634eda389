//! A shared store of compiled Python modules (`marshal.dumps(code)`), so
//! that compiling the same source again costs a copy, not a compile.
//!
//! An entry is stored under a [`Key`] the caller builds ([`KeyBuilder`])
//! from everything that changes the compiler's output: the source bytes,
//! the target interpreter, the backend, the optimization level. Not the
//! file name: one entry serves the same module wherever it is installed.
//! The file name is the one thing a compiled module holds of its path
//! (`co_filename`), and [`Cache::get`] writes the asked-for name in its
//! place ([`pymarshal::retarget`]), giving the bytes the compiler writes
//! for that name.
//!
//! ```
//! use pyc_cache::{Cache, KeyBuilder, Lookup};
//!
//! let dir = tempfile::tempdir()?;
//! let cache = Cache::open(&dir.path().join("cache"))?;
//! let key = KeyBuilder::new().part("target", b"3.14.0").part("source", b"x = 1\n").part("level", b"0").finish();
//! assert!(matches!(cache.get(&key, "a/e.py", true), Lookup::Miss));
//!
//! // What CPython 3.14 compiled for a/e.py...
//! let dumped: &[u8] = b"\xe3\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\
//!     \x00\x00\x00\x00\x00\xf3\n\x00\x00\x00\x80\x00^\x01t\x00R\x01#\x00)\x02\xe9\x01\x00\
//!     \x00\x00N)\x01\xda\x01x\xa9\x00\xf3\x00\x00\x00\x00\xda\x06a/e.py\xda\x08<module>r\x07\
//!     \x00\x00\x00\x01\x00\x00\x00s\n\x00\x00\x00\xf0\x03\x01\x01\x01\xd8\x04\x05\x82\x01r\
//!     \x05\x00\x00\x00";
//! cache.put(&key, dumped, "cpython", b"")?;
//!
//! // ...serves b/e.py too, with b/e.py inside.
//! let Lookup::Hit(hit) = cache.get(&key, "b/e.py", true) else { panic!("stored") };
//! assert_eq!(hit.origin, "cpython");
//! assert_eq!(hit.marshal.len(), dumped.len());
//! assert!(hit.marshal.windows(6).any(|w| w == b"b/e.py"));
//! assert_eq!(cache.stats().hits, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Safety rules
//!
//! - **Atomic.** Entries are written under a temporary name and renamed
//!   into place, so a reader sees a whole entry or none; two processes
//!   storing the same entry both succeed, the last rename wins. No lock is
//!   taken on the way to a compile.
//! - **Checked.** Every entry carries the key it was stored under and a
//!   checksum; a damaged, truncated or foreign entry is reported
//!   ([`Lookup::Corrupt`]) and replaced by the next [`Cache::put`].
//! - **Private.** The folder is created with mode 0700; a folder another
//!   user owns or others may write to is refused ([`OpenError`]), and so
//!   is any symlink inside the cache. Entries are opened without following
//!   links and must be the user's own regular files.
//! - **Never in the way.** When storing fails for lack of space or
//!   permission, storing stops for the rest of the run ([`StoreError`]),
//!   and entries already there are still served.
//! - **Bounded.** [`Cache::finish`] keeps the cache under a size, removing
//!   the least recently used entries first (a hit refreshes an entry's
//!   modification time, at most once an hour).
//!
//! The layout: `DIR/CACHEDIR.TAG`, and `DIR/pyc-v1/` holding 256 bucket
//! folders `00`..`ff` named by the key's first byte, each entry a file
//! named by the whole key in hex; `pyc-v1/size` is the running total the
//! size bound is checked against, `pyc-v1/programs/` remembers
//! [`Cache::program_identity`]'s hashes.

#![deny(unsafe_code)]

mod entry;
mod folder;
mod key;
mod program;
mod stderr;
mod usage;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

pub use entry::Corruption;
pub use folder::{OpenError, private_folder};
pub use key::{Key, KeyBuilder};
pub use usage::{Pruned, Usage};

use entry::Entry;

/// How old an entry's modification time may get before a hit refreshes
/// it: least-recently-used order to the hour, for one `futimens` per entry
/// per hour instead of one per hit.
const REFRESH_AFTER: Duration = Duration::from_secs(3600);

/// An open cache folder.
pub struct Cache {
    dir: PathBuf,
    format_dir: PathBuf,
    /// Buckets found safe (or created) in this run.
    buckets: [AtomicBool; 256],
    /// Cleared when storing failed for lack of space or permission.
    storing: AtomicBool,
    /// Cleared when the cache turned out unsafe mid-run.
    usable: AtomicBool,
    hits: AtomicU64,
    misses: AtomicU64,
    stores: AtomicU64,
    corrupt: AtomicU64,
    /// Bytes of entries written by this run.
    stored_bytes: AtomicU64,
    /// Whether it held no entry when opened.
    empty_at_open: bool,
}

/// What [`Cache::get`] found.
#[derive(Debug)]
pub enum Lookup {
    /// The entry, for the asked-for file name.
    Hit(Hit),
    /// No entry.
    Miss,
    /// An entry that failed its checks; it counts as a miss.
    Corrupt(Corruption),
    /// The cache turned out unsafe and is off for the rest of the run.
    Off(OpenError),
}

/// A found entry.
#[derive(Debug)]
pub struct Hit {
    /// `marshal.dumps(code)` with the asked-for `co_filename`.
    pub marshal: Vec<u8>,
    /// The label [`Cache::put`] was given.
    pub origin: String,
    /// What the compiler wrote to stderr, naming the asked-for file.
    pub stderr: Vec<u8>,
}

/// Why [`Cache::put`] stored nothing.
#[derive(Debug)]
pub enum StoreError {
    /// Storing is off for this run (an earlier failure, or an unsafe
    /// cache).
    Off,
    /// The code's file name cannot be re-targeted
    /// ([`pymarshal::retarget::locate`]); such code is not cached.
    NotRetargetable(pymarshal::retarget::LocateError),
    /// The compiler's stderr names the file where it cannot be re-targeted
    /// (elsewhere than before a line's first colon, or not in ASCII).
    StderrNotRetargetable,
    /// Writing failed for lack of space or permission: storing is now off
    /// for the run.
    TurnedOff(io::Error),
    /// Writing failed otherwise.
    Io(io::Error),
    /// The cache turned out unsafe and is off for the rest of the run.
    Unsafe(OpenError),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Off => f.write_str("storing is off for this run"),
            StoreError::NotRetargetable(err) => write!(f, "not cacheable: {err}"),
            StoreError::StderrNotRetargetable => f.write_str(
                "not cacheable: its warnings name the file in a way that cannot be re-targeted",
            ),
            StoreError::TurnedOff(err) => {
                write!(f, "cannot store ({err}); storing is off for this run")
            }
            StoreError::Io(err) => write!(f, "cannot store: {err}"),
            StoreError::Unsafe(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// How a run used the cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lookups answered by an entry.
    pub hits: u64,
    /// Lookups that found none (corrupt entries included).
    pub misses: u64,
    /// Entries written.
    pub stores: u64,
    /// Entries that failed their checks.
    pub corrupt: u64,
}

impl Cache {
    /// Opens the cache in `dir`, creating it private to the user if needed.
    pub fn open(dir: &Path) -> Result<Cache, OpenError> {
        let format_dir = folder::prepare(dir)?;
        let empty_at_open = !has_buckets(&format_dir);
        Ok(Cache {
            dir: dir.to_owned(),
            format_dir,
            buckets: std::array::from_fn(|_| AtomicBool::new(false)),
            storing: AtomicBool::new(true),
            usable: AtomicBool::new(true),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            stores: AtomicU64::new(0),
            corrupt: AtomicU64::new(0),
            stored_bytes: AtomicU64::new(0),
            empty_at_open,
        })
    }

    /// Whether it held no entry when it was opened: then every lookup of
    /// the run will miss (but for sources stored earlier in the run).
    pub fn was_empty(&self) -> bool {
        self.empty_at_open
    }

    /// The folder it was opened at.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry for `key`, with `filename` as its `co_filename`. An entry
    /// with compiler warnings is a miss unless `warnings_usable` (they quote
    /// source lines from the file they name, which must then be the source
    /// compiled) and `filename` is ASCII.
    pub fn get(&self, key: &Key, filename: &str, warnings_usable: bool) -> Lookup {
        if !self.usable.load(Ordering::Relaxed) {
            return self.miss(Lookup::Miss);
        }
        // Nothing is opened before the bucket is known to be the cache's
        // own folder, not a symlink leading out of it.
        match self.bucket(key, false) {
            Ok(true) => {}
            Ok(false) => return self.miss(Lookup::Miss),
            Err(err) => return self.miss(self.unsafe_found(err)),
        }
        let file = match open_entry(&self.entry_path(key)) {
            Ok(Some(file)) => file,
            Ok(None) => return self.miss(Lookup::Miss),
            Err(corruption) => return self.corrupt(corruption),
        };
        let bytes = match read_entry(file) {
            Ok(bytes) => bytes,
            Err(corruption) => return self.corrupt(corruption),
        };
        let entry = match entry::decode(key, &bytes) {
            Ok(entry) => entry,
            Err(corruption) => return self.corrupt(corruption),
        };
        let old = entry.located.filename();
        let warnings_fit = entry.stderr.is_empty() || (warnings_usable && filename.is_ascii());
        if !warnings_fit {
            return self.miss(Lookup::Miss);
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        if old == filename {
            return Lookup::Hit(Hit {
                marshal: entry.marshal.to_vec(),
                origin: entry.origin.into_owned(),
                stderr: entry.stderr.to_vec(),
            });
        }
        let stderr = stderr::retarget(entry.stderr, &entry.stderr_names, old.len(), filename);
        Lookup::Hit(Hit {
            marshal: entry.located.retarget(entry.marshal, filename),
            origin: entry.origin.into_owned(),
            stderr,
        })
    }

    /// Stores `marshal` (`marshal.dumps(code)`) under `key`, with `origin`
    /// (who compiled it) and `stderr` (what the compiler wrote there) for
    /// whoever finds it.
    pub fn put(
        &self,
        key: &Key,
        marshal: &[u8],
        origin: &str,
        stderr: &[u8],
    ) -> Result<(), StoreError> {
        if !self.storing.load(Ordering::Relaxed) || !self.usable.load(Ordering::Relaxed) {
            return Err(StoreError::Off);
        }
        let bytes = encode_entry(key, marshal, origin, stderr)?;
        self.write(key, &bytes)
    }

    /// Writes an entry file into its bucket.
    fn write(&self, key: &Key, bytes: &[u8]) -> Result<(), StoreError> {
        match self.bucket(key, true) {
            Ok(true) => {}
            Ok(false) => return Err(StoreError::Off),
            Err(OpenError::Io { source, .. }) => return Err(self.write_failed(source)),
            Err(err) => {
                return Err(match self.unsafe_found(err) {
                    Lookup::Off(err) => StoreError::Unsafe(err),
                    _ => StoreError::Off,
                });
            }
        }
        match atomic_file::write(&self.entry_path(key), bytes, 0o600) {
            Ok(()) => {
                self.stores.fetch_add(1, Ordering::Relaxed);
                self.stored_bytes
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(err) => Err(self.write_failed(err.source)),
        }
    }

    /// What a failed write means: for lack of space or permission, storing
    /// stops for the run (said once).
    fn write_failed(&self, err: io::Error) -> StoreError {
        if !turns_storing_off(&err) {
            return StoreError::Io(err);
        }
        if self.storing.swap(false, Ordering::Relaxed) {
            StoreError::TurnedOff(err)
        } else {
            StoreError::Off
        }
    }

    /// How this run has used the cache so far.
    pub fn stats(&self) -> Stats {
        Stats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            stores: self.stores.load(Ordering::Relaxed),
            corrupt: self.corrupt.load(Ordering::Relaxed),
        }
    }

    fn entry_path(&self, key: &Key) -> PathBuf {
        let hex = key.to_hex();
        self.format_dir.join(&hex[..2]).join(&*hex)
    }

    /// Checks the key's bucket once per run (creating it when storing);
    /// whether there is one.
    fn bucket(&self, key: &Key, create: bool) -> Result<bool, OpenError> {
        let checked = &self.buckets[usize::from(key.as_bytes()[0])];
        if checked.load(Ordering::Relaxed) {
            return Ok(true);
        }
        // Two threads may both check (or create) the same bucket, which is
        // harmless; one waiting on the other's system calls would not be.
        let path = self.format_dir.join(&key.to_hex()[..2]);
        if !create
            && fs::symlink_metadata(&path).is_err_and(|err| err.kind() == io::ErrorKind::NotFound)
        {
            // No bucket, so no entry: the lookup needs nothing more.
            return Ok(false);
        }
        folder::private_folder(&path)?;
        checked.store(true, Ordering::Relaxed);
        Ok(true)
    }

    fn unsafe_found(&self, err: OpenError) -> Lookup {
        match err {
            // A bucket that cannot be created is a store failure, not an
            // unsafe cache.
            OpenError::Io { .. } => Lookup::Miss,
            err => {
                if self.usable.swap(false, Ordering::Relaxed) {
                    Lookup::Off(err)
                } else {
                    Lookup::Miss
                }
            }
        }
    }

    fn miss(&self, lookup: Lookup) -> Lookup {
        self.misses.fetch_add(1, Ordering::Relaxed);
        lookup
    }

    fn corrupt(&self, corruption: Corruption) -> Lookup {
        self.corrupt.fetch_add(1, Ordering::Relaxed);
        self.miss(Lookup::Corrupt(corruption))
    }
}

/// The bytes of the entry file for `marshal` compiled with `stderr`, if
/// it can be re-targeted.
fn encode_entry(
    key: &Key,
    marshal: &[u8],
    origin: &str,
    stderr: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let located = pymarshal::retarget::locate(marshal).map_err(StoreError::NotRetargetable)?;
    let stderr_names = match stderr {
        [] => Vec::new(),
        text => stderr::locate_names(text, located.filename())
            .ok_or(StoreError::StderrNotRetargetable)?,
    };
    let entry = Entry {
        origin: origin.into(),
        located,
        marshal,
        stderr,
        stderr_names,
    };
    Ok(entry::encode(key, &entry))
}

/// Whether the format folder has a bucket (entries are only ever stored in
/// one).
fn has_buckets(format_dir: &Path) -> bool {
    fs::read_dir(format_dir)
        .is_ok_and(|mut items| items.any(|item| item.is_ok_and(|item| item.file_name().len() == 2)))
}

/// Failures that mean the cache cannot take entries for a while: full
/// disk or quota, read-only file system, no permission, file size limit.
fn turns_storing_off(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ENOSPC | libc::EDQUOT | libc::EROFS | libc::EACCES | libc::EPERM | libc::EFBIG)
    )
}

/// The entry file at `path`, opened without following a link (nor
/// waiting, should it be a FIFO); `None` if there is none.
fn open_entry(path: &Path) -> Result<Option<File>, Corruption> {
    match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(file) => Ok(Some(file)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) if err.raw_os_error() == Some(libc::ELOOP) => Err(Corruption::NotOwnFile),
        Err(err) => Err(Corruption::Unreadable(err.to_string())),
    }
}

/// An entry file's bytes, if it is the user's own regular file. A hit
/// refreshes its modification time (the least-recently-used order).
fn read_entry(mut file: File) -> Result<Vec<u8>, Corruption> {
    let meta = file
        .metadata()
        .map_err(|err| Corruption::Unreadable(err.to_string()))?;
    if !meta.is_file() || meta.uid() != folder::effective_uid() {
        return Err(Corruption::NotOwnFile);
    }
    // `take`: `File`'s own read_to_end would ask for the size again.
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    (&mut file)
        .take(u64::MAX)
        .read_to_end(&mut bytes)
        .map_err(|err| Corruption::Unreadable(err.to_string()))?;
    refresh(&file, &meta);
    Ok(bytes)
}

fn refresh(file: &File, meta: &fs::Metadata) {
    let now = SystemTime::now();
    let stale = meta
        .modified()
        .ok()
        .and_then(|modified| now.duration_since(modified).ok())
        .is_some_and(|age| age > REFRESH_AFTER);
    if stale {
        // Best effort: a read-only cache keeps its order.
        let _ = file.set_modified(now);
    }
}
