//! Whole queries: event queries, sequences and samples, with their pipes.

use crate::error::ParseError;
use crate::ir::Pred;
use crate::prefilter::Req;
use spawnguard_event::FieldPath;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Eql,
    Kql,
}

impl std::str::FromStr for Language {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "eql" => Ok(Language::Eql),
            "kql" | "kuery" => Ok(Language::Kql),
            other => Err(format!(
                "unknown query language `{other}` (expected eql or kql)"
            )),
        }
    }
}

/// The fields the languages depend on, as Elasticsearch's EQL search API names them.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// `event_category_field`: what `process where …` tests (default `event.category`).
    pub event_category_field: String,
    /// `timestamp_field`: orders sequences and measures `maxspan` (default `@timestamp`).
    pub timestamp_field: String,
    /// `tiebreaker_field`: orders events with equal timestamps (default none).
    pub tiebreaker_field: Option<String>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            event_category_field: "event.category".into(),
            timestamp_field: "@timestamp".into(),
            tiebreaker_field: None,
        }
    }
}

/// A compiled query.
#[derive(Debug, Clone)]
pub struct Query {
    pub language: Language,
    pub kind: QueryKind,
    pub pipes: Vec<Pipe>,
    pub timestamp_field: FieldPath,
    pub tiebreaker_field: Option<FieldPath>,
}

#[derive(Debug, Clone)]
pub enum QueryKind {
    /// `category where condition` (or a KQL query): one event at a time.
    Event(Pred),
    Sequence(Sequence),
    Sample(Sample),
}

/// `sequence [by k…] [with maxspan=…] [q1] [q2] … [until [q]]`.
#[derive(Debug, Clone)]
pub struct Sequence {
    /// Keys shared by all stages (`sequence by …`); each stage's own keys follow them.
    pub by: Vec<FieldPath>,
    /// Per shared key: `?field`, which may be null (missing) and then joins on null.
    pub optional_by: Vec<bool>,
    /// Largest time between the first and last event of a match, in nanoseconds.
    pub maxspan_ns: Option<i64>,
    pub stages: Vec<Stage>,
    pub until: Option<Stage>,
}

/// `sample by k… [q1] [q2] …`.
#[derive(Debug, Clone)]
pub struct Sample {
    pub by: Vec<FieldPath>,
    /// Per shared key: `?field` (see [`Sequence::optional_by`]).
    pub optional_by: Vec<bool>,
    pub stages: Vec<Stage>,
}

/// One bracketed query of a sequence or sample.
#[derive(Debug, Clone)]
pub struct Stage {
    pub pred: Pred,
    /// The stage's own join keys (`[…] by k…`).
    pub by: Vec<FieldPath>,
    /// Per own key: `?field` (see [`Sequence::optional_by`]).
    pub optional_by: Vec<bool>,
    /// `with runs=N`: the stage must match N consecutive times (1 by default).
    pub runs: u32,
    /// `![…]`: a missing event; the sequence matches only if no such event falls between
    /// its neighbours.
    pub missing: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipe {
    Head(usize),
    Tail(usize),
}

impl Query {
    /// The bytes any event that matters to this query must contain (see [`crate::prefilter`]).
    /// Every field the query reads: conditions, join keys, timestamp and tiebreaker.
    pub fn fields(&self, out: &mut Vec<FieldPath>) {
        let stages = |out: &mut Vec<FieldPath>, stages: &mut dyn Iterator<Item = &Stage>| {
            for st in stages {
                st.pred.fields(out);
                out.extend(st.by.iter().cloned());
            }
        };
        match &self.kind {
            QueryKind::Event(p) => p.fields(out),
            QueryKind::Sequence(s) => {
                out.extend(s.by.iter().cloned());
                stages(out, &mut s.stages.iter().chain(s.until.iter()));
            }
            QueryKind::Sample(s) => {
                out.extend(s.by.iter().cloned());
                stages(out, &mut s.stages.iter());
            }
        }
        out.push(self.timestamp_field.clone());
        out.extend(self.tiebreaker_field.iter().cloned());
    }

