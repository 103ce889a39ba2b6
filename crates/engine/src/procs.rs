//! The stream context's process table: processes by (host, entity id), at most `max`, evicted
//! by the clock (second-chance) rule: the oldest process goes first unless it was used since
//! the hand last passed it (seen again in a later event, or named as the parent of a new
//! process), in which case it is kept for another round. A long-lived shell or service that
//! keeps spawning children stays; the many short-lived processes of a busy host go.
//!
//! Kept compact, because a hunt over recorded telemetry fills it (32,768 processes by
//! default) and every byte of it is memory the kernel must hand over zeroed: the processes
//! live in one ring of slots reserved up front (filled in insertion order, never moved, a
//! slot reused once its process is evicted), the index holds only slot numbers, and a host
//! name is shared between the processes of that host. A process's strings are kept in one
//! allocation ([`Proc`]), built once on the screening thread.

use crate::context::ProcInfo;
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::fmt::Write;
use std::hash::BuildHasher;
use std::sync::Arc;

/// [`ProcInfo`]'s fields, compact: its strings one after the other in one allocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Proc {
    text: Box<str>,
    /// Where each string field ends in `text` ([`Proc::get`] order).
    ends: [u32; FIELDS],
    /// Bit `i`: field `i` is present (else it ends where the previous one did).
    present: u8,
    pub pid: Option<i64>,
}

const FIELDS: usize = 6;
/// Field numbers, in [`ProcInfo`] order.
pub const ENTITY_ID: usize = 0;
pub const NAME: usize = 1;
pub const EXECUTABLE: usize = 2;
pub const COMMAND_LINE: usize = 3;
pub const USER: usize = 4;
pub const PARENT_ENTITY_ID: usize = 5;

/// Builds a [`Proc`] field by field, in order.
pub struct ProcBuilder {
    text: String,
    ends: [u32; FIELDS],
    present: u8,
    next: usize,
}

thread_local! {
    /// The text buffer of this thread's last [`ProcBuilder`], reused by the next: building a
    /// process then costs one allocation of the exact size ([`ProcBuilder::finish`]).
    static TEXT: std::cell::Cell<String> = const { std::cell::Cell::new(String::new()) };
}

impl ProcBuilder {
    pub fn new() -> ProcBuilder {
        let mut text = TEXT.with(std::cell::Cell::take);
        text.clear();
        ProcBuilder {
            text,
            ends: [0; FIELDS],
            present: 0,
            next: 0,
        }
    }

    /// The next field: `write` appends its text and says whether it has one.
    pub fn field(&mut self, write: impl FnOnce(&mut String) -> bool) {
        let start = self.text.len();
        if write(&mut self.text) {
            self.present |= 1 << self.next;
        } else {
            self.text.truncate(start);
        }
        if let Some(e) = self.ends.get_mut(self.next) {
            *e = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        }
        self.next += 1;
    }

    pub fn text(&mut self, v: Option<&str>) {
        self.field(|t| v.map(|v| t.push_str(v)).is_some());
    }

    pub fn finish(mut self, pid: Option<i64>) -> Proc {
        // Fields never given end where the last one did.
        let end = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        for e in self.ends.iter_mut().skip(self.next) {
            *e = end;
        }
        let text = Box::from(self.text.as_str());
        TEXT.with(|t| t.set(self.text));
        Proc {
            text,
            ends: self.ends,
            present: self.present,
            pid,
        }
    }
}

impl Default for ProcBuilder {
    fn default() -> Self {
        ProcBuilder::new()
    }
}

impl Proc {
    #[cfg(test)]
    pub fn from_info(p: &ProcInfo) -> Proc {
        let mut b = ProcBuilder::new();
        for f in [
            &p.entity_id,
            &p.name,
            &p.executable,
            &p.command_line,
            &p.user,
            &p.parent_entity_id,
        ] {
            b.text(f.as_deref());
        }
        b.finish(p.pid)
    }

