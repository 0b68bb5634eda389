//! CPython `.pyc` headers, read and written exactly as importlib does.
//!
//! A pyc file is a header followed by `marshal.dumps(code)`. Since Python 3.7
//! (PEP 552) the header is 16 bytes:
//!
//! | bytes | timestamp pyc | hash-based pyc |
//! |---|---|---|
//! | 0..4 | magic number of the interpreter | same |
//! | 4..8 | flags = 0 | flags = 1 (unchecked) or 3 (checked) |
//! | 8..12 | source mtime, modulo 2^32 | source hash (8 bytes) |
//! | 12..16 | source size, modulo 2^32 | |
//!
//! This crate knows the magic numbers and cache tags of every CPython 3
//! release line ([`KNOWN_VERSIONS`]), builds headers ([`PycHeader`]), computes
//! the source hash ([`source_hash`], equal to `importlib.util.source_hash`),
//! and reproduces importlib's accept/reject decisions with its messages
//! ([`classify`], [`validate_timestamp`], [`validate_hash`],
//! [`validate_against_source`]).
//!
//! ```
//! use pyc_format::{PycHeader, PythonVersion, classify, validate_timestamp};
//!
//! let magic = PythonVersion::new(3, 14).info().unwrap().magic_bytes();
//! let header = PycHeader::timestamp(magic, 1_700_000_000, 1234);
//! let bytes = header.to_bytes();
//!
//! let flags = classify(&bytes, magic, "mod").unwrap();
//! assert!(!flags.is_hash_based());
//! assert!(validate_timestamp(&bytes, 1_700_000_000, Some(1234), "mod").is_ok());
//! let stale = validate_timestamp(&bytes, 1_700_000_001, Some(1234), "mod").unwrap_err();
//! assert_eq!(stale.to_string(), "bytecode is stale for 'mod'");
//! ```

#![forbid(unsafe_code)]

mod versions;

use std::fmt;

use siphasher::sip::{SipHasher13, SipHasher24};

pub use versions::{
    HeaderLayout, KNOWN_VERSIONS, PythonVersion, SourceHashAlgorithm, VersionInfo,
    version_for_magic,
};

/// Length of a PEP 552 header, in bytes.
pub const HEADER_LEN: usize = 16;

/// The four magic bytes at the start of a pyc: a 16-bit little-endian number
/// followed by `\r\n`.
///
/// ```
/// use pyc_format::Magic;
/// // `importlib.util.MAGIC_NUMBER` of CPython 3.14 and 3.11.
/// assert_eq!(Magic::from_number(3627), Magic(*b"+\x0e\r\n"));
/// assert_eq!(Magic(*b"\xa7\r\r\n").number(), Some(3495));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Magic(pub [u8; 4]);

impl Magic {
    /// The magic bytes for a 16-bit magic number.
    ///
    /// ```
    /// assert_eq!(pyc_format::Magic::from_number(3627).0, *b"+\x0e\r\n");
    /// ```
    pub const fn from_number(number: u16) -> Magic {
        let [lo, hi] = number.to_le_bytes();
        Magic([lo, hi, b'\r', b'\n'])
    }

    /// The 16-bit magic number, if the bytes end in `\r\n` as every CPython
    /// magic does.
    ///
    /// ```
    /// use pyc_format::Magic;
    /// // CPython 3.13's `importlib.util.MAGIC_NUMBER`.
    /// assert_eq!(Magic(*b"\xf3\r\r\n").number(), Some(3571));
    /// assert_eq!(Magic(*b"junk").number(), None);
    /// ```
    pub fn number(self) -> Option<u16> {
        (self.0[2..] == *b"\r\n").then(|| u16::from_le_bytes([self.0[0], self.0[1]]))
    }

    /// `importlib._bootstrap_external._RAW_MAGIC_NUMBER` (3.14+:
    /// `_imp.pyc_magic_number_token`): the four bytes read as a
    /// little-endian integer, which keys the source hash.
    ///
    /// ```
    /// use pyc_format::Magic;
    /// assert_eq!(Magic::from_number(3571).raw(), 168627699); // 3.13's _RAW_MAGIC_NUMBER
    /// assert_eq!(Magic::from_number(3627).raw(), 168627755); // 3.14's pyc_magic_number_token
    /// ```
    pub fn raw(self) -> u32 {
        u32::from_le_bytes(self.0)
    }
}

