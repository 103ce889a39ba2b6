//! `spawnguard query`, run as a process.

use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_spawnguard"))
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("sg-query-cli-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&d).expect("temp dir");
        Dir(d)
    }
    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).expect("write");
        p.to_string_lossy().into_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn proc_event(id: u32, sec: u32, host: &str, parent: &str, name: &str) -> Value {
    json!({
        "@timestamp": format!("2026-01-01T00:00:{sec:02}Z"),
        "event": {"category": "process", "type": "start", "id": id},
        "host": {"name": host},
        "process": {"name": name, "parent": {"name": parent}, "args": [name]},
    })
}

fn ndjson(evs: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in evs {
        out.extend(serde_json::to_vec(e).expect("json"));
        out.push(b'\n');
    }
    out
}

/// Events deliberately out of time order in the file.
fn sample_events() -> Vec<Value> {
    vec![
        proc_event(1, 30, "h1", "python3", "bash"),
        proc_event(2, 10, "h1", "python3", "sh"),
        proc_event(3, 20, "h2", "bash", "ls"),
        proc_event(4, 5, "h2", "python3.11", "zsh"),
        proc_event(5, 40, "h1", "node", "sh"),
    ]
}

fn run(args: &[&str]) -> Output {
    bin().arg("query").args(args).output().expect("run")
}

fn ids(out: &Output) -> Vec<u64> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("output line is JSON");
            let ev = v
                .get("event")
                .filter(|e| e.get("event").is_some())
                .unwrap_or(&v);
            ev["event"]["id"].as_u64().expect("id")
        })
        .collect()
}

const PY_SHELL: &str = r#"process where process.parent.name : "python*""#;

#[test]
fn event_query_returns_matches_in_timestamp_order() {
    let d = Dir::new("order");
    let f = d.file("in.ndjson", &ndjson(&sample_events()));
    let out = run(&[PY_SHELL, &f]);
    assert_eq!(out.status.code(), Some(0));
    // Matches are 1 (@30), 2 (@10), 4 (@5): ascending time is 4, 2, 1.
    assert_eq!(ids(&out), vec![4, 2, 1]);
}

#[test]
fn size_result_position_head_and_tail() {
    let d = Dir::new("size");
    let f = d.file("in.ndjson", &ndjson(&sample_events()));
    // Matches in time order: 4 (@5), 2 (@10), 1 (@30). As Elasticsearch's default
    // `result_position: tail`, a size smaller than the matches keeps the most recent ones,
    // still in ascending order.
    assert_eq!(ids(&run(&["--size", "2", PY_SHELL, &f])), vec![2, 1]);
    assert_eq!(
        ids(&run(&[
            "--size",
            "2",
            "--result-position",
            "head",
            PY_SHELL,
            &f
        ])),
        vec![4, 2]
    );
    let tail = format!("{PY_SHELL} | tail 2");
    assert_eq!(ids(&run(&[&tail, &f])), vec![2, 1]);
    let head = format!("{PY_SHELL} | head 1");
    assert_eq!(ids(&run(&[&head, &f])), vec![4]);
    // A pipe decides which end, and --size caps it: `head 3` with size 2 keeps 4, 2.
    let head3 = format!("{PY_SHELL} | head 3");
    assert_eq!(ids(&run(&["--size", "2", &head3, &f])), vec![4, 2]);
    // `any where true` matches all five; the default size is 10, so all come back.
    assert_eq!(ids(&run(&["any where true", &f])), vec![4, 2, 3, 1, 5]);
    assert_eq!(
        ids(&run(&["--size", "3", "any where true", &f])),
        vec![3, 1, 5]
    );
}

