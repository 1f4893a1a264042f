//! Per-record lookups: a small, fast hasher (FNV-1a) for the maps property name -> column
//! and key -> buffered row. SipHash's resistance to crafted collisions buys nothing here
//! (the keys come from the tap the user chose to run) and costs a visible share of the
//! per-record time. Names are compared with [`singer_core::record::same_name`].

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a, 64 bits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// A word in one step rather than eight (the dedup index's keys are hashes already;
    /// the multiply and shift spread every bit to the bits a map uses).
    fn write_u64(&mut self, word: u64) {
        let mixed = (self.0 ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = mixed ^ (mixed >> 32);
    }
}

/// A `HashMap` using [`FnvHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FnvHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_work_and_hashes_differ() {
        let mut map: FastMap<String, usize> = FastMap::default();
        map.insert("ORDER_ID".into(), 1);
        map.insert("AMOUNT".into(), 2);
        assert_eq!(map.get("ORDER_ID"), Some(&1));
        assert_eq!(map.get("AMOUNT"), Some(&2));
        assert_eq!(map.get("amount"), None);
        let hash = |s: &str| {
            let mut h = FnvHasher::default();
            h.write(s.as_bytes());
            h.finish()
        };
        assert_ne!(hash("a"), hash("b"));
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325);
    }
}
