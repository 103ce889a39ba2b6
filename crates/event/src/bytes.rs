//! Byte tests on whole lines and values, written so that the compiler vectorises them.

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
}
