//! Printing results: NDJSON (one event per line) or a readable table.

use super::{Group, Hit};
use serde_json::{json, Value};
use spawnguard_event::{Event, FieldPath};
use std::io::Write;

/// Longest command line shown in a table cell.
const MAX_CMD: usize = 100;

fn text(ev: &Event, field: &str) -> String {
    let vals = ev.values(&FieldPath::new(field));
    vals.iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn command_line(ev: &Event) -> String {
    let cl = text(ev, "process.command_line");
    let cl = if cl.is_empty() {
        ev.values(&FieldPath::new("process.args"))
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        cl
    };
    let cl: String = cl
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if cl.chars().count() > MAX_CMD {
        let mut s: String = cl.chars().take(MAX_CMD - 1).collect();
        s.push('…');
        s
    } else {
        cl
    }
}

fn row(ev: &Event) -> Vec<String> {
    let name = |f: &str| {
        let t = text(ev, f);
        if t.is_empty() {
            "-".to_string()
        } else {
            t
        }
    };
    vec![
        name("@timestamp"),
        name("event.category"),
        name("host.name"),
        name("process.parent.name"),
        name("process.name"),
        command_line(ev),
    ]
}

const HEADER: [&str; 6] = [
    "TIMESTAMP",
    "CATEGORY",
    "HOST",
    "PARENT",
    "PROCESS",
    "COMMAND LINE",
];

fn print_table(out: &mut impl Write, rows: &[Vec<String>], header: &[&str]) -> std::io::Result<()> {
    let ncol = header.len();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(ncol) {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(c);
                let pad = width[i].saturating_sub(c.chars().count()) + 2;
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for r in rows {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// Event query results as a table.
pub fn event_table(out: &mut impl Write, hits: &[Hit]) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = hits.iter().map(|h| row(&h.event)).collect();
    print_table(out, &rows, &HEADER)?;
    writeln!(
        out,
        "({} event{})",
        hits.len(),
        if hits.len() == 1 { "" } else { "s" }
    )
}

/// Sequences or samples: NDJSON, one event per line, or a table with the match number and
/// join keys in front.
pub fn groups(
    out: &mut impl Write,
    what: &str,
    groups: &[Group],
    hits: &[Hit],
    table: bool,
) -> std::io::Result<()> {
    if table {
        let mut rows = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            let keys = g
                .key
                .iter()
                .map(|k| match k.to_json() {
                    Value::String(s) => s,
                    v => v.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",");
            for &h in &g.hits {
                if let Some(hit) = hits.get(h) {
                    let mut r = vec![i.to_string(), keys.clone()];
                    r.extend(row(&hit.event));
                    rows.push(r);
                }
            }
        }
        let mut header = vec![if what == "sequence" { "SEQ" } else { "SAMPLE" }, "KEYS"];
        header.extend(HEADER);
        print_table(out, &rows, &header)?;
        return writeln!(
            out,
            "({} {what}{})",
            groups.len(),
            if groups.len() == 1 { "" } else { "s" }
        );
    }
    for (i, g) in groups.iter().enumerate() {
        let keys: Vec<Value> = g.key.iter().map(|k| k.to_json()).collect();
        for &h in &g.hits {
            if let Some(hit) = hits.get(h) {
                let line = json!({what: i, "join_keys": keys, "event": hit.event.doc()});
                serde_json::to_writer(&mut *out, &line)?;
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}
