//! Alerts and their Kibana-compatible documents.
//!
//! The document follows the shape of Kibana's security alerts (`.alerts-security.alerts-*`):
//! the source event's fields are copied at the top level as the event wrote them (nested or
//! dotted), `event.kind` becomes `signal` and the original `event.*` values are kept under
//! `kibana.alert.original_event.*`; the alert's own fields are flat dotted keys
//! (`"kibana.alert.rule.name": …`), as Kibana writes them.
//!
//! Sequences: Kibana writes one building-block alert per event plus a "shell" alert joining
//! them by `kibana.alert.group.id`. Here a sequence gives one alert whose top-level source
//! fields are those of the last event, with `kibana.alert.group.id` and the whole group under
//! `kibana.alert.group.events` (each event with its `kibana.alert.group.index`).
//! Threshold alerts carry only the group-by fields and `kibana.alert.threshold_result`.

use crate::config::HostEnv;
use crate::context::ProcInfo;
use serde_json::{json, Map, Value};
use spawnguard_event::{Event, FieldPath};
use spawnguard_rules::{Rule, RuleType};
use std::sync::Arc;
use uuid::Uuid;

/// Namespace of alert and rule UUIDs (v5).
pub const UUID_NAMESPACE: Uuid = Uuid::from_u128(0x5a0f_6e2c_9b1d_4c1e_8a77_3d2f_6b4e_91c0);

#[derive(Debug, Clone)]
pub struct ThresholdResult {
    pub terms: Vec<(String, String)>,
    pub count: u64,
    pub cardinality: Vec<(String, u64)>,
    /// Start of the counting window (event time, ns).
    pub from_ns: i64,
}

/// One alert.
#[derive(Debug, Clone)]
pub struct Alert {
    pub rule: Arc<Rule>,
    /// The source event (for a sequence, its last event).
    pub event: Arc<Event>,
    /// The event's time (ns since the epoch), `timestamp_override` if the rule has one.
    pub time_ns: i64,
    /// Where the source event was read: file and line.
    pub source: Option<(Arc<str>, u64)>,
    pub new_terms: Option<Vec<String>>,
    pub threshold: Option<ThresholdResult>,
    /// The events of a sequence, in order (empty otherwise).
    pub group: Vec<Arc<Event>>,
    pub host_env: HostEnv,
    /// Process ancestry, oldest first, ending with the event's process.
    pub ancestry: Vec<ProcInfo>,
    /// `spawnguard.model_files`.
    pub model_files: Vec<Value>,
    pub uuid: Uuid,
}

/// A stable identity for an event: its `event.id` if any, else a hash of its JSON text.
pub fn event_identity(ev: &Event) -> String {
    if let Some(id) = ev.get_str("event.id") {
        // event.id alone is not unique across sources: mix in the time.
        let ts = ev.get_str("@timestamp").unwrap_or("");
        return format!("{id}@{ts}");
    }
    let text = serde_json::to_string(ev.doc()).unwrap_or_default();
    Uuid::new_v5(&UUID_NAMESPACE, text.as_bytes())
        .simple()
        .to_string()
}

pub fn alert_uuid(rule_id: &str, identity: &str) -> Uuid {
    let mut name = Vec::with_capacity(rule_id.len() + identity.len() + 1);
    name.extend_from_slice(rule_id.as_bytes());
    name.push(0);
    name.extend_from_slice(identity.as_bytes());
    Uuid::new_v5(&UUID_NAMESPACE, &name)
}

pub fn rule_uuid(rule_id: &str) -> Uuid {
    Uuid::new_v5(&UUID_NAMESPACE, format!("rule:{rule_id}").as_bytes())
}

