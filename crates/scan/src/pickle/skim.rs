//! Fast path: a pass over a pickle stream that only tracks stack depth, marks, string
//! literals and the memo slots holding strings. If every global it meets is allowlisted (judged
//! exactly as the full walker judges it) and the stream is well-formed, the file is safe and
//! the full walker is not needed. Anything unusual (unknown or non-safe global, a `STACK_GLOBAL`
//! whose operands are not known strings, `EXT`, protocol-0 strings, nested-looking bytes,
//! joblib array wrappers, truncation, stack errors) returns [`Skim::NeedsWalk`].
//!
//! Built for speed on `state_dict`-shaped pickles (millions of small opcodes): all hot state
//! lives in locals of one loop, string values are tracked as the byte offset of the opcode that
//! pushed them (decoded again only at `STACK_GLOBAL`), and the memo is a bitset of "holds a
//! string" with the offsets of the string entries only, so a memo of millions of tensors'
//! tuples costs a few bits each.

use super::text::{parse_float, parse_int_line, parse_long_line, parse_u64};
use super::walker::looks_nested;
use crate::ctx::MAX_LITERALS;
use crate::policy;
use crate::report::Verdict;

pub(crate) enum Skim<'a> {
    /// Well-formed and only safe globals: offset after `STOP`, globals seen, string literals.
    Safe {
        end: usize,
        globals: usize,
        lits: Vec<&'a [u8]>,
    },
    NeedsWalk,
}

/// The skim's memo. Keys must be put in order 0, 1, 2... (what the pickler writes); anything
/// else goes to the full walker. Per key one bit says whether it holds a string; the offsets of
/// the string-holding entries are kept in key order, found by rank (popcount).
struct Memo {
    /// Per 64 keys: the "is a string" bits, and how many string entries precede this word.
    words: Vec<(u64, u64)>,
    /// Offset of the opcode that pushed each string entry, in key order.
    strs: Vec<usize>,
    len: u64,
}

impl Memo {
    fn new() -> Self {
        Memo {
            words: Vec::new(),
            strs: Vec::new(),
            len: 0,
        }
    }

    /// Grows `strs` 16-fold: a big state_dict memoizes hundreds of thousands of strings, and
    /// doubling would copy (and fault in) the array many times; unused capacity is never
    /// touched, so it costs address space only.
    #[cold]
    fn grow(&mut self) {
        let add = (self.strs.len() * 15).max(64);
        self.strs.reserve(add);
    }

    /// Appends key `self.len`: a string pushed by the opcode at `off`, or a non-string.
    #[inline(always)]
    fn push(&mut self, str_off: Option<usize>) {
        let bit = self.len % 64;
        if bit == 0 {
            self.words.push((0, self.strs.len() as u64));
        }
        if let Some(off) = str_off {
            if self.strs.len() == self.strs.capacity() {
                self.grow();
            }
            if let Some(w) = self.words.last_mut() {
                w.0 |= 1 << bit;
            }
            self.strs.push(off);
        }
        self.len += 1;
    }

    /// `None` when the key was never put; `Some(None)` for a non-string entry.
    #[inline(always)]
    fn get(&self, key: u64) -> Option<Option<usize>> {
        if key >= self.len {
            return None;
        }
        let (w, before) = *self.words.get((key / 64) as usize)?;
        let bit = key % 64;
        if (w >> bit) & 1 == 0 {
            return Some(None);
        }
        let rank = before + (w & ((1u64 << bit) - 1)).count_ones() as u64;
        Some(Some(*self.strs.get(usize::try_from(rank).ok()?)?))
    }
}

/// The string pushed by the string opcode at `off` (decoded exactly as the skim read it).
fn str_at(data: &[u8], off: usize) -> Option<&[u8]> {
    let op = *data.get(off)?;
    let w = match op {
        0x8c | b'U' => 1,
        0x8d => 8,
        b'X' | b'T' => 4,
        _ => return None,
    };
    let n = usize::try_from(le(data, off + 1, w)?).ok()?;
    let s0 = off + 1 + w;
    data.get(s0..s0.checked_add(n)?)
}

/// Globals already judged safe in this stream, as written (module, name).
struct SafeCache<'a> {
    last: Option<(&'a [u8], &'a [u8])>,
    all: Vec<(&'a [u8], &'a [u8])>,
}

