//! Harmless emulations of what the shipped rules look for, run under a live [`Sensor`]:
//! `spawnguard watch --self-test` and the integration tests use them.
//!
//! Each emulation starts one process tree, collects the events of that tree (the started process
//! and its descendants, by `process.Ext.ancestry`) and checks that the sensor saw the shape the
//! rule needs (`observed`). Whether the rule itself fired is for the caller to say, since the
//! engine is not part of the sensor.

use crate::{Error, Event, EventMeta, Sensor};
use std::collections::HashSet;
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the emulated tree does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// python3 -c 'import pty; pty.spawn(["/bin/sh","-c","true"])'
    PythonPty,
    /// python3 unpickles a crafted pickle whose `__reduce__` runs os.system("true").
    PickleReduce,
    /// node -e 'require("child_process").execSync("true")'
    NodeExecSync,
    /// python3 connects to a loopback listener, dup2()s the socket onto 0/1/2 and runs sh.
    ReverseShell,
    /// Benign: python3 -c 'import subprocess; subprocess.run(["ls"])'
    BenignSubprocessLs,
    /// Benign: what pip does when building a package: pip's build-backend runner
    /// (`…/pyproject_hooks/_in_process/_in_process.py build_wheel …`) shells out
    /// (`/bin/sh -c 'gcc --version'`), which the shell-spawn rules exclude.
    BenignPipShellOut,
}

#[derive(Debug, Clone)]
pub struct Emulation {
    pub scenario: Scenario,
    pub name: &'static str,
    /// The shipped rules (by `rule.name`) that must all fire on it; empty for benign controls,
    /// which must raise no alert at all. Assumes a fresh history (the first-time rules).
    pub expected_rules: &'static [&'static str],
    pub description: &'static str,
}

/// `rules/linux/execution_interactive_terminal_spawned_via_python.toml`
pub const RULE_PTY: &str = "Interactive Terminal Spawned via Python";
/// `rules/linux/execution_interpreter_shell_spawn.toml`
pub const RULE_SHELL: &str = "Shell Spawned by a Language Interpreter";
/// `rules/linux/execution_first_time_python_shell_spawn.toml` (new terms on host.id and the
/// shell's command line: fires once per command line on a fresh history)
pub const RULE_FIRST_SHELL: &str = "First Time Python Spawned a Shell on Linux Host";
/// `rules/linux/execution_inline_reverse_or_bind_shell.toml` (on the python exec: `-c` code with
/// `socket`, `connect(` and `dup2`/`subprocess`). The loopback connect does not raise
/// "Inline Interpreter Code Followed by Network Connection", which excludes 127.0.0.0/8.
pub const RULE_REVERSE: &str = "Inline Reverse or Bind Shell via Command Line";

/// Every emulation; `node` ones only where node is installed (see [`unavailable_reason`]).
pub fn all() -> Vec<Emulation> {
    vec![
        Emulation {
            scenario: Scenario::PythonPty,
            name: "python-pty-spawn",
            expected_rules: &[RULE_PTY, RULE_SHELL, RULE_FIRST_SHELL],
            description: "python3 -c 'import pty; pty.spawn([\"/bin/sh\",\"-c\",\"true\"])'",
        },
        Emulation {
            scenario: Scenario::PickleReduce,
            name: "pickle-reduce-os-system",
            expected_rules: &[RULE_SHELL, RULE_FIRST_SHELL],
            description: "python3 unpickles a pickle whose __reduce__ runs os.system(\"true\")",
        },
        Emulation {
            scenario: Scenario::NodeExecSync,
            name: "node-child-process-execsync",
            expected_rules: &[RULE_SHELL],
            description: "node -e 'require(\"child_process\").execSync(\"true\")'",
        },
        Emulation {
            scenario: Scenario::ReverseShell,
            name: "loopback-reverse-shell",
            expected_rules: &[RULE_REVERSE, RULE_SHELL],
            description:
                "python3 connects to 127.0.0.1, dup2s the socket onto stdio, runs /bin/sh -c true",
        },
        Emulation {
            scenario: Scenario::BenignSubprocessLs,
            name: "benign-subprocess-ls",
            expected_rules: &[],
            description: "python3 -c 'import subprocess; subprocess.run([\"ls\"])'",
        },
        Emulation {
            scenario: Scenario::BenignPipShellOut,
            name: "benign-pip-shell-out",
            expected_rules: &[],
            description:
                "pip's _in_process.py build hook runs /bin/sh -c 'gcc --version', as pip builds do",
        },
    ]
}

/// Why an emulation cannot run here (a missing interpreter), if so.
pub fn unavailable_reason(s: Scenario) -> Option<String> {
    let need = match s {
        Scenario::NodeExecSync => "node",
        _ => "python3",
    };
    if find_in_path(need).is_none() {
        return Some(format!("{need} is not installed"));
    }
    None
}

fn find_in_path(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(prog))
        .find(|p| p.is_file())
}

