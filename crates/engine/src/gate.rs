//! Whether an event is worth building at all: a cheap, sound check on a [`Probe`] of a few of
//! its fields, for a live sensor that would otherwise build a whole ECS document for every
//! exec and hand it to the engine only for no rule to want it.
//!
//! An event passes when one of the conditions the screen would evaluate on it may be true,
//! or when it matters to the stream context:
//! 1. the candidate rules, by the screen's own indexes: its `event.category`, and the
//!    required field values of [`crate::keyindex`] restricted to the fields the probe
//!    provides;
//! 2. per candidate, each condition (an event query's, or a stage of a sequence or sample)
//!    that reads only provided fields is evaluated on a small event made of the probe's
//!    values; one that reads any other field counts as true;
//! 3. a sequence's later stages and its `until` count only while the rule has pending
//!    partial sequences ([`Live`], kept by the engine): with none, an event matching them
//!    changes nothing (its first positive stage and its missing-event stages always count);
//! 4. the stream context: the event mentions [`crate::screen::CONTEXT_LITERAL`] in a name,
//!    path or command line the probe provides, as a recorded line would pass the prefilter.
//!
//! Soundness: a condition that is true on the built event is true on the small event (same
//! values at every field it reads) or is not evaluated; a rule whose condition is true is a
//! candidate of the screen, and the gate's candidates are a superset of the screen's (a field
//! the probe does not provide leaves every rule keyed by it a candidate, as does a probe
//! without `event.category`). So an event the gate turns away would have raised nothing,
//! advanced no sequence and fed no history. What the engine's stream context would have
//! learnt of a process nobody asked about is lost, as for a recorded line the prefilter skips.

use crate::keyindex::KeyIndex;
use crate::screen::{always_mask, Screen, CONTEXT_LITERAL};
use crate::shared::Memo;
use crate::wants::{ruled_out, Shape};
use foldhash::HashMap;
use spawnguard_event::{Event, FieldPath, Map, Probe, Value};
use spawnguard_query::ir::Pred;
use spawnguard_query::matcher::StrMatcher;
use spawnguard_query::query::Query;
use spawnguard_rules::LoadedRule;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Rules (bit per rule) with pending partial sequences, kept by the engine as it goes.
#[derive(Debug)]
pub struct Live(Vec<AtomicU64>);

impl Live {
    pub(crate) fn new(rules: usize) -> Live {
        Live((0..rules.div_ceil(64)).map(|_| AtomicU64::new(0)).collect())
    }

    pub(crate) fn set(&self, rule: usize, live: bool) {
        if let Some(w) = self.0.get(rule / 64) {
            let bit = 1u64 << (rule % 64);
            if live {
                w.fetch_or(bit, Ordering::Relaxed);
            } else {
                w.fetch_and(!bit, Ordering::Relaxed);
            }
        }
    }

    pub fn get(&self, rule: usize) -> bool {
        self.0
            .get(rule / 64)
            .is_some_and(|w| w.load(Ordering::Relaxed) & (1u64 << (rule % 64)) != 0)
    }
}

/// What the gate knows of one condition of a rule.
#[derive(Debug, Clone)]
struct CondInfo {
    /// Whether it matters with no pending sequence (see the module documentation, 3).
    always: bool,
    /// Whether it reads only provided fields (then it is evaluated on the small event).
    evaluable: bool,
    /// Whether no event of the probes' shape can match it ([`crate::wants::ruled_out`]).
    ruled_out: bool,
    /// Tests it needs to pass, made on the probe's values directly (no small event).
    necessary: Vec<Necessary>,
}

/// A necessary part of a condition: it can be true only if some value of `field` matches one
/// of `matchers` (string tests — `:`, `==` with a string, `like`, `in`… — are true when any
/// element matches; see [`necessary`]).
#[derive(Debug, Clone)]
struct Necessary {
    field: String,
    matchers: Vec<StrMatcher>,
}

impl Necessary {
    fn holds(&self, probe: &dyn Probe) -> bool {
        let mut any = false;
        probe.each(&self.field, &mut |v| {
            any = any || self.matchers.iter().any(|m| m.matches(v))
        });
        any
    }
}

