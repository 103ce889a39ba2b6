//! Live tests: real eBPF, as root. They fail (never skip) when BPF is unavailable: CI runs them
//! as root on the same kind of machine.

use spawnguard_sensor::emulate::{self, Scenario};
use spawnguard_sensor::{Event, Sensor, SensorConfig};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One sensor at a time: the machine has two cores.
static LOCK: Mutex<()> = Mutex::new(());

fn start() -> Sensor {
    match Sensor::start(SensorConfig::default()) {
        Ok(s) => s,
        Err(e) => panic!("the sensor must start (root, BPF available): {e}"),
    }
}

fn emulation(sc: Scenario) -> emulate::Emulation {
    emulate::all()
        .into_iter()
        .find(|e| e.scenario == sc)
        .expect("emulation exists")
}

fn run(sensor: &mut Sensor, sc: Scenario) -> emulate::Run {
    let em = emulation(sc);
    emulate::run(sensor, &em, Duration::from_secs(20), &mut |_, _| {}).expect("emulation runs")
}

/// Polls until `pred` matches an event or the timeout passes.
fn wait_for(
    sensor: &mut Sensor,
    timeout: Duration,
    pred: &mut dyn FnMut(&Event) -> bool,
) -> Option<Event> {
    let end = Instant::now() + timeout;
    let mut found = None;
    while found.is_none() && Instant::now() < end {
        sensor
            .poll(Duration::from_millis(10), &mut |ev, _| {
                if found.is_none() && pred(&ev) {
                    found = Some(ev);
                }
            })
            .expect("poll");
    }
    found
}

fn s<'a>(ev: &'a Event, p: &str) -> &'a str {
    ev.get_str(p).unwrap_or("")
}

#[test]
fn pty_spawn_is_an_exec_of_sh_under_python_with_args_intact() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut sensor = start();
    let r = run(&mut sensor, Scenario::PythonPty);
    let sh = r
        .events
        .iter()
        .find(|e| {
            s(e, "event.action") == "exec" && s(e, "process.command_line") == "/bin/sh -c true"
        })
        .unwrap_or_else(|| panic!("no exec of /bin/sh -c true among {} events", r.events.len()));
    assert!(
        matches!(s(sh, "process.name"), "sh" | "dash" | "bash"),
        "{}",
        s(sh, "process.name")
    );
    assert!(
        s(sh, "process.parent.name").starts_with("python3"),
        "parent {}",
        s(sh, "process.parent.name")
    );
    assert!(
        s(sh, "process.parent.command_line").contains("pty.spawn"),
        "{}",
        s(sh, "process.parent.command_line")
    );
    let args: Vec<&str> = sh.doc()["process"]["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().unwrap_or(""))
        .collect();
    assert_eq!(args, vec!["/bin/sh", "-c", "true"]);
    assert_eq!(sh.doc()["process"]["args_count"], 3);
    assert_eq!(
        sh.doc()["process"]["interactive"],
        true,
        "pty.spawn gives the shell a terminal"
    );
    assert!(!s(sh, "process.entity_id").is_empty());
    assert_eq!(
        s(sh, "process.parent.entity_id"),
        sh.doc()["process"]["Ext"]["ancestry"][0]
            .as_str()
            .unwrap_or("?")
    );
    assert!(r.observed);
    let st = sensor.stop();
    assert_eq!(st.ringbuf_drops, 0);
    assert_eq!(st.decode_errors, 0);
}

#[test]
fn pickle_reduce_runs_sh_under_python() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut sensor = start();
    let r = run(&mut sensor, Scenario::PickleReduce);
    assert!(
        r.observed,
        "events: {:#?}",
        r.events
            .iter()
            .map(|e| s(e, "process.command_line"))
            .collect::<Vec<_>>()
    );
    let sh = r
        .events
        .iter()
        .find(|e| s(e, "event.action") == "exec" && s(e, "process.command_line") == "sh -c true");
    let sh = sh.expect("os.system runs `sh -c true`");
    assert!(s(sh, "process.parent.name").starts_with("python3"));
    assert!(s(sh, "process.parent.command_line").contains("pickle.load"));
}

#[test]
fn reverse_shell_emulation_shows_connect_then_shell() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut sensor = start();
    let r = run(&mut sensor, Scenario::ReverseShell);
    assert!(
        r.observed,
        "{:#?}",
        r.events
            .iter()
            .map(|e| (s(e, "event.action"), s(e, "process.command_line")))
            .collect::<Vec<_>>()
    );
}

#[test]
fn benign_subprocess_ls_is_seen_as_ls_under_python() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut sensor = start();
    let r = run(&mut sensor, Scenario::BenignSubprocessLs);
    assert!(r.observed);
    let shell_under_python = |e: &Event| {
        s(e, "event.action") == "exec"
            && matches!(s(e, "process.name"), "sh" | "dash")
            && s(e, "process.parent.name").starts_with("python")
    };
    assert!(
        !r.events.iter().any(shell_under_python),
        "no shell under python"
    );
}