    /// String field `i` (see [`ENTITY_ID`] and the others).
    pub fn get(&self, i: usize) -> Option<&str> {
        if i >= FIELDS || self.present & (1 << i) == 0 {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.text.get(start..self.ends[i] as usize)
    }

    pub fn entity_id(&self) -> Option<&str> {
        self.get(ENTITY_ID)
    }

    pub fn info(&self) -> ProcInfo {
        let s = |i| self.get(i).map(str::to_string);
        ProcInfo {
            entity_id: s(ENTITY_ID),
            pid: self.pid,
            name: s(NAME),
            executable: s(EXECUTABLE),
            command_line: s(COMMAND_LINE),
            user: s(USER),
            parent_entity_id: s(PARENT_ENTITY_ID),
        }
    }

    /// Fills what is unknown here from `from` (known fields win).
    pub fn merge(&mut self, from: &Proc) {
        self.pid = self.pid.or(from.pid);
        if from.present & !self.present == 0 {
            return;
        }
        let mut b = ProcBuilder::new();
        for i in 0..FIELDS {
            b.text(self.get(i).or_else(|| from.get(i)));
        }
        *self = b.finish(self.pid);
    }

    /// Appends `n`'s text (how the context spells numbers) to `out`.
    pub fn number(out: &mut String, n: &serde_json::Number) {
        let _ = write!(out, "{n}");
    }
}

struct Kept {
    host: Arc<str>,
    /// Its entity id is always set: it is the key's entity id.
    info: Proc,
    /// Used since the clock hand last passed: spared once.
    used: bool,
}

pub(crate) struct ProcTable {
    index: HashTable<u32>,
    hasher: RandomState,
    /// The slots; once `max` are in use, the clock hand `hand` goes round them.
    ring: Vec<Kept>,
    hand: usize,
    max: usize,
    /// Recently seen hosts, to share their names.
    hosts: Vec<Arc<str>>,
}

/// How many recent host names are remembered for sharing.
const HOSTS: usize = 16;

fn eid(k: &Kept) -> &str {
    k.info.entity_id().unwrap_or_default()
}

impl ProcTable {
    pub(crate) fn new(max: usize) -> ProcTable {
        let max = max.max(1);
        ProcTable {
            index: HashTable::with_capacity(max.min(1 << 20)),
            hasher: RandomState::default(),
            // Reserved, not touched: pages are used as slots fill.
            ring: Vec::with_capacity(max.min(1 << 20)),
            hand: 0,
            max,
            hosts: Vec::new(),
        }
    }

    fn hash(&self, host: &str, eid: &str) -> u64 {
        self.hasher.hash_one((host, eid))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.ring.len()
    }

    pub(crate) fn get(&self, host: &str, id: &str) -> Option<&Proc> {
        let slot = self.find(self.hash(host, id), host, id)?;
        self.ring.get(slot).map(|k| &k.info)
    }

    /// The process `me` (whose entity id must be set) on `host`: merged into what is known
    /// of it (known fields win, and it counts as used), or inserted (its parent, if known,
    /// counts as used), a process evicted by the clock rule when full.
    pub(crate) fn learn(&mut self, host: String, me: Proc) {
        let Some(id) = me.entity_id() else {
            return;
        };
        let h = self.hash(&host, id);
        if let Some(slot) = self.find(h, &host, id) {
            if let Some(k) = self.ring.get_mut(slot) {
                k.info.merge(&me);
                k.used = true;
            }
            return;
        }
        if let Some(parent) = me.get(PARENT_ENTITY_ID) {
            let ph = self.hash(&host, parent);
            if let Some(k) = self
                .find(ph, &host, parent)
                .and_then(|s| self.ring.get_mut(s))
            {
                k.used = true;
            }
        }
        let host = self.share(host);
        let kept = Kept {
            host,
            info: me,
            used: false,
        };
        if self.ring.len() < self.max {
            let slot = self.ring.len() as u32;
            self.ring.push(kept);
            self.insert_index(h, slot);
            return;
        }
        // Full: the hand spares used processes once (clearing the mark) and evicts the first
        // unused one; at most one round, since it clears every mark it passes.
        let slot = loop {
            let slot = self.hand;
            self.hand = (self.hand + 1) % self.max;
            match self.ring.get_mut(slot) {
                Some(k) if k.used => k.used = false,
                _ => break slot,
            }
        };
        if let Some(old) = self.ring.get(slot) {
            let oh = self.hash(&old.host, eid(old));
            if let Ok(e) = self.index.find_entry(oh, |&s| s as usize == slot) {
                e.remove();
            }
        }
        if let Some(s) = self.ring.get_mut(slot) {
            *s = kept;
        }
        self.insert_index(h, slot as u32);
    }

    fn find(&self, h: u64, host: &str, id: &str) -> Option<usize> {
        let ring = &self.ring;
        self.index
            .find(h, |&s| {
                ring.get(s as usize)
                    .is_some_and(|k| eid(k) == id && *k.host == *host)
            })
            .map(|&s| s as usize)
    }

    fn insert_index(&mut self, h: u64, slot: u32) {
        let (ring, hasher) = (&self.ring, &self.hasher);
        self.index.insert_unique(h, slot, |&s| {
            ring.get(s as usize)
                .map_or(0, |k| hasher.hash_one((&*k.host, eid(k))))
        });
    }

    fn share(&mut self, host: String) -> Arc<str> {
        if let Some(h) = self.hosts.iter().find(|h| ***h == *host) {
            return h.clone();
        }
        let h: Arc<str> = host.into();
        if self.hosts.len() >= HOSTS {
            self.hosts.remove(0);
        }
        self.hosts.push(h.clone());
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, VecDeque};

