//! Projected parsing: read a record once and build only the part of the document that a known
//! set of fields lives in.
//!
//! A rule set reads a few dozen fields; an ECS record carries many more (hashes, agent and
//! data-stream metadata, host addresses, …). [`Projection::project`] walks the record's bytes
//! once, validates them as JSON, and allocates only the keys and values on the way to a
//! wanted field. For every wanted field, [`crate::Event::values`] on the projected event gives
//! exactly what it gives on the fully parsed one: a key `k` below the path prefix `p` is kept
//! when `p.k` is a wanted field (its whole value is kept) or the start of one at a dot (its
//! objects are projected the same way, arrays element by element), which is precisely how
//! [`crate::FieldPath`] matches nested, dotted and mixed spellings. Duplicate keys replace
//! earlier ones in place, as the full parser does.
//!
//! Anything unusual returns `None` and the caller parses the record in full: control bytes
//! (invalid inside JSON strings), invalid UTF-8, a top-level `_source` (a search hit, which
//! the reader unwraps), nesting deeper than [`MAX_DEPTH`], a top level that is not an object,
//! or any syntax error (the full parser then reports it with its line and column).

use foldhash::HashSet;
use serde_json::{Map, Number, Value};

/// Deeper records go to the full parser (whose own limit is 128).
pub const MAX_DEPTH: usize = 100;

/// The fields to keep. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    /// Wanted fields: their whole values are kept.
    exact: HashSet<Box<str>>,
    /// Every proper prefix of a wanted field that ends before one of its dots.
    prefixes: HashSet<Box<str>>,
}

impl Projection {
    pub fn new<I, S>(fields: I) -> Projection
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut p = Projection::default();
        for f in fields {
            let f = f.as_ref();
            for (d, _) in f.match_indices('.') {
                p.prefixes.insert(f[..d].into());
            }
            p.exact.insert(f.into());
        }
        p
    }

    /// How many distinct fields are kept.
    pub fn len(&self) -> usize {
        self.exact.len()
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
    }

    /// The projected document, or `None` when the record must be parsed in full (see the
    /// module documentation): `None` never hides a record the full parser would accept
    /// differently, it only hands it over.
    pub fn project(&self, bytes: &[u8]) -> Option<Value> {
        // Control bytes are invalid inside strings; records with any (even a tab between
        // tokens, or the `\r` of a CRLF file) go to the full parser, so the string scanner
        // below never has to look for them.
        if bytes.iter().any(|&b| b < 0x20) {
            return None;
        }
        std::str::from_utf8(bytes).ok()?;
        let mut sc = Scanner {
            b: bytes,
            i: 0,
            path: String::with_capacity(64),
            depth: 0,
        };
        sc.ws();
        if sc.peek()? != b'{' {
            return None;
        }
        let map = sc.object(self, true)?;
        sc.ws();
        (sc.i == bytes.len()).then_some(Value::Object(map))
    }
}

