//! Alert suppression: the rule's `alert_suppression` and a default per-rule cap.
//!
//! * `alert_suppression.group_by` with `duration`: after an alert for a group (the
//!   combination of the group-by values), further alerts of that group within `duration` of
//!   event time are suppressed (counted, not printed). Without `duration` ("per rule
//!   execution" in Kibana) a hunt is one execution: one alert per group per run.
//!   `missing_fields_strategy = "doNotSuppress"` never suppresses events lacking a
//!   group-by field; the default (`suppress`) groups them together.
//! * The default cap: at most `per_minute` alerts per rule per minute of event time; the
//!   rest are suppressed and counted, so a flood does not bury the terminal.

use crate::terms::field_values;
use spawnguard_event::{Event, FieldPath};
use spawnguard_rules::Rule;
use std::collections::HashMap;

pub enum Verdict {
    Emit,
    Suppress,
}

pub struct Suppressor {
    group_by: Vec<FieldPath>,
    duration_ns: Option<i64>,
    do_not_suppress_missing: bool,
    enabled: bool,
    groups: HashMap<Vec<Vec<String>>, i64>,
    per_minute: u64,
    bucket_len: i64,
    bucket: i64,
    in_bucket: u64,
}

impl Suppressor {
    pub fn new(rule: &Rule, per_minute: u64, bucket_len: i64) -> Suppressor {
        let s = rule.alert_suppression.as_ref();
        Suppressor {
            group_by: s
                .map(|s| s.group_by.iter().map(|f| FieldPath::new(f)).collect())
                .unwrap_or_default(),
            duration_ns: s
                .and_then(|s| s.duration_secs)
                .map(|d| (d as i64).saturating_mul(1_000_000_000)),
            do_not_suppress_missing: s
                .map(|s| s.missing_fields_strategy == "doNotSuppress")
                .unwrap_or(false),
            enabled: s.is_some_and(|s| !s.group_by.is_empty()),
            groups: HashMap::new(),
            per_minute,
            bucket_len: bucket_len.max(1),
            bucket: i64::MIN,
            in_bucket: 0,
        }
    }

    /// The verdict on an alert at event time `ts`; `event` gives its whole document, asked
    /// for only when the rule groups by fields.
    pub fn check<E: std::ops::Deref<Target = Event>>(
        &mut self,
        event: impl FnOnce() -> E,
        ts: i64,
    ) -> Verdict {
        if self.enabled {
            let ev = event();
            let key: Vec<Vec<String>> =
                self.group_by.iter().map(|f| field_values(&ev, f)).collect();
            let missing = key.iter().any(Vec::is_empty);
            if !(missing && self.do_not_suppress_missing) {
                match self.groups.get(&key) {
                    Some(&first) if self.duration_ns.is_none_or(|d| ts - first <= d) => {
                        return Verdict::Suppress;
                    }
                    _ => {
                        if self.groups.len() > 100_000 {
                            if let Some(d) = self.duration_ns {
                                self.groups.retain(|_, t| ts - *t <= d);
                            }
                        }
                        self.groups.insert(key, ts);
                    }
                }
            }
        }
        if self.per_minute > 0 {
            let b = ts.div_euclid(self.bucket_len);
            if b != self.bucket {
                self.bucket = b;
                self.in_bucket = 0;
            }
            if self.in_bucket >= self.per_minute {
                return Verdict::Suppress;
            }
            self.in_bucket += 1;
        }
        Verdict::Emit
    }
}
