//! EQL functions, with Elasticsearch's behaviour: a null argument gives null, plain forms
//! are case-sensitive and the `~` forms ignore case.

use crate::value::{fold, Val};
use std::borrow::Cow;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Func {
    Add,
    Between,
    CidrMatch,
    Concat,
    Divide,
    EndsWith,
    IndexOf,
    Length,
    Modulo,
    Multiply,
    Number,
    StartsWith,
    String,
    StringContains,
    Substring,
    Subtract,
}

impl Func {
    /// Looks a function up by its EQL name. Like Elasticsearch (whose function registry
    /// normalizes names), case does not matter: `cidrmatch` is `cidrMatch`.
    pub fn from_name(name: &str) -> Option<Func> {
        let lower = name.to_ascii_lowercase();
        Some(match lower.as_str() {
            "add" => Func::Add,
            "between" => Func::Between,
            "cidrmatch" => Func::CidrMatch,
            "concat" => Func::Concat,
            "divide" => Func::Divide,
            "endswith" => Func::EndsWith,
            "indexof" => Func::IndexOf,
            "length" => Func::Length,
            "modulo" => Func::Modulo,
            "multiply" => Func::Multiply,
            "number" => Func::Number,
            "startswith" => Func::StartsWith,
            "string" => Func::String,
            "stringcontains" => Func::StringContains,
            "substring" => Func::Substring,
            "subtract" => Func::Subtract,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Func::Add => "add",
            Func::Between => "between",
            Func::CidrMatch => "cidrMatch",
            Func::Concat => "concat",
            Func::Divide => "divide",
            Func::EndsWith => "endsWith",
            Func::IndexOf => "indexOf",
            Func::Length => "length",
            Func::Modulo => "modulo",
            Func::Multiply => "multiply",
            Func::Number => "number",
            Func::StartsWith => "startsWith",
            Func::String => "string",
            Func::StringContains => "stringContains",
            Func::Substring => "substring",
            Func::Subtract => "subtract",
        }
    }

    /// Whether a `~` (case-insensitive) form exists.
    pub fn has_ci_form(self) -> bool {
        matches!(
            self,
            Func::Between
                | Func::EndsWith
                | Func::IndexOf
                | Func::StartsWith
                | Func::StringContains
        )
    }

    /// (minimum, maximum) argument counts; `None` maximum is variadic.
    pub fn arity(self) -> (usize, Option<usize>) {
        match self {
            Func::Add | Func::Divide | Func::Modulo | Func::Multiply | Func::Subtract => {
                (2, Some(2))
            }
            Func::Between => (3, Some(4)),
            Func::CidrMatch => (2, None),
            Func::Concat => (1, None),
            Func::EndsWith | Func::StartsWith | Func::StringContains => (2, Some(2)),
            Func::IndexOf => (2, Some(3)),
            Func::Length | Func::String => (1, Some(1)),
            Func::Number => (1, Some(2)),
            Func::Substring => (2, Some(3)),
        }
    }

    /// Whether the function returns a boolean (usable as a condition).
    pub fn is_boolean(self) -> bool {
        matches!(
            self,
            Func::CidrMatch | Func::EndsWith | Func::StartsWith | Func::StringContains
        )
    }

    /// Functions applied element by element when their first argument is an array field.
    pub fn maps_over_first_arg(self) -> bool {
        !matches!(self, Func::Concat)
    }
}

/// Calls a function. Arguments that are null (missing fields) give null, except where
/// Elasticsearch defines otherwise.
pub fn call<'a>(func: Func, args: &[Val<'a>], ci: bool) -> Val<'a> {
    let null = Val::Null;
    let arg = |i: usize| args.get(i).unwrap_or(&null);
    match func {
        Func::Add | Func::Subtract | Func::Multiply | Func::Divide | Func::Modulo => {
            arith(func, arg(0), arg(1))
        }
        Func::Between => {
            let (Some(src), Some(left), Some(right)) = (text(arg(0)), text(arg(1)), text(arg(2)))
            else {
                return Val::Null;
            };
            let greedy = matches!(arg(3), Val::Bool(true));
            Val::Str(Cow::Owned(between(&src, &left, &right, greedy, ci)))
        }
        Func::CidrMatch => {
            let Some(ip) = text(arg(0)).and_then(|s| s.parse::<IpAddr>().ok()) else {
                return Val::Null;
            };
            let mut hit = false;
            for c in args.iter().skip(1) {
                match text(c) {
                    Some(c) => hit |= cidr_contains(&c, ip),
                    None => return Val::Null,
                }
            }
            Val::Bool(hit)
        }
        Func::Concat => {
            let mut out = String::new();
            for a in args {
                match a.to_text() {
                    Some(t) => out.push_str(&t),
                    None => return Val::Null,
                }
            }
            Val::Str(Cow::Owned(out))
        }
        Func::EndsWith | Func::StartsWith | Func::StringContains => {
            let (Some(s), Some(p)) = (text(arg(0)), text(arg(1))) else {
                return Val::Null;
            };
            let (s, p) = if ci {
                (fold(&s).into_owned(), fold(&p).into_owned())
            } else {
                (s.into_owned(), p.into_owned())
            };
            Val::Bool(match func {
                Func::EndsWith => s.ends_with(&p),
                Func::StartsWith => s.starts_with(&p),
                // Elasticsearch: an empty substring is not contained, even in "".
                _ => !p.is_empty() && s.contains(&p),
            })
        }
        Func::IndexOf => {
            let (Some(s), Some(p)) = (text(arg(0)), text(arg(1))) else {
                return Val::Null;
            };
            // Omitted, the start is 0; given as null, the result is null; negative is 0.
            let start = match args.get(2) {
                None => 0usize,
                Some(Val::Int(i)) => usize::try_from((*i).max(0)).unwrap_or(usize::MAX),
                Some(_) => return Val::Null,
            };
            let (s, p) = if ci {
                (fold(&s).into_owned(), fold(&p).into_owned())
            } else {
                (s.into_owned(), p.into_owned())
            };
            let chars: Vec<char> = s.chars().collect();
            if start > chars.len() {
                return Val::Null;
            }
            let tail: String = chars[start..].iter().collect();
            match tail.find(&p) {
                Some(byte_idx) => Val::Int((start + tail[..byte_idx].chars().count()) as i64),
                None => Val::Null,
            }
        }
        Func::Length => match text(arg(0)) {
            Some(s) => Val::Int(s.chars().count() as i64),
            None => Val::Null,
        },
        Func::Number => number(arg(0), arg(1)),
        Func::String => match arg(0).to_text() {
            Some(t) => Val::Str(Cow::Owned(t.into_owned())),
            None => Val::Null,
        },
        Func::Substring => {
            let Some(s) = text(arg(0)) else {
                return Val::Null;
            };
            let chars: Vec<char> = s.chars().collect();
            let n = chars.len() as i64;
            let norm =
                |i: i64| -> usize { (if i < 0 { (n + i).max(0) } else { i.min(n) }) as usize };
            let start = match arg(1) {
                Val::Int(i) => norm(*i),
                _ => return Val::Null,
            };
            let end = match arg(2) {
                Val::Null => n as usize,
                Val::Int(i) => norm(*i),
                _ => return Val::Null,
            };
            if start >= end {
                return Val::Str(Cow::Borrowed(""));
            }
            Val::Str(Cow::Owned(chars[start..end].iter().collect()))
        }
    }
}

