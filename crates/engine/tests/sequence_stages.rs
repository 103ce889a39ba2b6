//! The screen evaluates every stage of a sequence rule once (a stage whose own literal
//! requirement fails is not evaluated at all) and hands the results to the sequence matcher
//! (`SequenceMatcher::push_matched`): the engine must raise exactly the sequences that the
//! matcher finds evaluating the stages itself.

mod common;

use common::eql_rule;
use serde_json::json;
use spawnguard_engine::{Engine, EngineConfig};
use spawnguard_event::Event;
use spawnguard_query::query::timestamp_ns;
use spawnguard_query::sequence::SequenceMatcher;
use spawnguard_query::QueryKind;

#[test]
fn handed_over_stage_results_raise_the_matchers_own_sequences() {
    // One-letter names, and words (each stage's literal requirement then tells stages
    // apart: a stage whose literals are absent is not evaluated, and must not be missed).
    let one_letter = ["a", "b", "c", "m", "u", "x"];
    let words = ["alpha", "bravo", "charlie", "mike", "uniform", "xray"];
    for names in [one_letter, words] {
        let [a, b, c, m, u, _] = names;
        let queries = [
            format!(
                r#"sequence by host.name with maxspan=30s
  [process where process.name in ("{a}", "{u}")] with runs=2
  [process where process.name == "{b}"]
until [process where process.name in ("{u}", "{c}")]"#
            ),
            format!(
                r#"sequence by host.name with maxspan=20s
  [process where process.name == "{a}"]
  ![process where process.name in ("{m}", "{a}")]
  [process where process.name == "{b}" or process.parent.name : "*{b}*"]"#
            ),
        ];
        check_against_the_matcher(&names, &queries);
    }
}

fn check_against_the_matcher(names: &[&str; 6], queries: &[String]) {
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut lines = Vec::new();
    for i in 0..800u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let secs = i * 2 / 3;
        let doc = json!({
            "@timestamp": format!("2026-11-01T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60),
            "event": {"category": ["process"], "type": ["start"], "id": format!("e{i}")},
            "host": {"name": format!("h{}", (x >> 20) % 2)},
            "process": {"name": names[(x % 6) as usize], "pid": i,
                        "parent": {"name": names[((x >> 8) % 6) as usize]}},
        });
        lines.push(doc.to_string());
    }
    for (qi, q) in queries.iter().enumerate() {
        let rule = eql_rule(&format!("seq-{qi}"), q);
        let QueryKind::Sequence(seq) = &rule.query.kind else {
            panic!("not a sequence: {q}");
        };
        let mut reference: SequenceMatcher<String> = SequenceMatcher::new(seq);
        let mut want: Vec<Vec<String>> = Vec::new();
        for l in &lines {
            let ev = Event::new(serde_json::from_str(l).unwrap());
            let ts = ev
                .first(&rule.query.timestamp_field)
                .and_then(timestamp_ns)
                .unwrap();
            let id = ev.get_str("event.id").unwrap().to_string();
            want.extend(reference.push(&ev, ts, id).into_iter().map(|m| m.items));
        }
        want.extend(reference.flush().into_iter().map(|m| m.items));
        let config = EngineConfig {
            max_alerts_per_minute: 0,
            ..EngineConfig::default()
        };
        for project in [true, false] {
            let mut e = Engine::new(
                std::slice::from_ref(&rule),
                EngineConfig {
                    project,
                    ..config.clone()
                },
            )
            .unwrap();
            let mut alerts = Vec::new();
            for (n, l) in lines.iter().enumerate() {
                alerts.extend(e.process_line(l.as_bytes(), ("t", n as u64 + 1)).unwrap());
            }
            alerts.extend(e.finish());
            let got: Vec<Vec<String>> = alerts
                .iter()
                .map(|a| {
                    a.group
                        .iter()
                        .map(|g| g.get_str("event.id").unwrap().to_string())
                        .collect()
                })
                .collect();
            assert!(want.len() >= 3, "{q}: too few sequences to compare");
            assert_eq!(got, want, "{q} (projected: {project})");
        }
    }
}
