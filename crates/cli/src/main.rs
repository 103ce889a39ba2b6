//! `spawnguard`: catch language interpreters spawning shells (MITRE T1059.006).
//!
//! Each subcommand lives in its own module with its own `Args` and `run`, which returns the
//! process exit code.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc for the batch commands, the C library's allocator for `watch` (see [`alloc`]).
#[global_allocator]
static GLOBAL: alloc::Alloc = alloc::Alloc;

/// `mi_option_purge_delay` in mimalloc 3's option enum (the bindings name only older options).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// For batch commands (`hunt`, `query`, `scan`): never hand freed memory back to the kernel.
/// mimalloc does so a second after it was freed, and with transparent huge pages each purged
/// piece costs a 2 MiB page zeroed on its next touch; the engine's state (pending sequences,
/// events held for a history commit) grows and shrinks all the time, and profiles of `hunt`
/// showed 5–15% of its time zeroing pages. The peak resident set is unchanged. `watch`, which
/// runs for months, keeps the default.
fn keep_freed_memory() {
    // SAFETY: a plain write to mimalloc's option table, valid at any time.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
    }
}

mod alloc;
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
        Command::Query(a) => {
            keep_freed_memory();
            query::run(a)
        }
        Command::Hunt(a) => {
            keep_freed_memory();
            hunt::run(a)
        }
        Command::Rules(a) => rules_cmd::run(a),
        Command::Scan(a) => {
            keep_freed_memory();
            scan::run(a)
        }
        Command::Watch(a) => {
            alloc::use_system();
            watch::run(a)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("spawnguard: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
