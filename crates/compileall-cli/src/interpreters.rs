//! Records of target interpreters' handshakes, so that a later run for
//! the same interpreter in the same circumstances knows its facts (version,
//! cache tag, `-O` level, `sys.path`, stdout encoding, ...) without
//! starting it. A run that then needs no interpreter (every source up to
//! date, or compiled by the native backend) never starts one.
//!
//! A record is used only when everything the handshake depends on is as
//! it was: the interpreter file as given and as resolved (its device,
//! inode, size, modification and change times), the working directory,
//! every environment variable, this program's version and worker program,
//! and the modification time of every `sys.path` folder (a new `.pth` file
//! or `sitecustomize` changes them). Records live in
//! `$XDG_CACHE_HOME/compileall/interpreters` (else `~/.cache/...`), in a
//! folder private to the user; any problem with them means no record,
//! never a failed run.

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What the first line of a record says.
const FORMAT: &[u8] = b"compileall-interpreter/1\n";

/// The records of one interpreter in the present circumstances.
pub struct Records {
    dir: PathBuf,
    /// Everything the handshake depends on besides `sys.path`'s folders
    /// ([`circumstances`]).
    key: Vec<u8>,
}

impl Records {
    /// The records of `python`, in the user's folder of records, created
    /// private (0700) if need be; `None` where there is no usable folder
    /// (no home, or a folder that is not the user's own or that others can
    /// write to) or the interpreter cannot be identified.
    pub fn locate(python: &Path) -> Option<Records> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|dir| Path::new(dir).is_absolute())
            .map(PathBuf::from)
            .or_else(|| {
                let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
                Some(Path::new(&home).join(".cache"))
            })?;
        let dir = base.join("compileall").join("interpreters");
        pyc_cache::private_folder(&dir).ok()?;
        let key = circumstances(python)?;
        Some(Records { dir, key })
    }

    /// The handshake recorded in these circumstances.
    pub fn load(&self) -> Option<Vec<u8>> {
        let data = fs::read(self.file()).ok()?;
        let mut rest = data.strip_prefix(FORMAT)?;
        if take(&mut rest)? != self.key.as_slice() {
            return None;
        }
        let folders = take(&mut rest)?;
        if folders != folder_times(&paths_of(folders)?).as_slice() {
            return None;
        }
        Some(take(&mut rest)?.to_vec())
    }

    /// Records `handshake` (whose `sys.path` is `sys_path`), atomically;
    /// failures are ignored.
    pub fn store(&self, handshake: &[u8], sys_path: &[PathBuf]) {
        let mut data = FORMAT.to_vec();
        for part in [&self.key[..], &folder_times(sys_path), handshake] {
            put(&mut data, part);
        }
        let file = self.file();
        let temporary = file.with_extension(format!("tmp{}", std::process::id()));
        let written = fs::File::create(&temporary)
            .and_then(|mut out| out.write_all(&data))
            .and_then(|()| fs::rename(&temporary, &file));
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
    }

    fn file(&self) -> PathBuf {
        self.dir.join(format!("{:016x}", fnv1a(&self.key)))
    }
}

/// Everything a handshake depends on besides `sys.path`'s folders, as
/// bytes; `None` when the interpreter cannot be identified.
fn circumstances(python: &Path) -> Option<Vec<u8>> {
    let given = std::path::absolute(python).ok()?;
    let resolved = fs::canonicalize(&given).ok()?;
    let meta = fs::metadata(&resolved).ok()?;
    let mut key = Vec::new();
    put(&mut key, env!("CARGO_PKG_VERSION").as_bytes());
    put(
        &mut key,
        &fnv1a(bytecode::cpython::worker_program().as_bytes()).to_le_bytes(),
    );
    put(&mut key, given.as_os_str().as_bytes());
    put(&mut key, resolved.as_os_str().as_bytes());
    for number in [meta.dev(), meta.ino(), meta.size()] {
        key.extend_from_slice(&number.to_le_bytes());
    }
    for time in [
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
    ] {
        key.extend_from_slice(&time.to_le_bytes());
    }
    put(
        &mut key,
        std::env::current_dir().ok()?.as_os_str().as_bytes(),
    );
    let mut variables: Vec<(std::ffi::OsString, std::ffi::OsString)> =
        std::env::vars_os().collect();
    variables.sort();
    for (name, value) in &variables {
        put(&mut key, name.as_bytes());
        put(&mut key, value.as_bytes());
    }
    Some(key)
}

/// Each folder's path and modification time (or that it is missing), as
/// bytes.
fn folder_times(folders: &[PathBuf]) -> Vec<u8> {
    let mut out = Vec::new();
    for folder in folders {
        put(&mut out, folder.as_os_str().as_bytes());
        match fs::metadata(folder) {
            Ok(meta) => {
                out.push(1);
                out.extend_from_slice(&meta.mtime().to_le_bytes());
                out.extend_from_slice(&meta.mtime_nsec().to_le_bytes());
            }
            Err(_) => out.push(0),
        }
    }
    out
}

/// The folder paths of a [`folder_times`] record.
fn paths_of(mut record: &[u8]) -> Option<Vec<PathBuf>> {
    let mut paths = Vec::new();
    while !record.is_empty() {
        paths.push(PathBuf::from(OsStr::from_bytes(take(&mut record)?)));
        let (&present, rest) = record.split_first()?;
        record = rest.get(if present == 1 { 16 } else { 0 }..)?;
    }
    Some(paths)
}

/// Appends `part`, length first.
fn put(out: &mut Vec<u8>, part: &[u8]) {
    out.extend_from_slice(&(part.len() as u64).to_le_bytes());
    out.extend_from_slice(part);
}

/// Takes one [`put`] part from the front of `bytes`.
fn take<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (length, rest) = bytes.split_first_chunk::<8>()?;
    let length = usize::try_from(u64::from_le_bytes(*length)).ok()?;
    let part = rest.get(..length)?;
    *bytes = &rest[length..];
    Some(part)
}

/// FNV-1a, 64 bits: names a record's file (the record holds its whole key).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
    })
}