/// The flags word of a PEP 552 header: 0 for a timestamp pyc, 1 for an
/// unchecked-hash pyc, 3 for a checked-hash pyc (what importlib's
/// `_code_to_hash_pyc` writes).
///
/// ```
/// use pyc_format::Flags;
/// let checked = Flags(Flags::HASH_BASED | Flags::CHECK_SOURCE);
/// assert_eq!(checked, Flags(3));
/// assert!(checked.is_hash_based() && checked.check_source());
/// assert!(!Flags(0).is_hash_based());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags(pub u32);

impl Flags {
    /// Bit 0: the header holds a source hash instead of mtime and size.
    pub const HASH_BASED: u32 = 0b01;
    /// Bit 1: importlib checks the hash against the source on import.
    pub const CHECK_SOURCE: u32 = 0b10;

    /// Whether the pyc is hash-based.
    ///
    /// ```
    /// use pyc_format::Flags;
    /// assert!(Flags(1).is_hash_based());
    /// assert!(!Flags(0).is_hash_based());
    /// ```
    pub fn is_hash_based(self) -> bool {
        self.0 & Self::HASH_BASED != 0
    }

    /// Whether a hash-based pyc asks to be checked against its source.
    ///
    /// ```
    /// use pyc_format::Flags;
    /// assert!(Flags(3).check_source());
    /// assert!(!Flags(1).check_source());
    /// ```
    pub fn check_source(self) -> bool {
        self.0 & Self::CHECK_SOURCE != 0
    }
}

/// How a pyc is tied to its source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalidation {
    /// Valid while the source's mtime and size (both modulo 2^32) match.
    Timestamp {
        /// Source mtime in whole seconds, modulo 2^32.
        mtime: u32,
        /// Source size in bytes, modulo 2^32.
        source_size: u32,
    },
    /// Valid while the source hashes to `source_hash`; `checked` says
    /// whether importlib verifies that on import.
    Hash {
        /// [`source_hash`] of the source bytes.
        source_hash: [u8; 8],
        /// Flag bit 1.
        checked: bool,
    },
}

/// A PEP 552 pyc header.
///
/// ```
/// use pyc_format::{Invalidation, Magic, PycHeader};
/// // The first 16 bytes of a CPython 3.14 pyc written in timestamp mode.
/// let header = PycHeader::parse(b"+\x0e\r\n\0\0\0\0\0\xf1Se\xd2\x04\0\0").unwrap();
/// assert_eq!(header.magic, Magic::from_number(3627));
/// assert_eq!(header.invalidation, Invalidation::Timestamp { mtime: 1_700_000_000, source_size: 1234 });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PycHeader {
    /// The interpreter's magic number.
    pub magic: Magic,
    /// The flags word and the 8 bytes that follow it.
    pub invalidation: Invalidation,
}

impl PycHeader {
    /// A timestamp header, as `_code_to_timestamp_pyc(code, mtime, size)`
    /// builds it: both values are reduced modulo 2^32 (`int(x) & 0xFFFFFFFF`).
    ///
    /// ```
    /// use pyc_format::{Magic, PycHeader};
    /// let magic = Magic::from_number(3627); // CPython 3.14
    /// // `_code_to_timestamp_pyc(code, 1_700_000_000, 1234)[:16]` in 3.14:
    /// assert_eq!(
    ///     PycHeader::timestamp(magic, 1_700_000_000, 1234).to_bytes(),
    ///     *b"+\x0e\r\n\0\0\0\0\0\xf1Se\xd2\x04\0\0"
    /// );
    /// // `_code_to_timestamp_pyc(code, -1, 0)[:16]`: modulo 2^32.
    /// assert_eq!(
    ///     PycHeader::timestamp(magic, -1, 0).to_bytes(),
    ///     *b"+\x0e\r\n\0\0\0\0\xff\xff\xff\xff\0\0\0\0"
    /// );
    /// ```
    pub fn timestamp(magic: Magic, mtime: i64, source_size: u64) -> Self {
        PycHeader {
            magic,
            invalidation: Invalidation::Timestamp {
                mtime: mtime as u32,
                source_size: source_size as u32,
            },
        }
    }

