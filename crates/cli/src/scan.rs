//! `spawnguard scan`: static scan of model files (pickle, PyTorch, numpy, joblib, tar, 7z) for
//! code that runs when they are loaded. Never unpickles anything.
//!
//! Exit codes: 0 clean (safe or suspicious only), 1 dangerous found, 2 error (a path could not
//! be read, or a file could not be fully parsed) with nothing dangerous found.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;
use spawnguard_scan::{FileReport, Verdict};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable table
    Table,
    /// JSON report: {summary, files, errors}
    Json,
}

#[derive(clap::Args)]
#[command(
    after_help = "Exit status: 0 clean (safe or suspicious only), 1 dangerous found, \
2 error (unreadable path or unparsable file) with nothing dangerous.\n\
Files are recognised by content: pickle (protocols 0-5, concatenated), PyTorch zip and legacy, \
numpy .npy/.npz, joblib (plain, zlib, gzip, bz2, xz, lzma), tar, 7z, nested pickles. \
Nothing is ever unpickled."
)]
pub struct Args {
    /// Files or directories (scanned recursively)
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Worker threads (0 = one per core)
    #[arg(long, short = 'j', default_value_t = 0)]
    pub jobs: usize,
    /// Write the report to FILE instead of stdout
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Also list files that hold no pickle at all (table format)
    #[arg(long)]
    pub all: bool,
    /// Work budget per file: most opcodes of full (non-fast-path) pickle walking; a file that
    /// needs more is reported suspicious with an error ("scan budget exceeded")
    #[arg(long, default_value_t = spawnguard_scan::DEFAULT_MAX_WALK_OPCODES)]
    pub max_walk_opcodes: u64,
    /// Work budget per file: most seconds of full pickle walking (0 = no time limit)
    #[arg(long, default_value_t = spawnguard_scan::DEFAULT_MAX_WALK_TIME.as_secs_f64())]
    pub max_walk_seconds: f64,
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    models: usize,
    safe: usize,
    suspicious: usize,
    dangerous: usize,
    files_with_errors: usize,
    bytes: u64,
    seconds: f64,
}

#[derive(Serialize)]
struct FileError<'a> {
    path: &'a str,
    member: &'a str,
    offset: u64,
    message: &'a str,
}

#[derive(Serialize)]
struct Report<'a> {
    summary: Summary,
    files: &'a [FileReport],
    errors: Vec<FileError<'a>>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let started = std::time::Instant::now();
    let (files, unreadable) = spawnguard_scan::collect_files(&args.paths);
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(files.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed} {msg}")
        {
            b.set_style(style);
        }
        Some(b)
    } else {
        None
    };
    let progress = |_: &FileReport| {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let limits = spawnguard_scan::Limits {
        max_walk_opcodes: args.max_walk_opcodes,
        max_walk_time: (args.max_walk_seconds > 0.0)
            .then(|| std::time::Duration::try_from_secs_f64(args.max_walk_seconds).ok())
            .flatten(),
    };
    let mut reports = spawnguard_scan::scan_files_with(&files, args.jobs, &progress, &limits);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    reports.extend(unreadable);
    let seconds = started.elapsed().as_secs_f64();

    let count = |v: Verdict| {
        reports
            .iter()
            .filter(|r| r.is_model() && r.verdict == v)
            .count()
    };
    let summary = Summary {
        files: reports.len(),
        models: reports.iter().filter(|r| r.is_model()).count(),
        safe: count(Verdict::Safe),
        suspicious: count(Verdict::Suspicious),
        dangerous: count(Verdict::Dangerous),
        files_with_errors: reports.iter().filter(|r| !r.errors.is_empty()).count(),
        bytes: reports.iter().map(|r| r.size).sum(),
        seconds,
    };
    let code = if summary.dangerous > 0 {
        1
    } else if summary.files_with_errors > 0 {
        2
    } else {
        0
    };

    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    match args.format {
        Format::Json => {
            let errors = reports
                .iter()
                .flat_map(|r| {
                    r.errors.iter().map(move |e| FileError {
                        path: &r.path,
                        member: &e.member,
                        offset: e.offset,
                        message: &e.message,
                    })
                })
                .collect();
            let report = Report {
                summary,
                files: &reports,
                errors,
            };
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        Format::Table => write_table(&mut out, &reports, &summary, args.all)?,
    }
    out.flush()?;
    Ok(code)
}

fn write_table(
    out: &mut dyn Write,
    reports: &[FileReport],
    s: &Summary,
    all: bool,
) -> anyhow::Result<()> {
    writeln!(out, "{:<10}  {:<28}  FILE", "VERDICT", "FORMAT")?;
    for r in reports {
        if !all && !r.is_model() && r.errors.is_empty() {
            continue;
        }
        let verdict = if r.is_model() {
            r.verdict.as_str().to_uppercase()
        } else {
            "-".into()
        };
        let formats = if r.formats.is_empty() {
            "unknown".to_string()
        } else {
            r.formats.join("+")
        };
        writeln!(out, "{verdict:<10}  {formats:<28}  {}", r.path)?;
        for f in &r.findings {
            let at = if f.member.is_empty() {
                format!("@{}", f.offset)
            } else {
                format!("{}@{}", f.member, f.offset)
            };
            let what = f.call.as_deref().unwrap_or(&f.global);
            writeln!(
                out,
                "    {:<10}  {what}   [{at}] {}",
                f.verdict.as_str(),
                f.reason
            )?;
            if let Some(w) = &f.written_as {
                writeln!(out, "    {:<10}  (written as {w})", "")?;
            }
        }
        for e in &r.errors {
            let at = if e.member.is_empty() {
                format!("@{}", e.offset)
            } else {
                format!("{}@{}", e.member, e.offset)
            };
            writeln!(out, "    {:<10}  {} [{at}]", "error", e.message)?;
        }
    }
    writeln!(
        out,
        "\n{} files ({} models): {} safe, {} suspicious, {} dangerous; {} with errors; {:.1} MB in {:.3}s",
        s.files,
        s.models,
        s.safe,
        s.suspicious,
        s.dangerous,
        s.files_with_errors,
        s.bytes as f64 / 1e6,
        s.seconds
    )?;
    Ok(())
}
