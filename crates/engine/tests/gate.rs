//! The gate (`spawnguard_engine::gate`) may turn an event away only when the screen would
//! find no rule for it: checked with the shipped rules plus every Elastic Linux rule, on the
//! example incident, every shipped rule's test events, and process events rewritten with
//! interpreter, shell and tool names; the probe is the built event itself, restricted to the
//! fields a live exec probe provides. And a sequence's later stage counts only while the
//! rule has something pending.

mod common;

use serde_json::{json, Value};
use spawnguard_engine::{Engine, EngineConfig, GateScratch};
use spawnguard_event::probe::EventProbe;
use spawnguard_event::Event;
use spawnguard_query::query::QueryKind;
use spawnguard_rules::LoadedRule;
use std::path::Path;

/// What a live exec probe provides.
const PROVIDED: &[&str] = spawnguard_sensor::ecs::EXEC_PROBE_FIELDS;

fn events(rules: &[LoadedRule]) -> Vec<Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("examples/telemetry/incident.ndjson"))
        .expect("example incident");
    let mut out: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("incident line"))
        .collect();
    for lr in rules {
        if let Some(Ok(t)) = spawnguard_rules::tests_for(&lr.rule.source) {
            out.extend(t.cases.into_iter().flat_map(|c| c.events));
        }
    }
    // Process events under other names: interpreters, shells, tools, parents and children.
    let names = [
        "python3", "bash", "sh", "node", "perl", "true", "curl", "nc", "sudo",
    ];
    let procs: Vec<Value> = out
        .iter()
        .filter(|e| e.pointer("/process/name").is_some())
        .take(40)
        .cloned()
        .collect();
    for e in procs {
        for (i, n) in names.iter().enumerate() {
            let mut v = e.clone();
            v["process"]["name"] = json!(n);
            if v["process"]["parent"].is_object() {
                v["process"]["parent"]["name"] = json!(names[(i + 3) % names.len()]);
            }
            out.push(v);
        }
    }
    out
}

/// The values every event with this `event.*` has in those fields.
fn shape_of(ev: &Value) -> Vec<(String, Vec<String>)> {
    ["category", "type", "action"]
        .iter()
        .filter_map(|k| {
            let v = ev.get("event")?.get(*k)?;
            let vals: Vec<String> = match v {
                Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect(),
                Value::String(s) => vec![s.clone()],
                _ => return None,
            };
            Some((format!("event.{k}"), vals))
        })
        .collect()
}

/// Checks every event against the screen; returns (answers "no", answers "yes", events
/// some rule matched).
fn check(rules: &[LoadedRule], docs: &[Value]) -> (usize, usize, usize) {
    let engine = Engine::new(&rules, EngineConfig::default()).expect("engine");
    let screen = engine.screen();
    let no_shape = engine.gate(rules, PROVIDED, &[]);
    let mut scratch = GateScratch::default();
    let mut gates = std::collections::HashMap::new();
    let (mut turned_away, mut wanted, mut hit) = (0, 0, 0);
    for doc in docs {
        let ev = Event::new(doc.clone());
        // With nothing pending, a sequence wants only events of its first positive stage or
        // of a missing-event stage.
        let hits: Vec<u32> = screen
            .prepare_event(ev.clone(), None)
            .hits
            .into_iter()
            .filter(|&i| match &rules[i as usize].query.kind {
                QueryKind::Sequence(s) => {
                    let first = s.stages.iter().position(|st| !st.missing);
                    s.stages
                        .iter()
                        .enumerate()
                        .any(|(k, st)| (st.missing || Some(k) == first) && st.pred.matches(&ev))
                }
                _ => true,
            })
            .collect();
        let owned = shape_of(&doc);
        let vals: Vec<Vec<&str>> = owned
            .iter()
            .map(|(_, v)| v.iter().map(String::as_str).collect())
            .collect();
        let shape: Vec<(&str, &[&str])> = owned
            .iter()
            .zip(&vals)
            .map(|((f, _), v)| (f.as_str(), v.as_slice()))
            .collect();
        let shaped = gates
            .entry(owned.clone())
            .or_insert_with(|| engine.gate(rules, PROVIDED, &shape));
        for gate in [&no_shape, &*shaped] {
            let wanting = gate.rules_wanting(&EventProbe(&ev), &mut scratch);
            let missed: Vec<&u32> = hits.iter().filter(|h| !wanting.contains(h)).collect();
            assert!(
                missed.is_empty(),
                "the gate says rules {missed:?} cannot want an event they match: {doc}"
            );
            let wants = gate.wants(&EventProbe(&ev), &mut scratch);
            assert_eq!(
                wants,
                !wanting.is_empty() || gate.wants(&EventProbe(&ev), &mut scratch)
            );
            assert!(
                wants || hits.is_empty(),
                "turned away an event rules match: {doc}"
            );
            if wants {
                wanted += 1;
            } else {
                turned_away += 1;
            }
        }
        hit += usize::from(!hits.is_empty());
    }
    (turned_away, wanted, hit)
}

#[test]
fn the_gate_never_turns_away_an_event_a_rule_wants() {
    let all = common::shipped_and_corpus();
    let docs = events(&all);
    // The shipped rules, as `watch` runs by default: most events are turned away.
    let shipped = spawnguard_rules::load_builtin().rules;
    let (no, yes, hit) = check(&shipped, &docs);
    assert!(
        no > 500 && yes > 100 && hit > 50,
        "no {no}, yes {yes}, hit {hit}"
    );
    // With the Elastic rules too, many conditions read fields an exec probe does not
    // provide, so fewer events are turned away; none wrongly.
    let (no, yes, hit) = check(&all, &docs);
    assert!(yes > 100 && hit > 100, "no {no}, yes {yes}, hit {hit}");
}

#[test]
fn a_later_stage_counts_only_while_a_sequence_is_pending() {
    let rule = common::eql_rule(
        "gate-seq",
        r#"sequence by host.id with maxspan=1m
  [file where event.action == "creation"] by file.path
  [process where event.action == "exec"] by process.executable"#,
    );
    let rules = [rule];
    let mut engine = Engine::new(&rules, EngineConfig::default()).expect("engine");
    let exec_shape: [(&str, &[&str]); 1] = [("event.action", &["exec"])];
    let gate = engine.gate(&rules, PROVIDED, &exec_shape);
    let exec = Event::new(json!({
        "@timestamp": "2026-11-24T10:00:01Z", "host": {"id": "h"},
        "event": {"category": ["process"], "action": "exec"},
        "process": {"name": "x", "executable": "/tmp/x"}
    }));
    let mut scratch = GateScratch::default();
    assert!(
        !gate.wants(&EventProbe(&exec), &mut scratch),
        "nothing pending yet"
    );
    let created = Event::new(json!({
        "@timestamp": "2026-11-24T10:00:00Z", "host": {"id": "h"},
        "event": {"category": ["file"], "action": "creation"},
        "file": {"path": "/tmp/x"}
    }));
    assert!(engine.process_event(created).is_empty());
    assert!(
        gate.wants(&EventProbe(&exec), &mut scratch),
        "a sequence is pending"
    );
    assert_eq!(
        engine.process_event(exec.clone()).len(),
        1,
        "the sequence completes"
    );
    assert!(
        !gate.wants(&EventProbe(&exec), &mut scratch),
        "nothing pending any more"
    );
}
