//! What `compileall inspect` prints (text of ours, kept as a snapshot) for
//! pycs of each kind; the headers are built with `pyc-format`, whose
//! layouts and magic numbers are checked against CPython elsewhere.

use std::time::{Duration, SystemTime};

use pyc_format::PythonVersion;

use super::*;

const MTIME: u64 = 1_700_000_000;

fn magic(minor: u8) -> Magic {
    PythonVersion::new(3, minor).info().unwrap().magic_bytes()
}

/// `m.py` (6 bytes, mtime [`MTIME`]) and its `__pycache__`.
fn source(root: &Path) {
    std::fs::write(root.join("m.py"), "x = 1\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(root.join("m.py"))
        .unwrap()
        .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(MTIME))
        .unwrap();
    std::fs::create_dir(root.join("__pycache__")).unwrap();
}

fn write_pyc(root: &Path, name: &str, header: &[u8]) -> PathBuf {
    let path = root.join("__pycache__").join(name);
    std::fs::write(&path, [header, b"N"].concat()).unwrap();
    path
}

#[test]
fn inspections() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    source(root);
    let source_hash = pyc_format::source_hash(magic(14), b"x = 1\n");
    let pycs = [
        write_pyc(
            root,
            "m.cpython-314.pyc",
            &PycHeader::timestamp(magic(14), MTIME as i64, 6).to_bytes(),
        ),
        write_pyc(
            root,
            "m.cpython-313.pyc",
            &PycHeader::timestamp(magic(13), MTIME as i64 - 1, 6).to_bytes(),
        ),
        write_pyc(
            root,
            "m.cpython-314.opt-1.pyc",
            &PycHeader::hash(magic(14), source_hash, true).to_bytes(),
        ),
        write_pyc(
            root,
            "m.cpython-311.opt-2.pyc",
            &PycHeader::hash(magic(11), [0xab; 8], false).to_bytes(),
        ),
        write_pyc(root, "unknown.pyc", b"\x01\x02\r\n\0\0\0\0\0\0\0\0\0\0\0\0"),
        write_pyc(root, "short.pyc", b""),
        root.join("__pycache__/absent.pyc"),
    ];
    let root_text = root.display().to_string();
    let text: String = pycs
        .iter()
        .map(|pyc| inspect(pyc).to_string().replace(&root_text, "[tmp]"))
        .collect();
    insta::assert_snapshot!(text);
}
