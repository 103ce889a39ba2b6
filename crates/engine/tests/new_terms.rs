//! new_terms semantics and the durable history.

mod common;

use common::new_terms_rule;
use serde_json::{json, Value};
use spawnguard_engine::{Engine, EngineConfig};
use spawnguard_event::Event;

fn ev(t: &str, host: &str, cmd: Value) -> Event {
    Event::new(json!({
        "@timestamp": t,
        "event": {"category": ["process"], "type": ["start"]},
        "host": {"name": host},
        "process": {"name": "sh", "command_line": cmd, "parent": {"name": "python3"}},
    }))
}

fn engine(rules: &[spawnguard_rules::LoadedRule], learn: bool) -> Engine {
    Engine::new(
        rules,
        EngineConfig {
            learn,
            max_alerts_per_minute: 0,
            ..EngineConfig::default()
        },
    )
    .unwrap()
}

#[test]
fn window_edges() {
    // 1-day window: seen at day 0, again exactly 1 day later (last seen = t - window: still
    // seen), then 1 day + 1 ns after that last sighting (not seen within the window).
    let r = new_terms_rule(
        "nt-window",
        &["host.name", "process.command_line"],
        "now-1d",
    );
    let mut e = engine(std::slice::from_ref(&r), false);
    assert_eq!(
        e.process_event(ev("2026-01-01T00:00:00Z", "h", json!("id")))
            .len(),
        1
    );
    assert_eq!(
        e.process_event(ev("2026-01-01T12:00:00Z", "h", json!("id")))
            .len(),
        0
    );
    // Exactly one window after the last sighting (12:00): still seen.
    assert_eq!(
        e.process_event(ev("2026-01-02T12:00:00Z", "h", json!("id")))
            .len(),
        0
    );
    // One window plus a nanosecond after the last sighting: new again.
    let a = e.process_event(ev("2026-01-03T12:00:00.000000001Z", "h", json!("id")));
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0].new_terms.as_deref(),
        Some(&["h".to_string(), "id".to_string()][..])
    );
    // Another host: a different term.
    assert_eq!(
        e.process_event(ev("2026-01-03T13:00:00Z", "h2", json!("id")))
            .len(),
        1
    );
}

#[test]
fn arrays_expand_and_three_fields() {
    let r = new_terms_rule(
        "nt-3",
        &["host.name", "process.command_line", "user.name"],
        "now-7d",
    );
    let mut e = engine(std::slice::from_ref(&r), false);
    let mut first = ev("2026-01-01T00:00:00Z", "h", json!(["a", "b"]));
    first.set(&spawnguard_event::FieldPath::new("user.name"), json!("u"));
    let alerts = e.process_event(first);
    assert_eq!(
        alerts.len(),
        1,
        "both combinations are new: one alert for the event"
    );
    let doc = alerts[0].to_document();
    assert_eq!(doc["kibana.alert.new_terms"], json!(["h", "a", "u"]));
    // "b" alone was recorded as part of the array: not new.
    let mut second = ev("2026-01-01T01:00:00Z", "h", json!("b"));
    second.set(&spawnguard_event::FieldPath::new("user.name"), json!("u"));
    assert_eq!(e.process_event(second).len(), 0);
    // A new third-field value makes a new combination.
    let mut third = ev("2026-01-01T02:00:00Z", "h", json!("b"));
    third.set(
        &spawnguard_event::FieldPath::new("user.name"),
        json!("root"),
    );
    assert_eq!(e.process_event(third).len(), 1);
    // Missing field: no term, no alert.
    assert_eq!(
        e.process_event(ev("2026-01-01T03:00:00Z", "h", json!("zzz")))
            .len(),
        0
    );
    // Events that do not match the query are not terms.
    let other = Event::new(json!({"@timestamp": "2026-01-01T04:00:00Z",
        "event": {"category": "process"}, "host": {"name": "h"}, "user": {"name": "x"},
        "process": {"command_line": "q", "parent": {"name": "bash"}}}));
    assert_eq!(e.process_event(other).len(), 0);
}

