//! KQL text to a syntax tree, following the structure of Kibana's kuery grammar.
//!
//! The grammar is whitespace-sensitive in one place: an unquoted value may contain spaces
//! (`f:foo bar` is the single value `foo bar`), and ends only at a special character
//! (`\ ( ) : < > " * { }`, where `*` is a wildcard inside the value) or at whitespace
//! followed by a keyword (`or`, `and`, `not`). Keywords ignore case.

use super::ast::{Lit, LitKind, Node, Part, ValueNode};
use crate::error::ParseError;
use crate::ir::CmpOp;

/// Deepest nesting of parentheses, braces and `not`s accepted (bounds recursion).
const MAX_DEPTH: usize = 64;

pub(crate) fn parse(src: &str) -> Result<Option<Node>, ParseError> {
    let mut p = Parser {
        src,
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    if p.at_end() {
        return Ok(None);
    }
    let node = p.or_query()?;
    p.skip_ws();
    if !p.at_end() {
        let c = p.peek().unwrap_or(' ');
        return Err(if c == ')' {
            p.err_here("unbalanced `)`: no `(` is open here")
        } else if c == '}' {
            p.err_here("unbalanced `}`: no `{` is open here")
        } else if matches!(c, ':' | '<' | '>') {
            p.err_here(format!(
                "unexpected `{c}` after a complete condition: an unquoted value runs on across \
                 spaces, so it took in the next field name; is an `and` or `or` missing?"
            ))
            .expected(["`and`", "`or`", "end of query"])
        } else {
            p.err_here("unexpected text after a complete condition")
                .expected(["`and`", "`or`", "end of query"])
        });
    }
    Ok(Some(node))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kw {
    And,
    Or,
    Not,
}

impl Kw {
    fn word(self) -> &'static str {
        match self {
            Kw::And => "and",
            Kw::Or => "or",
            Kw::Not => "not",
        }
    }
}

pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{a0}')
}

fn is_special(c: char) -> bool {
    matches!(
        c,
        '\\' | '(' | ')' | ':' | '<' | '>' | '"' | '*' | '{' | '}'
    )
}

struct Parser<'s> {
    src: &'s str,
    pos: usize,
    depth: usize,
}

impl<'s> Parser<'s> {
    fn rest(&self) -> &'s str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if is_space(c) {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    /// Length in bytes of the token starting at `at`, for error carets.
    fn token_len(&self, at: usize) -> usize {
        let rest = self.src.get(at..).unwrap_or("");
        let mut len = 0;
        for c in rest.chars() {
            if is_space(c) || (is_special(c) && len > 0) {
                break;
            }
            len += c.len_utf8();
            if is_special(c) {
                break;
            }
        }
        len
    }

    fn err_at(&self, at: usize, msg: impl Into<String>) -> ParseError {
        ParseError::at(self.src, at, self.token_len(at), msg)
    }

