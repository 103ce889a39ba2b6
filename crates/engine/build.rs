//! Embeds the example telemetry (`examples/telemetry/incident.ndjson`) when it exists, so
//! that `spawnguard hunt` with no file has something to show. A missing file still builds:
//! the constant is then `None`.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dir = manifest.join("../../examples/telemetry");
    let file = dir.join("incident.ndjson");
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rerun-if-changed={}", file.display());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("example.rs");
    let code = match file.canonicalize() {
        Ok(abs) if abs.is_file() => format!(
            "/// The example incident, embedded at build time.\npub const INCIDENT: Option<&[u8]> = Some(include_bytes!({:?}));\n",
            abs.to_string_lossy()
        ),
        _ => "/// The example incident (missing when this binary was built).\npub const INCIDENT: Option<&[u8]> = None;\n".to_string(),
    };
    let hosts = dir.join("hosts.json");
    println!("cargo:rerun-if-changed={}", hosts.display());
    let code = code
        + &match hosts.canonicalize() {
            Ok(abs) if abs.is_file() => format!(
                "/// The example's environment config (JSON form), embedded at build time.\npub const HOSTS: Option<&str> = Some(include_str!({:?}));\n",
                abs.to_string_lossy()
            ),
            _ => "/// The example's environment config (missing at build time).\npub const HOSTS: Option<&str> = None;\n".to_string(),
        };
    if let Err(e) = std::fs::write(&out, code) {
        println!("cargo:warning=cannot write {}: {e}", out.display());
    }
}
