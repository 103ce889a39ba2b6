//! Evaluation of compiled conditions over events, with Elasticsearch's null semantics.

use crate::functions;
use crate::ir::{ArithOp, CmpOp, Expr, Literal, Pred};
use crate::value::Val;
use smallvec::SmallVec;
use spawnguard_event::{Event, Value};
use std::borrow::Cow;
use std::cmp::Ordering;

/// The values of an expression: empty means null (missing).
pub type Vals<'a> = SmallVec<[Val<'a>; 2]>;

impl Pred {
    /// Whether the event matches: a null result does not.
    pub fn matches(&self, ev: &Event) -> bool {
        self.eval(ev) == Some(true)
    }

    /// Three-valued evaluation: `None` is null.
    pub fn eval(&self, ev: &Event) -> Option<bool> {
        match self {
            Pred::Const(c) => *c,
            Pred::And(ps) => and3(ps.iter().map(|p| p.eval(ev))),
            Pred::Or(ps) => or3(ps.iter().map(|p| p.eval(ev))),
            Pred::Not(p) => p.eval(ev).map(|b| !b),
            Pred::NullAsFalse(p) => Some(p.eval(ev).unwrap_or(false)),
            Pred::Exists(f) => Some(ev.has(f)),
            Pred::Str { field, matcher } => {
                let test = |v: &Value| match v {
                    Value::String(s) => matcher.matches(s),
                    other => Val::from_json(other)
                        .to_text()
                        .map(|t| matcher.matches(&t))
                        .unwrap_or(false),
                };
                if let Some(vals) = ev.values_slice(field) {
                    return (!vals.is_empty()).then(|| vals.iter().any(test));
                }
                let vals = ev.values(field);
                if vals.is_empty() {
                    return None;
                }
                Some(vals.iter().any(|v| test(v)))
            }
            Pred::Cmp {
                field,
                op,
                value,
                ci,
            } => {
                let lit = literal_val(value);
                match ev.values_slice(field) {
                    Some(flat) => cmp_values(flat.iter(), *op, &lit, *ci),
                    None => cmp_values(ev.values(field).into_iter(), *op, &lit, *ci),
                }
            }
            Pred::Compare { lhs, op, rhs, ci } => {
                let l = eval_expr(lhs, ev);
                let r = eval_expr(rhs, ev);
                compare_any(&l, *op, &r, *ci)
            }
            Pred::Truthy(e) => {
                let vals = eval_expr(e, ev);
                let mut saw = false;
                for v in &vals {
                    match v {
                        Val::Bool(true) => return Some(true),
                        Val::Bool(false) => saw = true,
                        _ => {}
                    }
                }
                if saw {
                    Some(false)
                } else {
                    None
                }
            }
        }
    }
}

/// A field's values against a literal: true if any value satisfies the comparison, false
/// if some could be compared and none did, null if there is no value or none compares.
fn cmp_values<'a>(
    vals: impl Iterator<Item = &'a Value>,
    op: CmpOp,
    lit: &Val<'_>,
    ci: bool,
) -> Option<bool> {
    let mut any_known = false;
    for v in vals {
        if let Some(ord) = Val::from_json(v).compare(lit, ci) {
            any_known = true;
            if op_holds(op, ord) {
                return Some(true);
            }
        }
    }
    any_known.then_some(false)
}

/// Three-valued `and`, evaluating lazily: false as soon as a part is false, else null if
/// any part was null, else true.
pub fn and3(parts: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut null = false;
    for p in parts {
        match p {
            Some(false) => return Some(false),
            None => null = true,
            Some(true) => {}
        }
    }
    if null {
        None
    } else {
        Some(true)
    }
}

/// Three-valued `or`, evaluating lazily: true as soon as a part is true, else null if any
/// part was null, else false.
pub fn or3(parts: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut null = false;
    for p in parts {
        match p {
            Some(true) => return Some(true),
            None => null = true,
            Some(false) => {}
        }
    }
    if null {
        None
    } else {
        Some(false)
    }
}

