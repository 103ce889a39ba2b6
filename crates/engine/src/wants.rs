//! Which kinds of event the loaded rules can want at all.
//!
//! A live sensor makes some kinds of event in bulk (a fork and an exit for every process) that
//! most rule sets never look at. Given the values an event kind always carries in a few fields
//! (its *shape*: `event.category`, `event.type`, `event.action`, …), [`rules_want`] says whether
//! any condition of any rule — an event query's condition, or any stage of a sequence or
//! sample, `until` included — could be true on such an event. When none can, the sensor need
//! not build those events: no rule can match them, nor advance a sequence with them.
//!
//! Soundness: a condition is ruled out only when it provably cannot be true on an event of the
//! shape, whatever its other fields hold:
//! * a string test (`:`, `==`, `in`, `like`…) of a shape field whose patterns are all exact
//!   (or wildcards without a wildcard character), none equal to any of the field's values once
//!   both are folded ([`fold`], which equal strings keep equal whatever the test's case
//!   sensitivity);
//! * a `==` comparison of a shape field with a string none of its values equals, folded;
//! * an `and` with one part ruled out; an `or` with every part ruled out; `NullAsFalse` of a
//!   part ruled out; a constant false or null.
//!
//! Anything else (negations, other comparisons, functions, fields outside the shape) is kept:
//! the answer errs towards wanting events.

use spawnguard_query::ir::{CmpOp, Literal, Pred};
use spawnguard_query::matcher::PatternKind;
use spawnguard_query::value::fold;
use spawnguard_rules::LoadedRule;

/// The values an event kind always has in some fields: every value of each listed field
/// (arrays as all their elements). Fields not listed may hold anything.
pub type Shape<'a> = [(&'a str, &'a [&'a str])];

/// Whether any condition of any rule could match an event of `shape`.
pub fn rules_want(rules: &[LoadedRule], shape: &Shape<'_>) -> bool {
    rules.iter().any(|r| rule_wants(r, shape))
}

/// Whether any of the rule's conditions (its event condition, or any stage or `until` of a
/// sequence or sample) could match an event of `shape`.
pub fn rule_wants(rule: &LoadedRule, shape: &Shape<'_>) -> bool {
    rule.query
        .conditions()
        .into_iter()
        .any(|c| !ruled_out(c, shape))
}

/// True only when `p` cannot be true on any event of `shape`.
pub fn ruled_out(p: &Pred, shape: &Shape<'_>) -> bool {
    match p {
        Pred::Const(c) => *c != Some(true),
        Pred::And(ps) => ps.iter().any(|q| ruled_out(q, shape)),
        Pred::Or(ps) => ps.iter().all(|q| ruled_out(q, shape)),
        Pred::NullAsFalse(inner) => ruled_out(inner, shape),
        Pred::Str { field, matcher } => {
            let Some(values) = values_of(shape, field.as_str()) else {
                return false;
            };
            let pats = matcher.patterns();
            let mut required = Vec::with_capacity(pats.len());
            for (kind, s) in pats {
                let exact = *kind == PatternKind::Exact
                    || (*kind == PatternKind::Wildcard && !s.contains(['*', '?', '\\']));
                if !exact {
                    return false;
                }
                required.push(fold(s));
            }
            // No pattern at all never matches; otherwise none of the values may be required.
            !values
                .iter()
                .any(|v| required.iter().any(|r| *r == fold(v)))
        }
        Pred::Cmp {
            field,
            op: CmpOp::Eq,
            value: Literal::Str(s),
            ..
        } => match values_of(shape, field.as_str()) {
            Some(values) => {
                let want = fold(s);
                !values.iter().any(|v| fold(v) == want)
            }
            None => false,
        },
        _ => false,
    }
}

