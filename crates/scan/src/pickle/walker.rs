//! The opcode walker: follows a pickle stream the way CPython's unpickler does, without ever
//! importing or calling anything. Globals are resolved to names and classified; calls are
//! recorded as [`CallNode`]s so dangerous ones can be printed with their arguments.

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

use super::text::{
    decode_long, parse_float, parse_int_line, parse_long_line, parse_u64, raw_unicode_escape,
    unquote_string,
};
use super::value::{Glob, Val, MAX_DICT};
use crate::ctx::Ctx;
use crate::policy;
use crate::report::{Finding, Verdict};

/// Why a walk stopped early.
pub(crate) struct Broke {
    pub offset: usize,
    pub message: String,
}

type R<T> = Result<T, Broke>;

/// `(module, name)` as written in the stream.
type GlobalKey<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

fn broke<T>(offset: usize, message: impl Into<String>) -> R<T> {
    Err(Broke {
        offset,
        message: message.into(),
    })
}

/// Result of walking one pickle stream.
pub(crate) struct Outcome {
    /// Offset just past `STOP`, or where the walk broke.
    pub end: usize,
    /// `STOP` was reached.
    pub stopped: bool,
    /// The break, if any.
    pub error: Option<Broke>,
    /// Globals resolved (including `EXT`).
    pub globals: usize,
    /// The walk stopped because the file's work budget ran out.
    pub budget: bool,
}

pub(crate) struct Walker<'a, 'c> {
    pub(super) data: &'a [u8],
    pub(super) ctx: &'c mut Ctx,
    pub(super) member: &'c str,
    pub(super) depth: u32,
    pub(super) stack: Vec<Val<'a>>,
    marks: Vec<usize>,
    memo: Vec<Option<Val<'a>>>,
    memo_big: HashMap<u64, Val<'a>>,
    memo_len: usize,
    pub(super) proto: u8,
    globals: HashMap<GlobalKey<'a>, Rc<Glob>>,
    pub(super) ext: HashMap<i64, (String, String)>,
    pub(super) lits: Vec<Cow<'a, [u8]>>,
    pub(super) n_globals: usize,
    /// `()`, shared.
    empty_tuple: Rc<[Val<'a>]>,
    /// `ctx.limits.max_walk_opcodes`, read once.
    max_opcodes: u64,
    /// Findings index at start, to roll back a probe that turned out not to be a pickle.
    findings_start: usize,
}

/// Memo keys below this are kept in a vector (when dense enough), others in a map.
const DIRECT_MEMO: u64 = 1 << 28;

impl<'a, 'c> Walker<'a, 'c> {
    pub fn new(data: &'a [u8], ctx: &'c mut Ctx, member: &'c str, depth: u32) -> Self {
        let findings_start = ctx.report.findings.len();
        let max_opcodes = ctx.limits.max_walk_opcodes;
        Walker {
            data,
            ctx,
            member,
            depth,
            stack: Vec::with_capacity(64),
            marks: Vec::new(),
            memo: Vec::new(),
            memo_big: HashMap::new(),
            memo_len: 0,
            proto: 0,
            globals: HashMap::new(),
            ext: HashMap::new(),
            lits: Vec::new(),
            n_globals: 0,
            empty_tuple: Rc::from(Vec::new()),
            max_opcodes,
            findings_start,
        }
    }

    /// Drops everything this walker reported (used when a probe was not a pickle after all).
    pub fn rollback(self) {
        self.ctx.report.findings.truncate(self.findings_start);
    }

    /// Commits string literals to the report.
    pub fn commit(self) {
        for l in &self.lits {
            self.ctx.literal(l);
        }
    }

    /// Walks one pickle from `start` up to and including its `STOP`.
    pub fn run(&mut self, start: usize) -> Outcome {
        self.ctx.walk_begins();
        let res = if self.ctx.exhausted {
            Err(self.budget_exceeded(start))
        } else {
            self.run_inner(start)
        };
        let budget = self.ctx.exhausted;
        match res {
            Ok(end) => Outcome {
                end,
                stopped: true,
                error: None,
                globals: self.n_globals,
                budget,
            },
            Err(b) => Outcome {
                end: b.offset,
                stopped: false,
                error: Some(b),
                globals: self.n_globals,
                budget,
            },
        }
    }

