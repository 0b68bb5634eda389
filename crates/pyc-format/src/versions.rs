//! CPython releases and the pyc facts that depend on them.

use std::fmt;

use crate::Magic;

/// A CPython `major.minor` release line, such as 3.14.
///
/// Versions order as numbers, not as strings:
///
/// ```
/// use pyc_format::PythonVersion;
/// assert!(PythonVersion::new(3, 9) < PythonVersion::new(3, 14));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PythonVersion {
    /// The major version, 3 for every release this crate knows.
    pub major: u8,
    /// The minor version.
    pub minor: u8,
}

impl PythonVersion {
    /// `major.minor`.
    ///
    /// ```
    /// use pyc_format::PythonVersion;
    /// assert_eq!(PythonVersion::new(3, 14).to_string(), "3.14");
    /// ```
    pub const fn new(major: u8, minor: u8) -> Self {
        PythonVersion { major, minor }
    }

    /// Parses `"3.14"` (a patch component, `"3.14.10"`, is accepted and
    /// ignored).
    ///
    /// ```
    /// use pyc_format::PythonVersion;
    /// assert_eq!(PythonVersion::parse("3.14.10"), Some(PythonVersion::new(3, 14)));
    /// assert_eq!(PythonVersion::parse("3"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(PythonVersion { major, minor })
    }

    /// This release's entry in [`KNOWN_VERSIONS`], if it has one.
    ///
    /// ```
    /// use pyc_format::PythonVersion;
    /// let info = PythonVersion::new(3, 13).info().unwrap();
    /// assert_eq!((info.magic, info.cache_tag), (3571, Some("cpython-313")));
    /// assert!(PythonVersion::new(2, 7).info().is_none());
    /// ```
    pub fn info(self) -> Option<&'static VersionInfo> {
        KNOWN_VERSIONS.iter().find(|info| info.version == self)
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// How many bytes precede the marshalled code object, and what they hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderLayout {
    /// 3.0-3.2: magic, source mtime (8 bytes).
    MagicMtime,
    /// 3.3-3.6: magic, source mtime, source size (12 bytes).
    MagicMtimeSize,
    /// 3.7+ (PEP 552): magic, flags, then mtime and size or a source hash
    /// (16 bytes).
    Flags,
}

impl HeaderLayout {
    /// The header length in bytes.
    ///
    /// ```
    /// use pyc_format::{HeaderLayout, PythonVersion};
    /// let layout = PythonVersion::new(3, 14).info().unwrap().header;
    /// assert_eq!(layout, HeaderLayout::Flags);
    /// assert_eq!(layout.byte_len(), 16);
    /// ```
    pub const fn byte_len(self) -> usize {
        match self {
            HeaderLayout::MagicMtime => 8,
            HeaderLayout::MagicMtimeSize => 12,
            HeaderLayout::Flags => 16,
        }
    }
}

/// Which keyed hash `importlib.util.source_hash` uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceHashAlgorithm {
    /// 3.7-3.10: SipHash-2-4.
    SipHash24,
    /// 3.11+: SipHash-1-3.
    SipHash13,
}

/// What one CPython release line writes into its pycs.
///
/// ```
/// use pyc_format::{HeaderLayout, PythonVersion};
/// let info = PythonVersion::new(3, 15).info().unwrap();
/// assert_eq!(info.magic, 3666);
/// assert_eq!(info.cache_tag, Some("cpython-315"));
/// assert_eq!(info.header, HeaderLayout::Flags);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    /// The release line.
    pub version: PythonVersion,
    /// `importlib.util.MAGIC_NUMBER` of its final releases, as the 16-bit
    /// number CPython's sources list.
    pub magic: u16,
    /// Magic numbers that earlier final releases of the same line wrote
    /// (only 3.5.0-3.5.2 differ from their line's last).
    pub earlier_magics: &'static [u16],
    /// `sys.implementation.cache_tag`; `None` before PEP 3147 (3.2).
    pub cache_tag: Option<&'static str>,
    /// The header layout.
    pub header: HeaderLayout,
}

impl VersionInfo {
    /// The four magic bytes, as `importlib.util.MAGIC_NUMBER`.
    ///
    /// ```
    /// use pyc_format::{Magic, PythonVersion};
    /// // `importlib.util.MAGIC_NUMBER` of CPython 3.13.
    /// let magic = PythonVersion::new(3, 13).info().unwrap().magic_bytes();
    /// assert_eq!(magic, Magic(*b"\xf3\r\r\n"));
    /// ```
    pub const fn magic_bytes(&self) -> Magic {
        Magic::from_number(self.magic)
    }

