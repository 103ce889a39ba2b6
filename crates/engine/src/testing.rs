//! Running a rule's own test cases (`X.tests.json`), for `spawnguard rules test` and
//! `cargo test`.

use crate::config::EnvConfig;
use crate::engine::{Engine, EngineConfig};
use crate::history::History;
use spawnguard_event::Event;
use spawnguard_rules::{LoadedRule, TestCase};

/// What a case produced: the Kibana documents of the alerts the rule raised.
#[derive(Debug, Clone, Default)]
pub struct CaseOutcome {
    pub alerts: Vec<serde_json::Value>,
    /// Set when the case itself could not run (e.g. a bad `config`).
    pub error: Option<String>,
}

/// Runs one case: a fresh engine with only `rule`, in-memory history, the case's environment
/// config, events fed in order, then [`Engine::finish`]. No per-minute cap (a case may
/// expect many alerts); the rule's own `alert_suppression` applies.
pub fn run_case(rule: &LoadedRule, case: &TestCase) -> CaseOutcome {
    let env = match &case.config {
        Some(c) => match EnvConfig::from_json(c) {
            Ok(e) => e,
            Err(e) => {
                return CaseOutcome {
                    alerts: Vec::new(),
                    error: Some(format!("case config: {e}")),
                }
            }
        },
        None => EnvConfig::default(),
    };
    let config = EngineConfig {
        env,
        max_alerts_per_minute: 0,
        ..EngineConfig::default()
    };
    let mut engine = Engine::with_history(std::slice::from_ref(rule), config, History::memory());
    let mut alerts = Vec::new();
    for ev in &case.events {
        for a in engine.process_event(Event::new(ev.clone())) {
            alerts.push(a.to_document());
        }
    }
    for a in engine.finish() {
        alerts.push(a.to_document());
    }
    CaseOutcome {
        alerts,
        error: None,
    }
}