    /// A hash-based header, as `_code_to_hash_pyc(code, hash, checked)`
    /// builds it.
    ///
    /// ```
    /// use pyc_format::{Magic, PycHeader, source_hash};
    /// let magic = Magic::from_number(3627); // CPython 3.14
    /// let hash = source_hash(magic, b"x = 1\n");
    /// // `_code_to_hash_pyc(code, source_hash(b"x = 1\n"), checked=True)[:16]` in 3.14:
    /// assert_eq!(
    ///     PycHeader::hash(magic, hash, true).to_bytes(),
    ///     *b"+\x0e\r\n\x03\0\0\0\x1d\xb2\xb62\\\xa2\x82\xa7"
    /// );
    /// ```
    pub fn hash(magic: Magic, source_hash: [u8; 8], checked: bool) -> Self {
        PycHeader {
            magic,
            invalidation: Invalidation::Hash {
                source_hash,
                checked,
            },
        }
    }

    /// The flags word this header carries.
    ///
    /// ```
    /// use pyc_format::{Flags, Magic, PycHeader};
    /// let magic = Magic::from_number(3627);
    /// assert_eq!(PycHeader::timestamp(magic, 0, 0).flags(), Flags(0));
    /// assert_eq!(PycHeader::hash(magic, [0; 8], false).flags(), Flags(1));
    /// assert_eq!(PycHeader::hash(magic, [0; 8], true).flags(), Flags(3));
    /// ```
    pub fn flags(&self) -> Flags {
        match self.invalidation {
            Invalidation::Timestamp { .. } => Flags(0),
            Invalidation::Hash { checked, .. } => {
                Flags(Flags::HASH_BASED | if checked { Flags::CHECK_SOURCE } else { 0 })
            }
        }
    }

    /// The 16 header bytes.
    ///
    /// ```
    /// use pyc_format::{HEADER_LEN, Magic, PycHeader};
    /// // `_code_to_timestamp_pyc(code, 2**32 + 5, 2**32 + 7)[:16]` in 3.14:
    /// let bytes = PycHeader::timestamp(Magic::from_number(3627), (1 << 32) + 5, (1 << 32) + 7).to_bytes();
    /// assert_eq!(bytes, *b"+\x0e\r\n\0\0\0\0\x05\0\0\0\x07\0\0\0");
    /// assert_eq!(bytes.len(), HEADER_LEN);
    /// ```
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        out[..4].copy_from_slice(&self.magic.0);
        out[4..8].copy_from_slice(&self.flags().0.to_le_bytes());
        match self.invalidation {
            Invalidation::Timestamp { mtime, source_size } => {
                out[8..12].copy_from_slice(&mtime.to_le_bytes());
                out[12..16].copy_from_slice(&source_size.to_le_bytes());
            }
            Invalidation::Hash { source_hash, .. } => out[8..16].copy_from_slice(&source_hash),
        }
        out
    }

    /// Reads a header without judging it: `None` if `data` is shorter than
    /// 16 bytes or its flags have undefined bits. Use [`classify`] for
    /// importlib's verdict.
    ///
    /// ```
    /// use pyc_format::{Invalidation, PycHeader};
    /// // A CPython 3.14 checked-hash header (source `x = 1\n`).
    /// let header = PycHeader::parse(b"+\x0e\r\n\x03\0\0\0\x1d\xb2\xb62\\\xa2\x82\xa7").unwrap();
    /// assert_eq!(
    ///     header.invalidation,
    ///     Invalidation::Hash { source_hash: *b"\x1d\xb2\xb62\\\xa2\x82\xa7", checked: true }
    /// );
    /// assert_eq!(PycHeader::parse(b"+\x0e\r\n\0\0"), None); // too short
    /// assert_eq!(PycHeader::parse(b"+\x0e\r\n\x04\0\0\0\0\0\0\0\0\0\0\0"), None); // flag bit 2
    /// ```
    pub fn parse(data: &[u8]) -> Option<Self> {
        let data: &[u8; HEADER_LEN] = data.get(..HEADER_LEN)?.try_into().ok()?;
        let magic = Magic(data[..4].try_into().unwrap());
        let flags = Flags(u32::from_le_bytes(data[4..8].try_into().unwrap()));
        if flags.0 & !0b11 != 0 {
            return None;
        }
        let invalidation = if flags.is_hash_based() {
            Invalidation::Hash {
                source_hash: data[8..16].try_into().unwrap(),
                checked: flags.check_source(),
            }
        } else {
            Invalidation::Timestamp {
                mtime: u32::from_le_bytes(data[8..12].try_into().unwrap()),
                source_size: u32::from_le_bytes(data[12..16].try_into().unwrap()),
            }
        };
        Some(PycHeader {
            magic,
            invalidation,
        })
    }
}

