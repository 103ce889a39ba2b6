//! Byte tests on whole lines and values, written so that the compiler vectorises them, and
//! the string scan's searches (eight bytes at a time in a word, sixteen in an SSE2 vector).

/// Whether any byte satisfies `pred`: 16 bytes at a time with no early exit inside a block
/// (a block is one vector test), then the rest one by one.
#[inline]
pub fn any_byte(bytes: &[u8], pred: impl Fn(u8) -> bool) -> bool {
    let mut blocks = bytes.chunks_exact(16);
    let found = blocks
        .by_ref()
        .any(|b| b.iter().fold(false, |any, &c| any | pred(c)));
    found || blocks.remainder().iter().any(|&c| pred(c))
}

/// Whether any byte is an ASCII capital or not ASCII (what case folding must change or look
/// at): eight bytes at a time as one word, the last few zero-padded, with no branch per byte.
#[inline]
pub fn any_upper_or_non_ascii(bytes: &[u8]) -> bool {
    #[inline]
    fn flags(w: u64) -> u64 {
        const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        let lo = w & LOW7;
        // Per byte, no carry out of it (at most 0x7f + 0x3f): the high bit is set where the
        // low seven bits are at least `A` (0x41), resp. past `Z` (0x5b).
        let from_a = lo + 0x3f3f_3f3f_3f3f_3f3f;
        let past_z = lo + 0x2525_2525_2525_2525;
        (w | (from_a & !past_z)) & !LOW7
    }
    let mut words = bytes.chunks_exact(8);
    for c in words.by_ref() {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        if flags(u64::from_le_bytes(w)) != 0 {
            return true;
        }
    }
    let rest = words.remainder();
    let mut w = [0u8; 8];
    if let Some(dst) = w.get_mut(..rest.len()) {
        dst.copy_from_slice(rest);
    }
    flags(u64::from_le_bytes(w)) != 0
}

/// `N` bytes of `s` from `at` (zeros if there are not that many).
#[inline]
fn load<const N: usize>(s: &[u8], at: usize) -> [u8; N] {
    let mut w = [0u8; N];
    if let Some(src) = s.get(at..at + N) {
        w.copy_from_slice(src);
    }
    w
}

#[inline]
pub(crate) fn load8(s: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(load(s, at))
}

#[inline]
pub(crate) fn load4(s: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(load(s, at))
}

/// Where the first `"` or `\\` is.
#[inline]
pub(crate) fn quote_or_backslash(s: &[u8]) -> Option<usize> {
    let mut at = 0;
    #[cfg(target_arch = "x86_64")]
    while let Some(block) = s.get(at..at + 16) {
        if let Some(i) = sse2::quote_or_backslash_16(block) {
            return Some(at + i);
        }
        at += 16;
    }
    // The rest (all of it off x86_64), eight bytes at a time.
    while at + 8 <= s.len() {
        let w = load8(s, at);
        let m = zero_bytes(w ^ splat(b'"')) | zero_bytes(w ^ splat(b'\\'));
        if m != 0 {
            return Some(at + m.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    s.get(at..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|i| i + at)
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod sse2 {
    /// The first `"` or `\\` of a 16-byte block: two byte compares and a mask, in SSE2 (part
    /// of every x86_64 processor, so needing no detection).
    #[inline]
    pub(crate) fn quote_or_backslash_16(block: &[u8]) -> Option<usize> {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        if block.len() < 16 {
            return None;
        }
        // SAFETY: SSE2 is always enabled on x86_64, and the unaligned load reads the 16 bytes
        // of `block`, whose length was checked just above.
        let mask = unsafe {
            let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
            let q = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let b = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            _mm_movemask_epi8(_mm_or_si128(q, b)) as u32
        };
        (mask != 0).then(|| mask.trailing_zeros() as usize)
    }

    /// Of a 16-byte block: the mask of its `"` and `\\` bytes, and that of its dots (bit
    /// `i` for byte `i`).
    #[inline]
    pub(crate) fn stops_and_dots_16(block: &[u8]) -> (u32, u32) {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        if block.len() < 16 {
            return (0, 0);
        }
        // SAFETY: as in `quote_or_backslash_16`.
        unsafe {
            let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
            let q = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let b = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            let d = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'.' as i8));
            (
                _mm_movemask_epi8(_mm_or_si128(q, b)) as u32,
                _mm_movemask_epi8(d) as u32,
            )
        }
    }
}

/// `c` in every byte of a word.
#[inline]
pub(crate) const fn splat(c: u8) -> u64 {
    0x0101_0101_0101_0101 * c as u64
}

/// Flags (0x80) the zero bytes of `v`, exactly up to the first one: `(v - 0x01…) & !v & 0x80…`
/// flags every zero byte, and a borrow can only flag bytes above the first, so the lowest
/// flag is always the first zero byte.
#[inline]
pub(crate) const fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(splat(1)) & !v & splat(0x80)
}

/// The first byte of `w` (little-endian order) equal to `c`.
#[inline]
pub(crate) fn first_of(w: u64, c: u8) -> Option<usize> {
    let m = zero_bytes(w ^ splat(c));
    (m != 0).then(|| m.trailing_zeros() as usize / 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matching_byte_is_found_at_every_position_of_every_length() {
        let pred = |c: u8| c < 0x20 || c.is_ascii_uppercase();
        for len in 0..100 {
            let clean = vec![b'a'; len];
            assert!(!any_byte(&clean, pred), "{len}");
            for i in 0..len {
                for (c, want) in [(0u8, true), (b'\n', true), (0x1f, true), (b'Z', true)]
                    .into_iter()
                    .chain([(b' ', false), (0x7f, false), (b'@', false), (0xff, false)])
                {
                    let mut s = clean.clone();
                    s[i] = c;
                    assert_eq!(any_byte(&s, pred), want, "{len} {i} {c}");
                }
            }
        }
    }

    #[test]
    fn capitals_and_non_ascii_bytes_are_found_at_every_position() {
        for len in 0..40 {
            let clean = vec![b'a'; len];
            assert!(!any_upper_or_non_ascii(&clean), "{len}");
            for i in 0..len {
                for c in 0..=255u8 {
                    let mut s = clean.clone();
                    s[i] = c;
                    let want = c.is_ascii_uppercase() || c >= 0x80;
                    assert_eq!(any_upper_or_non_ascii(&s), want, "{len} {i} {c}");
                }
            }
        }
    }

    #[test]
    fn quote_or_backslash_finds_the_first_one() {
        // Every length up to past the word-at-a-time part, with the sought bytes, bytes that
        // differ from them by one bit or carry, and high bytes, at every position.
        let fill = [
            b'a',
            b'"' ^ 1,
            b'\\' ^ 0x80,
            0x21,
            0x23,
            0x5b,
            0x5d,
            0xff,
            0x00,
            0x01,
        ];
        for len in 0..40 {
            for f in fill {
                let base = vec![f; len];
                assert_eq!(quote_or_backslash(&base), None, "{len} {f}");
                for i in 0..len {
                    for c in [b'"', b'\\'] {
                        let mut s = base.clone();
                        s[i] = c;
                        // A second match after the first must not hide it.
                        if i + 1 < len {
                            s[len - 1] = b'"';
                        }
                        let naive = s.iter().position(|&x| x == b'"' || x == b'\\');
                        assert_eq!(quote_or_backslash(&s), naive, "{s:?}");
                    }
                }
            }
        }
    }
}
