//! `spawnguard hunt`: run detection rules over recorded ECS telemetry.

use anyhow::Context;
use spawnguard_engine::pipeline::{self, Output};
use spawnguard_engine::{
    default_state_dir, render_alert, Engine, EngineConfig, EngineError, EnvConfig,
};
use spawnguard_event::reader::{BadRecord, RecordReader};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

const EXIT_CODES: &str = "\
Exit codes:
  0  no alerts were raised (also in --learn mode, and after bad input lines: bad lines are
     reported and counted but do not change the exit code)
  1  at least one alert was raised (so a CI job can fail on alerts)
  2  error: bad arguments, an input file that cannot be opened, no rule could be loaded,
     the state directory is locked by another spawnguard, or an unreadable --config

With no FILE, hunt runs on the example incident shipped with spawnguard, with a throwaway
history (unless --state is given) so that the example never mixes into this host's history.
Durability: new-terms history is committed to <state>/history.redb before any new-terms
alert is printed, every 10000 events and every second otherwise, and at exit.";

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One Kibana-compatible alert document per line
    Ndjson,
    /// A human view: rule, severity, host, ancestry, triage steps
    Table,
}

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct Args {
    /// Load every .toml rule below DIR (repeatable); default: the rules shipped in the binary
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Directory of the new-terms history (default: $XDG_STATE_HOME/spawnguard,
    /// ~/.local/state/spawnguard, or /var/lib/spawnguard as root)
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Record new-terms history without raising any alert (baselining)
    #[arg(long)]
    pub learn: bool,
    /// Environment config (TOML [[hosts]] entries); default <config dir>/spawnguard/config.toml if present
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Worker threads for reading and parsing (1: everything on one thread)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Default suppression: at most N alerts per rule per minute of event time (0: no cap)
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub max_alerts_per_minute: u64,
    /// Processes remembered for the ancestry view and model-file links (the oldest are
    /// forgotten first, unless seen again or named as a parent since)
    #[arg(long, value_name = "N", default_value_t = EngineConfig::default().context_processes)]
    pub context_processes: usize,
    /// Only read and parse the input (benchmark baseline); no rules run
    #[arg(long, hide = true)]
    pub parse_only: bool,
    /// Parse every record in full instead of only the fields rules read (reference
    /// behaviour for tests and benchmarks; same alerts, slower)
    #[arg(long, hide = true)]
    pub full_parse: bool,
    /// Input files: NDJSON (plain, gzip, zstd), JSON arrays, Elasticsearch hits; `-` is stdin
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,
}

const SHOWN_BAD: usize = 20;

pub fn run(args: Args) -> anyhow::Result<u8> {
    let started = Instant::now();
    // Streams (standard input, pipes, FIFOs) are read one record at a time so that alerts
    // come out as events arrive (batching for worker threads, or holding alerts for the
    // periodic history commit, would keep them back while the stream pauses); regular files
    // are a batch and use the worker pool.
    let streaming = args
        .files
        .iter()
        .any(|f| f == "-" || std::fs::metadata(f).is_ok_and(|m| !m.is_file()));
    let threads = args.threads.unwrap_or_else(|| {
        if streaming {
            1
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get().min(4))
                .unwrap_or(1)
        }
    });
    // Inputs first: an unreadable file is an error before anything runs.
    let mut readers = Vec::new();
    let mut total_size = 0u64;
    if args.files.is_empty() {
        let Some(bytes) = spawnguard_engine::example::INCIDENT else {
            anyhow::bail!("no input files given, and this spawnguard was built without the example telemetry (examples/telemetry/incident.ndjson)");
        };
        eprintln!("spawnguard: no input files given: hunting in the example incident shipped with spawnguard ({})", spawnguard_engine::example::NAME);
        total_size += bytes.len() as u64;
        readers.push(RecordReader::new(
            spawnguard_engine::example::NAME,
            Box::new(std::io::Cursor::new(bytes)),
        ));
    } else {
        for f in &args.files {
            let r = RecordReader::open(f).with_context(|| format!("cannot open input {f}"))?;
            if f != "-" {
                total_size += std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
            }
            readers.push(r);
        }
    }
    if args.parse_only {
        return parse_only(readers, started);
    }

    // Rules.
    let report = if args.rules.is_empty() {
        spawnguard_rules::load_builtin()
    } else {
        spawnguard_rules::load_dirs(&args.rules)
    };
    summarise_load("spawnguard", &report);
    if report.rules.is_empty() {
        anyhow::bail!("no rule could be loaded");
    }

    // Environment config: --config, else the default file if present, else (for the
    // built-in example only) the example's own hosts config.
    let env = match &args.config {
        Some(p) => read_env_config(p)?,
        None => match spawnguard_engine::config::default_config_path().filter(|p| p.is_file()) {
            Some(p) => read_env_config(&p)?,
            None if args.files.is_empty() => match spawnguard_engine::example::HOSTS {
                Some(text) => serde_json::from_str::<serde_json::Value>(text)
                    .map_err(|e| e.to_string())
                    .and_then(|v| EnvConfig::from_json(&v))
                    .map_err(|e| anyhow::anyhow!("example hosts config: {e}"))?,
                None => EnvConfig::default(),
            },
            None => EnvConfig::default(),
        },
    };

    // The built-in example keeps its history in a throwaway directory unless --state says
    // otherwise: its hosts are not this host's, and a rerun should show the same alerts.
    let example_state = (args.files.is_empty() && args.state.is_none())
        .then(|| std::env::temp_dir().join(format!("spawnguard-example-{}", std::process::id())));
    let state_dir = args
        .state
        .clone()
        .or_else(|| example_state.clone())
        .unwrap_or_else(default_state_dir);
    let config = EngineConfig {
        state_dir: Some(state_dir.clone()),
        learn: args.learn,
        env,
        max_alerts_per_minute: args.max_alerts_per_minute,
        scanner: Some(crate::model_link::ScanLink::new()),
        project: !args.full_parse,
        context_processes: args.context_processes,
        // A batch: alerts that depend on new history wait for the periodic commit (at most a
        // second of processing) instead of one sync each; none is printed before its history
        // is durable. A stream may pause at any line, so there each such alert is committed
        // and printed at once.
        hold_alerts_for_commit: (!streaming).then(|| EngineConfig::default().commit_interval),
        ..EngineConfig::default()
    };
    let mut engine = match Engine::new(&report.rules, config) {
        Ok(e) => e,
        Err(EngineError::History(h)) => anyhow::bail!("{h}"),
    };
    // The engine holds what it needs of the rules; the loaded queries' memory goes back to
    // the allocator now, for the events to reuse instead of fresh pages.
    drop(report);

    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut bad_shown = 0usize;
    let mut alerts = 0u64;
    let mut write_err: Option<std::io::Error> = None;
    let progress = make_progress(total_size);
    let mut on_output = |o: Output| match o {
        Output::Alert(a) => {
            alerts += 1;
            let r = match args.format {
                Format::Ndjson => serde_json::to_writer(&mut out, &a.into_document())
                    .map_err(std::io::Error::other)
                    .and_then(|_| out.write_all(b"\n")),
                Format::Table => out
                    .write_all(render_alert(&a, color).as_bytes())
                    .and_then(|_| out.write_all(b"\n")),
            };
            // Flush per alert: what is printed is what was committed.
            if let Err(e) = r.and_then(|_| out.flush()) {
                write_err.get_or_insert(e);
            }
        }
        Output::Bad(b) => {
            bad_shown += 1;
            if bad_shown <= SHOWN_BAD {
                report_bad(&progress, &b);
            }
        }
    };
    let mut on_progress = |n: u64| {
        if let Some(p) = &progress {
            p.inc(n);
        }
    };
    for r in readers {
        pipeline::run_input(&mut engine, r, threads, &mut on_output, &mut on_progress);
    }
    for a in engine.finish() {
        on_output(Output::Alert(Box::new(a)));
    }
    drop(on_output);
    if let Some(p) = &progress {
        p.finish_and_clear();
    }
    if let Some(e) = write_err {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("spawnguard: cannot write alerts: {e}");
        }
    }
    let stats = engine.stats();
    summary(&stats, bad_shown, &state_dir, args.learn, started, threads);
    drop(engine);
    if let Some(dir) = example_state {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(if alerts > 0 && !args.learn { 1 } else { 0 })
}

