//! The sample matcher.
//!
//! Semantics, as Elasticsearch implements them (x-pack/plugin/eql,
//! `execution/sample/SampleIterator.java`, and the "Samples" section of the EQL syntax
//! reference): events are grouped by their join key (`sample by …` keys followed by each
//! filter's own `by` keys); a sample is, for one key, one event per filter, the events all
//! different (one event may match several filters but fills only one of them), with no
//! ordering in time and no `maxspan`, `runs` or `until`. Up to `max_samples_per_key`
//! (the EQL search API parameter, default 1) samples are produced per key, each from events
//! not used by an earlier sample of that key. Events inside a sample are listed in filter
//! order. Elasticsearch returns samples ordered by key (its composite aggregation sorts the
//! keys); the batch caller sorts [`SampleMatch::key`]s to reproduce that.
//!
//! Which events fill a sample is not specified by Elasticsearch (it takes the first hits of
//! each filter's search); here, the earliest pushed events are used, and a sample is returned
//! as soon as its key has one distinct event for every filter.

use super::{flatten, key_of_optional, Flat, Key, Stats};
use crate::query::Sample;
use foldhash::HashMap;
use spawnguard_event::Event;
use std::collections::VecDeque;

/// Limits and options of a [`SampleMatcher`].
#[derive(Debug, Clone, Copy)]
pub struct SampleConfig {
    /// Samples per unique key (`max_samples_per_key`, default 1 as in Elasticsearch).
    pub max_samples_per_key: usize,
    /// Hard cap on keys with an unfinished sample; beyond it the oldest are evicted and
    /// counted in [`Stats::evicted_cap`].
    pub max_keys: usize,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            max_samples_per_key: 1,
            max_keys: 100_000,
        }
    }
}

/// A completed sample.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleMatch<T> {
    pub key: Key,
    /// One item per filter, in filter order.
    pub items: Vec<T>,
    /// Push positions (1-based) of those events.
    pub positions: Vec<u64>,
}

#[derive(Debug)]
struct KeyState<T> {
    /// Candidate events per filter: (push position, item).
    candidates: Vec<Vec<(u64, T)>>,
    emitted: usize,
    created: u64,
}

/// Runs one `sample` query over pushed events.
#[derive(Debug)]
pub struct SampleMatcher<T> {
    stages: Vec<Flat>,
    cfg: SampleConfig,
    states: HashMap<Key, KeyState<T>>,
    /// Keys in creation order, for eviction.
    order: VecDeque<(u64, Key)>,
    pos: u64,
    stats: Stats,
}

impl<T: Clone> SampleMatcher<T> {
    pub fn new(sample: &Sample) -> Self {
        Self::with_config(sample, SampleConfig::default())
    }

    pub fn with_config(sample: &Sample, cfg: SampleConfig) -> Self {
        SampleMatcher {
            stages: flatten(&sample.by, &sample.optional_by, &sample.stages),
            cfg,
            states: HashMap::default(),
            order: VecDeque::new(),
            pos: 0,
            stats: Stats::default(),
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Feeds one event; returns the samples it completes.
    pub fn push(&mut self, ev: &Event, item: T) -> Vec<SampleMatch<T>> {
        self.pos += 1;
        self.stats.pushed += 1;
        let pos = self.pos;
        let n = self.stages.len();
        let max = self.cfg.max_samples_per_key.max(1);
        let mut out = Vec::new();
        let mut touched: Vec<Key> = Vec::new();
        for si in 0..n {
            if !self.stages[si].pred.matches(ev) {
                continue;
            }
            let st = &self.stages[si];
            let Some(key) = key_of_optional(ev, &st.keys, &st.optional) else {
                self.stats.null_key += 1;
                continue;
            };
            let st = match self.states.get_mut(&key) {
                Some(st) => st,
                None => {
                    self.order.push_back((pos, key.clone()));
                    self.states.entry(key.clone()).or_insert(KeyState {
                        candidates: (0..n).map(|_| Vec::new()).collect(),
                        emitted: 0,
                        created: pos,
                    })
                }
            };
            if st.emitted >= max {
                continue;
            }
            // Each sample needs at most n events per filter to find n distinct ones.
            if st.candidates[si].len() < n {
                st.candidates[si].push((pos, item.clone()));
            }
            if !touched.contains(&key) {
                touched.push(key);
            }
        }
        for key in touched {
            let Some(st) = self.states.get_mut(&key) else {
                continue;
            };
            while st.emitted < max {
                let Some(choice) = choose_distinct(&st.candidates) else {
                    break;
                };
                let mut items = Vec::with_capacity(n);
                let mut positions = Vec::with_capacity(n);
                for (si, &ci) in choice.iter().enumerate() {
                    let (p, it) = &st.candidates[si][ci];
                    positions.push(*p);
                    items.push(it.clone());
                }
                // The events used are not reused by a later sample of this key.
                for c in st.candidates.iter_mut() {
                    c.retain(|(p, _)| !positions.contains(p));
                }
                st.emitted += 1;
                if st.emitted >= max {
                    st.candidates.iter_mut().for_each(Vec::clear);
                }
                self.stats.matches += 1;
                out.push(SampleMatch {
                    key: key.clone(),
                    items,
                    positions,
                });
            }
        }
        if self.states.len() > self.cfg.max_keys {
            self.evict();
        }
        out
    }

    /// Drops the oldest keys still waiting for a sample, down to 90% of the cap. Keys whose
    /// samples are all produced stay (as markers, without candidates) unless needed.
    fn evict(&mut self) {
        let target = self.cfg.max_keys - self.cfg.max_keys / 10;
        while self.states.len() > target {
            let Some((created, key)) = self.order.pop_front() else {
                break;
            };
            if self
                .states
                .get(&key)
                .is_some_and(|st| st.created == created)
            {
                self.states.remove(&key);
                self.stats.evicted_cap += 1;
            }
        }
    }

    /// Keys currently tracked.
    pub fn keys(&self) -> usize {
        self.states.len()
    }
}

/// Picks one candidate per filter, all different events (backtracking, in push order).
fn choose_distinct<T>(cands: &[Vec<(u64, T)>]) -> Option<Vec<usize>> {
    fn go<T>(
        cands: &[Vec<(u64, T)>],
        i: usize,
        used: &mut Vec<u64>,
        pick: &mut Vec<usize>,
    ) -> bool {
        if i == cands.len() {
            return true;
        }
        for (ci, (p, _)) in cands[i].iter().enumerate() {
            if used.contains(p) {
                continue;
            }
            used.push(*p);
            pick.push(ci);
            if go(cands, i + 1, used, pick) {
                return true;
            }
            used.pop();
            pick.pop();
        }
        false
    }
    if cands.iter().any(Vec::is_empty) {
        return None;
    }
    let mut used = Vec::new();
    let mut pick = Vec::new();
    go(cands, 0, &mut used, &mut pick).then_some(pick)
}