    /// The query's conditions: its event condition, or every stage of a sequence (`until`
    /// included) or sample. An event that matches none of them cannot matter to the query.
    pub fn conditions(&self) -> Vec<&Pred> {
        match &self.kind {
            QueryKind::Event(p) => vec![p],
            QueryKind::Sequence(s) => s
                .stages
                .iter()
                .chain(s.until.iter())
                .map(|st| &st.pred)
                .collect(),
            QueryKind::Sample(s) => s.stages.iter().map(|st| &st.pred).collect(),
        }
    }

    pub fn requirement(&self) -> Req {
        match &self.kind {
            QueryKind::Event(p) => Req::of(p),
            _ => Req::any(self.conditions().into_iter().map(Req::of).collect()),
        }
    }

    /// The condition of an event query.
    pub fn event_pred(&self) -> Option<&Pred> {
        match &self.kind {
            QueryKind::Event(p) => Some(p),
            _ => None,
        }
    }
}

/// Parses and compiles a query.
pub fn compile(language: Language, text: &str, opts: &CompileOptions) -> Result<Query, ParseError> {
    match language {
        Language::Eql => crate::eql::compile(text, opts),
        Language::Kql => crate::kql::compile(text, opts).map(|pred| Query {
            language: Language::Kql,
            kind: QueryKind::Event(pred.optimize()),
            pipes: Vec::new(),
            timestamp_field: FieldPath::new(&opts.timestamp_field),
            tiebreaker_field: opts.tiebreaker_field.as_deref().map(FieldPath::new),
        }),
    }
}

/// Reads an event's time in nanoseconds since the epoch: RFC 3339 text (any fraction), or a
/// number of milliseconds (as Elasticsearch's `date` accepts), or a numeric string of them.
pub fn timestamp_ns(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64().map(|ms| (ms * 1_000_000.0) as i64),
        serde_json::Value::String(s) => {
            parse_rfc3339_ns(s).or_else(|| s.parse::<f64>().ok().map(|ms| (ms * 1e6) as i64))
        }
        _ => None,
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (or a space instead of `T`, or a bare
/// date) into nanoseconds since the epoch.
pub fn parse_rfc3339_ns(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let days = days_from_civil(y, mo, d)?;
    if b.len() == 10 {
        return Some(days * 86_400 * 1_000_000_000);
    }
    if !matches!(b.get(10), Some(b'T') | Some(b't') | Some(b' ')) {
        return None;
    }
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut frac_ns = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        let mut scale = 100_000_000i64;
        for c in digits.bytes().take(9) {
            frac_ns += (c - b'0') as i64 * scale;
            scale /= 10;
        }
    }
    let offset_s = match b.get(i) {
        None => 0,
        Some(b'Z') | Some(b'z') => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(i + 1..i + 3)?;
            let om = if b.get(i + 3) == Some(&b':') {
                num(i + 4..i + 6)?
            } else {
                num(i + 3..i + 5).unwrap_or(0)
            };
            let o = oh * 3600 + om * 60;
            if sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    Some(secs * 1_000_000_000 + frac_ns)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> Option<i64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_rfc3339_ns("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ns("1970-01-01T00:00:01.5Z"),
            Some(1_500_000_000)
        );
        assert_eq!(parse_rfc3339_ns("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_rfc3339_ns("2026-11-24T10:00:00.123456789Z").map(|n| n % 1_000_000_000),
            Some(123_456_789)
        );
        assert_eq!(
            parse_rfc3339_ns("2000-03-01"),
            Some(951_868_800 * 1_000_000_000)
        );
        assert_eq!(parse_rfc3339_ns("yesterday"), None);
        assert_eq!(timestamp_ns(&serde_json::json!(1500)), Some(1_500_000_000));
    }
}