/// Reads an environment config: TOML (`[[hosts]]`), or the JSON form `{"hosts": [...]}`.
pub(crate) fn read_env_config(p: &std::path::Path) -> anyhow::Result<EnvConfig> {
    let text = std::fs::read_to_string(p)
        .with_context(|| format!("cannot read config {}", p.display()))?;
    let parsed = if text.trim_start().starts_with('{') {
        serde_json::from_str::<serde_json::Value>(&text)
            .map_err(|e| e.to_string())
            .and_then(|v| EnvConfig::from_json(&v))
    } else {
        EnvConfig::from_toml(&text)
    };
    parsed.map_err(|e| anyhow::anyhow!("config {}: {e}", p.display()))
}

fn make_progress(total: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(total.max(1));
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} hunting {bytes}/{total_bytes} ({binary_bytes_per_sec}, {eta})",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    pb.set_style(style);
    Some(pb)
}

fn report_bad(progress: &Option<indicatif::ProgressBar>, b: &BadRecord) {
    let line = format!("spawnguard: bad input: {b}");
    match progress {
        Some(p) => p.suspend(|| eprintln!("{line}")),
        None => eprintln!("{line}"),
    }
}

/// Says on stderr, after `who: `, how many rules loaded, were skipped (by type) or have errors.
pub(crate) fn summarise_load(who: &str, report: &spawnguard_rules::LoadReport) {
    let errors: Vec<_> = report.errors().collect();
    for p in errors.iter().take(SHOWN_BAD) {
        eprintln!("{who}: rule problem: {p}");
    }
    if errors.len() > SHOWN_BAD {
        eprintln!(
            "{who}: … and {} more rule problems (run `spawnguard rules validate`)",
            errors.len() - SHOWN_BAD
        );
    }
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &report.skipped {
        *by_type.entry(s.rule_type.as_str()).or_default() += 1;
    }
    let skipped: Vec<String> = by_type.iter().map(|(t, n)| format!("{n} {t}")).collect();
    eprintln!(
        "{who}: loaded {} rules; skipped {}{}; {} with errors",
        report.rules.len(),
        report.skipped.len(),
        if skipped.is_empty() {
            String::new()
        } else {
            format!(" ({})", skipped.join(", "))
        },
        errors.len()
    );
}

