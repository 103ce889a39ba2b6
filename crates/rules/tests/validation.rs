//! Validation: every problem, at its line and column in the file.

use spawnguard_rules::{
    load_dirs, load_text, tests_for, LoadReport, Problem, ProblemSeverity, RuleType, Severity,
};

/// A valid EQL rule. Line numbers below refer to this text.
const BASE: &str = r#"[metadata]
creation_date = "2026/11/24"
maturity = "production"

[rule]
author = ["spawnguard"]
description = "A Python interpreter started a shell."
language = "eql"
license = "Apache-2.0"
name = "Python spawning a shell"
risk_score = 47
rule_id = "11111111-2222-3333-4444-555555555555"
severity = "medium"
tags = ["OS: Linux"]
timestamp_override = "event.ingested"
type = "eql"
query = '''
process where event.type == "start" and
  process.parent.name in ("python", "python3") and
  process.name in ("sh", "bash")
'''

[[rule.threat]]
framework = "MITRE ATT&CK"
[[rule.threat.technique]]
id = "T1059"
name = "Command and Scripting Interpreter"
reference = "https://attack.mitre.org/techniques/T1059/"
[[rule.threat.technique.subtechnique]]
id = "T1059.006"
name = "Python"
reference = "https://attack.mitre.org/techniques/T1059/006/"

[rule.threat.tactic]
id = "TA0002"
name = "Execution"
reference = "https://attack.mitre.org/tactics/TA0002/"
"#;

fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from}");
    BASE.replacen(from, to, 1)
}

fn errors(r: &LoadReport) -> Vec<&Problem> {
    r.errors().collect()
}

/// The only error of a report, as (line, column, message).
fn only_error(text: &str) -> (usize, usize, String) {
    let r = load_text("t.toml", text);
    let e = errors(&r);
    assert_eq!(e.len(), 1, "{:#?}", r.problems);
    assert!(r.rules.is_empty());
    (e[0].line, e[0].column, e[0].message.clone())
}

#[test]
fn base_rule_loads() {
    let r = load_text("t.toml", BASE);
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    assert_eq!(r.rules.len(), 1);
    let rule = &r.rules[0].rule;
    assert_eq!(rule.rule_type, RuleType::Eql);
    assert_eq!(rule.severity, Severity::Medium);
    assert_eq!(rule.risk_score, 47);
    assert_eq!(rule.query_line, 18, "the line after `query = '''`");
    assert_eq!(rule.mitre_ids(), ["TA0002", "T1059", "T1059.006"]);
    assert_eq!(rule.timestamp_override.as_deref(), Some("event.ingested"));
    assert_eq!(
        rule.metadata.get("maturity").and_then(|v| v.as_str()),
        Some("production")
    );
    assert_eq!(r.rules[0].query.timestamp_field.to_string(), "@timestamp");
}

#[test]
fn toml_syntax_error() {
    let (l, c, m) = only_error(&with("risk_score = 47", "risk_score = = 47"));
    assert_eq!((l, c), (11, 14), "{m}");
    assert!(m.starts_with("invalid TOML"), "{m}");
}

#[test]
fn missing_name() {
    let (l, c, m) = only_error(&with("name = \"Python spawning a shell\"\n", ""));
    assert_eq!((l, c), (5, 1), "at the [rule] header: {m}");
    assert_eq!(m, "missing required key `rule.name`");
}

#[test]
fn bad_severity() {
    let (l, c, m) = only_error(&with("severity = \"medium\"", "severity = \"urgent\""));
    assert_eq!((l, c), (13, 12));
    assert!(
        m.contains("unknown severity `urgent`") && m.contains("low, medium, high or critical"),
        "{m}"
    );
}

#[test]
fn bad_risk_score() {
    let (l, c, m) = only_error(&with("risk_score = 47", "risk_score = 147"));
    assert_eq!((l, c), (11, 14));
    assert!(m.contains("between 0 and 100, found 147"), "{m}");
    let (l, c, m) = only_error(&with("risk_score = 47", "risk_score = \"47\""));
    assert_eq!((l, c), (11, 14));
    assert_eq!(m, "`rule.risk_score` must be an integer, found a string");
}

