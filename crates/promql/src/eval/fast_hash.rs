//! A fast, non-cryptographic hasher for the evaluator's per-step maps and sets (series
//! slots, vector-matching state), keyed by small integers or label sets. The standard
//! library's SipHash resists collision attacks but costs several times more per key, and
//! these maps are probed for every element of every step. This is the multiply-rotate hash
//! of rustc's `FxHasher`: a word at a time, no finalisation beyond the multiply.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A `HashSet` with [`FastHasher`].
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

/// The multiplier of rustc's `FxHasher` (64-bit).
const MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;

/// Hashes a word at a time: `hash = (hash.rotate_left(5) ^ word) * MULTIPLIER`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FastHasher {
    hash: u64,
}

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(MULTIPLIER);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The length keeps "a" and "a\0" apart.
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::*;

    fn hash_of(value: impl std::hash::Hash) -> u64 {
        BuildHasherDefault::<FastHasher>::default().hash_one(value)
    }

    #[test]
    fn equal_keys_hash_equally_and_close_keys_differ() {
        assert_eq!(hash_of((1usize, 2usize)), hash_of((1usize, 2usize)));
        assert_ne!(hash_of((1usize, 2usize)), hash_of((2usize, 1usize)));
        assert_ne!(hash_of("a"), hash_of("a\0"));
        assert_ne!(hash_of("abcdefgh1"), hash_of("abcdefgh2"));
    }

    #[test]
    fn maps_and_sets_work_as_usual() {
        let mut map: FastMap<String, usize> = FastMap::default();
        for index in 0..1000 {
            map.insert(format!("series-{index}"), index);
        }
        assert_eq!(map.len(), 1000);
        assert_eq!(map.get("series-777"), Some(&777));
        let set: FastSet<usize> = (0..100).map(|index| index % 10).collect();
        assert_eq!(set.len(), 10);
    }
}
