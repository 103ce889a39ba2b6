//! `spawnguard rules list | validate | test`: the detection rules, their problems, and their
//! own test cases.
//!
//! Exit codes: 0 success; 1 when a rule file has an error (any subcommand), or `test` has a
//! failing case or a shipped rule without tests; 2 when the command itself cannot run.

use clap::{Subcommand, ValueEnum};
use serde_json::{json, Value};
use spawnguard_rules::{
    check_case, is_builtin, load_builtin, load_dirs, tests_for, LoadReport, LoadedRule, Problem,
    Skipped, TestCase,
};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

/// Appends a line to the output buffer (writing to a `String` cannot fail).
macro_rules! outln {
    ($o:expr, $($arg:tt)*) => {{
        let _ = writeln!($o, $($arg)*);
    }};
}

/// Writes the command's output; a closed pipe (`| head`) is not an error.
fn emit(o: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(o.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// List the rules: name, type, severity, risk score, MITRE ids; skipped rules with why
    List(Common),
    /// Report every problem in the rule files as file:line:col; exit 1 if any is an error
    Validate(Common),
    /// Run each rule's test cases (X.tests.json beside X.toml); exit 1 if any fails
    Test(Common),
}

#[derive(clap::Args)]
struct Common {
    /// Load every .toml rule below DIR (repeatable). Default: the rules shipped in the binary
    #[arg(long = "rules", value_name = "DIR")]
    rules: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    match args.command {
        RulesCommand::List(c) => list(&c),
        RulesCommand::Validate(c) => validate(&c),
        RulesCommand::Test(c) => test(&c),
    }
}

fn load(c: &Common) -> LoadReport {
    if c.rules.is_empty() {
        load_builtin()
    } else {
        load_dirs(&c.rules)
    }
}

fn print_json(o: &mut String, v: &Value) -> anyhow::Result<()> {
    outln!(o, "{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn problem_json(p: &Problem) -> Value {
    json!({
        "source": p.source, "line": p.line, "column": p.column,
        "severity": p.severity.as_str(), "message": p.message, "snippet": p.snippet,
    })
}

fn skipped_json(s: &Skipped) -> Value {
    json!({"source": s.source, "name": s.name, "rule_id": s.rule_id, "type": s.rule_type, "reason": s.reason})
}

/// Prints rows as left-aligned columns separated by two spaces.
fn print_table(o: &mut String, rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        outln!(o, "{}", line.trim_end());
    }
}

fn list(c: &Common) -> anyhow::Result<u8> {
    let mut o = String::new();
    let report = load(c);
    if c.format == Format::Json {
        let rules: Vec<Value> = report
            .rules
            .iter()
            .map(|r| {
                let r = &r.rule;
                json!({
                    "name": r.name, "rule_id": r.rule_id, "type": r.rule_type.as_str(),
                    "language": r.language, "severity": r.severity.as_str(),
                    "risk_score": r.risk_score, "mitre": r.mitre_ids(), "source": r.source,
                })
            })
            .collect();
        let skipped: Vec<Value> = report.skipped.iter().map(skipped_json).collect();
        let problems: Vec<Value> = report.problems.iter().map(problem_json).collect();
        print_json(
            &mut o,
            &json!({"rules": rules, "skipped": skipped, "problems": problems}),
        )?;
    } else {
        let mut rows = vec![["NAME", "TYPE", "SEVERITY", "RISK", "MITRE", "SOURCE"]
            .map(String::from)
            .to_vec()];
        for r in &report.rules {
            let r = &r.rule;
            rows.push(vec![
                r.name.clone(),
                r.rule_type.as_str().to_string(),
                r.severity.as_str().to_string(),
                r.risk_score.to_string(),
                r.mitre_ids().join(","),
                r.source.clone(),
            ]);
        }
        print_table(&mut o, &rows);
        if !report.skipped.is_empty() {
            outln!(o, "\nskipped ({}):", report.skipped.len());
            for s in &report.skipped {
                outln!(
                    o,
                    "  {} [{}] ({}): {}",
                    s.name,
                    s.rule_type,
                    s.source,
                    s.reason
                );
            }
        }
        outln!(
            o,
            "\n{} rules, {} skipped",
            report.rules.len(),
            report.skipped.len()
        );
    }
    emit(&o)?;
    // Rules that failed to load are not in the list: say so, with where and why.
    let errors: Vec<&Problem> = report.errors().collect();
    for p in &errors {
        eprintln!("{p}");
    }
    if !errors.is_empty() {
        eprintln!(
            "spawnguard: {} error(s) kept rules from loading (see `spawnguard rules validate`)",
            errors.len()
        );
    }
    Ok(u8::from(!errors.is_empty()))
}

fn validate(c: &Common) -> anyhow::Result<u8> {
    let mut o = String::new();
    let report = load(c);
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    if c.format == Format::Json {
        let problems: Vec<Value> = report.problems.iter().map(problem_json).collect();
        let skipped: Vec<Value> = report.skipped.iter().map(skipped_json).collect();
        print_json(
            &mut o,
            &json!({
                "problems": problems, "skipped": skipped, "rules": report.rules.len(),
                "errors": errors, "warnings": warnings,
            }),
        )?;
    } else {
        for p in &report.problems {
            outln!(o, "{p}");
        }
        for s in &report.skipped {
            outln!(o, "{}: note: skipped `{}`: {}", s.source, s.name, s.reason);
        }
        outln!(
            o,
            "{} rules valid, {} skipped, {errors} error(s), {warnings} warning(s)",
            report.rules.len(),
            report.skipped.len()
        );
    }
    emit(&o)?;
    Ok(u8::from(errors > 0))
}

/// ADAPTER between `rules test` and the engine: runs one case of one rule on a fresh engine
/// and returns the Kibana alert documents it raised, or why the case could not run.
fn run_case(rule: &LoadedRule, case: &TestCase) -> Result<Vec<Value>, String> {
    let out = spawnguard_engine::testing::run_case(rule, case);
    match out.error {
        Some(e) => Err(e),
        None => Ok(out.alerts),
    }
}

fn test(c: &Common) -> anyhow::Result<u8> {
    let mut o = String::new();
    let report = load(c);
    let json_out = c.format == Format::Json;
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut results = Vec::new();
    let mut without_tests = Vec::new();

    // Files that failed to load are failures: their cases cannot run.
    let broken: BTreeSet<&str> = report.errors().map(|p| p.source.as_str()).collect();
    for p in report.errors() {
        if !json_out {
            outln!(o, "{p}");
        }
    }
    failed += broken.len();

    for lr in &report.rules {
        let rule = &lr.rule;
        let file = match tests_for(&rule.source) {
            None => {
                let fails = is_builtin(&rule.source);
                if fails {
                    failed += 1;
                }
                if !json_out {
                    outln!(
                        o,
                        "{}  {} ({}): no tests",
                        if fails { "FAIL" } else { "NONE" },
                        rule.name,
                        rule.source
                    );
                }
                without_tests
                    .push(json!({"rule": rule.name, "source": rule.source, "failure": fails}));
                continue;
            }
            Some(Err(p)) => {
                failed += 1;
                if !json_out {
                    outln!(
                        o,
                        "FAIL  {} ({}): bad tests file\n      {p}",
                        rule.name,
                        rule.source
                    );
                }
                results.push(
                    json!({"rule": rule.name, "source": rule.source, "case": Value::Null,
                    "passed": false, "diffs": [p.to_string()]}),
                );
                continue;
            }
            Some(Ok(f)) => f,
        };
        if file.cases.is_empty() {
            failed += 1;
            if !json_out {
                outln!(
                    o,
                    "FAIL  {} ({}): the tests file has no cases",
                    rule.name,
                    rule.source
                );
            }
            continue;
        }
        for case in &file.cases {
            let diffs = match run_case(lr, case) {
                Ok(alerts) => check_case(case, &alerts),
                Err(e) => vec![format!("could not run: {e}")],
            };
            let ok = diffs.is_empty();
            if ok {
                passed += 1;
            } else {
                failed += 1;
            }
            if !json_out {
                outln!(
                    o,
                    "{}  {} › {}",
                    if ok { "PASS" } else { "FAIL" },
                    rule.name,
                    case.name
                );
                for d in &diffs {
                    outln!(o, "      {d}");
                }
            }
            results.push(
                json!({"rule": rule.name, "rule_id": rule.rule_id, "source": rule.source,
                "case": case.name, "passed": ok, "diffs": diffs}),
            );
        }
    }
    if json_out {
        let problems: Vec<Value> = report.errors().map(problem_json).collect();
        print_json(
            &mut o,
            &json!({
                "cases": results, "no_tests": without_tests, "load_errors": problems,
                "passed": passed, "failed": failed,
            }),
        )?;
    } else {
        if !report.skipped.is_empty() {
            outln!(o, "({} skipped rules not tested)", report.skipped.len());
        }
        let untested = without_tests.len();
        if untested > 0 {
            outln!(o, "({untested} rules have no tests file)");
        }
        outln!(o, "{passed} passed, {failed} failed");
    }
    emit(&o)?;
    Ok(u8::from(failed > 0))
}
