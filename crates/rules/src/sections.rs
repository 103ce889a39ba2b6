//! The structured parts of `[rule]`: `[rule.new_terms]`, `[rule.threshold]`,
//! `[rule.alert_suppression]`, `investigation_fields` and `[[rule.threat]]`.

use crate::ctx::{article, dotted, path, Ctx};
use crate::model::{AlertSuppression, NewTerms, Threat, Threshold, ThresholdCardinality};
use toml::{Table, Value};

const RULE: &[&str] = &["rule"];

/// Parses a relative time like `now-7d` (units `s`, `m`, `h`, `d`) into seconds.
pub fn parse_now_minus(s: &str) -> Result<u64, String> {
    let bad =
        || format!("`{s}` is not a time like `now-7d` (a whole number followed by s, m, h or d)");
    let rest = s.trim().strip_prefix("now-").ok_or_else(bad)?;
    parse_duration(rest).ok_or_else(bad)
}

/// `30s`, `5m`, `2h`, `7d` → seconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let unit = s.chars().last()?;
    let num: u64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    num.checked_mul(unit_secs(&unit.to_string())?)
}

fn unit_secs(unit: &str) -> Option<u64> {
    Some(match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    })
}

/// `[rule.new_terms]`, in the detection-rules form (`field = "new_terms_fields"`,
/// `value = [...]`, `[[rule.new_terms.history_window_start]]` with `field`/`value`) or the
/// direct form (`new_terms_fields = [...]`, `history_window_start = "now-7d"`).
pub(crate) fn new_terms(cx: &mut Ctx, rule: &Table) -> Option<NewTerms> {
    let nt = cx.table(rule, RULE, "new_terms", true)?;
    let base: &[&str] = &["rule", "new_terms"];
    let fields_key = match nt.get("field") {
        Some(Value::String(f)) if f == "new_terms_fields" => "value",
        Some(Value::String(f)) => {
            cx.error_value(
                &path(base, "field"),
                format!("`rule.new_terms.field` must be \"new_terms_fields\", found \"{f}\""),
            );
            return None;
        }
        _ => "new_terms_fields",
    };
    let fields = cx.str_list(nt, base, fields_key, true, false);
    if let Some(f) = &fields {
        if f.is_empty() || f.len() > 3 {
            cx.error_value(
                &path(base, fields_key),
                format!(
                    "new_terms needs 1 to 3 fields, found {} (`{}`)",
                    f.len(),
                    dotted(base, fields_key)
                ),
            );
        }
    }
    let (window, wpath): (Option<String>, Vec<String>) = match nt.get("history_window_start") {
        None => {
            cx.error_missing(base, "history_window_start");
            (None, Vec::new())
        }
        Some(Value::String(s)) => (
            Some(s.clone()),
            vec![
                "rule".into(),
                "new_terms".into(),
                "history_window_start".into(),
            ],
        ),
        Some(Value::Array(entries)) => {
            let found = entries.iter().enumerate().find_map(|(i, e)| {
                let t = e.as_table()?;
                (t.get("field")?.as_str()? == "history_window_start").then_some((i, t))
            });
            match found {
                Some((i, t)) => match t.get("value") {
                    Some(Value::String(s)) => (
                        Some(s.clone()),
                        vec![
                            "rule".into(),
                            "new_terms".into(),
                            "history_window_start".into(),
                            i.to_string(),
                            "value".into(),
                        ],
                    ),
                    other => {
                        let p = ["rule", "new_terms", "history_window_start", &i.to_string()]
                            .map(str::to_string);
                        let p: Vec<&str> = p.iter().map(String::as_str).collect();
                        let what = other.map(|v| article(v.type_str()));
                        cx.error_value(
                            &p,
                            match what {
                                Some(w) => format!(
                                    "the history_window_start entry's `value` must be a string like \"now-7d\", found {w}"
                                ),
                                None => "the history_window_start entry has no `value`".into(),
                            },
                        );
                        (None, Vec::new())
                    }
                },
                None => {
                    cx.error_value(
                        &path(base, "history_window_start"),
                        "no entry with field = \"history_window_start\" in `rule.new_terms.history_window_start`",
                    );
                    (None, Vec::new())
                }
            }
        }
        Some(other) => {
            cx.error_value(
                &path(base, "history_window_start"),
                format!(
                    "`rule.new_terms.history_window_start` must be a string like \"now-7d\", found {}",
                    article(other.type_str())
                ),
            );
            (None, Vec::new())
        }
    };
    let secs = match &window {
        Some(w) => match parse_now_minus(w) {
            Ok(0) => {
                let p: Vec<&str> = wpath.iter().map(String::as_str).collect();
                cx.error_value(&p, format!("history_window_start `{w}` is an empty window"));
                None
            }
            Ok(s) => Some(s),
            Err(e) => {
                let p: Vec<&str> = wpath.iter().map(String::as_str).collect();
                cx.error_value(&p, format!("history_window_start: {e}"));
                None
            }
        },
        None => None,
    };
    let fields = fields.filter(|f| !f.is_empty() && f.len() <= 3)?;
    Some(NewTerms {
        fields,
        history_window_start: window?,
        history_window_secs: secs?,
    })
}

