//! `spawnguard watch`: the live sensor on this host, alerts as they happen.
//!
//! Structure: [`run`] starts the sensor and loops over its events; every event goes through
//! [`Watcher::on_event`], the one place where the engine plugs in (it writes `--emit-events`
//! today; the engine's alerts go out through [`Watcher::emit_alert`]). `--self-test` runs the
//! emulations in `spawnguard_sensor::emulate` through the same path (see `watch/selftest.rs`).

mod duration;
mod report;
mod selftest;

use anyhow::Context;
use serde_json::Value;
use spawnguard_sensor::{Event, EventMeta, LatencyHistogram, Sensor, SensorConfig};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One human-readable block per alert
    Table,
    /// One JSON document per alert
    Ndjson,
}

#[derive(clap::Args)]
pub struct Args {
    /// Directory of detection rules (repeatable); default: the shipped rules
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// History store directory, shared with `hunt`
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// How alerts are shown
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write alerts to FILE instead of standard output
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Learn what is normal for DURATION (e.g. 10m, 1h, 7d) before alerting on history-based rules
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    pub learn: Option<Duration>,
    /// Also write every event (ECS NDJSON) to FILE, for replay with `hunt`
    #[arg(long, value_name = "FILE")]
    pub emit_events: Option<PathBuf>,
    /// Run harmless emulations of the shipped rules and report whether each was caught
    #[arg(long)]
    pub self_test: bool,
    /// How often to print the sensor's counters to standard error (0 = only at exit)
    #[arg(long, value_name = "DURATION", value_parser = duration::parse, default_value = "60s")]
    pub stats_interval: Duration,
    /// Process-table capacity
    #[arg(long, value_name = "N", default_value_t = 65_536)]
    pub table_capacity: usize,
    /// Stop after DURATION (benchmarks, tests)
    #[arg(long, value_name = "DURATION", value_parser = duration::parse, hide = true)]
    pub exit_after: Option<Duration>,
    /// Write the final counters as JSON to FILE (benchmarks)
    #[arg(long, value_name = "FILE", hide = true)]
    pub report_json: Option<PathBuf>,
}

/// Everything downstream of the sensor: outputs, (later) the engine, counters.
pub(crate) struct Watcher {
    emit: Option<BufWriter<File>>,
    alerts_out: Box<dyn Write>,
    format: Format,
    learn_until: Option<Instant>,
    pub(crate) alerts: u64,
    pub(crate) suppressed: u64,
    /// Kernel exec record -> alert written.
    pub(crate) alert_latency: LatencyHistogram,
    /// Alerts raised since the last `take_alerts`, as (rule name, alert document); the
    /// self-test reads them.
    pub(crate) recent_alerts: Vec<(String, Value)>,
}

impl Watcher {
    fn new(args: &Args) -> anyhow::Result<Watcher> {
        let emit = match &args.emit_events {
            Some(p) => Some(BufWriter::new(
                File::create(p).with_context(|| format!("creating --emit-events file {}", p.display()))?,
            )),
            None => None,
        };
        let alerts_out: Box<dyn Write> = match &args.output {
            Some(p) => Box::new(BufWriter::new(
                File::create(p).with_context(|| format!("creating --output file {}", p.display()))?,
            )),
            None => Box::new(std::io::stdout()),
        };
        Ok(Watcher {
            emit,
            alerts_out,
            format: args.format,
            learn_until: args.learn.map(|d| Instant::now() + d),
            alerts: 0,
            suppressed: 0,
            alert_latency: LatencyHistogram::default(),
            recent_alerts: Vec::new(),
        })
    }

    /// Every event from the sensor comes through here, once, in kernel order.
    ///
    /// ENGINE PLUG-IN POINT: feed `ev` to the engine (rules + history store) here and pass each
    /// alert it returns to [`Watcher::emit_alert`] with this event's `meta`.
    pub(crate) fn on_event(&mut self, ev: &Event, meta: &EventMeta) -> anyhow::Result<()> {
        if let Some(w) = &mut self.emit {
            serde_json::to_writer(&mut *w, ev.doc()).context("writing --emit-events")?;
            w.write_all(b"\n").context("writing --emit-events")?;
        }
        let _ = meta;
        Ok(())
    }

