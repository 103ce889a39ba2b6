//! Sequence state follows the stream clock even when no event reaches the rule: pending
//! sequences past `maxspan` are dropped, and a match held back for a trailing missing event
//! is released once its window has passed, while the input is still being read.

mod common;

use common::eql_rule;
use serde_json::json;
use spawnguard_engine::{Engine, EngineConfig};
use spawnguard_event::Event;

fn ev(secs: u64, name: &str) -> Event {
    Event::new(json!({
        "@timestamp": format!("2026-11-01T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60),
        "event": {"category": ["process"], "type": ["start"], "id": format!("{name}-{secs}")},
        "host": {"name": "h1"},
        "process": {"name": name, "pid": secs},
    }))
}

#[test]
fn held_back_match_is_released_while_reading() {
    let rule = eql_rule(
        "seq-trailing",
        r#"sequence by host.name with maxspan=10s
  [process where process.name == "stager"]
  ![process where process.name == "cleanup"]"#,
    );
    let mut e = Engine::new(
        std::slice::from_ref(&rule),
        EngineConfig {
            max_alerts_per_minute: 0,
            ..EngineConfig::default()
        },
    )
    .unwrap();
    assert!(e.process_event(ev(0, "stager")).is_empty());
    // Unrelated events, none of which the rule's stages match, well past the 10 s window.
    let mut during = Vec::new();
    for i in 0..10_000u64 {
        during.extend(e.process_event(ev(20 + i / 100, "ls")));
    }
    let at_end = e.finish();
    assert_eq!(
        during.len(),
        1,
        "released while reading, not only at the end (at the end: {})",
        at_end.len()
    );
    assert!(at_end.is_empty());
    let doc = during[0].to_document();
    assert_eq!(doc["kibana.alert.rule.rule_id"], json!("seq-trailing"));
}

#[test]
fn cleanup_within_the_window_suppresses_the_match() {
    let rule = eql_rule(
        "seq-trailing-2",
        r#"sequence by host.name with maxspan=10s
  [process where process.name == "stager"]
  ![process where process.name == "cleanup"]"#,
    );
    let mut e = Engine::new(std::slice::from_ref(&rule), EngineConfig::default()).unwrap();
    let mut all = e.process_event(ev(0, "stager"));
    all.extend(e.process_event(ev(5, "cleanup")));
    for i in 0..10_000u64 {
        all.extend(e.process_event(ev(20 + i / 100, "ls")));
    }
    all.extend(e.finish());
    assert!(
        all.is_empty(),
        "the missing event occurred within the window"
    );
}
