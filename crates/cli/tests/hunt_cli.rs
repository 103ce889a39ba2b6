//! `spawnguard hunt` end to end: the example incident, exit codes, bad input, the history
//! across runs and after `kill -9`, the state lock.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_spawnguard"));
    c.env("XDG_CONFIG_HOME", "/nonexistent-spawnguard-test");
    c
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hunt(args: &[&str]) -> Output {
    bin()
        .arg("hunt")
        .args(args)
        .output()
        .expect("run spawnguard")
}

fn alerts(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const SHELL_RULE: &str = r#"[metadata]
creation_date = "2026/11/24"
maturity = "production"
updated_date = "2026/11/24"

[rule]
author = ["test"]
description = "python spawned sh"
from = "now-6m"
index = ["logs-*"]
language = "kuery"
license = "Apache-2.0"
name = "Test Python Shell"
risk_score = 73
rule_id = "11111111-2222-3333-4444-555555555555"
severity = "high"
type = "query"
query = '''
event.category:process and process.parent.name:python3 and process.name:sh
'''
"#;

const NEW_TERMS_RULE: &str = r#"[metadata]
creation_date = "2026/11/24"
maturity = "production"
updated_date = "2026/11/24"

[rule]
author = ["test"]
description = "new shell command from python"
from = "now-6m"
index = ["logs-*"]
language = "kuery"
license = "Apache-2.0"
name = "Test New Python Shell Command"
risk_score = 47
rule_id = "66666666-2222-3333-4444-555555555555"
severity = "medium"
type = "new_terms"
query = '''
event.category:process and process.parent.name:python3
'''

[rule.new_terms]
field = "new_terms_fields"
value = ["host.name", "process.command_line"]
[[rule.new_terms.history_window_start]]
field = "history_window_start"
value = "now-7d"
"#;

fn rules_dir(dir: &Path, rules: &[(&str, &str)]) -> PathBuf {
    let d = dir.join("rules");
    std::fs::create_dir_all(&d).unwrap();
    for (name, text) in rules {
        std::fs::write(d.join(name), text).unwrap();
    }
    d
}

fn shell_event(i: u32, cmd: &str) -> Value {
    json!({
        "@timestamp": format!("2026-11-20T10:{:02}:{:02}.000Z", (i / 60) % 60, i % 60),
        "event": {"category": ["process"], "type": ["start"], "kind": "event", "action": "exec"},
        "host": {"name": "ml-ws-01", "id": "h1"},
        "user": {"name": "alice"},
        "process": {"name": "sh", "pid": 100 + i, "entity_id": format!("e{i}"), "command_line": cmd,
                    "parent": {"name": "python3", "pid": 99, "entity_id": "py", "command_line": "python3 train.py"}},
    })
}

fn benign_event(i: u32) -> Value {
    json!({
        "@timestamp": format!("2026-11-20T11:00:{:02}.000Z", i % 60),
        "event": {"category": ["process"], "type": ["start"]},
        "host": {"name": "web-1"},
        "process": {"name": "ls", "command_line": "ls -l", "parent": {"name": "bash"}},
    })
}

fn ndjson(events: &[Value]) -> String {
    events.iter().map(|e| e.to_string() + "\n").collect()
}

#[test]
fn example_incident_raises_the_expected_alerts() {
    let state = tempfile::tempdir().unwrap();
    let out = hunt(&[
        "--state",
        state.path().to_str().unwrap(),
        "--format",
        "ndjson",
    ]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    assert!(
        stderr(&out).contains("example incident"),
        "{}",
        stderr(&out)
    );
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("examples/telemetry/expected_alerts.json"))
            .expect("examples/telemetry/expected_alerts.json"),
    )
    .unwrap();
    let docs = alerts(&out);
    let mut got: BTreeMap<String, u64> = BTreeMap::new();
    for d in &docs {
        *got.entry(
            d["kibana.alert.rule.name"]
                .as_str()
                .unwrap_or("?")
                .to_string(),
        )
        .or_default() += 1;
    }
    let want: BTreeMap<String, u64> = expected["alerts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(got, want);
    for d in &docs {
        for f in [
            "kibana.alert.rule.rule_id",
            "kibana.alert.rule.uuid",
            "kibana.alert.rule.name",
            "kibana.alert.rule.severity",
            "kibana.alert.rule.risk_score",
            "kibana.alert.rule.threat",
            "kibana.alert.reason",
            "kibana.alert.original_time",
            "kibana.alert.uuid",
            "kibana.alert.status",
            "kibana.alert.workflow_status",
            "kibana.alert.ancestors",
            "kibana.space_ids",
            "@timestamp",
            "spawnguard.host.environment",
            "spawnguard.model_files",
        ] {
            assert!(!d[f].is_null(), "{f} missing in {d}");
        }
        assert_eq!(d["event"]["kind"], "signal");
        assert_eq!(d["kibana.alert.original_event.kind"], "event");
        if d["host"]["name"] == "ml-ws-01" {
            assert_eq!(d["spawnguard.host.environment"], "production");
        }
    }
    // The shell spawned by python names the model file the python process had opened.
    let shell = docs
        .iter()
        .find(|d| {
            d["kibana.alert.rule.name"] == "Shell Spawned by a Language Interpreter"
                && d["process"]["parent"]["name"] == "python3"
        })
        .expect("python shell alert");
    let files = shell["spawnguard.model_files"].as_array().unwrap();
    assert!(
        files
            .iter()
            .any(|f| f["path"].as_str().is_some_and(|p| p.ends_with(".pt"))),
        "{files:?}"
    );
    let nt = docs
        .iter()
        .find(|d| d["kibana.alert.rule.type"] == "new_terms")
        .expect("a new_terms alert");
    assert!(nt["kibana.alert.new_terms"].is_array());
}

#[test]
fn table_view_shows_ancestry_environment_and_triage() {
    let state = tempfile::tempdir().unwrap();
    let out = hunt(&["--state", state.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("environment: production"), "{text}");
    assert!(text.contains("└─ "), "no ancestry in {text}");
    assert!(text.contains("If the host is in production"), "{text}");
    assert!(
        !text.contains("If the host is in CI"),
        "other environments' sections shown"
    );
    assert!(
        !text.contains("\x1b["),
        "colour when stdout is not a terminal"
    );
}

#[test]
fn rerun_keeps_alert_ids_and_new_terms_history() {
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_dir(
        dir.path(),
        &[("a.toml", SHELL_RULE), ("b.toml", NEW_TERMS_RULE)],
    );
    let input = dir.path().join("in.ndjson");
    std::fs::write(
        &input,
        ndjson(&[shell_event(1, "sh -c id"), shell_event(2, "sh -c whoami")]),
    )
    .unwrap();
    let state = dir.path().join("state");
    let args = [
        "--rules",
        rules.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--format",
        "ndjson",
        input.to_str().unwrap(),
    ];
    let first = alerts(&hunt(&args));
    let second_out = hunt(&args);
    let second = alerts(&second_out);
    let ids = |v: &[Value], ty: &str| -> Vec<String> {
        v.iter()
            .filter(|d| d["kibana.alert.rule.type"] == ty)
            .map(|d| d["kibana.alert.uuid"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&first, "new_terms").len(), 2);
    assert_eq!(
        ids(&second, "new_terms").len(),
        0,
        "terms already in the history"
    );
    assert_eq!(ids(&first, "query").len(), 2);
    assert_eq!(
        ids(&first, "query"),
        ids(&second, "query"),
        "alert ids are deterministic"
    );
}

#[test]
fn bad_truncated_and_wrongly_typed_input_is_reported_and_the_rest_processed() {
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_dir(dir.path(), &[("a.toml", SHELL_RULE)]);
    let mut typed_count = shell_event(3, "sh -c b");
    typed_count["process"]["args_count"] = json!("x");
    let mut typed_cat = shell_event(4, "sh -c c");
    typed_cat["event"]["category"] = json!(5);
    let mut arrays = shell_event(5, "sh -c d");
    arrays["process"]["name"] = json!(["sh", "bash"]);
    arrays["process"]["pid"] = json!([1, 2]);
    arrays["@timestamp"] = json!(["2026-11-20T10:00:05Z"]);
    let mut text = String::new();
    text += &(shell_event(1, "sh -c a").to_string() + "\n"); // 1: alert
    text += "{\"event\": {\"category\": \"process\"\n"; // 2: bad JSON
    text += &(typed_count.to_string() + "\n"); // 3: alert
    text += &(typed_cat.to_string() + "\n"); // 4: no category match, no alert
    text += &(arrays.to_string() + "\n"); // 5: alert (any element matches)
    text += "[1, 2]\n"; // 6: not an object
    text += "\n"; // 7: blank, ignored
                  // 8: no literal any rule needs (never parsed), but `{…}` with a missing comma inside.
    text += "{\"agent\": {\"id\": \"x\"} \"ecs\": 1}\n";
    text += "{\"@timestamp\": \"2026-11-20T10:"; // 9: cut mid-line
    let input = dir.path().join("bad.ndjson");
    std::fs::write(&input, text).unwrap();
    let state = dir.path().join("state");
    let out = hunt(&[
        "--rules",
        rules.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--format",
        "ndjson",
        input.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(alerts(&out).len(), 3, "{err}");
    let name = input.to_str().unwrap();
    for line in [2, 6, 8, 9] {
        assert!(
            err.contains(&format!("{name}:{line}:")),
            "line {line} not reported in {err}"
        );
    }
    assert!(err.contains("bad lines 4"), "{err}");
    assert!(err.contains("events read 8"), "{err}");

    // A gzip file cut in the middle: what was readable is processed, the cut is reported.
    let events: Vec<Value> = (0..3000)
        .map(|i| shell_event(i, &format!("sh -c 'echo {i}'")))
        .collect();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(ndjson(&events).as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    let cut = dir.path().join("cut.ndjson.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let out = hunt(&[
        "--rules",
        rules.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--format",
        "ndjson",
        "--max-alerts-per-minute",
        "0",
        cut.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let n = alerts(&out).len();
    assert!(
        n > 100 && n < 3000,
        "{n} alerts from half a gzip file; {err}"
    );
    assert!(
        err.contains(&format!("{}:", cut.to_str().unwrap())),
        "{err}"
    );
    assert!(err.contains("bad lines 1"), "{err}");
}

#[test]
fn exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_dir(dir.path(), &[("a.toml", SHELL_RULE)]);
    let state = dir.path().join("state");
    let benign = dir.path().join("benign.ndjson");
    std::fs::write(
        &benign,
        ndjson(&(0..10).map(benign_event).collect::<Vec<_>>()),
    )
    .unwrap();
    let r = rules.to_str().unwrap();
    let s = state.to_str().unwrap();
    let ok = hunt(&["--rules", r, "--state", s, benign.to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stderr(&ok).contains("events read 10"), "{}", stderr(&ok));
    let missing = hunt(&["--rules", r, "--state", s, "/nonexistent/x.ndjson"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("/nonexistent/x.ndjson"));
    let bad_arg = hunt(&["--format", "xml", benign.to_str().unwrap()]);
    assert_eq!(bad_arg.status.code(), Some(2));
    let help = bin().args(["hunt", "--help"]).output().unwrap();
    let h = String::from_utf8_lossy(&help.stdout);
    assert!(
        h.contains("Exit codes") && h.contains("1  at least one alert"),
        "{h}"
    );
    // --learn never alerts.
    let input = dir.path().join("in.ndjson");
    std::fs::write(&input, ndjson(&[shell_event(1, "sh -c id")])).unwrap();
    let learn = hunt(&[
        "--rules",
        r,
        "--state",
        s,
        "--learn",
        input.to_str().unwrap(),
    ]);
    assert_eq!(learn.status.code(), Some(0), "{}", stderr(&learn));
    assert!(learn.stdout.is_empty());
}

/// Reads stdout lines on a thread so the test can wait with a timeout.
fn line_reader(out: std::process::ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            match line {
                Ok(l) => {
                    if tx.send(l).is_err() {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    });
    rx
}

#[test]
fn kill_dash_9_keeps_alerted_terms_and_the_lock_names_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_dir(dir.path(), &[("b.toml", NEW_TERMS_RULE)]);
    let state = dir.path().join("state");
    let (r, s) = (
        rules.to_str().unwrap().to_string(),
        state.to_str().unwrap().to_string(),
    );
    let mut child = bin()
        .args([
            "hunt", "--rules", &r, "--state", &s, "--format", "ndjson", "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let lines = line_reader(child.stdout.take().unwrap());
    let e1 = shell_event(1, "sh -c 'curl x | sh'");
    let e2 = shell_event(2, "sh -c id");
    for e in [&e1, &e2] {
        writeln!(stdin, "{e}").unwrap();
        stdin.flush().unwrap();
        let alert = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("an alert while running");
        assert!(alert.contains("kibana.alert.new_terms"), "{alert}");
    }
    // While it runs, a second hunt on the same state is refused with the owner's pid.
    let second = hunt(&["--rules", &r, "--state", &s, "-"]);
    assert_eq!(second.status.code(), Some(2));
    let msg = stderr(&second);
    assert!(
        msg.contains(&format!(
            "state directory {s} is in use by another spawnguard (pid {})",
            child.id()
        )),
        "{msg}"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Rerun on the same events plus a new one: only the new one alerts.
    let input = dir.path().join("again.ndjson");
    std::fs::write(&input, ndjson(&[e1, e2, shell_event(3, "sh -c uname")])).unwrap();
    let out = hunt(&[
        "--rules",
        &r,
        "--state",
        &s,
        "--format",
        "ndjson",
        input.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let docs = alerts(&out);
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(docs[0]["process"]["command_line"], "sh -c uname");
}

#[test]
fn alerts_from_a_fifo_come_while_it_stays_open() {
    // A named pipe is a stream like stdin: a new-terms alert must not wait for more input
    // (or the end of it) before it is printed.
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_dir(dir.path(), &[("b.toml", NEW_TERMS_RULE)]);
    let fifo = dir.path().join("events.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let state = dir.path().join("state");
    let mut child = bin()
        .args([
            "hunt",
            "--rules",
            rules.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
            "--format",
            "ndjson",
            fifo.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = line_reader(child.stdout.take().unwrap());
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    writeln!(w, "{}", shell_event(1, "sh -c 'curl x | sh'")).unwrap();
    w.flush().unwrap();
    let alert = lines
        .recv_timeout(Duration::from_secs(30))
        .expect("the alert while the fifo is still open");
    assert!(alert.contains("kibana.alert.new_terms"), "{alert}");
    drop(w);
    assert_eq!(child.wait().unwrap().code(), Some(1));
}
