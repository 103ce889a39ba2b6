//! Elastic detection-rules TOML files, loaded unchanged.
//!
//! [`model`] is the typed form of one rule file (`[metadata]`, `[rule]`, `[[rule.threat]]`,
//! `[rule.new_terms]`, `[rule.threshold]`, …). Loading, validation with file/line/column
//! errors, the shipped rules embedded in the binary, and compiling queries live beside it.

pub mod model;

pub use model::{
    AlertSuppression, NewTerms, Rule, RuleType, Severity, Threat, ThreatItem, Threshold, ThresholdCardinality,
};
