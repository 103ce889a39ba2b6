//! Where the keys of the last record led, by position: records of one source spell their
//! objects with the same keys in the same order, so the key at position `i` of an object at
//! trie node `n` is most often the key that was there in the previous record. Checking that
//! takes a 16-byte compare that the processor predicts well, instead of a table probe per
//! key whose outcome (found or not) it cannot predict.
//!
//! Only keys of at most 16 bytes without escapes are remembered, as their bytes padded
//! with zeros (read straight from the record, see [`padded`]): a remembered answer is
//! exactly the trie's. The
//! memory belongs to one projection at a time (a thread's scratch may serve several).

use crate::bytes::load8;

/// A key of at most 16 bytes, zero-padded: its first `len` bytes of `window` (sixteen
/// bytes of the record from the key's first on), the rest masked off without a branch on
/// the length. Equal lengths and equal words mean equal keys.
#[inline]
fn padded(window: &[u8], len: usize) -> (u64, u64) {
    let mask = |bytes: usize| match bytes {
        8.. => u64::MAX,
        b => (1u64 << (8 * b)) - 1,
    };
    (
        load8(window, 0) & mask(len.min(8)),
        load8(window, 8) & mask(len.saturating_sub(8)),
    )
}

/// Positions remembered per object.
const MAX_POSITIONS: usize = 64;

/// Not remembered, or led nowhere (`to`).
const NOTHING: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Seen {
    lo: u64,
    hi: u64,
    /// The key's length plus one (0: nothing remembered here).
    len: u32,
    to: u32,
}

pub(super) struct Shapes {
    owner: u64,
    by_node: Vec<Vec<Seen>>,
}

impl Shapes {
    pub(super) const fn new() -> Shapes {
        Shapes {
            owner: 0,
            by_node: Vec::new(),
        }
    }

    /// Makes the memory that of projection `owner`, with room for `nodes` trie nodes.
    pub(super) fn serve(&mut self, owner: u64, nodes: usize) {
        if self.owner != owner {
            self.by_node.clear();
            self.owner = owner;
        }
        if self.by_node.len() < nodes {
            self.by_node.resize(nodes, Vec::new());
        }
    }

    /// Where the key at position `pos` of an object at `node` leads (`Some(None)`:
    /// nowhere), by `follow` unless remembered. The key is `len` bytes long, and `window`
    /// holds sixteen bytes of the record from its first byte on (`None` near the record's
    /// end: then it is not remembered).
    #[inline]
    pub(super) fn lead(
        &mut self,
        node: u32,
        pos: usize,
        len: usize,
        window: Option<&[u8]>,
        follow: impl FnOnce() -> Option<u32>,
    ) -> Option<u32> {
        let Some(window) = window.filter(|_| len <= 16 && pos < MAX_POSITIONS) else {
            return follow();
        };
        let (lo, hi) = padded(window, len);
        let len = len as u32 + 1;
        let Some(at) = self.by_node.get_mut(node as usize) else {
            return follow();
        };
        if let Some(s) = at.get(pos) {
            if s.len == len && s.lo == lo && s.hi == hi {
                return (s.to != NOTHING).then_some(s.to);
            }
        }
        let to = follow();
        if at.len() <= pos {
            at.resize(
                pos + 1,
                Seen {
                    lo: 0,
                    hi: 0,
                    len: 0,
                    to: NOTHING,
                },
            );
        }
        if let Some(s) = at.get_mut(pos) {
            *s = Seen {
                lo,
                hi,
                len,
                to: to.unwrap_or(NOTHING),
            };
        }
        to
    }
}
