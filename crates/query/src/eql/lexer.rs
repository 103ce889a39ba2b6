//! EQL tokens, following Elasticsearch's grammar: identifiers (with `@`, digits, `_`),
//! backquoted names, `"…"` strings with escapes, `"""…"""` raw strings, integers and
//! decimals (with exponents), operators, and `//` / `/* */` comments.

use crate::ParseError;

/// A token and its byte span in the query text.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: Tok,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A bare word; `tilde` when `~` immediately follows (`like~`, `in~`, `endsWith~`).
    Ident {
        name: String,
        tilde: bool,
    },
    /// A backquoted name (`` `my field` ``).
    Quoted(String),
    Str(String),
    Int(i64),
    Float(f64),
    /// `==`, `!=`, `<`, `<=`, `>`, `>=`, `:`, `=`, `+`, `-`, `*`, `/`, `%`, `.`, `,`, `(`,
    /// `)`, `[`, `]`, `|`, `?` (optional field), `![` (missing event).
    Punct(&'static str),
    Eof,
}

impl Token {
    /// How the token is described in error messages.
    pub fn describe(&self) -> String {
        match &self.kind {
            Tok::Ident { name, tilde } => {
                format!("`{}{}`", name, if *tilde { "~" } else { "" })
            }
            Tok::Quoted(s) => format!("`{s}`"),
            Tok::Str(_) => "a string".into(),
            Tok::Int(_) | Tok::Float(_) => "a number".into(),
            Tok::Punct(p) => format!("`{p}`"),
            Tok::Eof => "end of query".into(),
        }
    }

    pub fn is_word(&self, w: &str) -> bool {
        matches!(&self.kind, Tok::Ident { name, tilde: false } if name == w)
    }

    pub fn is_punct(&self, p: &str) -> bool {
        matches!(&self.kind, Tok::Punct(q) if *q == p)
    }
}

const PUNCTS: &[&str] = &[
    "==", "!=", "<=", ">=", "![", "<", ">", ":", "=", "+", "-", "*", "/", "%", ".", ",", "(", ")",
    "[", "]", "|", "?",
];

/// Splits `src` into tokens (the last one is [`Tok::Eof`]).
pub fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if src[i..].starts_with("//") {
            i = src[i..].find('\n').map(|n| i + n + 1).unwrap_or(b.len());
            continue;
        }
        if src[i..].starts_with("/*") {
            i = block_comment_end(src, i)?;
            continue;
        }
        let start = i;
        let kind = if c.is_ascii_alphabetic() || c == b'_' || c == b'@' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'@') {
                i += 1;
            }
            let name = src[start..i].to_string();
            let tilde = b.get(i) == Some(&b'~');
            if tilde {
                i += 1;
            }
            Tok::Ident { name, tilde }
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let (tok, next) = number(src, i)?;
            i = next;
            tok
        } else if c == b'`' {
            let (name, next) = backquoted(src, i)?;
            i = next;
            Tok::Quoted(name)
        } else if src[i..].starts_with("\"\"\"") {
            let body = i + 3;
            match src[body..].find("\"\"\"") {
                Some(n) => {
                    i = body + n + 3;
                    Tok::Str(src[body..body + n].to_string())
                }
                None => {
                    return Err(ParseError::at(
                        src,
                        start,
                        3,
                        "unterminated raw string: no closing `\"\"\"`",
                    ))
                }
            }
        } else if c == b'"' {
            let (s, next) = string(src, i)?;
            i = next;
            Tok::Str(s)
        } else if c == b'\'' {
            return Err(ParseError::at(
                src,
                start,
                1,
                "single-quoted strings are not supported in EQL; use double quotes (\"…\") or \
                 a raw string (\"\"\"…\"\"\")",
            ));
        } else if src[i..].starts_with("||") {
            return Err(ParseError::at(src, start, 2, "unexpected `||`: use `or`"));
        } else if let Some(p) = PUNCTS.iter().find(|p| src[i..].starts_with(**p)) {
            i += p.len();
            if *p == "?" && b.get(i) == Some(&b'"') {
                return Err(ParseError::at(
                    src,
                    start,
                    2,
                    "`?\"…\"` raw strings are not supported in Elasticsearch EQL; use \"\"\"…\"\"\"",
                ));
            }
            Tok::Punct(p)
        } else {
            let ch = src[i..].chars().next().unwrap_or('?');
            let msg = match ch {
                '!' => "unexpected `!`: use `not`, `!=`, or `![…]` for a missing event".to_string(),
                '&' => "unexpected `&`: use `and`".to_string(),
                '~' => "unexpected `~`: it must follow an operator or function name directly \
                        (`like~`, `in~`, `endsWith~(…)`)"
                    .to_string(),
                _ => format!("unexpected character `{ch}`"),
            };
            return Err(ParseError::at(src, start, ch.len_utf8(), msg));
        };
        out.push(Token {
            kind,
            start,
            end: i,
        });
    }
    out.push(Token {
        kind: Tok::Eof,
        start: src.len(),
        end: src.len(),
    });
    Ok(out)
}

fn block_comment_end(src: &str, start: usize) -> Result<usize, ParseError> {
    match src[start + 2..].find("*/") {
        Some(n) => Ok(start + 2 + n + 2),
        None => Err(ParseError::at(
            src,
            start,
            2,
            "unterminated comment: no closing `*/`",
        )),
    }
}

