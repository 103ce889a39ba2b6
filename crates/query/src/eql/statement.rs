//! Statements: `category where …`, `sequence …`, `sample …`, and pipes.

use super::ast::*;
use super::lexer::Tok;
use super::parser::{Parser, OPERATORS, R, RESERVED};

impl Parser<'_> {
    pub fn statement(&mut self) -> R<Statement> {
        let body = if self.peek().is_word("sequence") {
            self.sequence()?
        } else if self.peek().is_word("sample") {
            self.sample()?
        } else if self.peek().is_word("join") {
            return Err(self.err_at(
                Self::span_of(self.peek()),
                "`join` is not supported by Elasticsearch EQL; use `sequence`",
            ));
        } else {
            Body::Event(self.event_filter(&["an event category", "any", "sequence", "sample"])?)
        };
        let mut pipes = Vec::new();
        while self.peek().is_punct("|") {
            self.bump();
            pipes.push(self.pipe()?);
        }
        if !matches!(self.peek().kind, Tok::Eof) {
            let mut expected: Vec<&str> = Vec::new();
            if matches!(body, Body::Event(_)) && pipes.is_empty() {
                expected.extend(OPERATORS);
            }
            expected.extend(["|", "end of query"]);
            return Err(self.unexpected(&expected));
        }
        Ok(Statement { body, pipes })
    }

    fn pipe(&mut self) -> R<(PipeKind, usize)> {
        let t = self.bump();
        let kind = match &t.kind {
            Tok::Ident { name, tilde: false } if name == "head" => PipeKind::Head,
            Tok::Ident { name, tilde: false } if name == "tail" => PipeKind::Tail,
            Tok::Ident { name, .. } => {
                return Err(self
                    .err_at(
                        Self::span_of(&t),
                        format!("the `{name}` pipe is not supported"),
                    )
                    .expected(["head", "tail"]))
            }
            _ => {
                self.pos -= 1;
                return Err(self.unexpected(&["head", "tail"]));
            }
        };
        let n = self.bump();
        match n.kind {
            Tok::Int(v) if v > 0 => Ok((kind, v as usize)),
            _ => Err(self
                .err_at(
                    Self::span_of(&n),
                    format!(
                        "the `{}` pipe takes a positive integer, not {}",
                        if kind == PipeKind::Head {
                            "head"
                        } else {
                            "tail"
                        },
                        n.describe()
                    ),
                )
                .expected(["a positive integer"])),
        }
    }

    fn event_filter(&mut self, expected: &[&str]) -> R<EventFilter> {
        let t = self.bump();
        let category = match &t.kind {
            Tok::Ident { name, tilde: false } if name == "any" => None,
            Tok::Ident { name, tilde: false } if !RESERVED.contains(&name.as_str()) => {
                Some(name.clone())
            }
            Tok::Str(s) | Tok::Quoted(s) => Some(s.clone()),
            _ => {
                self.pos -= 1;
                return Err(self.unexpected(expected));
            }
        };
        if !self.eat_word("where") {
            return Err(self.unexpected(&["where"]));
        }
        let cond = self.expr()?;
        Ok(EventFilter { category, cond })
    }

    fn keys(&mut self) -> R<(Vec<Key>, Span)> {
        let by = self.bump(); // `by`
        let mut keys = Vec::new();
        loop {
            let start = self.peek().start;
            let optional = self.eat_punct("?");
            let path = match self.field_path()? {
                Some(p) => p,
                None => return Err(self.unexpected(&["a field name"])),
            };
            if self.peek().is_punct("(") {
                return Err(self.err_at(
                    Self::span_of(self.peek()),
                    "a join key must be a field, not a function call",
                ));
            }
            let end = self.toks[self.pos.saturating_sub(1)].end;
            keys.push(Key {
                path,
                optional,
                span: Span { start, end },
            });
            if !self.eat_punct(",") {
                break;
            }
        }
        let end = keys.last().map(|k| k.span.end).unwrap_or(by.end);
        Ok((
            keys,
            Span {
                start: by.start,
                end,
            },
        ))
    }

    fn sequence(&mut self) -> R<Body> {
        let seq = self.bump();
        let mut by = Vec::new();
        if self.peek().is_word("by") {
            by = self.keys()?.0;
        }
        let mut maxspan_ns = None;
        if self.peek().is_word("with") {
            self.bump();
            let t = self.bump();
            if !t.is_word("maxspan") {
                return Err(self
                    .err_at(
                        Self::span_of(&t),
                        format!("unknown keyword {} after `with`", t.describe()),
                    )
                    .expected(["maxspan"]));
            }
            self.expect_punct("=", &["="])?;
            maxspan_ns = Some(self.duration()?);
            if self.peek().is_word("by") {
                return Err(self.err_at(
                    Self::span_of(self.peek()),
                    "write `sequence by …` before `with maxspan=…`, not after",
                ));
            }
        }
        let mut terms = Vec::new();
        while self.peek().is_punct("[") || self.peek().is_punct("![") {
            terms.push(self.term(true)?);
        }
        if terms.is_empty() {
            return Err(self.unexpected(&["[", "!["]));
        }
        let mut until = None;
        if self.peek().is_word("until") {
            self.bump();
            if !self.peek().is_punct("[") {
                return Err(self.unexpected(&["["]));
            }
            until = Some(self.term(false)?);
        }
        Ok(Body::Sequence {
            by,
            maxspan_ns,
            terms,
            until,
            span: Span {
                start: seq.start,
                end: seq.end,
            },
        })
    }

    fn sample(&mut self) -> R<Body> {
        let kw = self.bump();
        let mut by = Vec::new();
        if self.peek().is_word("by") {
            by = self.keys()?.0;
        }
        if self.peek().is_word("with") {
            return Err(self.err_at(
                Self::span_of(self.peek()),
                "`with` is not supported in samples (no maxspan or runs)",
            ));
        }
        let mut terms = Vec::new();
        loop {
            if self.peek().is_punct("[") {
                terms.push(self.term(false)?);
            } else if self.peek().is_punct("![") {
                return Err(self.err_at(
                    Self::span_of(self.peek()),
                    "missing events (`![…]`) are only supported in sequences",
                ));
            } else {
                break;
            }
            if self.peek().is_word("with") {
                return Err(self.err_at(
                    Self::span_of(self.peek()),
                    "`with runs=…` is not supported in samples",
                ));
            }
        }
        if terms.is_empty() {
            return Err(self.unexpected(&["by", "["]));
        }
        if self.peek().is_word("until") {
            return Err(self.err_at(
                Self::span_of(self.peek()),
                "`until` is not supported in samples",
            ));
        }
        Ok(Body::Sample {
            by,
            terms,
            span: Span {
                start: kw.start,
                end: kw.end,
            },
        })
    }

    /// `[ filter ]` or `![ filter ]`, then `by …` and (in sequences) `with runs=N`.
    fn term(&mut self, allow_runs: bool) -> R<Term> {
        let open = self.bump();
        let missing = open.is_punct("![");
        let filter = self.event_filter(&["an event category", "any"])?;
        let close = self.expect_punct("]", &[OPERATORS, &["]"]].concat())?;
        let mut span = Span {
            start: open.start,
            end: close.end,
        };
        let mut by = Vec::new();
        let mut by_span = span;
        if self.peek().is_word("by") {
            let (k, s) = self.keys()?;
            by = k;
            by_span = s;
            span = span.to(s);
        }
        let mut runs = None;
        if allow_runs && self.peek().is_word("with") {
            self.bump();
            let t = self.bump();
            if !t.is_word("runs") {
                return Err(self
                    .err_at(
                        Self::span_of(&t),
                        format!("unknown keyword {} after `with`", t.describe()),
                    )
                    .expected(["runs"]));
            }
            self.expect_punct("=", &["="])?;
            let n = self.bump();
            let Tok::Int(v) = n.kind else {
                return Err(self
                    .err_at(
                        Self::span_of(&n),
                        format!("`runs` takes an integer, not {}", n.describe()),
                    )
                    .expected(["an integer from 1 to 100"]));
            };
            runs = Some((v, Self::span_of(&n)));
            span = span.to(Self::span_of(&n));
        }
        Ok(Term {
            filter,
            by,
            by_span,
            runs,
            missing,
            span,
        })
    }

    /// `N` followed by `ms`, `s`, `m`, `h` or `d`, in nanoseconds.
    fn duration(&mut self) -> R<i64> {
        let n = self.bump();
        let value = match n.kind {
            Tok::Int(v) if v > 0 => v,
            Tok::Int(v) => {
                return Err(self.err_at(
                    Self::span_of(&n),
                    format!("maxspan must be positive, not {v}"),
                ))
            }
            Tok::Float(_) => {
                return Err(self.err_at(
                    Self::span_of(&n),
                    "a decimal maxspan is not supported; use a positive integer with a unit",
                ))
            }
            _ => {
                self.pos -= 1;
                return Err(self.unexpected(&["a positive integer with a unit, such as 30s"]));
            }
        };
        let u = self.peek().clone();
        let unit = match &u.kind {
            Tok::Ident { name, tilde: false } if u.start == n.end => name.clone(),
            _ => {
                return Err(self
                    .err_at(
                        Self::span_of(&n),
                        format!("maxspan needs a time unit; did you mean `{value}s`?"),
                    )
                    .expected(["ms", "s", "m", "h", "d"]))
            }
        };
        let per: i64 = match unit.as_str() {
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            "d" => 86_400 * 1_000_000_000,
            _ => {
                return Err(self
                    .err_at(
                        Self::span_of(&u),
                        format!("unknown time unit `{unit}` in maxspan"),
                    )
                    .expected(["ms", "s", "m", "h", "d"]))
            }
        };
        self.bump();
        value.checked_mul(per).ok_or_else(|| {
            self.err_at(
                Self::span_of(&n).to(Self::span_of(&u)),
                "maxspan is too large",
            )
        })
    }
}
