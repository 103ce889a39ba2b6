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

use crate::bytes::{first_of, quote_or_backslash};
use crate::flat::{Flat, Slots, Tag, SPARE, SPARE_CAPACITY};
use crate::Event;
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::sync::Arc;

mod children;
mod shapes;
use children::Children;
use shapes::Shapes;

thread_local! {
    /// Per-thread buffers of [`Projection::project`], kept between records so that
    /// projecting allocates only the event itself: the tags of the leaves met, and the
    /// duplicate-key stamps (see [`Stamps`]).
    static SCRATCH: std::cell::RefCell<(Vec<Tag>, Stamps, Shapes)> =
        const { std::cell::RefCell::new((Vec::new(), Stamps::new(), Shapes::new())) };
}

/// Which trie nodes a key of the current object already led to: per node, the number of the
/// object (counted over the thread's whole life, across records and projections) in which it
/// was last reached. A node stamped with the current object's number is a duplicate key; a
/// stamp from any other object, this projection's or another's, can never equal it.
struct Stamps {
    by_node: Vec<u32>,
    /// The number of the last object entered.
    last: u32,
}

impl Stamps {
    const fn new() -> Stamps {
        Stamps {
            by_node: Vec::new(),
            last: 0,
        }
    }

    /// A fresh number for an object being entered, with room for `nodes` nodes.
    #[inline]
    fn enter(&mut self, nodes: usize) -> u32 {
        if self.by_node.len() < nodes {
            self.by_node.resize(nodes, 0);
        }
        self.last = match self.last.checked_add(1) {
            Some(n) => n,
            None => {
                // Numbers wrapped: old stamps could collide, so forget them all.
                self.by_node.iter_mut().for_each(|s| *s = 0);
                1
            }
        };
        self.last
    }

    /// Stamps `node` with object `obj`; `false` if it was already (a duplicate key).
    #[inline]
    fn first_time(&mut self, node: u32, obj: u32) -> bool {
        match self.by_node.get_mut(node as usize) {
            Some(s) if *s == obj => false,
            Some(s) => {
                *s = obj;
                true
            }
            None => true,
        }
    }
}

/// Deeper records go to the full parser (whose own limit is 128).
pub const MAX_DEPTH: usize = 100;

/// Paths spelled with more keys than this (or keys of more segments than this) on the way
/// to a wanted field go to the full parser: see [`Scanner::order`].
const MAX_LEVELS: usize = 16;

/// The fields to keep. See the module documentation.
#[derive(Debug, Clone)]
pub struct Projection {
    /// A trie over the wanted fields' segments (split at dots): node 0 is the top of the
    /// document. A key is followed segment by segment from the node of the object it is in,
    /// so nested, dotted and mixed spellings of a field reach the same node.
    nodes: Vec<Node>,
    /// The wanted fields, by slot.
    names: Vec<Box<str>>,
    slots: Arc<Slots>,
    /// Tells this trie apart in a thread's memory of record shapes (see `shapes`).
    id: u64,
}

/// No slot: the node is only the way to wanted fields.
const NO_SLOT: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node {
    /// The slot of the wanted field ending here, or [`NO_SLOT`].
    slot: u32,
    children: Children,
}

impl Node {
    fn new() -> Node {
        Node {
            slot: NO_SLOT,
            children: Children::new(),
        }
    }
}

impl Default for Projection {
    fn default() -> Projection {
        Projection::new(std::iter::empty::<&str>())
    }
}

