//! From the parsed form to the shared IR ([`crate::ir`]), taking the cheapest form for each
//! test: a field compared with strings becomes one [`Pred::Str`] matcher, a field compared
//! with a number a [`Pred::Cmp`], anything else a general [`Pred::Compare`].

use super::ast::{Ast, MatchOp, Node, Span};
use crate::eval::literal_val;
use crate::functions::Func;
use crate::ir::{CmpOp, Expr, Literal, Pred};
use crate::matcher::{PatternKind, StrMatcher};
use crate::ParseError;
use spawnguard_event::FieldPath;

/// The functions Elasticsearch EQL knows, for "unknown function" errors.
pub const FUNCTION_NAMES: &[&str] = &[
    "add",
    "between",
    "cidrMatch",
    "concat",
    "divide",
    "endsWith",
    "indexOf",
    "length",
    "modulo",
    "multiply",
    "number",
    "startsWith",
    "string",
    "stringContains",
    "substring",
    "subtract",
];

pub struct Compiler<'s> {
    pub src: &'s str,
}

type R<T> = Result<T, ParseError>;

impl Compiler<'_> {
    fn err(&self, span: Span, msg: impl Into<String>) -> ParseError {
        ParseError::at(self.src, span.start, span.len(), msg)
    }

    /// A node used as a condition.
    pub fn pred(&self, a: &Ast) -> R<Pred> {
        match &a.node {
            Node::And(ps) => Ok(Pred::And(
                ps.iter().map(|p| self.pred(p)).collect::<R<_>>()?,
            )),
            Node::Or(ps) => Ok(Pred::Or(merge_str_tests(
                ps.iter().map(|p| self.pred(p)).collect::<R<_>>()?,
            ))),
            Node::Not(x) => Ok(Pred::not(self.pred(x)?)),
            Node::Lit(Literal::Bool(b)) => Ok(Pred::Const(Some(*b))),
            Node::Lit(Literal::Null) => Ok(Pred::Const(None)),
            Node::Lit(_) => Err(self.err(
                a.span,
                "a number or string is not a condition; compare it with something",
            )),
            Node::Field { .. } => Ok(Pred::Truthy(self.expr(a)?)),
            Node::Call { func, .. } => {
                if func.is_boolean() {
                    Ok(Pred::Truthy(self.expr(a)?))
                } else {
                    Err(self.err(
                        a.span,
                        format!(
                            "`{}` does not return a boolean, so it is not a condition; compare \
                             its result (for example with `==`)",
                            func.name()
                        ),
                    ))
                }
            }
            Node::Neg(_) | Node::Arith { .. } => Err(self.err(
                a.span,
                "an arithmetic expression is not a condition; compare it with something",
            )),
            Node::Cmp { op, lhs, rhs } => self.cmp(*op, lhs, rhs),
            Node::Match {
                op,
                ci,
                lhs,
                patterns,
            } => self.matching(*op, *ci, lhs, patterns),
            Node::In {
                lhs,
                list,
                ci,
                negated,
            } => {
                let p = self.in_list(lhs, list, *ci)?;
                Ok(if *negated { Pred::not(p) } else { p })
            }
        }
    }

    /// A node used as a value.
    pub fn expr(&self, a: &Ast) -> R<Expr> {
        Ok(match &a.node {
            Node::Lit(l) => Expr::Lit(l.clone()),
            Node::Field { path, .. } => Expr::Field(FieldPath::new(path)),
            Node::Call { func, ci, args } => {
                self.check_args(*func, args)?;
                Expr::Call {
                    func: *func,
                    args: args.iter().map(|x| self.expr(x)).collect::<R<_>>()?,
                    ci: *ci,
                }
            }
            Node::Neg(x) => Expr::Neg(Box::new(self.expr(x)?)),
            Node::Arith { op, lhs, rhs } => Expr::Arith {
                op: *op,
                lhs: Box::new(self.expr(lhs)?),
                rhs: Box::new(self.expr(rhs)?),
            },
            _ => Expr::Cond(Box::new(self.pred(a)?)),
        })
    }

    /// Arguments Elasticsearch requires to be constants, checked here.
    fn check_args(&self, func: Func, args: &[Ast]) -> R<()> {
        match func {
            Func::Number => {
                if let Some(base) = args.get(1) {
                    match &base.node {
                        Node::Lit(Literal::Null) => {}
                        Node::Lit(Literal::Int(b)) if (2..=36).contains(b) => {}
                        _ => {
                            return Err(self.err(
                                base.span,
                                "the base of `number` must be an integer from 2 to 36 (or null)",
                            ))
                        }
                    }
                }
            }
            Func::Between => {
                if let Some(g) = args.get(3) {
                    if !matches!(g.node, Node::Lit(Literal::Bool(_))) {
                        return Err(self.err(
                            g.span,
                            "the greedy argument of `between` must be true or false",
                        ));
                    }
                }
            }
            Func::CidrMatch => {
                for a in args.iter().skip(1) {
                    if let Node::Lit(Literal::Str(c)) = &a.node {
                        if !valid_cidr(c) {
                            return Err(self
                                .err(a.span, format!("`{c}` is not an IP address or CIDR block")));
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn cmp(&self, op: CmpOp, lhs: &Ast, rhs: &Ast) -> R<Pred> {
        // Keep the literal on the right.
        let (l, r, op) = match (&lhs.node, &rhs.node) {
            (Node::Lit(_), Node::Lit(_)) => (lhs, rhs, op),
            (Node::Lit(_), _) => (rhs, lhs, flip(op)),
            _ => (lhs, rhs, op),
        };
        if op == CmpOp::Ne {
            return Ok(Pred::not(self.cmp(CmpOp::Eq, l, r)?));
        }
        match (&l.node, &r.node) {
            (Node::Lit(a), Node::Lit(b)) => {
                let (a, b) = (literal_val(a), literal_val(b));
                Ok(Pred::Const(
                    a.compare(&b, false).map(|o| crate::eval::op_holds(op, o)),
                ))
            }
            (Node::Field { path, .. }, Node::Lit(Literal::Null)) => Ok(match op {
                CmpOp::Eq => Pred::not(Pred::Exists(FieldPath::new(path))),
                _ => Pred::Const(None),
            }),
            (_, Node::Lit(Literal::Null)) => Err(self.err(
                l.span.to(r.span),
                "only a field can be compared with null (`field == null`, `field != null`)",
            )),
            (Node::Field { path, .. }, Node::Lit(Literal::Str(s))) if op == CmpOp::Eq => {
                self.str_pred(path, PatternKind::Exact, vec![s.clone()], false, r.span)
            }
            (Node::Field { path, .. }, Node::Lit(lit)) => Ok(Pred::Cmp {
                field: FieldPath::new(path),
                op,
                value: lit.clone(),
                ci: false,
            }),
            _ => Ok(Pred::Compare {
                lhs: self.expr(l)?,
                op,
                rhs: self.expr(r)?,
                ci: false,
            }),
        }
    }

    fn str_pred(
        &self,
        path: &str,
        kind: PatternKind,
        patterns: Vec<String>,
        ci: bool,
        span: Span,
    ) -> R<Pred> {
        let matcher =
            StrMatcher::new(kind, &patterns, ci).map_err(|e| self.err(span, e.to_string()))?;
        Ok(Pred::Str {
            field: FieldPath::new(path),
            matcher,
        })
    }

    fn matching(&self, op: MatchOp, ci: bool, lhs: &Ast, patterns: &[(String, Span)]) -> R<Pred> {
        let kind = match op {
            MatchOp::Regex => PatternKind::Regex,
            MatchOp::Colon | MatchOp::Like => PatternKind::Wildcard,
        };
        let mut pats = Vec::with_capacity(patterns.len());
        for (p, span) in patterns {
            if kind == PatternKind::Regex {
                let translated = lucene_regex(p);
                if let Err(e) = regex::Regex::new(&format!("^(?:{translated})$")) {
                    return Err(self.err(*span, format!("invalid regular expression: {e}")));
                }
                pats.push(translated);
            } else {
                pats.push(p.clone());
            }
        }
        let whole = patterns
            .first()
            .map(|p| p.1)
            .unwrap_or(lhs.span)
            .to(patterns.last().map(|p| p.1).unwrap_or(lhs.span));
        match &lhs.node {
            Node::Field { path, .. } => self.str_pred(path, kind, pats, ci, whole),
            Node::Lit(l) => {
                let m = StrMatcher::new(kind, &pats, ci).map_err(|e| self.err(whole, e))?;
                Ok(Pred::Const(literal_val(l).to_text().map(|t| m.matches(&t))))
            }
            _ if kind == PatternKind::Wildcard
                && pats.iter().all(|p| !p.contains(['*', '?', '\\'])) =>
            {
                let l = self.expr(lhs)?;
                Ok(Pred::or(
                    pats.into_iter()
                        .map(|p| Pred::Compare {
                            lhs: l.clone(),
                            op: CmpOp::Eq,
                            rhs: Expr::Lit(Literal::Str(p)),
                            ci,
                        })
                        .collect(),
                ))
            }
            _ => Err(self.err(
                lhs.span,
                "wildcard and regex matching needs a field on the left (a function result \
                 can only be compared with `==`, `:` without wildcards, or `in`)",
            )),
        }
    }

    fn in_list(&self, lhs: &Ast, list: &[Ast], ci: bool) -> R<Pred> {
        let mut parts = Vec::new();
        let mut strs = Vec::new();
        let mut has_null = false;
        let field = match &lhs.node {
            Node::Field { path, .. } => Some(path.as_str()),
            _ => None,
        };
        for item in list {
            match (&item.node, field) {
                (Node::Lit(Literal::Null), _) => has_null = true,
                (Node::Lit(Literal::Str(s)), Some(_)) => strs.push(s.clone()),
                (Node::Lit(lit), Some(path)) => parts.push(Pred::Cmp {
                    field: FieldPath::new(path),
                    op: CmpOp::Eq,
                    value: lit.clone(),
                    ci,
                }),
                _ => parts.push(Pred::Compare {
                    lhs: self.expr(lhs)?,
                    op: CmpOp::Eq,
                    rhs: self.expr(item)?,
                    ci,
                }),
            }
        }
        if let (Some(path), false) = (field, strs.is_empty()) {
            let span = list
                .first()
                .map(|a| a.span)
                .unwrap_or(lhs.span)
                .to(list.last().map(|a| a.span).unwrap_or(lhs.span));
            parts.insert(0, self.str_pred(path, PatternKind::Exact, strs, ci, span)?);
        }
        if has_null {
            // SQL semantics: no match against a list holding null is null, not false.
            parts.push(Pred::Const(None));
        }
        Ok(Pred::or(parts))
    }
}

/// Joins the string tests of one field (with the same case sensitivity) under an `or` into
/// one matcher: `a : "x" or a like~ "y*"` tests `a` once. Equivalent under three-valued
/// logic, as both parts are null exactly when the field has no value.
fn merge_str_tests(parts: Vec<Pred>) -> Vec<Pred> {
    let mut out: Vec<Pred> = Vec::with_capacity(parts.len());
    for p in parts {
        let Pred::Str { field, matcher } = p else {
            out.push(p);
            continue;
        };
        let same = out.iter().position(|q| {
            matches!(q, Pred::Str { field: f, matcher: m }
                if *f == field && m.ignore_case() == matcher.ignore_case())
        });
        let Some(i) = same else {
            out.push(Pred::Str { field, matcher });
            continue;
        };
        if let Pred::Str { matcher: m, .. } = &out[i] {
            let mut pats = m.patterns().to_vec();
            pats.extend(matcher.patterns().iter().cloned());
            // Building cannot fail: each pattern already compiled once.
            if let Ok(merged) = StrMatcher::with_kinds(pats, matcher.ignore_case()) {
                out[i] = Pred::Str {
                    field,
                    matcher: merged,
                };
                continue;
            }
        }
        out.push(Pred::Str { field, matcher });
    }
    out
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

fn valid_cidr(c: &str) -> bool {
    let (addr, bits) = match c.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (c, None),
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
        return false;
    };
    match bits {
        None => true,
        Some(b) => b
            .parse::<u32>()
            .is_ok_and(|n| n <= if ip.is_ipv4() { 32 } else { 128 }),
    }
}

/// Translates a Lucene regular expression (what Elasticsearch's `regex` uses) into the
/// `regex` crate's syntax: `.` also matches newlines, `^` and `$` are ordinary characters,
/// a backslash makes any character literal except in `\d \D \s \S \w \W`, and inside
/// brackets `[`, `&` and `~` are literal.
pub fn lucene_regex(p: &str) -> String {
    let mut out = String::from("(?s)");
    let mut in_class = false;
    let mut class_start = false;
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        let at_class_start = class_start;
        class_start = false;
        match c {
            '\\' => match chars.next() {
                Some(n @ ('d' | 'D' | 's' | 'S' | 'w' | 'W')) => {
                    out.push('\\');
                    out.push(n);
                }
                Some(n) => out.push_str(&regex::escape(&n.to_string())),
                None => out.push_str("\\\\"),
            },
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
            }
            ']' if in_class && !at_class_start => {
                in_class = false;
                out.push(']');
            }
            '^' if in_class && at_class_start => {
                class_start = true;
                out.push('^');
            }
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '^' | '$' if !in_class => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lucene_translation() {
        let m = |p: &str, s: &str| {
            regex::Regex::new(&format!("^(?:{})$", lucene_regex(p)))
                .unwrap()
                .is_match(s)
        };
        assert!(m("a.c", "a\nc"));
        assert!(m("a$b", "a$b") && m("^x", "^x"));
        assert!(m("[^a]b", "xb") && !m("[^a]b", "ab"));
        assert!(m("[a&b]", "&") && m("[]a]", "]"));
        assert!(m("\\/var\\/run", "/var/run"));
        assert!(m("\\w+\\.(pid|lock)", "x_1.pid"));
        assert!(m("[a-z0-9_\\-\\.]{2}", "-."));
        assert!(valid_cidr("10.0.0.0/8") && valid_cidr("::1") && !valid_cidr("10.0.0.0/33"));
    }
}
