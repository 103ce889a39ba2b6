//! JSON fragments of processes that many events repeat: a parent's `process.parent` object
//! and each ancestor's `process.ancestors` entry are the same for every exec of its children
//! (an exec storm's /bin/true all have the same parent and ancestors). Building a
//! `serde_json` object hashes every key as it is inserted; cloning one copies its hash index
//! instead, so repeated fragments are built once and cloned.
//!
//! A fragment is reused only while the process still has the same identity and the same
//! strings: the entry keeps the `Arc`s it was built from and compares pointers, so an exec
//! (new name, executable or argv) or a reused pid makes a new fragment. Holding the `Arc`s
//! also keeps their addresses from being reused by other strings while the entry lives.

use super::EventShape;
use crate::table::{EntityId, Key, ProcInfo};
use foldhash::HashMap;
use serde_json::Value;
use std::cell::RefCell;
use std::sync::Arc;

/// Fragments kept before the cache starts over (bounds its memory: a few hundred KiB).
const MAX_FRAGMENTS: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// `process.parent`.
    Parent,
    /// One `process.ancestors` entry.
    Ancestor,
}

struct Fragment {
    pid: u32,
    entity_id: EntityId,
    name: Arc<str>,
    executable: Arc<str>,
    args: Arc<str>,
    args_count: usize,
    value: Value,
}

impl Fragment {
    fn still_describes(&self, p: &ProcInfo) -> bool {
        self.pid == p.pid
            && self.entity_id == p.entity_id
            && self.args_count == p.args_count
            && Arc::ptr_eq(&self.name, &p.name)
            && Arc::ptr_eq(&self.executable, &p.executable)
            && Arc::ptr_eq(&self.args, &p.args)
    }
}

/// Objects that depend on no process: the same for every event of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Const {
    /// `host`.
    Host,
    /// `event`, by kind.
    Event(EventShape),
    /// A `user` object, by uid.
    User(u32),
}

/// Built fragments by process and kind (single-threaded, behind the builder's shared borrow).
#[derive(Default)]
pub struct Fragments {
    map: RefCell<HashMap<(Key, Kind), Fragment>>,
    consts: RefCell<HashMap<Const, Value>>,
    hits: std::cell::Cell<u64>,
}

impl Fragments {
    /// The fragment of `kind` for `p`: a clone of the one built before if `p` is unchanged,
    /// else `build()` (kept for next time).
    pub(crate) fn get(&self, p: &ProcInfo, kind: Kind, build: impl FnOnce() -> Value) -> Value {
        let key = (p.key(), kind);
        let Ok(mut map) = self.map.try_borrow_mut() else {
            return build();
        };
        if let Some(f) = map.get(&key) {
            if f.still_describes(p) {
                self.hits.set(self.hits.get() + 1);
                return f.value.clone();
            }
        }
        let value = build();
        if map.len() >= MAX_FRAGMENTS {
            map.clear();
        }
        map.insert(
            key,
            Fragment {
                pid: p.pid,
                entity_id: p.entity_id,
                name: Arc::clone(&p.name),
                executable: Arc::clone(&p.executable),
                args: Arc::clone(&p.args),
                args_count: p.args_count,
                value: value.clone(),
            },
        );
        value
    }

    /// The object `key` names, built once (a clone of it).
    pub(crate) fn constant(&self, key: Const, build: impl FnOnce() -> Value) -> Value {
        let Ok(mut map) = self.consts.try_borrow_mut() else {
            return build();
        };
        if let Some(v) = map.get(&key) {
            self.hits.set(self.hits.get() + 1);
            return v.clone();
        }
        let value = build();
        // Users are the only open-ended key: bounded like the fragments.
        if map.len() >= MAX_FRAGMENTS {
            map.clear();
        }
        map.insert(key, value.clone());
        value
    }

    /// Fragments reused so far.
    pub fn hits(&self) -> u64 {
        self.hits.get()
    }

    pub fn len(&self) -> usize {
        self.map.try_borrow().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn proc_(pid: u32, name: &str, args: &[&str]) -> ProcInfo {
        let mut p = ProcInfo {
            pid,
            start_ticks: 7,
            name: name.into(),
            ..Default::default()
        };
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        p.set_args(&a, a.len());
        p
    }

    #[test]
    fn reused_while_unchanged_rebuilt_after_exec() {
        let c = Fragments::default();
        let mut p = proc_(5, "bash", &["bash"]);
        let v = c.get(&p, Kind::Ancestor, || json!({"name": "bash"}));
        assert_eq!(v, json!({"name": "bash"}));
        let again = c.get(&p, Kind::Ancestor, || json!({"name": "WRONG"}));
        assert_eq!(again, json!({"name": "bash"}));
        assert_eq!(c.hits(), 1);
        // The other kind is its own fragment.
        let other = c.get(&p, Kind::Parent, || json!({"parent": true}));
        assert_eq!(other, json!({"parent": true}));
        // An exec: new strings (even equal ones are new allocations), a new fragment.
        p.name = "python3".into();
        let after = c.get(&p, Kind::Ancestor, || json!({"name": "python3"}));
        assert_eq!(after, json!({"name": "python3"}));
        let mut q = p.clone();
        q.set_args(&["python3".to_string(), "-c".to_string()], 2);
        let argv = c.get(&q, Kind::Ancestor, || json!({"argv": 2}));
        assert_eq!(argv, json!({"argv": 2}));
        assert_eq!(c.hits(), 1);
    }

    #[test]
    fn bounded() {
        let c = Fragments::default();
        for pid in 0..(MAX_FRAGMENTS as u32 * 3) {
            let p = proc_(pid, "x", &["x"]);
            c.get(&p, Kind::Ancestor, || json!(pid));
        }
        assert!(c.len() <= MAX_FRAGMENTS);
    }
}