impl Projection {
    pub fn new<I, S>(fields: I) -> Projection
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut nodes = vec![Node::new()];
        let mut names: Vec<Box<str>> = Vec::new();
        for f in fields {
            let f = f.as_ref();
            let mut n = 0usize;
            for seg in f.split('.') {
                let found = nodes[n].children.get(seg.as_bytes());
                n = match found {
                    Some(c) => c as usize,
                    None => {
                        let c = nodes.len();
                        nodes.push(Node::new());
                        nodes[n].children.insert(seg.as_bytes(), c as u32);
                        c
                    }
                };
            }
            if nodes[n].slot == NO_SLOT {
                nodes[n].slot = names.len() as u32;
                names.push(f.into());
            }
        }
        static IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Projection {
            nodes,
            slots: Arc::new(Slots::new(&names)),
            names,
            id: IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Limits the text of projected events ([`crate::Flat::texts`]) to these fields (those
    /// that are projected at all).
    pub fn with_text_fields(mut self, fields: &[crate::FieldPath]) -> Projection {
        let mut slots = Slots::new(&self.names);
        slots.set_text_fields(fields);
        self.slots = Arc::new(slots);
        self
    }

    /// The node reached from `node` through `key` (one or more segments).
    #[inline]
    fn follow(&self, mut node: u32, key: &str, dotted: bool) -> Option<u32> {
        if !dotted {
            return self.child(node, key);
        }
        for seg in key.split('.') {
            node = self.child(node, seg)?;
        }
        Some(node)
    }

    #[inline]
    fn child(&self, node: u32, seg: &str) -> Option<u32> {
        self.nodes.get(node as usize)?.children.get(seg.as_bytes())
    }

    /// How many distinct fields are kept.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The projected event (flat: see [`crate::flat`]), or `None` when the record must be
    /// parsed in full (see the module documentation): `None` never hides a record the full
    /// parser would accept differently, it only hands it over.
    pub fn project(&self, bytes: &[u8]) -> Option<Event> {
        // Control bytes are invalid inside strings; records with any (even a tab between
        // tokens, or the `\r` of a CRLF file) go to the full parser, so the string scanner
        // below never has to look for them.
        if crate::bytes::any_byte(bytes, |c| c < 0x20) {
            return None;
        }
        simdutf8::basic::from_utf8(bytes).ok()?;
        SCRATCH.with(|cell| {
            let (tags, stamps, shapes) = &mut *cell.borrow_mut();
            let mut spare = SPARE.with(|s| std::mem::take(&mut *s.borrow_mut()));
            let mut values = spare.values.pop().unwrap_or_default();
            values.clear();
            tags.clear();
            shapes.serve(self.id, self.nodes.len());
            let mut sc = Scanner {
                b: bytes,
                i: 0,
                depth: 0,
                segs: Segs::default(),
                values,
                tags: std::mem::take(tags),
                stamps: std::mem::replace(stamps, Stamps::new()),
                shapes: std::mem::replace(shapes, Shapes::new()),
                spare,
            };
            sc.ws();
            let done = sc.peek() == Some(b'{') && sc.object(self, 0, true).is_some() && {
                sc.ws();
                sc.i == bytes.len()
            };
            let values = std::mem::take(&mut sc.values);
            let ev = if done {
                Some(Event::flat(Flat::new(
                    self.slots.clone(),
                    values,
                    &sc.tags,
                    &mut sc.spare,
                )))
            } else {
                // A record handed over to the full parser gives its buffers back.
                sc.spare.keep_values(values);
                None
            };
            *tags = sc.tags;
            *stamps = sc.stamps;
            *shapes = sc.shapes;
            SPARE.with(|s| *s.borrow_mut() = sc.spare);
            ev
        })
    }
}

/// Whether `bytes` is one JSON object, checked in one pass that builds nothing. `false`
/// also for the cases the projection hands over (control bytes, deep nesting): the caller
/// then asks the full parser, which has the last word and the precise error.
pub fn is_plain_object(bytes: &[u8]) -> bool {
    if bytes.iter().any(|&b| b < 0x20) || simdutf8::basic::from_utf8(bytes).is_err() {
        return false;
    }
    let mut sc = Scanner {
        b: bytes,
        i: 0,
        depth: 0,
        segs: Segs::default(),
        values: Vec::new(),
        tags: Vec::new(),
        stamps: Stamps::new(),
        shapes: Shapes::new(),
        spare: Default::default(),
    };
    sc.ws();
    if sc.peek() != Some(b'{') || sc.skip().is_none() {
        return false;
    }
    sc.ws();
    sc.i == bytes.len()
}

/// How many segments each key on the way to the current path spelled (at most
/// [`MAX_LEVELS`] keys: deeper paths go to the full parser).
#[derive(Default)]
struct Segs {
    len: usize,
    keys: [u8; MAX_LEVELS],
}

impl Segs {
    #[inline]
    fn push(&mut self, segs: u8) -> Option<()> {
        *self.keys.get_mut(self.len)? = segs;
        self.len += 1;
        Some(())
    }

    #[inline]
    fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }

    #[inline]
    fn as_slice(&self) -> &[u8] {
        self.keys.get(..self.len).unwrap_or(&[])
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
    /// How many segments each key on the way to `path` spelled.
    segs: Segs,
    /// The wanted fields' leaf values met so far, and what is known of each.
    values: Vec<Value>,
    tags: Vec<Tag>,
    stamps: Stamps,
    /// Where the keys of earlier records led (see `shapes`).
    shapes: Shapes,
    /// Buffers of dropped events, for this one's strings (see [`crate::flat::Spare`]).
    spare: crate::flat::Spare,
}

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips whitespace: only spaces can be left, as every scanned record was checked to
    /// have no byte below 0x20 (so no tab, CR or LF).
    #[inline]
    fn ws(&mut self) {
        while self.b.get(self.i) == Some(&b' ') {
            self.i += 1;
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
            let k = j + quote_or_backslash(self.b.get(j..)?)?;
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

    /// At `"` of a key: [`Scanner::string_raw`], and whether the raw content has a dot.
    /// Keys are short: the first eight bytes are tested for the quote, a backslash and a dot
    /// at once.
    #[inline]
    fn key_raw(&mut self) -> Option<(&'a [u8], bool, bool)> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.i + 1;
        #[cfg(target_arch = "x86_64")]
        if let Some(block) = self.b.get(start..start + 16) {
            let (stops, dots) = crate::bytes::sse2::stops_and_dots_16(block);
            let k = stops.trailing_zeros() as usize;
            if stops != 0 && self.b.get(start + k) == Some(&b'"') {
                // A plain key of fewer than sixteen bytes.
                self.i = start + k + 1;
                let dotted = dots & ((1u32 << k) - 1) != 0;
                return Some((&self.b[start..start + k], false, dotted));
            }
        }
        if start + 8 <= self.b.len() {
            let w = crate::bytes::load8(self.b, start);
            if let Some(k) = first_of(w, b'"') {
                if first_of(w, b'\\').is_none_or(|e| e > k) {
                    // A plain key of fewer than eight bytes.
                    let dotted = first_of(w, b'.').is_some_and(|d| d < k);
                    self.i = start + k + 1;
                    return Some((&self.b[start..start + k], false, dotted));
                }
            }
        }
        let (raw, escaped) = self.string_raw()?;
        Some((raw, escaped, memchr::memchr(b'.', raw).is_some()))
    }

    /// At `"`: the decoded string.
    fn string(&mut self) -> Option<String> {
        let start = self.i;
        let (raw, escaped) = self.string_raw()?;
        if !escaped {
            return Some(short_copy(self.b, start + 1, raw, &mut self.spare.strings));
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
            b'[' => self.each_item(Self::skip),
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

    /// The spelling order of the current path (see [`crate::flat`]): per key on the way,
    /// 0 when it spelled all the remaining segments, else how many it spelled, 4 bits each,
    /// first key in the highest bits. `None` past [`MAX_LEVELS`].
    fn order(&self) -> Option<u64> {
        let segs = self.segs.as_slice();
        let mut remaining: u32 = segs.iter().map(|&s| u32::from(s)).sum();
        let mut code: u64 = 0;
        for &s in segs {
            let s = u32::from(s);
            let rank = if s == remaining { 0 } else { s };
            if rank > 15 {
                return None;
            }
            code = code << 4 | u64::from(rank);
            remaining -= s;
        }
        Some(code << (4 * (MAX_LEVELS - segs.len())))
    }

    /// At a wanted field's value: its leaves (arrays flattened, nulls dropped, objects whole).
    fn leaf(&mut self, slot: u32, order: u64) -> Option<()> {
        self.ws();
        let value = match self.peek()? {
            b'"' => Value::String(self.string()?),
            b't' => self.word(b"true").map(|_| Value::Bool(true))?,
            b'f' => self.word(b"false").map(|_| Value::Bool(false))?,
            b'n' => return self.word(b"null"),
            b'{' => {
                let s = self.i;
                self.skip()?;
                serde_json::from_slice(&self.b[s..self.i]).ok()?
            }
            b'[' => return self.each_item(|sc| sc.leaf(slot, order)),
            _ => {
                let raw = self.number_span()?;
                Value::Number(number(raw)?)
            }
        };
        self.values.push(value);
        self.tags.push(Tag { slot, order });
        Some(())
    }

    /// At `{`: an object at trie node `node`, its wanted leaves collected.
    fn object(&mut self, p: &Projection, node: u32, top: bool) -> Option<()> {
        self.enter()?;
        self.i += 1;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            self.depth -= 1;
            return Some(());
        }
        // Keys of this object that lead to wanted fields are stamped with its number (by the
        // trie node they lead to: equal keys lead to the same node, different keys to
        // different ones): a duplicate of one replaces the earlier value in the full parse,
        // so such records go to the full parser.
        let obj = self.stamps.enter(p.nodes.len());
        let mut pos = 0usize;
        loop {
            self.ws();
            let ks = self.i;
            let (raw, escaped, dotted) = self.key_raw()?;
            let key: Cow<'a, str> = if escaped {
                Cow::Owned(serde_json::from_slice(&self.b[ks..self.i]).ok()?)
            } else {
                Cow::Borrowed(checked_text(raw))
            };
            if top && key == "_source" {
                return None;
            }
            self.eat(b':')?;
            let dotted = dotted || (escaped && key.contains('.'));
            let to = if escaped {
                p.follow(node, &key, dotted)
            } else {
                // The key's first sixteen bytes as they lie in the record (and what follows
                // it, masked off by its length).
                let window = self.b.get(ks + 1..ks + 17);
                self.shapes.lead(node, pos, raw.len(), window, || {
                    p.follow(node, &key, dotted)
                })
            };
            pos += 1;
            let target = to.and_then(|t| p.nodes.get(t as usize).map(|n| (t, n)));
            match target {
                Some((t, n)) => {
                    if !self.stamps.first_time(t, obj) {
                        return None;
                    }
                    let dots = if dotted {
                        key.bytes().filter(|&b| b == b'.').count()
                    } else {
                        0
                    };
                    let slot = (n.slot != NO_SLOT).then_some(n.slot);
                    let prefix = !n.children.is_empty();
                    let segs = u8::try_from(dots + 1).ok()?;
                    self.segs.push(segs)?;
                    let start = self.i;
                    if let Some(slot) = slot {
                        let order = self.order()?;
                        self.leaf(slot, order)?;
                        if prefix {
                            // Both a wanted field and the way to others: read it again.
                            self.i = start;
                        }
                    }
                    if prefix {
                        self.ws();
                        match self.peek()? {
                            b'{' => self.object(p, t, false)?,
                            b'[' => self.array(p, t)?,
                            _ => self.skip()?,
                        }
                    }
                    self.segs.pop();
                }
                None => self.skip()?,
            }
            if self.closes(b'}')? {
                self.depth -= 1;
                return Some(());
            }
        }
    }

    /// At `[` in a prefix position: objects and arrays projected, scalars skipped (a path
    /// never continues into a scalar).
    fn array(&mut self, p: &Projection, node: u32) -> Option<()> {
        self.each_item(|sc| {
            sc.ws();
            match sc.peek()? {
                b'{' => sc.object(p, node, false),
                b'[' => sc.array(p, node),
                _ => sc.skip(),
            }
        })
    }

    /// At `[`: `item` for each element, with the commas, the closing bracket and the nesting
    /// depth checked here.
    fn each_item(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.enter()?;
        self.i += 1;
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
        } else {
            loop {
                item(self)?;
                if self.closes(b']')? {
                    break;
                }
            }
        }
        self.depth -= 1;
        Some(())
    }
}

/// An owned copy of `raw`, the content of a string without escapes found at `at` in the
/// record `b`, in a spare string of an earlier event if there is one (see
/// [`crate::flat::Spare`]). A short one (most leaf values: names, actions, ids) is copied as
/// sixteen bytes at once from the record, instead of a `memcpy` call that branches on the
/// length: into a spare string (whose capacity is at least sixteen) or a new sixteen-byte
/// allocation (mimalloc's smallest class anyway).
#[inline]
fn short_copy(b: &[u8], at: usize, raw: &[u8], spare: &mut Vec<String>) -> String {
    const _: () = assert!(SPARE_CAPACITY == 16);
    let len = raw.len();
    debug_assert_eq!(b.get(at..at + len), Some(raw));
    match b.get(at..at + 16) {
        Some(block) if len <= 16 => {
            let mut v: Vec<u8> = match spare.pop() {
                Some(s) if s.capacity() >= SPARE_CAPACITY => s.into_bytes(),
                _ => Vec::with_capacity(16),
            };
            // SAFETY: `v` has room for 16 bytes (checked above, or just allocated) and
            // `block` holds 16; `raw` is `block`'s first `len` bytes (it starts at `at` in
            // `b`), so the first `len` bytes of `v` are initialised, and they are UTF-8 (see
            // `checked_text`).
            unsafe {
                std::ptr::copy_nonoverlapping(block.as_ptr(), v.as_mut_ptr(), 16);
                v.set_len(len);
                String::from_utf8_unchecked(v)
            }
        }
        _ => match spare.pop() {
            Some(mut s) => {
                s.clear();
                s.push_str(checked_text(raw));
                s
            }
            None => checked_text(raw).to_owned(),
        },
    }
}

/// The text of a string's raw content (between its quotes, no escapes).
#[inline]
fn checked_text(raw: &[u8]) -> &str {
    // SAFETY: every scanner input was checked to be UTF-8 as a whole before scanning
    // (`Projection::project`, `is_plain_object`), and `raw` lies between two `"` bytes,
    // which are ASCII and so on character boundaries: `raw` is UTF-8 too.
    unsafe { std::str::from_utf8_unchecked(raw) }
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
mod tests;
