//! [`Key`]: what an entry is stored under, and [`KeyBuilder`], which makes
//! one from everything that changes a compiler's output.

use std::fmt;

/// The name of an entry: a BLAKE3 hash of every input of the compile.
///
/// ```
/// use pyc_cache::KeyBuilder;
///
/// let common = KeyBuilder::new().part("target", b"3.14.0").part("source", b"x = 1\n");
/// let level0 = common.clone().part("level", b"0").finish();
/// let level1 = common.part("level", b"1").finish();
/// assert_ne!(level0, level1);
/// assert_eq!(level0.to_string().len(), 64);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(pub(crate) [u8; 32]);

impl Key {
    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key in hex (an entry's file name; the first two digits name its
    /// bucket folder).
    pub(crate) fn to_hex(self) -> impl std::ops::Deref<Target = str> {
        blake3::Hash::from_bytes(self.0).to_hex()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({self})")
    }
}

/// Hashes named parts into a [`Key`]. Each part is framed by its name and
/// length, so no two different lists of parts hash the same input; a
/// builder can be cloned after the parts requests share (the source, the
/// target) and finished once per optimization level.
#[derive(Clone)]
pub struct KeyBuilder(blake3::Hasher);

/// Changes whenever the meaning of keys changes.
const DOMAIN: &[u8] = b"compileall pyc-cache key v1";

impl KeyBuilder {
    /// A builder with no parts yet.
    pub fn new() -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(DOMAIN);
        KeyBuilder(hasher)
    }

    /// Adds the part `name` = `value`.
    pub fn part(mut self, name: &str, value: &[u8]) -> Self {
        for field in [name.as_bytes(), value] {
            self.0.update(&(field.len() as u64).to_le_bytes());
            self.0.update(field);
        }
        self
    }

    /// The key of the parts added so far.
    pub fn finish(&self) -> Key {
        Key(*self.0.finalize().as_bytes())
    }
}

impl Default for KeyBuilder {
    fn default() -> Self {
        KeyBuilder::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_keeps_parts_apart() {
        let ab = KeyBuilder::new().part("a", b"bc").finish();
        let abc = KeyBuilder::new().part("ab", b"c").finish();
        assert_ne!(ab, abc);
        let split = KeyBuilder::new().part("a", b"b").part("c", b"").finish();
        assert_ne!(ab, split);
    }

    #[test]
    fn the_same_parts_give_the_same_key() {
        let key = |source: &[u8]| KeyBuilder::new().part("source", source).finish();
        assert_eq!(key(b"x = 1\n"), key(b"x = 1\n"));
        assert_ne!(key(b"x = 1\n"), key(b"x = 2\n"));
    }
}