    /// The source-hash algorithm of this line, `None` before hash-based pycs
    /// existed (3.7).
    ///
    /// ```
    /// use pyc_format::{PythonVersion, SourceHashAlgorithm};
    /// let algorithm = |minor| PythonVersion::new(3, minor).info().unwrap().source_hash_algorithm();
    /// assert_eq!(algorithm(14), Some(SourceHashAlgorithm::SipHash13));
    /// assert_eq!(algorithm(10), Some(SourceHashAlgorithm::SipHash24));
    /// assert_eq!(algorithm(6), None);
    /// ```
    pub fn source_hash_algorithm(&self) -> Option<SourceHashAlgorithm> {
        match self.header {
            HeaderLayout::Flags => Some(SourceHashAlgorithm::for_magic(self.magic)),
            _ => None,
        }
    }
}

impl SourceHashAlgorithm {
    /// The algorithm an interpreter with this magic number uses; magic numbers
    /// from 3450 (3.11a1) on use SipHash-1-3, also for releases newer than
    /// this table.
    ///
    /// ```
    /// use pyc_format::SourceHashAlgorithm;
    /// assert_eq!(SourceHashAlgorithm::for_magic(3495), SourceHashAlgorithm::SipHash13); // 3.11
    /// assert_eq!(SourceHashAlgorithm::for_magic(3439), SourceHashAlgorithm::SipHash24); // 3.10
    /// ```
    pub const fn for_magic(magic: u16) -> Self {
        if magic >= 3450 {
            SourceHashAlgorithm::SipHash13
        } else {
            SourceHashAlgorithm::SipHash24
        }
    }
}

const fn line(
    minor: u8,
    magic: u16,
    cache_tag: Option<&'static str>,
    header: HeaderLayout,
) -> VersionInfo {
    VersionInfo {
        version: PythonVersion::new(3, minor),
        magic,
        earlier_magics: &[],
        cache_tag,
        header,
    }
}

/// Every CPython 3 release line from 3.0 to 3.15, oldest first. The magic
/// numbers are those of `Include/internal/pycore_magic_number.h` (formerly
/// `Lib/importlib/_bootstrap_external.py`); the ones for 3.11, 3.13, 3.14 and
/// 3.15 are checked against real interpreters by the fixture tests.
///
/// ```
/// use pyc_format::{KNOWN_VERSIONS, PythonVersion};
/// assert_eq!(KNOWN_VERSIONS[0].version, PythonVersion::new(3, 0));
/// let newest = KNOWN_VERSIONS.last().unwrap();
/// assert_eq!((newest.version, newest.magic), (PythonVersion::new(3, 15), 3666));
/// ```
pub const KNOWN_VERSIONS: &[VersionInfo] = {
    use HeaderLayout::*;
    &[
        line(0, 3131, None, MagicMtime),
        line(1, 3151, None, MagicMtime),
        line(2, 3180, Some("cpython-32"), MagicMtime),
        line(3, 3230, Some("cpython-33"), MagicMtimeSize),
        line(4, 3310, Some("cpython-34"), MagicMtimeSize),
        VersionInfo {
            earlier_magics: &[3350],
            ..line(5, 3351, Some("cpython-35"), MagicMtimeSize)
        },
        line(6, 3379, Some("cpython-36"), MagicMtimeSize),
        line(7, 3394, Some("cpython-37"), Flags),
        line(8, 3413, Some("cpython-38"), Flags),
        line(9, 3425, Some("cpython-39"), Flags),
        line(10, 3439, Some("cpython-310"), Flags),
        line(11, 3495, Some("cpython-311"), Flags),
        line(12, 3531, Some("cpython-312"), Flags),
        line(13, 3571, Some("cpython-313"), Flags),
        line(14, 3627, Some("cpython-314"), Flags),
        line(15, 3666, Some("cpython-315"), Flags),
    ]
};

/// The release line that writes `magic` in its final releases.
///
/// ```
/// use pyc_format::{Magic, PythonVersion, version_for_magic};
/// let info = version_for_magic(Magic(*b"+\x0e\r\n")).unwrap();
/// assert_eq!(info.version, PythonVersion::new(3, 14));
/// assert_eq!(info.cache_tag, Some("cpython-314"));
/// ```
pub fn version_for_magic(magic: Magic) -> Option<&'static VersionInfo> {
    let number = magic.number()?;
    KNOWN_VERSIONS
        .iter()
        .find(|info| info.magic == number || info.earlier_magics.contains(&number))
}