/// The string tests of provided fields that `p` cannot be true without: a string test itself,
/// every such conjunct of an `and`, and for an `or` one test per branch on a common field
/// (any branch true makes its own test true).
fn necessary(p: &Pred, provided: &[&str], out: &mut Vec<Necessary>) {
    match p {
        Pred::Str { field, matcher } if provided.contains(&field.as_str()) => out.push(Necessary {
            field: field.as_str().to_string(),
            matchers: vec![matcher.clone()],
        }),
        Pred::NullAsFalse(inner) => necessary(inner, provided, out),
        Pred::And(ps) => ps.iter().for_each(|q| necessary(q, provided, out)),
        Pred::Or(ps) => {
            let branches: Vec<Vec<Necessary>> = ps
                .iter()
                .map(|q| {
                    let mut mine = Vec::new();
                    necessary(q, provided, &mut mine);
                    mine
                })
                .collect();
            let Some(first) = branches.first() else {
                return;
            };
            // A field every branch tests; its tests, one per branch, together.
            let common = first
                .iter()
                .map(|n| &n.field)
                .find(|f| branches.iter().all(|b| b.iter().any(|n| &n.field == *f)));
            let Some(field) = common else { return };
            let mut matchers = Vec::new();
            for b in &branches {
                if let Some(n) = b.iter().find(|n| &n.field == field) {
                    matchers.extend(n.matchers.iter().cloned());
                }
            }
            out.push(Necessary {
                field: field.clone(),
                matchers,
            });
        }
        _ => {}
    }
}

pub struct Gate {
    screen: Arc<Screen>,
    live: Arc<Live>,
    /// Rules per lowercase category; `None` when the probe does not provide the category.
    by_category: Option<HashMap<String, Vec<u64>>>,
    any_category: Vec<u64>,
    keys: KeyIndex,
    /// Per rule, per condition (in [`Query::conditions`] order, as the screen's).
    conds: Vec<Vec<CondInfo>>,
    /// The fields the small event is made of.
    small_fields: Vec<String>,
    /// Provided fields whose text the stream context looks for its literal in.
    context_fields: Vec<String>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("keys", &self.keys.summary())
            .field("small_fields", &self.small_fields)
            .field("context_fields", &self.context_fields)
            .finish_non_exhaustive()
    }
}

/// Per-thread scratch space.
#[derive(Debug, Default)]
pub struct GateScratch {
    cand: Vec<u64>,
    keys: Vec<u64>,
    memo: Memo,
}

impl Gate {
    /// `rules`: those the screen was built from, in the same order; `shape`: the values every
    /// probed event has in a few fields (its kind, see [`crate::wants`]).
    pub(crate) fn new(
        screen: Arc<Screen>,
        live: Arc<Live>,
        rules: &[LoadedRule],
        provided: &[&str],
        shape: &Shape<'_>,
    ) -> Gate {
        let is_provided = |f: &FieldPath| provided.contains(&f.as_str());
        let by_category = is_provided(&screen.category_field).then(|| {
            screen
                .by_category_bits
                .iter()
                .map(|(c, b)| (c.clone(), b.clone()))
                .collect()
        });
        let mut small_fields: Vec<String> = Vec::new();
        let conds = rules
            .iter()
            .map(|r| cond_info(&r.query, provided, shape, &mut small_fields))
            .collect();
        small_fields.sort_unstable();
        small_fields.dedup();
        let context_fields = screen
            .observer
            .text_fields()
            .iter()
            .filter(|f| is_provided(f))
            .map(|f| f.as_str().to_string())
            .collect();
        Gate {
            by_category,
            any_category: screen.any_category_bits.clone(),
            keys: screen.keys.restricted(provided),
            conds,
            small_fields,
            context_fields,
            live,
            screen,
        }
    }

    /// Whether the event `probe` describes may matter to a rule or to the stream context.
    pub fn wants(&self, probe: &dyn Probe, scratch: &mut GateScratch) -> bool {
        self.each_wanting(probe, scratch, &mut |_| true) || self.context_wants(probe)
    }

    /// Every rule (index) that may want the event `probe` describes: a superset of the rules
    /// the screen would hand it to, less sequences' later stages with nothing pending.
    pub fn rules_wanting(&self, probe: &dyn Probe, scratch: &mut GateScratch) -> Vec<u32> {
        let mut out = Vec::new();
        self.each_wanting(probe, scratch, &mut |i| {
            out.push(i as u32);
            false
        });
        out
    }