fn values_of<'a>(shape: &'a Shape<'a>, field: &str) -> Option<&'a [&'a str]> {
    shape
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, v)| *v)
        // A field listed with no value is not known to hold anything: not used to rule out.
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use spawnguard_rules::load_builtin;

    const FORK: &Shape<'static> = &[
        ("event.kind", &["event"]),
        ("event.category", &["process"]),
        ("event.type", &["start"]),
        ("event.action", &["fork"]),
        ("event.module", &["spawnguard"]),
        ("event.dataset", &["spawnguard.process"]),
        ("host.os.type", &["linux"]),
    ];
    const EXIT: &Shape<'static> = &[
        ("event.kind", &["event"]),
        ("event.category", &["process"]),
        ("event.type", &["end"]),
        ("event.action", &["end"]),
        ("host.os.type", &["linux"]),
    ];

    fn rule(language: &str, query: &str) -> LoadedRule {
        let text = format!(
            "[metadata]\ncreation_date = \"2026/11/24\"\nupdated_date = \"2026/11/24\"\n\n[rule]\n\
             author = [\"t\"]\ndescription = \"t\"\nfrom = \"now-9m\"\nindex = [\"logs-*\"]\n\
             language = \"{language}\"\nlicense = \"Elastic License v2\"\nname = \"t\"\n\
             risk_score = 21\nrule_id = \"00000000-0000-4000-8000-000000000001\"\n\
             severity = \"low\"\ntype = \"{}\"\nquery = '''\n{query}\n'''\n",
            if language == "eql" { "eql" } else { "query" }
        );
        let mut report = spawnguard_rules::load_text("t.toml", &text);
        assert_eq!(
            report.rules.len(),
            1,
            "rule did not load: {query}: {:?}",
            report.problems
        );
        report.rules.remove(0)
    }

    fn wants(language: &str, query: &str, shape: &Shape<'_>) -> bool {
        rules_want(&[rule(language, query)], shape)
    }

    #[test]
    fn start_without_action_wants_forks_not_exits() {
        let q = r#"process where event.type == "start""#;
        assert!(wants("eql", q, FORK));
        assert!(!wants("eql", q, EXIT));
    }

    #[test]
    fn exec_only_rules_want_neither() {
        for q in [
            r#"process where event.type == "start" and event.action == "exec""#,
            r#"process where event.action in ("exec", "exec_event", "start") and process.name == "sh""#,
            r#"process where event.action : "EXEC""#,
            r#"file where true"#,
            r#"network where event.action == "connection_attempted""#,
        ] {
            assert!(!wants("eql", q, FORK), "{q}");
            assert!(!wants("eql", q, EXIT), "{q}");
        }
        let kql = "event.category:process and event.type:start and event.action:exec";
        assert!(!wants("kuery", kql, FORK));
        assert!(!wants("kuery", kql, EXIT));
    }

    #[test]
    fn case_folding_and_or_branches_are_kept() {
        // Case-insensitive and case-sensitive tests of the same value: both can match.
        assert!(wants("eql", r#"process where event.action : "FORK""#, FORK));
        assert!(wants(
            "eql",
            r#"process where event.action == "fork""#,
            FORK
        ));
        assert!(wants("kuery", "event.action:FoRk", FORK));
        // An `or` is ruled out only if every branch is.
        let q = r#"process where event.action == "exec" or process.name == "sh""#;
        assert!(wants("eql", q, FORK));
        let q = r#"process where event.action == "exec" or event.type == "end""#;
        assert!(!wants("eql", q, FORK));
        assert!(wants("eql", q, EXIT));
    }

    #[test]
    fn wildcards_negations_and_unknown_fields_are_kept() {
        assert!(wants("eql", r#"process where event.action : "f*""#, FORK));
        assert!(wants("eql", r#"process where event.action : "ex*""#, FORK));
        assert!(wants(
            "eql",
            r#"process where event.action != "exec""#,
            FORK
        ));
        assert!(wants(
            "eql",
            r#"process where not event.action == "fork""#,
            EXIT
        ));
        assert!(wants("eql", r#"any where process.name == "bash""#, FORK));
        assert!(wants("kuery", "process.name:bash", EXIT));
        assert!(wants("eql", r#"any where true"#, EXIT));
    }

    #[test]
    fn any_sequence_stage_or_until_counts() {
        let q = r#"sequence by process.entity_id
  [process where event.action == "exec"]
  [process where event.action == "end"]"#;
        assert!(wants("eql", q, EXIT));
        assert!(!wants("eql", q, FORK));
        let q = r#"sequence by process.entity_id
  [process where event.action == "exec"]
  [network where true]
until [process where event.type == "end"]"#;
        assert!(wants("eql", q, EXIT));
        assert!(!wants("eql", q, FORK));
    }

    #[test]
    fn category_and_host_fields_rule_out() {
        assert!(!wants("eql", r#"file where event.type == "start""#, FORK));
        assert!(!wants(
            "eql",
            r#"process where host.os.type == "macos""#,
            FORK
        ));
        assert!(wants(
            "eql",
            r#"process where host.os.type == "linux""#,
            FORK
        ));
    }

    #[test]
    fn shipped_rules_want_no_forks_or_exits() {
        let report = load_builtin();
        assert!(!report.rules.is_empty());
        assert!(!rules_want(&report.rules, FORK));
        assert!(!rules_want(&report.rules, EXIT));
        // ...but they do want exec events.
        let exec: &Shape<'static> = &[
            ("event.category", &["process"]),
            ("event.type", &["start"]),
            ("event.action", &["exec"]),
            ("host.os.type", &["linux"]),
        ];
        assert!(rules_want(&report.rules, exec));
    }
}
