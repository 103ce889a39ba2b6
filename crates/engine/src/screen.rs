//! The stateless, shareable half of the engine: which rules a raw line or an event can
//! matter to. It runs on any thread (see [`crate::pipeline`]).
//!
//! 1. One [`Prefilter`] over every rule's `query.requirement()` (plus the stream context's
//!    own literal, `python`, so that python processes and the model files they open are
//!    seen): a line no requirement accepts is not parsed at all.
//! 2. An index by `event.category`: the categories each rule needs, where its condition
//!    says (`process where …`, `event.category:process and …`, any `or` of them), so each
//!    event is evaluated only against rules that can match it.
//! 3. Event queries are evaluated here too; the stateful part gets the list of rules whose
//!    condition matched (sequence and sample rules are handed on for their matchers).

use crate::context::{Observation, Observer};
use crate::gate::Live;
use crate::keyindex::KeyIndex;
use crate::lazy::{LazyEvent, Raw};
use crate::shared::{Leaves, Memo, Node};
use foldhash::HashMap;
use smallvec::SmallVec;
use spawnguard_event::reader::{check_record, parse_record, BadRecord};
use spawnguard_event::{Event, FieldPath, Projection};
use spawnguard_query::ir::{CmpOp, Literal, Pred};
use spawnguard_query::matcher::PatternKind;
use spawnguard_query::prefilter::{Prefilter, Req, Scratch};
use spawnguard_query::query::timestamp_ns;
use spawnguard_query::QueryKind;
use spawnguard_rules::LoadedRule;
use std::borrow::Cow;
use std::sync::Arc;

/// Literal that makes a line interesting to the stream context even if no rule wants it.
pub const CONTEXT_LITERAL: &str = "python";

/// A line or event after screening.
#[derive(Debug)]
pub enum Prepared {
    /// No rule can match the line: not parsed.
    Skipped,
    Bad(BadRecord),
    Event(PreparedEvent),
}

/// Rules an event hit: rarely more than a few (inline, no allocation).
pub type Hits = SmallVec<[u32; 4]>;
/// A sequence rule and the bit mask of its conditions an event matched.
pub type Stages = SmallVec<[(u32, u64); 2]>;

#[derive(Debug)]
pub struct PreparedEvent {
    /// The event, when some rule needs it (`hits` not empty); otherwise it is dropped where
    /// it was screened (on a worker thread, where it was allocated).
    pub event: Option<Arc<LazyEvent>>,
    /// What the stream context learns from the event, extracted while screening.
    pub observation: Option<Observation>,
    /// The event's `@timestamp` (the stream clock).
    pub timestamp_ns: Option<i64>,
    pub source: Option<(Arc<str>, u64)>,
    /// Rules (indices) whose event condition matched, or sequence/sample rules that may
    /// care about this event.
    pub hits: Hits,
    /// For the sequence rules among `hits`: which of their conditions matched (bit `i`:
    /// stage `i` as written, then `until`), so that the sequence matcher does not evaluate
    /// them again (see `SequenceMatcher::push_matched`).
    pub stages: Stages,
}

pub struct Screen {
    prefilter: Prefilter,
    /// Per rule: `None` = every category, else lowercase categories.
    categories: Vec<Option<Vec<String>>>,
    /// Rules per category, and rules wanting every category, as bit sets over rules.
    pub(crate) by_category_bits: HashMap<String, Vec<u64>>,
    pub(crate) any_category_bits: Vec<u64>,
    /// Per rule, conditions as trees over shared, memoised leaves: the event condition, or
    /// every stage (and `until`) of a sequence or sample — an event that matches none of
    /// them is not handed to the rule's matcher.
    pub(crate) preds: Vec<Vec<Node>>,
    /// Per rule: a sequence whose conditions (at most 64) are all evaluated for
    /// [`PreparedEvent::stages`].
    staged: Vec<bool>,
    /// Per staged rule: the prefilter requirement of its first stage (the others follow in
    /// order); a stage whose requirement fails cannot match and is not evaluated.
    stage_reqs: Vec<Option<usize>>,
    /// Per staged rule: the conditions that matter even with no pending sequence (its first
    /// positive stage and its missing-event stages), as a bit mask; its later stages and
    /// `until` only extend or cut pending sequences (see [`ScreenScratch::live`]).
    always: Vec<u64>,
    pub(crate) leaves: Leaves,
    pub(crate) keys: KeyIndex,
    pub(crate) category_field: FieldPath,
    pub(crate) observer: Observer,
    timestamp_field: FieldPath,
    /// The fields any rule, the stream context or the stateful engine reads from an event
    /// before it becomes an alert: lines are parsed into this projection, and in full only
    /// for alerts (see [`crate::lazy`]). `None`: always parse in full.
    projection: Option<Projection>,
}