impl<'a> SafeCache<'a> {
    /// True when `module.name` is safe; `None` sends the stream to the full walker.
    fn check(&mut self, m: &'a [u8], n: &'a [u8], proto: u8) -> Option<()> {
        if self.last == Some((m, n)) {
            return Some(());
        }
        if !self.all.iter().any(|&(a, b)| a == m && b == n) {
            let ms = std::str::from_utf8(m).ok()?;
            let ns = std::str::from_utf8(n).ok()?;
            if !policy::is_dotted_ident(ms) || !is_safe(ms, ns, proto) {
                return None;
            }
            if self.all.len() < 64 {
                self.all.push((m, n));
            }
        }
        self.last = Some((m, n));
        Some(())
    }
}

/// True when `module.name` is safe under every spelling the walker considers, and is not one
/// of the safe globals the walker must see (bytes builders and joblib's inline-array wrapper).
fn is_safe(m: &str, n: &str, proto: u8) -> bool {
    if policy::is_joblib_wrapper(m, n) || ((m == "_codecs" || m == "codecs") && n == "encode") {
        return false;
    }
    if policy::classify(m, n).0 != Verdict::Safe {
        return false;
    }
    match policy::py2_remap(m, n) {
        Some((m2, n2)) => {
            if (m2 == "_codecs" || m2 == "codecs") && n2 == "encode" {
                return false;
            }
            let _ = proto; // remapped or not, both spellings must be safe
            policy::classify(&m2, &n2).0 == Verdict::Safe
        }
        None => true,
    }
}

/// Little-endian unsigned integer of `n` (1..=8) bytes at `p`.
#[inline(always)]
fn le(data: &[u8], p: usize, n: usize) -> Option<u64> {
    let s = data.get(p..p.checked_add(n)?)?;
    let mut v = 0u64;
    for (i, b) in s.iter().enumerate() {
        v |= (*b as u64) << (8 * i);
    }
    Some(v)
}

#[inline(always)]
fn le4(data: &[u8], p: usize) -> Option<u64> {
    let b = data.get(p..)?.first_chunk::<4>()?;
    Some(u32::from_le_bytes(*b) as u64)
}

#[inline(always)]
fn le8(data: &[u8], p: usize) -> Option<u64> {
    let b = data.get(p..)?.first_chunk::<8>()?;
    Some(u64::from_le_bytes(*b))
}

fn line<'a>(data: &'a [u8], p: &mut usize) -> Option<&'a [u8]> {
    let rest = data.get(*p..)?;
    let i = memchr::memchr(b'\n', rest)?;
    *p += i + 1;
    Some(&rest[..i])
}

/// Skims one pickle stream starting at `start`.
pub(crate) fn skim(data: &[u8], start: usize) -> Skim<'_> {
    let mut globals = 0;
    let mut lits = Vec::new();
    match run(data, start, &mut globals, &mut lits) {
        Some(end) => Skim::Safe { end, globals, lits },
        None => Skim::NeedsWalk,
    }
}

