//! `X.tests.json`: the test events of rule `X.toml`, and checking a case's alerts.
//!
//! ```json
//! {"cases": [{"name": "...", "expect_alerts": 1, "events": [{...}],
//!             "expect": {"dotted.field": value}, "config": {...}}]}
//! ```

use crate::report::Problem;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A rule's test cases.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    pub cases: Vec<TestCase>,
}

/// One case: run on a fresh engine with only the rule loaded, events fed in order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub name: String,
    /// How many alerts the rule must raise (0: it must not trigger).
    pub expect_alerts: u64,
    pub events: Vec<Value>,
    /// Checked on every alert the rule raises in this case: dotted field → value.
    #[serde(default)]
    pub expect: BTreeMap<String, Value>,
    /// The environment config for this case (`{"hosts": [...]}`), if any.
    #[serde(default)]
    pub config: Option<Value>,
    /// Free text for the reader; not checked.
    #[serde(default)]
    pub description: Option<String>,
}

/// Parses a tests file; errors name the file and the JSON line and column.
pub fn parse_tests(source: &str, text: &str) -> Result<TestFile, Problem> {
    serde_json::from_str(text).map_err(|e| {
        Problem::error(
            source,
            e.line(),
            e.column(),
            format!("invalid tests file: {e}")
                .split(" at line ")
                .next()
                .unwrap_or("invalid tests file")
                .to_string(),
        )
    })
}

/// Compares a case's expectations with the alerts the rule raised. Returns what differed,
/// one line each; empty when the case passes.
pub fn check_case(case: &TestCase, alerts: &[Value]) -> Vec<String> {
    let mut diffs = Vec::new();
    let got = alerts.len() as u64;
    if got != case.expect_alerts {
        diffs.push(format!(
            "expected {} alert{}, got {got}",
            case.expect_alerts,
            if case.expect_alerts == 1 { "" } else { "s" }
        ));
    }
    for (i, alert) in alerts.iter().enumerate() {
        for (field, want) in &case.expect {
            let found = lookup(alert, field);
            if !same(found.as_ref(), want) {
                let shown = found
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "nothing (field missing)".into());
                diffs.push(format!(
                    "alert {}: field {field} expected {want} got {shown}",
                    i + 1
                ));
            }
        }
    }
    diffs
}

/// A field of a document by dotted path, whether written dotted (`"kibana.alert.rule.name"`),
/// nested, or mixed. Arrays on the way collect their elements' values.
pub fn lookup(doc: &Value, dotted: &str) -> Option<Value> {
    match doc {
        Value::Object(map) => {
            if let Some(v) = map.get(dotted) {
                return Some(v.clone());
            }
            for (k, v) in map {
                if let Some(rest) = dotted
                    .strip_prefix(k.as_str())
                    .and_then(|r| r.strip_prefix('.'))
                {
                    if let Some(found) = lookup(v, rest) {
                        return Some(found);
                    }
                }
            }
            None
        }
        Value::Array(items) => {
            let found: Vec<Value> = items.iter().filter_map(|i| lookup(i, dotted)).collect();
            (!found.is_empty()).then_some(Value::Array(found))
        }
        _ => None,
    }
}

/// Equal, or a one-element array equal to a scalar expectation, or numbers equal as numbers.
fn same(found: Option<&Value>, want: &Value) -> bool {
    let Some(found) = found else {
        return want.is_null();
    };
    if found == want {
        return true;
    }
    if let (Some(a), Some(b)) = (found.as_f64(), want.as_f64()) {
        return a == b;
    }
    match found {
        Value::Array(items) if items.len() == 1 && !want.is_array() => same(items.first(), want),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_errors_name_file_line_column() {
        let e = parse_tests("x.tests.json", "{\"cases\": [\n  {\"name\": 1}\n]}");
        let p = e
            .err()
            .map(|p| (p.line, p.message.contains("invalid type")));
        assert_eq!(p, Some((2, true)));
        let e = parse_tests("x.tests.json", "{\"cases\": [ {\"name\": \"a\", \"expect_alerts\": 0, \"events\": [], \"expects\": {}} ]}");
        assert!(e
            .err()
            .map(|p| p.message.contains("unknown field `expects`"))
            .unwrap_or(false));
    }

    #[test]
    fn checks_counts_and_fields() {
        let case: TestCase = serde_json::from_value(json!({
            "name": "c", "expect_alerts": 1, "events": [],
            "expect": {"kibana.alert.rule.name": "R", "host.name": "h", "spawnguard.host.environment": "ci"}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let alert = json!({"kibana.alert.rule.name": "R", "host": {"name": ["h"]}, "spawnguard": {"host.environment": "prod"}});
        let d = check_case(&case, &[alert.clone(), alert]);
        assert_eq!(d.len(), 3, "{d:?}");
        assert_eq!(d[0], "expected 1 alert, got 2");
        assert!(
            d[1].contains("field spawnguard.host.environment expected \"ci\" got \"prod\""),
            "{d:?}"
        );
        assert!(check_case(&case, &[]).len() == 1);
    }
}
