//! The compiled form both languages share.
//!
//! [`Pred`] is a three-valued condition: `Some(true)`, `Some(false)` or `None` (null). A null
//! condition never matches. KQL is two-valued (a missing field is simply false, so
//! `not f:x` matches documents without `f`); its compiler wraps leaves in
//! [`Pred::NullAsFalse`] to get that.

use crate::functions::Func;
use crate::matcher::StrMatcher;
use spawnguard_event::FieldPath;

/// A literal in a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

/// A value-producing expression. Evaluating one yields every value it has (a field holding
/// an array yields each element), so that comparisons can ask whether any element fits.
#[derive(Debug, Clone)]
pub enum Expr {
    Field(FieldPath),
    Lit(Literal),
    /// A function call; `ci` is the `~` form (case-insensitive).
    Call {
        func: Func,
        args: Vec<Expr>,
        ci: bool,
    },
    Arith {
        op: ArithOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Neg(Box<Expr>),
    /// A condition used as a value (e.g. a boolean argument).
    Cond(Box<Pred>),
}

/// A condition.
#[derive(Debug, Clone)]
pub enum Pred {
    /// A constant: true, false, or null.
    Const(Option<bool>),
    And(Vec<Pred>),
    Or(Vec<Pred>),
    Not(Box<Pred>),
    /// The fast path: a field's string form tested against patterns. True when any element
    /// matches, false when it has values and none matches, null when it has no value.
    Str {
        field: FieldPath,
        matcher: StrMatcher,
    },
    /// A field compared with a literal (numbers numerically, strings by bytes or ignoring
    /// case). Any element that satisfies it makes it true; no value makes it null.
    Cmp {
        field: FieldPath,
        op: CmpOp,
        value: Literal,
        ci: bool,
    },
    /// Two expressions compared, any pair of their values satisfying it.
    Compare {
        lhs: Expr,
        op: CmpOp,
        rhs: Expr,
        ci: bool,
    },
    /// The field holds at least one non-null value (never null itself).
    Exists(FieldPath),
    /// A boolean-valued expression (a function such as `startsWith`, a boolean field).
    Truthy(Expr),
    /// Null becomes false: two-valued logic for KQL leaves.
    NullAsFalse(Box<Pred>),
}

impl Pred {
    pub fn and(mut parts: Vec<Pred>) -> Pred {
        match parts.len() {
            0 => Pred::Const(Some(true)),
            1 => parts.pop().unwrap_or(Pred::Const(Some(true))),
            _ => Pred::And(parts),
        }
    }

    pub fn or(mut parts: Vec<Pred>) -> Pred {
        match parts.len() {
            0 => Pred::Const(Some(false)),
            1 => parts.pop().unwrap_or(Pred::Const(Some(false))),
            _ => Pred::Or(parts),
        }
    }

    pub fn not(p: Pred) -> Pred {
        match p {
            Pred::Not(inner) => *inner,
            other => Pred::Not(Box::new(other)),
        }
    }

    /// A rough cost used to order the parts of `and`/`or`: cheap tests run first.
    pub fn cost(&self) -> u32 {
        match self {
            Pred::Const(_) => 0,
            Pred::Exists(_) => 2,
            Pred::Cmp { .. } => 3,
            Pred::Str { matcher, .. } => 4 + matcher.patterns().len().min(16) as u32,
            Pred::Not(p) | Pred::NullAsFalse(p) => p.cost(),
            Pred::And(ps) | Pred::Or(ps) => ps.iter().map(Pred::cost).sum::<u32>() + 1,
            Pred::Truthy(_) | Pred::Compare { .. } => 40,
        }
    }

    /// Reorders every `and`/`or` so that cheaper parts are tried first. Evaluation results
    /// do not depend on the order (three-valued `and`/`or` are commutative).
    pub fn optimize(self) -> Pred {
        match self {
            Pred::And(ps) => {
                let mut ps: Vec<Pred> = ps
                    .into_iter()
                    .map(Pred::optimize)
                    .flat_map(flatten_and)
                    .collect();
                ps.sort_by_key(Pred::cost);
                Pred::and(ps)
            }
            Pred::Or(ps) => {
                let mut ps: Vec<Pred> = ps
                    .into_iter()
                    .map(Pred::optimize)
                    .flat_map(flatten_or)
                    .collect();
                ps.sort_by_key(Pred::cost);
                Pred::or(ps)
            }
            Pred::Not(p) => Pred::not(p.optimize()),
            Pred::NullAsFalse(p) => Pred::NullAsFalse(Box::new(p.optimize())),
            other => other,
        }
    }

    /// Every field the condition reads.
    pub fn fields(&self, out: &mut Vec<FieldPath>) {
        match self {
            Pred::Const(_) => {}
            Pred::And(ps) | Pred::Or(ps) => ps.iter().for_each(|p| p.fields(out)),
            Pred::Not(p) | Pred::NullAsFalse(p) => p.fields(out),
            Pred::Str { field, .. } | Pred::Cmp { field, .. } | Pred::Exists(field) => {
                out.push(field.clone())
            }
            Pred::Compare { lhs, rhs, .. } => {
                lhs.fields(out);
                rhs.fields(out);
            }
            Pred::Truthy(e) => e.fields(out),
        }
    }
}

fn flatten_and(p: Pred) -> Vec<Pred> {
    match p {
        Pred::And(ps) => ps,
        other => vec![other],
    }
}

fn flatten_or(p: Pred) -> Vec<Pred> {
    match p {
        Pred::Or(ps) => ps,
        other => vec![other],
    }
}

impl Expr {
    pub fn fields(&self, out: &mut Vec<FieldPath>) {
        match self {
            Expr::Field(f) => out.push(f.clone()),
            Expr::Lit(_) => {}
            Expr::Call { args, .. } => args.iter().for_each(|a| a.fields(out)),
            Expr::Arith { lhs, rhs, .. } => {
                lhs.fields(out);
                rhs.fields(out);
            }
            Expr::Neg(e) => e.fields(out),
            Expr::Cond(p) => p.fields(out),
        }
    }
}