#[test]
fn malformed_lines_are_reported_and_skipped() {
    let d = Dir::new("bad");
    let mut data = ndjson(&sample_events()[..2]);
    // Line 3 passes the byte prefilter (it mentions process and python) but is not JSON.
    data.extend(b"{\"process\": python3}\n");
    data.extend(ndjson(&sample_events()[3..4]));
    // Line 5 cannot match (no literal the query needs), so it is never parsed; it is still
    // checked, and reported: `{…}` with a missing comma inside.
    data.extend(b"{\"event\": {\"kind\": \"x\"} \"host\": 1}\n");
    let f = d.file("in.ndjson", &data);
    let out = run(&[PY_SHELL, &f]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(ids(&out), vec![4, 2, 1]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{f}:3:")), "stderr: {err}");
    assert!(err.contains(&format!("{f}:5:")), "stderr: {err}");
    assert!(err.contains("2 malformed line(s) skipped"), "stderr: {err}");
}

#[test]
fn rejected_query_exits_2_with_a_caret() {
    let d = Dir::new("reject");
    let f = d.file("in.ndjson", &ndjson(&sample_events()));
    let out = run(&["process where process.name = \"sh\"", &f]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("spawnguard: error:"), "stderr: {err}");
    assert!(err.contains("column 28"), "stderr: {err}");
    let caret_line = err
        .lines()
        .find(|l| l.trim_start_matches([' ', '|']).starts_with('^'));
    let caret_line = caret_line.unwrap_or_else(|| panic!("no caret in: {err}"));
    let query_line = err
        .lines()
        .find(|l| l.contains("process where"))
        .unwrap_or_else(|| panic!("query not echoed: {err}"));
    // The caret sits under the `=`.
    let caret_col = caret_line.find('^').unwrap_or(0);
    assert_eq!(query_line.as_bytes().get(caret_col), Some(&b'='));
}

#[test]
fn gzip_zstd_and_stdin() {
    let d = Dir::new("compressed");
    let data = ndjson(&sample_events());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&data).expect("gzip");
    let g = d.file("in.gz", &gz.finish().expect("gzip"));
    let z = d.file("in.zst", &zstd::encode_all(&data[..], 1).expect("zstd"));
    // Two files: results are merged and ordered by time over both.
    let out = run(&[PY_SHELL, &g, &z]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(ids(&out), vec![4, 4, 2, 2, 1, 1]);

    let mut child = bin()
        .args(["query", "--language", "kql", "process.name: sh", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&data)
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(ids(&out), vec![2, 5]);
}

#[test]
fn sequences_print_one_event_per_line_with_their_index() {
    let d = Dir::new("seq");
    // h1: sh @10 then bash @30 (python parent both) -> one sequence [2, 1].
    // h2: zsh @5 then nothing on h2 matching stage 2 -> none.
    let f = d.file("in.ndjson", &ndjson(&sample_events()));
    let q = r#"sequence by host.name with maxspan=1m
        [process where process.name == "sh"]
        [process where process.name == "bash"]"#;
    let out = run(&[q, &f]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["sequence"], json!(0));
    assert_eq!(lines[0]["join_keys"], json!(["h1"]));
    assert_eq!(ids(&out), vec![2, 1]);
    // maxspan=10s is too short for 10 -> 30.
    let q10 = q.replace("1m", "10s");
    assert!(run(&[&q10, &f]).stdout.is_empty());
}

#[test]
fn samples_come_back_in_key_order() {
    let d = Dir::new("sample");
    let f = d.file("in.ndjson", &ndjson(&sample_events()));
    // Per host: a python-parented event and a non-python-parented one, earliest first.
    // h1: python-parented 2 (@10) and 1 (@30), other 5 -> [2, 5]; h2: 4 and 3 -> [4, 3].
    // Samples come in key order: h1 then h2.
    let q = r#"sample by host.name
        [process where process.parent.name : "python*"]
        [process where not process.parent.name : "python*"]"#;
    let out = run(&[q, &f]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ids(&out), vec![2, 5, 4, 3]);
}

#[test]
fn table_format_is_readable() {
    let d = Dir::new("table");
    let f = d.file("in.ndjson", &ndjson(&sample_events()));
    let out = run(&["--format", "table", PY_SHELL, &f]);
    let s = String::from_utf8_lossy(&out.stdout);
    let mut lines = s.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with("TIMESTAMP"), "{s}");
    assert!(header.contains("PROCESS"), "{s}");
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with("2026-01-01T00:00:05Z"), "{s}");
    assert!(first.contains("python3.11") && first.contains("zsh"), "{s}");
    assert!(s.contains("(3 events)"), "{s}");
}

#[test]
fn prefilter_agrees_with_full_evaluation_on_a_larger_file() {
    // 3000 events, every 97th python-parented; enough lines for the prefilter's gate to
    // finish sampling and start skipping. Skipping must not change the results.
    let d = Dir::new("agree");
    let evs: Vec<Value> = (0..3000u32)
        .map(|i| {
            let parent = if i % 97 == 0 { "Python3" } else { "bash" };
            let mut e = proc_event(i, 0, "h", parent, "sh");
            e["@timestamp"] = json!(format!("2026-01-01T00:{:02}:{:02}Z", i / 60 % 60, i % 60));
            e
        })
        .collect();
    let f = d.file("in.ndjson", &ndjson(&evs));
    let fast = run(&["--size", "1000", PY_SHELL, &f]);
    let full = run(&["--size", "1000", "--no-prefilter", PY_SHELL, &f]);
    assert_eq!(fast.status.code(), Some(0));
    let got = ids(&fast);
    assert_eq!(got.len(), 31);
    assert_eq!(got, ids(&full));
}