#[test]
fn query_syntax_error_deep_in_multiline_query() {
    // The stray `)` is on the query's third line, which is line 20 of the file.
    let text = with(
        "process.name in (\"sh\", \"bash\")\n",
        "process.name in (\"sh\", \"bash\"))\n",
    );
    let r = load_text("t.toml", &text);
    let e = errors(&r);
    assert_eq!(e.len(), 1, "{:#?}", r.problems);
    assert_eq!((e[0].line, e[0].column), (20, 33), "{}", e[0]);
    assert!(e[0].message.starts_with("query: "), "{}", e[0]);
    let shown = e[0].to_string();
    assert!(shown.starts_with("t.toml:20:33: error: query: "), "{shown}");
    assert!(
        shown.ends_with(
            "  |   process.name in (\"sh\", \"bash\"))\n  |                                 ^"
        ),
        "{shown}"
    );
}

#[test]
fn query_error_in_single_line_escaped_string() {
    // A basic string with escapes before the error: columns count the escapes as written.
    let text = with(
        "query = '''\nprocess where event.type == \"start\" and\n  process.parent.name in (\"python\", \"python3\") and\n  process.name in (\"sh\", \"bash\")\n'''",
        "query = \"process where process.name == \\\"sh\\\" )\"",
    );
    let r = load_text("t.toml", &text);
    let e = errors(&r);
    assert_eq!(e.len(), 1, "{:#?}", r.problems);
    let line = text.lines().nth(e[0].line - 1).unwrap_or("");
    let col_of_paren = line.rfind(')').map(|i| i + 1);
    assert_eq!(
        (e[0].line, Some(e[0].column)),
        (17, col_of_paren),
        "{}",
        e[0]
    );
}

#[test]
fn new_terms_with_four_fields() {
    let text = with("language = \"eql\"", "language = \"kuery\"")
        .replacen("type = \"eql\"", "type = \"new_terms\"", 1)
        .replacen(
            "query = '''\nprocess where event.type == \"start\" and\n  process.parent.name in (\"python\", \"python3\") and\n  process.name in (\"sh\", \"bash\")\n'''",
            "query = '''\nevent.category:process and process.name:(sh or bash)\n'''\n\n[rule.new_terms]\nfield = \"new_terms_fields\"\nvalue = [\"host.id\", \"user.name\", \"process.name\", \"process.parent.name\"]\n\n[[rule.new_terms.history_window_start]]\nfield = \"history_window_start\"\nvalue = \"now-7d\"",
            1,
        );
    let (l, c, m) = only_error(&text);
    assert_eq!((l, c), (23, 9), "{m}");
    assert!(m.contains("1 to 3 fields, found 4"), "{m}");
}

#[test]
fn new_terms_loads_window_and_fields() {
    let text = BASE
        .replacen("language = \"eql\"", "language = \"kuery\"", 1)
        .replacen("type = \"eql\"", "type = \"new_terms\"", 1)
        .replacen(
            "query = '''\nprocess where event.type == \"start\" and\n  process.parent.name in (\"python\", \"python3\") and\n  process.name in (\"sh\", \"bash\")\n'''",
            "query = 'process.name:sh'\n\n[rule.new_terms]\nfield = \"new_terms_fields\"\nvalue = [\"host.id\", \"process.parent.executable\"]\n\n[[rule.new_terms.history_window_start]]\nfield = \"history_window_start\"\nvalue = \"now-5d\"",
            1,
        );
    let r = load_text("t.toml", &text);
    assert!(!r.has_errors(), "{:#?}", r.problems);
    let nt = r.rules[0].rule.new_terms.clone();
    let nt = nt.unwrap_or_else(|| panic!("no new_terms"));
    assert_eq!(nt.fields, ["host.id", "process.parent.executable"]);
    assert_eq!(nt.history_window_secs, 5 * 86_400);
    assert_eq!(r.rules[0].rule.query_line, 17);

    let bad = text.replacen("now-5d", "now-5y", 1);
    let (l, c, m) = only_error(&bad);
    assert_eq!((l, c), (25, 9), "{m}");
    assert!(m.contains("`now-5y`") && m.contains("s, m, h or d"), "{m}");

    let missing = text.replacen(
        "[[rule.new_terms.history_window_start]]\nfield = \"history_window_start\"\nvalue = \"now-5d\"",
        "",
        1,
    );
    let (l, c, m) = only_error(&missing);
    assert_eq!((l, c), (19, 1), "{m}");
    assert_eq!(
        m,
        "missing required key `rule.new_terms.history_window_start`"
    );
}