fn text<'b>(v: &'b Val<'_>) -> Option<Cow<'b, str>> {
    match v {
        Val::Str(s) => Some(Cow::Borrowed(s.as_ref())),
        Val::Null => None,
        other => other.to_text(),
    }
}

fn arith<'a>(func: Func, a: &Val<'_>, b: &Val<'_>) -> Val<'a> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => {
            let r = match func {
                Func::Add => x.checked_add(*y),
                Func::Subtract => x.checked_sub(*y),
                Func::Multiply => x.checked_mul(*y),
                Func::Divide => x.checked_div(*y),
                _ => x.checked_rem(*y),
            };
            r.map(Val::Int).unwrap_or(Val::Null)
        }
        _ => {
            let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) else {
                return Val::Null;
            };
            let r = match func {
                Func::Add => x + y,
                Func::Subtract => x - y,
                Func::Multiply => x * y,
                Func::Divide if y == 0.0 => return Val::Null,
                Func::Divide => x / y,
                _ if y == 0.0 => return Val::Null,
                _ => x % y,
            };
            Val::Float(r)
        }
    }
}

/// Elasticsearch's `between`: the text after the first `left` and before the next `right`
/// (or, greedy, the last `right`); `""` when either is not found or the source is empty.
fn between(src: &str, left: &str, right: &str, greedy: bool, ci: bool) -> String {
    if src.is_empty() {
        return String::new();
    }
    // Positions are found in the (possibly case-folded) text, then mapped back to `src`.
    let (hay, map) = if ci {
        fold_with_map(src)
    } else {
        (src.to_string(), None)
    };
    let (l, r) = if ci {
        (fold(left).into_owned(), fold(right).into_owned())
    } else {
        (left.to_string(), right.to_string())
    };
    let Some(at) = hay.find(&l) else {
        return String::new();
    };
    let start = at + l.len();
    let rest = &hay[start..];
    let end = match if greedy {
        rest.rfind(&r)
    } else {
        rest.find(&r)
    } {
        Some(e) => start + e,
        None => return String::new(),
    };
    let orig = |i: usize| match &map {
        Some(m) => m
            .iter()
            .find(|(f, _)| *f >= i)
            .map(|(_, o)| *o)
            .unwrap_or(src.len()),
        None => i,
    };
    src.get(orig(start)..orig(end)).unwrap_or("").to_string()
}

