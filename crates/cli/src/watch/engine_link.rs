//! Builds the detection engine for `watch`: the same rules, environment config, history store
//! and model-file scanner as `hunt`.

use crate::hunt::{read_env_config, summarise_load};
use anyhow::Context;
use spawnguard_engine::wants::rules_want;
use spawnguard_engine::{Engine, EngineConfig, EngineError, EnvConfig, Gate};
use spawnguard_sensor::ecs;
use std::path::{Path, PathBuf};

/// What the engine was built from.
pub struct Built {
    pub engine: Engine,
    pub rule_count: usize,
    /// (rule name, rule_id) of every loaded rule.
    pub rules: Vec<(String, String)>,
    /// Whether any condition of any loaded rule (any stage of a sequence or sample too) could
    /// match a fork event, resp. an exit event ([`spawnguard_engine::wants`]): when not, the
    /// sensor does not build them (unless `--emit-events` asks for every event).
    pub wants_forks: bool,
    pub wants_exits: bool,
    /// Decides from a probe of an exec event whether any rule could want it (see
    /// `spawnguard_engine::gate`): the sensor builds only those.
    pub exec_gate: Gate,
}

/// Loads the rules (`dirs`, or the shipped ones), prints the load summary to standard error and
/// opens the history in `state_dir`.
pub fn build(
    dirs: &[PathBuf],
    state_dir: &Path,
    learn: bool,
    config: Option<&Path>,
    max_alerts_per_minute: u64,
) -> anyhow::Result<Built> {
    let report = if dirs.is_empty() {
        spawnguard_rules::load_builtin()
    } else {
        spawnguard_rules::load_dirs(dirs)
    };
    summarise_load("spawnguard watch", &report);
    anyhow::ensure!(!report.rules.is_empty(), "no rule could be loaded");
    let env = match config {
        Some(p) => read_env_config(p)?,
        None => match spawnguard_engine::config::default_config_path().filter(|p| p.is_file()) {
            Some(p) => read_env_config(&p)?,
            None => EnvConfig::default(),
        },
    };
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("--state {}: cannot create it", state_dir.display()))?;
    let cfg = EngineConfig {
        state_dir: Some(state_dir.to_path_buf()),
        learn,
        env,
        max_alerts_per_minute,
        scanner: Some(crate::model_link::ScanLink::new()),
        // Live events carry their ancestry from the sensor's process table; the engine's own
        // process memory only fills gaps, so it is kept small (the RSS target is for watch).
        context_processes: 8_192,
        ..EngineConfig::default()
    };
    let engine = match Engine::new(&report.rules, cfg) {
        Ok(e) => e,
        Err(EngineError::History(h)) => anyhow::bail!("{h}"),
    };
    let rules = report
        .rules
        .iter()
        .map(|r| (r.rule.name.clone(), r.rule.rule_id.clone()))
        .collect();
    Ok(Built {
        exec_gate: engine.gate(&report.rules, ecs::EXEC_PROBE_FIELDS, &ecs::EXEC.fields()),
        wants_forks: rules_want(&report.rules, &ecs::FORK.fields()),
        wants_exits: rules_want(&report.rules, &ecs::EXIT.fields()),
        rule_count: report.rules.len(),
        engine,
        rules,
    })
}
