//! [`Cache::program_identity`]: a hash of the running program, for keys.
//! A compiler built into the program (a native backend) makes different
//! bytes when the program changes, and no version string can tell every
//! build apart; the program's own bytes can.
//!
//! What is hashed is what the program runs: for an ELF file, its file
//! header, its program headers and the bytes of the segments it loads
//! (code, constants, data, relocations), not the symbol tables and debug
//! information that make up most of a release build and never change what
//! it does. Any other file is hashed whole.
//!
//! Hashing costs milliseconds even so, so the hash is remembered in the
//! cache under the file's identity (device, inode, size, modification and
//! change times): any change to the file gives a new identity and a new
//! hash.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use object::read::elf::{FileHeader, ProgramHeader};
use object::{Endianness, FileKind, elf, pod};

use crate::key::{Key, KeyBuilder};
use crate::{Cache, folder};

impl Cache {
    /// The BLAKE3 hash of what the program at `program` (usually
    /// `std::env::current_exe()`) runs, remembered in the cache.
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
        let file = File::open(program)?;
        let meta = file.metadata()?;
        let memo_dir = self.format_dir.join("programs");
        let memo = memo_dir.join(file_identity(&meta).to_string());
        if let Some(key) = read_memo(&memo) {
            return Ok(key);
        }
        let key = hash_program(&file, meta.len())?;
        // Remembering is an optimization: a cache that cannot take it
        // still works.
        if folder::private_folder(&memo_dir).is_ok() {
            let _ = atomic_file::write(&memo, key.as_bytes(), 0o600);
        }
        Ok(key)
    }
}

/// How much of the file's start is read for its ELF headers; a file whose
/// program headers lie beyond is hashed whole.
const HEADERS_READ: u64 = 64 * 1024;

/// The hash of what `file` (`size` bytes) runs: its loadable segments if
/// it is an ELF file, else all of it.
fn hash_program(file: &File, size: u64) -> io::Result<Key> {
    let mut head = vec![0; HEADERS_READ.min(size) as usize];
    file.read_exact_at(&mut head, 0)?;
    let loaded = match FileKind::parse(&*head) {
        Ok(FileKind::Elf64) => loaded_parts::<elf::FileHeader64<Endianness>>(&head),
        Ok(FileKind::Elf32) => loaded_parts::<elf::FileHeader32<Endianness>>(&head),
        _ => None,
    };
    let mut hasher = blake3::Hasher::new();
    match loaded {
        Some((headers, segments)) => {
            hasher.update(b"elf: headers, then each loaded segment\0");
            hasher.update(&headers);
            for (offset, len) in segments {
                hash_range(file, offset, len, &mut hasher)?;
            }
        }
        None => {
            hasher.update(b"whole file\0");
            hash_range(file, 0, size, &mut hasher)?;
        }
    }
    Ok(Key(*hasher.finalize().as_bytes()))
}

/// An ELF file's header and program headers (they say where each segment
/// is loaded and how), and the file range of each loaded segment; `None`
/// if they cannot be read from `head`.
#[allow(clippy::type_complexity)]
fn loaded_parts<Elf: FileHeader<Endian = Endianness>>(
    head: &[u8],
) -> Option<(Vec<u8>, Vec<(u64, u64)>)> {
    let header = Elf::parse(head).ok()?;
    let endian = header.endian().ok()?;
    let program_headers = header.program_headers(endian, head).ok()?;
    let mut headers = pod::bytes_of(header).to_vec();
    headers.extend_from_slice(pod::bytes_of_slice(program_headers));
    let segments = program_headers
        .iter()
        .filter(|segment| segment.p_type(endian) == elf::PT_LOAD)
        .map(|segment| segment.file_range(endian))
        .collect();
    Some((headers, segments))
}

/// Feeds `len` bytes of `file` from `offset` to `hasher`.
fn hash_range(file: &File, offset: u64, len: u64, hasher: &mut blake3::Hasher) -> io::Result<()> {
    const CHUNK: u64 = 1 << 20;
    let mut buffer = vec![0; CHUNK.min(len) as usize];
    let mut done = 0;
    while done < len {
        let chunk = &mut buffer[..CHUNK.min(len - done) as usize];
        file.read_exact_at(chunk, offset + done)?;
        hasher.update(chunk);
        done += chunk.len() as u64;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// This test program: an ELF file, and where its first loaded segment
    /// with bytes in the file starts and ends.
    fn elf_program() -> (Vec<u8>, u64, u64) {
        let bytes = fs::read(std::env::current_exe().unwrap()).unwrap();
        let head = &bytes[..HEADERS_READ as usize];
        let (_, segments) = loaded_parts::<elf::FileHeader64<Endianness>>(head).unwrap();
        let (offset, len) = segments.into_iter().find(|&(_, len)| len > 0).unwrap();
        (bytes, offset, len)
    }

    fn identity(bytes: &[u8]) -> Key {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("program");
        fs::write(&program, bytes).unwrap();
        let file = File::open(&program).unwrap();
        hash_program(&file, bytes.len() as u64).unwrap()
    }

    #[test]
    fn bytes_an_elf_program_does_not_load_leave_its_identity() {
        let (mut bytes, ..) = elf_program();
        let before = identity(&bytes);
        // Past the end of every segment, as debug information is.
        bytes.extend_from_slice(b"more debug information");
        assert_eq!(identity(&bytes), before);
    }

    #[test]
    fn every_loaded_byte_is_part_of_an_elf_program_identity() {
        let (bytes, offset, len) = elf_program();
        let before = identity(&bytes);
        for at in [offset + len / 2, offset + len - 1] {
            let mut changed = bytes.clone();
            changed[at as usize] ^= 1;
            assert_ne!(identity(&changed), before, "byte {at}");
        }
    }
}
