//! `spawnguard watch` end to end, with real eBPF: the emulations raise the shipped rules with the
//! right parent and child command lines, benign interpreter children raise nothing, a process
//! that existed before the sensor keeps its ancestry, SIGTERM shuts down cleanly with the history
//! committed, `--self-test` passes, and a full process table stays at its bound.
//!
//! These tests need root and BPF. They FAIL (never skip) without them: CI runs them as root.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One sensor at a time: the machine has two cores.
static LOCK: Mutex<()> = Mutex::new(());

const PTY_RULE: &str = "Interactive Terminal Spawned via Python";
const SHELL_RULE: &str = "Shell Spawned by a Language Interpreter";
const FIRST_SHELL_RULE: &str = "First Time Python Spawned a Shell on Linux Host";

fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "watch_cli tests need root and BPF (they are not skipped): run `sudo -E cargo test -p spawnguard-cli --test watch_cli` (euid is {euid})"
    );
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_spawnguard"));
    c.env("XDG_CONFIG_HOME", "/nonexistent-spawnguard-test");
    c
}

fn nonce() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("sg{}x{}", std::process::id(), t % 1_000_000_000)
}

/// A running `spawnguard watch`, its standard error read line by line on a thread.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
}

impl Watch {
    fn start(args: &[&str]) -> Watch {
        let mut child = bin()
            .arg("watch")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start spawnguard watch");
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().expect("stderr piped");
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut w = Watch {
            child,
            lines: rx,
            stderr: Vec::new(),
        };
        w.wait_line("spawnguard watch: ready:", Duration::from_secs(60));
        w
    }

