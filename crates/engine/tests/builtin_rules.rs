//! `spawnguard rules test` inside `cargo test`: every shipped rule's own test cases.

use spawnguard_engine::testing::run_case;
use spawnguard_rules::{check_case, load_builtin, tests_for};

#[test]
fn every_builtin_rule_passes_its_cases() {
    let report = load_builtin();
    let errors: Vec<String> = report.errors().map(|p| p.to_string()).collect();
    assert!(
        errors.is_empty(),
        "shipped rules have errors:\n{}",
        errors.join("\n")
    );
    assert!(!report.rules.is_empty(), "no shipped rules were embedded");
    let mut failures = Vec::new();
    let mut cases = 0;
    for lr in &report.rules {
        let tests = match tests_for(&lr.rule.source) {
            None => {
                failures.push(format!("{}: no tests file", lr.rule.source));
                continue;
            }
            Some(Err(p)) => {
                failures.push(p.to_string());
                continue;
            }
            Some(Ok(t)) => t,
        };
        for case in &tests.cases {
            cases += 1;
            let out = run_case(lr, case);
            if let Some(e) = out.error {
                failures.push(format!("{} / {}: {e}", lr.rule.source, case.name));
            }
            for d in check_case(case, &out.alerts) {
                failures.push(format!("{} / {}: {d}", lr.rule.source, case.name));
            }
        }
    }
    assert!(cases > 0, "no test cases ran");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
