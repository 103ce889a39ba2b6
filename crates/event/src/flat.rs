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
    values: Box<[Value]>,
    /// The leaves' slots, in the same order: lookups search this (a few cache lines) rather
    /// than the values themselves.
    keys: Box<[u32]>,
}

impl PartialEq for Flat {
    fn eq(&self, other: &Flat) -> bool {
        self.to_value() == other.to_value()
    }
}

impl Flat {
    /// Takes the leaves out of `scratch` (left empty, its capacity kept for the next record).
    pub(crate) fn new(slots: Arc<Slots>, scratch: &mut Vec<Leaf>) -> Flat {
        scratch.sort_unstable_by_key(|l| (l.slot, l.order, l.seq));
        let keys = scratch.iter().map(|l| l.slot).collect();
        let values = scratch.drain(..).map(|l| l.value).collect();
        Flat {
            slots,
            values,
            keys,
        }
    }

    /// Every value of `path`, in order: never null, never an array (flattened when stored).
    #[inline]
    pub fn values_of(&self, path: &FieldPath) -> &[Value] {
        let Some(slot) = self.slots.slot(path) else {
            return &[];
        };
        let lo = self.keys.partition_point(|&k| k < slot);
        let n = self.keys[lo..].partition_point(|&k| k == slot);
        self.values.get(lo..lo + n).unwrap_or(&[])
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
        for (slot, v) in self.keys.iter().zip(self.values.iter()) {
            if !self.slots.text.get(*slot as usize).copied().unwrap_or(true) {
                continue;
            }
            let t: &str = match v {
                Value::String(s) => s,
                Value::Bool(true) => "true",
                Value::Bool(false) => "false",
                _ => continue,
            };
            out.extend_from_slice(t.as_bytes());
            out.push(0);
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
        for (slot, value) in self.keys.iter().zip(self.values.iter()) {
            let name = self
                .slots
                .names
                .get(*slot as usize)
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