/// Lowercases `s` and, when that changed byte lengths, records for each character boundary
/// of the result the matching boundary of `s`.
fn fold_with_map(s: &str) -> (String, Option<Vec<(usize, usize)>>) {
    let folded = fold(s).into_owned();
    if folded.len() == s.len() && s.is_ascii() {
        return (folded, None);
    }
    let mut out = String::with_capacity(s.len());
    let mut map = Vec::with_capacity(s.len() + 1);
    for (i, c) in s.char_indices() {
        map.push((out.len(), i));
        crate::value::fold_char(c, &mut out);
    }
    map.push((out.len(), s.len()));
    (out, Some(map))
}

/// Elasticsearch's `number`: a decimal integer or float, or an integer in `base` (2 to 36);
/// a `0x` prefix means base 16 when no base (or null) is given. Signs and surrounding
/// whitespace are allowed; anything else gives null.
fn number<'a>(v: &Val<'_>, base: &Val<'_>) -> Val<'a> {
    let s = match v {
        Val::Int(i) => return Val::Int(*i),
        Val::Float(f) => return Val::Float(*f),
        Val::Str(s) => s.trim(),
        _ => return Val::Null,
    };
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let hex_prefix = body.len() > 2 && (body.starts_with("0x") || body.starts_with("0X"));
    let radix = match base {
        Val::Int(b) if (2..=36).contains(b) => *b as u32,
        Val::Null if hex_prefix => 16,
        Val::Null => 10,
        _ => return Val::Null,
    };
    let digits = if radix == 16 && hex_prefix {
        &body[2..]
    } else {
        body
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return Val::Null;
    }
    if radix == 10 && !hex_prefix {
        if let Ok(i) = digits.parse::<i64>() {
            return Val::Int(if neg { -i } else { i });
        }
        let finite = digits
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
        return match digits.parse::<f64>() {
            Ok(f) if finite => Val::Float(if neg { -f } else { f }),
            _ => Val::Null,
        };
    }
    match i64::from_str_radix(digits, radix) {
        Ok(i) => Val::Int(if neg { -i } else { i }),
        Err(_) => Val::Null,
    }
}

/// Whether `ip` lies in the block written as `a.b.c.d/n` (or an address alone).
pub fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let (addr, bits) = match cidr.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()),
        None => (cidr, None),
    };
    let Ok(net) = addr.trim().parse::<IpAddr>() else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}
