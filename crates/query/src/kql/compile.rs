//! The KQL syntax tree to the shared predicate form.

use super::ast::{Lit, LitKind, Node, ValueNode};
use crate::error::ParseError;
use crate::functions::Func;
use crate::ir::{CmpOp, Expr, Literal, Pred};
use crate::matcher::{PatternKind, StrMatcher};
use crate::query::parse_rfc3339_ns;
use crate::value::fmt_float;
use spawnguard_event::FieldPath;
use std::net::IpAddr;

pub(crate) struct Compiler<'s> {
    pub src: &'s str,
}

/// What one value (or an `or` of values) tests on a field, before it becomes a [`Pred`]:
/// string patterns and CIDR blocks are gathered so that a long `or` list becomes one
/// matcher instead of many.
#[derive(Default)]
struct Tests {
    patterns: Vec<(PatternKind, String)>,
    /// IP addresses or CIDR blocks, tested with `cidrMatch` (as an `ip` field would be).
    cidrs: Vec<String>,
    /// Wildcard-only value: the field exists.
    exists: bool,
    /// Anything else (`and`/`not` inside the list).
    others: Vec<Pred>,
}

impl Compiler<'_> {
    fn err(&self, span: (usize, usize), msg: impl Into<String>) -> ParseError {
        ParseError::at(self.src, span.0, span.1.saturating_sub(span.0), msg)
    }

    pub fn node(&self, node: &Node, prefix: &str) -> Result<Pred, ParseError> {
        Ok(match node {
            Node::Or(ps) => Pred::or(
                ps.iter()
                    .map(|p| self.node(p, prefix))
                    .collect::<Result<_, _>>()?,
            ),
            Node::And(ps) => Pred::and(
                ps.iter()
                    .map(|p| self.node(p, prefix))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Not(p) => Pred::not(self.node(p, prefix)?),
            Node::Field { field, values } => {
                let path = FieldPath::new(&self.field_name(field, prefix)?);
                self.values(&path, values)?
            }
            Node::Range { field, op, value } => {
                let path = FieldPath::new(&self.field_name(field, prefix)?);
                self.range(path, *op, value)?
            }
            Node::Nested { field, query } => {
                let name = self.field_name(field, prefix)?;
                self.node(query, &format!("{name}."))?
            }
            Node::FreeText { value, at } => {
                return Err(ParseError::at(
                    self.src,
                    *at,
                    value.span.1.saturating_sub(*at),
                    format!(
                        "`{}` has no field: searching every field is not supported; \
                         name the field, as in `process.name:{}`",
                        value.text(),
                        shown_value(value)
                    ),
                )
                .expected(["`field:value`", "`field < value`", "`field:{ … }`"]))
            }
        })
    }

    fn field_name(&self, field: &Lit, prefix: &str) -> Result<String, ParseError> {
        if let Some(star) = field.first_star() {
            return Err(ParseError::at(
                self.src,
                star,
                1,
                format!(
                    "wildcards in field names (`{}`) are not supported: without an index \
                     mapping there is no list of fields to expand them to; name each field",
                    field.text()
                ),
            )
            .expected(["a field name without `*`"]));
        }
        let name = field.text();
        if name.is_empty() {
            return Err(self.err(field.span, "empty field name"));
        }
        Ok(format!("{prefix}{name}"))
    }

    fn values(&self, field: &FieldPath, values: &ValueNode) -> Result<Pred, ParseError> {
        let tests = self.tests(field, values)?;
        self.finish(field, tests)
    }

    /// Gathers what a value list tests; `or` lists merge into one [`Tests`].
    fn tests(&self, field: &FieldPath, values: &ValueNode) -> Result<Tests, ParseError> {
        let mut t = Tests::default();
        match values {
            ValueNode::Value(lit) => value_tests(lit, &mut t),
            ValueNode::Or(parts) => {
                for p in parts {
                    let sub = self.tests(field, p)?;
                    t.patterns.extend(sub.patterns);
                    t.cidrs.extend(sub.cidrs);
                    t.exists |= sub.exists;
                    t.others.extend(sub.others);
                }
            }
            ValueNode::And(parts) => {
                let preds = parts
                    .iter()
                    .map(|p| self.values(field, p))
                    .collect::<Result<Vec<_>, _>>()?;
                t.others.push(Pred::and(preds));
            }
            ValueNode::Not(inner) => {
                t.others.push(Pred::not(self.values(field, inner)?));
            }
        }
        Ok(t)
    }

    fn finish(&self, field: &FieldPath, t: Tests) -> Result<Pred, ParseError> {
        let mut alts = Vec::new();
        if t.exists {
            alts.push(Pred::Exists(field.clone()));
        }
        let mut leaf = Vec::new();
        if !t.patterns.is_empty() {
            let mut patterns = t.patterns;
            patterns.dedup();
            let matcher = StrMatcher::with_kinds(patterns, false)
                .map_err(|e| ParseError::at(self.src, 0, 0, e))?;
            leaf.push(Pred::Str {
                field: field.clone(),
                matcher,
            });
        }
        if !t.cidrs.is_empty() {
            let mut args = vec![Expr::Field(field.clone())];
            args.extend(t.cidrs.into_iter().map(|c| Expr::Lit(Literal::Str(c))));
            leaf.push(Pred::Truthy(Expr::Call {
                func: Func::CidrMatch,
                args,
                ci: false,
            }));
        }
        if !leaf.is_empty() {
            // KQL is two-valued: a field without a value simply does not match.
            alts.push(Pred::NullAsFalse(Box::new(Pred::or(leaf))));
        }
        alts.extend(t.others);
        Ok(Pred::or(alts))
    }

    fn range(&self, field: FieldPath, op: CmpOp, value: &Lit) -> Result<Pred, ParseError> {
        if let (LitKind::Unquoted, Some(star)) = (value.kind, value.first_star()) {
            return Err(ParseError::at(
                self.src,
                star,
                1,
                "a range cannot use a wildcard: `*` here would be compared literally only if \
                 escaped as `\\*` or quoted",
            )
            .expected(["a number", "a string", "a date"]));
        }
        let text = value.text();
        let cmp = |value: Literal| Pred::Cmp {
            field: field.clone(),
            op,
            value,
            ci: false,
        };
        let pred = if let Ok(i) = text.parse::<i64>() {
            cmp(Literal::Int(i))
        } else if let Some(f) = strict_number(&text) {
            cmp(Literal::Float(f))
        } else if let Some(ns) = parse_rfc3339_ns(&text) {
            // A date: compared as text with dates written the same way, and with numeric
            // dates as milliseconds since the epoch.
            Pred::or(vec![
                cmp(Literal::Str(text.clone())),
                cmp(Literal::Int(ns.div_euclid(1_000_000))),
            ])
        } else {
            cmp(Literal::Str(text))
        };
        Ok(Pred::NullAsFalse(Box::new(pred)))
    }
}

