//! Per-record name lookups: a small, fast hasher (FNV-1a) for the maps property name ->
//! column and key -> buffered row, and an inline equality for the usual short property
//! names. SipHash's resistance to crafted collisions buys nothing here (the keys come
//! from the tap the user chose to run) and costs a visible share of the per-record time.

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
}

/// A `HashMap` using [`FnvHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FnvHasher>>;

/// Whether two property names are equal, without a `memcmp` call for names of up to 16
/// bytes (most are): every field of every record is matched to its column and its rule
/// by name, twice, and the library call cost more than the comparison.
#[inline(always)]
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    // Two overlapping words cover any length from one word to two.
    fn words<const N: usize>(s: &[u8]) -> Option<(&[u8; N], &[u8; N])> {
        Some((s.first_chunk::<N>()?, s.last_chunk::<N>()?))
    }
    match a.len() {
        8..=16 => words::<8>(a) == words::<8>(b),
        4..=7 => words::<4>(a) == words::<4>(b),
        _ => a == b,
    }
}

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

    #[test]
    fn names_are_equal_exactly_when_their_bytes_are() {
        let names = [
            "",
            "A",
            "AB",
            "ABC",
            "ABCD",
            "ABCE",
            "ABCDEFG",
            "ABCDEFH",
            "ORDER_ID",
            "ORDER_IE",
            "XRDER_ID",
            "CUSTOMER_NAME",
            "CUSTOMER_NAMF",
            "DUSTOMER_NAME",
            "CUSTOMXR_NAME",
            "SIXTEEN_BYTES_AB",
            "SIXTEEN_BYTES_AC",
            "SIXTEEN_BYTEX_AB",
            "SEVENTEEN_BYTES_A",
            "SEVENTEEN_BYTES_B",
            "SEVENTEEN_XYTES_A",
            "é",
            "e\u{301}",
            "ÉTAT",
            "ÉTAU",
        ];
        for a in names {
            for b in names {
                assert_eq!(same_name(a, b), a == b, "{a:?} {b:?}");
            }
        }
        // Every single-byte change of an 8- to 16-byte name, at every position.
        for len in 1..=20 {
            let base: String = ('a'..='z').take(len).collect();
            for at in 0..len {
                let mut changed = base.clone().into_bytes();
                changed[at] = b'_';
                let changed = String::from_utf8(changed).unwrap();
                assert!(!same_name(&base, &changed), "{base} {changed}");
                assert!(same_name(&base, &base.clone()));
            }
        }
    }
}
