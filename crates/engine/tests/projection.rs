//! Parsing lines into the projection of the fields rules read (the default) must raise
//! exactly the alerts that parsing every line in full raises: same rules, same source
//! documents, same ids, same order. Checked with the shipped rules plus every Elastic Linux
//! rule, on the example incident written four ways: as recorded, with every key dotted, with
//! string values \u-escaped, and with bad lines mixed in.

mod common;

use serde_json::{Map, Value};
use spawnguard_engine::{Engine, EngineConfig};
use std::path::{Path, PathBuf};

fn rules() -> Vec<spawnguard_rules::LoadedRule> {
    common::shipped_and_corpus()
}

/// `{"a": {"b": 1}}` → `{"a.b": 1}` (arrays kept as they are).
fn dotted(v: &Value, prefix: &str, out: &mut Map<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                dotted(v, &key, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// Every string value written with `\u` escapes for its letters.
fn escaped(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let mut o = String::from("\"");
            for c in s.chars() {
                match c {
                    'a'..='z' | 'A'..='Z' => o.push_str(&format!("\\u{:04x}", c as u32)),
                    '"' => o.push_str("\\\""),
                    '\\' => o.push_str("\\\\"),
                    c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
                    c => o.push(c),
                }
            }
            o.push('"');
            o
        }
        Value::Array(a) => format!("[{}]", a.iter().map(escaped).collect::<Vec<_>>().join(",")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), escaped(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

/// The alerts (and bad-line reports) in order, then the line counts; and how many lines the
/// prefilter skipped.
fn run(
    rules: &[spawnguard_rules::LoadedRule],
    project: bool,
    lines: &[String],
) -> (Vec<Value>, u64) {
    let mut e = Engine::new(
        rules,
        EngineConfig {
            project,
            max_alerts_per_minute: 0,
            ..EngineConfig::default()
        },
    )
    .unwrap();
    let mut out = Vec::new();
    let keep = |a: spawnguard_engine::alert::Alert| {
        let mut d = a.to_document();
        if let Some(m) = d.as_object_mut() {
            // Wall-clock times of the alert itself.
            m.remove("@timestamp");
            m.remove("kibana.alert.start");
            m.remove("kibana.alert.last_detected");
        }
        d
    };
    for (i, l) in lines.iter().enumerate() {
        match e.process_line(l.as_bytes(), ("input.ndjson", i as u64 + 1)) {
            Ok(alerts) => out.extend(alerts.into_iter().map(keep)),
            Err(bad) => out.push(Value::String(format!("bad {bad}"))),
        }
    }
    out.extend(e.finish().into_iter().map(keep));
    let s = e.stats();
    out.push(Value::String(format!(
        "read {} bad {}",
        s.events_read, s.bad
    )));
    assert_eq!(s.skipped_prefilter + s.parsed + s.bad, s.events_read);
    (out, s.skipped_prefilter)
}

/// The example incident shipped with spawnguard, as recorded.
fn incident() -> String {
    let path: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/telemetry/incident.ndjson");
    std::fs::read_to_string(&path).unwrap()
}

#[test]
fn projection_raises_exactly_what_the_full_parse_raises() {
    let rules = rules();
    let text = incident();
    let recorded: Vec<String> = text.lines().map(str::to_string).collect();
    let docs: Vec<Value> = recorded
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let dotted_lines: Vec<String> = docs
        .iter()
        .map(|d| {
            let mut m = Map::new();
            dotted(d, "", &mut m);
            Value::Object(m).to_string()
        })
        .collect();
    let escaped_lines: Vec<String> = docs.iter().map(escaped).collect();
    let mut mixed = recorded.clone();
    for (i, bad) in [
        (3, "{\"process\": {\"name\": \"sh\""),
        (10, "[1, 2]"),
        (20, "{\"event\": {\"category\": \"process\"}, \"x\": tru}"),
        (30, "{\"a\":\t\"tab\"}"),
    ] {
        mixed.insert(i, bad.to_string());
    }
    for (name, lines) in [
        ("recorded", &recorded),
        ("dotted", &dotted_lines),
        ("escaped", &escaped_lines),
        ("with bad lines", &mixed),
    ] {
        let (full, skipped_full) = run(&rules, false, lines);
        let (projected, skipped_projected) = run(&rules, true, lines);
        // The projected path scans only the text of the fields rules read, so it may skip
        // more lines than the scan of whole lines, never fewer.
        assert!(skipped_projected >= skipped_full, "{name}");
        assert!(
            full.len() > 5,
            "{name}: the incident raises alerts: {full:?}"
        );
        assert_eq!(projected.len(), full.len(), "{name}");
        for (p, f) in projected.iter().zip(&full) {
            assert_eq!(p, f, "{name}");
        }
    }
}

/// A suppression that groups by a field no query reads: the projection carries that field
/// too, so suppression decides from the projection exactly as from the whole document (three
/// groups, three alerts), without parsing any suppressed alert's record in full.
#[test]
fn suppression_groups_by_fields_only_it_reads() {
    let rule = || {
        common::rule(
            "sup",
            "query",
            "process.name: sh",
            r#"[rule.alert_suppression]
group_by = ["process.working_directory"]
duration = {value = 5, unit = "m"}
missing_fields_strategy = "suppress""#,
        )
    };
    let lines: Vec<String> = (0..6)
        .map(|i| {
            format!(
                r#"{{"@timestamp":"2026-11-01T00:00:0{i}Z","event":{{"category":["process"]}},"process":{{"name":"sh","entity_id":"p{i}","working_directory":"/d{}"}}}}"#,
                i % 3
            )
        })
        .collect();
    let (full, _) = run(&[rule()], false, &lines);
    let (projected, _) = run(&[rule()], true, &lines);
    assert_eq!(projected, full);
    // Three alerts, then the counts line.
    assert_eq!(full.len(), 4, "{full:?}");
}

/// `Alert::into_document`, which takes the source document over when nothing else holds it,
/// writes exactly what `Alert::to_document` writes.
#[test]
fn taking_the_document_over_writes_the_same_alert() {
    let rules = rules();
    let text = incident();
    let mut e = Engine::new(
        &rules,
        EngineConfig {
            max_alerts_per_minute: 0,
            ..EngineConfig::default()
        },
    )
    .unwrap();
    let mut alerts = Vec::new();
    for (i, l) in text.lines().enumerate() {
        alerts.extend(
            e.process_line(l.as_bytes(), ("incident.ndjson", i as u64 + 1))
                .unwrap(),
        );
    }
    alerts.extend(e.finish());
    assert!(alerts.len() > 5);
    let without_time = |mut d: Value| {
        d.as_object_mut().map(|m| m.remove("@timestamp"));
        d
    };
    let mut taken = 0;
    for a in alerts {
        let copied = without_time(a.to_document());
        taken += usize::from(std::sync::Arc::strong_count(&a.event) == 1);
        assert_eq!(without_time(a.into_document()), copied);
    }
    assert!(taken > 0, "no alert's document was taken over");
}
