//! The new-terms history: for each rule and term, when it was last seen (event time, ns).
//!
//! Two backends: in memory (rule tests, `--state` not wanted) and a redb file
//! `history.redb` under a state directory. A lock file (`lock`, holding the owner's pid) is
//! taken with an exclusive advisory lock so that a second writer gets a clear message.
//!
//! Durability. Writes go into one open redb write transaction, committed (fsynced,
//! `Durability::Immediate`) when [`History::commit`] is called: by the engine every
//! `commit_every` events or `commit_interval` of wall time, before any new-terms alert is
//! handed back to the caller, and at the end of a run. redb is crash-safe: after `kill -9`
//! the file opens at its last commit. So every term whose alert was printed is on disk, and
//! at most the last batch of *last-seen refreshes* of already-known terms (or of learned
//! terms in `--learn`) can be lost.

use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// key: rule_id, 0x00, encoded term; value: last seen, ns since the epoch.
const TERMS: TableDefinition<&[u8], i64> = TableDefinition::new("new_terms_last_seen");

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("state directory {dir} is in use by another spawnguard (pid {pid})")]
    Locked { dir: String, pid: String },
    #[error("state directory {dir}: {msg}")]
    Io { dir: String, msg: String },
    #[error("history store {path}: {msg}")]
    Store { path: String, msg: String },
}

pub enum History {
    Memory(HashMap<Vec<u8>, i64>),
    Redb(Box<RedbHistory>),
}

pub struct RedbHistory {
    path: PathBuf,
    db: Database,
    txn: Option<WriteTransaction>,
    dirty: usize,
    /// Keeps the advisory lock for as long as the store is open.
    _lock: File,
}

/// The default state directory: `/var/lib/spawnguard` for root, else
/// `$XDG_STATE_HOME/spawnguard` or `~/.local/state/spawnguard`.
pub fn default_state_dir() -> PathBuf {
    if is_root() {
        return PathBuf::from("/var/lib/spawnguard");
    }
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("spawnguard");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/state/spawnguard"),
        None => PathBuf::from(".spawnguard-state"),
    }
}