    fn info(id: &str, name: Option<&str>, user: Option<&str>) -> ProcInfo {
        ProcInfo {
            entity_id: Some(id.into()),
            name: name.map(Into::into),
            user: user.map(Into::into),
            ..ProcInfo::default()
        }
    }

    fn merge(into: &mut ProcInfo, from: ProcInfo) {
        into.pid = into.pid.or(from.pid);
        into.name = into.name.take().or(from.name);
        into.user = into.user.take().or(from.user);
        into.parent_entity_id = into.parent_entity_id.take().or(from.parent_entity_id);
    }

    #[test]
    fn compact_processes_keep_every_field() {
        let full = ProcInfo {
            entity_id: Some("e".into()),
            pid: Some(-3),
            name: Some(String::new()),
            executable: None,
            command_line: Some("sh -c 'é'".into()),
            user: None,
            parent_entity_id: Some("pé".into()),
        };
        let p = Proc::from_info(&full);
        assert_eq!(p.info(), full);
        assert_eq!(
            Proc::from_info(&ProcInfo::default()).info(),
            ProcInfo::default()
        );
        // Known fields win; unknown ones are filled.
        let mut known = Proc::from_info(&ProcInfo {
            entity_id: Some("e".into()),
            user: Some("root".into()),
            ..ProcInfo::default()
        });
        known.merge(&p);
        let want = ProcInfo {
            user: Some("root".into()),
            ..full.clone()
        };
        assert_eq!(known.info(), want);
    }

    /// Against a plain model of the clock rule: a map, a queue of keys (the hand at its
    /// front; a spared key goes to the back) and a used mark per key.
    #[test]
    fn agrees_with_a_model_of_the_clock() {
        let mut spared = 0;
        for max in [1usize, 2, 3, 7, 50] {
            let mut t = ProcTable::new(max);
            let mut map: HashMap<(String, String), ProcInfo> = HashMap::new();
            let mut used: HashMap<(String, String), bool> = HashMap::new();
            let mut order: VecDeque<(String, String)> = VecDeque::new();
            let mut x: u64 = 12345;
            for i in 0..2000u64 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let host = format!("h{}", (x >> 60) % 3);
                let id = format!("p{}", (x >> 40) % 40);
                let name = (x >> 20).is_multiple_of(2).then(|| format!("n{i}"));
                let user = (x >> 21).is_multiple_of(3).then(|| format!("u{i}"));
                let mut me = info(&id, name.as_deref(), user.as_deref());
                me.parent_entity_id = (x >> 24)
                    .is_multiple_of(2)
                    .then(|| format!("p{}", (x >> 30) % 40));
                let key = (host.clone(), id.clone());
                match map.get_mut(&key) {
                    Some(k) => {
                        merge(k, me.clone());
                        used.insert(key, true);
                    }
                    None => {
                        if let Some(p) = &me.parent_entity_id {
                            let pk = (host.clone(), p.clone());
                            if map.contains_key(&pk) {
                                used.insert(pk, true);
                            }
                        }
                        if order.len() >= max {
                            while let Some(old) = order.pop_front() {
                                if used.get(&old) == Some(&true) {
                                    used.insert(old.clone(), false);
                                    order.push_back(old);
                                    spared += 1;
                                } else {
                                    map.remove(&old);
                                    used.remove(&old);
                                    break;
                                }
                            }
                        }
                        order.push_back(key.clone());
                        used.insert(key.clone(), false);
                        map.insert(key, me.clone());
                    }
                }
                t.learn(host, Proc::from_info(&me));
                assert_eq!(t.len(), map.len());
                for h in ["h0", "h1", "h2"] {
                    for p in 0..40 {
                        let id = format!("p{p}");
                        assert_eq!(
                            t.get(h, &id).map(Proc::info),
                            map.get(&(h.to_string(), id.clone())).cloned(),
                            "max {max} step {i} {h} {id}"
                        );
                    }
                }
            }
        }
        // The clock did spare processes (else this is only the queue test again).
        assert!(spared > 100, "{spared}");
    }

    /// A long-lived parent that keeps spawning outlives a stream of short-lived processes many
    /// times the table's size.
    #[test]
    fn a_busy_parent_is_kept() {
        let mut t = ProcTable::new(16);
        let mut shell = info("shell", Some("bash"), None);
        t.learn("h".into(), Proc::from_info(&shell));
        shell.parent_entity_id = None;
        for i in 0..1000 {
            let mut child = info(&format!("c{i}"), Some("ls"), None);
            if i % 8 == 0 {
                child.parent_entity_id = Some("shell".into());
            }
            t.learn("h".into(), Proc::from_info(&child));
        }
        assert_eq!(t.get("h", "shell").map(Proc::info), Some(shell));
        assert!(t.get("h", "c0").is_none());
        assert!(t.get("h", "c999").is_some());
    }
}
