//! Fast path: a pass over a pickle stream that only tracks stack depth, marks, string
//! literals and the memo slots holding strings. If every global it meets is allowlisted (judged
//! exactly as the full walker judges it) and the stream is well-formed, the file is safe and
//! the full walker is not needed. Anything unusual (unknown or non-safe global, a `STACK_GLOBAL`
//! whose operands are not known strings, `EXT`, protocol-0 strings, nested-looking bytes,
//! joblib array wrappers, truncation, stack errors) returns [`Skim::NeedsWalk`].

use super::text::{parse_float, parse_int_line, parse_long_line, parse_u64};
use super::walker::looks_nested;
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

struct St<'a> {
    depth: usize,
    marks: Vec<usize>,
    /// `marks.last()` or 0, cached: it is read at almost every opcode.
    floor: usize,
    /// Memo keys must be put in order 0, 1, 2... (what the pickler writes); anything else
    /// goes to the full walker. Only string values are remembered, sorted by key.
    memo_len: u64,
    /// Per memo key: 0 for a non-string, else 1 + index into `strs`.
    memo: Vec<u32>,
    strs: Vec<&'a [u8]>,
    /// The last two strings pushed, and how many of the top stack entries (0..=2) are exactly
    /// those strings, pushed consecutively (only memo puts in between).
    s_prev: &'a [u8],
    s_top: &'a [u8],
    run: u8,
    proto: u8,
    safe_cache: Vec<(&'a [u8], &'a [u8])>,
    globals: usize,
    lits: Vec<&'a [u8]>,
}

impl<'a> St<'a> {
    #[inline]
    fn need(&self, n: usize) -> Option<()> {
        (self.depth >= self.floor + n).then_some(())
    }
    #[inline]
    fn mark(&mut self) {
        self.marks.push(self.depth);
        self.floor = self.depth;
        self.run = 0;
    }
    #[inline]
    fn push_other(&mut self) {
        self.depth += 1;
        self.run = 0;
    }
    #[inline]
    fn str_top(&mut self, s: &'a [u8]) {
        self.depth += 1;
        self.s_prev = self.s_top;
        self.s_top = s;
        self.run = if self.run == 0 { 1 } else { 2 };
    }
    #[inline]
    fn push_str(&mut self, s: &'a [u8]) {
        self.str_top(s);
        if (3..=4096).contains(&s.len()) && self.lits.len() < crate::ctx::MAX_LITERALS {
            self.lits.push(s);
        }
    }
    /// Pops `n`, pushes one non-string.
    #[inline]
    fn reduce(&mut self, n: usize) -> Option<()> {
        self.need(n)?;
        self.depth -= n;
        self.push_other();
        Some(())
    }
    fn pop_mark(&mut self) -> Option<()> {
        let m = self.marks.pop()?;
        self.depth = m;
        self.floor = self.marks.last().copied().unwrap_or(0);
        Some(())
    }
    #[inline]
    fn put(&mut self, key: u64) -> Option<()> {
        self.need(1)?;
        if key != self.memo_len {
            return None;
        }
        self.memo_len += 1;
        let slot = if self.run > 0 {
            self.strs.push(self.s_top);
            u32::try_from(self.strs.len()).ok()?
        } else {
            0
        };
        self.memo.push(slot);
        Some(())
    }
    #[inline]
    fn get(&mut self, key: u64) -> Option<()> {
        if key >= self.memo_len {
            return None; // the walker reports the missing key
        }
        match *self.memo.get(usize::try_from(key).ok()?)? {
            0 => self.push_other(),
            i => {
                let s = *self.strs.get(i as usize - 1)?;
                self.str_top(s);
            }
        }
        Some(())
    }
    fn global(&mut self, m: &'a [u8], n: &'a [u8]) -> Option<()> {
        self.globals += 1;
        if self.safe_cache.iter().any(|&(a, b)| a == m && b == n) {
            return Some(());
        }
        let ms = std::str::from_utf8(m).ok()?;
        let ns = std::str::from_utf8(n).ok()?;
        if !policy::is_dotted_ident(ms) || !is_safe(ms, ns, self.proto) {
            return None;
        }
        if self.safe_cache.len() < 64 {
            self.safe_cache.push((m, n));
        }
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

#[inline]
fn le(data: &[u8], p: usize, n: usize) -> Option<u64> {
    let s = data.get(p..p.checked_add(n)?)?;
    let mut v = 0u64;
    for (i, b) in s.iter().enumerate() {
        v |= (*b as u64) << (8 * i);
    }
    Some(v)
}

fn line<'a>(data: &'a [u8], p: &mut usize) -> Option<&'a [u8]> {
    let rest = data.get(*p..)?;
    let i = memchr::memchr(b'\n', rest)?;
    *p += i + 1;
    Some(&rest[..i])
}

/// Skims one pickle stream starting at `start`.
pub(crate) fn skim(data: &[u8], start: usize) -> Skim<'_> {
    let mut st = St {
        depth: 0,
        marks: Vec::new(),
        floor: 0,
        memo_len: 0,
        memo: Vec::new(),
        strs: Vec::new(),
        s_prev: &[],
        s_top: &[],
        run: 0,
        proto: 0,
        safe_cache: Vec::new(),
        globals: 0,
        lits: Vec::new(),
    };
    match run(data, start, &mut st) {
        Some(end) => Skim::Safe {
            end,
            globals: st.globals,
            lits: st.lits,
        },
        None => Skim::NeedsWalk,
    }
}

