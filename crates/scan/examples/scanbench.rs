//! Throughput of `scan_bytes` / `scan_path` on one core. Not a test: run it and record the
//! numbers (bench/scan/compare.sh does).
//!
//! `cargo run --release -p spawnguard-scan --example scanbench -- [--mmap|--full] FILE...`
//! Prints one markdown table row per file: size, iterations, best and median time, MB/s.
//! `--mmap` scans through `scan_path`; `--full` disables the fast path (every stream gets the
//! full walker, under its default work budget). Each run scans the whole file from scratch:
//! nothing is cached between runs.

use std::time::{Duration, Instant};

/// CPU time of this thread: the machine may be shared, so wall time alone overstates cost.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn main() {
    let mut mmap = false;
    let mut full = false;
    let mut files = Vec::new();
    for a in std::env::args().skip(1) {
        if a == "--mmap" {
            mmap = true;
        } else if a == "--full" {
            full = true;
        } else {
            files.push(a);
        }
    }
    println!("| file | mode | size (MB) | runs | best wall | median wall | best CPU | MB/s (best wall) | MB/s (best CPU) | verdict |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for f in files {
        let path = std::path::Path::new(&f);
        let data = if mmap {
            Vec::new()
        } else {
            std::fs::read(path).unwrap_or_else(|e| panic!("{f}: {e}"))
        };
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut times = Vec::new();
        let mut cpu = Vec::new();
        let start = Instant::now();
        let mut verdict = String::new();
        while times.len() < 5 || (start.elapsed() < Duration::from_secs(3) && times.len() < 200) {
            let t = Instant::now();
            let c = thread_cpu();
            let r = if mmap {
                spawnguard_scan::scan_path(path)
            } else if full {
                spawnguard_scan::scan_bytes_full_walk(&f, &data)
            } else {
                spawnguard_scan::scan_bytes(&f, &data)
            };
            cpu.push(thread_cpu().saturating_sub(c));
            times.push(t.elapsed());
            verdict = format!("{} ({} errors)", r.verdict, r.errors.len());
            std::hint::black_box(r);
        }
        times.sort();
        cpu.sort();
        let best_cpu = cpu[0].max(Duration::from_nanos(1));
        let best = times[0];
        let median = times[times.len() / 2];
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(f.clone());
        println!(
            "| {name} | {} | {:.1} | {} | {:.3} ms | {:.3} ms | {:.3} ms | {:.0} | {:.0} | {verdict} |",
            if mmap {
                "scan_path (mmap)"
            } else if full {
                "full walker only (in memory)"
            } else {
                "scan_bytes (in memory)"
            },
            size as f64 / 1e6,
            times.len(),
            best.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3,
            best_cpu.as_secs_f64() * 1e3,
            size as f64 / 1e6 / best.as_secs_f64(),
            size as f64 / 1e6 / best_cpu.as_secs_f64()
        );
    }
}
