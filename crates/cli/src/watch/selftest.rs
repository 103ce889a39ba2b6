//! `spawnguard watch --self-test`: runs each emulation under the live sensor, through the same
//! `Watcher::on_event` path as real events, and reports per emulation whether the sensor saw it,
//! whether the expected rule fired, and how long it took.

use super::Watcher;
use spawnguard_sensor::emulate::{self, Emulation, Run};
use spawnguard_sensor::Sensor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What the rule check says for one emulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleCheck {
    /// The expected rule raised an alert (or, for a benign control, nothing did).
    Fired,
    /// It did not (or, for a benign control, something did: the rules named).
    Missed(Vec<String>),
    /// No engine is connected to `Watcher::on_event` yet.
    EngineNotConnected,
}

/// RULE HOOK: did the expected rule fire for this emulation? `alerts` are the (rule, alert)
/// pairs raised while it ran. Until the engine is plugged into `Watcher::on_event`, nothing
/// can fire, and this says so rather than pretending.
fn check_rule(em: &Emulation, alerts: &[(String, serde_json::Value)], engine_connected: bool) -> RuleCheck {
    if !engine_connected {
        return RuleCheck::EngineNotConnected;
    }
    match em.expected_rule {
        Some(rule) if alerts.iter().any(|(r, _)| r == rule) => RuleCheck::Fired,
        Some(_) => RuleCheck::Missed(alerts.iter().map(|(r, _)| r.clone()).collect()),
        None if alerts.is_empty() => RuleCheck::Fired,
        None => RuleCheck::Missed(alerts.iter().map(|(r, _)| r.clone()).collect()),
    }
}

/// Set to true once the engine is plugged into `Watcher::on_event`.
const ENGINE_CONNECTED: bool = false;

pub fn run(sensor: &mut Sensor, watcher: &mut Watcher, stop: &AtomicBool) -> anyhow::Result<u8> {
    let mut failed = 0;
    let mut ran = 0;
    println!("{:<28} {:<7} {:<56} {:>7}  result", "emulation", "sensor", "rule", "time");
    for em in emulate::all() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if let Some(why) = emulate::unavailable_reason(em.scenario) {
            println!("{:<28} {:<7} {:<56} {:>7}  not run: {why}", em.name, "-", em.expected_rule.unwrap_or("(benign: no alert)"), "-");
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
        let check = check_rule(&em, &watcher.recent_alerts, ENGINE_CONNECTED);
        let ok = r.observed && !matches!(check, RuleCheck::Missed(_));
        if !ok {
            failed += 1;
        }
        let rule_txt = match (&check, em.expected_rule) {
            (RuleCheck::Fired, Some(rule)) => format!("{rule}: fired"),
            (RuleCheck::Fired, None) => "no alert (as expected)".into(),
            (RuleCheck::Missed(got), Some(rule)) => format!("{rule}: NOT fired (got {got:?})"),
            (RuleCheck::Missed(got), None) => format!("unexpected alerts {got:?}"),
            (RuleCheck::EngineNotConnected, Some(rule)) => format!("{rule}: engine not connected"),
            (RuleCheck::EngineNotConnected, None) => "(benign) engine not connected".into(),
        };
        let time = r.observed_after.map_or("-".into(), |d| format!("{:.0}ms", d.as_secs_f64() * 1000.0));
        println!(
            "{:<28} {:<7} {:<56} {:>7}  {} ({} events, exit {:?})",
            em.name,
            if r.observed { "seen" } else { "MISSED" },
            rule_txt,
            time,
            if ok { "PASS" } else { "FAIL" },
            r.events.len(),
            r.exit_code
        );
    }
    println!("self-test: {} passed, {} failed", ran - failed, failed);
    Ok(if failed == 0 { 0 } else { 1 })
}