/// Whether `bytes` is one JSON object, checked in one pass that builds nothing. `false`
/// also for the cases the projection hands over (control bytes, deep nesting): the caller
/// then asks the full parser, which has the last word and the precise error.
pub fn is_plain_object(bytes: &[u8]) -> bool {
    if bytes.iter().any(|&b| b < 0x20) || std::str::from_utf8(bytes).is_err() {
        return false;
    }
    let mut sc = Scanner {
        b: bytes,
        i: 0,
        path: String::new(),
        depth: 0,
    };
    sc.ws();
    if sc.peek() != Some(b'{') || sc.skip().is_none() {
        return false;
    }
    sc.ws();
    sc.i == bytes.len()
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    /// The dotted path of the object being read ("" at the top).
    path: String,
    depth: usize,
}

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    /// After an item of an object or array: `,` (more follow: `false`) or `close` (`true`),
    /// consumed; anything else is a syntax error (`None`).
    #[inline]
    fn closes(&mut self, close: u8) -> Option<bool> {
        self.ws();
        let c = self.peek()?;
        if c != b',' && c != close {
            return None;
        }
        self.i += 1;
        Some(c == close)
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// At `"`: the string's raw content (between the quotes) and whether it has escapes.
    fn string_raw(&mut self) -> Option<(&'a [u8], bool)> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.i + 1;
        let mut j = start;
        let mut escaped = false;
        loop {
            let k = j + memchr::memchr2(b'"', b'\\', &self.b[j..])?;
            match self.b[k] {
                b'"' => {
                    self.i = k + 1;
                    return Some((&self.b[start..k], escaped));
                }
                b'\\' => {
                    escaped = true;
                    match *self.b.get(k + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j = k + 2,
                        b'u' => {
                            let hex = self.b.get(k + 2..k + 6)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            j = k + 6;
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    /// At `"`: the decoded string.
    fn string(&mut self) -> Option<String> {
        let start = self.i;
        let (raw, escaped) = self.string_raw()?;
        if !escaped {
            // The whole record was checked to be UTF-8.
            return std::str::from_utf8(raw).ok().map(str::to_owned);
        }
        serde_json::from_slice(&self.b[start..self.i]).ok()
    }

    /// Skips one value of any kind, checking its syntax.
    fn skip(&mut self) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => self.string_raw().map(|_| ()),
            b'{' => {
                self.enter()?;
                self.i += 1;
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        self.string_raw()?;
                        self.eat(b':')?;
                        self.skip()?;
                        if self.closes(b'}')? {
                            break;
                        }
                    }
                }
                self.depth -= 1;
                Some(())
            }
            b'[' => {
                self.enter()?;
                self.i += 1;
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                } else {
                    loop {
                        self.skip()?;
                        if self.closes(b']')? {
                            break;
                        }
                    }
                }
                self.depth -= 1;
                Some(())
            }
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            _ => self.number_span().map(|_| ()),
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn word(&mut self, w: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + w.len())? == w {
            self.i += w.len();
            Some(())
        } else {
            None
        }
    }

    /// A JSON number's bytes, checked against the grammar.
    fn number_span(&mut self) -> Option<&'a [u8]> {
        let s = self.i;
        let b = self.b;
        let mut j = s;
        if b.get(j) == Some(&b'-') {
            j += 1;
        }
        match b.get(j)? {
            b'0' => j += 1,
            b'1'..=b'9' => {
                while b.get(j).is_some_and(u8::is_ascii_digit) {
                    j += 1;
                }
            }
            _ => return None,
        }
        if b.get(j) == Some(&b'.') {
            j += 1;
            let d = j;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if j == d {
                return None;
            }
        }
        if matches!(b.get(j), Some(b'e' | b'E')) {
            j += 1;
            if matches!(b.get(j), Some(b'+' | b'-')) {
                j += 1;
            }
            let d = j;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if j == d {
                return None;
            }
        }
        self.i = j;
        Some(&b[s..j])
    }

    /// One whole value, as the full parser would build it.
    fn value(&mut self) -> Option<Value> {
        self.ws();
        match self.peek()? {
            b'"' => self.string().map(Value::String),
            b't' => self.word(b"true").map(|_| Value::Bool(true)),
            b'f' => self.word(b"false").map(|_| Value::Bool(false)),
            b'n' => self.word(b"null").map(|_| Value::Null),
            b'{' | b'[' => {
                let s = self.i;
                self.skip()?;
                serde_json::from_slice(&self.b[s..self.i]).ok()
            }
            _ => {
                let raw = self.number_span()?;
                Some(Value::Number(number(raw)?))
            }
        }
    }

    /// At `{`: the object below `self.path`, projected.
    fn object(&mut self, p: &Projection, top: bool) -> Option<Map<String, Value>> {
        self.enter()?;
        self.i += 1;
        let mut map = Map::new();
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            self.depth -= 1;
            return Some(map);
        }
        loop {
            self.ws();
            let ks = self.i;
            let (raw, escaped) = self.string_raw()?;
            let key: std::borrow::Cow<'a, str> = if escaped {
                std::borrow::Cow::Owned(serde_json::from_slice(&self.b[ks..self.i]).ok()?)
            } else {
                std::borrow::Cow::Borrowed(std::str::from_utf8(raw).ok()?)
            };
            if top && key == "_source" {
                return None;
            }
            self.eat(b':')?;
            let base = self.path.len();
            if base > 0 {
                self.path.push('.');
            }
            self.path.push_str(&key);
            if p.exact.contains(self.path.as_str()) {
                let v = self.value()?;
                map.insert(key.into_owned(), v);
            } else if p.prefixes.contains(self.path.as_str()) {
                self.ws();
                let v = match self.peek()? {
                    b'{' => Value::Object(self.object(p, false)?),
                    b'[' => Value::Array(self.array(p)?),
                    _ => {
                        // A scalar where objects lead on: no wanted field below it, but it
                        // still replaces an earlier duplicate key, as in the full parse.
                        self.skip()?;
                        Value::Null
                    }
                };
                map.insert(key.into_owned(), v);
            } else {
                self.skip()?;
            }
            self.path.truncate(base);
            if self.closes(b'}')? {
                self.depth -= 1;
                return Some(map);
            }
        }
    }

    /// At `[` in a prefix position: objects and arrays projected, scalars dropped (a path
    /// never continues into a scalar).
    fn array(&mut self, p: &Projection) -> Option<Vec<Value>> {
        self.enter()?;
        self.i += 1;
        let mut out = Vec::new();
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
            self.depth -= 1;
            return Some(out);
        }
        loop {
            self.ws();
            match self.peek()? {
                b'{' => out.push(Value::Object(self.object(p, false)?)),
                b'[' => out.push(Value::Array(self.array(p)?)),
                _ => self.skip()?,
            }
            if self.closes(b']')? {
                self.depth -= 1;
                return Some(out);
            }
        }
    }
}

