#![allow(dead_code)]
use spawnguard_rules::{load_text, LoadedRule};
use std::path::Path;

/// The shipped rules plus every Elastic Linux rule of the corpus.
pub fn shipped_and_corpus() -> Vec<LoadedRule> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let corpus = root.join("../shared/corpus/detection-rules/rules/linux");
    assert!(corpus.is_dir(), "corpus missing: {}", corpus.display());
    let report = spawnguard_rules::load_dirs(&[root.join("rules"), corpus]);
    assert!(report.rules.len() > 300, "{} rules", report.rules.len());
    report.rules
}

/// A KQL rule of `rule_type` with extra `[rule]` TOML appended.
pub fn rule(rule_id: &str, rule_type: &str, query: &str, extra: &str) -> LoadedRule {
    rule_in(rule_id, rule_type, "kuery", query, extra)
}

/// An EQL rule.
pub fn eql_rule(rule_id: &str, query: &str) -> LoadedRule {
    rule_in(rule_id, "eql", "eql", query, "")
}

fn rule_in(rule_id: &str, rule_type: &str, language: &str, query: &str, extra: &str) -> LoadedRule {
    let text = format!(
        r#"[metadata]
creation_date = "2026/11/24"
maturity = "production"
updated_date = "2026/11/24"

[rule]
author = ["test"]
description = "test rule"
from = "now-6m"
index = ["logs-*"]
language = "{language}"
license = "Apache-2.0"
name = "Test {rule_id}"
risk_score = 47
rule_id = "{rule_id}"
severity = "high"
type = "{rule_type}"
query = '''
{query}
'''
{extra}
"#
    );
    let report = load_text(&format!("{rule_id}.toml"), &text);
    let errors: Vec<String> = report.errors().map(|p| p.to_string()).collect();
    assert!(errors.is_empty(), "rule does not load: {errors:?}");
    assert_eq!(report.rules.len(), 1, "skipped: {:?}", report.skipped);
    report.rules.into_iter().next().unwrap()
}

pub fn new_terms_rule(rule_id: &str, fields: &[&str], window: &str) -> LoadedRule {
    let fields: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
    rule(
        rule_id,
        "new_terms",
        "event.category:process and process.parent.name:python*",
        &format!(
            "\n[rule.new_terms]\nfield = \"new_terms_fields\"\nvalue = [{}]\n[[rule.new_terms.history_window_start]]\nfield = \"history_window_start\"\nvalue = \"{window}\"\n",
            fields.join(", ")
        ),
    )
}
