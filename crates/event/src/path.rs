use crate::Values;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

/// Objects with at most this many keys are searched by one pass over their keys.
const LINEAR_MAX_KEYS: usize = 24;
/// Paths with more dots than this below an object use hash lookups.
const MAX_SPLITS: usize = 8;

/// A field name such as `process.parent.name`, split once into its segments.
///
/// Lookup accepts every way a document can spell the field: fully nested objects, one dotted
/// key, or nested objects whose keys themselves contain dots (`{"process": {"parent.name": ..}}`).
/// Arrays met on the way are walked element by element, as Elasticsearch flattens them.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    raw: Arc<str>,
    /// Byte offsets of the dots in `raw`.
    dots: Arc<[usize]>,
    /// Process-wide number of this spelling (see [`FieldPath::id`]).
    id: u32,
}

/// Every field name met so far, numbered in order of first use.
fn interner() -> &'static Mutex<HashMap<Arc<str>, u32>> {
    static NAMES: OnceLock<Mutex<HashMap<Arc<str>, u32>>> = OnceLock::new();
    NAMES.get_or_init(Default::default)
}

impl FieldPath {
    pub fn new(raw: &str) -> Self {
        let dots: Vec<usize> = raw.match_indices('.').map(|(i, _)| i).collect();
        let (raw, id) = {
            // A poisoned lock only means another thread panicked while inserting: the map
            // itself is still whole.
            let mut names = interner().lock().unwrap_or_else(|e| e.into_inner());
            match names.get_key_value(raw) {
                Some((k, &id)) => (k.clone(), id),
                None => {
                    let k: Arc<str> = Arc::from(raw);
                    let id = names.len() as u32;
                    names.insert(k.clone(), id);
                    (k, id)
                }
            }
        };
        FieldPath {
            raw,
            dots: Arc::from(dots),
            id,
        }
    }

    /// A small number naming this spelling for the life of the process: equal names have
    /// equal ids, and ids are dense (0, 1, 2, … in order of first use), so tables can be
    /// indexed by them (see [`crate::flat`]).
    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The last segment (`name` for `process.parent.name`).
    pub fn leaf(&self) -> &str {
        match self.dots.last() {
            Some(&d) => &self.raw[d + 1..],
            None => &self.raw,
        }
    }

    /// Collects every non-null leaf value under this path into `out`.
    pub fn collect<'a>(&self, doc: &'a Value, out: &mut Values<'a>) {
        self.walk(doc, 0, &mut |v| {
            push_flat(v, out);
            true
        });
    }

    /// The first non-null leaf value under this path.
    pub fn first<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        let mut found = None;
        self.walk(doc, 0, &mut |v| {
            found = first_flat(v);
            found.is_none()
        });
        found
    }

    /// Walks `doc` for the path suffix starting at byte `start` of `raw`. `f` gets each value
    /// found (possibly an array) and returns whether to go on.
    fn walk<'a>(&self, doc: &'a Value, start: usize, f: &mut dyn FnMut(&'a Value) -> bool) -> bool {
        match doc {
            Value::Object(map) => self.walk_object(map, start, f),
            Value::Array(items) => {
                for item in items {
                    if !self.walk(item, start, f) {
                        return false;
                    }
                }
                true
            }
            _ => true,
        }
    }

    fn walk_object<'a>(
        &self,
        map: &'a Map<String, Value>,
        start: usize,
        f: &mut dyn FnMut(&'a Value) -> bool,
    ) -> bool {
        if map.len() <= LINEAR_MAX_KEYS {
            self.walk_small(map, start, f)
        } else {
            self.walk_hashed(map, start, f)
        }
    }

    /// [`Self::walk_object`] for small maps: one pass over the keys instead of one hash
    /// lookup per split point (SipHash on every candidate key costs more than comparing the
    /// lengths and bytes of a dozen keys). Same values, same order: the whole remaining
    /// path first, then the split points from the shortest key.
    fn walk_small<'a>(
        &self,
        map: &'a Map<String, Value>,
        start: usize,
        f: &mut dyn FnMut(&'a Value) -> bool,
    ) -> bool {
        let rest = &self.raw[start..];
        let splits = self.dots.iter().filter(|&&d| d > start).count();
        if splits >= MAX_SPLITS {
            return self.walk_hashed(map, start, f);
        }
        // found[0]: the whole rest; found[j + 1]: the key ending before the j-th later dot.
        let mut found: [Option<&'a Value>; MAX_SPLITS + 1] = [None; MAX_SPLITS + 1];
        let bytes = rest.as_bytes();
        for (k, v) in map {
            let kl = k.len();
            // Length and first byte first: most keys fail there, without a memcmp call.
            if kl > bytes.len()
                || (kl > 0 && k.as_bytes()[0] != bytes[0])
                || !bytes.starts_with(k.as_bytes())
            {
                continue;
            }
            if kl == bytes.len() {
                found[0] = Some(v);
            } else if kl > 0 && bytes[kl] == b'.' {
                // Which split point: count the dots of `rest` before `kl`.
                let j = bytes[..kl].iter().filter(|&&c| c == b'.').count();
                if let Some(slot) = found.get_mut(j + 1) {
                    *slot = Some(v);
                }
            }
        }
        if let Some(v) = found[0] {
            if !f(v) {
                return false;
            }
        }
        let mut j = 0;
        for &d in self.dots.iter().filter(|&&d| d > start) {
            j += 1;
            if let Some(child) = found.get(j).copied().flatten() {
                if !self.walk(child, d + 1, f) {
                    return false;
                }
            }
        }
        true
    }

    fn walk_hashed<'a>(
        &self,
        map: &'a Map<String, Value>,
        start: usize,
        f: &mut dyn FnMut(&'a Value) -> bool,
    ) -> bool {
        // The whole remaining path as one key.
        let rest = &self.raw[start..];
        if let Some(v) = map.get(rest) {
            if !f(v) {
                return false;
            }
        }
        // Every split point: key = raw[start..dot], then descend with raw[dot+1..].
        for &d in self.dots.iter().filter(|&&d| d > start) {
            if let Some(child) = map.get(&self.raw[start..d]) {
                if !self.walk(child, d + 1, f) {
                    return false;
                }
            }
        }
        true
    }

    /// Sets the value in nested form, creating objects on the way. An existing dotted key for
    /// the same field is replaced so that the document keeps a single value.
    pub fn set(&self, doc: &mut Value, value: Value) {
        if !doc.is_object() {
            *doc = Value::Object(Map::new());
        }
        if let Value::Object(map) = doc {
            if map.contains_key(&*self.raw) {
                map.insert(self.raw.to_string(), value);
                return;
            }
        }
        let mut cur = doc;
        let segments: Vec<&str> = self.raw.split('.').collect();
        for (i, seg) in segments.iter().enumerate() {
            let map = match cur {
                Value::Object(m) => m,
                other => {
                    *other = Value::Object(Map::new());
                    match other {
                        Value::Object(m) => m,
                        _ => unreachable!("just made an object"),
                    }
                }
            };
            if i + 1 == segments.len() {
                map.insert((*seg).to_string(), value);
                return;
            }
            cur = map
                .entry((*seg).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !cur.is_object() {
                *cur = Value::Object(Map::new());
            }
        }
    }
}

pub(crate) fn push_flat<'a>(v: &'a Value, out: &mut Values<'a>) {
    match v {
        Value::Null => {}
        Value::Array(items) => items.iter().for_each(|i| push_flat(i, out)),
        other => out.push(other),
    }
}

