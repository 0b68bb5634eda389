//! Whether a pyc on disk is current for its source, by the two tests this
//! crate applies: compileall's quick one ([`up_to_date`]: magic, zero flags
//! and mtime, which decides what `compile_file` compiles) and importlib's
//! full one ([`importlib_verdict`], which `--check` and `inspect` report).

use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use pyc_format::{CheckHashBasedPycs, Flags, Magic, PycError, SourceFacts};

use crate::pyos::Stat;
use crate::visit::Pycache;

/// compileall's check: every pyc starts with magic, zero flags and the
/// source's mtime. (Hash-based pycs never pass it.) Pycs in `pycache`
/// are read relative to it.
pub(crate) fn up_to_date(
    magic: Magic,
    meta: &Stat,
    cfiles: &[(i32, PathBuf)],
    pycache: Option<&Pycache>,
) -> bool {
    let mut expect = [0u8; 12];
    expect[..4].copy_from_slice(&magic.0);
    expect[8..].copy_from_slice(&(meta.int_mtime() as u32).to_le_bytes());
    cfiles.iter().all(|(_, cfile)| {
        let header = pycache
            .and_then(|pycache| pycache.read_start(cfile))
            .unwrap_or_else(|| read_header(cfile));
        header.is_ok_and(|actual| actual == expect)
    })
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
    source_meta: &Stat,
    source_bytes: &[u8],
) -> Result<Flags, PycError> {
    let facts = SourceFacts {
        mtime: source_meta.int_mtime(),
        size: source_meta.size,
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
    fn source(dir: &Path) -> (PathBuf, Stat, PathBuf) {
        let source = dir.join("m.py");
        std::fs::write(&source, "x = 1\n").unwrap();
        let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        std::fs::File::options()
            .write(true)
            .open(&source)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let meta = Stat::of(&source).unwrap();
        (source, meta, dir.join("__pycache__/m.cpython-314.pyc"))
    }

    /// compileall compares 12 bytes only: the size field and what follows
    /// the header do not count, the flags do. The pyc read by its path and
    /// relative to its listed `__pycache__` give the same verdict.
    #[test]
    fn up_to_date_compares_magic_flags_and_mtime() {
        let tmp = tempfile::tempdir().unwrap();
        let (_, meta, pyc) = source(tmp.path());
        let cfiles = [(-1, pyc.clone())];
        let verdict = || {
            let pycache = Pycache::new(tmp.path(), true);
            let by_path = up_to_date(magic(), &meta, &cfiles, None);
            let relative = up_to_date(magic(), &meta, &cfiles, Some(&pycache));
            assert_eq!(by_path, relative);
            by_path
        };
        assert!(!verdict(), "no pyc yet");
        std::fs::create_dir(pyc.parent().unwrap()).unwrap();
        assert!(!verdict(), "no pyc yet, in an existing __pycache__");
        let header = PycHeader::timestamp(magic(), 1_700_000_000, 999).to_bytes();
        std::fs::write(&pyc, header).unwrap();
        assert!(verdict());
        let stale = PycHeader::timestamp(magic(), 1_700_000_001, 6).to_bytes();
        std::fs::write(&pyc, stale).unwrap();
        assert!(!verdict());
        let hashed = PycHeader::hash(magic(), [0; 8], true).to_bytes();
        std::fs::write(&pyc, hashed).unwrap();
        assert!(!verdict());
    }

    /// A `__pycache__` answers from its listing, taken when first opened
    /// (a pyc written since is missing to it), and only for pycs inside
    /// it: one elsewhere is read by its path.
    #[test]
    fn a_pycache_answers_only_for_its_own_listing() {
        let tmp = tempfile::tempdir().unwrap();
        let (_, meta, pyc) = source(tmp.path());
        let cfiles = [(-1, pyc.clone())];
        std::fs::create_dir(pyc.parent().unwrap()).unwrap();
        let listed_before = Pycache::new(tmp.path(), true);
        listed_before.sweep();
        let header = PycHeader::timestamp(magic(), 1_700_000_000, 6).to_bytes();
        std::fs::write(&pyc, header).unwrap();
        assert!(!up_to_date(magic(), &meta, &cfiles, Some(&listed_before)));
        let elsewhere = Pycache::new(&tmp.path().join("other"), true);
        assert!(up_to_date(magic(), &meta, &cfiles, Some(&elsewhere)));
        let listed_after = Pycache::new(tmp.path(), true);
        assert!(up_to_date(magic(), &meta, &cfiles, Some(&listed_after)));
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
