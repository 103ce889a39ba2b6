//! Discriminating-value index: most rules require one field to hold one of a few exact
//! values (`process.name in ("bash", "sh")`, `file.extension : "so"`, …). Rules are indexed
//! by (field, folded value); per event, the few indexed fields are looked up once and only
//! the rules whose required value is present (plus the rules with no such requirement) have
//! their conditions evaluated.
//!
//! Soundness: a key is taken only from a condition part that must be true for the whole
//! condition to be true — a conjunct of an `and`, every branch of an `or` (same field),
//! inside `NullAsFalse` — and only from exact string patterns. Values are compared folded
//! ([`spawnguard_query::value::fold`]), which equal strings keep equal whatever the case
//! sensitivity of the test, and non-string values through the same text conversion the
//! evaluator uses. So a rule whose key is absent from the event cannot match it.

use foldhash::HashMap;
use spawnguard_event::{Event, FieldPath, Probe, Value};
use spawnguard_query::ir::Pred;
use spawnguard_query::matcher::PatternKind;
use spawnguard_query::value::{fold, Val};

/// Fields that most events of a stream share a value of: keyed on only when nothing better
/// is required.
const BROAD: &[&str] = &[
    "event.category",
    "event.type",
    "event.kind",
    "event.action",
    "event.module",
    "event.dataset",
    "event.outcome",
    "data_stream.dataset",
    "host.os.type",
    "host.os.name",
    "host.os.family",
    "host.os.platform",
    "agent.type",
];

/// A required (field, values) part of a condition.
fn key_of(p: &Pred) -> Option<(String, Vec<String>)> {
    match p {
        Pred::Str { field, matcher } => {
            let pats = matcher.patterns();
            if pats.is_empty() {
                return None;
            }
            let mut vals = Vec::with_capacity(pats.len());
            for (k, s) in pats {
                let exact = *k == PatternKind::Exact
                    || (*k == PatternKind::Wildcard && !s.contains(['*', '?', '\\']));
                if !exact {
                    return None;
                }
                vals.push(fold(s).into_owned());
            }
            Some((field.as_str().to_string(), vals))
        }
        Pred::NullAsFalse(inner) => key_of(inner),
        Pred::And(ps) => ps
            .iter()
            .filter_map(key_of)
            .min_by_key(|(f, v)| (BROAD.contains(&f.as_str()), v.len())),
        Pred::Or(ps) => {
            let mut field: Option<String> = None;
            let mut all = Vec::new();
            for q in ps {
                let (f, v) = key_of(q)?;
                match &field {
                    Some(g) if *g != f => return None,
                    _ => field = Some(f),
                }
                all.extend(v);
            }
            field.map(|f| (f, all))
        }
        _ => None,
    }
}

/// The rules one (field, value) keys: as numbers, and as the non-zero words of a bit set
/// over rules (what [`KeyIndex::candidates`] ORs in: a value that keys many rules, like
/// `event.type == "start"`, costs a few word operations instead of one per rule).
#[derive(Debug, Default, Clone)]
struct Keyed {
    rules: Vec<u32>,
    words: Vec<(u32, u64)>,
}

impl Keyed {
    fn add(&mut self, rule: u32) {
        if self.rules.contains(&rule) {
            return;
        }
        self.rules.push(rule);
        let (w, bit) = (rule / 64, 1u64 << (rule % 64));
        match self.words.iter_mut().find(|(x, _)| *x == w) {
            Some((_, m)) => *m |= bit,
            None => self.words.push((w, bit)),
        }
    }
}

#[derive(Debug, Default)]
pub struct KeyIndex {
    fields: Vec<FieldPath>,
    /// Per indexed field: folded value -> rules.
    by_value: Vec<HashMap<String, Keyed>>,
    /// Per rule: whether it is keyed (else it is always a candidate).
    keyed: Vec<bool>,
    /// The rules that are not keyed, as a bit set over rules.
    unkeyed: Vec<u64>,
}

impl KeyIndex {
    /// `conds[i]`: the conditions of rule `i` (its event condition, or every stage); the
    /// rule can only matter to an event matching one of them.
    pub fn new(conds: &[Vec<&Pred>]) -> KeyIndex {
        let mut ix = KeyIndex {
            keyed: vec![false; conds.len()],
            ..KeyIndex::default()
        };
        for (ri, cs) in conds.iter().enumerate() {
            let keys: Option<Vec<(String, Vec<String>)>> = if cs.is_empty() {
                None
            } else {
                cs.iter().map(|c| key_of(c)).collect()
            };
            let Some(keys) = keys else { continue };
            ix.keyed[ri] = true;
            for (f, vals) in keys {
                let fi = match ix.fields.iter().position(|p| p.as_str() == f) {
                    Some(fi) => fi,
                    None => {
                        ix.fields.push(FieldPath::new(&f));
                        ix.by_value.push(HashMap::default());
                        ix.fields.len() - 1
                    }
                };
                for v in vals {
                    ix.by_value[fi].entry(v).or_default().add(ri as u32);
                }
            }
        }
        ix.unkeyed = vec![0u64; ix.keyed.len().div_ceil(64)];
        for (i, k) in ix.keyed.iter().enumerate() {
            if !k {
                ix.unkeyed[i / 64] |= 1u64 << (i % 64);
            }
        }
        ix
    }

    /// (keyed rules, indexed fields).
    pub fn summary(&self) -> (usize, usize) {
        (self.keyed.iter().filter(|k| **k).count(), self.fields.len())
    }