    fn wait_line(&mut self, needle: &str, timeout: Duration) {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(l) => {
                    let hit = l.contains(needle);
                    self.stderr.push(l);
                    if hit {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(st)) = self.child.try_wait() {
                        self.drain();
                        panic!(
                            "spawnguard watch exited ({st}) before {needle:?}; stderr:\n{}",
                            self.stderr.join("\n")
                        );
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let _ = self.child.kill();
        self.drain();
        panic!(
            "no {needle:?} from spawnguard watch within {timeout:?}; stderr:\n{}",
            self.stderr.join("\n")
        );
    }

    fn drain(&mut self) {
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.stderr.push(l);
        }
    }

    /// SIGTERM, then the exit code.
    fn terminate(mut self) -> (Option<i32>, String) {
        // SAFETY: kill on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                break st;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                self.drain();
                panic!(
                    "spawnguard watch did not exit within 30 s of SIGTERM; stderr:\n{}",
                    self.stderr.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.drain();
        (status.code(), self.stderr.join("\n"))
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_ndjson(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn rule(a: &Value) -> &str {
    a.get("kibana.alert.rule.name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn run_ok(mut c: Command, what: &str) {
    let st = c
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let st = st.unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(st.success(), "{what}: exited {st}");
}

fn python(args: &[&str]) -> Command {
    let mut c = Command::new("python3");
    c.args(args);
    c
}

/// Waits until `pred` holds for the alerts written so far.
fn wait_alerts(out: &Path, timeout: Duration, pred: &dyn Fn(&[Value]) -> bool) -> Vec<Value> {
    let end = Instant::now() + timeout;
    loop {
        let a = read_ndjson(out);
        if pred(&a) || Instant::now() > end {
            return a;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn watch_alerts_live_with_parent_child_and_ancestry() {
    require_root();
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().expect("tempdir");
    let n = nonce();
    let state = tmp.path().join("state");
    let out = tmp.path().join("alerts.ndjson");
    let events = tmp.path().join("events.ndjson");
    let go = tmp.path().join("go");

    // A process tree that exists before the sensor starts: bash waits for `go`, then runs the
    // pty emulation (the trailing `true` keeps bash from exec'ing python in its own place).
    let pre_script = format!(r#"import pty; pty.spawn(["/bin/sh","-c","true"]) # {n}-pre"#);
    let mut pre = Command::new("bash")
        .args([
            "-c",
            r#"while [ ! -e "$1" ]; do sleep 0.05; done; python3 -c "$2"; true"#,
            "bash",
        ])
        .arg(&go)
        .arg(&pre_script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the pre-existing bash");
    let pre_pid = pre.id() as u64;

    let w = Watch::start(&[
        "--format",
        "ndjson",
        "--state",
        state.to_str().expect("utf-8 path"),
        "--output",
        out.to_str().expect("utf-8 path"),
        "--emit-events",
        events.to_str().expect("utf-8 path"),
        "--stats-interval",
        "0",
    ]);

    // The pty emulation.
    let pty_script = format!(r#"import pty; pty.spawn(["/bin/sh","-c","true"]) # {n}-pty"#);
    run_ok(python(&["-c", &pty_script]), "pty emulation");
    // The pickle emulation: a file whose __reduce__ is os.system("true").
    let pkl = tmp.path().join(format!("{n}-model.pkl"));
    std::fs::write(&pkl, spawnguard_sensor::emulate::CRAFTED_PICKLE).expect("write pickle");
    let pkl_s = pkl.to_str().expect("utf-8 path");
    run_ok(
        python(&[
            "-c",
            "import pickle,sys; pickle.load(open(sys.argv[1],'rb'))",
            pkl_s,
        ]),
        "pickle emulation",
    );
    // A model whose payload lasts (as `curl … | sh` or a reverse shell does), named like
    // data: python is still inside pickle.load with the file open when the alert is built.
    let slow_cmd = format!("sleep 1 # {n}-model");
    let model = tmp.path().join(format!("{n}-weights.dat"));
    std::fs::write(&model, format!("cposix\nsystem\n(S'{slow_cmd}'\ntR.")).expect("write model");
    let model_s = model.to_str().expect("utf-8 path");
    run_ok(
        python(&[
            "-c",
            "import pickle,sys; pickle.load(open(sys.argv[1],'rb'))",
            model_s,
        ]),
        "model emulation",
    );
    // Benign: subprocess.run(["ls"]).
    let ls_script =
        format!(r#"import subprocess; subprocess.run(["ls"], stdout=subprocess.DEVNULL) # {n}-ls"#);
    run_ok(python(&["-c", &ls_script]), "subprocess ls");
    // Benign: pip's build hook shelling out to a compiler probe.
    let pipdir = tmp.path().join(format!("{n}-pip"));
    let hook = spawnguard_sensor::emulate::write_pip_hook(&pipdir).expect("write the pip hook");
    run_ok(
        python(&[
            hook.to_str().expect("utf-8 path"),
            "build_wheel",
            pipdir.join("wheel").to_str().expect("utf-8"),
        ]),
        "pip-style build hook",
    );
    // Now the pre-existing tree.
    std::fs::write(&go, b"").expect("write go");
    let st = pre.wait().expect("wait for the pre-existing bash");
    assert!(st.success(), "pre-existing bash exited {st}");

    let has = |a: &[Value], rule_name: &str, marker: &str| {
        a.iter()
            .any(|x| rule(x) == rule_name && s(x, "/process/parent/command_line").contains(marker))
    };
    wait_alerts(&out, Duration::from_secs(20), &|a| {
        has(a, PTY_RULE, &format!("{n}-pty"))
            && has(a, SHELL_RULE, pkl_s)
            && has(a, SHELL_RULE, model_s)
            && has(a, PTY_RULE, &format!("{n}-pre"))
    });
    // Give late (wrong) alerts on the benign runs a chance to show up.
    std::thread::sleep(Duration::from_millis(1000));
    let (code, stderr) = w.terminate();
    let alerts = read_ndjson(&out);
    let summary: Vec<String> = alerts
        .iter()
        .map(|a| {
            format!(
                "{} | {} <- {}",
                rule(a),
                s(a, "/process/command_line"),
                s(a, "/process/parent/command_line")
            )
        })
        .collect();
    let ctx = format!("alerts:\n{}\nstderr:\n{stderr}", summary.join("\n"));

    // Clean shutdown.
    assert_eq!(code, Some(0), "watch must exit 0 on SIGTERM; {ctx}");
    assert!(
        stderr.contains("spawnguard watch: final: events="),
        "final counters missing; {ctx}"
    );

    // pty: the rule, the parent's and the child's command lines.
    let pty = alerts
        .iter()
        .find(|a| {
            rule(a) == PTY_RULE
                && s(a, "/process/parent/command_line").contains(&format!("{n}-pty"))
        })
        .unwrap_or_else(|| panic!("no {PTY_RULE:?} alert for the pty emulation; {ctx}"));
    assert!(
        s(pty, "/process/parent/command_line").contains("pty.spawn"),
        "{ctx}"
    );
    assert_eq!(s(pty, "/process/command_line"), "/bin/sh -c true", "{ctx}");
    assert!(
        s(pty, "/process/parent/name").starts_with("python"),
        "{ctx}"
    );
    assert!(
        ["dash", "sh", "bash"].contains(&s(pty, "/process/name")),
        "{ctx}"
    );
    assert!(
        alerts.iter().any(|a| rule(a) == SHELL_RULE
            && s(a, "/process/parent/command_line").contains(&format!("{n}-pty"))),
        "no {SHELL_RULE:?} alert for the pty emulation; {ctx}"
    );

    // pickle: os.system("true") runs `sh -c true` under the unpickling python.
    let pk = alerts
        .iter()
        .find(|a| rule(a) == SHELL_RULE && s(a, "/process/parent/command_line").contains(pkl_s))
        .unwrap_or_else(|| panic!("no {SHELL_RULE:?} alert for the pickle emulation; {ctx}"));
    assert!(
        s(pk, "/process/parent/command_line").contains("pickle.load"),
        "{ctx}"
    );
    assert_eq!(s(pk, "/process/command_line"), "sh -c true", "{ctx}");

    // The model python was loading is named on the alert, scanned by content, with the
    // call it makes on load and the string that ties the shell's command line to the file.
    let ma = alerts
        .iter()
        .find(|a| rule(a) == SHELL_RULE && s(a, "/process/parent/command_line").contains(model_s))
        .unwrap_or_else(|| panic!("no {SHELL_RULE:?} alert for the model emulation; {ctx}"));
    let models = ma
        .pointer("/spawnguard/model_files")
        .or_else(|| ma.get("spawnguard.model_files"))
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("no spawnguard.model_files on the model alert; {ctx}"));
    let m = models
        .iter()
        .find(|m| m["path"] == model_s)
        .unwrap_or_else(|| panic!("the model being loaded is not named in {models:?}; {ctx}"));
    assert_eq!(m["scan"]["verdict"], "dangerous", "{m}");
    assert!(
        m["scan"]["calls"][0]
            .as_str()
            .unwrap_or("")
            .contains("system"),
        "{m}"
    );
    assert_eq!(
        m["scan"]["command_line_literals"][0],
        slow_cmd.as_str(),
        "{m}"
    );

    // A fresh history: the first python→shell command line this watch saw was new.
    assert!(
        alerts.iter().any(|a| rule(a) == FIRST_SHELL_RULE),
        "a fresh history must raise {FIRST_SHELL_RULE:?}; {ctx}"
    );

    // Benign runs: seen by the sensor, no alert.
    let evs = read_ndjson(&events);
    let seen = |marker: &str, name: &dyn Fn(&str) -> bool| {
        evs.iter().any(|e| {
            s(e, "/event/action") == "exec"
                && name(s(e, "/process/name"))
                && s(e, "/process/parent/command_line").contains(marker)
        })
    };
    let ls_m = format!("{n}-ls");
    let pip_m = format!("{n}-pip");
    assert!(
        seen(&ls_m, &|p| p == "ls"),
        "the sensor did not see the ls child; {ctx}"
    );
    assert!(
        seen(&pip_m, &|p| ["dash", "sh", "bash"].contains(&p)),
        "the sensor did not see the pip hook's shell; {ctx}"
    );
    for a in &alerts {
        for m in [&ls_m, &pip_m] {
            assert!(
                !s(a, "/process/command_line").contains(m.as_str())
                    && !s(a, "/process/parent/command_line").contains(m.as_str()),
                "benign run {m} raised {:?}; {ctx}",
                rule(a)
            );
        }
    }

    // The pre-existing bash: the shell's alert carries it in the ancestry.
    let pa = alerts
        .iter()
        .find(|a| {
            rule(a) == PTY_RULE
                && s(a, "/process/parent/command_line").contains(&format!("{n}-pre"))
        })
        .unwrap_or_else(|| panic!("no {PTY_RULE:?} alert for the pre-existing tree; {ctx}"));
    let ancestry = pa
        .pointer("/process/Ext/ancestry")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    assert!(!ancestry.is_empty(), "process.Ext.ancestry is empty; {ctx}");
    let ancestors = pa
        .pointer("/process/ancestors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    assert!(
        ancestors
            .iter()
            .any(|x| x.get("pid").and_then(Value::as_u64) == Some(pre_pid)
                && s(x, "/name") == "bash"),
        "process.ancestors lacks the pre-existing bash (pid {pre_pid}): {ancestors:?}; {ctx}"
    );

    // The history was committed and the lock released: `hunt` reopens the same state, and the
    // pty exec replayed is no longer a first-time shell command line.
    let replay = tmp.path().join("replay.ndjson");
    let lines: Vec<String> = std::fs::read_to_string(&events)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&format!("{n}-pty")) && l.contains("\"exec\""))
        .map(str::to_string)
        .collect();
    assert!(!lines.is_empty(), "no pty exec in --emit-events; {ctx}");
    std::fs::write(&replay, lines.join("\n") + "\n").expect("write replay");
    let h = bin()
        .args(["hunt", "--format", "ndjson", "--state"])
        .arg(&state)
        .arg(&replay)
        .output()
        .expect("run hunt");
    let herr = String::from_utf8_lossy(&h.stderr);
    assert_eq!(
        h.status.code(),
        Some(1),
        "hunt on the replay must raise alerts (exit 1); stderr:\n{herr}"
    );
    let hunted: Vec<Value> = String::from_utf8_lossy(&h.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        hunted.iter().any(|a| rule(a) == PTY_RULE),
        "hunt replay: no {PTY_RULE:?}; stderr:\n{herr}"
    );
    assert!(
        !hunted.iter().any(|a| rule(a) == FIRST_SHELL_RULE),
        "the history watch committed must already know /bin/sh -c true; stderr:\n{herr}"
    );
}

#[test]
fn learn_mode_records_then_alerts() {
    require_root();
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().expect("tempdir");
    let n = nonce();
    let state = tmp.path().join("state");
    let out = tmp.path().join("alerts.ndjson");
    let mut w = Watch::start(&[
        "--format",
        "ndjson",
        "--state",
        state.to_str().expect("utf-8 path"),
        "--output",
        out.to_str().expect("utf-8 path"),
        "--learn",
        "6s",
        "--stats-interval",
        "0",
    ]);
    assert!(
        w.stderr.iter().any(|l| l.contains("learning for 6s")),
        "stderr:\n{}",
        w.stderr.join("\n")
    );
    // While learning: no alert.
    let during = format!(r#"import pty; pty.spawn(["/bin/sh","-c","true"]) # {n}-during"#);
    run_ok(python(&["-c", &during]), "pty emulation while learning");
    w.wait_line("learning period over", Duration::from_secs(30));
    // After: alerts.
    let after = format!(r#"import pty; pty.spawn(["/bin/sh","-c","true"]) # {n}-after"#);
    run_ok(python(&["-c", &after]), "pty emulation after learning");
    let marker = format!("{n}-after");
    wait_alerts(&out, Duration::from_secs(20), &|a| {
        a.iter()
            .any(|x| rule(x) == PTY_RULE && s(x, "/process/parent/command_line").contains(&marker))
    });
    let (code, stderr) = w.terminate();
    let alerts = read_ndjson(&out);
    let summary: Vec<String> = alerts
        .iter()
        .map(|a| format!("{} <- {}", rule(a), s(a, "/process/parent/command_line")))
        .collect();
    let ctx = format!("alerts:\n{}\nstderr:\n{stderr}", summary.join("\n"));
    assert_eq!(code, Some(0), "{ctx}");
    assert!(
        alerts
            .iter()
            .any(|a| rule(a) == PTY_RULE && s(a, "/process/parent/command_line").contains(&marker)),
        "no alert after the learning period; {ctx}"
    );
    assert!(
        !alerts
            .iter()
            .any(|a| s(a, "/process/parent/command_line").contains(&format!("{n}-during"))),
        "an alert was raised while learning; {ctx}"
    );
    // The shell command line learned during the period is known afterwards: no first-time alert
    // for it after learning.
    assert!(
        !alerts
            .iter()
            .any(|a| rule(a) == FIRST_SHELL_RULE
                && s(a, "/process/command_line") == "/bin/sh -c true"),
        "/bin/sh -c true was learned, yet raised {FIRST_SHELL_RULE:?}; {ctx}"
    );
    let learned = stderr
        .lines()
        .find(|l| l.contains("final:"))
        .and_then(|l| l.split("learned=").nth(1))
        .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        learned.is_some_and(|n| n >= 1),
        "learned= must count the new terms; {ctx}"
    );
}

/// `--bench-table-fill` (benchmark aid) past the capacity: the table stays at its bound, every
/// eviction is counted, and a real process that starts afterwards still raises its rule with its
/// parent's command line (evictions take entries no one needs, not the live process tree).
#[test]
fn full_table_stays_bounded_and_still_alerts() {
    require_root();
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().expect("tempdir");
    let n = nonce();
    let out = tmp.path().join("alerts.ndjson");
    let report = tmp.path().join("report.json");
    let w = Watch::start(&[
        "--format",
        "ndjson",
        "--state",
        tmp.path().join("state").to_str().expect("utf-8 path"),
        "--output",
        out.to_str().expect("utf-8 path"),
        "--report-json",
        report.to_str().expect("utf-8 path"),
        "--stats-interval",
        "0",
        "--table-capacity",
        "4096",
        "--bench-table-fill",
        "10000",
    ]);
    assert!(
        w.stderr
            .iter()
            .any(|l| l.contains("filled with 10000 synthetic processes (4096 entries)")),
        "stderr:\n{}",
        w.stderr.join("\n")
    );
    let code = format!(r#"import pty; pty.spawn(["/bin/sh","-c","true"]) # {n}"#);
    run_ok(python(&["-c", &code]), "pty emulation");
    let alerts = wait_alerts(&out, Duration::from_secs(20), &|a| {
        a.iter()
            .any(|x| rule(x) == PTY_RULE && s(x, "/process/parent/command_line").contains(&n))
    });
    let (exit, stderr) = w.terminate();
    assert_eq!(exit, Some(0), "stderr:\n{stderr}");
    assert!(
        alerts.iter().any(|a| rule(a) == PTY_RULE
            && s(a, "/process/parent/command_line").contains(&n)
            && s(a, "/process/command_line") == "/bin/sh -c true"),
        "no pty alert with its parent after filling the table; stderr:\n{stderr}"
    );
    let r: Value = serde_json::from_slice(&std::fs::read(&report).expect("report written"))
        .expect("report is JSON");
    assert_eq!(r["table_capacity"], 4096);
    assert_eq!(r["memory"]["table_len_after_fill"], 4096, "{r}");
    let len = r["table_len"].as_u64().unwrap_or(u64::MAX);
    assert!(len <= 4096, "{r}");
    let seeded = r["seeded"].as_u64().unwrap_or(0);
    assert!(
        r["table_evictions"].as_u64().unwrap_or(0) >= 10_000 + seeded - 4096,
        "evictions counted: {r}"
    );
    assert!(
        r["memory"]["after_table_fill"]["rss_kib"]
            .as_u64()
            .unwrap_or(0)
            > 0
    );
}

#[test]
fn self_test_passes() {
    require_root();
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let out = bin()
        .args(["watch", "--self-test"])
        .output()
        .expect("run watch --self-test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ctx = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "self-test must pass; {ctx}");
    assert!(stdout.contains(" 0 failed"), "{ctx}");
    for em in spawnguard_sensor::emulate::all() {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(em.name))
            .unwrap_or_else(|| panic!("no line for {}; {ctx}", em.name));
        if line.contains("not run:") {
            // Only node may be missing; python3 is required.
            assert_eq!(
                em.scenario,
                spawnguard_sensor::emulate::Scenario::NodeExecSync,
                "{ctx}"
            );
            continue;
        }
        assert!(line.ends_with("PASS"), "{}: {line}; {ctx}", em.name);
        for r in em.expected_rules {
            assert!(
                stdout.contains(&format!("{r}: fired")),
                "{}: {r} not fired; {ctx}",
                em.name
            );
        }
    }
    assert!(
        stderr.contains("history (throwaway)"),
        "the self-test must not use the real history; {ctx}"
    );
}
