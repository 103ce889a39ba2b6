//! What the walker does at calls (`REDUCE` and friends), at `BUILD`, and at `EXT` codes.

use std::borrow::Cow;
use std::rc::Rc;

use super::value::{CallNode, Val};
use super::walker::{Broke, Walker};
use crate::policy;
use crate::report::{Finding, Verdict};

/// Most separate findings recorded for repeated calls of one global.
const MAX_CALLS_PER_GLOBAL: usize = 16;

fn latin1(s: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(s)
        .chars()
        .map(|c| {
            if (c as u32) < 256 {
                c as u32 as u8
            } else {
                b'?'
            }
        })
        .collect()
}

fn str_of(v: &Val<'_>) -> Option<String> {
    v.as_str().map(|s| String::from_utf8_lossy(s).into_owned())
}

impl<'a, 'c> Walker<'a, 'c> {
    /// Records the call `func(*args, **kwargs)` and returns the value standing for its result.
    pub(super) fn call(
        &mut self,
        func: Val<'a>,
        args: Val<'a>,
        kwargs: Option<Val<'a>>,
        op_off: usize,
    ) -> Val<'a> {
        let direct = match &func {
            Val::Global(g) => Some(g.clone()),
            _ => None,
        };
        if let Some(g) = &direct {
            let (m, n) = (g.module.as_str(), g.name.as_str());
            let items = args.tuple_items();
            // bytes in protocol < 3: _codecs.encode("...", "latin1")
            if (m == "_codecs" || m == "codecs") && n == "encode" {
                if let Some(Val::Str(s)) = items.first() {
                    let b = latin1(s);
                    self.nested_probe(&b, op_off);
                    return Val::Bytes(Cow::Owned(b));
                }
            }
            if policy::is_loader(m, n) {
                if let Some(b) = payload(items.first()) {
                    // bytes that look like a pickle or zip were already scanned when pushed
                    if !super::walker::looks_nested(&b) {
                        let b = b.into_owned();
                        self.scan_nested(&b, op_off, true);
                    }
                }
            }
            if m == "copyreg" && n == "add_extension" {
                if let (Some(em), Some(en), Some(Val::Int(code))) = (
                    items.first().and_then(str_of),
                    items.get(1).and_then(str_of),
                    items.get(2),
                ) {
                    self.ext.insert(*code, (em, en));
                }
            }
            // importlib.import_module("os") / __import__("os") -> the module object
            let importer = (m == "importlib" && n == "import_module")
                || (m == "builtins" && n == "__import__")
                || (m == "imp" && n == "load_module");
            if importer {
                if let Some(modname) = items.first().and_then(str_of) {
                    let text = render_call(&func, &args, kwargs.as_ref());
                    self.note_call(g, &text);
                    let mg = self.make_glob(modname, String::new(), Some(text), op_off);
                    return Val::Global(mg);
                }
            }
            // pkgutil.resolve_name("os:system") / ("os.system")
            if m == "pkgutil" && n == "resolve_name" {
                if let Some(target) = items.first().and_then(str_of) {
                    let text = render_call(&func, &args, kwargs.as_ref());
                    self.note_call(g, &text);
                    let (tm, tn) = match target.split_once(':') {
                        Some((a, b)) => (a.to_string(), b.to_string()),
                        None => match target.rsplit_once('.') {
                            Some((a, b)) => (a.to_string(), b.to_string()),
                            None => (target.clone(), String::new()),
                        },
                    };
                    let tg = self.make_glob(tm, tn, Some(text), op_off);
                    return Val::Global(tg);
                }
            }
            // getattr(<module or global>, "name") -> that attribute, judged as a global
            if m == "builtins" && n == "getattr" {
                if let (Some(Val::Global(obj)), Some(attr)) =
                    (items.first(), items.get(1).and_then(str_of))
                {
                    let text = render_call(&func, &args, kwargs.as_ref());
                    self.note_call(g, &text);
                    let (tm, tn) = if obj.name.is_empty() {
                        (obj.module.clone(), attr)
                    } else {
                        (obj.module.clone(), format!("{}.{attr}", obj.name))
                    };
                    let tg = self.make_glob(tm, tn, Some(text), op_off);
                    return Val::Global(tg);
                }
            }
        }
        let node = Val::Call(Rc::new(CallNode { func, args, kwargs }));
        if let Some(root) = node.root_glob().cloned() {
            if root.verdict > Verdict::Safe {
                let text = node.render();
                self.note_call(&root, &text);
            }
        }
        node
    }

    /// Attaches the reconstructed call `text` to the finding of `g`: the first call fills the
    /// finding, a call that extends it (a chain) replaces it, other calls get their own finding.
    fn note_call(&mut self, g: &super::value::Glob, text: &str) {
        let Some(idx) = g.finding else { return };
        let findings = &mut self.ctx.report.findings;
        let Some(f) = findings.get_mut(idx) else {
            return;
        };
        match &f.call {
            None => f.call = Some(text.to_string()),
            Some(old) if old == text => {}
            Some(old) if text.starts_with(old.as_str()) => f.call = Some(text.to_string()),
            Some(_) => {
                let mut extra: Finding = f.clone();
                extra.call = Some(text.to_string());
                let same = findings
                    .iter()
                    .filter(|x| x.global == extra.global && x.offset == extra.offset)
                    .count();
                if same < MAX_CALLS_PER_GLOBAL
                    && !findings.iter().any(|x| x.call.as_deref() == Some(text))
                {
                    self.ctx.finding(extra);
                }
            }
        }
    }

    /// `EXT1/2/4`: a code from the copyreg extension registry. CPython ships it empty, so a
    /// code is known only if this stream registered it with `copyreg.add_extension`.
    pub(super) fn ext(&mut self, code: i64, op_off: usize) -> Result<Val<'a>, Broke> {
        match self.ext.get(&code).cloned() {
            Some((m, n)) => {
                self.n_globals += 1;
                let g = self.make_glob(m, n, Some(format!("EXT code {code}")), op_off);
                Ok(Val::Global(g))
            }
            None => {
                self.ctx.finding(Finding {
                    verdict: Verdict::Suspicious,
                    global: format!("<extension code {code}>"),
                    written_as: None,
                    member: self.member.to_string(),
                    offset: op_off as u64,
                    reason: "EXT code not registered in this stream; resolves to whatever the loading process registered".into(),
                    call: None,
                });
                Err(Broke {
                    offset: op_off,
                    message: format!("unregistered extension code {code}"),
                })
            }
        }
    }

    /// `BUILD`. For joblib's `NumpyArrayWrapper`, the array bytes follow the opcode inline:
    /// skip them (or walk them as a nested pickle for object arrays). Returns the new position.
    pub(super) fn build(
        &mut self,
        inst: Val<'a>,
        state: Val<'a>,
        p: usize,
        op_off: usize,
    ) -> Result<usize, Broke> {
        let is_wrapper = matches!(&inst, Val::Call(_))
            && inst
                .root_glob()
                .is_some_and(|g| policy::is_joblib_wrapper(&g.module, &g.name));
        if !is_wrapper {
            return Ok(p);
        }
        let dtype = state.dict_get("dtype");
        let descr = dtype
            .and_then(|d| match d {
                Val::Call(c) => c.args.tuple_items().first().and_then(str_of),
                Val::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
                _ => None,
            })
            .unwrap_or_default();
        let Some(item) = itemsize(&descr) else {
            return Err(Broke {
                offset: op_off,
                message: format!(
                    "joblib array with unknown dtype `{descr}`; cannot find the array bytes"
                ),
            });
        };
        if item == 0 {
            // object array: a whole pickle follows inline
            let mut sub = Walker::new(self.data, self.ctx, self.member, self.depth);
            sub.proto = 0;
            let out = sub.run(p);
            sub.commit();
            return match out.error {
                None => Ok(out.end),
                Some(b) => Err(b),
            };
        }
        let mut count: u64 = 1;
        for d in state
            .dict_get("shape")
            .map(|s| s.tuple_items())
            .unwrap_or(&[])
        {
            match d {
                Val::Int(n) if *n >= 0 => count = count.saturating_mul(*n as u64),
                _ => {
                    return Err(Broke {
                        offset: op_off,
                        message: "joblib array with a bad shape".into(),
                    })
                }
            }
        }
        let mut q = p;
        if state.dict_get("numpy_array_alignment_bytes").is_some() {
            let Some(&pad) = self.data.get(q) else {
                return Err(Broke {
                    offset: q,
                    message: "truncated: joblib padding byte missing".into(),
                });
            };
            q += 1 + pad as usize;
        }
        let bytes = count.saturating_mul(item);
        let end = (q as u64).saturating_add(bytes);
        if end > self.data.len() as u64 {
            return Err(Broke {
                offset: q,
                message: format!("truncated: joblib array needs {bytes} bytes"),
            });
        }
        Ok(end as usize)
    }
}