#[test]
fn unknown_type() {
    let r = load_text("t.toml", &with("type = \"eql\"", "type = \"eqll\""));
    let e = errors(&r);
    assert_eq!(e.len(), 1, "{:#?}", r.problems);
    assert_eq!((e[0].line, e[0].column), (16, 8));
    assert!(
        e[0].message.contains("unknown rule type `eqll`"),
        "{}",
        e[0]
    );
    assert_eq!(
        r.skipped.len(),
        1,
        "listed as skipped too, never silently dropped"
    );
    assert_eq!(r.skipped[0].rule_type, "eqll");
}

#[test]
fn every_problem_is_reported() {
    let text = with("severity = \"medium\"", "severity = \"urgent\"")
        .replacen("risk_score = 47", "risk_score = -1", 1)
        .replacen(
            "description = \"A Python interpreter started a shell.\"\n",
            "",
            1,
        )
        .replacen(
            "tags = [\"OS: Linux\"]",
            "tags = [\"OS: Linux\", 3]\nfavourite_colour = \"blue\"",
            1,
        );
    let r = load_text("t.toml", &text);
    let shown: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
    let want = [
        "t.toml:5:1: error: missing required key `rule.description`",
        "t.toml:10:14: error: `rule.risk_score` must not be negative, found -1",
        "t.toml:12:12: error: unknown severity `urgent` (expected low, medium, high or critical)",
        "t.toml:13:22: error: `rule.tags` must be an array of strings; element 2 is an integer",
        "t.toml:14:1: warning: unknown key `rule.favourite_colour` (ignored)",
    ];
    for w in want {
        assert!(shown.iter().any(|s| s == w), "missing {w:?} in {shown:#?}");
    }
    assert_eq!(shown.len(), want.len(), "{shown:#?}");
    assert!(r.rules.is_empty());
}

#[test]
fn language_must_match_type_and_lucene_is_skipped() {
    let (l, c, m) = only_error(&with("language = \"eql\"", "language = \"kuery\""));
    assert_eq!((l, c), (8, 12));
    assert_eq!(m, "`rule.language` is `kuery` but a eql rule needs `eql`");

    let lucene = with("language = \"eql\"", "language = \"lucene\"").replacen(
        "type = \"eql\"",
        "type = \"query\"",
        1,
    );
    let r = load_text("t.toml", &lucene);
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(r.skipped[0].reason, "lucene queries are not supported");
}

#[test]
fn other_types_are_skipped_with_reasons() {
    for ty in ["esql", "machine_learning", "threat_match"] {
        let r = load_text(
            "t.toml",
            &with("type = \"eql\"", &format!("type = \"{ty}\"")),
        );
        assert!(!r.has_errors(), "{ty}: {:#?}", r.problems);
        assert_eq!(r.skipped.len(), 1, "{ty}");
        assert_eq!(r.skipped[0].rule_type, ty);
        assert_eq!(r.skipped[0].name, "Python spawning a shell");
        assert!(
            r.skipped[0].reason.contains(ty),
            "{ty}: {}",
            r.skipped[0].reason
        );
    }
}

#[test]
fn threshold_suppression_and_investigation_fields() {
    let text = with("language = \"eql\"", "language = \"kuery\"")
        .replacen("type = \"eql\"", "type = \"threshold\"", 1)
        .replacen(
            "query = '''\nprocess where event.type == \"start\" and\n  process.parent.name in (\"python\", \"python3\") and\n  process.name in (\"sh\", \"bash\")\n'''",
            "query = 'process.name:sh'\ninvestigation_fields = {field_names = [\"host.name\", \"process.command_line\"]}\n\n[rule.threshold]\nfield = [\"host.id\", \"user.name\"]\nvalue = 15\n\n[[rule.threshold.cardinality]]\nfield = \"process.args\"\nvalue = 100\n\n[rule.alert_suppression]\nmissing_fields_strategy = \"doNotSuppress\"\n\n[rule.alert_suppression.duration]\nvalue = 2\nunit = \"h\"",
            1,
        );
    let r = load_text("t.toml", &text);
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    let rule = &r.rules[0].rule;
    let th = rule
        .threshold
        .clone()
        .unwrap_or_else(|| panic!("no threshold"));
    assert_eq!(th.fields, ["host.id", "user.name"]);
    assert_eq!(th.value, 15);
    assert_eq!(
        (th.cardinality[0].field.as_str(), th.cardinality[0].value),
        ("process.args", 100)
    );
    let s = rule
        .alert_suppression
        .clone()
        .unwrap_or_else(|| panic!("no suppression"));
    assert_eq!(s.duration_secs, Some(7200));
    assert_eq!(s.missing_fields_strategy, "doNotSuppress");
    assert_eq!(
        rule.investigation_fields,
        ["host.name", "process.command_line"]
    );

    let (l, c, m) = only_error(&text.replacen("value = 15\n", "", 1));
    assert_eq!((l, c), (20, 1), "{m}");
    assert_eq!(m, "missing required key `rule.threshold.value`");
    let (l, c, m) = only_error(&text.replacen("unit = \"h\"", "unit = \"w\"", 1));
    assert_eq!((l, c), (33, 8), "{m}");
    assert!(m.contains("unknown duration unit `w`"), "{m}");
}