/// The skim loop. Returns the offset after `STOP`, or `None` for "needs the full walk".
///
/// Stack model: `depth` entries, the innermost mark at `floor`. The last two strings pushed are
/// remembered by opcode offset (`s_prev`, `s_top`), and `run` (0..=2) says how many of the top
/// stack entries are exactly those strings, pushed consecutively (only memo puts in between).
fn run<'a>(
    data: &'a [u8],
    start: usize,
    globals: &mut usize,
    lits: &mut Vec<&'a [u8]>,
) -> Option<usize> {
    let mut p = start;
    let mut depth: usize = 0;
    let mut floor: usize = 0;
    let mut marks: Vec<usize> = Vec::new();
    let mut run: u8 = 0;
    let mut s_prev: usize = 0;
    let mut s_top: usize = 0;
    let mut proto: u8 = 0;
    let mut memo = Memo::new();
    let mut cache = SafeCache {
        last: None,
        all: Vec::new(),
    };

    macro_rules! push_other {
        () => {{
            depth += 1;
            run = 0;
        }};
    }
    macro_rules! need {
        ($n:expr) => {
            if depth < floor + $n {
                return None;
            }
        };
    }
    // pops `n`, pushes one non-string
    macro_rules! reduce {
        ($n:expr) => {{
            need!($n);
            depth -= $n - 1;
            run = 0;
        }};
    }
    macro_rules! str_top {
        ($off:expr) => {{
            depth += 1;
            s_prev = s_top;
            s_top = $off;
            run = if run == 0 { 1 } else { 2 };
        }};
    }
    macro_rules! pop_mark {
        () => {{
            depth = marks.pop()?;
            floor = marks.last().copied().unwrap_or(0);
        }};
    }
    macro_rules! put {
        ($key:expr) => {{
            if depth <= floor || $key != memo.len {
                return None;
            }
            memo.push(if run > 0 { Some(s_top) } else { None });
        }};
    }
    macro_rules! get {
        ($key:expr) => {{
            // a missing key: the walker reports it
            match memo.get($key)? {
                None => push_other!(),
                Some(off) => str_top!(off),
            }
        }};
    }
    macro_rules! global {
        ($m:expr, $n:expr) => {{
            *globals += 1;
            cache.check($m, $n, proto)?;
        }};
    }

    // Picklers memoize most values right after pushing them: handle a following BINPUT or
    // LONG_BINPUT here, saving a trip through the dispatch (a mispredicted indirect jump).
    // Anything odd (truncation, another opcode) is left to the main loop.
    macro_rules! then_put {
        () => {{
            match data.get(p) {
                Some(b'r') => {
                    if let Some(k) = le4(data, p + 1) {
                        put!(k);
                        p += 5;
                    }
                }
                Some(b'q') => {
                    if let Some(&k) = data.get(p + 1) {
                        put!(k as u64);
                        p += 2;
                    }
                }
                _ => {}
            }
        }};
    }

    // Runs of small ints (offsets, sizes, strides) and the TUPLE1/TUPLE2 that packs them, each
    // handled without going back through the dispatch.
    macro_rules! then_ints {
        () => {{
            loop {
                match data.get(p) {
                    Some(b'K') if p + 2 <= data.len() => p += 2,
                    Some(b'M') if p + 3 <= data.len() => p += 3,
                    _ => break,
                }
                depth += 1;
            }
            match data.get(p) {
                Some(0x86) => {
                    reduce!(2);
                    p += 1;
                    then_put!();
                }
                Some(0x85) => {
                    reduce!(1);
                    p += 1;
                    then_put!();
                }
                _ => {}
            }
        }};
    }

    loop {
        let op = *data.get(p)?;
        let a = p + 1;
        // Common state_dict opcodes first; the match compiles to a jump table either way.
        match op {
            // BINPUT, BINGET, LONG_BINPUT, LONG_BINGET
            b'q' => {
                let k = *data.get(a)? as u64;
                put!(k);
                p = a + 1;
            }
            b'h' => {
                let k = *data.get(a)? as u64;
                get!(k);
                p = a + 1;
                // the pickler writes runs of BINGETs (a memoized storage type, location...)
                while data.get(p) == Some(&b'h') {
                    let Some(&k) = data.get(p + 1) else { break };
                    get!(k as u64);
                    p += 2;
                }
            }
            b'r' => {
                let k = le4(data, a)?;
                put!(k);
                p = a + 4;
            }
            b'j' => {
                let k = le4(data, a)?;
                get!(k);
                p = a + 4;
            }
            // BININT1
            b'K' => {
                data.get(a)?;
                push_other!();
                p = a + 1;
                then_ints!();
            }
            b'(' => {
                marks.push(depth);
                floor = depth;
                run = 0;
                p = a;
            }
            // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8, SHORT_BINSTRING, BINSTRING
            b'X' | b'T' => {
                let n = le4(data, a)?;
                if op == b'T' && n > i32::MAX as u64 {
                    return None;
                }
                let s0 = a + 4;
                let e = s0.checked_add(usize::try_from(n).ok()?)?;
                let s = data.get(s0..e)?;
                push_lit(lits, s);
                str_top!(p);
                p = e;
                then_put!();
            }
            0x8c | b'U' => {
                let n = *data.get(a)? as usize;
                let s0 = a + 1;
                let s = data.get(s0..s0 + n)?;
                push_lit(lits, s);
                str_top!(p);
                p = s0 + n;
                then_put!();
            }
            0x8d => {
                let n = usize::try_from(le8(data, a)?).ok()?;
                let s0 = a + 8;
                let e = s0.checked_add(n)?;
                let s = data.get(s0..e)?;
                push_lit(lits, s);
                str_top!(p);
                p = e;
                then_put!();
            }
            // REDUCE, NEWOBJ, APPEND, TUPLE2, BUILD
            b'R' | 0x81 | b'a' | 0x86 | b'b' => {
                reduce!(2);
                p = a;
                then_put!();
            }
            // NEWOBJ_EX, SETITEM, TUPLE3
            0x92 | b's' | 0x87 => {
                reduce!(3);
                p = a;
                then_put!();
            }
            // TUPLE1, BINPERSID
            0x85 | b'Q' => {
                reduce!(1);
                p = a;
                then_put!();
            }
            // TUPLE, LIST, DICT, FROZENSET
            b't' | b'l' | b'd' | 0x91 => {
                pop_mark!();
                push_other!();
                p = a;
                then_put!();
            }
            // APPENDS, SETITEMS, ADDITEMS
            b'e' | b'u' | 0x90 => {
                pop_mark!();
                need!(1);
                run = 0;
                p = a;
            }
            // one-value pushes without arguments
            b'N' | b')' | b']' | b'}' | 0x8f | 0x88 | 0x89 | 0x97 => {
                push_other!();
                p = a;
                then_put!();
            }
            b'M' => {
                data.get(a..a + 2)?;
                push_other!();
                p = a + 2;
                then_ints!();
            }
            b'J' => {
                le4(data, a)?;
                push_other!();
                p = a + 4;
                then_ints!();
            }
            b'G' => {
                le8(data, a)?;
                push_other!();
                p = a + 8;
            }
            0x94 => {
                let k = memo.len;
                put!(k);
                p = a;
            }
            b'.' => return Some(a),
            // bytes
            b'B' | b'C' | 0x8e | 0x96 => {
                let w = match op {
                    b'C' => 1,
                    b'B' => 4,
                    _ => 8,
                };
                let n = usize::try_from(le(data, a, w)?).ok()?;
                let s0 = a + w;
                let e = s0.checked_add(n)?;
                let b = data.get(s0..e)?;
                if looks_nested(b) {
                    return None;
                }
                if (3..=4096).contains(&b.len())
                    && lits.len() < MAX_LITERALS
                    && std::str::from_utf8(b).is_ok()
                {
                    lits.push(b);
                }
                push_other!();
                p = e;
            }
            // text arguments are validated exactly as the walker does
            b'I' => {
                p = a;
                parse_int_line(line(data, &mut p)?)?;
                push_other!();
            }
            b'L' => {
                p = a;
                parse_long_line(line(data, &mut p)?)?;
                push_other!();
            }
            b'F' => {
                p = a;
                parse_float(line(data, &mut p)?)?;
                push_other!();
            }
            0x8a => {
                let n = *data.get(a)? as usize;
                p = a + 1 + n;
                if p > data.len() {
                    return None;
                }
                push_other!();
            }
            0x8b => {
                let n = usize::try_from(le4(data, a)?).ok()?;
                p = (a + 4).checked_add(n).filter(|&e| e <= data.len())?;
                push_other!();
            }
            b'c' => {
                p = a;
                let m = line(data, &mut p)?;
                let n = line(data, &mut p)?;
                global!(m, n);
                push_other!();
                then_put!();
            }
            b'i' => {
                p = a;
                let m = line(data, &mut p)?;
                let n = line(data, &mut p)?;
                global!(m, n);
                pop_mark!();
                push_other!();
            }
            // STACK_GLOBAL: both operands must be the two strings just pushed
            0x93 => {
                if run < 2 {
                    return None;
                }
                need!(2);
                let m = str_at(data, s_prev)?;
                let n = str_at(data, s_top)?;
                global!(m, n);
                depth -= 1;
                run = 0;
                p = a;
                then_put!();
            }
            b'p' => {
                p = a;
                let l = line(data, &mut p)?;
                let k = parse_u64(l)?;
                put!(k);
            }
            b'g' => {
                p = a;
                let l = line(data, &mut p)?;
                let k = parse_u64(l)?;
                get!(k);
            }
            // READONLY_BUFFER keeps the top
            0x98 => {
                need!(1);
                p = a;
            }
            // DUP
            b'2' => {
                need!(1);
                push_other!();
                p = a;
            }
            // POP
            b'0' => {
                if depth > floor {
                    depth -= 1;
                    run = 0;
                } else {
                    pop_mark!();
                    run = 0;
                }
                p = a;
            }
            // POP_MARK: the strings `run` counted may be gone
            b'1' => {
                pop_mark!();
                run = 0;
                p = a;
            }
            // OBJ
            b'o' => {
                if depth <= *marks.last()? {
                    return None;
                }
                pop_mark!();
                push_other!();
                p = a;
            }
            0x80 => {
                let v = *data.get(a)?;
                if v > 5 {
                    return None;
                }
                proto = v;
                p = a + 1;
            }
            // FRAME
            0x95 => {
                let n = le8(data, a)?;
                p = a + 8;
                if n > (data.len() - p) as u64 {
                    return None;
                }
            }
            // everything else (EXT, PERSID, protocol-0 strings, invalid opcodes): full walk
            _ => return None,
        }
    }
}

#[inline(always)]
fn push_lit<'a>(lits: &mut Vec<&'a [u8]>, s: &'a [u8]) {
    if (3..=4096).contains(&s.len()) && lits.len() < MAX_LITERALS {
        lits.push(s);
    }
}
