//! Runtime values of expressions.

use serde_json::Value;
use std::borrow::Cow;
use std::cmp::Ordering;

/// A scalar value while evaluating. Strings borrow from the event where they can.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
}

impl<'a> Val<'a> {
    /// A JSON leaf as a value. Objects and arrays (never passed here by field lookup, which
    /// flattens arrays) become null.
    pub fn from_json(v: &'a Value) -> Val<'a> {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Val::Int(i),
                None => Val::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Val::Str(Cow::Borrowed(s.as_str())),
            Value::Array(_) | Value::Object(_) => Val::Null,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    pub fn into_owned(self) -> Val<'static> {
        match self {
            Val::Null => Val::Null,
            Val::Bool(b) => Val::Bool(b),
            Val::Int(i) => Val::Int(i),
            Val::Float(f) => Val::Float(f),
            Val::Str(s) => Val::Str(Cow::Owned(s.into_owned())),
        }
    }

    /// The value as a number, if it is one (strings are not converted: use `number()`).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text form used when a string test meets a non-string value (`"4624"` vs 4624).
    pub fn to_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Val::Null => None,
            Val::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Val::Int(i) => Some(Cow::Owned(i.to_string())),
            Val::Float(f) => Some(Cow::Owned(fmt_float(*f))),
            Val::Str(s) => Some(Cow::Borrowed(s)),
        }
    }

    /// Compares two values: numbers numerically (a numeric string against a number is
    /// converted), strings by bytes (or ignoring case), booleans as booleans. `None` when the
    /// two cannot be compared (different kinds, or null).
    pub fn compare(&self, other: &Val<'_>, ignore_case: bool) -> Option<Ordering> {
        match (self, other) {
            (Val::Null, _) | (_, Val::Null) => None,
            (Val::Int(a), Val::Int(b)) => Some(a.cmp(b)),
            (Val::Str(a), Val::Str(b)) => Some(if ignore_case {
                cmp_ignore_case(a, b)
            } else {
                a.as_bytes().cmp(b.as_bytes())
            }),
            (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
            (Val::Str(s), n) if n.as_f64().is_some() => {
                let x: f64 = s.trim().parse().ok()?;
                x.partial_cmp(&n.as_f64()?)
            }
            (n, Val::Str(s)) if n.as_f64().is_some() => {
                let x: f64 = s.trim().parse().ok()?;
                n.as_f64()?.partial_cmp(&x)
            }
            (a, b) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        }
    }
}

/// Formats a float as Elasticsearch shows it: integral values keep a `.0`.
pub fn fmt_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

/// Case-insensitive ordering: both sides [`fold`]ed (ASCII fast path).
pub fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        let la = a.bytes().map(|c| c.to_ascii_lowercase());
        let lb = b.bytes().map(|c| c.to_ascii_lowercase());
        la.cmp(lb)
    } else {
        fold(a).cmp(&fold(b))
    }
}

/// Lowercases for case-insensitive matching, one character at a time (no context rules such
/// as the final sigma). A non-ASCII character whose lowercase would contain an ASCII
/// character (the Kelvin sign `K` → `k`, `İ` → `i̇`) is kept as it is: Lucene's
/// case-insensitive matching, which Elasticsearch uses, does not equate them either, and it
/// keeps the ASCII text of a folded string exactly the ASCII text of the original, which
/// the byte prefilter relies on.
pub fn fold(s: &str) -> Cow<'_, str> {
    // Most values are already folded: one look, a word at a time, for capitals and non-ASCII.
    if spawnguard_event::bytes::any_upper_or_non_ascii(s.as_bytes()) {
        if s.is_ascii() {
            // ASCII (most capitalised values: `CRON`, host names): lowered bytewise.
            return Cow::Owned(s.to_ascii_lowercase());
        }
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            fold_char(c, &mut out);
        }
        Cow::Owned(out)
    } else {
        Cow::Borrowed(s)
    }
}

/// Appends the [`fold`] of one character.
pub fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
    } else if c.to_lowercase().any(|l| l.is_ascii()) {
        out.push(c);
    } else {
        out.extend(c.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_lowercases_and_borrows_what_is_already_folded() {
        assert_eq!(fold("Ab/ÉCOLE"), "ab/école");
        assert_eq!(fold(&"x".repeat(40)), "x".repeat(40));
        assert_eq!(
            fold(&format!("{}Q", "x".repeat(40))),
            format!("{}q", "x".repeat(40))
        );
        assert!(matches!(fold("already folded"), Cow::Borrowed(_)));
        // The ASCII path agrees with folding character by character, for every ASCII byte.
        let all: String = (0u8..128).map(char::from).collect();
        let mut by_char = String::new();
        all.chars().for_each(|c| fold_char(c, &mut by_char));
        assert_eq!(fold(&all), by_char);
        assert_eq!(fold("/usr/sbin/CRON -f"), "/usr/sbin/cron -f");
    }
}