/// `importlib.util.source_hash(data)` of an interpreter with this magic:
/// SipHash keyed with (`_RAW_MAGIC_NUMBER`, 0), SipHash-1-3 from 3.11 and
/// SipHash-2-4 before (see [`SourceHashAlgorithm::for_magic`]).
///
/// ```
/// use pyc_format::{Magic, source_hash};
/// // importlib.util.source_hash(b"print('hi')\n") in CPython 3.14 (SipHash-1-3):
/// let h = source_hash(Magic::from_number(3627), b"print('hi')\n");
/// assert_eq!(h, *b"\x23\x2e\x43\x49\x7b\xc5\x49\xcc");
/// // ... and in CPython 3.11, whose magic keys the hash differently:
/// let h = source_hash(Magic::from_number(3495), b"print('hi')\n");
/// assert_eq!(h, *b"\x83\x86\x35\x54\xa5\xa2\x36\x97");
/// ```
pub fn source_hash(magic: Magic, data: &[u8]) -> [u8; 8] {
    use std::hash::Hasher;
    let key = u64::from(magic.raw());
    let algorithm = magic.number().map_or(
        SourceHashAlgorithm::SipHash13,
        SourceHashAlgorithm::for_magic,
    );
    let hash = match algorithm {
        SourceHashAlgorithm::SipHash13 => {
            let mut h = SipHasher13::new_with_keys(key, 0);
            h.write(data);
            h.finish()
        }
        SourceHashAlgorithm::SipHash24 => {
            let mut h = SipHasher24::new_with_keys(key, 0);
            h.write(data);
            h.finish()
        }
    };
    hash.to_le_bytes()
}

/// Why importlib refuses a pyc. `Display` gives importlib's message for the
/// module name the error was raised for.
///
/// ```
/// use pyc_format::PycError;
/// let err = PycError::BadMagic { name: "mod".into(), found: b"junk".to_vec() };
/// assert_eq!(err.to_string(), "bad magic number in 'mod': b'junk'");
/// let err = PycError::HashMismatch { name: "mod".into() };
/// assert_eq!(err.to_string(), "hash in bytecode doesn't match hash of source 'mod'");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PycError {
    /// `ImportError`: the first four bytes are not the interpreter's magic
    /// (also when the file is shorter than four bytes).
    BadMagic {
        /// The module name in the message.
        name: String,
        /// `data[:4]`.
        found: Vec<u8>,
    },
    /// `EOFError`: the magic matched but the header is shorter than 16 bytes.
    Truncated {
        /// The module name in the message.
        name: String,
    },
    /// `ImportError`: flag bits other than the two defined ones are set.
    InvalidFlags {
        /// The module name in the message.
        name: String,
        /// The whole flags word.
        flags: u32,
    },
    /// `ImportError`: a timestamp pyc whose mtime or size does not match.
    Stale {
        /// The module name in the message.
        name: String,
    },
    /// `ImportError`: a hash-based pyc whose hash does not match the source.
    HashMismatch {
        /// The module name in the message.
        name: String,
    },
}

impl PycError {
    /// The Python exception class importlib raises.
    ///
    /// ```
    /// use pyc_format::PycError;
    /// assert_eq!(PycError::Truncated { name: "mod".into() }.exception_type(), "EOFError");
    /// assert_eq!(PycError::Stale { name: "mod".into() }.exception_type(), "ImportError");
    /// ```
    pub fn exception_type(&self) -> &'static str {
        match self {
            PycError::Truncated { .. } => "EOFError",
            _ => "ImportError",
        }
    }
}

