//! The parsed form of a KQL query, before compilation.

use crate::ir::CmpOp;

/// A condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    /// `field:value` or `field:(value list)`.
    Field {
        field: Lit,
        values: ValueNode,
    },
    /// `field < value` and friends.
    Range {
        field: Lit,
        op: CmpOp,
        value: Lit,
    },
    /// `field:{ query }`: the query's fields are relative to `field`.
    Nested {
        field: Lit,
        query: Box<Node>,
    },
    /// A value with no field (Kibana searches every field; we reject it when compiling).
    FreeText {
        value: Lit,
        at: usize,
    },
}

/// The right-hand side of `field:`: one value or a boolean combination of values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ValueNode {
    Or(Vec<ValueNode>),
    And(Vec<ValueNode>),
    Not(Box<ValueNode>),
    Value(Lit),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LitKind {
    /// `"…"`: taken literally, no wildcards.
    Quoted,
    /// Bare text, where `*` is a wildcard.
    Unquoted,
}

/// One piece of a literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// A character; `true` when it was escaped or quoted (so never a wildcard or trimmed).
    Char(char, bool),
    /// An unescaped `*` in an unquoted literal, with its byte offset.
    Star(usize),
}

/// A literal: a field name or a value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lit {
    pub kind: LitKind,
    pub parts: Vec<Part>,
    /// Byte span in the query text (quotes included).
    pub span: (usize, usize),
}

impl Lit {
    /// The text with escapes resolved; a wildcard is written `*`.
    pub fn text(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Char(c, _) => *c,
                Part::Star(_) => '*',
            })
            .collect()
    }

    /// The offset of the first wildcard, if the literal has any.
    pub fn first_star(&self) -> Option<usize> {
        self.parts.iter().find_map(|p| match p {
            Part::Star(at) => Some(*at),
            Part::Char(..) => None,
        })
    }

    /// Whether the literal is wildcards only (`*`, `**`): "the field exists".
    pub fn only_stars(&self) -> bool {
        !self.parts.is_empty() && self.parts.iter().all(|p| matches!(p, Part::Star(_)))
    }

    /// The literal as a wildcard pattern for [`crate::matcher::StrMatcher`]: `*` for each
    /// wildcard, every other character escaped where the matcher would read it specially.
    pub fn wildcard_pattern(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Star(_) => out.push('*'),
                Part::Char(c, _) => {
                    if matches!(c, '*' | '?' | '\\') {
                        out.push('\\');
                    }
                    out.push(*c);
                }
            }
        }
        out
    }
}
