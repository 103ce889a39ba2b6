//! Recursive-descent parser from tokens to [`super::ast`]: the shared machinery and
//! conditions, with Elasticsearch's precedence: `or` < `and` < `not` < comparisons and
//! lookups < `+ -` < `* / %` < unary minus. Statements (event queries, sequences, samples,
//! pipes) are in [`super::statement`].

use super::ast::*;
use super::lexer::{Tok, Token};
use crate::functions::Func;
use crate::ir::{ArithOp, CmpOp, Literal};
use crate::ParseError;

/// What may follow a value in a condition.
pub const OPERATORS: &[&str] = &[
    "==", "!=", "<", "<=", ">", ">=", ":", "like", "like~", "regex", "regex~", "in", "in~",
    "not in", "and", "or",
];

/// Words that cannot start a field name.
pub(super) const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "like", "regex", "where", "by", "with", "until", "sequence",
    "sample", "join", "of", "any",
];

pub struct Parser<'s> {
    pub(super) src: &'s str,
    pub(super) toks: Vec<Token>,
    pub(super) pos: usize,
    depth: usize,
}

/// How deeply parentheses, function calls, `not`, unary signs and operator chains may nest
/// (Elastic's rules nest at most 7 deep; 32 levels fit in 1 MiB of stack even in debug
/// builds, whose frames are large).
pub const MAX_DEPTH: usize = 32;

pub(super) type R<T> = Result<T, ParseError>;

impl<'s> Parser<'s> {
    pub fn new(src: &'s str, toks: Vec<Token>) -> Self {
        Parser {
            src,
            toks,
            pos: 0,
            depth: 0,
        }
    }

    pub(super) fn peek(&self) -> &Token {
        let last = self.toks.len().saturating_sub(1);
        &self.toks[self.pos.min(last)]
    }

    pub(super) fn peek_at(&self, n: usize) -> &Token {
        let last = self.toks.len().saturating_sub(1);
        &self.toks[(self.pos + n).min(last)]
    }

    pub(super) fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    pub(super) fn span_of(t: &Token) -> Span {
        Span {
            start: t.start,
            end: t.end,
        }
    }

    pub fn err_at(&self, span: Span, msg: impl Into<String>) -> ParseError {
        ParseError::at(self.src, span.start, span.len(), msg)
    }

    /// "unexpected X" at the current token, with what was expected.
    pub(super) fn unexpected(&self, expected: &[&str]) -> ParseError {
        let t = self.peek();
        // Brackets, commas and pipes are quoted so that "expected `,`, `)`" reads well.
        let shown = expected.iter().map(|e| {
            if matches!(*e, "," | "(" | ")" | "[" | "]" | "![" | "|" | "=") {
                format!("`{e}`")
            } else {
                e.to_string()
            }
        });
        self.err_at(Self::span_of(t), format!("unexpected {}", t.describe()))
            .expected(shown)
    }

