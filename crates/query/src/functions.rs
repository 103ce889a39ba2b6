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
    /// Looks a function up by its EQL name (case-sensitive, as Elasticsearch).
    pub fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "add" => Func::Add,
            "between" => Func::Between,
            "cidrMatch" => Func::CidrMatch,
            "concat" => Func::Concat,
            "divide" => Func::Divide,
            "endsWith" => Func::EndsWith,
            "indexOf" => Func::IndexOf,
            "length" => Func::Length,
            "modulo" => Func::Modulo,
            "multiply" => Func::Multiply,
            "number" => Func::Number,
            "startsWith" => Func::StartsWith,
            "string" => Func::String,
            "stringContains" => Func::StringContains,
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
            between(&src, &left, &right, greedy, ci)
                .map(|s| Val::Str(Cow::Owned(s)))
                .unwrap_or(Val::Null)
        }
        Func::CidrMatch => {
            let Some(ip) = text(arg(0)).and_then(|s| s.parse::<IpAddr>().ok()) else {
                return Val::Null;
            };
            Val::Bool(
                args[1..]
                    .iter()
                    .filter_map(text)
                    .any(|c| cidr_contains(&c, ip)),
            )
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
                _ => s.contains(&p),
            })
        }
        Func::IndexOf => {
            let (Some(s), Some(p)) = (text(arg(0)), text(arg(1))) else {
                return Val::Null;
            };
            let start = match arg(2) {
                Val::Null => 0usize,
                Val::Int(i) => (*i).max(0) as usize,
                _ => return Val::Null,
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

fn between(src: &str, left: &str, right: &str, greedy: bool, ci: bool) -> Option<String> {
    let hay = if ci {
        fold(src).into_owned()
    } else {
        src.to_string()
    };
    let (l, r) = if ci {
        (fold(left).into_owned(), fold(right).into_owned())
    } else {
        (left.to_string(), right.to_string())
    };
    // Work on the folded text for positions; if folding changed lengths, fall back to it.
    let base = if hay.len() == src.len() {
        src
    } else {
        hay.as_str()
    };
    let start = hay.find(&l)? + l.len();
    let rest = &hay[start..];
    let end = if greedy {
        rest.rfind(&r)?
    } else {
        rest.find(&r)?
    };
    Some(base[start..start + end].to_string())
}

fn number<'a>(v: &Val<'_>, base: &Val<'_>) -> Val<'a> {
    match v {
        Val::Int(i) => Val::Int(*i),
        Val::Float(f) => Val::Float(*f),
        Val::Str(s) => {
            let s = s.trim();
            let radix = match base {
                Val::Int(b) if (2..=36).contains(b) => *b as u32,
                Val::Null => 10,
                _ => return Val::Null,
            };
            if radix == 10 {
                if let Ok(i) = s.parse::<i64>() {
                    return Val::Int(i);
                }
                return s.parse::<f64>().map(Val::Float).unwrap_or(Val::Null);
            }
            let digits = if radix == 16 {
                s.trim_start_matches("0x").trim_start_matches("0X")
            } else {
                s
            };
            i64::from_str_radix(digits, radix)
                .map(Val::Int)
                .unwrap_or(Val::Null)
        }
        _ => Val::Null,
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
