//! Counters to stderr: periodically and at exit. Nothing the sensor drops goes unreported.

use spawnguard_sensor::{LatencyHistogram, SensorStats};
use std::time::Duration;

/// CPU time and peak memory of this process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub user: Duration,
    pub system: Duration,
    /// Peak resident set (VmHWM), KiB.
    pub peak_rss_kib: u64,
    pub rss_kib: u64,
}

pub fn usage() -> Usage {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Usage {
        user: tv(ru.ru_utime),
        system: tv(ru.ru_stime),
        peak_rss_kib: field("VmHWM:"),
        rss_kib: field("VmRSS:"),
    }
}

/// Current and peak resident set (KiB) and CPU time so far, as JSON (at a start-up stage).
pub fn usage_json() -> serde_json::Value {
    let u = usage();
    serde_json::json!({"rss_kib": u.rss_kib, "peak_rss_kib": u.peak_rss_kib,
                       "cpu_s": (u.user + u.system).as_secs_f64()})
}

/// The engine's side of the counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub alerts: u64,
    /// Held back by a rule's `alert_suppression` or the per-rule cap.
    pub suppressed: u64,
    /// New terms recorded while learning.
    pub learned: u64,
    /// Still in the `--learn` period.
    pub learning: bool,
}

fn pct(h: &LatencyHistogram, p: f64) -> String {
    h.percentile_us(p)
        .map_or("-".into(), |v| format!("{v:.0}µs"))
}

/// One line of counters.
pub fn line(s: &SensorStats, c: &Counts, alert_latency: &LatencyHistogram) -> String {
    let u = usage();
    format!(
        "events={} (exec={} fork={} exit={} file={} net={}; execs not built={}) alerts={} suppressed={} learned={}{} \
         ringbuf_drops={} argv_truncations={} path_truncations={} table_evictions={} table_argv_cut={} decode_errors={} \
         table={}/{} kernel→user latency p50={} p99={} exec→alert p50={} p99={} cpu={:.2}s rss={}KiB \
         peak_rss={}KiB",
        s.events,
        s.execs,
        s.forks,
        s.exits,
        s.files,
        s.connects,
        s.execs_not_built,
        c.alerts,
        c.suppressed,
        c.learned,
        if c.learning { " (learning)" } else { "" },
        s.ringbuf_drops,
        s.argv_truncations,
        s.path_truncations,
        s.table_evictions,
        s.table_argv_cut,
        s.decode_errors,
        s.table_len,
        s.table_capacity,
        pct(&s.latency, 50.0),
        pct(&s.latency, 99.0),
        pct(alert_latency, 50.0),
        pct(alert_latency, 99.0),
        (u.user + u.system).as_secs_f64(),
        u.rss_kib,
        u.peak_rss_kib,
    )
}

/// The final counters as JSON (for the benchmark harness).
pub fn json(
    s: &SensorStats,
    c: &Counts,
    alert_latency: &LatencyHistogram,
    wall: Duration,
) -> serde_json::Value {
    let u = usage();
    serde_json::json!({
        "wall_s": wall.as_secs_f64(),
        "events": s.events, "execs": s.execs, "forks": s.forks, "exits": s.exits,
        "files": s.files, "connects": s.connects, "execs_not_built": s.execs_not_built,
        "ringbuf_drops": s.ringbuf_drops, "decode_errors": s.decode_errors,
        "argv_truncations": s.argv_truncations, "path_truncations": s.path_truncations,
        "table_evictions": s.table_evictions, "table_argv_cut": s.table_argv_cut, "table_len": s.table_len, "table_capacity": s.table_capacity,
        "seeded": s.seeded,
        "latency_us": {"p50": s.latency.percentile_us(50.0), "p99": s.latency.percentile_us(99.0),
                       "max": s.latency.max_us(), "count": s.latency.count()},
        "alerts": c.alerts, "suppressed": c.suppressed, "learned": c.learned,
        "alert_latency_us": {"p50": alert_latency.percentile_us(50.0), "p99": alert_latency.percentile_us(99.0),
                             "max": alert_latency.max_us(), "count": alert_latency.count()},
        "cpu_user_s": u.user.as_secs_f64(), "cpu_system_s": u.system.as_secs_f64(),
        "peak_rss_kib": u.peak_rss_kib,
    })
}
