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
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn storm(count: usize, jobs: usize) {
    let path = CString::new("/bin/true").expect("static path");
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
        signal_hook::flag::register(sig, Arc::clone(&stop)).expect("signal handler");
    }
    // This consumer counts exec events only: like `watch` with rules that want no fork or exit
    // events, it asks for none (the table still follows every record). `--all-events` builds
    // them too.
    let all = args.iter().any(|a| a == "--all-events");
    let mut sensor = match Sensor::start(SensorConfig {
        table_capacity: 65_536,
        emit_forks: all,
        emit_exits: all,
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
        _ => {
            eprintln!("usage: exec_storm storm --count N --jobs J | exec_storm sensor --ready FILE --report FILE [--table-fill N] [--all-events]");
            std::process::exit(2);
        }
    }
}
