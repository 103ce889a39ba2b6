//! Literal marks remembered by text. The same few texts come back event after event (process
//! names and paths, the command lines of daemons and cron jobs, event actions, user names):
//! the literals found in a text are a function of the text alone, so a per-thread memo
//! answers a text seen before with one hash lookup instead of a walk of the (large,
//! cache-unfriendly) automaton.
//!
//! Marking the pieces of a NUL-separated text one by one marks exactly what one walk of the
//! whole marks: no literal holds a NUL, so no occurrence spans two pieces, and after a NUL
//! the automaton is back in its start state.
//!
//! Texts that do not repeat (unique command lines, temporary paths) would only cost a hash
//! and an insert each: hit rates are watched per length class, and a class that rarely hits
//! is walked directly for a while. The memo is bounded and starts over when full.

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::Anchored;
use foldhash::HashMap;
use smallvec::SmallVec;

/// Entries, and bytes of text, kept at most before the memo starts over.
const MAX_ENTRIES: usize = 32_768;
const MAX_BYTES: usize = 4 << 20;
/// Lookups per class between hit-rate checks; a class hitting less than one time in
/// `MIN_HIT_RATIO` is walked directly for the next `BYPASS` pieces of its class.
const WINDOW: u32 = 4096;
const MIN_HIT_RATIO: u32 = 4;
const BYPASS: u32 = 65_536;
/// Pieces up to this long are one class, longer ones the other.
const SHORT: usize = 32;
/// Slots of the doorkeeper (see [`TextMemo::once`]).
const DOORKEEPER: usize = 8192;

/// See the module documentation. Belongs to one prefilter at a time (a scratch can serve
/// several): [`TextMemo::claim`] forgets another's entries.
#[derive(Debug, Default, Clone)]
pub(super) struct TextMemo {
    owner: u64,
    map: HashMap<Box<[u8]>, Box<[u32]>>,
    bytes: usize,
    classes: [Class; 2],
    /// Hashes of texts seen once and not remembered, by slot: a text is remembered only
    /// the second time it comes (while its hash is still in its slot), so that texts seen
    /// once (a unique command line, a temporary path) never fill the memo.
    once: Vec<u64>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Class {
    lookups: u32,
    hits: u32,
    /// Pieces of this class still to walk without the memo.
    bypass: u32,
}

impl TextMemo {
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// Makes the memo that of prefilter `owner`.
    fn claim(&mut self, owner: u64) {
        if self.owner != owner {
            self.map.clear();
            self.bytes = 0;
            self.classes = Default::default();
            self.owner = owner;
        }
    }

    /// Sets in `seen` the bit of every literal of `dfa` occurring in `texts` (pieces
    /// separated by NUL bytes), as [`mark_all`] over the whole would.
    pub(super) fn mark(&mut self, owner: u64, dfa: &DFA, texts: &[u8], seen: &mut [u64]) {
        self.claim(owner);
        for piece in texts.split(|&b| b == 0) {
            self.mark_piece(dfa, piece, seen);
        }
    }

    /// [`TextMemo::mark`] of texts given one by one: `each` calls its argument with each.
    pub(super) fn mark_each(
        &mut self,
        owner: u64,
        dfa: &DFA,
        seen: &mut [u64],
        each: impl FnOnce(&mut dyn FnMut(&[u8])),
    ) {
        self.claim(owner);
        each(&mut |piece| self.mark_piece(dfa, piece, seen));
    }

    /// Marks the literals of one text (no NUL in it).
    #[inline]
    fn mark_piece(&mut self, dfa: &DFA, piece: &[u8], seen: &mut [u64]) {
        if piece.is_empty() {
            return;
        }
        let class = usize::from(piece.len() > SHORT);
        let Some(c) = self.classes.get_mut(class) else {
            return;
        };
        if c.bypass > 0 {
            c.bypass -= 1;
            mark_all(dfa, piece, seen);
            return;
        }
        c.lookups += 1;
        match self.map.get(piece) {
            Some(ids) => {
                c.hits += 1;
                ids.iter().for_each(|&i| set(seen, i));
            }
            None if !seen_before(&mut self.once, piece) => mark_all(dfa, piece, seen),
            None => {
                let mut ids: SmallVec<[u32; 8]> = SmallVec::new();
                mark_one(dfa, piece, &mut |i| ids.push(i));
                ids.sort_unstable();
                ids.dedup();
                ids.iter().for_each(|&i| set(seen, i));
                if self.map.len() >= MAX_ENTRIES || self.bytes + piece.len() > MAX_BYTES {
                    self.map.clear();
                    self.bytes = 0;
                }
                self.bytes += piece.len();
                self.map.insert(piece.into(), ids.as_slice().into());
            }
        }
        if c.lookups >= WINDOW {
            if c.hits * MIN_HIT_RATIO < c.lookups {
                c.bypass = BYPASS;
            }
            c.lookups = 0;
            c.hits = 0;
        }
    }
}

/// Whether `piece` (not remembered) came recently already, by the doorkeeper `once` (see
/// [`TextMemo::once`]); if not, notes it there.
fn seen_before(once: &mut Vec<u64>, piece: &[u8]) -> bool {
    use std::hash::BuildHasher;
    if once.is_empty() {
        *once = vec![0; DOORKEEPER];
    }
    let h = foldhash::fast::FixedState::with_seed(0x5eed).hash_one(piece) | 1;
    let Some(slot) = once.get_mut(h as usize % DOORKEEPER) else {
        return false;
    };
    let before = *slot == h;
    *slot = h;
    before
}

#[inline]
fn set(seen: &mut [u64], i: u32) {
    if let Some(w) = seen.get_mut(i as usize / 64) {
        *w |= 1u64 << (i % 64);
    }
}

/// A fresh owner number for a prefilter.
pub(super) fn next_owner() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Sets the bit of every literal that occurs in `hay` (overlapping occurrences: all of them)
/// in `seen`.
pub(super) fn mark_all(dfa: &DFA, hay: &[u8], seen: &mut [u64]) {
    mark_one(dfa, hay, &mut |i| {
        if let Some(w) = seen.get_mut(i as usize / 64) {
            *w |= 1u64 << (i % 64);
        }
    });
}

/// Calls `found` with every literal that occurs in `hay` (overlapping occurrences: all of
/// them, so a literal may come more than once): one walk of the DFA, whose match states list
/// every literal ending there.
#[inline]
fn mark_one(dfa: &DFA, hay: &[u8], found: &mut impl FnMut(u32)) {
    let Ok(mut sid) = dfa.start_state(Anchored::No) else {
        return;
    };
    let mut mark = |sid| {
        for k in 0..dfa.match_len(sid) {
            found(dfa.match_pattern(sid, k).as_u32());
        }
    };
    if dfa.is_match(sid) {
        mark(sid);
    }
    for &b in hay {
        sid = dfa.next_state(Anchored::No, sid, b);
        if dfa.is_special(sid) {
            if dfa.is_match(sid) {
                mark(sid);
            } else if dfa.is_dead(sid) {
                return;
            }
        }
    }
}