#[test]
fn benign_pip_style_shell_out_is_seen_with_python_parent() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut sensor = start();
    let r = run(&mut sensor, Scenario::BenignPipShellOut);
    assert!(
        r.observed,
        "uname under python: {:#?}",
        r.events
            .iter()
            .map(|e| s(e, "process.command_line"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn process_started_before_the_sensor_has_ancestry() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("tempdir");
    let trigger = dir.path().join("go");
    let marker = format!("ancestry-marker-{}", std::process::id());
    let script = format!(
        "while [ ! -e {t} ]; do sleep 0.02; done; /bin/echo {marker}; sleep 0.2",
        t = trigger.display()
    );
    let mut pre = Command::new("/bin/sh")
        .args(["-c", &script, &marker])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn the pre-existing shell");
    std::thread::sleep(Duration::from_millis(100));
    let pre_pid = pre.id();
    let mut sensor = start();
    let pre_entry = sensor
        .table()
        .by_pid(pre_pid)
        .expect("the pre-existing shell was seeded from /proc")
        .clone();
    std::fs::write(&trigger, b"").expect("trigger");
    let ev = wait_for(&mut sensor, Duration::from_secs(10), &mut |e| {
        s(e, "event.action") == "exec"
            && s(e, "process.command_line") == format!("/bin/echo {marker}")
    });
    let _ = pre.wait();
    let ev = ev.expect("exec of the marker echo");
    assert_eq!(ev.doc()["process"]["parent"]["pid"], pre_pid);
    assert_eq!(
        s(&ev, "process.parent.entity_id"),
        pre_entry.entity_id.as_str()
    );
    assert!(
        s(&ev, "process.parent.command_line").contains("while [ ! -e"),
        "{}",
        s(&ev, "process.parent.command_line")
    );
    let me = std::process::id();
    let ancestors = ev.doc()["process"]["ancestors"]
        .as_array()
        .expect("ancestors");
    assert!(
        ancestors.iter().any(|a| a["pid"] == me),
        "the test process is an ancestor: {ancestors:?}"
    );
    assert_eq!(
        ancestors.len(),
        ev.doc()["process"]["Ext"]["ancestry"]
            .as_array()
            .map_or(0, |a| a.len())
    );
}

#[test]
fn connect_to_loopback_is_a_network_event_with_the_port() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut sensor = start();
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let _c = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let me = std::process::id();
    let ev = wait_for(&mut sensor, Duration::from_secs(5), &mut |e| {
        s(e, "event.action") == "connection_attempted" && e.doc()["destination"]["port"] == port
    })
    .expect("a connection_attempted event for our port");
    assert_eq!(ev.doc()["process"]["pid"], me);
    assert_eq!(s(&ev, "destination.ip"), "127.0.0.1");
    assert_eq!(s(&ev, "network.transport"), "tcp");
    assert_eq!(s(&ev, "network.type"), "ipv4");
    assert_eq!(ev.doc()["event"]["category"][0], "network");
}

#[test]
fn sensitive_file_opens_are_file_events() {
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let home = tempfile::tempdir().expect("tempdir");
    let ssh = home.path().join(".ssh");
    std::fs::create_dir(&ssh).expect("mkdir .ssh");
    let key = ssh.join("id_rsa");
    std::fs::write(&key, b"not a key").expect("write key");
    let mut sensor = start();
    let mut buf = String::new();
    std::fs::File::open(&key)
        .expect("open")
        .read_to_string(&mut buf)
        .expect("read");
    let path = key.to_string_lossy().into_owned();
    let ev = wait_for(&mut sensor, Duration::from_secs(5), &mut |e| {
        s(e, "file.path") == path
    })
    .expect("a file event for the key");
    assert_eq!(ev.doc()["event"]["category"][0], "file");
    assert_eq!(ev.doc()["event"]["type"][0], "access");
    assert_eq!(s(&ev, "file.name"), "id_rsa");
    assert_eq!(ev.doc()["process"]["pid"], std::process::id());

    // Creating a persistence file (a shell rc) is a creation; opening it to read is not reported.
    let rc = home.path().join(".bashrc");
    std::fs::write(&rc, b"# test\n").expect("write rc");
    let rc_path = rc.to_string_lossy().into_owned();
    let ev = wait_for(&mut sensor, Duration::from_secs(5), &mut |e| {
        s(e, "file.path") == rc_path
    })
    .expect("a file event for .bashrc");
    assert_eq!(ev.doc()["event"]["type"][0], "creation");
    assert_eq!(s(&ev, "event.action"), "creation");
    let _ = std::fs::read(&rc).expect("read rc");
    let again = wait_for(&mut sensor, Duration::from_millis(500), &mut |e| {
        s(e, "file.path") == rc_path
    });
    assert!(
        again.is_none(),
        "a read of a persistence file is not reported"
    );
}