    /// Calls `f` with each rule that may want the event, until `f` returns true; returns
    /// whether it did.
    fn each_wanting(
        &self,
        probe: &dyn Probe,
        scratch: &mut GateScratch,
        f: &mut dyn FnMut(usize) -> bool,
    ) -> bool {
        self.candidates(probe, scratch);
        let mut small: Option<Event> = None;
        for (w, &word) in scratch.cand.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                let i = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                if self.rule_may_want(i, probe, &mut small, &mut scratch.memo) && f(i) {
                    return true;
                }
            }
        }
        false
    }

    /// Sets `scratch.cand` to the candidate rules: category ∩ required values.
    fn candidates(&self, probe: &dyn Probe, scratch: &mut GateScratch) {
        let cand = &mut scratch.cand;
        cand.clear();
        match &self.by_category {
            None => cand.resize(self.any_category.len(), u64::MAX),
            Some(by) => {
                cand.extend_from_slice(&self.any_category);
                probe.each(self.screen.category_field.as_str(), &mut |c| {
                    if let Some(rs) = by.get(&c.to_ascii_lowercase()) {
                        for (x, y) in cand.iter_mut().zip(rs) {
                            *x |= y;
                        }
                    }
                });
            }
        }
        self.keys.candidates_probe(probe, &mut scratch.keys);
        for (x, y) in cand.iter_mut().zip(&scratch.keys) {
            *x &= y;
        }
    }

    fn rule_may_want(
        &self,
        i: usize,
        probe: &dyn Probe,
        small: &mut Option<Event>,
        memo: &mut Memo,
    ) -> bool {
        let (Some(infos), Some(nodes)) = (self.conds.get(i), self.screen.preds.get(i)) else {
            return true;
        };
        let mut live: Option<bool> = None;
        for (info, node) in infos.iter().zip(nodes) {
            if info.ruled_out
                || (!info.always && !*live.get_or_insert_with(|| self.live.get(i)))
                || info.necessary.iter().any(|n| !n.holds(probe))
            {
                continue;
            }
            if !info.evaluable {
                return true;
            }
            let ev = small.get_or_insert_with(|| {
                memo.reset(&self.screen.leaves);
                self.small_event(probe)
            });
            if node.matches(ev, &self.screen.leaves, memo) {
                return true;
            }
        }
        false
    }

    /// The probe's values at every field some evaluable condition reads, as one event.
    fn small_event(&self, probe: &dyn Probe) -> Event {
        let mut m = Map::with_capacity(self.small_fields.len());
        for f in &self.small_fields {
            let mut vals: Vec<Value> = Vec::new();
            probe.each(f, &mut |v| vals.push(Value::String(v.to_string())));
            // An empty array holds no value, as a missing field (Elasticsearch indexes neither).
            let v = match vals.len() {
                0 => continue,
                1 if !probe.array(f) => vals.remove(0),
                _ => Value::Array(vals),
            };
            m.insert(f.clone(), v);
        }
        Event::new(Value::Object(m))
    }

    fn context_wants(&self, probe: &dyn Probe) -> bool {
        let mut context = false;
        for f in &self.context_fields {
            probe.each(f, &mut |v| {
                context |= contains_folded(v.as_bytes(), CONTEXT_LITERAL.as_bytes())
            });
            if context {
                return true;
            }
        }
        false
    }
}

/// Per condition of `q` (in [`Query::conditions`] order), what the gate needs to know; the
/// fields of those it evaluates on the small event go to `small_fields`.
fn cond_info(
    q: &Query,
    provided: &[&str],
    shape: &Shape<'_>,
    small_fields: &mut Vec<String>,
) -> Vec<CondInfo> {
    // A sequence's first positive stage and its missing-event stages always matter; its later
    // stages and `until` only extend or cut pending sequences. Every other condition always.
    let always = always_mask(q);
    q.conditions()
        .into_iter()
        .enumerate()
        .map(|(k, p)| {
            let always = k < 64 && always >> k & 1 == 1;
            let mut fields = Vec::new();
            p.fields(&mut fields);
            let mut needs = Vec::new();
            necessary(p, provided, &mut needs);
            let info = CondInfo {
                always,
                evaluable: fields.iter().all(|f| provided.contains(&f.as_str())),
                ruled_out: ruled_out(p, shape),
                necessary: needs,
            };
            if info.evaluable && !info.ruled_out {
                small_fields.extend(fields.iter().map(|f| f.as_str().to_string()));
            }
            info
        })
        .collect()
}

/// Whether `hay` contains `needle` (lowercase ASCII), ignoring ASCII case.
fn contains_folded(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len()
        && hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}
