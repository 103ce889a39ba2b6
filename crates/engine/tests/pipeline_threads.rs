//! Several screening threads raise exactly the alerts of one thread, in the same order;
//! the events they screened are handed back to them to be freed (`Engine::keep_trash`),
//! which changes nothing else.

mod common;

use common::eql_rule;
use serde_json::json;
use spawnguard_engine::pipeline::{run_input, Output};
use spawnguard_engine::{Engine, EngineConfig};
use spawnguard_event::reader::RecordReader;
use std::io::Cursor;

fn lines() -> String {
    let names = ["python3", "sh", "bash", "curl", "ls"];
    let mut out = String::new();
    for i in 0..3000u64 {
        let secs = i / 4;
        let doc = json!({
            "@timestamp": format!("2026-11-01T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60),
            "event": {"category": ["process"], "type": ["start"], "id": format!("e{i}")},
            "host": {"name": format!("h{}", i % 3)},
            "process": {"name": names[(i % 5) as usize], "pid": i, "entity_id": format!("p{i}"),
                        "parent": {"name": names[((i / 5) % 5) as usize], "entity_id": format!("p{}", i / 2)}},
        });
        out.push_str(&doc.to_string());
        out.push('\n');
    }
    out
}

fn run(threads: usize, text: &str) -> (Vec<String>, usize) {
    run_rules(threads, text, &base_rules())
}

fn base_rules() -> Vec<spawnguard_rules::LoadedRule> {
    vec![
        eql_rule(
            "shell",
            r#"process where process.name == "sh" and process.parent.name == "python3""#,
        ),
        eql_rule(
            "seq",
            r#"sequence by host.name with maxspan=30s
  [process where process.name == "curl"]
  [process where process.name == "bash"]"#,
        ),
    ]
}

fn run_rules(
    threads: usize,
    text: &str,
    rules: &[spawnguard_rules::LoadedRule],
) -> (Vec<String>, usize) {
    let mut e = Engine::new(
        rules,
        EngineConfig {
            max_alerts_per_minute: 0,
            ..EngineConfig::default()
        },
    )
    .unwrap();
    let reader = RecordReader::new("t", Box::new(Cursor::new(text.as_bytes().to_vec())));
    let mut alerts = Vec::new();
    run_input(
        &mut e,
        reader,
        threads,
        &mut |o| {
            if let Output::Alert(a) = o {
                alerts.push(a.uuid.to_string());
            }
        },
        &mut |_| {},
    );
    alerts.extend(e.finish().iter().map(|a| a.uuid.to_string()));
    // Nothing is kept once the run is over.
    (alerts, e.take_trash().len())
}

#[test]
fn threads_raise_the_alerts_of_one_thread_and_keep_no_trash() {
    let text = lines();
    let (one, kept_one) = run(1, &text);
    assert!(one.len() > 100, "too few alerts: {}", one.len());
    assert_eq!(kept_one, 0);
    for threads in [2, 3] {
        let (many, kept) = run(threads, &text);
        assert_eq!(many, one, "{threads} threads");
        assert_eq!(kept, 0);
    }
}

#[test]
fn kept_trash_is_every_event_with_a_hit_and_changes_no_alert() {
    let text = lines();
    let rule = eql_rule("shell", r#"process where process.name == "sh""#);
    let config = EngineConfig {
        max_alerts_per_minute: 0,
        ..EngineConfig::default()
    };
    let mut plain = Engine::new(std::slice::from_ref(&rule), config.clone()).unwrap();
    let mut keeping = Engine::new(std::slice::from_ref(&rule), config).unwrap();
    keeping.keep_trash(true);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (n, l) in text.lines().enumerate() {
        let src = ("t", n as u64 + 1);
        a.extend(plain.process_line(l.as_bytes(), src).unwrap());
        b.extend(keeping.process_line(l.as_bytes(), src).unwrap());
    }
    let ids = |v: &[spawnguard_engine::Alert]| v.iter().map(|x| x.uuid).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(plain.take_trash().len(), 0);
    let trash = keeping.take_trash();
    assert_eq!(trash.len(), 600, "one kept event per `sh` line");
    assert!(keeping.take_trash().is_empty(), "taken once");
}

/// One thread screens each line after the engine has processed the previous one, and skips
/// the later stages of sequences with nothing pending; worker threads screen ahead and
/// evaluate every stage. Sequences whose first stage is rare (so that they are seldom
/// pending), with `until` and missing-event stages, must raise the same alerts either way.
#[test]
fn later_stages_skipped_while_nothing_is_pending_change_no_alert() {
    let text = lines();
    let rules = vec![
        // python3 is every fifth event; by pid parity of the parent: pending only at times.
        eql_rule(
            "rare-first",
            r#"sequence by host.name with maxspan=3s
  [process where process.name == "python3" and process.parent.name == "ls"]
  [process where process.name == "sh"]
  [process where process.name == "bash"]"#,
        ),
        eql_rule(
            "until",
            r#"sequence by host.name with maxspan=10s
  [process where process.name == "python3" and process.parent.name == "curl"]
  [process where process.name == "bash"]
until [process where process.name == "ls" and process.parent.name == "sh"]"#,
        ),
        eql_rule(
            "trailing-missing",
            r#"sequence by host.name with maxspan=5s
  [process where process.name == "python3" and process.parent.name == "bash"]
  [process where process.name == "curl"]
  ![process where process.name == "ls" and process.parent.name == "python3"]"#,
        ),
        eql_rule(
            "leading-missing",
            r#"sequence by host.name with maxspan=5s
  ![process where process.name == "sh" and process.parent.name == "sh"]
  [process where process.name == "python3" and process.parent.name == "sh"]
  [process where process.name == "bash"]"#,
        ),
    ];
    let (one, _) = run_rules(1, &text, &rules);
    let (two, _) = run_rules(2, &text, &rules);
    assert!(one.len() > 20, "too few alerts: {}", one.len());
    assert_eq!(one, two);
}