    pub(super) fn eat_punct(&mut self, p: &str) -> bool {
        if self.peek().is_punct(p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn eat_word(&mut self, w: &str) -> bool {
        if self.peek().is_word(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn expect_punct(&mut self, p: &str, expected: &[&str]) -> R<Token> {
        if self.peek().is_punct(p) {
            Ok(self.bump())
        } else {
            Err(self.unexpected(expected))
        }
    }

    // ---- expressions ----

    /// Counts one more level of nesting; too deep a query is an error, not a stack overflow.
    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err_at(
                Self::span_of(self.peek()),
                format!("the query nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    pub fn expr(&mut self) -> R<Ast> {
        self.enter()?;
        let first = self.and_expr()?;
        let mut parts = vec![first];
        while self.eat_word("or") {
            parts.push(self.and_expr()?);
        }
        self.depth -= 1;
        Ok(join(parts, Node::Or))
    }

    fn and_expr(&mut self) -> R<Ast> {
        let first = self.not_expr()?;
        let mut parts = vec![first];
        while self.eat_word("and") {
            parts.push(self.not_expr()?);
        }
        Ok(join(parts, Node::And))
    }

    fn not_expr(&mut self) -> R<Ast> {
        if self.peek().is_word("not") {
            let kw = self.bump();
            self.enter()?;
            let inner = self.not_expr()?;
            self.depth -= 1;
            let span = Self::span_of(&kw).to(inner.span);
            return Ok(Ast {
                node: Node::Not(Box::new(inner)),
                span,
            });
        }
        self.predicate()
    }

    fn predicate(&mut self) -> R<Ast> {
        let lhs = self.arith()?;
        let t = self.peek().clone();
        let cmp = match &t.kind {
            Tok::Punct("==") => Some(CmpOp::Eq),
            Tok::Punct("!=") => Some(CmpOp::Ne),
            Tok::Punct("<") => Some(CmpOp::Lt),
            Tok::Punct("<=") => Some(CmpOp::Le),
            Tok::Punct(">") => Some(CmpOp::Gt),
            Tok::Punct(">=") => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = cmp {
            self.bump();
            let rhs = self.arith()?;
            let next = self.peek();
            if matches!(
                next.kind,
                Tok::Punct("==" | "!=" | "<" | "<=" | ">" | ">=" | ":")
            ) {
                return Err(self.err_at(
                    Self::span_of(next),
                    "comparisons cannot be chained; join them with `and`",
                ));
            }
            let span = lhs.span.to(rhs.span);
            return Ok(Ast {
                node: Node::Cmp {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            });
        }
        match &t.kind {
            Tok::Punct("=") => Err(self
                .err_at(
                    Self::span_of(&t),
                    "`=` is not an EQL operator; use `==` (case-sensitive) or `:` \
                     (case-insensitive)",
                )
                .expected(OPERATORS.iter().copied())),
            Tok::Punct(":") => {
                self.bump();
                self.patterns(lhs, MatchOp::Colon, true)
            }
            Tok::Ident { name, tilde } if name == "like" => {
                let ci = *tilde;
                self.bump();
                self.patterns(lhs, MatchOp::Like, ci)
            }
            Tok::Ident { name, tilde } if name == "regex" => {
                let ci = *tilde;
                self.bump();
                self.patterns(lhs, MatchOp::Regex, ci)
            }
            Tok::Ident { name, tilde } if name == "in" => {
                let ci = *tilde;
                self.bump();
                self.in_list(lhs, ci, false)
            }
            Tok::Ident { name, tilde: false } if name == "not" => {
                let after = self.peek_at(1).clone();
                match &after.kind {
                    Tok::Ident { name, tilde } if name == "in" => {
                        let ci = *tilde;
                        self.bump();
                        self.bump();
                        self.in_list(lhs, ci, true)
                    }
                    _ => {
                        self.bump();
                        Err(self.unexpected(&["in", "in~"]))
                    }
                }
            }
            Tok::Ident { tilde: true, name } => Err(self.err_at(
                Self::span_of(&t),
                format!(
                    "unexpected `{name}~`: `~` only follows like, regex, in, or a function name"
                ),
            )),
            _ => Ok(lhs),
        }
    }

    fn patterns(&mut self, lhs: Ast, op: MatchOp, ci: bool) -> R<Ast> {
        let mut patterns = Vec::new();
        let paren = self.eat_punct("(");
        loop {
            let t = self.bump();
            let text = match &t.kind {
                Tok::Str(s) => s.clone(),
                Tok::Int(i) if op == MatchOp::Colon => i.to_string(),
                Tok::Float(f) if op == MatchOp::Colon => crate::value::fmt_float(*f),
                _ => {
                    self.pos -= 1;
                    return Err(self.unexpected(&["a string pattern"]));
                }
            };
            patterns.push((text, Self::span_of(&t)));
            if !paren || !self.eat_punct(",") {
                break;
            }
        }
        let mut end = patterns.last().map(|p| p.1.end).unwrap_or(lhs.span.end);
        if paren {
            end = self.expect_punct(")", &[",", ")"])?.end;
        }
        let span = Span {
            start: lhs.span.start,
            end,
        };
        Ok(Ast {
            node: Node::Match {
                op,
                ci,
                lhs: Box::new(lhs),
                patterns,
            },
            span,
        })
    }

    fn in_list(&mut self, lhs: Ast, ci: bool, negated: bool) -> R<Ast> {
        self.expect_punct("(", &["("])?;
        let mut list = Vec::new();
        loop {
            list.push(self.expr()?);
            if !self.eat_punct(",") {
                break;
            }
        }
        let close = self.expect_punct(")", &[",", ")"])?;
        let span = Span {
            start: lhs.span.start,
            end: close.end,
        };
        Ok(Ast {
            node: Node::In {
                lhs: Box::new(lhs),
                list,
                ci,
                negated,
            },
            span,
        })
    }

    fn arith(&mut self) -> R<Ast> {
        let mut lhs = self.term_expr()?;
        let depth = self.depth;
        loop {
            let op = match self.peek().kind {
                Tok::Punct("+") => ArithOp::Add,
                Tok::Punct("-") => ArithOp::Sub,
                _ => break,
            };
            self.bump();
            self.enter()?; // each operator nests the tree one level deeper
            let rhs = self.term_expr()?;
            lhs = arith_node(op, lhs, rhs);
        }
        self.depth = depth;
        Ok(lhs)
    }

    fn term_expr(&mut self) -> R<Ast> {
        let mut lhs = self.unary()?;
        let depth = self.depth;
        loop {
            let op = match self.peek().kind {
                Tok::Punct("*") => ArithOp::Mul,
                Tok::Punct("/") => ArithOp::Div,
                Tok::Punct("%") => ArithOp::Mod,
                _ => break,
            };
            self.bump();
            self.enter()?; // each operator nests the tree one level deeper
            let rhs = self.unary()?;
            lhs = arith_node(op, lhs, rhs);
        }
        self.depth = depth;
        Ok(lhs)
    }

    fn unary(&mut self) -> R<Ast> {
        if self.peek().is_punct("-") || self.peek().is_punct("+") {
            let t = self.bump();
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            let span = Self::span_of(&t).to(inner.span);
            if t.is_punct("+") {
                return Ok(Ast {
                    node: inner.node,
                    span,
                });
            }
            let node = match inner.node {
                Node::Lit(Literal::Int(i)) => match i.checked_neg() {
                    Some(n) => Node::Lit(Literal::Int(n)),
                    None => Node::Neg(Box::new(Ast {
                        node: Node::Lit(Literal::Int(i)),
                        span: inner.span,
                    })),
                },
                Node::Lit(Literal::Float(f)) => Node::Lit(Literal::Float(-f)),
                other => Node::Neg(Box::new(Ast {
                    node: other,
                    span: inner.span,
                })),
            };
            return Ok(Ast { node, span });
        }
        self.primary()
    }

    fn primary(&mut self) -> R<Ast> {
        let t = self.peek().clone();
        let span = Self::span_of(&t);
        let lit = |l: Literal| Ast {
            node: Node::Lit(l),
            span,
        };
        match &t.kind {
            Tok::Int(i) => {
                self.bump();
                Ok(lit(Literal::Int(*i)))
            }
            Tok::Float(f) => {
                self.bump();
                Ok(lit(Literal::Float(*f)))
            }
            Tok::Str(s) => {
                self.bump();
                Ok(lit(Literal::Str(s.clone())))
            }
            Tok::Punct("(") => {
                self.bump();
                let inner = self.expr()?;
                let close = self.expect_punct(")", &[OPERATORS, &[")"]].concat())?;
                Ok(Ast {
                    node: inner.node,
                    span: span.to(Self::span_of(&close)),
                })
            }
            Tok::Punct("?") => {
                self.bump();
                match self.field_path()? {
                    Some(path) => Ok(Ast {
                        node: Node::Field {
                            path,
                            optional: true,
                        },
                        span: span.to(Self::span_of(&self.toks[self.pos - 1])),
                    }),
                    None => Err(self.unexpected(&["a field name after `?`"])),
                }
            }
            Tok::Ident { name, tilde: false } if name == "true" || name == "false" => {
                self.bump();
                Ok(lit(Literal::Bool(name == "true")))
            }
            Tok::Ident { name, tilde: false } if name == "null" => {
                self.bump();
                Ok(lit(Literal::Null))
            }
            Tok::Ident { name, tilde } if self.peek_at(1).is_punct("(") => {
                let (name, tilde) = (name.clone(), *tilde);
                self.call(&name, tilde, span)
            }
            Tok::Ident { name, tilde: true } => Err(self.err_at(
                span,
                format!(
                    "unexpected `{name}~`: `~` only follows like, regex, in, or a function name"
                ),
            )),
            Tok::Ident { .. } | Tok::Quoted(_) => match self.field_path()? {
                Some(path) => {
                    let end = self.toks[self.pos - 1].end;
                    Ok(Ast {
                        node: Node::Field {
                            path,
                            optional: false,
                        },
                        span: Span {
                            start: span.start,
                            end,
                        },
                    })
                }
                None => {
                    Err(self.unexpected(&["a field", "a value", "a function call", "(", "not"]))
                }
            },
            _ => Err(self.unexpected(&["a field", "a value", "a function call", "(", "not"])),
        }
    }

    /// A field name: `a.b.c`, `` `a b`.c ``, `@timestamp`. `None` (nothing consumed) when the
    /// next token cannot start one.
    pub(super) fn field_path(&mut self) -> R<Option<String>> {
        let first = self.peek().clone();
        let mut path = match &first.kind {
            Tok::Ident { name, tilde: false } if !RESERVED.contains(&name.as_str()) => name.clone(),
            Tok::Quoted(s) => s.clone(),
            _ => return Ok(None),
        };
        self.bump();
        loop {
            if self.peek().is_punct(".") {
                self.bump();
                let seg = self.bump();
                match &seg.kind {
                    Tok::Ident { name, tilde: false } => path.push_str(&format!(".{name}")),
                    Tok::Quoted(s) => path.push_str(&format!(".{s}")),
                    Tok::Int(i) => path.push_str(&format!(".{i}")),
                    _ => {
                        self.pos -= 1;
                        return Err(self.unexpected(&["a field name after `.`"]));
                    }
                }
            } else if self.peek().is_punct("[") && self.peek().start == self.toks[self.pos - 1].end
            {
                return Err(self.err_at(
                    Self::span_of(self.peek()),
                    "array indexes on fields are not supported; a condition on an array field \
                     matches when any element does",
                ));
            } else {
                return Ok(Some(path));
            }
        }
    }

    fn call(&mut self, name: &str, tilde: bool, name_span: Span) -> R<Ast> {
        self.bump(); // name
        self.bump(); // (
                     // A call's frames are large: count it as a level of its own (its arguments are
                     // `expr`s, which count another).
        self.enter()?;
        let func = Func::from_name(name).ok_or_else(|| {
            self.err_at(name_span, format!("unknown function `{name}`"))
                .expected(super::compile::FUNCTION_NAMES.iter().copied())
        })?;
        if tilde && !func.has_ci_form() {
            return Err(self.err_at(
                name_span,
                format!(
                    "`{}` has no case-insensitive `~` form (only between, endsWith, indexOf, \
                     startsWith and stringContains do)",
                    func.name()
                ),
            ));
        }
        let mut args = Vec::new();
        if !self.peek().is_punct(")") {
            loop {
                args.push(self.expr()?);
                if !self.eat_punct(",") {
                    break;
                }
            }
        }
        let close = self.expect_punct(")", &[",", ")"])?;
        self.depth -= 1;
        let span = name_span.to(Self::span_of(&close));
        let (min, max) = func.arity();
        let n = args.len();
        if n < min || max.is_some_and(|m| n > m) {
            let want = match max {
                Some(m) if m == min => format!("{min}"),
                Some(m) => format!("{min} to {m}"),
                None => format!("at least {min}"),
            };
            let at = if n > min {
                args[max.unwrap_or(n).min(n - 1)].span
            } else {
                span
            };
            return Err(self.err_at(
                at,
                format!(
                    "`{}` takes {want} arguments, but {n} were given",
                    func.name()
                ),
            ));
        }
        Ok(Ast {
            node: Node::Call {
                func,
                ci: tilde,
                args,
            },
            span,
        })
    }
}

/// One operand stays itself; more become an n-ary `and`/`or` (no deep left-nested trees).
fn join(mut parts: Vec<Ast>, make: fn(Vec<Ast>) -> Node) -> Ast {
    if parts.len() == 1 {
        if let Some(only) = parts.pop() {
            return only;
        }
    }
    let start = parts.first().map(|a| a.span.start).unwrap_or(0);
    let end = parts.last().map(|a| a.span.end).unwrap_or(start);
    Ast {
        node: make(parts),
        span: Span { start, end },
    }
}

fn arith_node(op: ArithOp, lhs: Ast, rhs: Ast) -> Ast {
    let span = lhs.span.to(rhs.span);
    Ast {
        node: Node::Arith {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
        span,
    }
}
