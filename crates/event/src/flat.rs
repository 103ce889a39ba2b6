//! A projected event stored flat: the leaf values of the wanted fields in one vector, each
//! field's values one run of it, with no objects, keys or maps (see [`crate::Projection`]).
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

/// What the scanner notes of each leaf value of a wanted field, in document order (the values
/// themselves go straight into the event's value vector, see [`Flat::new`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tag {
    pub slot: u32,
    /// How the document spelled the path (see the module documentation); smaller first.
    pub order: u64,
}

/// A projected event: see the module documentation.
#[derive(Debug, Clone)]
pub struct Flat {
    slots: Arc<Slots>,
    /// The leaves' values, each a scalar or an object: in document order, where each
    /// field's values are one run (see [`Flat::new`]).
    values: Vec<Value>,
    /// Per slot, the run of its values in `values` (start, end; `[0, 0]` for none).
    ranges: Vec<[u32; 2]>,
}

/// The buffers of this thread's dropped flat events, reused by the next events it projects:
/// a hunt drops each event (on the thread that projected it) before the next few are
/// projected, so in the common case projecting allocates nothing. Its string leaves, values
/// and slot runs take over buffers that were just in use (still in cache), instead of one
/// allocation per string and their frees after the event.
#[derive(Default)]
pub(crate) struct Spare {
    /// Each of capacity at least [`SPARE_CAPACITY`] (see `project::short_copy`).
    pub strings: Vec<String>,
    pub values: Vec<Vec<Value>>,
    ranges: Vec<Vec<[u32; 2]>>,
}

/// Spare strings have at least this capacity: a short string is copied into one as sixteen
/// bytes at once.
pub(crate) const SPARE_CAPACITY: usize = 16;
/// At most this many spare strings (a few events' worth) and vectors are kept per thread,
/// and no string larger than this (a huge value is not held on to): at most 1 MB.
const SPARE_STRINGS: usize = 1024;
const SPARE_MAX_CAPACITY: usize = 1024;
const SPARE_VECS: usize = 8;

impl Spare {
    const fn new() -> Spare {
        Spare {
            strings: Vec::new(),
            values: Vec::new(),
            ranges: Vec::new(),
        }
    }

    pub(crate) fn keep_string(&mut self, s: String) {
        if (SPARE_CAPACITY..=SPARE_MAX_CAPACITY).contains(&s.capacity())
            && self.strings.len() < SPARE_STRINGS
        {
            self.strings.push(s);
        }
    }

    fn keep(&mut self, flat: &mut Flat) {
        self.keep_values(std::mem::take(&mut flat.values));
        if self.ranges.len() < SPARE_VECS && flat.ranges.capacity() > 0 {
            flat.ranges.clear();
            self.ranges.push(std::mem::take(&mut flat.ranges));
        }
    }