pub(crate) fn first_flat(v: &Value) -> Option<&Value> {
    match v {
        Value::Null => None,
        Value::Array(items) => items.iter().find_map(first_flat),
        other => Some(other),
    }
}

impl fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldPath({})", self.raw)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl From<&str> for FieldPath {
    fn from(s: &str) -> Self {
        FieldPath::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vals(doc: &Value, p: &str) -> Vec<Value> {
        let mut out = Values::new();
        FieldPath::new(p).collect(doc, &mut out);
        out.into_iter().cloned().collect()
    }

    #[test]
    fn nested_dotted_and_mixed_are_the_same_field() {
        let nested = json!({"process": {"parent": {"name": "python3"}}});
        let dotted = json!({"process.parent.name": "python3"});
        let mixed = json!({"process": {"parent.name": "python3"}});
        let mixed2 = json!({"process.parent": {"name": "python3"}});
        for d in [&nested, &dotted, &mixed, &mixed2] {
            assert_eq!(
                vals(d, "process.parent.name"),
                vec![json!("python3")],
                "{d}"
            );
        }
    }

    #[test]
    fn arrays_are_flattened_at_leaf_and_on_the_way() {
        let d = json!({"process": {"args": ["python3", "-c", ["x"]]}});
        assert_eq!(
            vals(&d, "process.args"),
            vec![json!("python3"), json!("-c"), json!("x")]
        );
        let d = json!({"dll": [{"name": "a"}, {"name": "b"}, {"other": 1}]});
        assert_eq!(vals(&d, "dll.name"), vec![json!("a"), json!("b")]);
    }

    #[test]
    fn nulls_and_missing_give_nothing() {
        let d = json!({"a": null, "b": [null], "c": {}});
        assert!(vals(&d, "a").is_empty());
        assert!(vals(&d, "b").is_empty());
        assert!(vals(&d, "c.d").is_empty());
        assert!(vals(&d, "zzz").is_empty());
        assert!(FieldPath::new("a").first(&d).is_none());
    }

    #[test]
    fn set_creates_nested_objects() {
        let mut d = json!({});
        FieldPath::new("host.labels.env").set(&mut d, json!("ci"));
        assert_eq!(d, json!({"host": {"labels": {"env": "ci"}}}));
        let mut d = json!({"host.name": "a"});
        FieldPath::new("host.name").set(&mut d, json!("b"));
        assert_eq!(d, json!({"host.name": "b"}));
    }

    #[test]
    fn small_and_hashed_lookups_agree() {
        let docs = [
            json!({"a": {"b": {"c": 1}, "b.c": 2}, "a.b": {"c": 3}, "a.b.c": 4, "": {"x": 5}}),
            json!({"a": [{"b.c": [6, null, 7]}, {"b": {"c": 8}}], "a.": {"b": 9}}),
            json!({"a..b": 10, "a.": {".b": 11}, "a": {"": {"b": 12}}}),
        ];
        let paths = ["a.b.c", "a", "a.b", "a..b", ".x", "x", "a.", "a.b.c.d"];
        for d in &docs {
            for p in paths {
                let fp = FieldPath::new(p);
                let mut small = Vec::new();
                let mut hashed = Vec::new();
                if let Value::Object(m) = d {
                    fp.walk_small(m, 0, &mut |v| {
                        small.push(v.clone());
                        true
                    });
                    fp.walk_hashed(m, 0, &mut |v| {
                        hashed.push(v.clone());
                        true
                    });
                }
                assert_eq!(small, hashed, "{p} in {d}");
            }
        }
        assert_eq!(
            vals(&docs[0], "a.b.c"),
            vec![json!(4), json!(2), json!(1), json!(3)]
        );
    }

    #[test]
    fn leaf_segment() {
        assert_eq!(FieldPath::new("process.parent.name").leaf(), "name");
        assert_eq!(FieldPath::new("x").leaf(), "x");
    }
}
