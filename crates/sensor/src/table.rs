//! The user-space process table: what each live (and recently exited) process is, and who its
//! parent was, so every event can carry `process.parent.*` and its ancestry.
//!
//! Entries are keyed by (pid, start ticks), so a reused pid never inherits an old process's
//! identity. An exited process stays while any of its children is still in the table (they need
//! it as their parent) and for a grace period after its exit (records of it may still be in the
//! ring). Memory is bounded by a capacity: past it, one entry is evicted per new one, and every
//! eviction is counted. The order is kept as it goes, so an eviction costs O(1):
//! 1. exited processes whose children are all gone from the table, in the order they became so
//!    (their exit, or the removal of their last child);
//! 2. then the least recently active of the others (activity: inserted, exec'd, or had a child).
//!
//! Layout (a full table is the bulk of the sensor's memory): entries live in one slab allocated
//! once at the capacity, with an index by pid (the processes that share a pid are chained, newest
//! first) and two intrusive lists for the eviction order. Executables, names, directories,
//! container ids and argv are shared `Arc<str>`: a fork shares its parent's, and repeated ones are
//! interned.

use foldhash::{HashMap, HashSet};
use std::collections::VecDeque;
use std::sync::Arc;

/// Bytes of argv kept per table entry (for use as a parent or ancestor). The process's own
/// events carry its full argv; this only bounds what the table holds.
pub const TABLE_ARGS_BYTES: usize = 1024;

/// Bytes of argv the whole table keeps at full length (counted per entry, shared copies
/// included, so the real figure is lower). Past it, entries keep only
/// [`TABLE_ARGS_BYTES_OVER_BUDGET`] bytes: the table's memory is then bounded for any input
/// (capacity × (slot + that), plus this budget), not only for realistic command lines.
pub const TABLE_ARGV_BUDGET: usize = 16 << 20;
/// Bytes of argv kept per entry once the budget is spent.
pub const TABLE_ARGS_BYTES_OVER_BUDGET: usize = 128;

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
    /// argv, NUL-separated, cut to TABLE_ARGS_BYTES (see [`ProcInfo::args`]); shared.
    pub(crate) args: Arc<str>,
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
    /// Children of this entry in the table.
    pub(crate) children: u32,
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
        self.args = out.into();
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
    /// Entries whose argv was cut to [`TABLE_ARGS_BYTES_OVER_BUDGET`] because the table's
    /// argv budget was spent.
    pub argv_cut: u64,
}

/// No slot.
const NIL: u32 = u32::MAX;
/// Eviction lists: exited with no child in the table (evicted first), and the others (LRU).
const DONE: usize = 0;
const ACTIVE: usize = 1;

struct Slot {
    /// None: a free slot (then `next` links the free list).
    info: Option<ProcInfo>,
    /// Neighbours in its eviction list (`list`).
    prev: u32,
    next: u32,
    /// The next older entry with the same pid.
    older: u32,
    list: u8,
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

const EMPTY: List = List {
    head: NIL,
    tail: NIL,
};

/// A set of shared strings, started over past `max` entries (bounds its memory; entries keep
/// their copies).
struct Interner {
    set: HashSet<Arc<str>>,
    max: usize,
}

impl Interner {
    fn new(max: usize) -> Self {
        Interner {
            set: HashSet::default(),
            max,
        }
    }

