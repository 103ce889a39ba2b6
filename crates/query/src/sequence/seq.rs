//! The sequence state machine.
//!
//! Semantics, as Elasticsearch's EQL implements them (x-pack/plugin/eql,
//! `execution/sequence/SequenceMatcher.java`, `OrdinalGroup.java`, `TumblingWindow.java`,
//! and the "How sequence queries handle matches" section of the EQL syntax reference):
//!
//! * Per join key there is one state machine; each state (a stage that has been matched)
//!   holds at most one pending sequence. An event matching stage 1 starts a new sequence in
//!   state 1, overwriting the one there; an event matching stage k+1 takes the sequence in
//!   state k (the most recent one: Elasticsearch keeps a list and takes the latest before the
//!   event, dropping every older one, which is the same thing) and moves it to state k+1,
//!   overwriting what was there. State k is then empty. One event can feed several stages:
//!   later stages are tried first, so an event never extends a sequence it started itself.
//! * `with maxspan=D`: a sequence whose next event is more than D after its first event is
//!   dropped (`to - from > D` rejects, so exactly D still matches). Pending sequences older
//!   than D are evicted as time advances.
//! * `until [q]`: an until event for a key drops that key's pending sequences whose last
//!   event came before it (the sequence the same event just advanced survives).
//! * `with runs=N`: the stage is repeated N times (see [`super::flatten`]).
//! * Missing events `![q]` are checked when a sequence completes, like Elasticsearch's
//!   `checkMissingEvents`, using only timestamps (strict comparisons):
//!   - between two positive stages: a missing event strictly between their timestamps drops
//!     the sequence;
//!   - leading only (`![q] [a] [b]`): dropped when the latest missing event before the first
//!     positive one lies within D of the last positive event;
//!   - trailing only (`[a] [b] ![q]`): dropped when a missing event after the last positive
//!     event lies within D of the first one; the match is held back until time passes
//!     first + D (or [`SequenceMatcher::flush`] at the end of the input);
//!   - both: dropped when the first trailing and last leading missing events are at most D
//!     apart; with no leading missing event at all the sequence matches at once.
//!
//!   Missing events are matched by key like the other stages; the output carries only the
//!   positive stages' events.

use super::{flatten, key_of_optional, Flat, Key, Stats};
use crate::query::Sequence;
use foldhash::HashMap;
use spawnguard_event::Event;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Limits on the state a [`SequenceMatcher`] keeps.
#[derive(Debug, Clone, Copy)]
pub struct SequenceConfig {
    /// Hard cap on pending (partial) sequences over all keys. When it is exceeded the
    /// oldest tenth are evicted and counted in [`Stats::evicted_cap`].
    pub max_partials: usize,
    /// Cap on remembered missing-event timestamps per key and missing stage.
    pub max_missing_per_key: usize,
}

impl Default for SequenceConfig {
    fn default() -> Self {
        SequenceConfig {
            max_partials: 100_000,
            max_missing_per_key: 4096,
        }
    }
}

/// A completed sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceMatch<T> {
    /// The join key (values of the key fields of the first positive stage).
    pub key: Key,
    /// One item per positive stage (after `runs` expansion), in stage order.
    pub items: Vec<T>,
    /// The timestamps of those events.
    pub timestamps: Vec<i64>,
    /// Push position (1-based) of the first event: Elasticsearch orders sequences by it.
    pub first_position: u64,
}

#[derive(Debug, Clone)]
struct Partial<T> {
    items: Vec<T>,
    ts: Vec<i64>,
    start_pos: u64,
    last_pos: u64,
}

#[derive(Debug)]
struct Pending<T> {
    m: SequenceMatch<T>,
    last_ts: i64,
    last_leading: Option<i64>,
    deadline: i64,
}

#[derive(Debug)]
struct KeyState<T> {
    /// `slots[j]`: the pending sequence that has matched positive stages `0..=j`.
    slots: Vec<Option<Partial<T>>>,
    /// Timestamps of missing-stage events seen for this key, per missing stage.
    missing: Vec<VecDeque<i64>>,
    /// Completed sequences waiting for their trailing missing-event window to pass.
    pending: Vec<Pending<T>>,
}

impl<T> KeyState<T> {
    fn new(n_slots: usize, n_missing: usize) -> Self {
        KeyState {
            slots: (0..n_slots).map(|_| None).collect(),
            missing: (0..n_missing).map(|_| VecDeque::new()).collect(),
            pending: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
            && self.missing.iter().all(VecDeque::is_empty)
            && self.pending.is_empty()
    }
}

/// Where a missing stage sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Leading,
    /// Between positive stages `j - 1` and `j`.
    Middle(usize),
    Trailing,
}

