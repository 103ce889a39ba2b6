//! A projected event stored flat: the leaf values of the wanted fields, each tagged with its
//! field's slot, in one vector, with no objects, keys or maps (see [`crate::Projection`]).
//!
//! [`crate::Event::values`] on a flat event gives exactly what it gives on the fully parsed
//! document for every wanted field, in the same order: arrays are flattened and nulls dropped
//! when the leaves are stored, and leaves of one field are sorted by how the document spelled
//! the path (the whole remaining path as one key first, then splits from the shortest key, at
//! each level, as [`crate::FieldPath`] walks), document order among equal spellings.

use crate::path::{first_flat, push_flat};
use crate::{FieldPath, Values};
use serde_json::Value;
use std::sync::Arc;

/// Slot numbers of the wanted fields, indexed by [`FieldPath::id`].
#[derive(Debug, Default)]
pub struct Slots {
    by_id: Vec<u32>,
    names: Vec<Box<str>>,
    /// Per slot: whether [`Flat::texts`] includes it.
    text: Vec<bool>,
    /// The slots [`Flat::texts`] includes, ascending.
    text_slots: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl Slots {
    pub(crate) fn new(fields: &[Box<str>]) -> Slots {
        let mut by_id = Vec::new();
        for (slot, f) in fields.iter().enumerate() {
            let id = FieldPath::new(f).id() as usize;
            if by_id.len() <= id {
                by_id.resize(id + 1, NONE);
            }
            by_id[id] = slot as u32;
        }
        Slots {
            by_id,
            names: fields.to_vec(),
            text: vec![true; fields.len()],
            text_slots: (0..fields.len() as u32).collect(),
        }
    }

    /// Limits [`Flat::texts`] to these fields.
    pub(crate) fn set_text_fields(&mut self, fields: &[FieldPath]) {
        self.text.iter_mut().for_each(|t| *t = false);
        for f in fields {
            if let Some(s) = self.slot(f) {
                if let Some(t) = self.text.get_mut(s as usize) {
                    *t = true;
                }
            }
        }
        self.text_slots = (0..self.text.len() as u32)
            .filter(|&s| self.text.get(s as usize).copied().unwrap_or(false))
            .collect();
    }

    #[inline]
    fn slot(&self, path: &FieldPath) -> Option<u32> {
        self.by_id
            .get(path.id() as usize)
            .copied()
            .filter(|&s| s != NONE)
    }
}

/// One leaf value of a wanted field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Leaf {
    pub slot: u32,
    /// How the document spelled the path (see the module documentation); smaller first.
    pub order: u64,
    /// Position in the document, among the record's leaves.
    pub seq: u32,
    /// A scalar or an object (never null, never an array).
    pub value: Value,
}

/// A projected event: see the module documentation.
#[derive(Debug, Clone)]
pub struct Flat {
    slots: Arc<Slots>,
    /// The leaves' values, sorted by (slot, order, seq): each a scalar or an object.
    values: Vec<Value>,
    /// Per slot, where its values start in `values`, then `values.len()` (and one unused
    /// entry, see [`Flat::new`]): a field's values are found by two loads.
    starts: Vec<u32>,
}

/// The buffers of this thread's dropped flat events, reused by the next events it projects:
/// a hunt drops each event (on the thread that projected it) before the next few are
/// projected, so in the common case projecting allocates nothing. Its string leaves, values
/// and slot starts take over buffers that were just in use (still in cache), instead of one
/// allocation per string and their frees after the event.
#[derive(Default)]
pub(crate) struct Spare {
    /// Each of capacity at least [`SPARE_CAPACITY`] (see `project::short_copy`).
    pub strings: Vec<String>,
    values: Vec<Vec<Value>>,
    starts: Vec<Vec<u32>>,
}

/// Spare strings have at least this capacity: a short string is copied into one as sixteen
/// bytes at once.
pub(crate) const SPARE_CAPACITY: usize = 16;
/// At most this many spare strings (a few events' worth) and vectors are kept per thread.
const SPARE_STRINGS: usize = 1024;
const SPARE_VECS: usize = 8;

impl Spare {
    const fn new() -> Spare {
        Spare {
            strings: Vec::new(),
            values: Vec::new(),
            starts: Vec::new(),
        }
    }

