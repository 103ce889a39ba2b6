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

/// `mi_option_purge_delay` in mimalloc 3's option enum (the bindings name only older options).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc hands freed memory back to the kernel 10 ms after it was freed by default. The
/// engine's state (pending sequences, events held for a history commit) grows and shrinks all
/// the time, so that memory was faulted in again moments later: a profile of `hunt` showed
/// 15% of its time zeroing pages. Wait a second instead (the peak resident set, which is
/// what the memory targets bound, is the same). Checked against the option's documented
/// default (10 ms) first, so that a different mimalloc is left alone.
fn tune_allocator() {
    // SAFETY: plain reads and writes of mimalloc's option table, valid at any time.
    unsafe {
        if libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) == 10 {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000);
        }
    }
}

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
    tune_allocator();
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