fn is_root() -> bool {
    // The owner of /proc/self is the effective uid; avoids unsafe libc calls.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

impl History {
    pub fn memory() -> History {
        History::Memory(HashMap::new())
    }

    /// Opens (creating if needed) the store under `dir`, taking its lock.
    pub fn open(dir: &Path) -> Result<History, HistoryError> {
        let d = dir.display().to_string();
        std::fs::create_dir_all(dir).map_err(|e| HistoryError::Io {
            dir: d.clone(),
            msg: e.to_string(),
        })?;
        let io = |e: std::io::Error| HistoryError::Io {
            dir: d.clone(),
            msg: e.to_string(),
        };
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join("lock"))
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = lock.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(HistoryError::Locked {
                    dir: d,
                    pid: if pid.is_empty() {
                        "unknown".into()
                    } else {
                        pid.into()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        lock.set_len(0).map_err(io)?;
        lock.rewind().map_err(io)?;
        writeln!(lock, "{}", std::process::id()).map_err(io)?;
        let path = dir.join("history.redb");
        let store = |e: String| HistoryError::Store {
            path: path.display().to_string(),
            msg: e,
        };
        let db = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => HistoryError::Locked {
                dir: d.clone(),
                pid: "unknown".into(),
            },
            other => store(other.to_string()),
        })?;
        // Make sure the table exists so that reads never fail on a fresh store.
        let txn = db.begin_write().map_err(|e| store(e.to_string()))?;
        txn.open_table(TERMS).map_err(|e| store(e.to_string()))?;
        txn.commit().map_err(|e| store(e.to_string()))?;
        Ok(History::Redb(Box::new(RedbHistory {
            path,
            db,
            txn: None,
            dirty: 0,
            _lock: lock,
        })))
    }

    /// Last-seen time of a key.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<i64>, HistoryError> {
        match self {
            History::Memory(m) => Ok(m.get(key).copied()),
            History::Redb(r) => {
                let err = r.err();
                let txn = r.txn()?;
                let table = txn.open_table(TERMS).map_err(|e| err(e.to_string()))?;
                let got = table.get(key).map_err(|e| err(e.to_string()))?;
                Ok(got.map(|g| g.value()))
            }
        }
    }

    /// Records `ts` as the key's last-seen time if it is later than what is stored.
    pub fn touch(&mut self, key: &[u8], ts: i64, known: Option<i64>) -> Result<(), HistoryError> {
        if matches!(known, Some(k) if k >= ts) {
            return Ok(());
        }
        match self {
            History::Memory(m) => {
                let e = m.entry(key.to_vec()).or_insert(ts);
                *e = (*e).max(ts);
                Ok(())
            }
            History::Redb(r) => {
                let err = r.err();
                r.dirty += 1;
                let txn = r.txn()?;
                let mut table = txn.open_table(TERMS).map_err(|e| err(e.to_string()))?;
                table.insert(key, ts).map_err(|e| err(e.to_string()))?;
                Ok(())
            }
        }
    }

    /// Writes pending changes durably.
    pub fn commit(&mut self) -> Result<(), HistoryError> {
        if let History::Redb(r) = self {
            if let Some(txn) = r.txn.take() {
                let err = r.err();
                r.dirty = 0;
                txn.commit().map_err(|e| err(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// Changes not yet committed.
    pub fn pending(&self) -> usize {
        match self {
            History::Memory(_) => 0,
            History::Redb(r) => r.dirty,
        }
    }

    /// Removes entries of `rule_id` last seen before `cutoff`; returns how many.
    pub fn prune(&mut self, rule_id: &str, cutoff: i64) -> Result<u64, HistoryError> {
        let mut prefix = rule_id.as_bytes().to_vec();
        prefix.push(0);
        match self {
            History::Memory(m) => {
                let before = m.len();
                m.retain(|k, v| !(k.starts_with(&prefix) && *v < cutoff));
                Ok((before - m.len()) as u64)
            }
            History::Redb(r) => {
                let err = r.err();
                let mut n = 0u64;
                {
                    let txn = r.txn()?;
                    let mut table = txn.open_table(TERMS).map_err(|e| err(e.to_string()))?;
                    let mut end = prefix.clone();
                    if let Some(last) = end.last_mut() {
                        *last = 1;
                    }
                    table
                        .retain_in(prefix.as_slice()..end.as_slice(), |_, v| {
                            let keep = v >= cutoff;
                            if !keep {
                                n += 1;
                            }
                            keep
                        })
                        .map_err(|e| err(e.to_string()))?;
                }
                r.dirty += n as usize;
                Ok(n)
            }
        }
    }

    /// Number of stored terms (all rules).
    pub fn len(&mut self) -> Result<u64, HistoryError> {
        match self {
            History::Memory(m) => Ok(m.len() as u64),
            History::Redb(r) => {
                let err = r.err();
                let txn = r.txn()?;
                let table = txn.open_table(TERMS).map_err(|e| err(e.to_string()))?;
                table.len().map_err(|e| err(e.to_string()))
            }
        }
    }

    pub fn is_empty(&mut self) -> Result<bool, HistoryError> {
        Ok(self.len()? == 0)
    }
}

impl RedbHistory {
    fn err(&self) -> impl Fn(String) -> HistoryError {
        let path = self.path.display().to_string();
        move |msg| HistoryError::Store {
            path: path.clone(),
            msg,
        }
    }

    fn txn(&mut self) -> Result<&mut WriteTransaction, HistoryError> {
        if self.txn.is_none() {
            let err = self.err();
            let t = self.db.begin_write().map_err(|e| err(e.to_string()))?;
            self.txn = Some(t);
        }
        let err = self.err();
        match self.txn.as_mut() {
            Some(t) => Ok(t),
            None => Err(err("no transaction".into())),
        }
    }
}

/// The history key of one term of one rule.
pub fn term_key(rule_id: &str, values: &[String]) -> Vec<u8> {
    let mut k =
        Vec::with_capacity(rule_id.len() + 1 + values.iter().map(|v| v.len() + 1).sum::<usize>());
    k.extend_from_slice(rule_id.as_bytes());
    k.push(0);
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            k.push(0x1f);
        }
        k.extend_from_slice(v.as_bytes());
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redb_store_persists_and_locks() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut h = History::open(dir.path()).unwrap();
            let k = term_key("r1", &["a".into(), "b".into()]);
            h.touch(&k, 10, None).unwrap();
            h.commit().unwrap();
            // A second writer (same process, second handle) is refused with the pid.
            match History::open(dir.path()) {
                Err(HistoryError::Locked { pid, .. }) => {
                    assert_eq!(pid, std::process::id().to_string())
                }
                Err(e) => panic!("wrong error {e}"),
                Ok(_) => panic!("second writer was not refused"),
            }
        }
        let mut h = History::open(dir.path()).unwrap();
        let k = term_key("r1", &["a".into(), "b".into()]);
        assert_eq!(h.get(&k).unwrap(), Some(10));
        h.touch(&term_key("r1", &["old".into()]), 1, None).unwrap();
        h.touch(&term_key("r2", &["old".into()]), 1, None).unwrap();
        assert_eq!(h.prune("r1", 5).unwrap(), 1);
        assert_eq!(h.len().unwrap(), 2);
        // Uncommitted changes vanish when the handle is dropped without commit.
        drop(h);
        let mut h = History::open(dir.path()).unwrap();
        assert_eq!(h.len().unwrap(), 1);
    }
}
