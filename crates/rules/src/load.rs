//! One rule file's text to a [`LoadedRule`], a [`Skipped`] entry, or problems.

use crate::ctx::{article, Ctx};
use crate::model::{Rule, RuleType, Severity};
use crate::position::{caret_snippet, line_col, string_offset_to_file, Spans};
use crate::report::{LoadReport, LoadedRule, Problem, Skipped};
use crate::sections;
use spawnguard_query::{CompileOptions, Language, ParseError};
use std::collections::BTreeMap;
use std::sync::Arc;
use toml::{Table, Value};

const RULE: &[&str] = &["rule"];

/// Keys Elastic's detection-rules schema allows in `[rule]`. Others are warned about.
const KNOWN_RULE_KEYS: &[&str] = &[
    "actions",
    "alert_suppression",
    "alias_purpose",
    "alias_target_id",
    "anomaly_threshold",
    "author",
    "building_block_type",
    "concurrent_searches",
    "data_view_id",
    "description",
    "enabled",
    "event_category_override",
    "exceptions_list",
    "false_positives",
    "filters",
    "from",
    "history_window_start",
    "index",
    "interval",
    "investigation_fields",
    "items_per_search",
    "language",
    "license",
    "machine_learning_job_id",
    "max_signals",
    "meta",
    "name",
    "new_terms",
    "note",
    "outcome",
    "output_index",
    "query",
    "references",
    "related_integrations",
    "required_fields",
    "response_actions",
    "risk_score",
    "risk_score_mapping",
    "rule_id",
    "rule_name_override",
    "saved_id",
    "setup",
    "severity",
    "severity_mapping",
    "tags",
    "threat",
    "threat_filters",
    "threat_index",
    "threat_indicator_path",
    "threat_language",
    "threat_mapping",
    "threat_query",
    "threshold",
    "throttle",
    "tiebreaker_field",
    "timeline_id",
    "timeline_title",
    "timestamp_field",
    "timestamp_override",
    "timestamp_override_fallback_disabled",
    "to",
    "type",
    "version",
];

/// Top-level tables of a detection-rules file.
const KNOWN_TOP: &[&str] = &["metadata", "rule", "transform"];

/// Loads one rule file's text. `source` names it in problems (a path, or `builtin:…`).
///
/// The report holds the rule (if it is valid and of a type that runs), or a skipped entry
/// with the reason, and every problem found, each at its line and column in the file.
pub fn load_text(source: &str, text: &str) -> LoadReport {
    let mut report = LoadReport::default();
    // One parse: the document keeps the spans of keys and values (for problems' positions),
    // and its plain tables (what `toml::from_str` gives) are read from it by reference.
    let parsed = toml_edit::ImDocument::parse(text)
        .map_err(toml_edit::de::Error::from)
        .map(|doc| (crate::plain::table(doc.as_table()), Spans::from_doc(doc)));
    let (root, spans) = match parsed {
        Ok(t) => t,
        Err(e) => {
            let off = e.span().map(|s| s.start).unwrap_or(0);
            let (l, c) = line_col(text, off);
            let msg = e.message().trim().replace('\n', "; ");
            report
                .problems
                .push(Problem::error(source, l, c, format!("invalid TOML: {msg}")));
            return report;
        }
    };
    let mut cx = Ctx::with_spans(source, text, spans);
    match parse(&mut cx, root) {
        Outcome::Run(rule) => report.rules.push(*rule),
        Outcome::Skip(s) => report.skipped.push(s),
        Outcome::Invalid => {}
    }
    report.problems = cx.problems;
    report.problems.sort_by_key(|p| (p.line, p.column));
    report
}

enum Outcome {
    Run(Box<LoadedRule>),
    Skip(Skipped),
    Invalid,
}

/// Why a rule of this type is not run, or `None` for the types that run.
fn skip_reason(t: &RuleType) -> Option<(String, bool)> {
    let reason = match t {
        RuleType::Eql | RuleType::Query | RuleType::NewTerms | RuleType::Threshold => return None,
        RuleType::Other(o) => match o.as_str() {
            "esql" => "esql (ES|QL) rules are not supported: spawnguard evaluates EQL and KQL",
            "machine_learning" => {
                "machine_learning rules need Elastic ML anomaly-detection jobs, which spawnguard does not run"
            }
            "threat_match" => {
                "threat_match (indicator match) rules need threat-intelligence indices, which spawnguard does not have"
            }
            "saved_query" => "saved_query rules refer to a query saved in Kibana, which spawnguard cannot read",
            other => {
                return Some((
                    format!(
                        "unknown rule type `{other}` (expected eql, query, new_terms, threshold, esql, machine_learning, threat_match or saved_query)"
                    ),
                    true,
                ))
            }
        },
    };
    Some((reason.to_string(), false))
}

