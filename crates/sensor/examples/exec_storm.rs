//! Exec-storm benchmark pieces (driven by bench/exec_storm/run.sh).
//!
//! `exec_storm storm --count N --jobs J`: J workers fork+exec /bin/true N/J times each, waiting
//! for each child; prints `{"count":N,"jobs":J,"elapsed_s":..,"rate_per_s":..}`.
//!
//! `exec_storm sensor --ready FILE --report FILE [--table-fill N] [--all-events]`: runs the
//! sensor (table capacity 65,536) until SIGTERM/SIGINT, counting exec events of /bin/true and
//! their kernel→user-space latency (fork and exit events are built only with `--all-events`); writes a JSON report with CPU time and peak RSS. With
//! `--table-fill N`, first fills the process table with N synthetic processes shaped like real
//! ones (`spawnguard_sensor::synthetic`), to measure the memory of a full table.

use spawnguard_sensor::{EventKind, LatencyHistogram, Sensor, SensorConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// The C library's allocator, which `spawnguard watch` uses too (crates/cli/src/alloc.rs),
// so that the library's figures compare with `watch`'s.

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn storm(count: usize, jobs: usize) {
    let path = c"/bin/true";
    let argv = [path.as_ptr(), std::ptr::null()];
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    let start = Instant::now();
    let per = count / jobs;
    let mut workers = Vec::new();
    for _ in 0..jobs {
        // SAFETY: fork in a single-threaded process; the child only calls async-signal-safe
        // functions (fork, execve, waitpid, _exit).
        let w = unsafe { libc::fork() };
        if w == 0 {
            for _ in 0..per {
                unsafe {
                    let c = libc::fork();
                    if c == 0 {
                        libc::execve(argv[0], argv.as_ptr(), envp.as_ptr());
                        libc::_exit(127);
                    }
                    let mut st = 0;
                    libc::waitpid(c, &mut st, 0);
                }
            }
            unsafe { libc::_exit(0) };
        }
        workers.push(w);
    }
    for w in workers {
        let mut st = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(w, &mut st, 0) };
    }
    let el = start.elapsed().as_secs_f64();
    let n = per * jobs;
    println!(
        "{}",
        serde_json::json!({"count": n, "jobs": jobs, "elapsed_s": el, "rate_per_s": n as f64 / el})
    );
}

fn usage() -> (f64, f64, u64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|st| {
            st.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    (s(ru.ru_utime), s(ru.ru_stime), hwm)
}

fn sensor(args: &[String]) {
    let ready = arg(args, "--ready");
    let report = arg(args, "--report").unwrap_or_else(|| "/dev/stdout".into());
    let fill: usize = arg(args, "--table-fill")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [libc::SIGINT, libc::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
            eprintln!("exec_storm: cannot install a signal handler: {e}");
            std::process::exit(2);
        }
    }
    // This consumer counts exec events only: like `watch` with rules that want no fork or exit
    // events, it asks for none (the table still follows every record). `--all-events` builds
    // them too.
    let all = args.iter().any(|a| a == "--all-events");
    let mut sensor = match Sensor::start(SensorConfig {
        table_capacity: 65_536,
        emit_forks: all,
        emit_exits: all,
        poll_interval: arg(args, "--poll-interval-us")
            .and_then(|s| s.parse().ok())
            .map(Duration::from_micros)
            .unwrap_or(SensorConfig::default().poll_interval),
        ..SensorConfig::default()
    }) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("exec_storm sensor: {e}");
            std::process::exit(2);
        }
    };
    let after_start = usage();
    let len_after_fill = if fill > 0 {
        sensor.fill_table_for_bench(fill)
    } else {
        sensor.table().len()
    };
    let after_fill = usage();
    if let Some(r) = &ready {
        let _ = std::fs::write(r, b"ready");
    }
    let mut lat = LatencyHistogram::default();
    let mut true_execs = 0u64;
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let res = sensor.poll(Duration::from_millis(50), &mut |ev, meta| {
            if meta.kind == EventKind::Exec
                && ev.get_str("process.executable") == Some("/usr/bin/true")
            {
                true_execs += 1;
                lat.record_ns(meta.received_ns.saturating_sub(meta.ktime_ns));
            }
        });
        if let Err(e) = res {
            eprintln!("exec_storm sensor: {e}");
            break;
        }
    }
    // Drain anything still queued.
    while sensor
        .poll(Duration::ZERO, &mut |ev, meta| {
            if meta.kind == EventKind::Exec
                && ev.get_str("process.executable") == Some("/usr/bin/true")
            {
                true_execs += 1;
                lat.record_ns(meta.received_ns.saturating_sub(meta.ktime_ns));
            }
        })
        .unwrap_or(0)
        > 0
    {}
    let st = sensor.stats();
    let (u, s, hwm) = usage();
    let out = serde_json::json!({
        "wall_s": started.elapsed().as_secs_f64(),
        "true_execs": true_execs,
        "events": st.events, "execs": st.execs, "forks": st.forks, "exits": st.exits,
        "ringbuf_drops": st.ringbuf_drops, "decode_errors": st.decode_errors,
        "table_evictions": st.table_evictions, "table_len": st.table_len, "table_capacity": st.table_capacity,
        "exec_latency_us": {"p50": lat.percentile_us(50.0), "p99": lat.percentile_us(99.0), "max": lat.max_us()},
        "cpu_user_s": u - after_fill.0, "cpu_system_s": s - after_fill.1,
        "cpu_fill_s": after_fill.0 + after_fill.1 - after_start.0 - after_start.1,
        "cpu_startup_s": after_start.0 + after_start.1,
        "peak_rss_kib": hwm, "peak_rss_after_start_kib": after_start.2,
        "peak_rss_after_fill_kib": after_fill.2, "table_fill": fill,
        "table_len_after_fill": len_after_fill, "all_events": all,
    });
    let _ = std::fs::write(&report, serde_json::to_vec_pretty(&out).unwrap_or_default());
}

