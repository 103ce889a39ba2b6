//! The event model shared by every part of spawnguard.
//!
//! An event is an ECS document: a JSON object whose fields may be nested objects
//! (`{"process": {"name": "sh"}}`), dotted keys (`{"process.name": "sh"}`), or any mix of
//! the two. [`FieldPath`] names a field once; [`Event::values`] finds every value stored
//! under it, flattening arrays the way Elasticsearch indexes them, so that "any element of an
//! array matches" falls out of the lookup.

pub mod bytes;
pub mod flat;
mod path;
pub mod probe;
pub mod project;
pub mod reader;

pub use flat::Flat;
pub use path::FieldPath;
pub use probe::Probe;
pub use project::Projection;
pub use serde_json::{Map, Number, Value};
use smallvec::SmallVec;

/// The values found under one field: usually zero or one, sometimes a handful (arrays).
pub type Values<'a> = SmallVec<[&'a Value; 4]>;

/// One ECS document: parsed in full, or projected flat onto the fields a rule set reads
/// ([`Projection::project`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    repr: Repr,
}

#[derive(Debug, Clone, PartialEq)]
enum Repr {
    Doc(Value),
    Flat(Flat),
}

/// What [`Event::doc`] shows of a flat event: it has no document.
static NO_DOC: Value = Value::Null;

impl Event {
    /// Wraps a JSON value. Anything that is not an object is still an event, one with no fields.
    pub fn new(doc: Value) -> Self {
        Event {
            repr: Repr::Doc(doc),
        }
    }

    pub(crate) fn flat(f: Flat) -> Self {
        Event {
            repr: Repr::Flat(f),
        }
    }

    /// Parses one JSON document.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes).map(Event::new)
    }

    /// Whether this is a projection (only the projected fields, no document).
    pub fn is_flat(&self) -> bool {
        matches!(self.repr, Repr::Flat(_))
    }

    /// The projection, if the event is one.
    pub fn as_flat(&self) -> Option<&Flat> {
        match &self.repr {
            Repr::Flat(f) => Some(f),
            Repr::Doc(_) => None,
        }
    }

    /// The document; `null` for a projected event, whose whole document is the record's
    /// bytes (see `spawnguard_engine`'s lazy events).
    pub fn doc(&self) -> &Value {
        match &self.repr {
            Repr::Doc(d) => d,
            Repr::Flat(_) => &NO_DOC,
        }
    }

    /// The document, made whole first if the event is a projection (its fields as dotted keys).
    pub fn doc_mut(&mut self) -> &mut Value {
        if let Repr::Flat(f) = &self.repr {
            self.repr = Repr::Doc(f.to_value());
        }
        match &mut self.repr {
            Repr::Doc(d) => d,
            Repr::Flat(_) => unreachable!("made a document just above"),
        }
    }

    /// The document (for a projection, its fields as dotted keys).
    pub fn into_doc(self) -> Value {
        match self.repr {
            Repr::Doc(d) => d,
            Repr::Flat(f) => f.to_value(),
        }
    }

    /// Every non-null leaf value stored under `path`, arrays flattened.
    pub fn values<'a>(&'a self, path: &FieldPath) -> Values<'a> {
        let mut out = Values::new();
        match &self.repr {
            Repr::Doc(d) => path.collect(d, &mut out),
            Repr::Flat(f) => f.collect(path, &mut out),
        }
        out
    }

    /// The values under `path` as one slice, when the event is a projection (nothing to
    /// collect: its values are stored flat, never null, never arrays); `None` for a whole
    /// document, whose values [`Event::values`] collects.
    #[inline]
    pub fn values_slice(&self, path: &FieldPath) -> Option<&[Value]> {
        match &self.repr {
            Repr::Flat(f) => Some(f.values_of(path)),
            Repr::Doc(_) => None,
        }
    }

    /// The first value under `path`, if any.
    pub fn first<'a>(&'a self, path: &FieldPath) -> Option<&'a Value> {
        match &self.repr {
            Repr::Doc(d) => path.first(d),
            Repr::Flat(f) => f.first(path),
        }
    }

    /// The first value under `path` as a string, if it is one.
    pub fn str<'a>(&'a self, path: &FieldPath) -> Option<&'a str> {
        self.first(path).and_then(Value::as_str)
    }

    /// Whether the field holds at least one non-null value.
    pub fn has(&self, path: &FieldPath) -> bool {
        self.first(path).is_some()
    }

    /// Convenience for tests and tools: look up a path given as text.
    pub fn get_str(&self, path: &str) -> Option<&str> {
        self.str(&FieldPath::new(path))
    }

    /// Sets `path` to `value`, creating nested objects as needed (nested form).
    pub fn set(&mut self, path: &FieldPath, value: Value) {
        path.set(self.doc_mut(), value)
    }
}

impl From<Value> for Event {
    fn from(v: Value) -> Self {
        Event::new(v)
    }
}