/// The outcome of one emulation.
#[derive(Debug, Clone)]
pub struct Run {
    pub name: &'static str,
    /// Events of the emulated process tree, in order.
    pub events: Vec<Event>,
    /// Whether the sensor saw the shape the expected rule needs (for benign controls: the
    /// interpreter's child was seen, so "no alert" is meaningful).
    pub observed: bool,
    /// From start to the event that completed the shape.
    pub observed_after: Option<Duration>,
    pub elapsed: Duration,
    pub exit_code: Option<i32>,
}

/// The pickle: protocol 0, `posix.system("true")`, what `__reduce__` returning
/// `(os.system, ("true",))` serialises to.
pub const CRAFTED_PICKLE: &[u8] = b"cposix\nsystem\n(Vtrue\ntR.";

const PTY_SCRIPT: &str = r#"import pty; pty.spawn(["/bin/sh","-c","true"])"#;
const PICKLE_SCRIPT: &str = "import pickle,sys; pickle.load(open(sys.argv[1],'rb'))";
const NODE_SCRIPT: &str = r#"require("child_process").execSync("true")"#;
const LS_SCRIPT: &str = r#"import subprocess; subprocess.run(["ls"], stdout=subprocess.DEVNULL)"#;
/// The body of the fake `_in_process.py`: a compiler probe through the shell, as setuptools
/// builds do under pip.
const PIP_HOOK: &str = "import subprocess\n\
subprocess.run('gcc --version', shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n";
/// Where pip keeps that hook, below a temporary directory.
pub const PIP_HOOK_PATH: &str = "pip/_vendor/pyproject_hooks/_in_process/_in_process.py";

/// Writes the fake pip build hook below `dir`; returns its path.
pub fn write_pip_hook(dir: &std::path::Path) -> std::io::Result<PathBuf> {
    let path = dir.join(PIP_HOOK_PATH);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, PIP_HOOK)?;
    Ok(path)
}

fn reverse_script(port: u16) -> String {
    format!(
        "import socket,os,subprocess; s=socket.socket(); s.connect(('127.0.0.1',{port})); \
         [os.dup2(s.fileno(),f) for f in (0,1,2)]; subprocess.call(['/bin/sh','-c','true'])"
    )
}

fn is_shell(name: &str) -> bool {
    matches!(name, "sh" | "dash" | "bash" | "zsh" | "ash" | "busybox")
}

fn s<'a>(ev: &'a Event, path: &str) -> &'a str {
    ev.get_str(path).unwrap_or("")
}

/// Whether one event completes the scenario's shape.
pub fn completes(sc: Scenario, ev: &Event, reverse_port: u16) -> bool {
    let action = s(ev, "event.action");
    let exec_of_shell_under = |parent: &str, needle: &str| {
        action == "exec"
            && is_shell(s(ev, "process.name"))
            && s(ev, "process.parent.name").starts_with(parent)
            && s(ev, "process.parent.command_line").contains(needle)
    };
    match sc {
        Scenario::PythonPty => exec_of_shell_under("python", "pty.spawn"),
        Scenario::PickleReduce => {
            exec_of_shell_under("python", "pickle.load")
                && s(ev, "process.command_line").contains("true")
        }
        Scenario::NodeExecSync => exec_of_shell_under("node", "execSync"),
        Scenario::ReverseShell => {
            (action == "connection_attempted"
                && ev
                    .first(&spawnguard_event::FieldPath::new("destination.port"))
                    .and_then(|v| v.as_u64())
                    == Some(reverse_port as u64))
                || exec_of_shell_under("python", "dup2")
        }
        Scenario::BenignSubprocessLs => {
            action == "exec"
                && s(ev, "process.name") == "ls"
                && s(ev, "process.parent.name").starts_with("python")
        }
        Scenario::BenignPipShellOut => exec_of_shell_under("python", "_in_process.py"),
    }
}

