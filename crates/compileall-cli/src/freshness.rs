//! Whether a pyc on disk is current for its source, by the two tests this
//! crate applies: compileall's quick one ([`up_to_date`]: magic, zero flags
//! and mtime, which decides what `compile_file` compiles) and importlib's
//! full one ([`importlib_verdict`], which `--check` and `inspect` report).

use std::fs::Metadata;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use pyc_format::{CheckHashBasedPycs, Flags, Magic, PycError, SourceFacts};

use crate::pyos;

/// compileall's check: every pyc starts with magic, zero flags and the
/// source's mtime. (Hash-based pycs never pass it.)
pub(crate) fn up_to_date(magic: Magic, meta: &Metadata, cfiles: &[(i32, PathBuf)]) -> bool {
    let mut expect = [0u8; 12];
    expect[..4].copy_from_slice(&magic.0);
    expect[8..].copy_from_slice(&(pyos::mtime(meta) as u32).to_le_bytes());
    cfiles
        .iter()
        .all(|(_, cfile)| read_header(cfile).is_ok_and(|actual| actual == expect))
}

/// `open(cfile, 'rb').read(12)`, in one `read` for a regular file.
/// Non-blocking, so that a FIFO in a pyc's place reads as empty instead of
/// hanging the run.
fn read_header(path: &Path) -> io::Result<[u8; 12]> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let mut header = [0u8; 12];
    let mut filled = 0;
    while filled < header.len() {
        match file.read(&mut header[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(header)
}

/// importlib's decision on `pyc` (its bytes) as the cache of `source`,
/// checking every hash-based pyc against the source: `source_bytes` is
/// only read for those, and may be empty for a timestamp pyc.
pub(crate) fn importlib_verdict(
    pyc: &[u8],
    magic: Magic,
    source: &Path,
    source_meta: &Metadata,
    source_bytes: &[u8],
) -> Result<Flags, PycError> {
    let facts = SourceFacts {
        mtime: pyos::mtime(source_meta),
        size: source_meta.len(),
        bytes: source_bytes,
    };
    let name = source.to_string_lossy();
    pyc_format::validate_against_source(pyc, magic, &name, facts, CheckHashBasedPycs::Always)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use pyc_format::{PycHeader, PythonVersion};

    use super::*;

    fn magic() -> Magic {
        PythonVersion::new(3, 14).info().unwrap().magic_bytes()
    }

    /// A source with a known mtime, and the path its pyc would have.
    fn source(dir: &Path) -> (PathBuf, Metadata, PathBuf) {
        let source = dir.join("m.py");
        std::fs::write(&source, "x = 1\n").unwrap();
        let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        std::fs::File::options()
            .write(true)
            .open(&source)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let meta = std::fs::metadata(&source).unwrap();
        (source, meta, dir.join("m.pyc"))
    }

    /// compileall compares 12 bytes only: the size field and what follows
    /// the header do not count, the flags do.
    #[test]
    fn up_to_date_compares_magic_flags_and_mtime() {
        let tmp = tempfile::tempdir().unwrap();
        let (_, meta, pyc) = source(tmp.path());
        let cfiles = [(-1, pyc.clone())];
        assert!(!up_to_date(magic(), &meta, &cfiles), "no pyc yet");
        let header = PycHeader::timestamp(magic(), 1_700_000_000, 999).to_bytes();
        std::fs::write(&pyc, header).unwrap();
        assert!(up_to_date(magic(), &meta, &cfiles));
        let stale = PycHeader::timestamp(magic(), 1_700_000_001, 6).to_bytes();
        std::fs::write(&pyc, stale).unwrap();
        assert!(!up_to_date(magic(), &meta, &cfiles));
        let hashed = PycHeader::hash(magic(), [0; 8], true).to_bytes();
        std::fs::write(&pyc, hashed).unwrap();
        assert!(!up_to_date(magic(), &meta, &cfiles));
    }

    #[test]
    fn importlib_checks_size_and_every_hash() {
        let tmp = tempfile::tempdir().unwrap();
        let (source, meta, _) = source(tmp.path());
        let timestamp = PycHeader::timestamp(magic(), 1_700_000_000, 6).to_bytes();
        assert!(importlib_verdict(&timestamp, magic(), &source, &meta, b"").is_ok());
        let resized = PycHeader::timestamp(magic(), 1_700_000_000, 7).to_bytes();
        let err = importlib_verdict(&resized, magic(), &source, &meta, b"").unwrap_err();
        assert!(matches!(err, PycError::Stale { .. }));
        let unchecked = PycHeader::hash(magic(), [0; 8], false).to_bytes();
        let err = importlib_verdict(&unchecked, magic(), &source, &meta, b"x = 1\n").unwrap_err();
        assert!(matches!(err, PycError::HashMismatch { .. }));
    }
}