/// RFC 3339 text of a time in ns.
pub fn format_ns(ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(ns).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn rule_type_id(t: &RuleType) -> String {
    match t {
        RuleType::Eql => "siem.eqlRule".into(),
        RuleType::Query => "siem.queryRule".into(),
        RuleType::NewTerms => "siem.newTermsRule".into(),
        RuleType::Threshold => "siem.thresholdRule".into(),
        RuleType::Other(o) => format!("siem.{o}Rule"),
    }
}

fn first_str(ev: &Event, f: &str) -> Option<String> {
    ev.first(&FieldPath::new(f)).and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

impl Alert {
    /// Kibana's reason sentence: "process event with process sh, parent process python3, by
    /// alice on web-1 created high alert X."
    pub fn reason(&self) -> String {
        let sev = self.rule.severity.as_str();
        let name = &self.rule.name;
        if let Some(t) = &self.threshold {
            let terms: Vec<String> = t.terms.iter().map(|(f, v)| format!("{f} {v}")).collect();
            let by = if terms.is_empty() {
                String::new()
            } else {
                format!(" with {}", terms.join(", "))
            };
            return format!("{} events{by} created {sev} alert {name}.", t.count);
        }
        let ev = &self.event;
        let mut parts = Vec::new();
        if let Some(p) = first_str(ev, "process.name") {
            parts.push(format!("process {p}"));
        }
        if let Some(p) = first_str(ev, "process.parent.name") {
            parts.push(format!("parent process {p}"));
        }
        if let Some(f) = first_str(ev, "file.name") {
            parts.push(format!("file {f}"));
        }
        if let Some(ip) = first_str(ev, "source.ip") {
            let port = first_str(ev, "source.port")
                .map(|p| format!(":{p}"))
                .unwrap_or_default();
            parts.push(format!("source {ip}{port}"));
        }
        if let Some(ip) = first_str(ev, "destination.ip") {
            let port = first_str(ev, "destination.port")
                .map(|p| format!(":{p}"))
                .unwrap_or_default();
            parts.push(format!("destination {ip}{port}"));
        }
        let category = ev
            .values(&FieldPath::new("event.category"))
            .iter()
            .filter_map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut s = if category.is_empty() {
            "event".to_string()
        } else {
            format!("{category} event")
        };
        if !parts.is_empty() {
            s.push_str(" with ");
            s.push_str(&parts.join(", "));
        }
        if let Some(u) = first_str(ev, "user.name") {
            s.push_str(&format!(", by {u}"));
        }
        if let Some(h) = first_str(ev, "host.name") {
            s.push_str(&format!(" on {h}"));
        }
        s.push_str(&format!(" created {sev} alert {name}."));
        s
    }

    /// The Kibana-compatible alert document.
    pub fn to_document(&self) -> Value {
        let fields = self.alert_fields();
        let base = match &self.threshold {
            Some(_) => Value::Null,
            None => self.event.doc().clone(),
        };
        self.document(base, fields)
    }

    /// [`Alert::to_document`], taking the source document over instead of copying it when
    /// nothing else holds the event (the usual case once the engine hands the alert out).
    pub fn into_document(mut self) -> Value {
        let fields = self.alert_fields();
        let base = match &self.threshold {
            Some(_) => Value::Null,
            // The event is not read again: `document` needs only the base and the fields.
            None => {
                let taken = std::mem::replace(&mut self.event, Arc::new(Event::new(Value::Null)));
                match Arc::try_unwrap(taken) {
                    Ok(ev) if !ev.is_flat() => ev.into_doc(),
                    Ok(ev) => ev.doc().clone(),
                    Err(shared) => shared.doc().clone(),
                }
            }
        };
        self.document(base, fields)
    }

    /// The alert document: `base`, the source event's document (ignored for a threshold
    /// alert, whose document holds its terms), marked as a signal, with the alert's `fields`.
    fn document(&self, base: Value, fields: Map<String, Value>) -> Value {
        let mut doc = match &self.threshold {
            Some(t) => {
                let mut d = Value::Object(Map::new());
                for (f, v) in &t.terms {
                    FieldPath::new(f).set(&mut d, Value::String(v.clone()));
                }
                d
            }
            None => base,
        };
        if !doc.is_object() {
            doc = Value::Object(Map::new());
        }
        FieldPath::new("event.kind").set(&mut doc, json!("signal"));
        if let Value::Object(m) = &mut doc {
            for (key, v) in fields {
                m.insert(key, v);
            }
        }
        doc
    }

    /// The alert's own fields (`kibana.alert.*`, `spawnguard.*`, ...), in document order.
    fn alert_fields(&self) -> Map<String, Value> {
        let rule = &self.rule;
        let original_event = original_event_fields(&self.event);
        let mut k = Map::new();
        let mut put = |key: &str, v: Value| {
            k.insert(key.to_string(), v);
        };
        put(
            "@timestamp",
            json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        for (f, v) in original_event {
            put(&format!("kibana.alert.original_event.{f}"), v);
        }
        put("kibana.alert.original_time", json!(format_ns(self.time_ns)));
        put("kibana.alert.uuid", json!(self.uuid.to_string()));
        put("kibana.alert.status", json!("active"));
        put("kibana.alert.workflow_status", json!("open"));
        put("kibana.alert.depth", json!(1));
        let identity = event_identity(&self.event);
        let index = self
            .source
            .as_ref()
            .map(|(f, _)| f.to_string())
            .unwrap_or_default();
        put(
            "kibana.alert.ancestors",
            json!([{"id": identity, "type": "event", "index": index, "depth": 0}]),
        );
        put("kibana.alert.reason", json!(self.reason()));
        put("kibana.alert.severity", json!(rule.severity.as_str()));
        put("kibana.alert.risk_score", json!(rule.risk_score));
        put("kibana.alert.rule.rule_id", json!(rule.rule_id));
        put(
            "kibana.alert.rule.uuid",
            json!(rule_uuid(&rule.rule_id).to_string()),
        );
        put("kibana.alert.rule.name", json!(rule.name));
        put("kibana.alert.rule.description", json!(rule.description));
        put("kibana.alert.rule.severity", json!(rule.severity.as_str()));
        put("kibana.alert.rule.risk_score", json!(rule.risk_score));
        put(
            "kibana.alert.rule.threat",
            serde_json::to_value(&rule.threat).unwrap_or(json!([])),
        );
        put("kibana.alert.rule.type", json!(rule.rule_type.as_str()));
        put(
            "kibana.alert.rule.rule_type_id",
            json!(rule_type_id(&rule.rule_type)),
        );
        put("kibana.alert.rule.references", json!(rule.references));
        put("kibana.alert.rule.tags", json!(rule.tags));
        put(
            "kibana.alert.rule.version",
            json!(rule.version.unwrap_or(1)),
        );
        put(
            "kibana.alert.rule.from",
            json!(rule.from.clone().unwrap_or_else(|| "now-6m".into())),
        );
        put(
            "kibana.alert.rule.interval",
            json!(rule.interval.clone().unwrap_or_else(|| "5m".into())),
        );
        put(
            "kibana.alert.rule.max_signals",
            json!(rule.max_signals.unwrap_or(100)),
        );
        if let Some(q) = &rule.query {
            put(
                "kibana.alert.rule.parameters",
                json!({"query": q, "language": rule.language}),
            );
        }
        if let Some(bb) = &rule.building_block_type {
            put("kibana.alert.building_block_type", json!(bb));
        }
        put("kibana.space_ids", json!(["default"]));
        if let Some(nt) = &self.new_terms {
            put("kibana.alert.new_terms", json!(nt));
        }
        if let Some(t) = &self.threshold {
            let terms: Vec<Value> = t
                .terms
                .iter()
                .map(|(f, v)| json!({"field": f, "value": v}))
                .collect();
            let card: Vec<Value> = t
                .cardinality
                .iter()
                .map(|(f, v)| json!({"field": f, "value": v}))
                .collect();
            put(
                "kibana.alert.threshold_result",
                json!({"terms": terms, "count": t.count, "from": format_ns(t.from_ns), "cardinality": card}),
            );
        }
        if !self.group.is_empty() {
            let gid = self.uuid.to_string();
            put("kibana.alert.group.id", json!(gid));
            let events: Vec<Value> = self
                .group
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let mut d = e.doc().clone();
                    if let Value::Object(m) = &mut d {
                        m.insert("kibana.alert.group.index".into(), json!(i));
                        m.insert("kibana.alert.group.id".into(), json!(gid));
                    }
                    d
                })
                .collect();
            put("kibana.alert.group.events", Value::Array(events));
        }
        put(
            "spawnguard.host.environment",
            json!(self
                .host_env
                .environment
                .clone()
                .unwrap_or_else(|| "unknown".into())),
        );
        put("spawnguard.host.labels", json!(self.host_env.labels));
        put(
            "spawnguard.model_files",
            Value::Array(self.model_files.clone()),
        );
        if let Some((f, l)) = &self.source {
            put(
                "spawnguard.source",
                json!({"file": f.to_string(), "line": l}),
            );
        }
        k
    }
}

/// Every leaf under `event.*` of the source event, as (path after `event.`, value).
fn original_event_fields(ev: &Event) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    if let Value::Object(m) = ev.doc() {
        for (k, v) in m {
            if k == "event" {
                flatten("", v, &mut out);
            } else if let Some(rest) = k.strip_prefix("event.") {
                flatten(rest, v, &mut out);
            }
        }
    }
    out
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, v, out);
            }
        }
        other if !prefix.is_empty() => out.push((prefix.to_string(), other.clone())),
        _ => {}
    }
}
