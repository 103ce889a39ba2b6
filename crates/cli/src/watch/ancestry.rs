//! Alerts' process ancestry from the sensor's process table.
//!
//! The engine builds an alert's ancestry from the processes its stream context saw events of.
//! `watch` does not build fork events when no rule can match them (see
//! `spawnguard_engine::wants`), so a process that forked without exec'ing would have no event
//! and be missing from that chain. Live events need no such memory: the sensor's table (seeded
//! from /proc, kept from every fork, exec and exit record) already writes each exec, file and
//! network event's ancestors into `process.ancestors`, nearest first. [`from_sensor`] rebuilds
//! the alert's chain from them, keeping what the context knew of each process (the user).

use serde_json::Value;
use spawnguard_engine::{Alert, ProcInfo};

/// Longest chain, the event's process included (as the engine's own).
const MAX_DEPTH: usize = 8;

/// Replaces `a.ancestry` (oldest first, ending with the event's process) by the chain the
/// sensor recorded in the event, when the event carries one.
pub(crate) fn from_sensor(a: &mut Alert) {
    let Some(ancestors) = a
        .event
        .doc()
        .pointer("/process/ancestors")
        .and_then(Value::as_array)
        .filter(|v| !v.is_empty())
    else {
        return;
    };
    let known = std::mem::take(&mut a.ancestry);
    let mut me = known.last().cloned().unwrap_or_default();
    let ids: Vec<Option<String>> = ancestors.iter().map(|x| text(x, "entity_id")).collect();
    if me.parent_entity_id.is_none() {
        me.parent_entity_id = ids.first().cloned().flatten();
    }
    // Nearest first, at most MAX_DEPTH - 1 of them.
    let mut chain: Vec<ProcInfo> = ancestors
        .iter()
        .take(MAX_DEPTH - 1)
        .enumerate()
        .map(|(i, x)| {
            let mut p = ProcInfo {
                entity_id: ids.get(i).cloned().flatten(),
                pid: x.get("pid").and_then(Value::as_i64),
                name: text(x, "name"),
                executable: text(x, "executable"),
                command_line: text(x, "command_line"),
                user: None,
                parent_entity_id: ids.get(i + 1).cloned().flatten(),
            };
            if let Some(k) = known
                .iter()
                .find(|k| k.entity_id.is_some() && k.entity_id == p.entity_id)
            {
                p.user = k.user.clone();
            }
            p
        })
        .collect();
    chain.reverse();
    chain.push(me);
    a.ancestry = chain;
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use spawnguard_engine::{Engine, EngineConfig, History};
    use spawnguard_sensor::Event;

    const RULE: &str =
        "[metadata]\ncreation_date = \"2026/11/24\"\nupdated_date = \"2026/11/24\"\n\n\
        [rule]\nauthor = [\"t\"]\ndescription = \"t\"\nfrom = \"now-9m\"\nindex = [\"logs-*\"]\n\
        language = \"eql\"\nlicense = \"Elastic License v2\"\nname = \"t\"\nrisk_score = 21\n\
        rule_id = \"00000000-0000-4000-8000-000000000002\"\nseverity = \"low\"\ntype = \"eql\"\n\
        query = 'process where process.name == \"sh\"'\n";

    fn alert_for(doc: Value) -> Alert {
        let report = spawnguard_rules::load_text("t.toml", RULE);
        assert_eq!(report.rules.len(), 1, "{:?}", report.problems);
        let mut engine =
            Engine::with_history(&report.rules, EngineConfig::default(), History::memory());
        let mut alerts = engine.process_event(Event::new(doc));
        assert_eq!(alerts.len(), 1);
        alerts.remove(0)
    }

    fn doc(ancestors: Value) -> Value {
        json!({"@timestamp": "2026-11-24T10:00:00Z", "host": {"id": "h"},
               "event": {"category": ["process"], "type": ["start"], "action": "exec"},
               "user": {"name": "root"},
               "process": {"name": "sh", "pid": 30, "entity_id": "C", "command_line": "sh -c true",
                           "parent": {"pid": 20, "name": "python3", "entity_id": "B",
                                      "command_line": "python3 worker"},
                           "ancestors": ancestors}})
    }

    #[test]
    fn chain_comes_from_the_sensor_ancestors() {
        // The worker (B) forked from python (A) without exec'ing: no event of its own.
        let mut a = alert_for(doc(json!([
            {"pid": 20, "name": "python3", "executable": "/usr/bin/python3",
             "command_line": "python3 worker", "entity_id": "B"},
            {"pid": 10, "name": "python3", "executable": "/usr/bin/python3",
             "command_line": "python3 main.py", "entity_id": "A"},
            {"pid": 1, "name": "systemd", "executable": "/usr/lib/systemd/systemd",
             "command_line": "/sbin/init", "entity_id": "I"}
        ])));
        from_sensor(&mut a);
        let ids: Vec<&str> = a
            .ancestry
            .iter()
            .map(|p| p.entity_id.as_deref().unwrap_or("?"))
            .collect();
        assert_eq!(ids, ["I", "A", "B", "C"]);
        assert_eq!(
            a.ancestry[1].command_line.as_deref(),
            Some("python3 main.py")
        );
        assert_eq!(a.ancestry[1].parent_entity_id.as_deref(), Some("I"));
        assert_eq!(a.ancestry[2].parent_entity_id.as_deref(), Some("A"));
        assert_eq!(a.ancestry[3].parent_entity_id.as_deref(), Some("B"));
        assert_eq!(a.ancestry[3].user.as_deref(), Some("root"));
        assert_eq!(a.ancestry[0].pid, Some(1));
    }

    #[test]
    fn without_sensor_ancestors_the_engine_chain_stays() {
        let mut a = alert_for(doc(Value::Null));
        let before = a.ancestry.clone();
        assert!(!before.is_empty());
        from_sensor(&mut a);
        assert_eq!(a.ancestry, before);
    }

    #[test]
    fn long_chains_keep_the_nearest() {
        let many: Vec<Value> = (0..16)
            .map(|i| json!({"pid": 100 - i, "name": "bash", "entity_id": format!("E{i}")}))
            .collect();
        let mut a = alert_for(doc(Value::Array(many)));
        from_sensor(&mut a);
        assert_eq!(a.ancestry.len(), MAX_DEPTH);
        assert_eq!(a.ancestry[MAX_DEPTH - 2].entity_id.as_deref(), Some("E0"));
        assert_eq!(a.ancestry[0].entity_id.as_deref(), Some("E6"));
    }
}