    #[cold]
    fn budget_exceeded(&mut self, op_off: usize) -> Broke {
        let message = self.ctx.budget_exceeded(self.member, op_off as u64);
        Broke {
            offset: op_off,
            message,
        }
    }

    // ---- byte readers -------------------------------------------------------------------

    #[inline]
    fn take(&self, p: &mut usize, n: usize, op_off: usize) -> R<&'a [u8]> {
        let data: &'a [u8] = self.data;
        match p.checked_add(n) {
            Some(end) if end <= data.len() => {
                let s = &data[*p..end];
                *p = end;
                Ok(s)
            }
            _ => broke(
                op_off,
                format!(
                    "truncated: opcode needs {n} more bytes, {} left",
                    data.len().saturating_sub(*p)
                ),
            ),
        }
    }

    #[inline]
    fn u8_(&self, p: &mut usize, op_off: usize) -> R<u8> {
        Ok(self.take(p, 1, op_off)?[0])
    }

    #[inline]
    fn le_u64(&self, p: &mut usize, n: usize, op_off: usize) -> R<u64> {
        let s = self.take(p, n, op_off)?;
        let mut v = 0u64;
        for (i, b) in s.iter().enumerate() {
            v |= (*b as u64) << (8 * i);
        }
        Ok(v)
    }

