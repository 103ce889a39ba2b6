//! The event model shared by every part of spawnguard.
//!
//! An event is an ECS document: a JSON object whose fields may be nested objects
//! (`{"process": {"name": "sh"}}`), dotted keys (`{"process.name": "sh"}`), or any mix of
//! the two. [`FieldPath`] names a field once; [`Event::values`] finds every value stored
//! under it, flattening arrays the way Elasticsearch indexes them, so that "any element of an
//! array matches" falls out of the lookup.

mod path;
pub mod project;
pub mod reader;

pub use path::FieldPath;
pub use project::Projection;
pub use serde_json::{Map, Number, Value};
use smallvec::SmallVec;

/// The values found under one field: usually zero or one, sometimes a handful (arrays).
pub type Values<'a> = SmallVec<[&'a Value; 4]>;

/// One ECS document.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    doc: Value,
}

impl Event {
    /// Wraps a JSON value. Anything that is not an object is still an event, one with no fields.
    pub fn new(doc: Value) -> Self {
        Event { doc }
    }

    /// Parses one JSON document.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes).map(Event::new)
    }

    pub fn doc(&self) -> &Value {
        &self.doc
    }

    pub fn doc_mut(&mut self) -> &mut Value {
        &mut self.doc
    }

    pub fn into_doc(self) -> Value {
        self.doc
    }

    /// Every non-null leaf value stored under `path`, arrays flattened.
    pub fn values<'a>(&'a self, path: &FieldPath) -> Values<'a> {
        let mut out = Values::new();
        path.collect(&self.doc, &mut out);
        out
    }

    /// The first value under `path`, if any.
    pub fn first<'a>(&'a self, path: &FieldPath) -> Option<&'a Value> {
        path.first(&self.doc)
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
        path.set(&mut self.doc, value)
    }
}

impl From<Value> for Event {
    fn from(v: Value) -> Self {
        Event::new(v)
    }
}