fn summary(
    s: &spawnguard_engine::Stats,
    bad: usize,
    state: &std::path::Path,
    learn: bool,
    started: Instant,
    threads: usize,
) {
    let secs = started.elapsed().as_secs_f64();
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "spawnguard: summary");
    let _ = writeln!(
        e,
        "  events read {}   skipped by prefilter {}   parsed {}   bad lines {}",
        s.events_read, s.skipped_prefilter, s.parsed, s.bad
    );
    if bad > SHOWN_BAD {
        let _ = writeln!(e, "  ({} bad lines not shown)", bad - SHOWN_BAD);
    }
    let mut total = 0;
    let mut suppressed = 0;
    let mut learned = 0;
    for r in &s.rules {
        total += r.alerts;
        suppressed += r.suppressed;
        learned += r.learned;
        if r.alerts > 0 || r.suppressed > 0 {
            let _ = writeln!(
                e,
                "  {:>6} alerts  {:>6} suppressed  {} ({})",
                r.alerts, r.suppressed, r.name, r.rule_id
            );
        }
    }
    let _ = writeln!(e, "  alerts {total}   suppressed {suppressed}");
    if learn {
        let _ = writeln!(
            e,
            "  learn mode: {learned} new terms learned, no alerts raised"
        );
    }
    if s.pruned_terms > 0 {
        let _ = writeln!(
            e,
            "  history: {} terms past their window pruned",
            s.pruned_terms
        );
    }
    let _ = writeln!(
        e,
        "  history {}   {:.2}s   {:.0} events/s   threads {threads}",
        state.display(),
        secs,
        s.events_read as f64 / secs.max(1e-9)
    );
}

fn parse_only(readers: Vec<RecordReader>, started: Instant) -> anyhow::Result<u8> {
    let (mut n, mut bad, mut bytes) = (0, 0, 0);
    for r in readers {
        let (a, b, c) = pipeline::parse_only(r);
        n += a;
        bad += b;
        bytes += c;
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "spawnguard: parse-only: {n} records, {bad} bad, {bytes} bytes in {secs:.3}s: {:.0} events/s, {:.3} GB/s",
        n as f64 / secs,
        bytes as f64 / secs / 1e9
    );
    Ok(0)
}
