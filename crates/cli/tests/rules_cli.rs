//! `spawnguard rules list | validate | test` as a user runs them: output and exit codes.

use std::process::{Command, Output};

fn sg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spawnguard"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn list_shows_shipped_rules_with_type_severity_and_mitre() {
    let o = sg(&["rules", "list"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let t = text(&o);
    for needle in [
        "Shell Spawned by a Language Interpreter",
        "critical",
        "new_terms",
        "eql",
        "T1059.006",
    ] {
        assert!(t.contains(needle), "missing {needle}: {t}");
    }
    let j = sg(&["rules", "list", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).expect("json output");
    assert!(v
        .to_string()
        .contains("Interactive Terminal Spawned via Python"));
}

#[test]
fn test_passes_for_every_shipped_rule() {
    let o = sg(&["rules", "test"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    let summary = t
        .lines()
        .find(|l| l.ends_with(" failed") && l.contains(" passed, "))
        .expect("summary line");
    assert!(summary.ends_with(", 0 failed"), "{summary}");
    let passed: u64 = summary.split(' ').next().unwrap().parse().unwrap();
    assert!(passed >= 24, "{summary}");
}

#[test]
fn validate_points_at_the_bad_token_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let rule = r#"[metadata]
creation_date = "2026/11/24"
maturity = "production"
updated_date = "2026/11/24"

[rule]
author = ["test"]
description = "broken query"
language = "eql"
license = "Apache-2.0"
name = "Broken"
risk_score = 21
rule_id = "00000000-0000-4000-8000-000000000001"
severity = "low"
type = "eql"
query = '''
process where
  process.name = "sh"
'''
"#;
    std::fs::write(dir.path().join("broken.toml"), rule).unwrap();
    let o = sg(&["rules", "validate", "--rules", dir.path().to_str().unwrap()]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    // The `=` is on file line 18, column 16.
    assert!(t.contains("broken.toml:18:16: error"), "{t}");
    assert!(t.contains('^'), "{t}");
    let ok = sg(&["rules", "validate"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
}
