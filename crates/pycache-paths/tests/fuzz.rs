//! Arbitrary paths into every path function: errors only, never a panic.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use pyc_format::PythonVersion;
use pycache_paths::compileall::{DestinationRewrite, dfile};
use pycache_paths::{CacheLayout, Optimization};

fn path_bytes() -> impl Strategy<Value = Vec<u8>> {
    // Path-like bytes: separators, dots and the special names are common.
    proptest::collection::vec(
        prop_oneof![
            Just(b'/'),
            Just(b'.'),
            Just(b'_'),
            any::<u8>().prop_filter("no NUL in paths", |b| *b != 0),
            Just(b'p'),
        ],
        0..48,
    )
}

/// 4096 cases per test run; set PROPTEST_CASES for a longer session.
/// Failures found are kept in proptest-regressions/ and replayed first.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(4096);
    ProptestConfig::with_cases(cases)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn path_functions_never_panic(path in path_bytes(), other in path_bytes(), opt in path_bytes(),
                                  minor in 0u8..20, prefix in any::<bool>(), flag in 0u32..3) {
        let path = Path::new(OsStr::from_bytes(&path));
        let other = Path::new(OsStr::from_bytes(&other));
        let layout = CacheLayout {
            version: PythonVersion::new(3, minor),
            cache_tag: Some("cpython-314".into()),
            optimize_flag: flag,
            pycache_prefix: prefix.then(|| PathBuf::from("/tmp/pfx")),
        };
        for optimization in [Optimization::Interpreter, Optimization::Level(2), Optimization::Text(OsStr::from_bytes(&opt))] {
            let _ = layout.cache_from_source(path, optimization, Path::new("/"));
        }
        if let Ok(cache) = layout.cache_from_source(path, Optimization::Interpreter, Path::new("/work")) {
            let _ = layout.source_from_cache(&cache);
        }
        let _ = layout.source_from_cache(path);
        let rewrite = DestinationRewrite { ddir: None, stripdir: Some(other.to_owned()), prependdir: Some("/".into()) };
        let _ = dfile(path, &rewrite, PythonVersion::new(3, minor));
        let _ = pystr::repr(path.as_os_str().as_bytes());
        let _ = pystr::strip(path.as_os_str().as_bytes());
    }
}