/// Per-thread scratch space for [`Screen`].
#[derive(Debug, Default)]
pub struct ScreenScratch {
    /// Which sequence rules have something pending, when the screen runs in step with the
    /// engine (each line handed to the engine before the next is screened): a sequence's
    /// later stages are then evaluated only for rules that have. `None` (screening ahead of
    /// the engine, on worker threads): every stage is evaluated.
    pub(crate) live: Option<Arc<Live>>,
    prefilter: Scratch,
    memo: Memo,
    bits: Bits,
}

/// Bit sets over rules, reused between events.
#[derive(Debug, Default)]
struct Bits {
    cand: Vec<u64>,
    other: Vec<u64>,
    /// Set by [`Screen::hits`] when the literals were scanned: the requirements whose
    /// anchor literal is present.
    anchored: Vec<u64>,
}

/// The `event.category` values a condition requires, when it says.
pub fn required_categories(p: &Pred, field: &str) -> Option<Vec<String>> {
    match p {
        Pred::Str { field: f, matcher } if f.as_str() == field => {
            let pats = matcher.patterns();
            let exact = pats.iter().all(|(k, s)| {
                *k == PatternKind::Exact
                    || (*k == PatternKind::Wildcard && !s.contains(['*', '?', '\\']))
            });
            (exact && !pats.is_empty())
                .then(|| pats.iter().map(|(_, s)| s.to_ascii_lowercase()).collect())
        }
        Pred::Cmp {
            field: f,
            op: CmpOp::Eq,
            value: Literal::Str(s),
            ..
        } if f.as_str() == field => Some(vec![s.to_ascii_lowercase()]),
        Pred::NullAsFalse(inner) => required_categories(inner, field),
        Pred::And(ps) => ps.iter().find_map(|q| required_categories(q, field)),
        Pred::Or(ps) => {
            let mut all = Vec::new();
            for q in ps {
                all.extend(required_categories(q, field)?);
            }
            Some(all)
        }
        _ => None,
    }
}