/// Runs one `sequence` query over events pushed in order.
#[derive(Debug)]
pub struct SequenceMatcher<T> {
    stages: Vec<Flat>,
    /// Indices (into `stages`) of the positive stages.
    positives: Vec<usize>,
    /// Indices of the missing stages and where each sits.
    missing: Vec<(usize, Place)>,
    until: Option<Flat>,
    /// How many stages the query wrote (before `runs` expansion).
    n_query: usize,
    maxspan: i64,
    cfg: SequenceConfig,
    states: HashMap<Key, KeyState<T>>,
    deadlines: BinaryHeap<Reverse<(i64, Key)>>,
    n_partials: usize,
    pos: u64,
    now: i64,
    stats: Stats,
}

impl<T: Clone> SequenceMatcher<T> {
    pub fn new(seq: &Sequence) -> Self {
        Self::with_config(seq, SequenceConfig::default())
    }

    pub fn with_config(seq: &Sequence, cfg: SequenceConfig) -> Self {
        let stages = flatten(&seq.by, &seq.optional_by, &seq.stages);
        let positives: Vec<usize> = (0..stages.len()).filter(|&i| !stages[i].missing).collect();
        let first = positives.first().copied().unwrap_or(0);
        let last = positives.last().copied().unwrap_or(0);
        let missing = (0..stages.len())
            .filter(|&i| stages[i].missing)
            .map(|i| {
                let place = if i < first {
                    Place::Leading
                } else if i > last {
                    Place::Trailing
                } else {
                    Place::Middle(positives.iter().position(|&p| p > i).unwrap_or(0))
                };
                (i, place)
            })
            .collect();
        let until = seq.until.as_ref().and_then(|u| {
            flatten(&seq.by, &seq.optional_by, std::slice::from_ref(u))
                .into_iter()
                .next()
        });
        SequenceMatcher {
            stages,
            positives,
            missing,
            until,
            n_query: seq.stages.len(),
            maxspan: seq.maxspan_ns.unwrap_or(i64::MAX),
            cfg,
            states: HashMap::default(),
            deadlines: BinaryHeap::new(),
            n_partials: 0,
            pos: 0,
            now: i64::MIN,
            stats: Stats::default(),
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Pending partial sequences currently held.
    pub fn partials(&self) -> usize {
        self.n_partials
    }

    /// Whether an event matching only a later stage (or `until`) could change anything: some
    /// partial sequence is pending, or a held-back match waits for its trailing window.
    pub fn is_live(&self) -> bool {
        self.n_partials > 0 || !self.deadlines.is_empty()
    }

    fn has_place(&self, p: Place) -> bool {
        self.missing.iter().any(|&(_, pl)| pl == p)
    }

    fn state(&mut self, key: Key) -> &mut KeyState<T> {
        let (n_slots, n_missing) = (self.positives.len(), self.missing.len());
        self.states
            .entry(key)
            .or_insert_with(|| KeyState::new(n_slots, n_missing))
    }

    /// Feeds one event (at time `ts_ns`) and returns the sequences it completes, plus any
    /// held-back sequence whose trailing window has now passed.
    pub fn push(&mut self, ev: &Event, ts_ns: i64, item: T) -> Vec<SequenceMatch<T>> {
        self.push_matched(ev, ts_ns, move || item, None)
    }

    /// [`SequenceMatcher::push`] for a caller that has evaluated the query's stage conditions
    /// already: bit `i` of `matched` says whether stage `i` of the query (as written, before
    /// `runs` expansion) matched the event, and the bit after the last stage whether `until`
    /// did. `None` (or a query of more than 63 stages) evaluates them here. The item is made
    /// (by `item`, at most once) only if the event is kept in a sequence: most events that
    /// match a later stage find nothing pending.
    pub fn push_matched(
        &mut self,
        ev: &Event,
        ts_ns: i64,
        item: impl FnOnce() -> T,
        matched: Option<u64>,
    ) -> Vec<SequenceMatch<T>> {
        let item = std::cell::LazyCell::new(item);
        let n_query = self.n_query;
        let matched = matched.filter(|_| n_query < 64);
        let stage_matches = |st: &super::Flat| match matched {
            Some(bits) => bits >> st.stage & 1 == 1,
            None => st.pred.matches(ev),
        };
        self.pos += 1;
        self.stats.pushed += 1;
        let pos = self.pos;
        if ts_ns < self.now {
            self.stats.late += 1;
        } else {
            self.now = ts_ns;
        }
        let mut out = Vec::new();
        self.release_due(&mut out);
        if self.positives.is_empty() {
            return out;
        }

        // Missing-stage events: remember them, and let trailing ones cancel held matches.
        for mi in 0..self.missing.len() {
            let (si, place) = self.missing[mi];
            if !stage_matches(&self.stages[si]) {
                continue;
            }
            let st = &self.stages[si];
            let Some(key) = key_of_optional(ev, &st.keys, &st.optional) else {
                self.stats.null_key += 1;
                continue;
            };
            let cap = self.cfg.max_missing_per_key.max(1);
            let maxspan = self.maxspan;
            let st = self.state(key);
            if st.missing[mi].len() >= cap {
                st.missing[mi].pop_front();
            }
            st.missing[mi].push_back(ts_ns);
            if place == Place::Trailing {
                let before = st.pending.len();
                st.pending.retain(|p| {
                    let anchor = p.last_leading.unwrap_or(p.m.timestamps[0]);
                    !(ts_ns > p.last_ts && ts_ns.saturating_sub(anchor) <= maxspan)
                });
                self.stats.dropped_missing += (before - st.pending.len()) as u64;
            }
        }

        // Positive stages, last first, so that an event never extends its own sequence.
        let n = self.positives.len();
        for j in (0..n).rev() {
            let si = self.positives[j];
            // A later stage only extends a pending sequence: with none pending anywhere,
            // its condition need not even be evaluated.
            if j > 0 && self.n_partials == 0 {
                continue;
            }
            if !stage_matches(&self.stages[si]) {
                continue;
            }
            let st = &self.stages[si];
            let Some(key) = key_of_optional(ev, &st.keys, &st.optional) else {
                self.stats.null_key += 1;
                continue;
            };
            let partial = if j == 0 {
                Partial {
                    items: vec![(*item).clone()],
                    ts: vec![ts_ns],
                    start_pos: pos,
                    last_pos: pos,
                }
            } else {
                let Some(st) = self.states.get_mut(&key) else {
                    continue;
                };
                let Some(mut p) = st.slots[j - 1].take() else {
                    continue;
                };
                self.n_partials -= 1;
                if ts_ns.saturating_sub(p.ts[0]) > self.maxspan {
                    self.stats.evicted_maxspan += 1;
                    continue;
                }
                p.items.push((*item).clone());
                p.ts.push(ts_ns);
                p.last_pos = pos;
                p
            };
            if j == n - 1 {
                self.complete(key, partial, &mut out);
            } else {
                let st = self.state(key);
                if st.slots[j].replace(partial).is_some() {
                    self.stats.replaced += 1;
                } else {
                    self.n_partials += 1;
                }
            }
        }

        // `until`: drop the key's pending sequences that predate this event.
        if let Some(u) = &self.until {
            let until = match matched {
                Some(bits) => bits >> n_query & 1 == 1,
                None => u.pred.matches(ev),
            };
            if until {
                match key_of_optional(ev, &u.keys, &u.optional) {
                    None => self.stats.null_key += 1,
                    Some(key) => {
                        if let Some(st) = self.states.get_mut(&key) {
                            for slot in st.slots.iter_mut() {
                                if slot.as_ref().is_some_and(|p| p.last_pos < pos) {
                                    *slot = None;
                                    self.n_partials -= 1;
                                    self.stats.dropped_until += 1;
                                }
                            }
                        }
                    }
                }
            }
        }

        if self.n_partials > self.cfg.max_partials || pos.is_multiple_of(4096) {
            let now = self.now;
            out.extend(self.expire(now));
            if self.n_partials > self.cfg.max_partials {
                self.evict_oldest();
            }
        }
        out
    }

    fn complete(&mut self, key: Key, p: Partial<T>, out: &mut Vec<SequenceMatch<T>>) {
        let maxspan = self.maxspan;
        let (first_ts, last_ts) = (p.ts[0], p.ts[p.ts.len() - 1]);
        let has_leading = self.has_place(Place::Leading);
        let has_trailing = self.has_place(Place::Trailing);
        let mut last_leading: Option<i64> = None;
        if let Some(st) = self.states.get(&key) {
            for (mi, &(_, place)) in self.missing.iter().enumerate() {
                let hist = &st.missing[mi];
                match place {
                    Place::Middle(j) => {
                        let (lo, hi) = (p.ts[j - 1], p.ts[j]);
                        if hist.iter().any(|&m| m > lo && m < hi) {
                            self.stats.dropped_missing += 1;
                            return;
                        }
                    }
                    Place::Leading => {
                        if let Some(m) = hist.iter().copied().filter(|&m| m < first_ts).max() {
                            last_leading = Some(last_leading.map_or(m, |l| l.max(m)));
                        }
                    }
                    Place::Trailing => {}
                }
            }
        }
        let m = SequenceMatch {
            key: key.clone(),
            items: p.items,
            timestamps: p.ts,
            first_position: p.start_pos,
        };
        if has_leading && !has_trailing {
            if last_leading.is_some_and(|l| last_ts.saturating_sub(l) <= maxspan) {
                self.stats.dropped_missing += 1;
                return;
            }
        } else if has_trailing && !(has_leading && last_leading.is_none()) {
            let anchor = last_leading.unwrap_or(first_ts);
            let deadline = anchor.saturating_add(maxspan);
            self.deadlines.push(Reverse((deadline, key.clone())));
            self.state(key).pending.push(Pending {
                m,
                last_ts,
                last_leading,
                deadline,
            });
            return;
        }
        self.stats.matches += 1;
        out.push(m);
    }

    /// Releases held-back matches whose trailing window has passed (`deadline < now`).
    fn release_due(&mut self, out: &mut Vec<SequenceMatch<T>>) {
        let now = self.now;
        while let Some(Reverse((deadline, _))) = self.deadlines.peek() {
            if *deadline >= now {
                break;
            }
            let Some(Reverse((_, key))) = self.deadlines.pop() else {
                break;
            };
            if let Some(st) = self.states.get_mut(&key) {
                let mut i = 0;
                while i < st.pending.len() {
                    if st.pending[i].deadline < now {
                        let p = st.pending.swap_remove(i);
                        self.stats.matches += 1;
                        out.push(p.m);
                    } else {
                        i += 1;
                    }
                }
            }
        }
        out.sort_by_key(|m| m.first_position);
    }

    /// Advances time to `now_ns` without an event: evicts pending sequences that can no
    /// longer complete within `maxspan`, forgets missing events too old to matter, and
    /// returns held-back matches whose window has passed.
    pub fn expire(&mut self, now_ns: i64) -> Vec<SequenceMatch<T>> {
        if now_ns > self.now {
            self.now = now_ns;
        }
        let mut out = Vec::new();
        self.release_due(&mut out);
        if self.maxspan == i64::MAX {
            return out;
        }
        let horizon = self.now.saturating_sub(self.maxspan);
        let mut evicted = 0u64;
        self.states.retain(|_, st| {
            for slot in st.slots.iter_mut() {
                if slot.as_ref().is_some_and(|p| p.ts[0] < horizon) {
                    *slot = None;
                    evicted += 1;
                }
            }
            for hist in st.missing.iter_mut() {
                while hist.front().is_some_and(|&m| m < horizon) {
                    hist.pop_front();
                }
            }
            !st.is_empty()
        });
        self.n_partials -= evicted as usize;
        self.stats.evicted_maxspan += evicted;
        out
    }

    /// Enforces the hard cap: drops the oldest pending sequences down to 90% of the cap.
    fn evict_oldest(&mut self) {
        let target = self.cfg.max_partials - self.cfg.max_partials / 10;
        let mut starts: Vec<u64> = self
            .states
            .values()
            .flat_map(|st| st.slots.iter().flatten().map(|p| p.start_pos))
            .collect();
        if starts.len() <= target {
            return;
        }
        let cut = starts.len() - target;
        let (_, threshold, _) = starts.select_nth_unstable(cut);
        let threshold = *threshold;
        let mut evicted = 0usize;
        self.states.retain(|_, st| {
            for slot in st.slots.iter_mut() {
                if slot.as_ref().is_some_and(|p| p.start_pos < threshold) {
                    *slot = None;
                    evicted += 1;
                }
            }
            !st.is_empty()
        });
        self.n_partials -= evicted;
        self.stats.evicted_cap += evicted as u64;
    }

    /// The input has ended: no trailing missing event can arrive any more, so every
    /// held-back match is released (in order of first event). Pending partial sequences are
    /// discarded.
    pub fn flush(&mut self) -> Vec<SequenceMatch<T>> {
        let mut out: Vec<SequenceMatch<T>> = Vec::new();
        for st in self.states.values_mut() {
            for p in st.pending.drain(..) {
                out.push(p.m);
            }
        }
        self.stats.matches += out.len() as u64;
        out.sort_by_key(|m| m.first_position);
        self.states.clear();
        self.deadlines.clear();
        self.n_partials = 0;
        out
    }
}