/// The bytes a loader would read: a bytes literal, or `io.BytesIO(bytes)`.
fn payload<'v, 'a>(v: Option<&'v Val<'a>>) -> Option<Cow<'v, [u8]>> {
    match v? {
        Val::Bytes(b) | Val::Str(b) => Some(Cow::Borrowed(&b[..])),
        Val::Call(c) => {
            let g = c.func.root_glob()?;
            if policy::is_bytes_wrapper(&g.module, &g.name) {
                payload(c.args.tuple_items().first())
            } else {
                None
            }
        }
        _ => None,
    }
}

fn render_call(func: &Val<'_>, args: &Val<'_>, kwargs: Option<&Val<'_>>) -> String {
    Val::Call(Rc::new(CallNode {
        func: func.clone(),
        args: args.clone(),
        kwargs: kwargs.cloned(),
    }))
    .render()
}

/// Item size of a numpy dtype string as numpy's `dtype.__reduce__` writes it (`f8`, `<i4`,
/// `U10`, `b1`, ...). `Some(0)` means an object dtype.
fn itemsize(descr: &str) -> Option<u64> {
    let d = descr.trim_start_matches(['<', '>', '|', '=']);
    let mut chars = d.chars();
    let kind = chars.next()?;
    let digits: String = chars.collect();
    if kind == 'O' {
        return Some(0);
    }
    if digits.is_empty() {
        return match kind {
            '?' | 'b' | 'B' => Some(1),
            'h' | 'H' | 'e' => Some(2),
            'i' | 'I' | 'f' => Some(4),
            'l' | 'L' | 'q' | 'Q' | 'd' | 'F' => Some(8),
            'g' | 'D' => Some(16),
            _ => None,
        };
    }
    let n: u64 = digits.parse().ok()?;
    match kind {
        'U' => n.checked_mul(4),
        'f' | 'i' | 'u' | 'c' | 'b' | 'S' | 'a' | 'V' | 'M' | 'm' => Some(n),
        _ => None,
    }
}