    fn intern(&mut self, s: &mut Arc<str>) {
        if let Some(x) = self.set.get(s) {
            if !Arc::ptr_eq(x, s) {
                *s = Arc::clone(x);
            }
            return;
        }
        if self.set.len() >= self.max {
            self.set = HashSet::default();
        }
        self.set.insert(Arc::clone(s));
    }
}

pub struct ProcTable {
    /// Allocated once at the capacity; slots are reused.
    slots: Vec<Slot>,
    /// Free slots, linked through `next`.
    free: u32,
    len: usize,
    /// pid -> slot of the newest process with that pid (older ones chained by `older`).
    by_pid: HashMap<u32, u32>,
    lists: [List; 2],
    reap_queue: VecDeque<(Key, u64)>,
    capacity: usize,
    grace_ns: u64,
    evictions: u64,
    reaped: u64,
    /// Executables, names, directories and container ids: most processes share them.
    strings: Interner,
    /// Command lines: repeated ones (workers, scripts run again and again) are shared.
    argvs: Interner,
    /// argv bytes held, counted per entry, against `argv_budget`.
    argv_bytes: usize,
    argv_budget: usize,
    argv_cut: u64,
}

/// Distinct strings interned before an interner starts over.
const MAX_INTERNED: usize = 16_384;
const MAX_INTERNED_ARGV: usize = 8_192;

impl ProcTable {
    /// `capacity` entries at most (at least 16); exited entries kept `grace_ns` after exit.
    pub fn new(capacity: usize, grace_ns: u64) -> Self {
        // Slot numbers are u32 and NIL is reserved.
        let capacity = capacity.clamp(16, (u32::MAX - 1) as usize);
        ProcTable {
            slots: Vec::with_capacity(capacity),
            free: NIL,
            len: 0,
            by_pid: HashMap::with_capacity_and_hasher(capacity, Default::default()),
            lists: [EMPTY; 2],
            reap_queue: VecDeque::new(),
            capacity,
            grace_ns,
            evictions: 0,
            reaped: 0,
            strings: Interner::new(MAX_INTERNED),
            argvs: Interner::new(MAX_INTERNED_ARGV),
            argv_bytes: 0,
            argv_budget: TABLE_ARGV_BUDGET,
            argv_cut: 0,
        }
    }

    /// Sets the argv budget (see [`TABLE_ARGV_BUDGET`]).
    pub fn with_argv_budget(mut self, bytes: usize) -> Self {
        self.argv_budget = bytes;
        self
    }

    /// argv bytes held, counted per entry.
    pub fn argv_bytes(&self) -> usize {
        self.argv_bytes
    }

    /// Counts an entry's argv against the budget, cutting it first if the budget is spent.
    fn admit_args(&mut self, info: &mut ProcInfo) {
        let len = info.args.len();
        if self.argv_bytes + len > self.argv_budget && len > TABLE_ARGS_BYTES_OVER_BUDGET {
            let mut cut = TABLE_ARGS_BYTES_OVER_BUDGET;
            while !info.args.is_char_boundary(cut) {
                cut -= 1;
            }
            info.args = Arc::from(&info.args[..cut]);
            self.argv_cut += 1;
        }
        self.argv_bytes += info.args.len();
    }