    fn err_here(&self, msg: impl Into<String>) -> ParseError {
        self.err_at(self.pos, msg)
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_here(format!(
                "query nested too deeply (more than {MAX_DEPTH} levels of parentheses, braces or `not`)"
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// The keyword spelled at byte `at` (ignoring case) if it stands as a word there: `and`
    /// and `or` must be followed by whitespace, `(`, `)`, `"` or the end; `not` by whitespace,
    /// `(` or `"`.
    fn keyword_at(&self, at: usize) -> Option<(Kw, usize)> {
        let rest = self.src.get(at..)?;
        for kw in [Kw::And, Kw::Or, Kw::Not] {
            let w = kw.word();
            let Some(head) = rest.get(..w.len()) else {
                continue;
            };
            if !head.eq_ignore_ascii_case(w) {
                continue;
            }
            let next = rest[w.len()..].chars().next();
            let boundary = match (kw, next) {
                (_, Some(c)) if is_space(c) || c == '(' || c == '"' => true,
                (Kw::Not, _) => false,
                (_, None) | (_, Some(')')) => true,
                _ => false,
            };
            if boundary {
                return Some((kw, w.len()));
            }
        }
        None
    }

    /// After optional whitespace, consumes `kw` if it is next; returns its offset.
    fn eat_keyword(&mut self, kw: Kw) -> Option<usize> {
        let save = self.pos;
        self.skip_ws();
        match self.keyword_at(self.pos) {
            Some((k, len)) if k == kw => {
                let at = self.pos;
                self.pos += len;
                Some(at)
            }
            _ => {
                self.pos = save;
                None
            }
        }
    }

    /// Errors when an operator is followed by nothing usable.
    fn after_operator(&mut self, kw_at: usize, kw: Kw) -> Result<(), ParseError> {
        self.skip_ws();
        match self.peek() {
            None | Some(')') | Some('}') => Err(self
                .err_here(format!(
                    "`{}` (at column {}) must be followed by a condition",
                    &self.src[kw_at..kw_at + kw.word().len()],
                    ParseError::at(self.src, kw_at, 0, "").column
                ))
                .expected(["a field condition", "`(`", "`not`"])),
            _ => Ok(()),
        }
    }

    fn or_query(&mut self) -> Result<Node, ParseError> {
        let mut parts = vec![self.and_query()?];
        while let Some(at) = self.eat_keyword(Kw::Or) {
            self.after_operator(at, Kw::Or)?;
            parts.push(self.and_query()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Node::Or(Vec::new()))
        } else {
            Node::Or(parts)
        })
    }

    fn and_query(&mut self) -> Result<Node, ParseError> {
        let mut parts = vec![self.not_query()?];
        while let Some(at) = self.eat_keyword(Kw::And) {
            self.after_operator(at, Kw::And)?;
            parts.push(self.not_query()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Node::And(Vec::new()))
        } else {
            Node::And(parts)
        })
    }

    fn not_query(&mut self) -> Result<Node, ParseError> {
        self.skip_ws();
        if let Some((Kw::Not, len)) = self.keyword_at(self.pos) {
            let at = self.pos;
            self.pos += len;
            self.after_operator(at, Kw::Not)?;
            self.enter()?;
            let inner = self.not_query();
            self.leave();
            return Ok(Node::Not(Box::new(inner?)));
        }
        self.sub_query()
    }

    fn sub_query(&mut self) -> Result<Node, ParseError> {
        self.skip_ws();
        match self.peek() {
            Some('(') => {
                let open = self.pos;
                self.pos += 1;
                self.enter()?;
                self.skip_ws();
                if self.peek() == Some(')') {
                    return Err(self
                        .err_here("empty parentheses")
                        .expected(["a field condition", "`not`"]));
                }
                let inner = self.or_query()?;
                self.leave();
                self.skip_ws();
                self.close(')', open)?;
                Ok(inner)
            }
            None => Err(self
                .err_here("the query ends where a condition was expected")
                .expected(["a field condition", "`(`", "`not`"])),
            Some(_) if matches!(self.keyword_at(self.pos), Some((Kw::And | Kw::Or, _))) => {
                Err(self
                    .err_here("a condition must come before this operator")
                    .expected(["a field condition", "`(`", "`not`"]))
            }
            Some(c @ (')' | '}' | ':' | '<' | '>' | '{')) => Err(self
                .err_here(format!("unexpected `{c}`"))
                .expected(["a field name", "`(`", "`not`"])),
            _ => self.expression(),
        }
    }

    /// Consumes the closing bracket `close` or explains why it is missing.
    fn close(&mut self, close: char, open_at: usize) -> Result<(), ParseError> {
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        let open = if close == ')' { '(' } else { '{' };
        let opened = ParseError::at(self.src, open_at, 1, "");
        let what = format!(
            "`{open}` opened at line {}, column {} is not closed",
            opened.line, opened.column
        );
        let e = if self.at_end() {
            self.err_here(format!("{what}: the query ends first"))
        } else {
            self.err_here(what)
        };
        Err(e.expected([format!("`{close}`"), "`and`".into(), "`or`".into()]))
    }

    fn expression(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        let field = self.literal()?;
        let Some(field) = field else {
            return Err(self.err_here("expected a field name").expected([
                "a field name",
                "`(`",
                "`not`",
            ]));
        };
        self.skip_ws();
        match self.peek() {
            Some(':') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some('{') {
                    let open = self.pos;
                    self.pos += 1;
                    self.enter()?;
                    self.skip_ws();
                    if self.peek() == Some('}') {
                        return Err(self
                            .err_here("empty nested query `{}`")
                            .expected(["a field condition"]));
                    }
                    let inner = self.or_query()?;
                    self.leave();
                    self.skip_ws();
                    self.close('}', open)?;
                    return Ok(Node::Nested {
                        field,
                        query: Box::new(inner),
                    });
                }
                let values = self.list_of_values(field.span.0)?;
                Ok(Node::Field { field, values })
            }
            Some('<') | Some('>') => {
                let op_at = self.pos;
                let op = self.range_op();
                self.skip_ws();
                let value = self.literal()?;
                let Some(value) = value else {
                    return Err(self
                        .err_here(format!(
                            "`{}` must be followed by a value",
                            &self.src[op_at..self.pos].trim_end()
                        ))
                        .expected(["a number", "a string", "a date"]));
                };
                Ok(Node::Range { field, op, value })
            }
            _ => Ok(Node::FreeText {
                value: field,
                at: start,
            }),
        }
    }