/// Runs one emulation under `sensor`, handing every event (of any process) to `on_event` and
/// keeping those of the emulated tree. Gives up after `timeout`.
pub fn run(
    sensor: &mut Sensor,
    em: &Emulation,
    timeout: Duration,
    on_event: &mut dyn FnMut(&Event, &EventMeta),
) -> Result<Run, Error> {
    let io = |what: &str, e: std::io::Error| {
        Error::Internal(format!("emulation {}: {what}: {e}", em.name))
    };
    let mut pickle_path = None;
    let mut scratch_dir = None;
    let mut listener = None;
    let mut port = 0u16;
    let mut cmd = match em.scenario {
        Scenario::PythonPty => py(&["-c", PTY_SCRIPT]),
        Scenario::PickleReduce => {
            let path = std::env::temp_dir()
                .join(format!("spawnguard-selftest-{}.pkl", std::process::id()));
            let mut f = std::fs::File::create(&path).map_err(|e| io("writing the pickle", e))?;
            f.write_all(CRAFTED_PICKLE)
                .map_err(|e| io("writing the pickle", e))?;
            let c = py(&["-c", PICKLE_SCRIPT, &path.to_string_lossy()]);
            pickle_path = Some(path);
            c
        }
        Scenario::NodeExecSync => {
            let mut c = Command::new("node");
            c.args(["-e", NODE_SCRIPT]);
            c
        }
        Scenario::ReverseShell => {
            let l = TcpListener::bind("127.0.0.1:0")
                .map_err(|e| io("binding the loopback listener", e))?;
            port = l
                .local_addr()
                .map_err(|e| io("listener address", e))?
                .port();
            l.set_nonblocking(true).map_err(|e| io("listener", e))?;
            listener = Some(l);
            py(&["-c", &reverse_script(port)])
        }
        Scenario::BenignSubprocessLs => py(&["-c", LS_SCRIPT]),
        Scenario::BenignPipShellOut => {
            let dir = std::env::temp_dir()
                .join(format!("spawnguard-selftest-pip-{}", std::process::id()));
            let hook = write_pip_hook(&dir).map_err(|e| io("writing the pip hook", e))?;
            let c = py(&[
                &hook.to_string_lossy(),
                "build_wheel",
                &dir.join("wheel").to_string_lossy(),
            ]);
            scratch_dir = Some(dir);
            c
        }
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());

    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| io("starting it", e))?;
    let root_pid = child.id();
    let mut tree: HashSet<String> = HashSet::new();
    let mut events = Vec::new();
    let mut observed_after = None;
    let mut exit_code = None;
    let mut exited_at: Option<Instant> = None;
    let settle = Duration::from_millis(300);
    loop {
        if let Some(l) = &listener {
            // Accept and drop: the emulated shell only needs the connect to succeed.
            let _ = l.accept();
        }
        sensor.poll(Duration::from_millis(5), &mut |ev, meta| {
            on_event(&ev, &meta);
            let pid = meta.pid;
            let eid = s(&ev, "process.entity_id").to_string();
            let in_tree = pid == root_pid
                || tree.contains(&eid)
                || ev
                    .doc()
                    .pointer("/process/Ext/ancestry")
                    .and_then(|a| a.as_array())
                    .is_some_and(|a| {
                        a.iter()
                            .any(|id| id.as_str().is_some_and(|id| tree.contains(id)))
                    });
            if in_tree {
                if !eid.is_empty() {
                    tree.insert(eid);
                }
                if observed_after.is_none() && completes(em.scenario, &ev, port) {
                    observed_after = Some(start.elapsed());
                }
                events.push(ev);
            }
        })?;
        if exited_at.is_none() {
            if let Ok(Some(st)) = child.try_wait() {
                exit_code = st.code();
                exited_at = Some(Instant::now());
            }
        }
        let done = exited_at.is_some_and(|t| {
            t.elapsed() >= settle && (observed_after.is_some() || t.elapsed() >= settle * 3)
        });
        if done || start.elapsed() >= timeout {
            break;
        }
    }
    if exited_at.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    if let Some(p) = pickle_path {
        let _ = std::fs::remove_file(p);
    }
    if let Some(d) = scratch_dir {
        let _ = std::fs::remove_dir_all(d);
    }
    let observed = match em.scenario {
        // Both halves: the connect and the shell.
        Scenario::ReverseShell => {
            events.iter().any(|e| {
                s(e, "event.action") == "connection_attempted" && completes(em.scenario, e, port)
            }) && events
                .iter()
                .any(|e| s(e, "event.action") == "exec" && completes(em.scenario, e, port))
        }
        sc => events.iter().any(|e| completes(sc, e, port)),
    };
    Ok(Run {
        name: em.name,
        events,
        observed,
        observed_after,
        elapsed: start.elapsed(),
        exit_code,
    })
}

fn py(args: &[&str]) -> Command {
    let mut c = Command::new("python3");
    c.args(args);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shape_checks() {
        let ev = Event::new(json!({
            "event": {"action": "exec"},
            "process": {"name": "dash", "command_line": "/bin/sh -c true",
                        "parent": {"name": "python3.11", "command_line": "python3 -c import pty; pty.spawn([..])"}}
        }));
        assert!(completes(Scenario::PythonPty, &ev, 0));
        assert!(!completes(Scenario::PickleReduce, &ev, 0));
        let pip = Event::new(json!({
            "event": {"action": "exec"},
            "process": {"name": "dash", "command_line": "/bin/sh -c gcc --version",
                        "parent": {"name": "python3.11",
                                   "command_line": format!("python3 /tmp/x/{PIP_HOOK_PATH} build_wheel /tmp/x/wheel")}}
        }));
        assert!(completes(Scenario::BenignPipShellOut, &pip, 0));
        assert!(!completes(Scenario::BenignPipShellOut, &ev, 0));
        let net = Event::new(
            json!({"event": {"action": "connection_attempted"}, "destination": {"port": 4444}}),
        );
        assert!(completes(Scenario::ReverseShell, &net, 4444));
        assert!(!completes(Scenario::ReverseShell, &net, 4445));
    }

    #[test]
    fn every_emulation_is_named_once() {
        let all = all();
        let names: HashSet<_> = all.iter().map(|e| e.name).collect();
        assert_eq!(names.len(), all.len());
    }
}
