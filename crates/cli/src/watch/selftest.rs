//! `spawnguard watch --self-test`: runs each emulation under the live sensor, through the same
//! `Watcher::on_event` path (engine included) as real events, and reports per emulation whether
//! the sensor saw it, whether each expected rule fired on the emulated process tree, and how
//! long it took from the kernel record of the event to the alert written.
//!
//! Only alerts on the emulated tree count (the host keeps running its own processes meanwhile).

use super::{Recent, Watcher};
use spawnguard_sensor::emulate::{self, Emulation, Run};
use spawnguard_sensor::Sensor;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The verdict on one expected rule (or, for a benign control, on "no alert").
#[derive(Debug, Clone, PartialEq)]
pub enum RuleCheck {
    /// Fired, with the exec→alert latency of its first alert.
    Fired(Duration),
    /// Did not fire on the emulated tree.
    Missed,
    /// Not among the loaded rules (`--rules` without the shipped ones).
    NotLoaded,
}

/// Entity ids of the emulated tree: every process an event of the run names.
fn tree_ids(r: &Run) -> HashSet<String> {
    r.events
        .iter()
        .filter_map(|e| e.get_str("process.entity_id").map(str::to_string))
        .collect()
}

/// Alerts raised on the emulated tree.
fn tree_alerts<'a>(alerts: &'a [Recent], ids: &HashSet<String>) -> Vec<&'a Recent> {
    alerts
        .iter()
        .filter(|a| {
            a.doc
                .pointer("/process/entity_id")
                .and_then(|v| v.as_str())
                .is_some_and(|id| ids.contains(id))
        })
        .collect()
}

/// Did `rule` fire among `alerts` (already restricted to the emulated tree)?
fn check_rule(rule: &str, alerts: &[&Recent], loaded: &[(String, String)]) -> RuleCheck {
    if !loaded.iter().any(|(name, id)| name == rule || id == rule) {
        return RuleCheck::NotLoaded;
    }
    match alerts.iter().find(|a| a.rule == rule || a.rule_id == rule) {
        Some(a) => RuleCheck::Fired(a.latency),
        None => RuleCheck::Missed,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}ms", d.as_secs_f64() * 1000.0)
}

pub fn run(
    sensor: &mut Sensor,
    watcher: &mut Watcher,
    stop: &AtomicBool,
    loaded: &[(String, String)],
) -> anyhow::Result<u8> {
    let mut failed = 0;
    let mut ran = 0;
    let mut not_run = 0;
    println!(
        "{:<28} {:<7} {:<58} {:>9} {:>9}  result",
        "emulation", "sensor", "expected rule", "seen", "alert"
    );
    for em in emulate::all() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if let Some(why) = emulate::unavailable_reason(em.scenario) {
            not_run += 1;
            println!(
                "{:<28} {:<7} {:<58} {:>9} {:>9}  not run: {why}",
                em.name,
                "-",
                first_label(&em),
                "-",
                "-"
            );
            continue;
        }
        watcher.recent_alerts.clear();
        let mut err = None;
        let r: Run = emulate::run(sensor, &em, Duration::from_secs(20), &mut |ev, meta| {
            if err.is_none() {
                if let Err(e) = watcher.on_event(ev, meta) {
                    err = Some(e);
                }
            }
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        ran += 1;
        let ids = tree_ids(&r);
        let alerts = tree_alerts(&watcher.recent_alerts, &ids);
        let seen = if r.observed { "seen" } else { "MISSED" };
        let seen_after = r.observed_after.map_or("-".into(), ms);
        let mut ok = r.observed;
        let mut lines = Vec::new();
        if em.expected_rules.is_empty() {
            let got: Vec<&str> = alerts.iter().map(|a| a.rule.as_str()).collect();
            let pass = r.observed && got.is_empty();
            ok &= pass;
            let what = if got.is_empty() {
                "(benign) no alert".to_string()
            } else {
                format!("(benign) ALERTS: {got:?}")
            };
            lines.push((what, "-".to_string(), pass));
        }
        for rule in em.expected_rules {
            let check = check_rule(rule, &alerts, loaded);
            let pass = matches!(check, RuleCheck::Fired(_)) && r.observed;
            ok &= pass;
            let (what, t) = match check {
                RuleCheck::Fired(d) => (format!("{rule}: fired"), ms(d)),
                RuleCheck::Missed => (format!("{rule}: NOT fired"), "-".into()),
                RuleCheck::NotLoaded => (format!("{rule}: rule not loaded"), "-".into()),
            };
            lines.push((what, t, pass));
        }
        if !ok {
            failed += 1;
        }
        for (i, (what, t, pass)) in lines.iter().enumerate() {
            let (name, s, after) = if i == 0 {
                (em.name, seen, seen_after.as_str())
            } else {
                ("", "", "")
            };
            println!(
                "{:<28} {:<7} {:<58} {:>9} {:>9}  {}",
                name,
                s,
                what,
                after,
                t,
                if *pass { "PASS" } else { "FAIL" }
            );
        }
        if !ok {
            let other: Vec<&str> = alerts.iter().map(|a| a.rule.as_str()).collect();
            println!(
                "{:<28} ({} events of the tree, exit {:?}, alerts on it: {:?})",
                "",
                r.events.len(),
                r.exit_code,
                other
            );
        }
    }
    println!(
        "self-test: {} passed, {} failed, {} not run (\"seen\": emulation start → the sensor's event; \
         \"alert\": kernel record → alert written)",
        ran - failed,
        failed,
        not_run
    );
    Ok(if failed == 0 && ran > 0 { 0 } else { 1 })
}

fn first_label(em: &Emulation) -> &'static str {
    em.expected_rules
        .first()
        .copied()
        .unwrap_or("(benign: no alert)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn recent(rule: &str, eid: &str) -> Recent {
        Recent {
            rule: rule.into(),
            rule_id: format!("id-{rule}"),
            doc: json!({"process": {"entity_id": eid}}),
            latency: Duration::from_millis(1),
        }
    }

    #[test]
    fn only_the_emulated_tree_counts() {
        let alerts = vec![recent("A", "x"), recent("B", "y")];
        let ids: HashSet<String> = ["x".to_string()].into_iter().collect();
        let t = tree_alerts(&alerts, &ids);
        assert_eq!(t.len(), 1);
        let loaded = vec![
            ("A".to_string(), "id-A".to_string()),
            ("B".to_string(), "id-B".to_string()),
        ];
        assert_eq!(
            check_rule("A", &t, &loaded),
            RuleCheck::Fired(Duration::from_millis(1))
        );
        assert_eq!(check_rule("B", &t, &loaded), RuleCheck::Missed);
        assert_eq!(check_rule("C", &t, &loaded), RuleCheck::NotLoaded);
    }
}
