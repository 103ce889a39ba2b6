//! `spawnguard watch`: the live sensor on this host, alerts as they happen.
//!
//! Structure: [`run`] builds the engine (rules, history store: the same as `hunt`), starts the
//! sensor and loops over its events; every event goes through [`Watcher::on_event`], which
//! writes `--emit-events`, feeds the engine and hands each alert to [`Watcher::emit_alert`].
//! `--self-test` runs the emulations in `spawnguard_sensor::emulate` through the same path (see
//! `watch/selftest.rs`).

mod ancestry;
mod duration;
mod engine_link;
mod report;
mod selftest;

use anyhow::Context;
use serde_json::Value;
use spawnguard_engine::{render_alert, Alert, Engine, GateScratch};
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

const EXIT_CODES: &str = "\
Exit codes:
  0  stopped cleanly (SIGINT/SIGTERM); with --self-test: every emulation that could run raised
     its expected rules (and the benign ones raised nothing)
  1  --self-test: at least one emulation was not seen or missed an expected rule (or a benign
     control raised an alert)
  2  error: not root, no BPF/BTF, bad arguments, no rule could be loaded, the state directory
     is locked by another spawnguard, an unreadable --config, or an output that cannot be written";

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct Args {
    /// Directory of detection rules (repeatable); default: the shipped rules
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// History store directory, shared with `hunt` (default: $XDG_STATE_HOME/spawnguard,
    /// ~/.local/state/spawnguard, or /var/lib/spawnguard as root)
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Environment config (TOML [[hosts]] entries); default <config dir>/spawnguard/config.toml if present
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Default suppression: at most N alerts per rule per minute (0: no cap)
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub max_alerts_per_minute: u64,
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
    /// Benchmark aid: before watching, fill the process table with N synthetic processes shaped
    /// like real ones (pids above the kernel's pid limit), to measure a full table's memory
    #[arg(long, value_name = "N", hide = true)]
    pub bench_table_fill: Option<usize>,
    /// While records keep coming, how long to sleep between two ring-buffer checks (default:
    /// the sensor's, see docs/watch.md); longer costs less CPU and adds latency
    #[arg(long, value_name = "DURATION", value_parser = duration::parse, hide = true)]
    pub poll_interval: Option<Duration>,
    /// Benchmark aid, with --bench-table-fill: give every synthetic process its own 1 KiB of
    /// argv (the worst case for the table's memory)
    #[arg(long, hide = true)]
    pub bench_worst_argv: bool,
    /// Benchmark aid: build every exec event, even those no rule could want (see
    /// `spawnguard_engine::gate`)
    #[arg(long, hide = true)]
    pub no_exec_gate: bool,
}

/// An alert kept for the self-test.
pub(crate) struct Recent {
    pub rule: String,
    pub rule_id: String,
    pub doc: Value,
    /// Kernel record of the event -> alert written.
    pub latency: Duration,
}

/// Everything downstream of the sensor: outputs, the engine, counters.
pub(crate) struct Watcher {
    emit: Option<BufWriter<File>>,
    alerts_out: Box<dyn Write>,
    format: Format,
    color: bool,
    engine: Engine,
    learn_until: Option<Instant>,
    last_commit: Instant,
    pub(crate) alerts: u64,
    /// Kernel exec record -> alert written.
    pub(crate) alert_latency: LatencyHistogram,
    /// Alerts raised since the self-test last cleared it (kept only with `keep_recent`).
    pub(crate) recent_alerts: Vec<Recent>,
    pub(crate) keep_recent: bool,
}

impl Watcher {
    fn new(args: &Args, engine: Engine) -> anyhow::Result<Watcher> {
        let emit = match &args.emit_events {
            Some(p) => Some(BufWriter::new(File::create(p).with_context(|| {
                format!("creating --emit-events file {}", p.display())
            })?)),
            None => None,
        };
        let (alerts_out, color): (Box<dyn Write>, bool) = match &args.output {
            Some(p) => (
                Box::new(BufWriter::new(File::create(p).with_context(|| {
                    format!("creating --output file {}", p.display())
                })?)),
                false,
            ),
            // The self-test prints its own report; the alerts themselves go only to --output.
            None if args.self_test => (Box::new(std::io::sink()), false),
            None => {
                use std::io::IsTerminal;
                let tty = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
                (Box::new(std::io::stdout()), tty)
            }
        };
        Ok(Watcher {
            emit,
            alerts_out,
            format: args.format,
            color,
            engine,
            learn_until: None, // set once the sensor is attached
            last_commit: Instant::now(),
            alerts: 0,
            alert_latency: LatencyHistogram::default(),
            recent_alerts: Vec::new(),
            keep_recent: false,
        })
    }

    /// Engine counters for the report lines.
    pub(crate) fn counts(&self) -> report::Counts {
        let st = self.engine.stats();
        report::Counts {
            alerts: self.alerts,
            suppressed: st.rules.iter().map(|r| r.suppressed).sum(),
            learned: st.rules.iter().map(|r| r.learned).sum(),
            learning: self.learn_until.is_some(),
        }
    }

