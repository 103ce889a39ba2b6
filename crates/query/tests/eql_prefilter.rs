//! The byte prefilter derived from compiled EQL (`Req::of`) is sound: whenever a condition
//! matches an event, the prefilter accepts the event's serialized bytes.

use serde_json::{json, Value};
use spawnguard_event::Event;
use spawnguard_query::prefilter::{Prefilter, Req, Scratch};
use spawnguard_query::{compile, CompileOptions, Language};

const QUERIES: &[&str] = &[
    r#"process where process.name == "python3""#,
    r#"process where process.name : "PYTHON*""#,
    r#"process where process.name : ("*pythön*", "perl")"#,
    r#"process where process.name like~ "*KILL*""#,
    r#"process where process.name like "Py*n?""#,
    r#"process where process.name in ("bash", "sh", "Zsh")"#,
    r#"process where process.name in~ ("BASH", "dash")"#,
    r#"process where process.name not in ("bash", "sh")"#,
    r#"process where process.args : "*pty.spawn*" and process.parent.name : "python*""#,
    r#"process where process.args : ("-c", "*/bin/sh*") or process.name == "sh""#,
    r#"process where process.command_line regex~ ".*socket\\.socket.*""#,
    r#"process where process.command_line : "*\"quoted\"*""#,
    r#"process where process.command_line : """*C:\\Windows\\*""""#,
    r#"process where process.command_line like~ "*a\\*b*""#,
    r#"process where process.pid : "12*""#,
    r#"process where process.pid == "123""#,
    r#"process where process.pid == 123 and process.name != "x""#,
    r#"process where process.flag == "true""#,
    r#"process where startsWith~(process.name, "PYTH")"#,
    r#"process where not process.name : "bash""#,
    r#"process where ?process.title != null"#,
    r#"any where process.name : "*ı*""#,
    r#"any where `my field` : "hello world""#,
];

fn events() -> Vec<Value> {
    vec![
        json!({"event": {"category": "process"}, "process": {"name": "python3", "pid": 123,
            "args": ["python3", "-c", "import pty; pty.spawn('/bin/sh')"],
            "parent": {"name": "Python3.11"}, "command_line": "python3 -c 'import socket; socket.socket()'"}}),
        json!({"event.category": "process", "process.name": "PYTHON3", "process.pid": 1234}),
        json!({"event": {"category": ["process", "start"]}, "process": {"name": "PYTHÖN", "flag": true}}),
        json!({"event": {"category": "process"}, "process": {"name": "pythön-x"}}),
        json!({"event": {"category": "process"}, "process": {"name": "\u{212A}ILL", "title": ""}}),
        json!({"event": {"category": "process"}, "process": {"name": "Pyon1"}}),
        json!({"event": {"category": "process"}, "process": {"name": "Zsh"}}),
        json!({"event": {"category": "process"}, "process": {"name": ["bash", "DASH"]}}),
        json!({"event": {"category": "process"}, "process": {"name": "sh",
            "command_line": "echo \"quoted\" C:\\Windows\\x A*B"}}),
        json!({"event": {"category": "process"}, "process": {"name": "x", "pid": 123.0,
            "args": ["/usr/bin/sh -i"]}}),
        json!({"event": {"category": "process"}, "process": {"name": "ık"}}),
        json!({"my field": "Hello World", "process": {"name": "İ"}}),
        json!({"event": {"category": "network"}, "process": {"name": "python3"}}),
        json!({"event": {"category": "process"}, "process": {"name": "ruby", "pid": "12"}}),
    ]
}

#[test]
fn prefilter_accepts_every_match() {
    let opts = CompileOptions::default();
    let (mut matches, mut skipped) = (0, 0);
    let mut unsound = Vec::new();
    for q in QUERIES {
        let query = compile(Language::Eql, q, &opts).unwrap_or_else(|e| panic!("{q}\n{e}"));
        let pred = query.event_pred().expect("event query");
        let pf = Prefilter::new(&[Req::of(pred)]);
        let mut scratch = Scratch::default();
        for doc in events() {
            let ev = Event::new(doc.clone());
            for bytes in [
                serde_json::to_vec(&doc).expect("serialize"),
                serde_json::to_vec_pretty(&doc).expect("serialize"),
            ] {
                let may = pf.may_match(&bytes, &mut scratch);
                if pred.matches(&ev) {
                    matches += 1;
                    if !may {
                        unsound.push(format!(
                            "{q}\n  skipped a matching line: {}",
                            String::from_utf8_lossy(&bytes)
                        ));
                    }
                } else if !may {
                    skipped += 1;
                }
            }
        }
    }
    assert!(
        unsound.is_empty(),
        "unsound prefilter:\n{}",
        unsound.join("\n")
    );
    // The test means something only if both happen.
    assert!(matches >= 30, "only {matches} matches");
    assert!(skipped >= 30, "only {skipped} lines skipped");
}

#[test]
fn case_folding_keeps_ascii_text_ascii() {
    // Lucene's case-insensitive matching (used by Elasticsearch for `:`) does not equate the
    // Kelvin sign with `k`; neither do we, which keeps the prefilter sound.
    let q = compile(
        Language::Eql,
        r#"any where a : "*kill*""#,
        &CompileOptions::default(),
    )
    .unwrap();
    let p = q.event_pred().unwrap();
    assert!(!p.matches(&Event::new(json!({"a": "\u{212A}ILL"}))));
    assert!(p.matches(&Event::new(json!({"a": "KILL"}))));
    let q = compile(
        Language::Eql,
        r#"any where a : "*pythön*""#,
        &CompileOptions::default(),
    )
    .unwrap();
    assert!(q
        .event_pred()
        .unwrap()
        .matches(&Event::new(json!({"a": "PYTHÖN"}))));
}