impl fmt::Display for PycError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let repr = |name: &str| pystr::repr(name.as_bytes());
        match self {
            PycError::BadMagic { name, found } => {
                write!(
                    f,
                    "bad magic number in {}: {}",
                    repr(name),
                    pystr::bytes_repr(found)
                )
            }
            PycError::Truncated { name } => {
                write!(f, "reached EOF while reading pyc header of {}", repr(name))
            }
            PycError::InvalidFlags { name, flags } => {
                write!(f, "invalid flags {flags} in {}", repr(name))
            }
            PycError::Stale { name } => write!(f, "bytecode is stale for {}", repr(name)),
            PycError::HashMismatch { name } => {
                write!(
                    f,
                    "hash in bytecode doesn't match hash of source {}",
                    repr(name)
                )
            }
        }
    }
}

impl std::error::Error for PycError {}

/// `_classify_pyc(data, name, ...)`: checks the magic, the length and the
/// flags, in that order, and returns the flags.
///
/// The messages are those of CPython 3.11 to 3.15:
///
/// ```
/// use pyc_format::{Flags, Magic, classify};
/// let magic = Magic::from_number(3627); // CPython 3.14
/// let ok = b"+\x0e\r\n\x03\0\0\0\0\0\0\0\0\0\0\0";
/// assert_eq!(classify(ok, magic, "mod"), Ok(Flags(3)));
///
/// let err = |data: &[u8]| classify(data, magic, "mod").unwrap_err();
/// let e = err(b"junk\0\0\0\0\0\0\0\0\0\0\0\0");
/// assert_eq!((e.exception_type(), e.to_string().as_str()), ("ImportError", "bad magic number in 'mod': b'junk'"));
/// let e = err(b"+\x0e\r\n\0\0");
/// assert_eq!((e.exception_type(), e.to_string().as_str()), ("EOFError", "reached EOF while reading pyc header of 'mod'"));
/// let e = err(b"+\x0e\r\n\x04\0\0\0\0\0\0\0\0\0\0\0");
/// assert_eq!((e.exception_type(), e.to_string().as_str()), ("ImportError", "invalid flags 4 in 'mod'"));
/// ```
pub fn classify(data: &[u8], expected: Magic, name: &str) -> Result<Flags, PycError> {
    let found = &data[..data.len().min(4)];
    if found != expected.0 {
        return Err(PycError::BadMagic {
            name: name.to_owned(),
            found: found.to_vec(),
        });
    }
    if data.len() < HEADER_LEN {
        return Err(PycError::Truncated {
            name: name.to_owned(),
        });
    }
    let flags = u32::from_le_bytes(data[4..8].try_into().unwrap());
    if flags & !0b11 != 0 {
        return Err(PycError::InvalidFlags {
            name: name.to_owned(),
            flags,
        });
    }
    Ok(Flags(flags))
}

/// `_validate_timestamp_pyc(data, source_mtime, source_size, name, ...)`
/// for a header that passed [`classify`]. `source_mtime` is
/// `int(st.st_mtime)`; a `None` size is not compared.
///
/// ```
/// use pyc_format::{Magic, PycHeader, validate_timestamp};
/// let pyc = PycHeader::timestamp(Magic::from_number(3627), 1_700_000_000, 1234).to_bytes();
/// assert!(validate_timestamp(&pyc, 1_700_000_000, Some(1234), "mod").is_ok());
/// assert!(validate_timestamp(&pyc, 1_700_000_000, None, "mod").is_ok());
/// let err = validate_timestamp(&pyc, 1_700_000_000, Some(1235), "mod").unwrap_err();
/// assert_eq!(err.to_string(), "bytecode is stale for 'mod'");
/// ```
pub fn validate_timestamp(
    data: &[u8],
    source_mtime: i64,
    source_size: Option<u64>,
    name: &str,
) -> Result<(), PycError> {
    let field = |range: std::ops::Range<usize>| {
        data.get(range)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    };
    let stale = || PycError::Stale {
        name: name.to_owned(),
    };
    if field(8..12) != Some(source_mtime as u32) {
        return Err(stale());
    }
    if let Some(size) = source_size
        && field(12..16) != Some(size as u32)
    {
        return Err(stale());
    }
    Ok(())
}