/// A number as the full parser reads it: plain integers directly, anything else through it.
fn number(raw: &[u8]) -> Option<Number> {
    let (neg, digits) = match raw.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, raw),
    };
    if digits.len() <= 18 && !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        let mut v: i64 = 0;
        for d in digits {
            v = v * 10 + i64::from(d - b'0');
        }
        if !neg {
            return Some(Number::from(v as u64));
        }
        if v != 0 {
            return Some(Number::from(-v));
        }
    }
    serde_json::from_slice(raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, FieldPath};

    fn check(doc: &str, fields: &[&str]) {
        let p = Projection::new(fields.iter().copied());
        let full = Event::new(serde_json::from_str(doc).unwrap());
        let proj = Event::new(p.project(doc.as_bytes()).expect("projectable"));
        for f in fields {
            let fp = FieldPath::new(f);
            assert_eq!(proj.values(&fp), full.values(&fp), "{f} in {doc}");
        }
    }

    const FIELDS: &[&str] = &[
        "process.name",
        "process.args",
        "process.parent.name",
        "process.pid",
        "event.category",
        "dll.name",
        "a.b.c",
        "a..b",
        "x",
        "f",
        "neg",
        "big",
    ];

    #[test]
    fn projected_values_equal_full_values() {
        let docs = [
            r#"{"process":{"name":"sh","args":["sh","-c","id"],"pid":12,"parent":{"name":"python3","pid":1}},"event":{"category":["process"]},"agent":{"id":"x"}}"#,
            r#"{"process.name":"sh","process.parent.name":"py","process":{"parent.name":"py2"}}"#,
            r#"{"process":[{"name":"a"},{"name":["b",null,"c"]},3,"s"],"dll":[{"name":"k"},{"other":1}]}"#,
            r#"{"a":{"b":{"c":1},"b.c":2},"a.b":{"c":3},"a.b.c":4,"a..b":10,"a.":{".b":11},"a":{"":{"b":12}}}"#,
            r#"{"x":{"nested":[1,2,{"y":null}]},"f":1.5e3,"neg":-42,"big":123456789012345678901234}"#,
            r#"{"process":{"name":"first"},"process":{"name":"second"}}"#,
            r#"{"process":{"name":"first"},"process":5}"#,
            r#"{ "process" : { "name" : "s\u00e9\"q\\" } , "x" : "tab\tin\nescape" }"#,
            r#"{"x":-0,"neg":-0.0,"f":0}"#,
            r#"{}"#,
        ];
        for d in docs {
            check(d, FIELDS);
        }
    }

    #[test]
    fn plain_objects_are_told_from_everything_else() {
        assert!(is_plain_object(
            br#"{"a":[1,{"b":"c\"d"}],"e":null,"f":-1.5e3}"#
        ));
        assert!(is_plain_object(b" {} "));
        for bad in [
            &br#"{"a":1"#[..],
            br#"{"a":1}}"#,
            br#"{"a" 1}"#,
            br#"{"a":[1 2]}"#,
            br#"{"a":.5}"#,
            br#""text""#,
            b"{\"a\":\"\x01\"}",
        ] {
            assert!(!is_plain_object(bad), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn unwanted_fields_are_not_built() {
        let p = Projection::new(["process.name"]);
        let v = p
            .project(br#"{"agent":{"id":"x"},"process":{"name":"sh","pid":3},"host":{"name":"h"}}"#)
            .unwrap();
        assert_eq!(v, serde_json::json!({"process": {"name": "sh"}}));
    }

    #[test]
    fn what_the_full_parser_must_judge_is_handed_over() {
        let p = Projection::new(["a"]);
        for bad in [
            &br#"{"a":1"#[..],
            br#"{"a":1}x"#,
            br#"{"a":01}"#,
            br#"{"a":[1,]}"#,
            br#"{"a":"x\qy"}"#,
            b"{\"a\":\"tab\there\"}",
            br#"[1,2]"#,
            br#"{"_source":{"a":1},"_id":"q"}"#,
            br#"{"b":tru}"#,
            b"{\"a\":\"\xff\"}",
        ] {
            assert!(p.project(bad).is_none(), "{}", String::from_utf8_lossy(bad));
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(p.project(format!("{{\"a\":{deep}}}").as_bytes()).is_none());
        assert!(p.project(format!("{{\"b\":{deep}}}").as_bytes()).is_none());
    }
}