fn run<'a>(data: &'a [u8], start: usize, st: &mut St<'a>) -> Option<usize> {
    let mut p = start;
    loop {
        let op = *data.get(p)?;
        p += 1;
        match op {
            b'.' => return Some(p),
            b'(' => st.mark(),
            // one-value pushes with fixed-size arguments
            b'N' | b')' | b']' | b'}' | 0x8f | 0x88 | 0x89 | 0x97 => st.push_other(),
            b'K' => {
                data.get(p)?;
                p += 1;
                st.push_other();
            }
            b'M' => {
                le(data, p, 2)?;
                p += 2;
                st.push_other();
            }
            b'J' => {
                le(data, p, 4)?;
                p += 4;
                st.push_other();
            }
            b'G' => {
                le(data, p, 8)?;
                p += 8;
                st.push_other();
            }
            // text arguments are validated exactly as the walker does
            b'I' => {
                parse_int_line(line(data, &mut p)?)?;
                st.push_other();
            }
            b'L' => {
                parse_long_line(line(data, &mut p)?)?;
                st.push_other();
            }
            b'F' => {
                parse_float(line(data, &mut p)?)?;
                st.push_other();
            }
            0x8a => {
                let n = le(data, p, 1)? as usize;
                p = p.checked_add(1 + n).filter(|&e| e <= data.len())?;
                st.push_other();
            }
            0x8b => {
                let n = usize::try_from(le(data, p, 4)?).ok()?;
                p = p
                    .checked_add(4)?
                    .checked_add(n)
                    .filter(|&e| e <= data.len())?;
                st.push_other();
            }
            // strings
            b'X' | 0x8c | 0x8d | b'U' | b'T' => {
                let w = match op {
                    0x8c | b'U' => 1,
                    0x8d => 8,
                    _ => 4,
                };
                let n = usize::try_from(le(data, p, w)?).ok()?;
                if op == b'T' && n > i32::MAX as usize {
                    return None;
                }
                let s0 = p + w;
                let e = s0.checked_add(n).filter(|&e| e <= data.len())?;
                st.push_str(&data[s0..e]);
                p = e;
            }
            // bytes
            b'B' | b'C' | 0x8e | 0x96 => {
                let w = match op {
                    b'C' => 1,
                    b'B' => 4,
                    _ => 8,
                };
                let n = usize::try_from(le(data, p, w)?).ok()?;
                let s0 = p + w;
                let e = s0.checked_add(n).filter(|&e| e <= data.len())?;
                let b = &data[s0..e];
                if looks_nested(b) {
                    return None;
                }
                if (3..=4096).contains(&b.len())
                    && std::str::from_utf8(b).is_ok()
                    && st.lits.len() < crate::ctx::MAX_LITERALS
                {
                    st.lits.push(b);
                }
                st.push_other();
                p = e;
            }
            b'c' => {
                let m = line(data, &mut p)?;
                let n = line(data, &mut p)?;
                st.global(m, n)?;
                st.push_other();
            }
            b'i' => {
                let m = line(data, &mut p)?;
                let n = line(data, &mut p)?;
                st.global(m, n)?;
                st.pop_mark()?;
                st.push_other();
            }
            0x93 => {
                if st.run < 2 {
                    return None;
                }
                let (m, n) = (st.s_prev, st.s_top);
                st.need(2)?;
                st.global(m, n)?;
                st.depth -= 2;
                st.push_other();
            }
            // memo
            b'q' => {
                st.put(le(data, p, 1)?)?;
                p += 1;
            }
            b'r' => {
                st.put(le(data, p, 4)?)?;
                p += 4;
            }
            0x94 => {
                let k = st.memo_len;
                st.put(k)?;
            }
            b'p' => {
                let l = line(data, &mut p)?;
                st.put(parse_u64(l)?)?;
            }
            b'h' => {
                st.get(le(data, p, 1)?)?;
                p += 1;
            }
            b'j' => {
                st.get(le(data, p, 4)?)?;
                p += 4;
            }
            b'g' => {
                let l = line(data, &mut p)?;
                st.get(parse_u64(l)?)?;
            }
            // calls and containers
            b'R' | 0x81 | b'a' | 0x86 => st.reduce(2)?,
            0x92 | b's' | 0x87 => st.reduce(3)?,
            b'b' => st.reduce(2)?,
            0x85 | b'Q' => st.reduce(1)?,
            0x98 => {
                st.need(1)?;
            }
            b'2' => {
                st.need(1)?;
                st.push_other();
            }
            b'0' => {
                if st.depth > st.floor {
                    st.depth -= 1;
                    st.run = 0;
                } else {
                    st.pop_mark()?;
                }
            }
            b'1' => st.pop_mark()?,
            b't' | b'l' | b'd' | 0x91 => {
                st.pop_mark()?;
                st.push_other();
            }
            b'e' | b'u' | 0x90 => {
                st.pop_mark()?;
                st.need(1)?;
                st.run = 0;
            }
            b'o' => {
                if st.depth <= *st.marks.last()? {
                    return None;
                }
                st.pop_mark()?;
                st.push_other();
            }
            0x80 => {
                let v = *data.get(p)?;
                if v > 5 {
                    return None;
                }
                st.proto = v;
                p += 1;
            }
            0x95 => {
                let n = le(data, p, 8)?;
                p += 8;
                if n > (data.len() - p) as u64 {
                    return None;
                }
            }
            // everything else (EXT, PERSID, protocol-0 strings, invalid opcodes): full walk
            _ => return None,
        }
    }
}