/// What one value tests.
fn value_tests(lit: &Lit, t: &mut Tests) {
    if lit.kind == LitKind::Unquoted && lit.first_star().is_some() {
        if lit.only_stars() {
            t.exists = true;
        } else {
            t.patterns
                .push((PatternKind::Wildcard, lit.wildcard_pattern()));
        }
        return;
    }
    let text = lit.text();
    for form in numeric_forms(&text) {
        t.patterns.push((PatternKind::Exact, form));
    }
    if is_ip_or_cidr(&text) {
        t.cidrs.push(text.clone());
    }
    t.patterns.push((PatternKind::Exact, text));
}

/// A number written as Elasticsearch's numeric fields accept it: `-12`, `3.5`, `1e3`.
fn strict_number(t: &str) -> Option<f64> {
    let b = t.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > s
    };
    let int = digits(&mut i);
    let mut frac = false;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac = digits(&mut i);
    }
    if !int && !frac {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// The text forms a numeric document value equal to `t` takes (see [`crate::value::Val`]'s
/// `to_text`): `3` for an integer, `3.0` for a float. Empty when `t` is not a number.
fn numeric_forms(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(i) = t.parse::<i64>() {
        out.push(i.to_string());
        if i.unsigned_abs() < (1u64 << 53) {
            out.push(fmt_float(i as f64));
        }
    } else if let Some(f) = strict_number(t) {
        out.push(fmt_float(f));
        if f.fract() == 0.0 && f.abs() < 9.0e15 {
            out.push((f as i64).to_string());
        }
    }
    out.retain(|f| f != t);
    out
}

fn is_ip_or_cidr(t: &str) -> bool {
    let (addr, bits) = match t.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (t, None),
    };
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return false;
    };
    match bits {
        None => true,
        Some(b) => match b.parse::<u8>() {
            Ok(n) => n <= if ip.is_ipv4() { 32 } else { 128 },
            Err(_) => false,
        },
    }
}

/// The value as the user might write it after a field name, for error hints.
fn shown_value(v: &Lit) -> String {
    match v.kind {
        LitKind::Quoted => format!("\"{}\"", v.text()),
        LitKind::Unquoted => v.text(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(strict_number("3"), Some(3.0));
        assert_eq!(strict_number("-3.5"), Some(-3.5));
        assert_eq!(strict_number("1e3"), Some(1000.0));
        assert_eq!(strict_number(".5"), Some(0.5));
        assert_eq!(strict_number("1."), Some(1.0));
        assert_eq!(strict_number("."), None);
        assert_eq!(strict_number("1e"), None);
        assert_eq!(strict_number("inf"), None);
        assert_eq!(strict_number("0x10"), None);
        assert_eq!(numeric_forms("3"), vec!["3.0".to_string()]);
        assert_eq!(numeric_forms("3.0"), vec!["3".to_string()]);
        assert_eq!(
            numeric_forms("007"),
            vec!["7".to_string(), "7.0".to_string()]
        );
        assert!(numeric_forms("abc").is_empty());
    }

    #[test]
    fn ips() {
        assert!(is_ip_or_cidr("10.0.0.0/8"));
        assert!(is_ip_or_cidr("::1"));
        assert!(is_ip_or_cidr("FE80::/10"));
        assert!(!is_ip_or_cidr("10.0.0.0/33"));
        assert!(!is_ip_or_cidr("/bin/sh"));
    }
}
