//! The detection engine: Elastic rules run over a stream of ECS events.
//!
//! * [`screen::Screen`] (stateless, shareable across threads) decides from a raw line which
//!   rules can care — one prefilter over all rules' required literals, so most lines are never
//!   parsed — then parses, routes the event by `event.category` to the rules that can match
//!   it, and evaluates their conditions.
//! * [`Engine`] (stateful, one thread) runs the rule types: `query`/`eql` event rules,
//!   `new_terms` with a durable [`history::History`], `threshold`, EQL `sequence`/`sample`
//!   (the query crate's matchers, bounded, evicted by `maxspan`), suppression, and builds
//!   [`Alert`]s with environment, process ancestry and model files.
//! * [`pipeline`] runs both over a [`spawnguard_event::reader::RecordReader`] on one thread
//!   or several.
//! * [`testing::run_case`] runs one rule's test case (`spawnguard rules test`).

pub mod alert;
mod candidate;
pub mod config;
pub mod context;
mod engine;
pub mod gate;
pub mod history;
pub mod keyindex;
pub mod lazy;
mod procs;

/// Example telemetry shipped with the project (`examples/telemetry/incident.ndjson`).
pub mod example {
    include!(concat!(env!("OUT_DIR"), "/example.rs"));
    /// Where the embedded example came from, as shown to users.
    pub const NAME: &str = "builtin:examples/telemetry/incident.ndjson";
}
pub mod pipeline;
pub mod render;
pub mod screen;
pub mod shared;
pub mod suppress;
pub mod terms;
pub mod testing;
mod truth;
pub mod wants;

pub use alert::Alert;
pub use config::{EnvConfig, HostEnv};
pub use context::{ModelScanner, ProcInfo};
pub use engine::{Engine, EngineConfig, EngineError, RuleStats, Stats};
pub use gate::{Gate, GateScratch};
pub use history::{default_state_dir, History, HistoryError};
pub use render::{render_alert, triage_steps};
pub use screen::{Prepared, Screen};