    /// Takes back a value vector (its strings too).
    pub(crate) fn keep_values(&mut self, mut values: Vec<Value>) {
        for v in values.drain(..) {
            if let Value::String(s) = v {
                self.keep_string(s);
            }
        }
        if self.values.len() < SPARE_VECS && values.capacity() > 0 {
            self.values.push(values);
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
    /// Per-thread buffers of [`Flat::new`]'s rare path: the spelling order and the slot of
    /// each placed value.
    static ORDERS: std::cell::RefCell<(Vec<u64>, Vec<u32>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

impl PartialEq for Flat {
    fn eq(&self, other: &Flat) -> bool {
        self.to_value() == other.to_value()
    }
}

impl Flat {
    /// The event of `values` (the leaves, in document order) and their `tags`. In nearly
    /// every record each field is spelled one way and its values (one, or an array's) lie
    /// together: they are left where they are, and each slot notes its run. Otherwise (one
    /// field spelled both nested and dotted, say) the values are regrouped by slot, keeping
    /// document order within a slot, and a slot whose values were spelled in different
    /// orders is then sorted by spelling order.
    pub(crate) fn new(
        slots: Arc<Slots>,
        values: Vec<Value>,
        tags: &[Tag],
        spare: &mut Spare,
    ) -> Flat {
        debug_assert_eq!(values.len(), tags.len());
        let n = slots.names.len();
        let mut ranges = spare.ranges.pop().unwrap_or_default();
        ranges.clear();
        ranges.resize(n, [0, 0]);
        if runs(&mut ranges, tags) {
            return Flat {
                slots,
                values,
                ranges,
            };
        }
        let values = regroup(n, values, tags, &mut ranges);
        Flat {
            slots,
            values,
            ranges,
        }
    }

    /// Every value of `path`, in order: never null, never an array (flattened when stored).
    #[inline]
    pub fn values_of(&self, path: &FieldPath) -> &[Value] {
        match self.slots.slot(path) {
            Some(slot) => self.slot_values(slot as usize),
            None => &[],
        }
    }

    #[inline]
    fn slot_values(&self, slot: usize) -> &[Value] {
        match self.ranges.get(slot) {
            Some(&[a, b]) => self.values.get(a as usize..b as usize).unwrap_or(&[]),
            None => &[],
        }
    }

    /// Each slot with its values, in slot order.
    fn by_slot(&self) -> impl Iterator<Item = (usize, &[Value])> {
        (0..self.ranges.len()).map(|s| (s, self.slot_values(s)))
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
            for v in self.slot_values(slot as usize) {
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

/// Notes in `ranges` (all `[0, 0]`) the run of each slot's values, if every slot's values
/// lie together in spelling order; else `false`.
fn runs(ranges: &mut [[u32; 2]], tags: &[Tag]) -> bool {
    let mut prev_order = 0u64;
    for (i, t) in tags.iter().enumerate() {
        let i = i as u32;
        let Some(r) = ranges.get_mut(t.slot as usize) else {
            return false;
        };
        if r[1] == 0 {
            *r = [i, i + 1];
        } else if r[1] == i && prev_order <= t.order {
            r[1] = i + 1;
        } else {
            return false;
        }
        prev_order = t.order;
    }
    true
}

/// The values grouped by slot (a counting sort: O(values + slots), document order kept
/// within a slot), then sorted by spelling order where a slot mixes spellings; `ranges`
/// (of length `n`) set to the slots' runs. Values of no slot (none in practice) are dropped.
fn regroup(n: usize, values: Vec<Value>, tags: &[Tag], ranges: &mut [[u32; 2]]) -> Vec<Value> {
    // starts[s + 1] counts slot s, then (prefix sums) is where slot s + 1 begins, and serves
    // as slot s's cursor while values are placed.
    let mut starts = vec![0u32; n + 1];
    for t in tags {
        if let Some(c) = starts.get_mut(t.slot as usize + 1) {
            *c += 1;
        }
    }
    let mut sum = 0u32;
    for c in starts.iter_mut() {
        sum += *c;
        *c = sum;
    }
    let kept = sum as usize;
    for (s, r) in ranges.iter_mut().enumerate() {
        *r = [
            starts.get(s).copied().unwrap_or(0),
            starts.get(s + 1).copied().unwrap_or(0),
        ];
    }
    let mut placed = vec![Value::Null; kept];
    ORDERS.with(|cell| {
        let (orders, placed_slots) = &mut *cell.borrow_mut();
        orders.clear();
        orders.resize(kept, 0);
        placed_slots.clear();
        placed_slots.resize(kept, u32::MAX);
        for (v, t) in values.into_iter().zip(tags) {
            let Some(d) = starts.get_mut(t.slot as usize).map(|c| {
                *c += 1;
                *c as usize - 1
            }) else {
                continue;
            };
            if let (Some(p), Some(o), Some(ps)) = (
                placed.get_mut(d),
                orders.get_mut(d),
                placed_slots.get_mut(d),
            ) {
                *p = v;
                *o = t.order;
                *ps = t.slot;
            }
        }
        let mixed = (1..kept).any(|i| {
            placed_slots.get(i) == placed_slots.get(i - 1) && orders.get(i) < orders.get(i - 1)
        });
        if mixed {
            sort_by_order(ranges, &mut placed, orders);
        }
    });
    placed
}

/// Sorts the values of each slot whose values are not in spelling order by it (stable:
/// document order among equals).
fn sort_by_order(ranges: &[[u32; 2]], values: &mut [Value], orders: &[u64]) {
    for &[a, b] in ranges {
        let (a, b) = (a as usize, b as usize);
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
