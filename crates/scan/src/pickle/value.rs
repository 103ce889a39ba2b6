//! Values on the walker's stack. Only what detection needs is kept: strings, bytes, numbers,
//! tuples, small dicts, resolved globals and call nodes. Lists and sets are opaque.

use std::borrow::Cow;
use std::fmt::Write;
use std::rc::Rc;

use crate::report::Verdict;

/// A resolved global (or a module object, when `name` is empty).
#[derive(Debug)]
pub(crate) struct Glob {
    pub module: String,
    pub name: String,
    pub verdict: Verdict,
    /// Index of this global's finding in the file report (non-safe globals only).
    pub finding: Option<usize>,
    /// How the stream reached it, when not by a plain import (getattr chains).
    pub via: Option<String>,
}

impl Glob {
    pub fn qualname(&self) -> String {
        if self.name.is_empty() {
            self.module.clone()
        } else {
            format!("{}.{}", self.module, self.name)
        }
    }
}

/// A call the unpickler would make (`REDUCE`, `INST`, `OBJ`, `NEWOBJ`, `NEWOBJ_EX`).
#[derive(Debug)]
pub(crate) struct CallNode<'a> {
    pub func: Val<'a>,
    pub args: Val<'a>,
    pub kwargs: Option<Val<'a>>,
}

/// Most dict entries remembered (only small state dicts matter, e.g. joblib's array wrapper).
pub(crate) const MAX_DICT: usize = 64;

#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    None,
    Bool(bool),
    Int(i64),
    BigInt,
    Float(f64),
    Str(Cow<'a, [u8]>),
    Bytes(Cow<'a, [u8]>),
    Tuple(Rc<[Val<'a>]>),
    List,
    Set,
    Dict(Rc<Vec<(Val<'a>, Val<'a>)>>),
    Global(Rc<Glob>),
    Call(Rc<CallNode<'a>>),
    Persistent,
    Opaque,
}

impl<'a> Val<'a> {
    /// The global at the root of a call chain: `f` for `f(...)(...)`.
    pub fn root_glob(&self) -> Option<&Rc<Glob>> {
        let mut v = self;
        for _ in 0..64 {
            match v {
                Val::Global(g) => return Some(g),
                Val::Call(c) => v = &c.func,
                _ => return None,
            }
        }
        None
    }

    pub fn as_str(&self) -> Option<&[u8]> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn tuple_items(&self) -> &[Val<'a>] {
        match self {
            Val::Tuple(t) => t,
            _ => &[],
        }
    }

    pub fn dict_get(&self, key: &str) -> Option<&Val<'a>> {
        match self {
            Val::Dict(d) => d
                .iter()
                .find(|(k, _)| k.as_str() == Some(key.as_bytes()))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Python-like rendering for reports, bounded in depth and length.
    pub fn render(&self) -> String {
        let mut s = String::new();
        render_into(self, &mut s, 0);
        if s.len() > 1024 {
            let mut cut = 1000;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s.push('…');
        }
        s
    }
}

/// Bytes literal, Python style: printable ASCII as is, everything else `\xNN`.
fn quote_bytes(bytes: &[u8], out: &mut String) {
    out.push_str("b\"");
    for (i, &b) in bytes.iter().enumerate() {
        if i >= 200 {
            let _ = write!(out, "…({} bytes)", bytes.len());
            break;
        }
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
}

fn quote(bytes: &[u8], prefix: &str, out: &mut String) {
    out.push_str(prefix);
    out.push('"');
    let text = String::from_utf8_lossy(bytes);
    for (i, c) in text.chars().enumerate() {
        if i >= 400 {
            out.push('…');
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn render_args(args: &Val<'_>, out: &mut String, depth: usize) {
    match args {
        Val::Tuple(items) => {
            for (i, a) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_into(a, out, depth + 1);
            }
        }
        other => {
            out.push('*');
            render_into(other, out, depth + 1)
        }
    }
}

fn render_into(v: &Val<'_>, out: &mut String, depth: usize) {
    if depth > 8 || out.len() > 1024 {
        out.push('…');
        return;
    }
    match v {
        Val::None => out.push_str("None"),
        Val::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Val::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Val::BigInt => out.push_str("<int>"),
        Val::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Val::Str(s) => quote(s, "", out),
        Val::Bytes(b) => quote_bytes(b, out),
        Val::Tuple(items) => {
            out.push('(');
            for (i, a) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_into(a, out, depth + 1);
            }
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Val::List => out.push_str("[…]"),
        Val::Set => out.push_str("{…}"),
        Val::Dict(d) => {
            out.push('{');
            for (i, (k, v)) in d.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_into(k, out, depth + 1);
                out.push_str(": ");
                render_into(v, out, depth + 1);
            }
            out.push('}');
        }
        Val::Global(g) => match &g.via {
            Some(via) => out.push_str(via),
            None => out.push_str(&g.qualname()),
        },
        Val::Call(c) => {
            render_into(&c.func, out, depth + 1);
            out.push('(');
            render_args(&c.args, out, depth);
            if let Some(kw) = &c.kwargs {
                out.push_str(", **");
                render_into(kw, out, depth + 1);
            }
            out.push(')');
        }
        Val::Persistent => out.push_str("<persistent>"),
        Val::Opaque => out.push_str("<object>"),
    }
}