    pub(crate) fn keep_string(&mut self, s: String) {
        if s.capacity() >= SPARE_CAPACITY && self.strings.len() < SPARE_STRINGS {
            self.strings.push(s);
        }
    }

    fn keep(&mut self, flat: &mut Flat) {
        for v in flat.values.drain(..) {
            if let Value::String(s) = v {
                self.keep_string(s);
            }
        }
        if self.values.len() < SPARE_VECS && flat.values.capacity() > 0 {
            self.values.push(std::mem::take(&mut flat.values));
        }
        if self.starts.len() < SPARE_VECS && flat.starts.capacity() > 0 {
            flat.starts.clear();
            self.starts.push(std::mem::take(&mut flat.starts));
        }
    }
}

thread_local! {
    /// See [`Spare`].
    pub(crate) static SPARE: std::cell::RefCell<Spare> =
        const { std::cell::RefCell::new(Spare::new()) };
}

impl Drop for Flat {
    fn drop(&mut self) {
        // A thread being torn down, or a drop while this thread projects (the spare buffers
        // are then in use): the buffers are simply freed.
        let _ = SPARE.try_with(|cell| {
            if let Ok(mut spare) = cell.try_borrow_mut() {
                spare.keep(self);
            }
        });
    }
}

thread_local! {
    /// Per-thread buffers of [`Flat::new`]: the spelling order and the slot of each placed
    /// value.
    static ORDERS: std::cell::RefCell<(Vec<u64>, Vec<u32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

impl PartialEq for Flat {
    fn eq(&self, other: &Flat) -> bool {
        self.to_value() == other.to_value()
    }
}

impl Flat {
    /// Takes the leaves out of `scratch` (left empty, its capacity kept for the next record).
    /// The leaves come in document order (`seq` ascending): a counting sort by slot keeps
    /// that order within a slot, and a slot whose leaves were spelled in different orders
    /// (rare: one field spelled both nested and dotted) is then sorted by spelling order.
    pub(crate) fn new(slots: Arc<Slots>, scratch: &mut Vec<Leaf>, spare: &mut Spare) -> Flat {
        debug_assert!(scratch.windows(2).all(|w| w[0].seq < w[1].seq));
        let n = slots.names.len();
        // starts[s + 2] counts slot s; after the prefix sum starts[s + 1] is where slot s
        // begins, and serves as its cursor while leaves are placed, ending where slot s + 1
        // begins: then starts[s] is where slot s begins for every s ≤ n (the last entry,
        // starts[n + 1], is not used). O(leaves + slots), one pass over the slots.
        let mut starts = spare.starts.pop().unwrap_or_default();
        starts.clear();
        starts.resize(n + 2, 0);
        let mut kept = 0usize;
        for l in scratch.iter() {
            if (l.slot as usize) < n {
                if let Some(c) = starts.get_mut(l.slot as usize + 2) {
                    *c += 1;
                    kept += 1;
                }
            }
        }
        let mut sum = 0u32;
        for c in starts.iter_mut() {
            sum += *c;
            *c = sum;
        }
        let mut values = spare.values.pop().unwrap_or_default();
        values.clear();
        values.resize(kept, Value::Null);
        ORDERS.with(|cell| {
            let (orders, placed_slots) = &mut *cell.borrow_mut();
            orders.clear();
            orders.resize(kept, 0);
            placed_slots.clear();
            placed_slots.resize(kept, u32::MAX);
            for l in scratch.drain(..) {
                let s = l.slot as usize;
                if s >= n {
                    continue;
                }
                let Some(d) = starts.get_mut(s + 1).map(|c| {
                    *c += 1;
                    *c as usize - 1
                }) else {
                    continue;
                };
                if let (Some(v), Some(o), Some(ps)) = (
                    values.get_mut(d),
                    orders.get_mut(d),
                    placed_slots.get_mut(d),
                ) {
                    *v = l.value;
                    *o = l.order;
                    *ps = l.slot;
                }
            }
            // A slot spelled in more than one order (rare) is sorted by spelling order.
            let mixed = (1..kept).any(|i| {
                placed_slots.get(i) == placed_slots.get(i - 1) && orders.get(i) < orders.get(i - 1)
            });
            if mixed {
                sort_by_order(&starts[..=n], &mut values, orders);
            }
        });
        Flat {
            slots,
            values,
            starts,
        }
    }

    /// Every value of `path`, in order: never null, never an array (flattened when stored).
    #[inline]
    pub fn values_of(&self, path: &FieldPath) -> &[Value] {
        let Some(slot) = self.slots.slot(path) else {
            return &[];
        };
        let slot = slot as usize;
        match (self.starts.get(slot), self.starts.get(slot + 1)) {
            (Some(&a), Some(&b)) => self.values.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Each slot with its values, in slot order.
    fn by_slot(&self) -> impl Iterator<Item = (usize, &[Value])> {
        let n = self.slots.names.len();
        self.starts.windows(2).take(n).enumerate().map(|(s, w)| {
            (
                s,
                self.values.get(w[0] as usize..w[1] as usize).unwrap_or(&[]),
            )
        })
    }

    pub(crate) fn collect<'a>(&'a self, path: &FieldPath, out: &mut Values<'a>) {
        for v in self.values_of(path) {
            push_flat(v, out);
        }
    }

    pub(crate) fn first<'a>(&'a self, path: &FieldPath) -> Option<&'a Value> {
        self.values_of(path).iter().find_map(first_flat)
    }

    /// Appends the text of every string and boolean leaf to `out`, each followed by a NUL
    /// byte: what a literal prefilter needs to see of the event (string tests compare
    /// numbers by their text, which is digits, `-` and `.` only, see
    /// `spawnguard_query::prefilter`; objects never pass a string test). Only the fields
    /// given to [`crate::Projection::with_text_fields`], if it was called.
    pub fn texts(&self, out: &mut Vec<u8>) {
        self.each_text(|t| {
            out.extend_from_slice(t);
            out.push(0);
        });
    }

    /// Each text that [`Flat::texts`] joins, in the same order.
    #[inline]
    pub fn each_text(&self, mut f: impl FnMut(&[u8])) {
        for &slot in &self.slots.text_slots {
            let slot = slot as usize;
            let vs = match (self.starts.get(slot), self.starts.get(slot + 1)) {
                (Some(&a), Some(&b)) => self.values.get(a as usize..b as usize).unwrap_or(&[]),
                _ => &[],
            };
            for v in vs {
                let t: &str = match v {
                    Value::String(s) => s,
                    Value::Bool(true) => "true",
                    Value::Bool(false) => "false",
                    _ => continue,
                };
                f(t.as_bytes());
            }
        }
    }

    /// How many leaf values the event holds.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The wanted fields that have values, as one object of dotted keys (a field with one
    /// value maps to it, one with several to an array of them): for display and tests.
    pub fn to_value(&self) -> Value {
        let mut map = serde_json::Map::new();
        for (slot, value) in self
            .by_slot()
            .flat_map(|(s, vs)| vs.iter().map(move |v| (s, v)))
        {
            let name = self
                .slots
                .names
                .get(slot)
                .map(|n| n.to_string())
                .unwrap_or_default();
            match map.get_mut(&name) {
                None => {
                    map.insert(name, value.clone());
                }
                Some(Value::Array(items)) => items.push(value.clone()),
                Some(prev) => {
                    let first = prev.take();
                    *prev = Value::Array(vec![first, value.clone()]);
                }
            }
        }
        Value::Object(map)
    }
}

/// Sorts the values of each slot whose values are not in spelling order by it (stable:
/// document order among equals).
fn sort_by_order(starts: &[u32], values: &mut [Value], orders: &[u64]) {
    for w in starts.windows(2) {
        let (a, b) = (w[0] as usize, w[1] as usize);
        if b.saturating_sub(a) < 2 {
            continue;
        }
        let (Some(vs), Some(os)) = (values.get_mut(a..b), orders.get(a..b)) else {
            continue;
        };
        if os.windows(2).all(|o| o[0] <= o[1]) {
            continue;
        }
        let mut items: Vec<(u64, Value)> = os
            .iter()
            .zip(vs.iter_mut())
            .map(|(&o, v)| (o, v.take()))
            .collect();
        items.sort_by_key(|(o, _)| *o);
        for (v, (_, item)) in vs.iter_mut().zip(items) {
            *v = item;
        }
    }
}
