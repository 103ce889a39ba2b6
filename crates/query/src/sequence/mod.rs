//! `sequence` and `sample` queries over time-ordered events, with Elasticsearch's semantics.
//!
//! Both matchers are streaming state machines, generic over what the caller stores per
//! matched event (`T`: a line number, the raw bytes, a parsed event…). The same code serves
//! `spawnguard query` (batch: the caller sorts events by timestamp, then tiebreaker, then
//! input order, and pushes them in that order) and the live engine (streaming: events arrive
//! roughly in time order).
//!
//! # Ordering
//!
//! An event's position is the order in which it is pushed. Elasticsearch orders by the
//! timestamp field, then the tiebreaker field, then an implicit tiebreaker; the batch caller
//! reproduces that by sorting. Streaming assumes timestamps never go backwards; an event
//! older than the newest seen is still processed at its arrival position (and counted in
//! [`Stats::late`]), so state that time eviction already dropped cannot be revived.
//!
//! # Join keys
//!
//! A stage's key is the values of `sequence by …` followed by the stage's own `by …`
//! fields, compared position by position, as values: strings byte for byte (case-sensitive,
//! as keyword fields are), numbers numerically (`5` and `5.0` agree, `"5"` and `5` do not),
//! a multi-valued field as the whole list. An event whose key field is missing or null is
//! not part of any sequence or sample: since Elasticsearch 8.0 (PR #79677, "limit joining
//! keys on non-null values only") a join key must be non-null unless the field is written
//! `?field`, which the IR does not carry.

mod sample;
mod seq;

pub use sample::{SampleConfig, SampleMatch, SampleMatcher};
pub use seq::{SequenceConfig, SequenceMatch, SequenceMatcher};

use crate::ir::Pred;
use crate::query::Stage;
use spawnguard_event::{Event, FieldPath, Value};
use std::cmp::Ordering;

/// One join-key value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyValue {
    Bool(bool),
    Int(i64),
    Float(OrdF64),
    Str(String),
    /// A field holding several values (an array), kept whole.
    List(Vec<KeyValue>),
    /// An optional key (`by ?field`) that the event lacks: null, and equal to null.
    Null,
}

/// An `f64` with a total order, so that keys can be hashed and sorted.
#[derive(Debug, Clone, Copy)]
pub struct OrdF64(pub f64);

impl PartialEq for OrdF64 {
    fn eq(&self, o: &Self) -> bool {
        self.0.total_cmp(&o.0) == Ordering::Equal
    }
}
impl Eq for OrdF64 {}
impl std::hash::Hash for OrdF64 {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.to_bits().hash(h)
    }
}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}

impl KeyValue {
    /// A JSON leaf as a key value; null, objects and arrays give `None`.
    pub fn from_json(v: &Value) -> Option<KeyValue> {
        match v {
            Value::Bool(b) => Some(KeyValue::Bool(*b)),
            Value::Number(n) => Some(match n.as_i64() {
                Some(i) => KeyValue::Int(i),
                None => {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    if f.fract() == 0.0 && f.abs() < 9.0e15 {
                        KeyValue::Int(f as i64)
                    } else {
                        KeyValue::Float(OrdF64(f))
                    }
                }
            }),
            Value::String(s) => Some(KeyValue::Str(s.clone())),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }

    /// The key value of a field: `None` when it has no non-null value.
    pub fn of_field(ev: &Event, field: &FieldPath) -> Option<KeyValue> {
        let vals = ev.values(field);
        match vals.len() {
            0 => None,
            1 => KeyValue::from_json(vals[0]),
            _ => Some(KeyValue::List(
                vals.iter().filter_map(|v| KeyValue::from_json(v)).collect(),
            )),
        }
    }

    /// The value as JSON (for output).
    pub fn to_json(&self) -> Value {
        match self {
            KeyValue::Bool(b) => Value::Bool(*b),
            KeyValue::Int(i) => Value::from(*i),
            KeyValue::Float(f) => serde_json::Number::from_f64(f.0)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            KeyValue::Str(s) => Value::String(s.clone()),
            KeyValue::List(l) => Value::Array(l.iter().map(KeyValue::to_json).collect()),
            KeyValue::Null => Value::Null,
        }
    }
}

/// The join key of an event for one stage: one value per key field.
pub type Key = Vec<KeyValue>;

/// The key of `ev` over `fields`, or `None` if any of them is missing or null.
pub fn key_of(ev: &Event, fields: &[FieldPath]) -> Option<Key> {
    fields.iter().map(|f| KeyValue::of_field(ev, f)).collect()
}

/// [`key_of`] where `optional[i]` marks `fields[i]` as `?field`: Elasticsearch joins on
/// null for an optional key the event lacks, and drops the event only when a key that is
/// not optional is missing.
pub fn key_of_optional(ev: &Event, fields: &[FieldPath], optional: &[bool]) -> Option<Key> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| match KeyValue::of_field(ev, f) {
            Some(v) => Some(v),
            None if optional.get(i).copied().unwrap_or(false) => Some(KeyValue::Null),
            None => None,
        })
        .collect()
}

/// A stage after `runs` expansion, with its full key (shared keys, then its own).
#[derive(Debug, Clone)]
pub(crate) struct Flat {
    pub pred: Pred,
    pub keys: Vec<FieldPath>,
    /// Per key: `?field` (null allowed).
    pub optional: Vec<bool>,
    pub missing: bool,
    /// Which stage of the query (before `runs` expansion) this is.
    pub stage: usize,
}

/// Expands `with runs=N` into N copies of the stage, as Elasticsearch does, and prefixes
/// each stage's keys with the shared ones.
pub(crate) fn flatten(
    shared: &[FieldPath],
    shared_optional: &[bool],
    stages: &[Stage],
) -> Vec<Flat> {
    let mut out = Vec::new();
    for (stage, st) in stages.iter().enumerate() {
        let mut keys = shared.to_vec();
        keys.extend(st.by.iter().cloned());
        let mut optional: Vec<bool> = (0..shared.len())
            .map(|i| shared_optional.get(i).copied().unwrap_or(false))
            .collect();
        optional.extend((0..st.by.len()).map(|i| st.optional_by.get(i).copied().unwrap_or(false)));
        for _ in 0..st.runs.max(1) {
            out.push(Flat {
                pred: st.pred.clone(),
                keys: keys.clone(),
                optional: optional.clone(),
                missing: st.missing,
                stage,
            });
        }
    }
    out
}

/// Counters kept by both matchers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events pushed.
    pub pushed: u64,
    /// Events that matched a stage but lacked a join-key value.
    pub null_key: u64,
    /// Events whose timestamp was older than the newest already seen.
    pub late: u64,
    /// Partial sequences (or unfinished sample keys) dropped because the hard cap on state
    /// was reached.
    pub evicted_cap: u64,
    /// Partial sequences dropped because they could no longer complete within `maxspan`.
    pub evicted_maxspan: u64,
    /// Partial sequences dropped by an `until` event.
    pub dropped_until: u64,
    /// Completed sequences dropped because a missing (`![…]`) event was found.
    pub dropped_missing: u64,
    /// Partial sequences overwritten by a more recent one in the same state.
    pub replaced: u64,
    /// Matches returned.
    pub matches: u64,
}