/// `_validate_hash_pyc(data, source_hash, name, ...)` for a header that
/// passed [`classify`].
///
/// ```
/// use pyc_format::{Magic, PycHeader, source_hash, validate_hash};
/// let magic = Magic::from_number(3627);
/// let pyc = PycHeader::hash(magic, source_hash(magic, b"x = 1\n"), true).to_bytes();
/// assert!(validate_hash(&pyc, source_hash(magic, b"x = 1\n"), "mod").is_ok());
/// let err = validate_hash(&pyc, source_hash(magic, b"x = 2\n"), "mod").unwrap_err();
/// assert_eq!(err.to_string(), "hash in bytecode doesn't match hash of source 'mod'");
/// ```
pub fn validate_hash(data: &[u8], source_hash: [u8; 8], name: &str) -> Result<(), PycError> {
    if data.get(8..16) != Some(&source_hash[..]) {
        return Err(PycError::HashMismatch {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// The `--check-hash-based-pycs` setting of the importing interpreter
/// (`_imp.check_hash_based_pycs`).
///
/// ```
/// use pyc_format::{CheckHashBasedPycs, Magic, PycHeader, SourceFacts, source_hash,
///                  validate_against_source};
/// let magic = Magic::from_number(3627);
/// let pyc = PycHeader::hash(magic, source_hash(magic, b"x = 1\n"), false).to_bytes();
/// let edited = SourceFacts { mtime: 0, size: 6, bytes: b"x = 2\n" };
/// // An unchecked-hash pyc is used as is, unless checking is forced.
/// assert!(validate_against_source(&pyc, magic, "m", edited, CheckHashBasedPycs::Default).is_ok());
/// assert!(validate_against_source(&pyc, magic, "m", edited, CheckHashBasedPycs::Always).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CheckHashBasedPycs {
    /// Check checked-hash pycs only (the default).
    #[default]
    Default,
    /// Check every hash-based pyc.
    Always,
    /// Check none.
    Never,
}

/// What importlib needs to know about a source to judge its pyc.
#[derive(Clone, Copy, Debug)]
pub struct SourceFacts<'a> {
    /// `int(st.st_mtime)`.
    pub mtime: i64,
    /// `st.st_size`.
    pub size: u64,
    /// The source bytes; only read for hash-based pycs that are checked.
    pub bytes: &'a [u8],
}

/// The decision `SourceLoader.get_code` makes before it unmarshals a pyc:
/// whether the cached bytecode may be used for this source.
///
/// ```
/// use pyc_format::{CheckHashBasedPycs, PycHeader, SourceFacts, PythonVersion, source_hash,
///                  validate_against_source};
/// let magic = PythonVersion::new(3, 13).info().unwrap().magic_bytes();
/// let src = b"x = 1\n";
/// let pyc = PycHeader::hash(magic, source_hash(magic, src), true).to_bytes();
/// let facts = SourceFacts { mtime: 0, size: 6, bytes: src };
/// assert!(validate_against_source(&pyc, magic, "m", facts, CheckHashBasedPycs::Default).is_ok());
/// let edited = SourceFacts { bytes: b"x = 2\n", ..facts };
/// assert!(validate_against_source(&pyc, magic, "m", edited, CheckHashBasedPycs::Default).is_err());
/// ```
pub fn validate_against_source(
    data: &[u8],
    magic: Magic,
    name: &str,
    source: SourceFacts<'_>,
    check: CheckHashBasedPycs,
) -> Result<Flags, PycError> {
    let flags = classify(data, magic, name)?;
    if flags.is_hash_based() {
        let verify = match check {
            CheckHashBasedPycs::Never => false,
            CheckHashBasedPycs::Always => true,
            CheckHashBasedPycs::Default => flags.check_source(),
        };
        if verify {
            validate_hash(data, source_hash(magic, source.bytes), name)?;
        }
    } else {
        validate_timestamp(data, source.mtime, Some(source.size), name)?;
    }
    Ok(flags)
}
