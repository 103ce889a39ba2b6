//! Builds the detection engine for `watch`: the same rules, environment config, history store
//! and model-file scanner as `hunt`.

use anyhow::Context;
use spawnguard_engine::{Engine, EngineConfig, EngineError, EnvConfig};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SHOWN_PROBLEMS: usize = 20;

/// What the engine was built from.
pub struct Built {
    pub engine: Engine,
    pub rule_count: usize,
    /// (rule name, rule_id) of every loaded rule.
    pub rules: Vec<(String, String)>,
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
    summarise_load(&report);
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
        rule_count: report.rules.len(),
        engine,
        rules,
    })
}

/// Reads an environment config: TOML (`[[hosts]]`), or the JSON form `{"hosts": [...]}`.
fn read_env_config(p: &Path) -> anyhow::Result<EnvConfig> {
    let text = std::fs::read_to_string(p)
        .with_context(|| format!("cannot read config {}", p.display()))?;
    let parsed = if text.trim_start().starts_with('{') {
        serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| e.to_string())
            .and_then(|v| EnvConfig::from_json(&v))
    } else {
        EnvConfig::from_toml(&text)
    };
    parsed.map_err(|e| anyhow::anyhow!("config {}: {e}", p.display()))
}

fn summarise_load(report: &spawnguard_rules::LoadReport) {
    let errors: Vec<_> = report.errors().collect();
    for p in errors.iter().take(SHOWN_PROBLEMS) {
        eprintln!("spawnguard watch: rule problem: {p}");
    }
    if errors.len() > SHOWN_PROBLEMS {
        eprintln!(
            "spawnguard watch: … and {} more rule problems (run `spawnguard rules validate`)",
            errors.len() - SHOWN_PROBLEMS
        );
    }
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &report.skipped {
        *by_type.entry(s.rule_type.as_str()).or_default() += 1;
    }
    let skipped: Vec<String> = by_type.iter().map(|(t, n)| format!("{n} {t}")).collect();
    eprintln!(
        "spawnguard watch: loaded {} rules; skipped {}{}; {} with errors",
        report.rules.len(),
        report.skipped.len(),
        if skipped.is_empty() {
            String::new()
        } else {
            format!(" ({})", skipped.join(", "))
        },
        errors.len()
    );
}