/// `l op r` for any pair of values; null when either side has no value or nothing compares.
pub fn compare_any(l: &[Val<'_>], op: CmpOp, r: &[Val<'_>], ci: bool) -> Option<bool> {
    if l.is_empty() || r.is_empty() {
        return None;
    }
    let mut known = false;
    for a in l {
        for b in r {
            if let Some(ord) = a.compare(b, ci) {
                known = true;
                if op_holds(op, ord) {
                    return Some(true);
                }
            }
        }
    }
    if known {
        Some(false)
    } else {
        None
    }
}

pub fn op_holds(op: CmpOp, ord: Ordering) -> bool {
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

pub fn literal_val(l: &Literal) -> Val<'_> {
    match l {
        Literal::Null => Val::Null,
        Literal::Bool(b) => Val::Bool(*b),
        Literal::Int(i) => Val::Int(*i),
        Literal::Float(f) => Val::Float(*f),
        Literal::Str(s) => Val::Str(Cow::Borrowed(s)),
    }
}

/// Every value of an expression over an event (empty = null).
pub fn eval_expr<'a>(e: &'a Expr, ev: &'a Event) -> Vals<'a> {
    match e {
        Expr::Field(f) => ev
            .values(f)
            .into_iter()
            .map(Val::from_json)
            .filter(|v| !v.is_null())
            .collect(),
        Expr::Lit(l) => match literal_val(l) {
            Val::Null => Vals::new(),
            v => smallvec::smallvec![v],
        },
        Expr::Cond(p) => match p.eval(ev) {
            Some(b) => smallvec::smallvec![Val::Bool(b)],
            None => Vals::new(),
        },
        Expr::Neg(inner) => eval_expr(inner, ev)
            .into_iter()
            .filter_map(|v| match v {
                Val::Int(i) => i.checked_neg().map(Val::Int),
                Val::Float(f) => Some(Val::Float(-f)),
                _ => None,
            })
            .collect(),
        Expr::Arith { op, lhs, rhs } => {
            let l = eval_expr(lhs, ev);
            let r = eval_expr(rhs, ev);
            match (l.first(), r.first()) {
                (Some(a), Some(b)) => {
                    let f = match op {
                        ArithOp::Add => functions::Func::Add,
                        ArithOp::Sub => functions::Func::Subtract,
                        ArithOp::Mul => functions::Func::Multiply,
                        ArithOp::Div => functions::Func::Divide,
                        ArithOp::Mod => functions::Func::Modulo,
                    };
                    one(functions::call(f, &[a.clone(), b.clone()], false))
                }
                _ => Vals::new(),
            }
        }
        Expr::Call { func, args, ci } => {
            // The first argument may be multi-valued (an array field): the function is applied
            // to each of its values; the other arguments use their first value.
            let mut evaluated: Vec<Vals<'a>> = args.iter().map(|a| eval_expr(a, ev)).collect();
            if func.maps_over_first_arg() && evaluated.first().map(|v| v.len() > 1).unwrap_or(false)
            {
                let firsts = std::mem::take(&mut evaluated[0]);
                let rest: Vec<Val<'a>> = evaluated[1..]
                    .iter()
                    .map(|v| v.first().cloned().unwrap_or(Val::Null))
                    .collect();
                let mut out = Vals::new();
                for v in firsts {
                    let mut argv = Vec::with_capacity(rest.len() + 1);
                    argv.push(v);
                    argv.extend(rest.iter().cloned());
                    out.extend(one(functions::call(*func, &argv, *ci)));
                }
                out
            } else {
                let argv: Vec<Val<'a>> = evaluated
                    .into_iter()
                    .map(|v| v.into_iter().next().unwrap_or(Val::Null))
                    .collect();
                one(functions::call(*func, &argv, *ci))
            }
        }
    }
}

fn one(v: Val<'_>) -> Vals<'_> {
    if v.is_null() {
        Vals::new()
    } else {
        smallvec::smallvec![v]
    }
}
