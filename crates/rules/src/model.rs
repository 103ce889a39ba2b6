//! The typed form of one Elastic rule file.

use serde::Deserialize;
use std::collections::BTreeMap;

/// A rule's type, as `rule.type` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleType {
    Eql,
    /// `type = "query"`: a KQL (or Lucene) query.
    Query,
    NewTerms,
    Threshold,
    /// Any other type (esql, machine_learning, threat_match, …): loaded, listed, not run.
    Other(String),
}

impl RuleType {
    pub fn parse(s: &str) -> RuleType {
        match s {
            "eql" => RuleType::Eql,
            "query" => RuleType::Query,
            "new_terms" => RuleType::NewTerms,
            "threshold" => RuleType::Threshold,
            other => RuleType::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            RuleType::Eql => "eql",
            RuleType::Query => "query",
            RuleType::NewTerms => "new_terms",
            RuleType::Threshold => "threshold",
            RuleType::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One `[[rule.threat]]` entry: a framework, a tactic and its techniques.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct Threat {
    pub framework: String,
    pub tactic: ThreatItem,
    #[serde(default)]
    pub technique: Vec<ThreatTechnique>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct ThreatItem {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct ThreatTechnique {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub subtechnique: Vec<ThreatItem>,
}

/// `[rule.new_terms]` and its history window.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTerms {
    /// Up to three fields whose combined values make the term.
    pub fields: Vec<String>,
    /// `history_window_start` as written (`now-7d`).
    pub history_window_start: String,
    /// The window length in seconds (7 days for `now-7d`).
    pub history_window_secs: u64,
}

/// `[rule.threshold]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub fields: Vec<String>,
    pub value: u64,
    pub cardinality: Vec<ThresholdCardinality>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdCardinality {
    pub field: String,
    pub value: u64,
}

/// `[rule.alert_suppression]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSuppression {
    pub group_by: Vec<String>,
    /// Suppression window in seconds; `None` means per rule execution.
    pub duration_secs: Option<u64>,
    /// `suppress` (default) or `doNotSuppress` for events missing a group-by field.
    pub missing_fields_strategy: String,
}

/// One loaded rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Where it came from: a file path, or `builtin:rules/...` for embedded rules.
    pub source: String,
    pub rule_id: String,
    pub name: String,
    pub description: String,
    pub rule_type: RuleType,
    /// `eql`, `kuery`, `lucene`, `esql`, … as written.
    pub language: Option<String>,
    pub query: Option<String>,
    /// 1-based line in the file where the query's text starts (for error positions).
    pub query_line: usize,
    pub severity: Severity,
    pub risk_score: u32,
    pub threat: Vec<Threat>,
    pub note: Option<String>,
    pub setup: Option<String>,
    pub tags: Vec<String>,
    pub references: Vec<String>,
    pub author: Vec<String>,
    pub license: Option<String>,
    pub index: Vec<String>,
    pub from: Option<String>,
    pub interval: Option<String>,
    pub max_signals: Option<u64>,
    pub timestamp_override: Option<String>,
    pub building_block_type: Option<String>,
    pub investigation_fields: Vec<String>,
    pub alert_suppression: Option<AlertSuppression>,
    pub new_terms: Option<NewTerms>,
    pub threshold: Option<Threshold>,
    /// `version` if present.
    pub version: Option<u64>,
    /// Every `[metadata]` key, as written.
    pub metadata: BTreeMap<String, toml::Value>,
}

impl Rule {
    /// MITRE ids: tactics, techniques and subtechniques, in file order.
    pub fn mitre_ids(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.threat {
            out.push(t.tactic.id.clone());
            for tech in &t.technique {
                out.push(tech.id.clone());
                out.extend(tech.subtechnique.iter().map(|s| s.id.clone()));
            }
        }
        out
    }
}