    pub fn stats(&self) -> TableStats {
        TableStats {
            len: self.len,
            capacity: self.capacity,
            evictions: self.evictions,
            reaped: self.reaped,
            argv_cut: self.argv_cut,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn info(&self, slot: u32) -> Option<&ProcInfo> {
        self.slots.get(slot as usize)?.info.as_ref()
    }

    fn info_mut(&mut self, slot: u32) -> Option<&mut ProcInfo> {
        self.slots.get_mut(slot as usize)?.info.as_mut()
    }

    fn older(&self, slot: u32) -> u32 {
        self.slots.get(slot as usize).map_or(NIL, |s| s.older)
    }

    fn slot_of(&self, key: Key) -> Option<u32> {
        let mut cur = *self.by_pid.get(&key.0)?;
        while cur != NIL {
            if self.info(cur)?.start_ticks == key.1 {
                return Some(cur);
            }
            cur = self.older(cur);
        }
        None
    }

    pub fn get(&self, key: Key) -> Option<&ProcInfo> {
        self.slot_of(key).and_then(|s| self.info(s))
    }

    pub fn get_mut(&mut self, key: Key) -> Option<&mut ProcInfo> {
        let s = self.slot_of(key)?;
        self.info_mut(s)
    }

    /// The newest process with this pid.
    pub fn by_pid(&self, pid: u32) -> Option<&ProcInfo> {
        self.by_pid.get(&pid).and_then(|&s| self.info(s))
    }

    pub fn parent_of(&self, p: &ProcInfo) -> Option<&ProcInfo> {
        p.parent.and_then(|k| self.get(k))
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

    fn unlink(&mut self, slot: u32) {
        let Some(s) = self.slots.get(slot as usize) else {
            return;
        };
        let (prev, next, list) = (s.prev, s.next, s.list as usize & 1);
        match self.slots.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => self.lists[list].head = next,
        }
        match self.slots.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => self.lists[list].tail = prev,
        }
    }

    fn push_back(&mut self, slot: u32, list: usize) {
        let tail = self.lists[list].tail;
        let Some(s) = self.slots.get_mut(slot as usize) else {
            return;
        };
        s.prev = tail;
        s.next = NIL;
        s.list = list as u8;
        match self.slots.get_mut(tail as usize) {
            Some(t) => t.next = slot,
            None => self.lists[list].head = slot,
        }
        self.lists[list].tail = slot;
    }

    /// Moves an entry to the end of the list its state puts it in (exited and childless: DONE;
    /// otherwise ACTIVE, as most recently active).
    fn relist(&mut self, slot: u32) {
        let done = self
            .info(slot)
            .is_some_and(|p| p.exited.is_some() && p.children == 0);
        self.unlink(slot);
        self.push_back(slot, if done { DONE } else { ACTIVE });
    }

    /// Inserts or replaces an entry. The parent link is kept as given.
    pub fn insert(&mut self, mut info: ProcInfo) {
        let key = info.key();
        // A replaced entry gives its argv bytes back before the new one is counted.
        let old_len = self
            .slot_of(key)
            .and_then(|s| self.info(s))
            .map_or(0, |o| o.args.len());
        self.argv_bytes = self.argv_bytes.saturating_sub(old_len);
        self.admit_args(&mut info);
        self.strings.intern(&mut info.name);
        self.strings.intern(&mut info.executable);
        self.strings.intern(&mut info.cwd);
        if let Some(c) = &mut info.container_id {
            self.strings.intern(c);
        }
        self.argvs.intern(&mut info.args);
        if let Some(slot) = self.slot_of(key) {
            let Some(old) = self.info_mut(slot) else {
                return;
            };
            info.children = old.children;
            let old_parent = old.parent;
            *old = info;
            let new_parent = old.parent;
            if old_parent != new_parent {
                self.adjust_children(old_parent, false);
                self.adjust_children(new_parent, true);
            }
            self.relist(slot);
            return;
        }
        info.children = 0;
        // The parent first: it is then the most recently active, never the one evicted.
        self.adjust_children(info.parent, true);
        if self.len >= self.capacity {
            self.evict_one();
        }
        let slot = if self.free != NIL {
            let s = self.free;
            self.free = self.slots.get(s as usize).map_or(NIL, |x| x.next);
            s
        } else if self.slots.len() < self.capacity {
            self.slots.push(Slot {
                info: None,
                prev: NIL,
                next: NIL,
                older: NIL,
                list: ACTIVE as u8,
            });
            (self.slots.len() - 1) as u32
        } else {
            return; // unreachable: len < capacity means a free slot
        };
        // Chain by pid, newest start first.
        let mut older = NIL;
        match self.by_pid.get(&key.0).copied() {
            Some(head) if self.info(head).is_some_and(|h| h.start_ticks > key.1) => {
                // An older process than the newest with this pid: after the last newer one.
                let mut cur = head;
                loop {
                    let next = self.older(cur);
                    if next == NIL || self.info(next).is_none_or(|n| n.start_ticks < key.1) {
                        older = next;
                        if let Some(c) = self.slots.get_mut(cur as usize) {
                            c.older = slot;
                        }
                        break;
                    }
                    cur = next;
                }
            }
            Some(head) => {
                older = head;
                self.by_pid.insert(key.0, slot);
            }
            None => {
                self.by_pid.insert(key.0, slot);
            }
        }
        let list = if info.exited.is_some() { DONE } else { ACTIVE };
        if let Some(s) = self.slots.get_mut(slot as usize) {
            s.info = Some(info);
            s.older = older;
        }
        self.len += 1;
        self.push_back(slot, list);
    }

    fn adjust_children(&mut self, parent: Option<Key>, add: bool) {
        let Some(pk) = parent else { return };
        let Some(slot) = self.slot_of(pk) else {
            return;
        };
        let Some(p) = self.info_mut(slot) else {
            return;
        };
        if add {
            p.children += 1;
            self.relist(slot);
        } else {
            p.children = p.children.saturating_sub(1);
            if p.children == 0 {
                if let Some(t) = p.exited {
                    self.reap_queue.push_back((pk, t));
                    self.relist(slot);
                }
            }
        }
    }

    /// Marks an exit; the entry is reaped later by [`ProcTable::reap`].
    pub fn mark_exited(&mut self, key: Key, at_ns: u64) {
        let Some(slot) = self.slot_of(key) else {
            return;
        };
        if let Some(p) = self.info_mut(slot) {
            if p.exited.is_none() {
                p.exited = Some(at_ns);
                let childless = p.children == 0;
                self.reap_queue.push_back((key, at_ns));
                if childless {
                    self.relist(slot);
                }
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
            if let Some(slot) = self.slot_of(key) {
                let removable = self
                    .info(slot)
                    .is_some_and(|p| p.exited.is_some() && p.children == 0);
                if removable {
                    self.remove(slot);
                    self.reaped += 1;
                }
            }
        }
    }

    fn remove(&mut self, slot: u32) {
        let Some(info) = self
            .slots
            .get_mut(slot as usize)
            .and_then(|s| s.info.take())
        else {
            return;
        };
        self.argv_bytes = self.argv_bytes.saturating_sub(info.args.len());
        self.unlink(slot);
        // Out of the pid chain.
        let older = self.older(slot);
        if self.by_pid.get(&info.pid) == Some(&slot) {
            if older == NIL {
                self.by_pid.remove(&info.pid);
            } else {
                self.by_pid.insert(info.pid, older);
            }
        } else if let Some(&head) = self.by_pid.get(&info.pid) {
            let mut cur = head;
            while cur != NIL {
                let next = self.older(cur);
                if next == slot {
                    if let Some(c) = self.slots.get_mut(cur as usize) {
                        c.older = older;
                    }
                    break;
                }
                cur = next;
            }
        }
        if let Some(s) = self.slots.get_mut(slot as usize) {
            s.older = NIL;
            s.prev = NIL;
            s.next = self.free;
        }
        self.free = slot;
        self.len -= 1;
        self.adjust_children(info.parent, false);
    }

    /// Evicts one entry (the table is full): the first exited-and-childless one, else the least
    /// recently active.
    fn evict_one(&mut self) {
        let victim = match self.lists[DONE].head {
            NIL => self.lists[ACTIVE].head,
            h => h,
        };
        if victim != NIL {
            self.remove(victim);
            self.evictions += 1;
        }
    }

    #[cfg(test)]
    fn remove_for_test(&mut self, key: Key) {
        if let Some(slot) = self.slot_of(key) {
            self.remove(slot);
        }
    }

    /// The eviction order, first to go first (tests and diagnostics).
    pub fn eviction_order(&self) -> Vec<Key> {
        let mut out = Vec::with_capacity(self.len);
        for list in [DONE, ACTIVE] {
            let mut cur = self.lists[list].head;
            while let Some(s) = self.slots.get(cur as usize) {
                if let Some(p) = &s.info {
                    out.push(p.key());
                }
                cur = s.next;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
