//! The rules shipped in the repository's `rules/` folder are embedded, load without errors,
//! and each has a tests file that parses.

use spawnguard_rules::{builtin_rule_files, builtin_tests, load_builtin, parse_tests, tests_for};

#[test]
fn builtin_rules_load_with_tests() {
    assert!(
        !builtin_rule_files().is_empty(),
        "the repository's rules/ folder has no rules"
    );
    let r = load_builtin();
    let errors: Vec<String> = r.errors().map(|p| p.to_string()).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(
        r.skipped.is_empty(),
        "shipped rules must all run: {:?}",
        r.skipped
    );
    assert_eq!(r.rules.len(), builtin_rule_files().len());
    for lr in &r.rules {
        assert!(
            lr.rule.source.starts_with("builtin:rules/"),
            "{}",
            lr.rule.source
        );
        match tests_for(&lr.rule.source) {
            None => panic!("{}: no tests", lr.rule.source),
            Some(Err(p)) => panic!("{p}"),
            Some(Ok(t)) => {
                assert!(!t.cases.is_empty(), "{}: no cases", lr.rule.source);
                assert!(
                    t.cases.iter().any(|c| c.expect_alerts > 0),
                    "{}: no case that must trigger",
                    lr.rule.source
                );
                assert!(
                    t.cases.iter().any(|c| c.expect_alerts == 0),
                    "{}: no case that must not trigger",
                    lr.rule.source
                );
            }
        }
    }
    for (path, text) in builtin_tests() {
        parse_tests(path, text).unwrap_or_else(|p| panic!("{p}"));
    }
}