    /// Ends learning when its time is up; commits the history at least every second.
    fn tick(&mut self) {
        if let Some(t) = self.learn_until {
            if Instant::now() >= t {
                self.learn_until = None;
                self.engine.set_learn(false);
                eprintln!("spawnguard watch: learning period over: alerting from now on");
            }
        }
        if self.last_commit.elapsed() >= Duration::from_secs(1) {
            if let Err(e) = self.engine.commit() {
                eprintln!("spawnguard watch: history: {e}");
            }
            self.last_commit = Instant::now();
        }
    }

    /// Ends the stream: flushes the engine (held-back sequence matches are emitted), commits the
    /// history.
    fn finish(&mut self, meta: Option<&EventMeta>) -> anyhow::Result<()> {
        let alerts = self.engine.finish();
        for mut a in alerts {
            ancestry::from_sensor(&mut a);
            self.emit_alert(&a, meta)?;
        }
        self.engine.commit().context("committing the history")?;
        Ok(())
    }

    /// Every event from the sensor comes through here, once, in kernel order: written to
    /// `--emit-events`, run through the engine, and every alert it raises written out.
    pub(crate) fn on_event(&mut self, ev: &Event, meta: &EventMeta) -> anyhow::Result<()> {
        self.on_owned_event(ev.clone(), meta)
    }

    /// [`Watcher::on_event`] for an event the caller no longer needs (no copy).
    pub(crate) fn on_owned_event(&mut self, ev: Event, meta: &EventMeta) -> anyhow::Result<()> {
        if let Some(w) = &mut self.emit {
            serde_json::to_writer(&mut *w, ev.doc()).context("writing --emit-events")?;
            w.write_all(b"\n").context("writing --emit-events")?;
        }
        self.tick();
        let alerts = self.engine.process_event(ev);
        for mut a in alerts {
            ancestry::from_sensor(&mut a);
            attach_open_models(&mut a);
            self.emit_alert(&a, Some(meta))?;
        }
        Ok(())
    }