    fn range_op(&mut self) -> CmpOp {
        let rest = self.rest();
        let (op, len) = if rest.starts_with("<=") {
            (CmpOp::Le, 2)
        } else if rest.starts_with(">=") {
            (CmpOp::Ge, 2)
        } else if rest.starts_with('<') {
            (CmpOp::Lt, 1)
        } else {
            (CmpOp::Gt, 1)
        };
        self.pos += len;
        op
    }

    fn list_of_values(&mut self, field_at: usize) -> Result<ValueNode, ParseError> {
        self.skip_ws();
        match self.peek() {
            Some('(') => {
                let open = self.pos;
                self.pos += 1;
                self.enter()?;
                self.skip_ws();
                if self.peek() == Some(')') {
                    return Err(self.err_here("empty value list `()`").expected(["a value"]));
                }
                let inner = self.or_values(field_at)?;
                self.leave();
                self.skip_ws();
                self.close(')', open)?;
                Ok(inner)
            }
            _ => {
                let at = self.pos;
                match self.literal()? {
                    Some(v) => Ok(ValueNode::Value(v)),
                    None => {
                        let field_end = self.src[..at].trim_end().len();
                        let field_text = self.src[field_at..field_end].trim_end();
                        Err(self
                            .err_here(format!("`{field_text}` must be followed by a value"))
                            .expected(["a value", "a quoted string", "`*`", "`(`"]))
                    }
                }
            }
        }
    }

    fn or_values(&mut self, field_at: usize) -> Result<ValueNode, ParseError> {
        let mut parts = vec![self.and_values(field_at)?];
        while let Some(at) = self.eat_keyword(Kw::Or) {
            self.values_after_operator(at, Kw::Or)?;
            parts.push(self.and_values(field_at)?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(ValueNode::Or(Vec::new()))
        } else {
            ValueNode::Or(parts)
        })
    }

    fn and_values(&mut self, field_at: usize) -> Result<ValueNode, ParseError> {
        let mut parts = vec![self.not_values(field_at)?];
        while let Some(at) = self.eat_keyword(Kw::And) {
            self.values_after_operator(at, Kw::And)?;
            parts.push(self.not_values(field_at)?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(ValueNode::And(Vec::new()))
        } else {
            ValueNode::And(parts)
        })
    }

    fn not_values(&mut self, field_at: usize) -> Result<ValueNode, ParseError> {
        self.skip_ws();
        if let Some((Kw::Not, len)) = self.keyword_at(self.pos) {
            let at = self.pos;
            self.pos += len;
            self.values_after_operator(at, Kw::Not)?;
            self.enter()?;
            let inner = self.not_values(field_at);
            self.leave();
            return Ok(ValueNode::Not(Box::new(inner?)));
        }
        self.list_of_values(field_at)
    }

    fn values_after_operator(&mut self, kw_at: usize, kw: Kw) -> Result<(), ParseError> {
        self.skip_ws();
        match self.peek() {
            None | Some(')') => Err(self
                .err_here(format!(
                    "`{}` in a value list must be followed by a value",
                    &self.src[kw_at..kw_at + kw.word().len()]
                ))
                .expected(["a value", "`(`", "`not`"])),
            _ => Ok(()),
        }
    }

    /// A quoted string or an unquoted literal; `None` if neither starts here.
    fn literal(&mut self) -> Result<Option<Lit>, ParseError> {
        match self.peek() {
            Some('"') => self.quoted().map(Some),
            _ => self.unquoted(),
        }
    }

