//! Terms: the combinations of the values of a rule's fields (new_terms fields, threshold
//! fields, suppression group-by), arrays expanded into every combination.

use spawnguard_event::{Event, FieldPath, Value};

/// Largest number of combinations taken from one event (arrays multiply).
pub const MAX_COMBINATIONS: usize = 1024;

/// The text form of a leaf value, as Elasticsearch's terms aggregation keys print it.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The distinct values of one field, in document order.
pub fn field_values(ev: &Event, f: &FieldPath) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in ev.values(f) {
        if let Some(t) = value_text(v) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// Every combination of the fields' values. Empty when a field has no value (the event has
/// no term).
pub fn combinations(ev: &Event, fields: &[FieldPath]) -> Vec<Vec<String>> {
    let mut combos: Vec<Vec<String>> = vec![Vec::new()];
    for f in fields {
        let vals = field_values(ev, f);
        if vals.is_empty() {
            return Vec::new();
        }
        let mut next = Vec::with_capacity(combos.len() * vals.len());
        'outer: for c in &combos {
            for v in &vals {
                if next.len() >= MAX_COMBINATIONS {
                    break 'outer;
                }
                let mut c2 = c.clone();
                c2.push(v.clone());
                next.push(c2);
            }
        }
        combos = next;
    }
    combos
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arrays_expand_into_every_combination() {
        let ev = Event::new(json!({"a": ["x", "y"], "b": {"c": [1, 2]}, "d": "z"}));
        let f = ["a", "b.c", "d"].map(FieldPath::new);
        let c = combinations(&ev, &f);
        assert_eq!(c.len(), 4);
        assert!(c.contains(&vec!["y".to_string(), "1".to_string(), "z".to_string()]));
        assert!(combinations(&ev, &[FieldPath::new("missing")]).is_empty());
    }
}