#[test]
fn duplicates_dirs_and_tests_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sub = dir.path().join("linux");
    std::fs::create_dir_all(&sub).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(sub.join("a.toml"), BASE).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(sub.join("b.toml"), BASE).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(sub.join("notes.md"), "not a rule").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        sub.join("a.tests.json"),
        r#"{"cases": [{"name": "fires", "expect_alerts": 1, "events": [{"process": {"name": "sh"}}]}]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        sub.join("b.tests.json"),
        "{\"cases\": [\n  {\"name\": \"x\",\n   \"expect_alerts\": \"one\", \"events\": []}]}",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = load_dirs(&[dir.path().to_path_buf(), dir.path().join("nope")]);
    assert_eq!(r.rules.len(), 2);
    let e: Vec<String> = r.errors().map(|p| p.to_string()).collect();
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(
        e[0].contains("nope") && e[0].contains("cannot read"),
        "{e:#?}"
    );
    assert!(
        e[1].contains(
            "b.toml:12:11: error: duplicate rule_id `11111111-2222-3333-4444-555555555555`"
        ),
        "{e:#?}"
    );
    assert!(r.rules[0].rule.source.ends_with("a.toml"), "sorted");

    let a = tests_for(&r.rules[0].rule.source);
    let a = a
        .unwrap_or_else(|| panic!("a.tests.json not found"))
        .unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(a.cases[0].expect_alerts, 1);
    let b = tests_for(&r.rules[1].rule.source).unwrap_or_else(|| panic!("b.tests.json not found"));
    let p = b
        .err()
        .unwrap_or_else(|| panic!("b.tests.json must not parse"));
    assert_eq!((p.line, p.severity), (3, ProblemSeverity::Error), "{p}");
    assert!(
        p.source.ends_with("b.tests.json") && p.message.contains("invalid type"),
        "{p}"
    );
    std::fs::remove_file(sub.join("a.tests.json")).unwrap_or_else(|e| panic!("{e}"));
    assert!(tests_for(&r.rules[0].rule.source).is_none());
}

#[test]
fn warnings_do_not_stop_a_rule() {
    let text = with(
        "timestamp_override",
        "from = \"yesterday\"\ninterval = \"5x\"\ntimestamp_override",
    );
    let r = load_text("t.toml", &text);
    assert_eq!(r.rules.len(), 1, "{:#?}", r.problems);
    let shown: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(shown.len(), 2, "{shown:#?}");
    assert!(
        shown[0].starts_with(
            "t.toml:15:8: warning: `rule.from`: `yesterday` is not a time like `now-7d`"
        ),
        "{shown:#?}"
    );
    assert!(
        shown[1].starts_with("t.toml:16:12: warning: `rule.interval` `5x`"),
        "{shown:#?}"
    );

    let no_lang = with("language = \"eql\"\n", "");
    let r = load_text("t.toml", &no_lang);
    assert_eq!(r.rules.len(), 1, "{:#?}", r.problems);
    assert_eq!(r.problems.len(), 1);
    assert_eq!(
        r.problems[0].to_string(),
        "t.toml:5:1: warning: missing `rule.language`; assuming `eql` for a eql rule"
    );
}

#[test]
fn missing_rule_table_and_missing_query() {
    let (l, c, m) = only_error("[metadata]\nmaturity = \"production\"\n");
    assert_eq!((l, c, m.as_str()), (1, 1, "missing the [rule] table"));
    let no_query = BASE.split("query = '''").next().unwrap_or("").to_string();
    let (l, c, m) = only_error(&no_query);
    assert_eq!(
        (l, c, m.as_str()),
        (5, 1, "missing required key `rule.query`")
    );
}