    /// Writes one alert (unless still learning) and records exec→alert latency.
    #[allow(dead_code)] // called by the engine hook in on_event
    pub(crate) fn emit_alert(&mut self, rule: &str, alert: &Value, meta: &EventMeta) -> anyhow::Result<()> {
        if self.learn_until.is_some_and(|t| Instant::now() < t) {
            self.suppressed += 1;
            return Ok(());
        }
        self.alerts += 1;
        self.recent_alerts.push((rule.to_string(), alert.clone()));
        match self.format {
            Format::Ndjson => {
                serde_json::to_writer(&mut self.alerts_out, alert)?;
                self.alerts_out.write_all(b"\n")?;
            }
            Format::Table => {
                let s = |p: &str| alert.pointer(p).and_then(Value::as_str).unwrap_or("-");
                writeln!(
                    self.alerts_out,
                    "ALERT {rule}\n  at      {}\n  process {} (pid {})  {}\n  parent  {}  {}\n",
                    s("/@timestamp"),
                    s("/process/name"),
                    alert.pointer("/process/pid").map_or("-".into(), |v| v.to_string()),
                    s("/process/command_line"),
                    s("/process/parent/name"),
                    s("/process/parent/command_line"),
                )?;
            }
        }
        self.alerts_out.flush()?;
        let now = spawnguard_sensor::host::boottime_ns();
        self.alert_latency.record_ns(now.saturating_sub(meta.ktime_ns));
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if let Some(w) = &mut self.emit {
            w.flush().context("flushing --emit-events")?;
        }
        self.alerts_out.flush().context("flushing alerts")?;
        Ok(())
    }
}

fn check_dirs(args: &Args) -> anyhow::Result<()> {
    for d in &args.rules {
        anyhow::ensure!(d.is_dir(), "--rules {}: not a directory", d.display());
    }
    if let Some(s) = &args.state {
        std::fs::create_dir_all(s).with_context(|| format!("--state {}: cannot create it", s.display()))?;
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    check_dirs(&args)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("installing the signal handlers")?;
    }
    let mut watcher = Watcher::new(&args)?;
    let config = SensorConfig { table_capacity: args.table_capacity, ..SensorConfig::default() };
    let started = Instant::now();
    let mut sensor = Sensor::start(config).context("starting the sensor")?;
    eprintln!(
        "spawnguard watch: sensor attached; {} processes seeded from /proc; {}",
        sensor.stats().seeded,
        if args.self_test { "running the self-test" } else { "watching (SIGINT or SIGTERM to stop)" }
    );

    let code = if args.self_test {
        selftest::run(&mut sensor, &mut watcher, &stop)?
    } else {
        watch_loop(&mut sensor, &mut watcher, &args, &stop)?;
        0
    };

    watcher.flush()?;
    let stats = sensor.stop();
    eprintln!("spawnguard watch: final: {}", report::line(&stats, watcher.alerts, watcher.suppressed));
    if let Some(p) = &args.report_json {
        let j = report::json(&stats, watcher.alerts, &watcher.alert_latency, started.elapsed());
        std::fs::write(p, serde_json::to_vec_pretty(&j)?).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(code)
}

fn watch_loop(sensor: &mut Sensor, watcher: &mut Watcher, args: &Args, stop: &AtomicBool) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut failure: Option<anyhow::Error> = None;
    while !stop.load(Ordering::Relaxed) && failure.is_none() {
        sensor.poll(Duration::from_millis(100), &mut |ev, meta| {
            if failure.is_none() {
                if let Err(e) = watcher.on_event(&ev, &meta) {
                    failure = Some(e);
                }
            }
        })?;
        if !args.stats_interval.is_zero() && last_report.elapsed() >= args.stats_interval {
            eprintln!("spawnguard watch: {}", report::line(&sensor.stats(), watcher.alerts, watcher.suppressed));
            last_report = Instant::now();
        }
        if args.exit_after.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
    }
    // Drain what the kernel already queued before stopping.
    for _ in 0..64 {
        let n = sensor.poll(Duration::ZERO, &mut |ev, meta| {
            if failure.is_none() {
                if let Err(e) = watcher.on_event(&ev, &meta) {
                    failure = Some(e);
                }
            }
        })?;
        if n == 0 {
            break;
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
