//! `spawnguard`: catch language interpreters spawning shells (MITRE T1059.006).
//!
//! Each subcommand lives in its own module with its own `Args` and `run`, which returns the
//! process exit code.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc: per-thread free lists and cheap cross-thread frees. The event pipeline allocates
/// and frees many small strings per record, often on different threads (`hunt --threads 2`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod hunt;
mod model_link;
mod query;
mod rules_cmd;
mod scan;
mod watch;

#[derive(Parser)]
#[command(
    name = "spawnguard",
    version,
    about = "Detect language interpreters spawning shells (MITRE T1059.006)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one EQL or KQL query over NDJSON events, like Elasticsearch's EQL search API
    Query(query::Args),
    /// Run detection rules over recorded ECS telemetry
    Hunt(hunt::Args),
    /// List, validate and test detection rules
    Rules(rules_cmd::Args),
    /// Scan model files (pickle, PyTorch, numpy, joblib) for code that runs on load
    Scan(scan::Args),
    /// Watch this Linux host live with eBPF and alert in real time
    Watch(watch::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Query(a) => query::run(a),
        Command::Hunt(a) => hunt::run(a),
        Command::Rules(a) => rules_cmd::run(a),
        Command::Scan(a) => scan::run(a),
        Command::Watch(a) => watch::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("spawnguard: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