#[test]
fn learn_mode_is_silent_then_known() {
    let dir = tempfile::tempdir().unwrap();
    let r = new_terms_rule("nt-learn", &["host.name", "process.command_line"], "now-7d");
    let cfg = |learn| EngineConfig {
        state_dir: Some(dir.path().to_path_buf()),
        learn,
        max_alerts_per_minute: 0,
        ..EngineConfig::default()
    };
    {
        let mut e = Engine::new(std::slice::from_ref(&r), cfg(true)).unwrap();
        for (i, c) in ["a", "b", "c"].iter().enumerate() {
            let t = format!("2026-01-01T00:00:0{i}Z");
            assert!(e.process_event(ev(&t, "h", json!(c))).is_empty());
        }
        assert!(e.finish().is_empty());
        assert_eq!(e.stats().rules[0].learned, 3);
        assert_eq!(e.stats().rules[0].alerts, 0);
    }
    let mut e = Engine::new(std::slice::from_ref(&r), cfg(false)).unwrap();
    assert!(e
        .process_event(ev("2026-01-02T00:00:00Z", "h", json!("b")))
        .is_empty());
    assert_eq!(
        e.process_event(ev("2026-01-02T00:00:01Z", "h", json!("d")))
            .len(),
        1
    );
}

#[test]
fn history_survives_restart_and_is_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let r = new_terms_rule(
        "nt-restart",
        &["host.name", "process.command_line"],
        "now-1d",
    );
    let cfg = || EngineConfig {
        state_dir: Some(dir.path().to_path_buf()),
        max_alerts_per_minute: 0,
        ..EngineConfig::default()
    };
    {
        let mut e = Engine::new(std::slice::from_ref(&r), cfg()).unwrap();
        assert_eq!(
            e.process_event(ev("2026-01-01T00:00:00Z", "h", json!("old")))
                .len(),
            1
        );
        assert_eq!(
            e.process_event(ev("2026-01-05T00:00:00Z", "h", json!("x")))
                .len(),
            1
        );
        // Dropped without finish(): the alerting terms were committed before being returned.
    }
    {
        let mut e = Engine::new(std::slice::from_ref(&r), cfg()).unwrap();
        assert_eq!(
            e.process_event(ev("2026-01-05T01:00:00Z", "h", json!("x")))
                .len(),
            0
        );
        e.finish();
        // "old" was last seen more than a window before the latest event: pruned.
        assert_eq!(e.stats().pruned_terms, 1);
    }
    let mut e = Engine::new(std::slice::from_ref(&r), cfg()).unwrap();
    assert_eq!(
        e.process_event(ev("2026-01-05T02:00:00Z", "h", json!("x")))
            .len(),
        0
    );
}

#[test]
fn second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = new_terms_rule("nt-lock", &["host.name"], "now-1d");
    let cfg = EngineConfig {
        state_dir: Some(dir.path().to_path_buf()),
        ..EngineConfig::default()
    };
    let _first = Engine::new(std::slice::from_ref(&r), cfg.clone()).unwrap();
    let err = Engine::new(std::slice::from_ref(&r), cfg)
        .err()
        .expect("second writer refused");
    let msg = err.to_string();
    assert!(
        msg.contains("is in use by another spawnguard (pid "),
        "{msg}"
    );
    assert!(msg.contains(&std::process::id().to_string()), "{msg}");
}

#[test]
fn held_alerts_wait_for_the_commit_and_keep_their_order() {
    let r = new_terms_rule("nt-hold", &["process.command_line"], "now-1d");
    let dir = tempfile::tempdir().unwrap();
    let cfg = |hold: Option<std::time::Duration>| EngineConfig {
        state_dir: Some(dir.path().to_path_buf()),
        max_alerts_per_minute: 0,
        hold_alerts_for_commit: hold,
        ..EngineConfig::default()
    };
    // Held for an hour: nothing comes back while events flow, everything at `finish`, in
    // input order.
    let mut e = Engine::new(
        std::slice::from_ref(&r),
        cfg(Some(std::time::Duration::from_secs(3600))),
    )
    .unwrap();
    let cmds = ["a", "b", "c"];
    for (i, c) in cmds.iter().enumerate() {
        let t = format!("2026-01-01T00:00:0{i}Z");
        assert!(e.process_event(ev(&t, "h", json!(c))).is_empty());
    }
    let out: Vec<String> = e
        .finish()
        .iter()
        .map(|a| a.new_terms.clone().unwrap_or_default().join(","))
        .collect();
    assert_eq!(out, ["a", "b", "c"]);
    drop(e);
    // The terms were committed before they were handed back: a new engine on the same
    // state knows them.
    let mut again = Engine::new(std::slice::from_ref(&r), cfg(None)).unwrap();
    assert!(again
        .process_event(ev("2026-01-01T00:01:00Z", "h", json!("b")))
        .is_empty());
    // Without holding, an alert comes back with its own event.
    assert_eq!(
        again
            .process_event(ev("2026-01-01T00:02:00Z", "h", json!("d")))
            .len(),
        1
    );
}