fn number(src: &str, start: usize) -> Result<(Tok, usize), ParseError> {
    let b = src.as_bytes();
    let mut i = start;
    let digits = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
    };
    digits(&mut i);
    let mut float = false;
    if b.get(i) == Some(&b'.') && !b.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic()) {
        float = true;
        i += 1;
        digits(&mut i);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            float = true;
            i = j;
            digits(&mut i);
        }
    }
    let text = &src[start..i];
    let tok = if float {
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Tok::Float(f),
            _ => {
                return Err(ParseError::at(
                    src,
                    start,
                    i - start,
                    format!("number `{text}` is out of range"),
                ))
            }
        }
    } else {
        match text.parse::<i64>() {
            Ok(n) => Tok::Int(n),
            Err(_) => {
                return Err(ParseError::at(
                    src,
                    start,
                    i - start,
                    format!("integer `{text}` is too large (the limit is {})", i64::MAX),
                ))
            }
        }
    };
    Ok((tok, i))
}

fn backquoted(src: &str, start: usize) -> Result<(String, usize), ParseError> {
    let mut out = String::new();
    let mut it = src[start + 1..].char_indices().peekable();
    while let Some((off, c)) = it.next() {
        if c == '`' {
            if it.peek().map(|(_, n)| *n) == Some('`') {
                it.next();
                out.push('`');
                continue;
            }
            return Ok((out, start + 1 + off + 1));
        }
        out.push(c);
    }
    Err(ParseError::at(
        src,
        start,
        1,
        "unterminated backquoted field name: no closing backquote",
    ))
}

fn string(src: &str, start: usize) -> Result<(String, usize), ParseError> {
    let mut out = String::new();
    let body = start + 1;
    let mut it = src[body..].char_indices();
    while let Some((off, c)) = it.next() {
        let at = body + off;
        match c {
            '"' => return Ok((out, at + 1)),
            '\n' | '\r' => {
                return Err(ParseError::at(
                    src,
                    start,
                    at - start,
                    "unterminated string: a line ends before the closing `\"` (use \\n for a \
                     newline, or a \"\"\"raw string\"\"\")",
                ))
            }
            '\\' => {
                let Some((_, e)) = it.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    'u' => {
                        let rest = &src[at + 2..];
                        let (ch, used) = unicode_escape(src, at, rest)?;
                        out.push(ch);
                        for _ in 0..used {
                            it.next();
                        }
                    }
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    '\'' => out.push('\''),
                    // As Elasticsearch: an unknown escape passes through as written, so
                    // `"\d+\.py"` reaches `regex` as `\d+\.py`.
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            c => out.push(c),
        }
    }
    Err(ParseError::at(
        src,
        start,
        src.len() - start,
        "unterminated string: no closing `\"`",
    ))
}

/// Parses `{XXXX}` (2 to 8 hex digits) after `\u`; returns the character and how many
/// characters of `rest` were used.
fn unicode_escape(src: &str, at: usize, rest: &str) -> Result<(char, usize), ParseError> {
    let bad = |len: usize, msg: &str| ParseError::at(src, at, len, msg.to_string());
    if !rest.starts_with('{') {
        return Err(bad(
            2,
            "a `\\u` escape must be written `\\u{XXXX}` (2 to 8 hex digits)",
        ));
    }
    let Some(close) = rest.find('}') else {
        return Err(bad(3, "unterminated `\\u{…}` escape: no closing `}`"));
    };
    let hex = &rest[1..close];
    let len = 2 + close + 1;
    if !(2..=8).contains(&hex.len()) || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad(
            len,
            "a `\\u{…}` escape takes 2 to 8 hexadecimal digits",
        ));
    }
    let ch = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
    match ch {
        Some(c) => Ok((c, close + 1)),
        None => Err(bad(
            len,
            "the `\\u{…}` escape is not a valid Unicode code point",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn words_numbers_strings() {
        assert_eq!(
            kinds("like~ @timestamp 5m 1.5e3 .5 \"a\\\"b\\u{41}\" \"\"\"c:\\x\"\"\""),
            vec![
                Tok::Ident {
                    name: "like".into(),
                    tilde: true
                },
                Tok::Ident {
                    name: "@timestamp".into(),
                    tilde: false
                },
                Tok::Int(5),
                Tok::Ident {
                    name: "m".into(),
                    tilde: false
                },
                Tok::Float(1500.0),
                Tok::Float(0.5),
                Tok::Str("a\"bA".into()),
                Tok::Str("c:\\x".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            kinds("`my``f` ![ != // c\n /* d */ ?"),
            vec![
                Tok::Quoted("my`f".into()),
                Tok::Punct("!["),
                Tok::Punct("!="),
                Tok::Punct("?"),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn lexical_errors() {
        let e = tokenize("a == 'x'").unwrap_err();
        assert_eq!((e.line, e.column, e.found.as_str()), (1, 6, "'"));
        assert_eq!(
            kinds("\"x\\q\\.\\b\\'\""),
            vec![Tok::Str("x\\q\\.\u{8}'".into()), Tok::Eof]
        );
        let e = tokenize("a == \"abc").unwrap_err();
        assert!(e.message.contains("unterminated string"), "{e}");
        let e = tokenize("a == \"\\u{zz}\"").unwrap_err();
        assert!(e.message.contains("hexadecimal"), "{e}");
        assert!(tokenize("a /* x").unwrap_err().message.contains("comment"));
        assert!(tokenize("99999999999999999999").is_err());
    }
}