/// `exec_storm build --count N`: builds N exec events (and N fork and exit events) of a
/// process 8 deep in a synthetic table, without the kernel: the user-space cost of making
/// events, stable even on a busy machine (best of 5 rounds, ns per event, CPU time).
fn build(count: usize, args: &[String]) {
    use spawnguard_sensor::ecs::{Builder, Fragments, Users};
    use spawnguard_sensor::host::HostInfo;
    use spawnguard_sensor::table::{ProcInfo, ProcTable};
    let host = HostInfo::detect();
    let users = Users::load();
    let mut table = ProcTable::new(65_536, 1);
    let chain: [(&str, &[&str]); 9] = [
        ("systemd", &["/sbin/init", "splash"]),
        (
            "sshd",
            &["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"],
        ),
        ("sshd", &["sshd: root@pts/0"]),
        ("bash", &["-bash"]),
        ("bash", &["bash", "bench/exec_storm/run.sh"]),
        (
            "exec_storm",
            &[
                "/work/target/release/examples/exec_storm",
                "storm",
                "--count",
                "20000",
                "--jobs",
                "2",
            ],
        ),
        (
            "exec_storm",
            &[
                "/work/target/release/examples/exec_storm",
                "storm",
                "--count",
                "20000",
                "--jobs",
                "2",
            ],
        ),
        ("true", &["/bin/true"]),
        ("true", &["/bin/true"]),
    ];
    let mut parent = None;
    let mut last = ProcInfo::default();
    for (i, (name, args)) in chain.iter().enumerate() {
        let pid = 100 + i as u32;
        let mut p = ProcInfo::default();
        p.pid = pid;
        p.ppid = pid.saturating_sub(1);
        p.start_ticks = 1000 + i as u64;
        p.start_ns = 10_000_000 * p.start_ticks;
        p.entity_id = host.entity_id(pid, p.start_ticks);
        p.name = (*name).into();
        p.executable = format!("/usr/bin/{name}").into();
        p.cwd = "/work/main".into();
        p.parent = parent;
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        p.set_args(&a, a.len());
        parent = Some(p.key());
        table.insert(p.clone());
        last = p;
    }
    let fragments = Fragments::default();
    let b = Builder {
        host: &host,
        users: &users,
        table: &table,
        fragments: (!args.iter().any(|a| a == "--no-fragments")).then_some(&fragments),
    };
    let argv = vec!["/bin/true".to_string()];
    let cpu = || {
        let (u, s, _) = usage();
        u + s
    };
    let exec = || drop(b.exec(1, &last, &argv, 1, false));
    let fork = || drop(b.fork(1, &last));
    let exit = || drop(b.exit(1, &last, 0));
    let cases: [(&str, &dyn Fn()); 3] = [("exec", &exec), ("fork", &fork), ("exit", &exit)];
    for (what, f) in cases {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t0 = cpu();
            for _ in 0..count {
                f();
            }
            best = best.min((cpu() - t0) / count as f64 * 1e9);
        }
        println!(
            "{}",
            serde_json::json!({"event": what, "count": count, "ns_per_event_best_of_5": best.round()})
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("storm") => {
            let count = arg(&args, "--count")
                .and_then(|s| s.parse().ok())
                .unwrap_or(20_000);
            let jobs = arg(&args, "--jobs")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1)
                .max(1);
            storm(count, jobs)
        }
        Some("sensor") => sensor(&args),
        Some("build") => build(
            arg(&args, "--count")
                .and_then(|s| s.parse().ok())
                .unwrap_or(100_000),
            &args,
        ),
        _ => {
            eprintln!("usage: exec_storm storm --count N --jobs J | exec_storm sensor --ready FILE --report FILE [--table-fill N] [--all-events]");
            std::process::exit(2);
        }
    }
}
