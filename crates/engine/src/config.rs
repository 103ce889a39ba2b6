//! The environment config: which hosts are CI runners, staging or production.
//!
//! ```toml
//! [[hosts]]
//! match = "ci-runner-*"        # wildcard on host.name (or host.hostname / host.id)
//! labels = { env = "ci" }      # env is one of ci, staging, production
//! ```
//!
//! The first entry whose pattern matches one of the event's `host.name`, `host.hostname` or
//! `host.id` (ignoring case) gives the host its labels; `env` is its environment.

use serde::Deserialize;
use spawnguard_event::{Event, FieldPath};
use spawnguard_query::matcher::{PatternKind, StrMatcher};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct EnvConfigFile {
    #[serde(default)]
    pub hosts: Vec<HostEntry>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HostEntry {
    #[serde(rename = "match")]
    pub pattern: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A compiled environment config.
#[derive(Debug, Clone, Default)]
pub struct EnvConfig {
    entries: Vec<(StrMatcher, BTreeMap<String, String>)>,
}

/// What the config says about one host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostEnv {
    /// The `env` label (`ci`, `staging`, `production`, or whatever the config says).
    pub environment: Option<String>,
    pub labels: BTreeMap<String, String>,
}

impl EnvConfig {
    /// Parses the TOML text of a config file.
    pub fn from_toml(text: &str) -> Result<EnvConfig, String> {
        let file: EnvConfigFile = toml::from_str(text).map_err(|e| e.to_string())?;
        Self::from_file(file)
    }

    /// Parses the JSON form used by rule test cases (`{"hosts": [{"match": …, "labels": …}]}`).
    pub fn from_json(v: &serde_json::Value) -> Result<EnvConfig, String> {
        let file: EnvConfigFile = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
        Self::from_file(file)
    }

    pub fn from_file(file: EnvConfigFile) -> Result<EnvConfig, String> {
        let mut entries = Vec::new();
        for h in file.hosts {
            let m = StrMatcher::new(
                PatternKind::Wildcard,
                std::slice::from_ref(&h.pattern),
                true,
            )
            .map_err(|e| format!("host pattern `{}`: {e}", h.pattern))?;
            entries.push((m, h.labels));
        }
        Ok(EnvConfig { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The labels of the event's host.
    pub fn host_env(&self, ev: &Event) -> HostEnv {
        if self.entries.is_empty() {
            return HostEnv::default();
        }
        let fields = ["host.name", "host.hostname", "host.id"].map(FieldPath::new);
        let names: Vec<&str> = fields
            .iter()
            .flat_map(|f| ev.values(f).into_iter().filter_map(|v| v.as_str()))
            .collect();
        for (m, labels) in &self.entries {
            if names.iter().any(|n| m.matches(n)) {
                return HostEnv {
                    environment: labels.get("env").cloned(),
                    labels: labels.clone(),
                };
            }
        }
        HostEnv::default()
    }
}

/// The default config path: `$XDG_CONFIG_HOME/spawnguard/config.toml` or
/// `~/.config/spawnguard/config.toml`.
pub fn default_config_path() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config"))
        })?;
    Some(base.join("spawnguard").join("config.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_matching_entry_wins() {
        let c = EnvConfig::from_toml(
            r#"
[[hosts]]
match = "ci-runner-*"
labels = { env = "ci" }
[[hosts]]
match = "*"
labels = { env = "production", team = "ml" }
"#,
        )
        .unwrap();
        let ci = c.host_env(&Event::new(json!({"host": {"name": "CI-Runner-7"}})));
        assert_eq!(ci.environment.as_deref(), Some("ci"));
        let prod = c.host_env(&Event::new(json!({"host.hostname": "web-1"})));
        assert_eq!(prod.environment.as_deref(), Some("production"));
        assert_eq!(prod.labels.get("team").map(String::as_str), Some("ml"));
        assert_eq!(c.host_env(&Event::new(json!({}))), HostEnv::default());
    }
}
