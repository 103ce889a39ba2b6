//! The parsed form of an EQL query, with byte spans for error messages.

use crate::functions::Func;
use crate::ir::{ArithOp, CmpOp, Literal};

/// A byte range of the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// The string-matching operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `:` (wildcards, case-insensitive).
    Colon,
    /// `like` / `like~`.
    Like,
    /// `regex` / `regex~`.
    Regex,
}

#[derive(Debug, Clone)]
pub enum Node {
    Lit(Literal),
    Field {
        path: String,
        optional: bool,
    },
    Call {
        func: Func,
        ci: bool,
        args: Vec<Ast>,
    },
    Neg(Box<Ast>),
    Arith {
        op: ArithOp,
        lhs: Box<Ast>,
        rhs: Box<Ast>,
    },
    Cmp {
        op: CmpOp,
        lhs: Box<Ast>,
        rhs: Box<Ast>,
    },
    /// `lhs : "p"`, `lhs like~ ("a", "b")`, …
    Match {
        op: MatchOp,
        ci: bool,
        lhs: Box<Ast>,
        patterns: Vec<(String, Span)>,
    },
    /// `lhs [not] in[~] (…)`
    In {
        lhs: Box<Ast>,
        list: Vec<Ast>,
        ci: bool,
        negated: bool,
    },
    And(Vec<Ast>),
    Or(Vec<Ast>),
    Not(Box<Ast>),
}

/// A node with its span.
#[derive(Debug, Clone)]
pub struct Ast {
    pub node: Node,
    pub span: Span,
}

/// `category where condition`; `category` is `None` for `any`.
#[derive(Debug, Clone)]
pub struct EventFilter {
    pub category: Option<String>,
    pub cond: Ast,
}

/// A join key (`by k`).
#[derive(Debug, Clone)]
pub struct Key {
    pub path: String,
    pub optional: bool,
    pub span: Span,
}

/// One bracketed query of a sequence or sample, with what follows it.
#[derive(Debug, Clone)]
pub struct Term {
    pub filter: EventFilter,
    pub by: Vec<Key>,
    /// The `by` clause's span (or the bracket's, without one), for key-count errors.
    pub by_span: Span,
    pub runs: Option<(i64, Span)>,
    pub missing: bool,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Body {
    Event(EventFilter),
    Sequence {
        by: Vec<Key>,
        maxspan_ns: Option<i64>,
        terms: Vec<Term>,
        until: Option<Term>,
        /// The `sequence` keyword, for errors about the whole sequence.
        span: Span,
    },
    Sample {
        by: Vec<Key>,
        terms: Vec<Term>,
        /// The `sample` keyword.
        span: Span,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipeKind {
    Head,
    Tail,
}

#[derive(Debug, Clone)]
pub struct Statement {
    pub body: Body,
    pub pipes: Vec<(PipeKind, usize)>,
}
