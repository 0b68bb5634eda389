//! Arbitrary bytes into every reader: errors only, never a panic, and what
//! is written reads back the same.

use proptest::prelude::*;
use pyc_format::{
    CheckHashBasedPycs, Magic, PycHeader, SourceFacts, classify, validate_against_source,
};

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
    fn readers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..40), number in any::<u16>(),
                           mtime in any::<i64>(), size in any::<u64>(), source in proptest::collection::vec(any::<u8>(), 0..64)) {
        let magic = Magic::from_number(number);
        let _ = PycHeader::parse(&data);
        let _ = classify(&data, magic, "m");
        let _ = pyc_format::version_for_magic(Magic(data.get(..4).and_then(|b| b.try_into().ok()).unwrap_or([0; 4])));
        for check in [CheckHashBasedPycs::Default, CheckHashBasedPycs::Always, CheckHashBasedPycs::Never] {
            let facts = SourceFacts { mtime, size, bytes: &source };
            if let Err(err) = validate_against_source(&data, magic, "m", facts, check) {
                prop_assert!(!err.to_string().is_empty());
            }
        }
    }

    #[test]
    fn headers_round_trip(number in any::<u16>(), mtime in any::<i64>(), size in any::<u64>(),
                          hash in any::<[u8; 8]>(), checked in any::<bool>()) {
        let magic = Magic::from_number(number);
        for header in [PycHeader::timestamp(magic, mtime, size), PycHeader::hash(magic, hash, checked)] {
            let bytes = header.to_bytes();
            prop_assert_eq!(PycHeader::parse(&bytes), Some(header));
            prop_assert_eq!(classify(&bytes, magic, "m").map(|f| f.0), Ok(header.flags().0));
        }
    }
}