    fn line(&self, p: &mut usize, op_off: usize) -> R<&'a [u8]> {
        let data: &'a [u8] = self.data;
        let rest = &data[(*p).min(data.len())..];
        match memchr::memchr(b'\n', rest) {
            Some(i) => {
                let s = &rest[..i];
                *p += i + 1;
                Ok(s)
            }
            None => broke(op_off, "truncated: line argument has no newline"),
        }
    }

    fn len_arg(&self, p: &mut usize, n: usize, op_off: usize) -> R<usize> {
        let v = self.le_u64(p, n, op_off)?;
        if n == 4 && v > i32::MAX as u64 && self.data[op_off] == b'T' {
            return broke(op_off, "BINSTRING with negative length");
        }
        usize::try_from(v).or_else(|_| broke(op_off, "length does not fit in memory"))
    }

    // ---- stack helpers ------------------------------------------------------------------

    #[inline]
    pub(super) fn pop(&mut self, op_off: usize) -> R<Val<'a>> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return broke(op_off, "stack underflow");
        }
        match self.stack.pop() {
            Some(v) => Ok(v),
            None => broke(op_off, "stack underflow"),
        }
    }

    #[inline]
    fn top_mut(&mut self, op_off: usize) -> R<&mut Val<'a>> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return broke(op_off, "stack underflow");
        }
        match self.stack.last_mut() {
            Some(v) => Ok(v),
            None => broke(op_off, "stack underflow"),
        }
    }

    fn pop_mark(&mut self, op_off: usize) -> R<Vec<Val<'a>>> {
        match self.marks.pop() {
            Some(m) => Ok(self.stack.split_off(m.min(self.stack.len()))),
            None => broke(op_off, "could not find MARK"),
        }
    }

    /// Stores a memo entry. Keys go to the vector while it stays dense: a key may extend it
    /// to at most twice the number of entries (plus 1024), so its size is linear in the number
    /// of puts whatever keys a stream uses; sparse keys go to the map. A key lives in one
    /// place only, and `memo_len` counts distinct keys (what `MEMOIZE` uses, like CPython's
    /// `len(memo)`).
    fn memo_put(&mut self, key: u64, v: Val<'a>) {
        if key < DIRECT_MEMO && key as usize <= self.memo_len * 2 + 1024 {
            let k = key as usize;
            if k >= self.memo.len() {
                self.memo.resize(k + 1, None);
            }
            let fresh = self.memo[k].replace(v).is_none();
            if fresh && (self.memo_big.is_empty() || self.memo_big.remove(&key).is_none()) {
                self.memo_len += 1;
            }
        } else if self.memo_big.insert(key, v).is_none() {
            self.memo_len += 1;
        }
    }

    fn memo_get(&self, key: u64, op_off: usize) -> R<Val<'a>> {
        let v = match self.memo.get(key as usize) {
            Some(Some(v)) => Some(v.clone()),
            _ if self.memo_big.is_empty() => None,
            _ => self.memo_big.get(&key).cloned(),
        };
        match v {
            Some(v) => Ok(v),
            None => broke(op_off, format!("memo key {key} not found")),
        }
    }

    fn put_top(&mut self, key: u64, op_off: usize) -> R<()> {
        let v = match self.stack.last() {
            Some(v) if self.stack.len() > self.marks.last().copied().unwrap_or(0) => v.clone(),
            _ => return broke(op_off, "memo PUT on an empty stack"),
        };
        self.memo_put(key, v);
        Ok(())
    }

    fn push_str(&mut self, s: Cow<'a, [u8]>) {
        if (3..=4096).contains(&s.len()) && self.lits.len() < crate::ctx::MAX_LITERALS {
            self.lits.push(s.clone());
        }
        self.stack.push(Val::Str(s));
    }

    fn push_bytes(&mut self, b: Cow<'a, [u8]>, op_off: usize) {
        self.nested_probe(&b, op_off);
        if (3..=4096).contains(&b.len())
            && std::str::from_utf8(&b).is_ok()
            && self.lits.len() < crate::ctx::MAX_LITERALS
        {
            self.lits.push(b.clone());
        }
        self.stack.push(Val::Bytes(b));
    }

    /// Any bytes literal that starts like a pickle or a zip is scanned as a nested file.
    pub(super) fn nested_probe(&mut self, b: &[u8], op_off: usize) {
        if looks_nested(b) {
            self.scan_nested(b, op_off, false);
        }
    }

    pub(super) fn scan_nested(&mut self, b: &[u8], op_off: usize, forced: bool) {
        if self.depth + 1 > crate::ctx::MAX_DEPTH {
            self.ctx.error(
                self.member,
                op_off as u64,
                "nested pickle too deep; not scanned",
            );
            return;
        }
        let member = if self.member.is_empty() {
            format!("nested@{op_off}")
        } else {
            format!("{}>nested@{op_off}", self.member)
        };
        crate::formats::scan_content(self.ctx, b, &member, self.depth + 1, forced);
    }

    // ---- globals ------------------------------------------------------------------------

    /// Resolves `module`/`name` as `find_class` would and records a finding when not safe.
    pub(super) fn resolve(
        &mut self,
        module: Cow<'a, [u8]>,
        name: Cow<'a, [u8]>,
        op_off: usize,
    ) -> R<Val<'a>> {
        let key = (module, name);
        if let Some(g) = self.globals.get(&key) {
            self.n_globals += 1;
            return Ok(Val::Global(g.clone()));
        }
        let m = String::from_utf8_lossy(&key.0).into_owned();
        let n = String::from_utf8_lossy(&key.1).into_owned();
        if !policy::is_dotted_ident(&m) {
            return broke(
                op_off,
                format!(
                    "import of `{}` would fail: not a module name",
                    m.escape_debug()
                ),
            );
        }
        self.n_globals += 1;
        let g = self.make_glob(m, n, None, op_off);
        self.globals.insert(key, g.clone());
        Ok(Val::Global(g))
    }

    /// Builds a [`Glob`], applying the Python 2 remapping for protocol < 3, classifying it and
    /// recording a finding when it is not safe. `via` is how the stream reached it.
    pub(super) fn make_glob(
        &mut self,
        m: String,
        n: String,
        via: Option<String>,
        op_off: usize,
    ) -> Rc<Glob> {
        let written = format!("{m}.{n}");
        let (mut module, mut name, mut written_as) = (m.clone(), n.clone(), via.clone());
        if self.proto < 3 {
            if let Some((m2, n2)) = policy::py2_remap(&m, &n) {
                module = m2;
                name = n2;
                written_as = Some(via.clone().unwrap_or(written.clone()));
            }
        }
        let (mut verdict, mut reason) = policy::classify(&module, &name);
        // A protocol >= 3 stream naming a Python 2 module fails to import in the real loader;
        // judge it by both spellings all the same.
        if written_as.is_none() {
            if let Some((m2, n2)) = policy::py2_remap(&m, &n) {
                let (v2, r2) = policy::classify(&m2, &n2);
                if v2 > verdict {
                    verdict = v2;
                    reason = format!("Python 2 name of {m2}.{n2}: {r2}");
                }
            }
        }
        let finding = if verdict > Verdict::Safe {
            self.ctx.finding(Finding {
                verdict,
                global: if name.is_empty() {
                    module.clone()
                } else {
                    format!("{module}.{name}")
                },
                written_as: written_as.clone(),
                member: self.member.to_string(),
                offset: op_off as u64,
                reason,
                call: None,
            })
        } else {
            None
        };
        Rc::new(Glob {
            module,
            name,
            verdict,
            finding,
            via,
        })
    }

    // ---- the loop -----------------------------------------------------------------------

    fn run_inner(&mut self, start: usize) -> R<usize> {
        let mut p = start;
        loop {
            let op_off = p;
            let Some(&op) = self.data.get(p) else {
                return broke(p, "truncated: pickle ends without STOP");
            };
            self.ctx.walked += 1;
            if (self.ctx.walked & 0xffff == 0 || self.ctx.walked > self.max_opcodes)
                && self.ctx.over_budget()
            {
                return Err(self.budget_exceeded(op_off));
            }
            p += 1;
            match op {
                b'(' => self.marks.push(self.stack.len()),
                b'.' => return Ok(p),
                b'0' => {
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if self.stack.len() > floor {
                        self.stack.pop();
                    } else {
                        self.pop_mark(op_off)?;
                    }
                }
                b'1' => {
                    self.pop_mark(op_off)?;
                }
                b'2' => {
                    let v = self.top_mut(op_off)?.clone();
                    self.stack.push(v);
                }
                b'F' => {
                    let l = self.line(&mut p, op_off)?;
                    match parse_float(l) {
                        Some(f) => self.stack.push(Val::Float(f)),
                        None => return broke(op_off, "FLOAT argument is not a number"),
                    }
                }
                b'I' => {
                    let l = self.line(&mut p, op_off)?;
                    let v = parse_int_line(l)
                        .ok_or(())
                        .or_else(|_| broke(op_off, "INT argument is not an integer"))?;
                    self.stack.push(v);
                }
                b'J' => {
                    let v = self.le_u64(&mut p, 4, op_off)? as u32 as i32;
                    self.stack.push(Val::Int(v as i64));
                }
                b'K' => {
                    let v = self.u8_(&mut p, op_off)?;
                    self.stack.push(Val::Int(v as i64));
                }
                b'M' => {
                    let v = self.le_u64(&mut p, 2, op_off)?;
                    self.stack.push(Val::Int(v as i64));
                }
                b'L' => {
                    let l = self.line(&mut p, op_off)?;
                    let v = parse_long_line(l)
                        .ok_or(())
                        .or_else(|_| broke(op_off, "LONG argument is not an integer"))?;
                    self.stack.push(v);
                }
                b'N' => self.stack.push(Val::None),
                b'P' => {
                    self.line(&mut p, op_off)?;
                    self.stack.push(Val::Persistent);
                }
                b'Q' => {
                    self.pop(op_off)?;
                    self.stack.push(Val::Persistent);
                }
                b'R' => {
                    let args = self.pop(op_off)?;
                    let func = self.pop(op_off)?;
                    let v = self.call(func, args, None, op_off);
                    self.stack.push(v);
                }
                b'S' => {
                    let l = self.line(&mut p, op_off)?;
                    let s = unquote_string(l)
                        .ok_or(())
                        .or_else(|_| broke(op_off, "STRING argument is not a quoted string"))?;
                    self.push_str(s);
                }
                b'T' => {
                    let n = self.len_arg(&mut p, 4, op_off)?;
                    let s = self.take(&mut p, n, op_off)?;
                    self.push_str(Cow::Borrowed(s));
                }
                b'U' => {
                    let n = self.u8_(&mut p, op_off)? as usize;
                    let s = self.take(&mut p, n, op_off)?;
                    self.push_str(Cow::Borrowed(s));
                }
                b'V' => {
                    let l = self.line(&mut p, op_off)?;
                    self.push_str(raw_unicode_escape(l));
                }
                b'X' => {
                    let n = self.len_arg(&mut p, 4, op_off)?;
                    let s = self.take(&mut p, n, op_off)?;
                    self.push_str(Cow::Borrowed(s));
                }
                0x8c => {
                    let n = self.u8_(&mut p, op_off)? as usize;
                    let s = self.take(&mut p, n, op_off)?;
                    self.push_str(Cow::Borrowed(s));
                }
                0x8d => {
                    let n = self.len_arg(&mut p, 8, op_off)?;
                    let s = self.take(&mut p, n, op_off)?;
                    self.push_str(Cow::Borrowed(s));
                }
                b'B' | 0x8e | 0x96 => {
                    let n = self.len_arg(&mut p, if op == b'B' { 4 } else { 8 }, op_off)?;
                    let s = self.take(&mut p, n, op_off)?;
                    self.push_bytes(Cow::Borrowed(s), op_off);
                }
                b'C' => {
                    let n = self.u8_(&mut p, op_off)? as usize;
                    let s = self.take(&mut p, n, op_off)?;
                    self.push_bytes(Cow::Borrowed(s), op_off);
                }
                b'a' => {
                    self.pop(op_off)?;
                    self.top_mut(op_off)?;
                }
                b'e' => {
                    self.pop_mark(op_off)?;
                    self.top_mut(op_off)?;
                }
                b'b' => {
                    let state = self.pop(op_off)?;
                    let inst = self.top_mut(op_off)?.clone();
                    p = self.build(inst, state, p, op_off)?;
                }
                b'c' => {
                    let m = self.line(&mut p, op_off)?;
                    let n = self.line(&mut p, op_off)?;
                    let g = self.resolve(Cow::Borrowed(m), Cow::Borrowed(n), op_off)?;
                    self.stack.push(g);
                }
                b'i' => {
                    let m = self.line(&mut p, op_off)?;
                    let n = self.line(&mut p, op_off)?;
                    let args = self.pop_mark(op_off)?;
                    let g = self.resolve(Cow::Borrowed(m), Cow::Borrowed(n), op_off)?;
                    let v = self.call(g, Val::Tuple(Rc::from(args)), None, op_off);
                    self.stack.push(v);
                }
                b'o' => {
                    let mut args = self.pop_mark(op_off)?;
                    if args.is_empty() {
                        return broke(op_off, "OBJ without a class");
                    }
                    let cls = args.remove(0);
                    let v = self.call(cls, Val::Tuple(Rc::from(args)), None, op_off);
                    self.stack.push(v);
                }
                0x81 => {
                    let args = self.pop(op_off)?;
                    let cls = self.pop(op_off)?;
                    let v = self.call(cls, args, None, op_off);
                    self.stack.push(v);
                }
                0x92 => {
                    let kwargs = self.pop(op_off)?;
                    let args = self.pop(op_off)?;
                    let cls = self.pop(op_off)?;
                    let v = self.call(cls, args, Some(kwargs), op_off);
                    self.stack.push(v);
                }
                0x93 => {
                    let name = self.pop(op_off)?;
                    let module = self.pop(op_off)?;
                    match (module, name) {
                        (Val::Str(m), Val::Str(n)) => {
                            let g = self.resolve(m, n, op_off)?;
                            self.stack.push(g);
                        }
                        _ => return broke(op_off, "STACK_GLOBAL requires str module and name"),
                    }
                }
                0x82..=0x84 => {
                    let n = match op {
                        0x82 => 1,
                        0x83 => 2,
                        _ => 4,
                    };
                    let code = self.le_u64(&mut p, n, op_off)? as i64;
                    let v = self.ext(code, op_off)?;
                    self.stack.push(v);
                }
                b'd' => {
                    let items = self.pop_mark(op_off)?;
                    self.stack.push(Val::Dict(Rc::new(pairs(items))));
                }
                b'}' => self.stack.push(Val::Dict(Rc::new(Vec::new()))),
                b's' => {
                    let v = self.pop(op_off)?;
                    let k = self.pop(op_off)?;
                    set_items(self.top_mut(op_off)?, vec![k, v]);
                }
                b'u' => {
                    let items = self.pop_mark(op_off)?;
                    set_items(self.top_mut(op_off)?, items);
                }
                b'g' => {
                    let l = self.line(&mut p, op_off)?;
                    let k = parse_u64(l)
                        .ok_or(())
                        .or_else(|_| broke(op_off, "GET argument is not an integer"))?;
                    let v = self.memo_get(k, op_off)?;
                    self.stack.push(v);
                }
                b'h' => {
                    let k = self.u8_(&mut p, op_off)? as u64;
                    let v = self.memo_get(k, op_off)?;
                    self.stack.push(v);
                }
                b'j' => {
                    let k = self.le_u64(&mut p, 4, op_off)?;
                    let v = self.memo_get(k, op_off)?;
                    self.stack.push(v);
                }
                b'p' => {
                    let l = self.line(&mut p, op_off)?;
                    let k = parse_u64(l)
                        .ok_or(())
                        .or_else(|_| broke(op_off, "PUT argument is not an integer"))?;
                    self.put_top(k, op_off)?;
                }
                b'q' => {
                    let k = self.u8_(&mut p, op_off)? as u64;
                    self.put_top(k, op_off)?;
                }
                b'r' => {
                    let k = self.le_u64(&mut p, 4, op_off)?;
                    self.put_top(k, op_off)?;
                }
                0x94 => {
                    let k = self.memo_len as u64;
                    self.put_top(k, op_off)?;
                }
                b'l' | 0x91 => {
                    self.pop_mark(op_off)?;
                    self.stack
                        .push(if op == b'l' { Val::List } else { Val::Set });
                }
                b']' => self.stack.push(Val::List),
                0x8f => self.stack.push(Val::Set),
                0x90 => {
                    self.pop_mark(op_off)?;
                    self.top_mut(op_off)?;
                }
                b't' => {
                    let Some(m) = self.marks.pop() else {
                        return broke(op_off, "could not find MARK");
                    };
                    let items: Rc<[Val<'a>]> =
                        self.stack.drain(m.min(self.stack.len())..).collect();
                    self.stack.push(Val::Tuple(items));
                }
                b')' => self.stack.push(Val::Tuple(self.empty_tuple.clone())),
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if self.stack.len() < floor + n {
                        return broke(op_off, "stack underflow");
                    }
                    let items: Rc<[Val<'a>]> = self.stack.drain(self.stack.len() - n..).collect();
                    self.stack.push(Val::Tuple(items));
                }
                b'G' => {
                    let v = self.le_u64(&mut p, 8, op_off)?;
                    self.stack.push(Val::Float(f64::from_bits(v.swap_bytes())));
                    // big-endian on the wire
                }
                0x88 => self.stack.push(Val::Bool(true)),
                0x89 => self.stack.push(Val::Bool(false)),
                0x8a => {
                    let n = self.u8_(&mut p, op_off)? as usize;
                    let b = self.take(&mut p, n, op_off)?;
                    self.stack.push(decode_long(b));
                }
                0x8b => {
                    let n = self.len_arg(&mut p, 4, op_off)?;
                    let b = self.take(&mut p, n, op_off)?;
                    self.stack.push(decode_long(b));
                }
                0x80 => {
                    let v = self.u8_(&mut p, op_off)?;
                    if v > 5 {
                        return broke(op_off, format!("unsupported pickle protocol {v}"));
                    }
                    self.proto = v;
                }
                0x95 => {
                    let n = self.le_u64(&mut p, 8, op_off)?;
                    let left = (self.data.len() - p) as u64;
                    if n > left {
                        // The loader runs (at least with the Python unpickler) what it has, so
                        // keep walking and judge the truncated frame's opcodes too.
                        self.ctx.error(
                            self.member,
                            op_off as u64,
                            format!("FRAME of {n} bytes but only {left} remain (truncated)"),
                        );
                    }
                }
                0x97 => self.stack.push(Val::Opaque),
                0x98 => {
                    self.top_mut(op_off)?;
                }
                _ => return broke(op_off, format!("invalid opcode 0x{op:02x}")),
            }
        }
    }
}

/// Bytes that are probed as a nested pickle or zip wherever they appear.
pub(super) fn looks_nested(b: &[u8]) -> bool {
    (b.len() >= 2 && b[0] == 0x80 && (2..=5).contains(&b[1])) || b.starts_with(b"PK\x03\x04")
}

fn pairs<'a>(items: Vec<Val<'a>>) -> Vec<(Val<'a>, Val<'a>)> {
    let mut out = Vec::with_capacity((items.len() / 2).min(MAX_DICT));
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        if out.len() >= MAX_DICT {
            break;
        }
        out.push((k, v));
    }
    out
}

fn set_items<'a>(target: &mut Val<'a>, items: Vec<Val<'a>>) {
    if let Val::Dict(d) = target {
        if d.len() < MAX_DICT {
            Rc::make_mut(d).extend(pairs(items));
        }
    }
}
