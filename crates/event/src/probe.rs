//! A look at a few of an event's fields before the event exists.
//!
//! A live sensor knows, from its raw record, what an event *would* hold in its cheap fields
//! (`event.category`, `process.name`, `process.parent.name`, …) before it pays for building
//! the document. A [`Probe`] hands those values to whoever decides whether the document is
//! worth building (`spawnguard_engine::Gate`). The contract: for every field the probe says it
//! provides, [`Probe::each`] gives exactly the values the built event would hold there, every
//! element of an array, as text; nothing when the event would not have the field.

use crate::{Event, FieldPath, Value};

pub trait Probe {
    /// Calls `f` with each value the event has (or would have) at `field`, as text.
    fn each(&self, field: &str, f: &mut dyn FnMut(&str));

    /// Whether the event holds an array at `field` (even of one element).
    fn array(&self, _field: &str) -> bool {
        false
    }
}

/// A built event seen as a probe (for tests of probes and gates): string values as they
/// are, numbers and booleans as their JSON text; objects and nulls are skipped.
pub struct EventProbe<'a>(pub &'a Event);

impl Probe for EventProbe<'_> {
    fn each(&self, field: &str, f: &mut dyn FnMut(&str)) {
        for v in self.0.values(&FieldPath::new(field)) {
            match v {
                Value::String(s) => f(s),
                Value::Number(n) => f(&n.to_string()),
                Value::Bool(b) => f(if *b { "true" } else { "false" }),
                _ => {}
            }
        }
    }

    fn array(&self, field: &str) -> bool {
        self.0
            .doc()
            .pointer(&format!("/{}", field.replace('.', "/")))
            .is_some_and(Value::is_array)
    }
}
