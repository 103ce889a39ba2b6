//! General wildcard patterns (what [`crate::matcher::StrMatcher`] cannot sort into an exact
//! string, a prefix, a suffix or a substring): segments between `*`s, `?` standing for one
//! character.
//!
//! Matching runs over the string's UTF-8 bytes, with no allocation: a segment without `?`
//! matches bytes exactly where it matches characters (UTF-8 is self-synchronising, so an
//! occurrence of a whole encoded segment starts and ends on character boundaries), and `?`
//! is one byte when the string is ASCII. Only a pattern with `?` tested against a non-ASCII
//! string is matched by characters.

use memchr::memmem;

/// One wildcard pattern split at its `*`s into segments; `?` stands for one character.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    /// Segments between stars; `None` in a segment is `?`.
    segs: Vec<Vec<Option<char>>>,
    /// The same segments UTF-8 encoded (`None` is `?`).
    bytes: Vec<Vec<Option<u8>>>,
    /// Per segment, its bytes when it has no `?` (for a substring search).
    lits: Vec<Option<memmem::Finder<'static>>>,
    /// Some segment has a `?`.
    any_char: bool,
    anchored_start: bool,
    anchored_end: bool,
}

impl Glob {
    pub(crate) fn new(
        segs: Vec<Vec<Option<char>>>,
        anchored_start: bool,
        anchored_end: bool,
    ) -> Glob {
        let bytes: Vec<Vec<Option<u8>>> = segs
            .iter()
            .map(|seg| {
                let mut enc = Vec::new();
                let mut buf = [0u8; 4];
                for c in seg {
                    match c {
                        Some(c) => enc.extend(c.encode_utf8(&mut buf).bytes().map(Some)),
                        None => enc.push(None),
                    }
                }
                enc
            })
            .collect();
        let lits = bytes
            .iter()
            .map(|enc| {
                let lit = enc.iter().copied().collect::<Option<Vec<u8>>>()?;
                Some(memmem::Finder::new(&lit).into_owned())
            })
            .collect();
        Glob {
            lits,
            any_char: segs.iter().flatten().any(Option::is_none),
            segs,
            bytes,
            anchored_start,
            anchored_end,
        }
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        if !self.any_char || s.is_ascii() {
            run(
                &self.bytes,
                s.as_bytes(),
                self.anchored_start,
                self.anchored_end,
                |i, hay| match self.lits.get(i) {
                    Some(Some(lit)) => lit.find(hay),
                    _ => leftmost(self.bytes.get(i).map_or(&[], Vec::as_slice), hay),
                },
            )
        } else {
            let chars: Vec<char> = s.chars().collect();
            run(
                &self.segs,
                &chars,
                self.anchored_start,
                self.anchored_end,
                |i, hay| leftmost(self.segs.get(i).map_or(&[], Vec::as_slice), hay),
            )
        }
    }
}

/// The leftmost position where `seg` matches in `hay`.
fn leftmost<T: Copy + PartialEq>(seg: &[Option<T>], hay: &[T]) -> Option<usize> {
    (0..=hay.len().saturating_sub(seg.len())).find(|&at| seg_at(seg, hay, at))
}

/// Matches `hay` against `segs` (with stars between them, and before the first or after the
/// last unless anchored there): each middle segment at its leftmost occurrence after the
/// previous one (`find(i, slice)` gives segment `i`'s leftmost occurrence in a slice), the last one at the end.
fn run<T: Copy + PartialEq>(
    segs: &[Vec<Option<T>>],
    hay: &[T],
    anchored_start: bool,
    anchored_end: bool,
    find: impl Fn(usize, &[T]) -> Option<usize>,
) -> bool {
    let n = segs.len();
    if n == 0 {
        return true; // only stars (or empty pattern handled as exact)
    }
    let mut pos = 0usize;
    for (i, seg) in segs.iter().enumerate() {
        let first = i == 0;
        let last = i + 1 == n;
        if first && anchored_start {
            if !seg_at(seg, hay, 0) {
                return false;
            }
            pos = seg.len();
            if last && anchored_end {
                return pos == hay.len();
            }
            continue;
        }
        if last && anchored_end {
            if hay.len() < pos + seg.len() {
                return false;
            }
            return seg_at(seg, hay, hay.len() - seg.len());
        }
        // Leftmost occurrence at or after pos.
        match hay.get(pos..).and_then(|rest| find(i, rest)) {
            Some(at) if pos + at + seg.len() <= hay.len() => pos += at + seg.len(),
            _ => return false,
        }
    }
    true
}

fn seg_at<T: Copy + PartialEq>(seg: &[Option<T>], hay: &[T], at: usize) -> bool {
    at + seg.len() <= hay.len()
        && seg
            .iter()
            .zip(&hay[at..])
            .all(|(p, c)| p.map(|p| p == *c).unwrap_or(true))
}

#[cfg(test)]
mod tests {
    use crate::matcher::{PatternKind, StrMatcher};

    /// The reference: the pattern as a regular expression over characters.
    fn reference(pat: &str, s: &str) -> bool {
        let mut re = String::from("^(?s:");
        let mut chars = pat.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => re.push_str(&regex::escape(&chars.next().unwrap_or('\\').to_string())),
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push_str(")$");
        regex::Regex::new(&re).unwrap().is_match(s)
    }

    #[test]
    fn bytes_and_characters_agree_with_the_reference() {
        let pats = [
            "a*b*c",
            "*a?c*",
            "?",
            "??",
            "é?",
            "?é*",
            "*é?x",
            "a*é*c",
            "/tmp/*/x*.sh",
            "*a*a*",
            "a*a",
            "x?*?y",
            "*?ß",
            "ab*",
            "*b?",
            "\\**\\?*",
            "é*",
            "*ü*ü",
            "?*",
            "a*?",
        ];
        let strs = [
            "",
            "a",
            "abc",
            "axbxc",
            "aéc",
            "éx",
            "éé",
            "aaa",
            "aa",
            "xy",
            "xaby",
            "xéßy",
            "straße",
            "/tmp/a/b/xyz.sh",
            "/tmp/xyz.sh",
            "*?",
            "a*?b",
            "üxü",
            "é",
            "ab",
            "abé",
            "xéé?y",
        ];
        for p in pats {
            let m = StrMatcher::new(PatternKind::Wildcard, &[p.to_string()], false).unwrap();
            for s in strs {
                assert_eq!(m.matches(s), reference(p, s), "pattern {p:?} on {s:?}");
            }
        }
    }
}
