//! A small cache of scan results keyed by path, size and modification time, for callers that
//! see the same model files again and again (alert linking in `watch` and `hunt`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::report::FileReport;

type Key = (PathBuf, u64, Option<SystemTime>);

/// Thread-safe cache of [`FileReport`]s. A file is rescanned when its size or mtime changes.
#[derive(Default)]
pub struct ScanCache {
    map: Mutex<HashMap<Key, Arc<FileReport>>>,
    capacity: usize,
}

impl ScanCache {
    /// A cache holding at most `capacity` reports (cleared wholesale when full).
    pub fn new(capacity: usize) -> Self {
        ScanCache {
            map: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The report for `path`, scanning it if it is new or has changed since it was cached.
    pub fn scan(&self, path: &Path) -> Arc<FileReport> {
        let meta = std::fs::metadata(path).ok();
        let key: Key = (
            path.to_path_buf(),
            meta.as_ref().map(|m| m.len()).unwrap_or(0),
            meta.as_ref().and_then(|m| m.modified().ok()),
        );
        if let Ok(map) = self.map.lock() {
            if let Some(r) = map.get(&key) {
                return r.clone();
            }
        }
        let report = Arc::new(crate::scan_path(path));
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= self.capacity {
                map.clear();
            }
            map.insert(key, report.clone());
        }
        report
    }

    /// Number of cached reports.
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
