use std::fmt;

/// A query that was rejected, with where and why.
///
/// `line` and `column` are 1-based (column counts characters); `offset`/`len` are the byte span
/// of the offending token in the query text. `Display` prints the message, the query line and
/// a caret under the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub line: usize,
    pub column: usize,
    pub offset: usize,
    pub len: usize,
    /// The offending token as written, or empty at the end of input.
    pub found: String,
    /// What would have been accepted there, if known.
    pub expected: Vec<String>,
    /// The query line the error is on, for display.
    pub source_line: String,
}

impl ParseError {
    /// Builds an error for the byte span `offset..offset+len` of `src`.
    pub fn at(src: &str, offset: usize, len: usize, message: impl Into<String>) -> Self {
        let offset = offset.min(src.len());
        let before = &src[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = src[line_start..offset].chars().count() + 1;
        let line_end = src[offset..]
            .find('\n')
            .map(|i| offset + i)
            .unwrap_or(src.len());
        let end = (offset + len).min(src.len());
        let found = src.get(offset..end).unwrap_or("").to_string();
        ParseError {
            message: message.into(),
            line,
            column,
            offset,
            len: end - offset,
            found,
            expected: Vec::new(),
            source_line: src[line_start..line_end].to_string(),
        }
    }

    pub fn expected(mut self, what: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.expected = what.into_iter().map(Into::into).collect();
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )?;
        if !self.found.is_empty() && !self.message.contains(&self.found) {
            write!(f, " (found `{}`)", self.found)?;
        } else if self.found.is_empty()
            && self.offset >= self.source_line.len()
            && !self.message.contains("end of")
        {
            write!(f, " (found end of query)")?;
        }
        if !self.expected.is_empty() {
            write!(f, "; expected {}", self.expected.join(", "))?;
        }
        let caret_col = self.column.saturating_sub(1);
        let width = self.found.chars().count().max(1);
        write!(
            f,
            "\n  | {}\n  | {}{}",
            self.source_line,
            " ".repeat(caret_col),
            "^".repeat(width)
        )
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_and_caret() {
        let src = "process where\n  process.name = \"x\"";
        let off = src.find('=').unwrap();
        let e = ParseError::at(src, off, 1, "unexpected `=`").expected(["==", ":"]);
        assert_eq!((e.line, e.column), (2, 16));
        let shown = e.to_string();
        assert!(shown.contains("line 2, column 16"), "{shown}");
        assert!(shown.contains("expected ==, :"), "{shown}");
        assert!(shown.ends_with("               ^"), "{shown}");
    }
}