    /// Writes one alert and records the latency from the kernel record of the event that
    /// completed it (`meta`) to the alert written. (In learn mode the engine raises none.)
    pub(crate) fn emit_alert(
        &mut self,
        alert: &Alert,
        meta: Option<&EventMeta>,
    ) -> anyhow::Result<()> {
        self.alerts += 1;
        let doc = (self.format == Format::Ndjson || self.keep_recent).then(|| alert.to_document());
        match (self.format, &doc) {
            (Format::Ndjson, Some(d)) => {
                serde_json::to_writer(&mut self.alerts_out, d).context("writing an alert")?;
                self.alerts_out
                    .write_all(b"\n")
                    .context("writing an alert")?;
            }
            _ => {
                self.alerts_out
                    .write_all(render_alert(alert, self.color).as_bytes())
                    .and_then(|_| self.alerts_out.write_all(b"\n"))
                    .context("writing an alert")?;
            }
        }
        self.alerts_out.flush().context("writing an alert")?;
        let latency =
            meta.map(|m| spawnguard_sensor::host::boottime_ns().saturating_sub(m.ktime_ns));
        if let Some(ns) = latency {
            self.alert_latency.record_ns(ns);
        }
        if let (true, Some(doc)) = (self.keep_recent, doc) {
            self.recent_alerts.push(Recent {
                rule: alert.rule.name.clone(),
                rule_id: alert.rule.rule_id.clone(),
                doc,
                latency: Duration::from_nanos(latency.unwrap_or(0)),
            });
        }
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
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    check_dirs(&args)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing the signal handlers")?;
    }
    // The self-test keeps its history in a throwaway directory: it must neither depend on this
    // host's history (first-time rules) nor add its emulations to it.
    let selftest_state = args.self_test.then(|| {
        std::env::temp_dir().join(format!("spawnguard-selftest-state-{}", std::process::id()))
    });
    let state_dir = match (&selftest_state, &args.state) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => spawnguard_engine::default_state_dir(),
    };
    let learn = args.learn.is_some_and(|d| !d.is_zero()) && !args.self_test;
    let built = engine_link::build(
        &args.rules,
        &state_dir,
        learn,
        args.config.as_deref(),
        args.max_alerts_per_minute,
    )?;
    let expected_rules = built.rules.clone();
    // Exec events are built only when some rule (or the stream context) may want them, judged
    // from a probe of their cheap fields; --emit-events records every event.
    let exec_gate = (args.emit_events.is_none() && !args.no_exec_gate).then_some(built.exec_gate);
    let mut watcher = Watcher::new(&args, built.engine)?;
    // Memory at each start-up stage, for --report-json (benchmarks).
    let mut memory = serde_json::Map::new();
    memory.insert("after_engine".into(), report::usage_json());
    // Fork and exit events are two thirds of the traffic: built only when some rule could
    // match them, or when --emit-events records every event. (The process table is kept from
    // every record either way.)
    let config = SensorConfig {
        table_capacity: args.table_capacity,
        emit_forks: built.wants_forks || args.emit_events.is_some(),
        emit_exits: built.wants_exits || args.emit_events.is_some(),
        poll_interval: args
            .poll_interval
            .unwrap_or(SensorConfig::default().poll_interval),
        ..SensorConfig::default()
    };
    let started = Instant::now();
    let mut sensor = Sensor::start(config).context("starting the sensor")?;
    memory.insert("after_sensor_start".into(), report::usage_json());
    if let Some(gate) = exec_gate {
        let mut scratch = GateScratch::default();
        sensor.set_exec_gate(Box::new(move |probe| gate.wants(probe, &mut scratch)));
    }
    if let Some(n) = args.bench_table_fill.filter(|&n| n > 0) {
        let len = sensor.fill_table_for_bench_with(n, args.bench_worst_argv);
        memory.insert("after_table_fill".into(), report::usage_json());
        memory.insert("table_len_after_fill".into(), serde_json::json!(len));
        eprintln!("spawnguard watch: benchmark: process table filled with {n} synthetic processes ({len} entries)");
    }
    // The learning period counts from the moment events flow.
    watcher.learn_until = args.learn.filter(|_| learn).map(|d| Instant::now() + d);
    eprintln!(
        "spawnguard watch: ready: sensor attached; {} processes seeded from /proc; {} rules; history {}; {}",
        sensor.stats().seeded,
        built.rule_count,
        if args.self_test { "(throwaway)".to_string() } else { state_dir.display().to_string() },
        if args.self_test {
            "running the self-test".to_string()
        } else {
            match args.learn.filter(|_| learn) {
                Some(d) => format!("learning for {}s, then alerting (SIGINT or SIGTERM to stop)", d.as_secs()),
                None => "watching (SIGINT or SIGTERM to stop)".to_string(),
            }
        }
    );

    let result = if args.self_test {
        watcher.keep_recent = true;
        selftest::run(&mut sensor, &mut watcher, &stop, &expected_rules)
    } else {
        watch_loop(&mut sensor, &mut watcher, &args, &stop).map(|_| 0)
    };
    // Clean shutdown whatever happened: held-back alerts out, history committed, outputs flushed.
    let finished = watcher.finish(None);
    let flushed = watcher.flush();
    let stats = sensor.stop();
    let counts = watcher.counts();
    let alert_latency = watcher.alert_latency.clone();
    drop(watcher); // closes the history store (releases its lock)
    if let Some(d) = &selftest_state {
        let _ = std::fs::remove_dir_all(d);
    }
    eprintln!(
        "spawnguard watch: final: {}",
        report::line(&stats, &counts, &alert_latency)
    );
    let code = result?;
    finished?;
    flushed?;
    if let Some(p) = &args.report_json {
        let mut j = report::json(&stats, &counts, &alert_latency, started.elapsed());
        j["memory"] = Value::Object(memory);
        j["table_fill"] = serde_json::json!(args.bench_table_fill.unwrap_or(0));
        std::fs::write(p, serde_json::to_vec_pretty(&j)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(code)
}

fn watch_loop(
    sensor: &mut Sensor,
    watcher: &mut Watcher,
    args: &Args,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut failure: Option<anyhow::Error> = None;
    while !stop.load(Ordering::Relaxed) && failure.is_none() {
        sensor.poll(Duration::from_millis(100), &mut |ev, meta| {
            if failure.is_none() {
                if let Err(e) = watcher.on_owned_event(ev, &meta) {
                    failure = Some(e);
                }
            }
        })?;
        if !args.stats_interval.is_zero() && last_report.elapsed() >= args.stats_interval {
            eprintln!(
                "spawnguard watch: {}",
                report::line(&sensor.stats(), &watcher.counts(), &watcher.alert_latency)
            );
            last_report = Instant::now();
        }
        watcher.tick();
        if args.exit_after.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
    }
    // Drain what the kernel already queued before stopping.
    for _ in 0..64 {
        let n = sensor.poll(Duration::ZERO, &mut |ev, meta| {
            if failure.is_none() {
                if let Err(e) = watcher.on_owned_event(ev, &meta) {
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

/// The sensor reports opens of sensitive files only, so model files a python parent is
/// loading come from its open descriptors at alert time (see [`crate::model_link`]).
fn attach_open_models(a: &mut Alert) {
    if !a.model_files.is_empty() {
        return;
    }
    let ev = &a.event;
    let python = ev
        .get_str("process.parent.name")
        .map(|n| n.to_ascii_lowercase().starts_with("python"))
        .unwrap_or(false);
    let pid = ev
        .first(&spawnguard_event::FieldPath::new("process.parent.pid"))
        .and_then(|v| v.as_i64());
    if let (true, Some(pid)) = (python, pid) {
        a.model_files =
            crate::model_link::open_model_files(pid, ev.get_str("process.command_line"));
    }
}
