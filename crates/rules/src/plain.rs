//! A parsed TOML document's tables as plain `toml` values, read by reference: what
//! deserializing the document into a [`toml::Table`] gives, without consuming the document
//! (which is kept for the positions of problems) or copying it first.

use toml::{Table, Value};
use toml_edit::Item;

/// The plain form of `t`, keys in document order.
pub(crate) fn table(t: &toml_edit::Table) -> Table {
    t.iter()
        .filter_map(|(k, item)| item_value(item).map(|v| (k.to_string(), v)))
        .collect()
}

fn item_value(item: &Item) -> Option<Value> {
    match item {
        Item::None => None,
        Item::Value(v) => Some(value(v)),
        Item::Table(t) => Some(Value::Table(table(t))),
        Item::ArrayOfTables(a) => Some(Value::Array(
            a.iter().map(|t| Value::Table(table(t))).collect(),
        )),
    }
}

fn value(v: &toml_edit::Value) -> Value {
    use toml_edit::Value as V;
    match v {
        V::String(s) => Value::String(s.value().clone()),
        V::Integer(i) => Value::Integer(*i.value()),
        V::Float(f) => Value::Float(*f.value()),
        V::Boolean(b) => Value::Boolean(*b.value()),
        V::Datetime(d) => Value::Datetime(*d.value()),
        V::Array(a) => Value::Array(a.iter().map(value).collect()),
        V::InlineTable(t) => {
            Value::Table(t.iter().map(|(k, v)| (k.to_string(), value(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(text: &str) {
        let doc = toml_edit::ImDocument::parse(text).unwrap();
        let want: Table = toml::from_str(text).unwrap();
        assert_eq!(table(doc.as_table()), want, "{text}");
    }

    #[test]
    fn every_kind_of_value_as_toml_reads_it() {
        same(
            r#"
top = "s"
n = -3
f = 1.5e3
inf = -inf
b = true
d = 1979-05-27T07:32:00Z
ld = 1979-05-27
arr = [1, "two", [3.0], { x = 'lit' }]
dotted.key.path = "v"
ml = """
a
b"""
[t]
x = 1
[t.sub]
"quoted key" = []
[[aot]]
a = 1
[[aot]]
[[aot.inner]]
b = { c = { d = false } }
"#,
        );
    }

    /// Every rule file this project loads or ships reads the same.
    #[test]
    fn every_rule_file_as_toml_reads_it() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut n = 0;
        for dir in ["rules", "../shared/corpus/detection-rules/rules"] {
            let mut stack = vec![root.join(dir)];
            while let Some(d) = stack.pop() {
                let Ok(rd) = std::fs::read_dir(&d) else {
                    continue;
                };
                for e in rd.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "toml") {
                        let text = std::fs::read_to_string(&p).unwrap();
                        if toml_edit::ImDocument::parse(text.as_str()).is_ok() {
                            same(&text);
                            n += 1;
                        }
                    }
                }
            }
        }
        assert!(n > 360, "{n} files");
    }
}