fn parse(cx: &mut Ctx, mut root: Table) -> Outcome {
    for k in root.keys() {
        if !KNOWN_TOP.contains(&k.as_str()) {
            let o = cx.spans.key_start(&[k]);
            cx.warn_at(o, format!("unknown top-level key `{k}` (ignored)"));
        }
    }
    let mut metadata = BTreeMap::new();
    // Moved out of the document, which is not needed afterwards (no copy).
    match root.remove("metadata") {
        None => {}
        Some(Value::Table(t)) => metadata.extend(t),
        Some(other) => cx.error_value(
            &["metadata"],
            format!(
                "`metadata` must be a table, found {}",
                article(other.type_str())
            ),
        ),
    }
    let rule = match root.get("rule") {
        Some(Value::Table(t)) => t,
        Some(other) => {
            cx.error_value(
                RULE,
                format!(
                    "`rule` must be a table, found {}",
                    article(other.type_str())
                ),
            );
            return Outcome::Invalid;
        }
        None => {
            cx.error_at(0, "missing the [rule] table");
            return Outcome::Invalid;
        }
    };
    for k in rule.keys() {
        if !KNOWN_RULE_KEYS.contains(&k.as_str()) {
            let o = cx.spans.key_start(&["rule", k]);
            cx.warn_at(o, format!("unknown key `rule.{k}` (ignored)"));
        }
    }

    let name = cx.str(rule, RULE, "name", true);
    let rule_id = cx.str(rule, RULE, "rule_id", true);
    let description = cx.str(rule, RULE, "description", true);
    let type_s = cx.str(rule, RULE, "type", true);
    for (key, v) in [("name", &name), ("rule_id", &rule_id), ("type", &type_s)] {
        if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
            cx.error_value(&["rule", key], format!("`rule.{key}` must not be empty"));
        }
    }
    let risk_score = cx.u64(rule, RULE, "risk_score", true);
    if let Some(r) = risk_score {
        if r > 100 {
            cx.error_value(
                &["rule", "risk_score"],
                format!("`rule.risk_score` must be between 0 and 100, found {r}"),
            );
        }
    }
    let severity = cx.str(rule, RULE, "severity", true).and_then(|s| {
        let sev = Severity::parse(&s);
        if sev.is_none() {
            cx.error_value(
                &["rule", "severity"],
                format!("unknown severity `{s}` (expected low, medium, high or critical)"),
            );
        }
        sev
    });
    let language = cx.str(rule, RULE, "language", false);
    let note = cx.str(rule, RULE, "note", false);
    let setup = cx.str(rule, RULE, "setup", false);
    let license = cx.str(rule, RULE, "license", false);
    let from = cx.str(rule, RULE, "from", false);
    let interval = cx.str(rule, RULE, "interval", false);
    let timestamp_override = cx.str(rule, RULE, "timestamp_override", false);
    let building_block_type = cx.str(rule, RULE, "building_block_type", false);
    let event_category_override = cx.str(rule, RULE, "event_category_override", false);
    let tiebreaker_field = cx.str(rule, RULE, "tiebreaker_field", false);
    if let Some(f) = &from {
        if let Err(e) = sections::parse_now_minus(f) {
            cx.warn_at(
                cx.spans.value_start(&["rule", "from"]),
                format!("`rule.from`: {e}; it is ignored"),
            );
        }
    }
    if let Some(i) = &interval {
        if sections::parse_duration(i).is_none() {
            cx.warn_at(
                cx.spans.value_start(&["rule", "interval"]),
                format!("`rule.interval` `{i}` is not a duration like `5m` (s, m, h or d); it is ignored"),
            );
        }
    }
    let max_signals = cx.u64(rule, RULE, "max_signals", false);
    let version = cx.u64(rule, RULE, "version", false);
    let tags = cx
        .str_list(rule, RULE, "tags", false, false)
        .unwrap_or_default();
    let references = cx
        .str_list(rule, RULE, "references", false, false)
        .unwrap_or_default();
    let author = cx
        .str_list(rule, RULE, "author", false, false)
        .unwrap_or_default();
    let index = cx
        .str_list(rule, RULE, "index", false, false)
        .unwrap_or_default();
    let threat = sections::threats(cx, rule);
    let investigation_fields = sections::investigation_fields(cx, rule);

    let rule_type = type_s.as_deref().map(RuleType::parse);
    let skip = rule_type.as_ref().and_then(skip_reason);
    if let Some((reason, unknown)) = &skip {
        if *unknown {
            cx.error_value(&["rule", "type"], reason.clone());
        }
    }

    // The query language each runnable type needs.
    let mut lucene_skip = None;
    let compile_lang = match (&rule_type, &skip) {
        (Some(t), None) => {
            let (want, lang) = match t {
                RuleType::Eql => ("eql", Language::Eql),
                _ => ("kuery", Language::Kql),
            };
            match language.as_deref() {
                None => {
                    let o = cx.spans.table_start(RULE);
                    cx.warn_at(
                        o,
                        format!(
                            "missing `rule.language`; assuming `{want}` for a {} rule",
                            t.as_str()
                        ),
                    );
                    Some(lang)
                }
                Some(l) if l == want => Some(lang),
                Some("lucene") if want == "kuery" => {
                    lucene_skip = Some("lucene queries are not supported".to_string());
                    None
                }
                Some(l) => {
                    cx.error_value(
                        &["rule", "language"],
                        format!(
                            "`rule.language` is `{l}` but a {} rule needs `{want}`",
                            t.as_str()
                        ),
                    );
                    None
                }
            }
        }
        _ => None,
    };
    let runnable = rule_type.is_some() && skip.is_none();
    let query = cx.str(rule, RULE, "query", runnable);
    if runnable && query.as_deref().is_some_and(|q| q.trim().is_empty()) {
        cx.error_value(&["rule", "query"], "`rule.query` must not be empty");
    }

    let new_terms = match rule_type {
        Some(RuleType::NewTerms) => sections::new_terms(cx, rule),
        _ => None,
    };
    let threshold = match rule_type {
        Some(RuleType::Threshold) => sections::threshold(cx, rule),
        _ => None,
    };
    let alert_suppression =
        sections::alert_suppression(cx, rule, !matches!(rule_type, Some(RuleType::Threshold)));

    if let Some((reason, _)) = skip.or(lucene_skip.map(|r| (r, false))) {
        return Outcome::Skip(Skipped {
            source: cx.source.to_string(),
            name: name.unwrap_or_default(),
            rule_id: rule_id.unwrap_or_default(),
            rule_type: type_s.unwrap_or_default(),
            reason,
        });
    }

    // Map positions in the query's text to the file.
    let query_span = cx.spans.value_span(&["rule", "query"]);
    let query_line = query_span
        .as_ref()
        .map(|s| line_col(cx.text, string_offset_to_file(cx.text, s, 0)).0)
        .unwrap_or(0);

    let compiled = match (&query, compile_lang, cx.has_errors()) {
        (Some(q), Some(lang), false) => {
            let opts = CompileOptions {
                event_category_field: event_category_override
                    .clone()
                    .unwrap_or_else(|| "event.category".into()),
                timestamp_field: "@timestamp".into(),
                tiebreaker_field: tiebreaker_field.clone(),
            };
            match spawnguard_query::compile(lang, q, &opts) {
                Ok(c) => Some(c),
                Err(e) => {
                    query_problem(cx, query_span.as_ref(), &e);
                    None
                }
            }
        }
        _ => None,
    };

    let (
        Some(compiled),
        Some(name),
        Some(rule_id),
        Some(description),
        Some(rule_type),
        Some(severity),
        Some(risk_score),
    ) = (
        compiled,
        name,
        rule_id,
        description,
        rule_type,
        severity,
        risk_score,
    )
    else {
        return Outcome::Invalid;
    };
    if cx.has_errors() {
        return Outcome::Invalid;
    }
    let rule = Rule {
        source: cx.source.to_string(),
        rule_id,
        name,
        description,
        rule_type,
        language,
        query,
        query_line,
        severity,
        risk_score: u32::try_from(risk_score).unwrap_or(100),
        threat,
        note,
        setup,
        tags,
        references,
        author,
        license,
        index,
        from,
        interval,
        max_signals,
        timestamp_override,
        building_block_type,
        investigation_fields,
        alert_suppression,
        new_terms,
        threshold,
        version,
        metadata,
    };
    Outcome::Run(Box::new(LoadedRule {
        rule: Arc::new(rule),
        query: compiled,
    }))
}

/// A query error, moved from its place in the query text to its place in the file.
fn query_problem(cx: &mut Ctx, span: Option<&std::ops::Range<usize>>, e: &ParseError) {
    let (start, end) = match span {
        Some(s) => (
            string_offset_to_file(cx.text, s, e.offset),
            string_offset_to_file(cx.text, s, e.offset + e.len),
        ),
        None => {
            let o = cx.spans.value_start(&["rule", "query"]);
            (o, o)
        }
    };
    let (line, column) = line_col(cx.text, start);
    let width = cx
        .text
        .get(start..end)
        .map(|t| t.split('\n').next().unwrap_or("").chars().count())
        .unwrap_or(0);
    let mut msg = format!("query: {}", e.message);
    if !e.found.is_empty() && !e.message.contains(&e.found) {
        msg.push_str(&format!(" (found `{}`)", e.found));
    }
    if !e.expected.is_empty() {
        msg.push_str(&format!("; expected {}", e.expected.join(", ")));
    }
    let mut p = Problem::error(cx.source, line, column, msg);
    p.snippet = Some(caret_snippet(cx.text, line, column, width));
    cx.problems.push(p);
}
