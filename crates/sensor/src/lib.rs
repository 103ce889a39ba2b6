//! spawnguard's live Linux sensor.
//!
//! eBPF programs (C, CO-RE, in `bpf/`, compiled object committed) report process exec, fork and
//! exit, opens of sensitive files and connects. User space keeps a process table (seeded from
//! /proc) and turns each record into an ECS [`Event`] with Elastic Defend's field names,
//! including `process.parent.*` and the ancestry.
//!
//! ```no_run
//! use spawnguard_sensor::{Sensor, SensorConfig};
//! use std::time::Duration;
//! let mut sensor = Sensor::start(SensorConfig::default())?;
//! sensor.poll(Duration::from_millis(100), &mut |ev, _meta| println!("{}", ev.doc()))?;
//! let stats = sensor.stop();
//! # Ok::<(), spawnguard_sensor::Error>(())
//! ```

pub mod ecs;
pub mod emulate;
pub mod host;
mod latency;
mod loader;
pub mod paths;
pub mod procfs;
pub mod raw;
mod sensor;
#[doc(hidden)]
pub mod synthetic;
pub mod table;

pub use latency::LatencyHistogram;
pub use paths::PathRule;
pub use sensor::{EventKind, EventMeta, Sensor, SensorConfig, SensorStats};
pub use spawnguard_event::Event;

/// Why the sensor could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "spawnguard watch needs root (running as euid {euid}): loading eBPF programs takes \
         CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN; run it with sudo or as the systemd service"
    )]
    NotRoot { euid: u32 },
    #[error("kernel BTF is not available ({0}); the sensor needs CONFIG_DEBUG_INFO_BTF=y (/sys/kernel/btf/vmlinux)")]
    Btf(String),
    #[error("{0}")]
    Tracefs(String),
    #[error("the kernel refused eBPF program {program} ({what}): {detail}")]
    Program {
        program: String,
        what: String,
        detail: String,
    },
    #[error("polling the ring buffer: {0}")]
    Poll(std::io::Error),
    #[error("internal sensor error: {0}")]
    Internal(String),
}