/// Every field read before an event becomes an alert: rule conditions, join keys and
/// timestamps, new-terms and threshold fields, `timestamp_override`, the category index and
/// the stream context. (Alerts, their identity, suppression and host labels read the whole
/// document.)
fn needed_fields(rules: &[LoadedRule], observer: &Observer) -> Vec<String> {
    let mut fields: Vec<FieldPath> = observer.fields();
    fields.push(FieldPath::new("event.category"));
    fields.push(FieldPath::new("@timestamp"));
    for r in rules {
        r.query.fields(&mut fields);
        let rule = &r.rule;
        fields.extend(rule.timestamp_override.as_deref().map(FieldPath::new));
        if let Some(nt) = &rule.new_terms {
            fields.extend(nt.fields.iter().map(|f| FieldPath::new(f)));
        }
        if let Some(t) = &rule.threshold {
            fields.extend(t.fields.iter().map(|f| FieldPath::new(f)));
            fields.extend(t.cardinality.iter().map(|c| FieldPath::new(&c.field)));
        }
        // Suppression groups are told apart from the projection, not the whole document.
        if let Some(s) = &rule.alert_suppression {
            fields.extend(s.group_by.iter().map(|f| FieldPath::new(f)));
        }
    }
    let mut out: Vec<String> = fields.iter().map(|f| f.as_str().to_string()).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The conditions of `q` (bit `k`: its `k`th, in [`spawnguard_query::query::Query::conditions`]
/// order) that matter with no pending sequence: a sequence's first positive stage and its
/// missing-event stages; every condition of any other query.
pub(crate) fn always_mask(q: &spawnguard_query::query::Query) -> u64 {
    let QueryKind::Sequence(s) = &q.kind else {
        return u64::MAX;
    };
    let first_positive = s.stages.iter().position(|st| !st.missing);
    s.stages
        .iter()
        .enumerate()
        .filter(|(k, st)| st.missing || Some(*k) == first_positive)
        .fold(0u64, |m, (k, _)| if k < 64 { m | 1 << k } else { m })
}

/// A bit set over `n` rules with the rules `rs` set.
fn rule_bits(rs: &[u32], n: usize) -> Vec<u64> {
    let mut out = vec![0u64; n.div_ceil(64)];
    for &r in rs {
        if let Some(w) = out.get_mut(r as usize / 64) {
            *w |= 1u64 << (r % 64);
        }
    }
    out
}

impl Screen {
    pub fn new(rules: &[LoadedRule]) -> Screen {
        let mut reqs: Vec<Req> = rules.iter().map(|r| r.query.requirement()).collect();
        reqs.push(Req::Lit(CONTEXT_LITERAL.into()));
        let category_field = "event.category";
        let mut categories = Vec::new();
        let mut preds = Vec::new();
        let mut leaves = Leaves::default();
        for r in rules {
            let conds = r.query.conditions();
            // Every condition must name its categories for the rule to be indexed by them.
            let cats = conds.iter().try_fold(Vec::new(), |mut all, p| {
                all.extend(required_categories(p, category_field)?);
                Some(all)
            });
            categories.push(cats);
            preds.push(conds.iter().map(|p| leaves.build(p)).collect());
        }
        let conds: Vec<Vec<&Pred>> = rules.iter().map(|r| r.query.conditions()).collect();
        let staged: Vec<bool> = rules
            .iter()
            .zip(&conds)
            .map(|(r, c)| matches!(r.query.kind, QueryKind::Sequence(_)) && c.len() <= 64)
            .collect();
        let always = rules.iter().map(|r| always_mask(&r.query)).collect();
        // Each stage's own literal requirement, after the rules' (a sequence's requirement
        // is `any` of its stages', so these imply it: whether any requirement holds is
        // unchanged).
        let stage_reqs = staged
            .iter()
            .zip(&conds)
            .map(|(&st, cs)| {
                st.then(|| {
                    let first = reqs.len();
                    reqs.extend(cs.iter().map(|c| Req::of(c)));
                    first
                })
            })
            .collect();
        let keys = KeyIndex::new(&conds);
        let mut by_category: HashMap<String, Vec<u32>> = HashMap::default();
        let mut any_category = Vec::new();
        for (i, c) in categories.iter().enumerate() {
            match c {
                None => any_category.push(i as u32),
                Some(cs) => {
                    for c in cs {
                        let v = by_category.entry(c.clone()).or_default();
                        if !v.contains(&(i as u32)) {
                            v.push(i as u32);
                        }
                    }
                }
            }
        }
        let observer = Observer::default();
        // The literal scan reads only the fields literals come from, and the stream
        // context's names, paths and command lines (for its own literal).
        let mut text_fields = observer.text_fields();
        for r in rules {
            for c in r.query.conditions() {
                Req::literal_fields(c, &mut text_fields);
            }
        }
        let projection =
            Some(Projection::new(needed_fields(rules, &observer)).with_text_fields(&text_fields));
        Screen {
            prefilter: Prefilter::new(&reqs),
            categories,
            by_category_bits: by_category
                .into_iter()
                .map(|(c, rs)| (c, rule_bits(&rs, rules.len())))
                .collect(),
            any_category_bits: rule_bits(&any_category, rules.len()),
            preds,
            staged,
            stage_reqs,
            always,
            leaves,
            keys,
            category_field: FieldPath::new(category_field),
            observer,
            timestamp_field: FieldPath::new("@timestamp"),
            projection,
        }
    }

    /// Parses every line in full instead of projecting it (the reference behaviour, kept
    /// for tests that check the projection changes nothing).
    pub fn without_projection(mut self) -> Screen {
        self.projection = None;
        self
    }

    /// How many fields lines are projected onto (`None`: parsed in full).
    pub fn projected_fields(&self) -> Option<usize> {
        self.projection.as_ref().map(Projection::len)
    }

    /// Rules with a known category set, and how many need every event.
    pub fn index_summary(&self) -> (usize, usize) {
        (
            self.categories.iter().filter(|c| c.is_some()).count(),
            self.any_category_bits
                .iter()
                .map(|w| w.count_ones() as usize)
                .sum(),
        )
    }

    /// (rules keyed by a required field value, fields indexed): see [`crate::keyindex`].
    pub fn key_summary(&self) -> (usize, usize) {
        self.keys.summary()
    }

    /// Screens one raw line: prefilter, parse, category index, event conditions.
    pub fn prepare_line(
        &self,
        bytes: &[u8],
        file: &Arc<str>,
        line: u64,
        scratch: &mut ScreenScratch,
    ) -> Prepared {
        self.prepare(bytes, None, file, line, scratch)
    }

    /// [`Screen::prepare_line`] for the record `start..end` of a batch: an event handed on
    /// refers to the batch's bytes instead of copying them (see [`crate::lazy::Raw`]); one
    /// that only a pending sequence could want is handed on without its view
    /// ([`LazyEvent::deferred`]), as the engine will most likely have no use for it.
    pub fn prepare_in_batch(
        &self,
        batch: &Arc<Vec<u8>>,
        (start, end): (usize, usize),
        file: &Arc<str>,
        line: u64,
        scratch: &mut ScreenScratch,
    ) -> Prepared {
        let bytes = batch.get(start..end).unwrap_or(&[]);
        self.prepare(bytes, Some((batch, start, end)), file, line, scratch)
    }

    fn prepare(
        &self,
        bytes: &[u8],
        batch: Option<(&Arc<Vec<u8>>, usize, usize)>,
        file: &Arc<str>,
        line: u64,
        scratch: &mut ScreenScratch,
    ) -> Prepared {
        // Projected first (one validating pass that builds only the fields rules read); then
        // one literal scan of those fields' text, and each rule's own formula is checked
        // only when the category index hands the rule this event (see `screen_event`).
        if let Some(ev) = self.projection.as_ref().and_then(|p| p.project(bytes)) {
            self.prefilter
                .mark_each_text(&mut scratch.prefilter, |mark| {
                    if let Some(flat) = ev.as_flat() {
                        flat.each_text(mark);
                    }
                });
            let mut stages = Stages::new();
            let hits = self.hits(
                &ev,
                Some(&scratch.prefilter),
                &mut scratch.memo,
                &mut scratch.bits,
                &mut stages,
                scratch.live.as_deref(),
            );
            // A rule that matched needed its requirement; otherwise ask whether any other
            // requirement (another category's rule, the stream context) holds.
            if hits.is_empty()
                && !self
                    .prefilter
                    .any_holds_among(&scratch.prefilter, &scratch.bits.anchored)
            {
                return Prepared::Skipped;
            }
            // The record's bytes, for an event handed on (not copied out of a batch), and
            // whether its view may be left out.
            let raw = (!hits.is_empty()).then(|| match batch {
                Some((b, s, e)) => Raw::Shared(b.clone(), s, e),
                None => Raw::Own(Arc::from(bytes)),
            });
            let defer = batch.is_some() && self.later_stages_only(&stages, &hits);
            // Where it came from matters only to alerts (no shared count touched otherwise).
            let source = (!hits.is_empty()).then(|| (file.clone(), line));
            return Prepared::Event(self.prepared(
                ev,
                raw.map(|r| (r, defer)),
                source,
                hits,
                stages,
            ));
        }
        // Not projectable (a search hit's `_source`, control bytes, a syntax error, or no
        // projection): one scan of the raw line, so that lines no rule wants are not parsed.
        let any = self.prefilter.scan(bytes, &mut scratch.prefilter);
        if !any {
            // Not built, but still checked (one validating pass that allocates nothing), so
            // that a malformed line is reported and counted even when no rule could match it.
            return match check_record(file, line, bytes) {
                Err(bad) => Prepared::Bad(bad),
                Ok(()) => Prepared::Skipped,
            };
        }
        match parse_record(file, line, bytes) {
            Err(bad) => Prepared::Bad(bad),
            Ok(ev) => Prepared::Event(self.screen_event(
                ev,
                Some((file.clone(), line)),
                Some(&scratch.prefilter),
                &mut scratch.memo,
                &mut scratch.bits,
            )),
        }
    }

    /// Screens an already parsed event (every rule is a prefilter candidate).
    pub fn prepare_event(&self, ev: Event, source: Option<(Arc<str>, u64)>) -> PreparedEvent {
        self.screen_event(ev, source, None, &mut Memo::default(), &mut Bits::default())
    }

    fn screen_event(
        &self,
        ev: Event,
        source: Option<(Arc<str>, u64)>,
        scanned: Option<&Scratch>,
        memo: &mut Memo,
        bits: &mut Bits,
    ) -> PreparedEvent {
        let mut stages = Stages::new();
        let hits = self.hits(&ev, scanned, memo, bits, &mut stages, None);
        self.prepared(ev, None, source, hits, stages)
    }

    /// Rules (indices, ascending) whose condition matched the event, or sequence/sample
    /// rules with a stage it matched; and in `stages`, the sequence rules' stage results.
    fn hits(
        &self,
        ev: &Event,
        scanned: Option<&Scratch>,
        memo: &mut Memo,
        bits: &mut Bits,
        stages: &mut Stages,
        live: Option<&Live>,
    ) -> Hits {
        memo.reset(&self.leaves);
        // Candidates: rules of the event's categories (or of every category), whose required
        // value is present (see `KeyIndex`), and whose anchor literal occurs (see
        // `Prefilter::anchor_candidates`); each is then checked against its whole literal
        // formula and evaluated.
        let words = self.preds.len().div_ceil(64);
        bits.cand.clear();
        bits.cand.extend_from_slice(&self.any_category_bits);
        bits.cand.resize(words, 0);
        for v in ev.values(&self.category_field) {
            let Some(s) = v.as_str() else { continue };
            let c: Cow<str> = if s.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(s.to_ascii_lowercase())
            } else {
                Cow::Borrowed(s)
            };
            if let Some(rs) = self.by_category_bits.get(&*c) {
                for (x, y) in bits.cand.iter_mut().zip(rs) {
                    *x |= y;
                }
            }
        }
        self.keys.candidates(ev, &mut bits.other);
        for (x, y) in bits.cand.iter_mut().zip(&bits.other) {
            *x &= y;
        }
        if let Some(sc) = scanned {
            self.prefilter.anchor_candidates(sc, &mut bits.anchored);
            for (x, y) in bits.cand.iter_mut().zip(&bits.anchored) {
                *x &= y;
            }
        }
        let mut hits = Hits::new();
        for (w, &word) in bits.cand.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                let i = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                // Its anchor was checked with the candidates; now its whole formula.
                if scanned.is_some_and(|sc| !self.prefilter.formula_holds(i, sc)) {
                    continue;
                }
                let Some(conds) = self.preds.get(i) else {
                    continue;
                };
                if self.staged.get(i).copied().unwrap_or(false) {
                    // Every stage, for the matcher (which would evaluate them otherwise);
                    // only those that matter now when the engine's state is known.
                    let mut wanted = match live {
                        Some(l) if !l.get(i) => self.always.get(i).copied().unwrap_or(u64::MAX),
                        _ => u64::MAX,
                    };
                    if let (Some(sc), Some(Some(first))) = (scanned, self.stage_reqs.get(i)) {
                        for k in 0..conds.len() {
                            if wanted >> k & 1 == 1 && !self.prefilter.holds(first + k, sc) {
                                wanted &= !(1u64 << k);
                            }
                        }
                    }
                    let mut matched = 0u64;
                    for (k, p) in conds.iter().enumerate() {
                        if wanted >> k & 1 == 1 && p.matches(ev, &self.leaves, memo) {
                            matched |= 1 << k;
                        }
                    }
                    if matched != 0 {
                        hits.push(i as u32);
                        stages.push((i as u32, matched));
                    }
                } else if conds.iter().any(|p| p.matches(ev, &self.leaves, memo)) {
                    hits.push(i as u32);
                }
            }
        }
        hits
    }

    /// Whether every hit is a sequence's later stage (or `until`) only: such an event matters
    /// only if the rule has something pending when the engine gets to it.
    fn later_stages_only(&self, stages: &[(u32, u64)], hits: &[u32]) -> bool {
        stages.len() == hits.len()
            && stages
                .iter()
                .all(|&(r, m)| self.always.get(r as usize).is_some_and(|a| m & a == 0))
    }

    /// Drops the hits that can change nothing: of a sequence with nothing pending, matched
    /// by none of the stages that start or block a sequence (as the one-thread screen does
    /// not even evaluate them; worker threads screen ahead of the sequences' state).
    pub(crate) fn drop_idle_hits(&self, hits: &mut Hits, stages: &[(u32, u64)], live: &Live) {
        hits.retain(|ri| {
            let ri = *ri;
            let matched = stages.iter().find(|(r, _)| *r == ri).map(|s| s.1);
            match (matched, self.always.get(ri as usize)) {
                (Some(m), Some(a)) => m & a != 0 || live.get(ri as usize),
                _ => true,
            }
        });
    }

    /// The projection of a record (`None`: not projectable, or no projection).
    pub(crate) fn project(&self, bytes: &[u8]) -> Option<Event> {
        self.projection.as_ref().and_then(|p| p.project(bytes))
    }

    /// `raw`: the record's bytes when `ev` is its projection, and whether the view may be
    /// left out ([`LazyEvent::deferred`]).
    fn prepared(
        &self,
        ev: Event,
        raw: Option<(Raw, bool)>,
        source: Option<(Arc<str>, u64)>,
        hits: Hits,
        stages: Stages,
    ) -> PreparedEvent {
        let observation = self.observer.observe(&ev);
        let timestamp_ns = ev.first(&self.timestamp_field).and_then(timestamp_ns);
        PreparedEvent {
            // Made here (on a worker thread, where it is freed again: see
            // `Engine::keep_trash`).
            event: (!hits.is_empty()).then(|| {
                Arc::new(match raw {
                    Some((raw, false)) => LazyEvent::projected(ev, raw),
                    Some((raw, true)) => LazyEvent::deferred(raw),
                    None => LazyEvent::whole(ev),
                })
            }),
            observation,
            timestamp_ns,
            source,
            hits,
            stages,
        }
    }
}
