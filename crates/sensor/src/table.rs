//! The user-space process table: what each live (and recently exited) process is, and who its
//! parent was, so every event can carry `process.parent.*` and its ancestry.
//!
//! Entries are keyed by (pid, start ticks), so a reused pid never inherits an old process's
//! identity. An exited process stays while any of its children is still in the table (they need
//! it as their parent) and for a grace period after its exit (records of it may still be in the
//! ring). Memory is bounded by a capacity: past it, entries are evicted (exited ones first, oldest
//! first) and every eviction is counted.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// Bytes of argv kept per table entry (for use as a parent or ancestor). The process's own
/// events carry its full argv; this only bounds what the table holds.
pub const TABLE_ARGS_BYTES: usize = 1024;

pub type Key = (u32, u64);

/// A `process.entity_id`: 22 base64url characters, stored inline (see [`crate::host`]).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct EntityId(pub(crate) [u8; 22]);

impl EntityId {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl std::fmt::Debug for EntityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for EntityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: u32,
    pub ppid: u32,
    /// Start, clock ticks since boot (as /proc/PID/stat).
    pub start_ticks: u64,
    /// Start, CLOCK_BOOTTIME ns (tick precision for processes seeded from /proc).
    pub start_ns: u64,
    pub entity_id: EntityId,
    /// Basename of the executable (the command name when the executable is unknown).
    pub name: Arc<str>,
    pub executable: Arc<str>,
    /// argv, NUL-separated, cut to TABLE_ARGS_BYTES (see [`ProcInfo::args`]).
    pub(crate) args: Box<str>,
    /// The real argc.
    pub args_count: usize,
    pub cwd: Arc<str>,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub tty: Option<(u32, u32)>,
    pub container_id: Option<Arc<str>>,
    /// The entry of the process that forked this one, when known.
    pub parent: Option<Key>,
    /// CLOCK_BOOTTIME ns of the exit.
    pub exited: Option<u64>,
    pub(crate) children: u32,
    pub(crate) seq: u64,
}

impl ProcInfo {
    pub fn key(&self) -> Key {
        (self.pid, self.start_ticks)
    }

    /// argv as kept in the table (at most TABLE_ARGS_BYTES).
    pub fn args(&self) -> Vec<&str> {
        if self.args.is_empty() && self.args_count == 0 {
            return Vec::new();
        }
        self.args.split('\0').collect()
    }

    /// Whether the table's argv is shorter than the process's.
    pub fn args_cut(&self) -> bool {
        self.args().len() < self.args_count
    }

    pub fn command_line(&self) -> String {
        self.args().join(" ")
    }

