//! Prints the sensor's events as NDJSON for a few seconds: `cargo run --example dump -- SECS`.
use spawnguard_sensor::{Sensor, SensorConfig};
use std::time::{Duration, Instant};

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let mut sensor = match Sensor::start(SensorConfig::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if let Err(e) = sensor.poll(Duration::from_millis(100), &mut |ev, _| {
            println!("{}", ev.doc())
        }) {
            eprintln!("error: {e}");
            break;
        }
    }
    eprintln!("{:?}", sensor.stop());
}
