//! The cache's size: counted at the end of each run that stored entries,
//! bounded by removing the least recently used entries, reported by
//! `compileall cache info`.
//!
//! Runs add what they stored to a running total in `pyc-v1/size` under a
//! short lock (a lock taken once per run, never on the way to a compile).
//! When the total passes the bound, the run lists every entry, removes the
//! oldest until the cache is at 90% of the bound (so the next runs do not
//! prune again at once), and writes the exact total back.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use crate::Cache;

/// What a cache folder holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Entry files.
    pub entries: u64,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// What [`Cache::prune`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Entries removed.
    pub removed: Usage,
    /// What is left.
    pub left: Usage,
}

/// One entry file found by a listing.
struct Listed {
    path: PathBuf,
    bytes: u64,
    used: SystemTime,
}

impl Cache {
    /// Ends a run: adds what it stored to the running total and, if that
    /// passes `max_bytes`, prunes. Returns what was pruned, if anything.
    pub fn finish(&self, max_bytes: u64) -> io::Result<Option<Pruned>> {
        let stored = self.stored_bytes.swap(0, Ordering::Relaxed);
        if stored == 0 {
            return Ok(None);
        }
        let mut total = self.lock_total()?;
        let sum = total.read()?.saturating_add(stored);
        if sum <= max_bytes {
            total.write(sum)?;
            return Ok(None);
        }
        let pruned = self.prune_to(max_bytes / 10 * 9)?;
        total.write(pruned.left.bytes)?;
        Ok(Some(pruned))
    }

    /// Counts the entries (a full listing).
    pub fn usage(&self) -> io::Result<Usage> {
        Ok(total(&self.list()?))
    }

    /// Removes the least recently used entries until the cache holds at
    /// most `max_bytes` (`compileall cache prune`).
    pub fn prune(&self, max_bytes: u64) -> io::Result<Pruned> {
        let mut total = self.lock_total()?;
        let pruned = self.prune_to(max_bytes)?;
        total.write(pruned.left.bytes)?;
        Ok(pruned)
    }

    /// Removes every entry (`compileall cache clear`).
    pub fn clear(&self) -> io::Result<Usage> {
        self.prune(0).map(|pruned| pruned.removed)
    }

    fn prune_to(&self, max_bytes: u64) -> io::Result<Pruned> {
        let mut listed = self.list()?;
        let mut left = total(&listed);
        listed.sort_by_key(|entry| entry.used);
        let mut removed = Usage::default();
        for entry in listed {
            if left.bytes <= max_bytes {
                break;
            }
            match fs::remove_file(&entry.path) {
                Ok(()) => {}
                // Another run pruned it first.
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
            removed.entries += 1;
            removed.bytes += entry.bytes;
            left.entries -= 1;
            left.bytes -= entry.bytes;
        }
        Ok(Pruned { removed, left })
    }

    /// Every entry file, and the temporary files of runs that were killed
    /// (removed on the way).
    fn list(&self) -> io::Result<Vec<Listed>> {
        let mut listed = Vec::new();
        for bucket in 0..=255u8 {
            let dir = self.format_dir.join(format!("{bucket:02x}"));
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            let mut names = Vec::new();
            for item in entries {
                let item = item?;
                let name = item.file_name();
                let meta = item.metadata()?;
                if meta.is_file() && name.len() == 64 {
                    listed.push(Listed {
                        path: item.path(),
                        bytes: meta.len(),
                        used: meta.modified()?,
                    });
                }
                names.push(name);
            }
            atomic_file::sweep_listed(&dir, names.iter().map(|name| name.as_bytes()), b"");
        }
        Ok(listed)
    }

    fn lock_total(&self) -> io::Result<Total> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(self.format_dir.join("size"))?;
        file.lock()?;
        Ok(Total(file))
    }
}

fn total(listed: &[Listed]) -> Usage {
    Usage {
        entries: listed.len() as u64,
        bytes: listed.iter().map(|entry| entry.bytes).sum(),
    }
}

/// The running total, locked until dropped.
struct Total(File);

impl Total {
    fn read(&mut self) -> io::Result<u64> {
        let mut text = String::new();
        self.0.rewind()?;
        self.0.read_to_string(&mut text)?;
        Ok(text.trim().parse().unwrap_or(0))
    }

    fn write(&mut self, bytes: u64) -> io::Result<()> {
        self.0.set_len(0)?;
        self.0.rewind()?;
        writeln!(self.0, "{bytes}")
    }
}