    fn quoted(&mut self) -> Result<Lit, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut parts = Vec::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(ParseError::at(
                    self.src,
                    start,
                    self.src.len() - start,
                    "unterminated quoted string",
                )
                .expected(["a closing `\"`"]));
            };
            match c {
                '"' => break,
                '\\' => match self.peek() {
                    Some('t') => self.escaped(&mut parts, '\t'),
                    Some('r') => self.escaped(&mut parts, '\r'),
                    Some('n') => self.escaped(&mut parts, '\n'),
                    Some(q @ ('\\' | '"')) => self.escaped(&mut parts, q),
                    Some('u') => match self.unicode_escape() {
                        Some(ch) => parts.push(Part::Char(ch, true)),
                        // Not an escape after all: the backslash is literal (as in Kibana).
                        None => parts.push(Part::Char('\\', true)),
                    },
                    _ => parts.push(Part::Char('\\', true)),
                },
                c => parts.push(Part::Char(c, true)),
            }
        }
        Ok(Lit {
            kind: LitKind::Quoted,
            parts,
            span: (start, self.pos),
        })
    }

    fn escaped(&mut self, parts: &mut Vec<Part>, c: char) {
        self.bump();
        parts.push(Part::Char(c, true));
    }

    /// At `u` after a backslash: consumes `uXXXX` and returns the character, or leaves the
    /// input alone and returns `None` if it is not a valid escape.
    fn unicode_escape(&mut self) -> Option<char> {
        let hex = self.src.get(self.pos + 1..self.pos + 5)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let c = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)?;
        self.pos += 5;
        Some(c)
    }

    fn unquoted(&mut self) -> Result<Option<Lit>, ParseError> {
        let start = self.pos;
        let mut parts: Vec<Part> = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                '\\' => {
                    let esc_at = self.pos;
                    self.pos += 1;
                    match self.peek() {
                        Some('t') => self.escaped(&mut parts, '\t'),
                        Some('r') => self.escaped(&mut parts, '\r'),
                        Some('n') => self.escaped(&mut parts, '\n'),
                        Some(s) if is_special(s) => self.escaped(&mut parts, s),
                        Some('u') => match self.unicode_escape() {
                            Some(ch) => parts.push(Part::Char(ch, true)),
                            None => return Err(ParseError::at(
                                self.src,
                                esc_at,
                                2,
                                "invalid unicode escape: `\\u` must be followed by four hex digits",
                            )),
                        },
                        _ => {
                            let kw = [Kw::And, Kw::Or, Kw::Not].into_iter().find(|k| {
                                self.rest()
                                    .get(..k.word().len())
                                    .map(|h| h.eq_ignore_ascii_case(k.word()))
                                    .unwrap_or(false)
                            });
                            match kw {
                                Some(k) => {
                                    let n = k.word().len();
                                    for ch in self.src[self.pos..self.pos + n].chars() {
                                        parts.push(Part::Char(ch, true));
                                    }
                                    self.pos += n;
                                }
                                None => {
                                    let len = 1 + self.peek().map(char::len_utf8).unwrap_or(0);
                                    return Err(ParseError::at(
                                        self.src,
                                        esc_at,
                                        len,
                                        "invalid escape in a value",
                                    )
                                    .expected([
                                        "one of \\\\ \\( \\) \\: \\< \\> \\\" \\* \\{ \\}",
                                        "\\t \\r \\n \\uXXXX",
                                        "\\and \\or \\not",
                                    ]));
                                }
                            }
                        }
                    }
                }
                '*' => {
                    self.pos += 1;
                    parts.push(Part::Star(self.pos - 1));
                }
                c if is_special(c) => break,
                c if is_space(c) => {
                    // Whitespace belongs to the value unless a keyword follows it.
                    let mut look = self.pos;
                    for ch in self.src[self.pos..].chars() {
                        if !is_space(ch) {
                            break;
                        }
                        look += ch.len_utf8();
                    }
                    if self.keyword_at(look).is_some() {
                        break;
                    }
                    // Take the whole run at once (no quadratic rescans of long runs).
                    parts.extend(
                        self.src[self.pos..look]
                            .chars()
                            .map(|w| Part::Char(w, false)),
                    );
                    self.pos = look;
                }
                c => {
                    self.pos += c.len_utf8();
                    parts.push(Part::Char(c, false));
                }
            }
        }
        // Unescaped whitespace around the value is not part of it.
        while matches!(parts.last(), Some(Part::Char(c, false)) if is_space(*c)) {
            parts.pop();
        }
        let lead = parts
            .iter()
            .take_while(|p| matches!(p, Part::Char(c, false) if is_space(*c)))
            .count();
        parts.drain(..lead);
        if parts.is_empty() {
            self.pos = start;
            return Ok(None);
        }
        let end = self.src[start..self.pos].trim_end_matches(is_space).len() + start;
        Ok(Some(Lit {
            kind: LitKind::Unquoted,
            parts,
            span: (start, end),
        }))
    }
}