    /// Keeps at most TABLE_ARGS_BYTES of argv.
    pub fn set_args(&mut self, args: &[String], argc: usize) {
        let mut budget = TABLE_ARGS_BYTES;
        let mut out = String::new();
        for (i, a) in args.iter().enumerate() {
            if budget == 0 {
                break;
            }
            if i > 0 {
                out.push('\0');
            }
            if a.len() <= budget {
                out.push_str(a);
                budget -= a.len();
            } else {
                let mut cut = budget;
                while !a.is_char_boundary(cut) {
                    cut -= 1;
                }
                out.push_str(&a[..cut]);
                budget = 0;
            }
        }
        self.args = out.into_boxed_str();
        self.args_count = argc.max(args.len());
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TableStats {
    pub len: usize,
    pub capacity: usize,
    /// Entries removed because the table was full (not normal reaping).
    pub evictions: u64,
    pub reaped: u64,
}

pub struct ProcTable {
    entries: HashMap<Key, ProcInfo>,
    /// pid -> start ticks of the newest process with that pid.
    current: HashMap<u32, u64>,
    reap_queue: VecDeque<(Key, u64)>,
    capacity: usize,
    grace_ns: u64,
    pub(crate) seq: u64,
    evictions: u64,
    reaped: u64,
    /// Shared copies of executables, names and directories: most processes share them.
    strings: HashSet<Arc<str>>,
}

/// Distinct strings interned before the interner starts over (bounds its memory).
const MAX_INTERNED: usize = 16_384;

impl ProcTable {
    /// `capacity` entries at most (at least 16); exited entries kept `grace_ns` after exit.
    pub fn new(capacity: usize, grace_ns: u64) -> Self {
        let capacity = capacity.max(16);
        ProcTable {
            entries: HashMap::with_capacity(capacity),
            current: HashMap::with_capacity(capacity),
            reap_queue: VecDeque::new(),
            capacity,
            grace_ns,
            seq: 0,
            evictions: 0,
            reaped: 0,
            strings: HashSet::new(),
        }
    }

    fn intern(&mut self, s: &Arc<str>) -> Arc<str> {
        if let Some(x) = self.strings.get(s) {
            return Arc::clone(x);
        }
        if self.strings.len() >= MAX_INTERNED {
            self.strings.clear();
        }
        self.strings.insert(Arc::clone(s));
        Arc::clone(s)
    }

    pub fn stats(&self) -> TableStats {
        TableStats {
            len: self.entries.len(),
            capacity: self.capacity,
            evictions: self.evictions,
            reaped: self.reaped,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: Key) -> Option<&ProcInfo> {
        self.entries.get(&key)
    }

    pub fn get_mut(&mut self, key: Key) -> Option<&mut ProcInfo> {
        self.entries.get_mut(&key)
    }

    /// The newest process with this pid.
    pub fn by_pid(&self, pid: u32) -> Option<&ProcInfo> {
        self.current
            .get(&pid)
            .and_then(|&s| self.entries.get(&(pid, s)))
    }

    pub fn parent_of(&self, p: &ProcInfo) -> Option<&ProcInfo> {
        p.parent.and_then(|k| self.entries.get(&k))
    }

    /// Ancestors, nearest first, at most `max`.
    pub fn ancestors(&self, p: &ProcInfo, max: usize) -> Vec<&ProcInfo> {
        let mut out = Vec::new();
        let mut cur = self.parent_of(p);
        while let Some(a) = cur {
            if out.len() >= max || out.iter().any(|o: &&ProcInfo| o.key() == a.key()) {
                break;
            }
            out.push(a);
            cur = self.parent_of(a);
        }
        out
    }

    /// Inserts or replaces an entry. The parent link is kept as given.
    pub fn insert(&mut self, mut info: ProcInfo) {
        let key = info.key();
        info.name = self.intern(&info.name);
        info.executable = self.intern(&info.executable);
        info.cwd = self.intern(&info.cwd);
        if let Some(c) = &info.container_id {
            info.container_id = Some(self.intern(c));
        }
        if let Some(old) = self.entries.get(&key) {
            info.children = old.children;
            info.seq = old.seq;
            let old_parent = old.parent;
            if old_parent != info.parent {
                self.adjust_children(old_parent, false);
                self.adjust_children(info.parent, true);
            }
            self.entries.insert(key, info);
            return;
        }
        if self.entries.len() >= self.capacity {
            self.make_room();
        }
        self.seq += 1;
        info.seq = self.seq;
        info.children = 0;
        self.adjust_children(info.parent, true);
        let newer = self.current.get(&key.0).is_none_or(|&s| s <= key.1);
        if newer {
            self.current.insert(key.0, key.1);
        }
        self.entries.insert(key, info);
    }

    fn adjust_children(&mut self, parent: Option<Key>, add: bool) {
        let Some(pk) = parent else { return };
        let Some(p) = self.entries.get_mut(&pk) else {
            return;
        };
        if add {
            p.children += 1;
        } else {
            p.children = p.children.saturating_sub(1);
            if p.children == 0 {
                if let Some(t) = p.exited {
                    self.reap_queue.push_back((pk, t));
                }
            }
        }
    }

    /// Marks an exit; the entry is reaped later by [`ProcTable::reap`].
    pub fn mark_exited(&mut self, key: Key, at_ns: u64) {
        if let Some(p) = self.entries.get_mut(&key) {
            if p.exited.is_none() {
                p.exited = Some(at_ns);
                self.reap_queue.push_back((key, at_ns));
            }
        }
    }

    /// Removes exited entries whose grace period is over and that no child needs.
    pub fn reap(&mut self, now_ns: u64) {
        while let Some(&(key, t)) = self.reap_queue.front() {
            if t.saturating_add(self.grace_ns) > now_ns {
                break;
            }
            self.reap_queue.pop_front();
            let removable = self
                .entries
                .get(&key)
                .is_some_and(|p| p.exited.is_some() && p.children == 0);
            if removable {
                self.remove(key);
                self.reaped += 1;
            }
        }
    }

    fn remove(&mut self, key: Key) {
        if let Some(p) = self.entries.remove(&key) {
            if self.current.get(&key.0) == Some(&key.1) {
                self.current.remove(&key.0);
            }
            self.adjust_children(p.parent, false);
        }
    }

    /// Frees about 1% of the capacity: exited entries first, then the oldest live ones.
    fn make_room(&mut self) {
        let want = (self.capacity / 100).max(1);
        let mut cands: Vec<(bool, u64, Key)> = self
            .entries
            .values()
            .map(|p| (p.exited.is_none(), p.seq, p.key()))
            .collect();
        cands.sort_unstable();
        for (_, _, key) in cands.into_iter().take(want) {
            self.remove(key);
            self.evictions += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: u32, start: u64, parent: Option<Key>) -> ProcInfo {
        ProcInfo {
            pid,
            start_ticks: start,
            name: format!("p{pid}").into(),
            parent,
            ..Default::default()
        }
    }

    #[test]
    fn ancestry_and_reaping_waits_for_children() {
        let mut t = ProcTable::new(100, 10);
        t.insert(proc(1, 1, None));
        t.insert(proc(10, 5, Some((1, 1))));
        t.insert(proc(11, 6, Some((10, 5))));
        let child = t.get((11, 6)).unwrap().clone();
        let names: Vec<_> = t
            .ancestors(&child, 8)
            .iter()
            .map(|p| p.name.to_string())
            .collect();
        assert_eq!(names, vec!["p10", "p1"]);

        t.mark_exited((10, 5), 100);
        t.reap(1000);
        assert!(
            t.get((10, 5)).is_some(),
            "parent kept while its child lives"
        );
        t.mark_exited((11, 6), 1000);
        t.reap(1005);
        assert!(t.get((11, 6)).is_some(), "kept during grace");
        t.reap(1010);
        assert!(t.get((11, 6)).is_none());
        t.reap(1011);
        assert!(
            t.get((10, 5)).is_none(),
            "parent reaped once its last child is gone"
        );
        assert_eq!(t.stats().reaped, 2);
        assert_eq!(t.stats().evictions, 0);
    }

    #[test]
    fn pid_reuse_keeps_both_until_reaped() {
        let mut t = ProcTable::new(100, 0);
        t.insert(proc(7, 1, None));
        t.insert(proc(8, 2, Some((7, 1))));
        t.mark_exited((7, 1), 5);
        t.insert(proc(7, 9, None));
        assert_eq!(t.by_pid(7).unwrap().start_ticks, 9);
        assert_eq!(t.parent_of(t.get((8, 2)).unwrap()).unwrap().start_ticks, 1);
    }

    #[test]
    fn capacity_evicts_exited_first_and_counts() {
        let mut t = ProcTable::new(16, 1_000_000);
        for pid in 0..16 {
            t.insert(proc(pid, 1, None));
        }
        t.mark_exited((5, 1), 1);
        t.insert(proc(100, 1, None));
        assert!(t.get((5, 1)).is_none(), "the exited entry goes first");
        assert_eq!(t.stats().evictions, 1);
        assert_eq!(t.len(), 16);
        for pid in 200..300 {
            t.insert(proc(pid, 1, None));
        }
        assert!(t.len() <= 16);
        assert_eq!(t.stats().evictions, 101);
    }

    #[test]
    fn args_are_capped_in_the_table() {
        let mut p = ProcInfo::default();
        let long = vec!["x".repeat(800), "é".repeat(300)];
        p.set_args(&long, 2);
        let total: usize = p.args().iter().map(|a| a.len()).sum();
        assert!(total <= TABLE_ARGS_BYTES);
        assert_eq!(p.args_count, 2);
        assert!(p.args_cut() || p.args().len() == 2);
        let mut q = ProcInfo::default();
        q.set_args(&["a".into(), "".into(), "b c".into()], 3);
        assert_eq!(q.args(), vec!["a", "", "b c"]);
        assert_eq!(q.command_line(), "a  b c");
    }
}
