//! [`Cache::program_identity`]: a hash of the running program's bytes, for
//! keys. A compiler built into the program (a native backend) makes
//! different bytes when the program changes, and no version string can
//! tell every build apart; the program's own bytes can.
//!
//! Hashing a 40 MB program costs tens of milliseconds, so the hash is
//! remembered in the cache under the file's identity (device, inode,
//! size, modification and change times): any change to the file gives a
//! new identity and a new hash.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::key::{Key, KeyBuilder};
use crate::{Cache, folder};

impl Cache {
    /// The BLAKE3 hash of the file at `program` (usually
    /// `std::env::current_exe()`), remembered in the cache.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let cache = pyc_cache::Cache::open(dir.path())?;
    /// let program = dir.path().join("program");
    /// std::fs::write(&program, b"some program")?;
    /// let first = cache.program_identity(&program)?;
    /// assert_eq!(cache.program_identity(&program)?, first); // remembered
    /// std::fs::write(&program, b"another program")?;
    /// assert_ne!(cache.program_identity(&program)?, first);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn program_identity(&self, program: &Path) -> io::Result<Key> {
        let mut file = File::open(program)?;
        let meta = file.metadata()?;
        let memo_dir = self.format_dir.join("programs");
        let memo = memo_dir.join(file_identity(&meta).to_string());
        if let Some(key) = read_memo(&memo) {
            return Ok(key);
        }
        let mut hasher = blake3::Hasher::new();
        let mut buffer = vec![0; 1 << 20];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        let key = Key(*hasher.finalize().as_bytes());
        // Remembering is an optimization: a cache that cannot take it
        // still works.
        if folder::private_folder(&memo_dir).is_ok() {
            let _ = atomic_file::write(&memo, key.as_bytes(), 0o600);
        }
        Ok(key)
    }
}

/// A key naming the file's current version.
fn file_identity(meta: &fs::Metadata) -> Key {
    let numbers = [
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime() as u64,
        meta.mtime_nsec() as u64,
        meta.ctime() as u64,
        meta.ctime_nsec() as u64,
    ];
    let bytes: Vec<u8> = numbers.iter().flat_map(|n| n.to_le_bytes()).collect();
    KeyBuilder::new().part("file", &bytes).finish()
}

fn read_memo(path: &Path) -> Option<Key> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.uid() != folder::effective_uid() {
        return None;
    }
    let bytes: [u8; 32] = fs::read(path).ok()?.try_into().ok()?;
    Some(Key(bytes))
}