/// `[rule.threshold]` with `field` (a string or a list; may be empty to count all events),
/// `value` (at least 1) and optional `[[rule.threshold.cardinality]]`.
pub(crate) fn threshold(cx: &mut Ctx, rule: &Table) -> Option<Threshold> {
    let th = cx.table(rule, RULE, "threshold", true)?;
    let base: &[&str] = &["rule", "threshold"];
    let fields = cx.str_list(th, base, "field", true, true);
    let value = cx.u64(th, base, "value", true);
    if value == Some(0) {
        cx.error_value(
            &path(base, "value"),
            "`rule.threshold.value` must be at least 1",
        );
    }
    let mut cardinality = Vec::new();
    let mut card_ok = true;
    match th.get("cardinality") {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let idx = i.to_string();
                let cbase = ["rule", "threshold", "cardinality", idx.as_str()];
                let Some(t) = item.as_table() else {
                    cx.error_value(&cbase, "each `rule.threshold.cardinality` entry must be a table with `field` and `value`");
                    card_ok = false;
                    continue;
                };
                let field = cx.str(t, &cbase, "field", true);
                let v = cx.u64(t, &cbase, "value", true);
                match (field, v) {
                    (Some(field), Some(value)) => {
                        cardinality.push(ThresholdCardinality { field, value })
                    }
                    _ => card_ok = false,
                }
            }
        }
        Some(other) => {
            cx.error_value(
                &path(base, "cardinality"),
                format!(
                    "`rule.threshold.cardinality` must be an array of tables, found {}",
                    article(other.type_str())
                ),
            );
            card_ok = false;
        }
    }
    let value = value.filter(|v| *v >= 1)?;
    card_ok.then_some(())?;
    Some(Threshold {
        fields: fields?,
        value,
        cardinality,
    })
}

/// `[rule.alert_suppression]`: `group_by` (needed except for threshold rules), optional
/// `duration = {value, unit}` (unit s, m, h or d) and `missing_fields_strategy`
/// (`suppress` or `doNotSuppress`).
pub(crate) fn alert_suppression(
    cx: &mut Ctx,
    rule: &Table,
    group_by_required: bool,
) -> Option<AlertSuppression> {
    let t = cx.table(rule, RULE, "alert_suppression", false)?;
    let base: &[&str] = &["rule", "alert_suppression"];
    let group_by = cx.str_list(t, base, "group_by", group_by_required, false);
    if let Some(g) = &group_by {
        if group_by_required && (g.is_empty() || g.len() > 3) {
            cx.error_value(
                &path(base, "group_by"),
                format!(
                    "`rule.alert_suppression.group_by` needs 1 to 3 fields, found {}",
                    g.len()
                ),
            );
        }
    }
    let dbase: &[&str] = &["rule", "alert_suppression", "duration"];
    let duration_secs = match cx.table(t, base, "duration", false) {
        None => None,
        Some(d) => {
            let value = cx.u64(d, dbase, "value", true);
            let unit = cx.str(d, dbase, "unit", true);
            match (value, unit) {
                (Some(v), Some(u)) => match unit_secs(&u) {
                    Some(m) => Some(v.saturating_mul(m)),
                    None => {
                        cx.error_value(
                            &path(dbase, "unit"),
                            format!("unknown duration unit `{u}` (expected s, m, h or d)"),
                        );
                        None
                    }
                },
                _ => None,
            }
        }
    };
    let strategy = cx
        .str(t, base, "missing_fields_strategy", false)
        .unwrap_or_else(|| "suppress".into());
    if strategy != "suppress" && strategy != "doNotSuppress" {
        cx.error_value(
            &path(base, "missing_fields_strategy"),
            format!(
                "unknown missing_fields_strategy `{strategy}` (expected suppress or doNotSuppress)"
            ),
        );
    }
    Some(AlertSuppression {
        group_by: group_by.unwrap_or_default(),
        duration_secs,
        missing_fields_strategy: strategy,
    })
}

/// `investigation_fields = {field_names = [...]}` (or a plain list, as older files have).
pub(crate) fn investigation_fields(cx: &mut Ctx, rule: &Table) -> Vec<String> {
    match rule.get("investigation_fields") {
        None => Vec::new(),
        Some(Value::Table(t)) => cx
            .str_list(
                t,
                &["rule", "investigation_fields"],
                "field_names",
                true,
                false,
            )
            .unwrap_or_default(),
        Some(Value::Array(_)) => cx
            .str_list(rule, RULE, "investigation_fields", false, false)
            .unwrap_or_default(),
        Some(other) => {
            cx.error_value(
                &["rule", "investigation_fields"],
                format!(
                    "`rule.investigation_fields` must be a table with `field_names`, found {}",
                    article(other.type_str())
                ),
            );
            Vec::new()
        }
    }
}

/// `[[rule.threat]]` entries, each checked against the MITRE ATT&CK shape.
pub(crate) fn threats(cx: &mut Ctx, rule: &Table) -> Vec<Threat> {
    let items = match rule.get("threat") {
        None => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            cx.error_value(
                &["rule", "threat"],
                format!(
                    "`rule.threat` must be an array of tables, found {}",
                    article(other.type_str())
                ),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.clone().try_into::<Threat>() {
            Ok(t) => out.push(t),
            Err(e) => {
                let idx = i.to_string();
                cx.error_value(
                    &["rule", "threat", &idx],
                    format!("[[rule.threat]] entry {}: {}", i + 1, e.message().trim()),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        assert_eq!(parse_now_minus("now-7d"), Ok(7 * 86_400));
        assert_eq!(parse_now_minus("now-90s"), Ok(90));
        assert_eq!(parse_now_minus("now-15m"), Ok(900));
        assert_eq!(parse_now_minus("now-2h"), Ok(7200));
        assert!(parse_now_minus("now-7w").is_err());
        assert!(parse_now_minus("7d").is_err());
        assert!(parse_now_minus("now-d").is_err());
        assert!(parse_now_minus("now-é").is_err());
    }
}
