//! A trie node's children, found by key in an open-addressed table.
//!
//! A key is told by its length and a 16-byte fingerprint made of two overlapping loads,
//! which together spell every key of at most 16 bytes exactly (nearly every ECS field name
//! segment): such a key is found by comparing two words and a length, with no pointer to
//! follow and no byte loop. Longer keys are also compared in full. The table is a power of
//! two at least twice the number of children, so a key that is not there (most of a
//! record's keys) meets an empty slot within a probe or two.

use crate::bytes::{load4, load8};

#[derive(Debug, Clone)]
struct Entry {
    lo: u64,
    hi: u64,
    len: u32,
    node: u32,
    /// The whole key, when it is longer than the fingerprint spells.
    long: Option<Box<[u8]>>,
}

#[derive(Debug, Clone)]
pub(super) struct Children {
    entries: Vec<Entry>,
    /// Positions in `entries` plus one (0: an empty slot).
    table: Box<[u32]>,
    /// 64 minus the table's size in bits.
    shift: u32,
}

/// Exact for keys of up to 16 bytes (given their length): the bytes at `0..8` and
/// `len-8..len` cover every byte of such a key, and shorter keys are spelled likewise.
#[inline]
fn fingerprint(k: &[u8]) -> (u64, u64) {
    let n = k.len();
    let at = |i: usize| u64::from(k.get(i).copied().unwrap_or(0));
    match n {
        0 => (0, 0),
        1..=3 => (at(0) | at(n / 2) << 8 | at(n - 1) << 16, 0),
        4..=7 => (u64::from(load4(k, 0)) | u64::from(load4(k, n - 4)) << 32, 0),
        _ => (load8(k, 0), load8(k, n - 8)),
    }
}

#[inline]
fn slot(lo: u64, hi: u64, len: u32, shift: u32) -> usize {
    let mixed = lo ^ hi.rotate_left(23) ^ u64::from(len) << 56;
    (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

impl Children {
    pub(super) fn new() -> Children {
        Children {
            entries: Vec::new(),
            table: Box::new([0]),
            shift: 63,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a child (its key not there yet) and lays the table out again.
    pub(super) fn insert(&mut self, key: &[u8], node: u32) {
        let (lo, hi) = fingerprint(key);
        self.entries.push(Entry {
            lo,
            hi,
            len: key.len() as u32,
            node,
            long: (key.len() > 16).then(|| key.into()),
        });
        let size = (self.entries.len() * 2).next_power_of_two().max(2);
        self.shift = 64 - size.trailing_zeros();
        let mut table = vec![0u32; size];
        for (pos, e) in self.entries.iter().enumerate() {
            let mut h = slot(e.lo, e.hi, e.len, self.shift);
            while table.get(h).is_some_and(|&t| t != 0) {
                h = (h + 1) & (size - 1);
            }
            if let Some(t) = table.get_mut(h) {
                *t = pos as u32 + 1;
            }
        }
        self.table = table.into_boxed_slice();
    }

    /// The node that key `k` leads to.
    #[inline]
    pub(super) fn get(&self, k: &[u8]) -> Option<u32> {
        let (lo, hi) = fingerprint(k);
        let len = k.len() as u32;
        let mask = self.table.len() - 1;
        let mut h = slot(lo, hi, len, self.shift) & mask;
        loop {
            let pos = *self.table.get(h)?;
            let e = self.entries.get(pos.checked_sub(1)? as usize)?;
            if e.lo == lo
                && e.hi == hi
                && e.len == len
                && (len <= 16 || e.long.as_deref() == Some(k))
            {
                return Some(e.node);
            }
            h = (h + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_found_and_every_near_miss_is_not() {
        // Keys of every length up to 40 that differ from each other only in the middle,
        // where a fingerprint of longer keys does not look, and their one-byte variants.
        let key = |len: usize, v: u8| -> Vec<u8> {
            let mut k = vec![b'k'; len];
            if len > 0 {
                k[len / 2] = v;
            }
            k
        };
        let mut c = Children::new();
        assert_eq!(c.get(b"process"), None);
        let mut node = 0u32;
        let mut added = Vec::new();
        for len in 0..=40 {
            for v in [b'a', b'b'] {
                let k = key(len, v);
                if len == 0 && v == b'b' {
                    continue; // the same empty key
                }
                c.insert(&k, node);
                added.push((k, node));
                node += 1;
            }
        }
        for (k, n) in &added {
            assert_eq!(c.get(k), Some(*n), "{k:?}");
            for i in 0..k.len() {
                let mut near = k.clone();
                near[i] ^= 0x20;
                assert_eq!(c.get(&near), None, "{near:?}");
            }
            let mut longer = k.clone();
            longer.push(b'k');
            assert_ne!(c.get(&longer), Some(*n), "{longer:?}");
        }
        assert_eq!(c.get(&key(41, b'a')), None);
    }
}
