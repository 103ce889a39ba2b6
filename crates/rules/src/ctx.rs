//! The state of loading one file: its text, the spans of its keys, and the problems found so
//! far; with typed getters that report wrong or missing values at their place in the file.

use crate::position::{line_col, Spans};
use crate::report::Problem;
use toml::{Table, Value};

pub(crate) struct Ctx<'a> {
    pub source: &'a str,
    pub text: &'a str,
    pub spans: Spans<'a>,
    pub problems: Vec<Problem>,
}

/// `base` followed by `key`, as a path for [`Spans`].
pub(crate) fn path<'x>(base: &[&'x str], key: &'x str) -> Vec<&'x str> {
    let mut v = base.to_vec();
    v.push(key);
    v
}

/// `rule.threshold.value`: the dotted name of a key, for messages.
pub(crate) fn dotted(base: &[&str], key: &str) -> String {
    let mut s = base.join(".");
    if !s.is_empty() {
        s.push('.');
    }
    s.push_str(key);
    s
}

impl<'a> Ctx<'a> {
    /// With the spans of the parsed document of `text`.
    pub fn with_spans(source: &'a str, text: &'a str, spans: Spans<'a>) -> Self {
        Ctx {
            source,
            text,
            spans,
            problems: Vec::new(),
        }
    }

    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }

    pub fn error_at(&mut self, offset: usize, msg: impl Into<String>) {
        let (l, c) = line_col(self.text, offset);
        self.problems.push(Problem::error(self.source, l, c, msg));
    }

    pub fn warn_at(&mut self, offset: usize, msg: impl Into<String>) {
        let (l, c) = line_col(self.text, offset);
        self.problems.push(Problem::warning(self.source, l, c, msg));
    }

    /// An error at the value of `path` (or the nearest thing that exists).
    pub fn error_value(&mut self, path: &[&str], msg: impl Into<String>) {
        let o = self.spans.value_start(path);
        self.error_at(o, msg);
    }

    /// "missing required key" at the header of the table `base`.
    pub fn error_missing(&mut self, base: &[&str], key: &str) {
        let o = self.spans.table_start(base);
        self.error_at(o, format!("missing required key `{}`", dotted(base, key)));
    }

    fn wrong_type(&mut self, base: &[&str], key: &str, want: &str, got: &Value) {
        self.error_value(
            &path(base, key),
            format!(
                "`{}` must be {want}, found {}",
                dotted(base, key),
                article(got.type_str())
            ),
        );
    }

    /// A string value; `None` (with an error if `required` or mistyped) otherwise.
    pub fn str(&mut self, t: &Table, base: &[&str], key: &str, required: bool) -> Option<String> {
        match t.get(key) {
            None => {
                if required {
                    self.error_missing(base, key);
                }
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.wrong_type(base, key, "a string", other);
                None
            }
        }
    }

    /// A non-negative integer value.
    pub fn u64(&mut self, t: &Table, base: &[&str], key: &str, required: bool) -> Option<u64> {
        match t.get(key) {
            None => {
                if required {
                    self.error_missing(base, key);
                }
                None
            }
            Some(Value::Integer(i)) => match u64::try_from(*i) {
                Ok(v) => Some(v),
                Err(_) => {
                    self.error_value(
                        &path(base, key),
                        format!("`{}` must not be negative, found {i}", dotted(base, key)),
                    );
                    None
                }
            },
            Some(other) => {
                self.wrong_type(base, key, "an integer", other);
                None
            }
        }
    }

    /// An array of strings (each element checked); with `one_ok`, a single string is taken
    /// as a one-element list.
    pub fn str_list(
        &mut self,
        t: &Table,
        base: &[&str],
        key: &str,
        required: bool,
        one_ok: bool,
    ) -> Option<Vec<String>> {
        match t.get(key) {
            None => {
                if required {
                    self.error_missing(base, key);
                }
                None
            }
            Some(Value::String(s)) if one_ok => Some(vec![s.clone()]),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for (i, v) in items.iter().enumerate() {
                    match v {
                        Value::String(s) => out.push(s.clone()),
                        other => {
                            let idx = i.to_string();
                            let mut p = path(base, key);
                            p.push(&idx);
                            self.error_value(
                                &p,
                                format!(
                                    "`{}` must be an array of strings; element {} is {}",
                                    dotted(base, key),
                                    i + 1,
                                    article(other.type_str())
                                ),
                            );
                            ok = false;
                        }
                    }
                }
                ok.then_some(out)
            }
            Some(other) => {
                let want = if one_ok {
                    "a string or an array of strings"
                } else {
                    "an array of strings"
                };
                self.wrong_type(base, key, want, other);
                None
            }
        }
    }

    /// A table value (`[a.b]` or an inline table).
    pub fn table<'t>(
        &mut self,
        t: &'t Table,
        base: &[&str],
        key: &str,
        required: bool,
    ) -> Option<&'t Table> {
        match t.get(key) {
            None => {
                if required {
                    self.error_missing(base, key);
                }
                None
            }
            Some(Value::Table(tb)) => Some(tb),
            Some(other) => {
                self.wrong_type(base, key, "a table", other);
                None
            }
        }
    }
}

/// `a string`, `an integer`, `an array`, …
pub(crate) fn article(kind: &str) -> String {
    match kind.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {kind}"),
        _ => format!("a {kind}"),
    }
}
