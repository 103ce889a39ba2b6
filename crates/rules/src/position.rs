//! Byte offsets in a rule file to lines and columns, the spans of keys and values, and the
//! map from an offset in a decoded TOML string back to the file.

use std::ops::Range;
use toml_edit::{ImDocument, Item};

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, text[line_start..offset].chars().count() + 1)
}

/// The text of 1-based line `line`, without its line ending.
pub fn line_text(text: &str, line: usize) -> &str {
    text.lines()
        .nth(line.saturating_sub(1))
        .unwrap_or("")
        .trim_end_matches('\r')
}

/// The two-line display of a file line with a caret under `width` characters at `column`.
pub fn caret_snippet(text: &str, line: usize, column: usize, width: usize) -> String {
    format!(
        "  | {}\n  | {}{}",
        line_text(text, line),
        " ".repeat(column.saturating_sub(1)),
        "^".repeat(width.max(1))
    )
}

/// Spans of keys, values and tables in one parsed file.
pub struct Spans<'a> {
    doc: Option<ImDocument<&'a str>>,
}

impl<'a> Spans<'a> {
    pub fn parse(text: &'a str) -> Spans<'a> {
        Spans {
            doc: ImDocument::parse(text).ok(),
        }
    }

    /// The spans of a document already parsed.
    pub fn from_doc(doc: ImDocument<&'a str>) -> Spans<'a> {
        Spans { doc: Some(doc) }
    }

    /// The item at `path`; a numeric segment indexes an array or array of tables.
    fn item(&self, path: &[&str]) -> Option<(Option<Range<usize>>, &Item)> {
        let doc = self.doc.as_ref()?;
        let mut cur: &Item = doc.as_item();
        let mut key_span = None;
        for seg in path {
            if let Ok(i) = seg.parse::<usize>() {
                if !matches!(
                    cur,
                    Item::ArrayOfTables(_) | Item::Value(toml_edit::Value::Array(_))
                ) {
                    return None;
                }
                // `Item::get` with an index reaches entries of arrays and arrays of tables.
                cur = cur.get(i)?;
                key_span = None;
                continue;
            }
            let t = cur.as_table_like()?;
            let (k, v) = t.get_key_value(seg)?;
            key_span = k.span();
            cur = v;
        }
        Some((key_span, cur))
    }

    /// Where the value at `path` starts: its value, else its key, else the nearest enclosing
    /// table header that exists, else the start of the file.
    pub fn value_start(&self, path: &[&str]) -> usize {
        for n in (0..=path.len()).rev() {
            if let Some((key, item)) = self.item(&path[..n]) {
                if let Some(s) = item_span(item).or(key) {
                    return s.start;
                }
            }
        }
        0
    }

    /// The span of the value at `path`, if it exists and has one.
    pub fn value_span(&self, path: &[&str]) -> Option<Range<usize>> {
        self.item(path).and_then(|(_, item)| item_span(item))
    }

    /// Where the key at `path` starts, else [`Spans::value_start`].
    pub fn key_start(&self, path: &[&str]) -> usize {
        match self.item(path) {
            Some((Some(k), _)) => k.start,
            _ => self.value_start(path),
        }
    }

    /// Where the table at `path` is declared (its header), else the start of the file.
    /// Used for "missing key" problems.
    pub fn table_start(&self, path: &[&str]) -> usize {
        match self.item(path) {
            Some((key, item)) => item_span(item).or(key).map(|s| s.start).unwrap_or(0),
            None => 0,
        }
    }
}

fn item_span(item: &Item) -> Option<Range<usize>> {
    match item {
        Item::ArrayOfTables(a) => a.get(0).and_then(|t| t.span()).or_else(|| a.span()),
        other => other.span(),
    }
}

/// Maps a byte offset in a TOML string's decoded value to the byte offset in the file, given
/// the span of the string as written (quotes included). Handles `'…'`, `"…"`, `'''…'''` and
/// `"""…"""` (with the first newline trimmed and escapes and line-ending backslashes in basic
/// strings accounted for).
pub fn string_offset_to_file(text: &str, span: &Range<usize>, decoded: usize) -> usize {
    let Some(raw) = text.get(span.clone()) else {
        return span.start;
    };
    let (delim, literal) = if raw.starts_with("'''") {
        (3, true)
    } else if raw.starts_with("\"\"\"") {
        (3, false)
    } else if raw.starts_with('\'') {
        (1, true)
    } else if raw.starts_with('"') {
        (1, false)
    } else {
        return span.start;
    };
    let multi = delim == 3;
    let mut start = span.start + delim;
    if multi {
        let rest = &text[start.min(span.end)..span.end];
        if rest.starts_with("\r\n") {
            start += 2;
        } else if rest.starts_with('\n') {
            start += 1;
        }
    }
    let end = span.end.saturating_sub(delim).max(start);
    if literal {
        return (start + decoded).min(end);
    }
    let bytes = text.as_bytes();
    let (mut i, mut dec) = (start, 0usize);
    while i < end && dec < decoded {
        if bytes[i] != b'\\' {
            let w = utf8_width(bytes[i]);
            i += w;
            dec += w;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'u') | Some(b'U') => {
                let n = if bytes.get(i + 1) == Some(&b'u') {
                    4
                } else {
                    8
                };
                let w = text
                    .get(i + 2..i + 2 + n)
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                    .map(char::len_utf8)
                    .unwrap_or(1);
                i += 2 + n;
                dec += w;
            }
            Some(c) if multi && (c.is_ascii_whitespace()) => {
                // A line-ending backslash: it and all whitespace after it vanish.
                i += 1;
                while i < end && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
            _ => {
                i += 2;
                dec += 1;
            }
        }
    }
    // A line-ending backslash right here produces nothing: the character is after it.
    while multi && i + 1 < end && bytes[i] == b'\\' && bytes[i + 1].is_ascii_whitespace() {
        i += 1;
        while i < end && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
    }
    i.min(end)
}

fn utf8_width(b: u8) -> usize {
    match b {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xff => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let t = "a = 1\nbé = 'x'\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, t.find('=').map(|_| 10).unwrap_or(0)), (2, 4));
    }

    #[test]
    fn string_offsets() {
        let t = "q = '''\nabc\ndef'''\n";
        let s = Spans::parse(t);
        let span = s.value_span(&["q"]).unwrap_or(0..0);
        let off = string_offset_to_file(t, &span, 5); // `e` of def
        assert_eq!(line_col(t, off), (3, 2));
        let t = "q = \"a\\\"b\\u00e9c\"";
        let span = Spans::parse(t).value_span(&["q"]).unwrap_or(0..0);
        // decoded: a " b é c ; `c` is at decoded byte 5
        let off = string_offset_to_file(t, &span, 5);
        assert_eq!(&t[off..off + 1], "c");
        let t = "q = \"\"\"\nab \\\n   cd\"\"\"";
        let span = Spans::parse(t).value_span(&["q"]).unwrap_or(0..0);
        // decoded: "ab cd"; `c` at 3
        let off = string_offset_to_file(t, &span, 3);
        assert_eq!(&t[off..off + 1], "c");
    }

    #[test]
    fn spans_of_keys_and_tables() {
        let t = "[metadata]\nx = 1\n\n[rule]\nname = \"n\"\n\n[[rule.threat]]\nframework = \"f\"\n\n[[rule.threat]]\nframework = 3\n";
        let s = Spans::parse(t);
        assert_eq!(line_col(t, s.table_start(&["rule"])), (4, 1));
        assert_eq!(line_col(t, s.value_start(&["rule", "name"])), (5, 8));
        assert_eq!(line_col(t, s.key_start(&["rule", "name"])), (5, 1));
        assert_eq!(
            line_col(t, s.value_start(&["rule", "threat", "1", "framework"])),
            (11, 13)
        );
        assert_eq!(
            line_col(t, s.value_start(&["rule", "threat", "1"])),
            (10, 1)
        );
        assert_eq!(line_col(t, s.value_start(&["rule", "nope"])), (4, 1));
    }
}
