//! Elastic detection-rules TOML files, loaded unchanged.
//!
//! [`model`] is the typed form of one rule file (`[metadata]`, `[rule]`, `[[rule.threat]]`,
//! `[rule.new_terms]`, `[rule.threshold]`, …). [`load_text`] turns a file's text into a rule
//! with its compiled query, a skipped entry (types that do not run, with why), or problems
//! with file, line and column. [`load_dirs`] and [`load_builtin`] load many files; the
//! shipped rules in the repository's `rules/` folder are embedded in the binary.
//! [`tests_file`] reads each rule's `X.tests.json` and checks a case's alerts.

mod ctx;
mod load;
pub mod model;
mod plain;
pub mod position;
mod report;
mod sections;
mod sources;
pub mod tests_file;

pub use load::load_text;
pub use model::{
    AlertSuppression, NewTerms, Rule, RuleType, Severity, Threat, ThreatItem, ThreatTechnique,
    Threshold, ThresholdCardinality,
};
pub use report::{LoadReport, LoadedRule, Problem, ProblemSeverity, Skipped};
pub use sections::{parse_duration, parse_now_minus};
pub use sources::{
    builtin_rule_files, builtin_tests, is_builtin, load_builtin, load_dirs, load_sources,
    tests_for, BUILTIN_PREFIX,
};
pub use tests_file::{check_case, parse_tests, TestCase, TestFile};