    /// Sets in `out` (a bit set over rules) every rule that may match `ev`.
    pub fn candidates(&self, ev: &Event, out: &mut Vec<u64>) {
        out.clear();
        out.extend_from_slice(&self.unkeyed);
        for (path, map) in self.fields.iter().zip(&self.by_value) {
            match ev.values_slice(path) {
                Some(vs) => vs.iter().for_each(|v| mark_value(map, v, out)),
                None => ev.values(path).iter().for_each(|v| mark_value(map, v, out)),
            }
        }
    }

    /// [`KeyIndex::candidates`] from a probe's values, for an index [`KeyIndex::restricted`]
    /// to the fields the probe provides.
    pub fn candidates_probe(&self, probe: &dyn Probe, out: &mut Vec<u64>) {
        out.clear();
        out.extend_from_slice(&self.unkeyed);
        for (path, map) in self.fields.iter().zip(&self.by_value) {
            probe.each(path.as_str(), &mut |v| mark_text(map, &fold(v), out));
        }
    }

    /// The index over only the `provided` fields: a rule keyed (in any of its conditions) by
    /// another field is no longer keyed, so it stays a candidate whatever the provided
    /// fields hold. Candidates from such a restricted index are a superset of the full
    /// index's on the same event.
    pub fn restricted(&self, provided: &[&str]) -> KeyIndex {
        let mut keyed = self.keyed.clone();
        for (path, map) in self.fields.iter().zip(&self.by_value) {
            if !provided.contains(&path.as_str()) {
                for &r in map.values().flat_map(|k| &k.rules) {
                    keyed[r as usize] = false;
                }
            }
        }
        let (fields, by_value) = self
            .fields
            .iter()
            .zip(&self.by_value)
            .filter(|(path, _)| provided.contains(&path.as_str()))
            .map(|(path, map)| (path.clone(), map.clone()))
            .unzip();
        let mut unkeyed = vec![0u64; keyed.len().div_ceil(64)];
        for (i, k) in keyed.iter().enumerate() {
            if !k {
                unkeyed[i / 64] |= 1u64 << (i % 64);
            }
        }
        KeyIndex {
            fields,
            by_value,
            keyed,
            unkeyed,
        }
    }
}

/// Sets in `out` the rules keyed on value `v` of a field (`map`: that field's index).
#[inline]
fn mark_value(map: &HashMap<String, Keyed>, v: &Value, out: &mut [u64]) {
    let owned;
    let text = match v {
        Value::String(s) => fold(s),
        other => match Val::from_json(other).to_text() {
            Some(t) => {
                owned = fold(&t).into_owned();
                std::borrow::Cow::Borrowed(owned.as_str())
            }
            None => return,
        },
    };
    mark_text(map, &text, out);
}

/// Sets in `out` the rules `map` keys by the folded value `text`.
#[inline]
fn mark_text(map: &HashMap<String, Keyed>, text: &str, out: &mut [u64]) {
    if let Some(k) = map.get(text) {
        for &(w, m) in &k.words {
            if let Some(x) = out.get_mut(w as usize) {
                *x |= m;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use spawnguard_query::{compile, CompileOptions, Language};

    fn event_pred(lang: Language, q: &str) -> Pred {
        match compile(lang, q, &CompileOptions::default()).map(|q| q.kind) {
            Ok(spawnguard_query::QueryKind::Event(p)) => p,
            other => panic!("{q}: {other:?}"),
        }
    }

    #[test]
    fn keyed_rules_are_candidates_exactly_when_their_value_is_present() {
        let preds = [
            event_pred(
                Language::Eql,
                r#"process where event.type == "start" and process.name in ("bash", "sh")"#,
            ),
            event_pred(Language::Kql, r#"process.name:CURL or process.name:wget"#),
            event_pred(Language::Kql, r#"process.args:*-c*"#),
            event_pred(Language::Kql, r#"process.pid >= 5"#),
            event_pred(Language::Eql, r#"process where process.pid == 5"#),
        ];
        let conds: Vec<Vec<&Pred>> = preds.iter().map(|p| vec![p]).collect();
        let ix = KeyIndex::new(&conds);
        // The last one is keyed by its category only (`process where`).
        assert_eq!(ix.keyed, vec![true, true, false, false, true]);
        let mut out = Vec::new();
        let cases = [
            (
                json!({"event": {"category": ["process"]}, "process": {"name": "BASH"}}),
                vec![true, false, true, true, true],
            ),
            (
                json!({"process.name": ["x", "curl"], "process.pid": 5}),
                vec![false, true, true, true, false],
            ),
            (
                json!({"process": {"name": "zsh"}}),
                vec![false, false, true, true, false],
            ),
            (json!({}), vec![false, false, true, true, false]),
        ];
        for (doc, want) in cases {
            let ev = Event::new(doc.clone());
            let mut bits = Vec::new();
            ix.candidates(&ev, &mut bits);
            out.clear();
            out.extend((0..preds.len()).map(|i| bits[i / 64] & (1u64 << (i % 64)) != 0));
            assert_eq!(out, want, "{doc}");
            // Never a false negative: a rule that matches is a candidate.
            for (i, p) in preds.iter().enumerate() {
                if p.matches(&ev) {
                    assert!(out[i], "rule {i} matches {doc} but is not a candidate");
                }
            }
        }
    }
}
