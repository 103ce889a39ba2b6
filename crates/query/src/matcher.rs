//! Compiled string tests, cheapest kinds first.
//!
//! A [`StrMatcher`] tests a string against a list of patterns (any may match). At build time
//! each pattern is sorted into the cheapest kind that can decide it: an exact set (hash
//! lookup), prefixes, suffixes, substrings (one `memmem` finder, or one Aho-Corasick
//! automaton for many), general wildcards, and regular expressions only when nothing else
//! fits. Matching tries the kinds in that order.
//!
//! Wildcard patterns use `*` (any run) and `?` (one character); a backslash makes the next
//! character literal, so parsers pass a literal `*` as `\*` and a literal `\` as `\\`.

use crate::glob::Glob;
use crate::value::fold;
use aho_corasick::AhoCorasick;
use foldhash::HashSet;
use memchr::memmem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    /// The whole string equals the pattern.
    Exact,
    /// `*` and `?` wildcards, backslash escapes.
    Wildcard,
    /// A regular expression that must match the whole string.
    Regex,
}

#[derive(Debug, Clone)]
enum Contains {
    None,
    One(memmem::Finder<'static>),
    Many(AhoCorasick),
}

/// A compiled test of a string against a list of patterns.
#[derive(Debug, Clone)]
pub struct StrMatcher {
    ci: bool,
    exact: HashSet<Box<str>>,
    prefixes: Vec<Box<str>>,
    suffixes: Vec<Box<str>>,
    contains: Contains,
    globs: Vec<Glob>,
    regexes: Option<regex::RegexSet>,
    /// Matches every string (a bare `*` pattern).
    any: bool,
    /// The patterns as given, for display and for the prefilter.
    patterns: Vec<(PatternKind, String)>,
}

/// How a single wildcard pattern is classified.
enum Shape {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Any,
    Glob(Glob),
}

impl StrMatcher {
    /// Builds a matcher for `patterns` of one kind. `ci` folds case on both sides.
    /// Fails only on an invalid regular expression.
    pub fn new(kind: PatternKind, patterns: &[String], ci: bool) -> Result<Self, String> {
        Self::with_kinds(patterns.iter().map(|p| (kind, p.clone())).collect(), ci)
    }

    /// Builds a matcher from patterns that may each be of a different kind.
    pub fn with_kinds(patterns: Vec<(PatternKind, String)>, ci: bool) -> Result<Self, String> {
        let mut m = StrMatcher {
            ci,
            exact: HashSet::default(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            contains: Contains::None,
            globs: Vec::new(),
            regexes: None,
            any: false,
            patterns: Vec::new(),
        };
        let mut contains = Vec::new();
        let mut regexes = Vec::new();
        for (kind, pat) in &patterns {
            let p = if ci {
                fold(pat).into_owned()
            } else {
                pat.clone()
            };
            match kind {
                PatternKind::Exact => {
                    m.exact.insert(p.into());
                }
                PatternKind::Regex => regexes.push(pat.as_str()),
                PatternKind::Wildcard => match classify(&p) {
                    Shape::Exact(s) => {
                        m.exact.insert(s.into());
                    }
                    Shape::Prefix(s) => m.prefixes.push(s.into()),
                    Shape::Suffix(s) => m.suffixes.push(s.into()),
                    Shape::Contains(s) => contains.push(s),
                    Shape::Any => m.any = true,
                    Shape::Glob(g) => m.globs.push(g),
                },
            }
        }
        m.contains = match contains.len() {
            0 => Contains::None,
            1 => Contains::One(memmem::Finder::new(contains[0].as_bytes()).into_owned()),
            _ => Contains::Many(
                AhoCorasick::builder()
                    .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                    .build(&contains)
                    .map_err(|e| e.to_string())?,
            ),
        };
        if !regexes.is_empty() {
            let anchored = |pat: &str| format!("^(?:{pat})$");
            let set = regexes.iter().map(|pat| match ci {
                true => format!("(?i){}", anchored(pat)),
                false => anchored(pat),
            });
            // Compiled once, as a set; only when that fails is each compiled alone, to name
            // the pattern at fault.
            m.regexes = Some(regex::RegexSet::new(set).map_err(|e| {
                regexes
                    .iter()
                    .find_map(|pat| {
                        regex::Regex::new(&anchored(pat))
                            .err()
                            .map(|e| format!("invalid regular expression `{pat}`: {e}"))
                    })
                    .unwrap_or_else(|| e.to_string())
            })?);
        }
        m.patterns = patterns;
        Ok(m)
    }

    pub fn ignore_case(&self) -> bool {
        self.ci
    }

    /// When every pattern is an exact string: the set a value (folded with
    /// [`crate::value::fold`] when the matcher ignores case) must be in to match.
    pub fn exact_only(&self) -> Option<&HashSet<Box<str>>> {
        let only = !self.any
            && self.prefixes.is_empty()
            && self.suffixes.is_empty()
            && matches!(self.contains, Contains::None)
            && self.globs.is_empty()
            && self.regexes.is_none();
        only.then_some(&self.exact)
    }

    pub fn patterns(&self) -> &[(PatternKind, String)] {
        &self.patterns
    }

    /// Whether `s` matches any pattern.
    pub fn matches(&self, s: &str) -> bool {
        if self.any {
            return true;
        }
        let folded;
        let s = if self.ci {
            folded = fold(s);
            &*folded
        } else {
            s
        };
        if !self.exact.is_empty() && self.exact.contains(s) {
            return true;
        }
        if self.prefixes.iter().any(|p| s.starts_with(&**p))
            || self.suffixes.iter().any(|p| s.ends_with(&**p))
        {
            return true;
        }
        let hit = match &self.contains {
            Contains::None => false,
            Contains::One(f) => f.find(s.as_bytes()).is_some(),
            Contains::Many(ac) => ac.is_match(s),
        };
        if hit || self.globs.iter().any(|g| g.matches(s)) {
            return true;
        }
        match &self.regexes {
            Some(set) => set.is_match(s),
            None => false,
        }
    }
}

/// Splits a wildcard pattern into segments and sorts it into the cheapest shape.
fn classify(p: &str) -> Shape {
    let mut segs: Vec<Vec<Option<char>>> = vec![Vec::new()];
    let mut has_q = false;
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => segs.last_mut().map(|s| s.push(Some(n))).unwrap_or(()),
                None => segs.last_mut().map(|s| s.push(Some('\\'))).unwrap_or(()),
            },
            '*' => segs.push(Vec::new()),
            '?' => {
                has_q = true;
                segs.last_mut().map(|s| s.push(None)).unwrap_or(())
            }
            c => segs.last_mut().map(|s| s.push(Some(c))).unwrap_or(()),
        }
    }
    let text = |s: &Vec<Option<char>>| -> String { s.iter().map(|c| c.unwrap_or('?')).collect() };
    let anchored_start = !segs[0].is_empty() || segs.len() == 1;
    let anchored_end = segs.last().map(|s| !s.is_empty()).unwrap_or(false) || segs.len() == 1;
    // Drop empty segments produced by leading, trailing or repeated stars.
    let n_stars = segs.len() - 1;
    let inner: Vec<Vec<Option<char>>> = segs.into_iter().filter(|s| !s.is_empty()).collect();
    if !has_q {
        match (n_stars, inner.len(), anchored_start, anchored_end) {
            (0, _, _, _) => return Shape::Exact(inner.first().map(text).unwrap_or_default()),
            (_, 0, _, _) => return Shape::Any,
            (1, 1, true, false) => return Shape::Prefix(text(&inner[0])),
            (1, 1, false, true) => return Shape::Suffix(text(&inner[0])),
            (_, 1, false, false) => return Shape::Contains(text(&inner[0])),
            _ => {}
        }
    }
    Shape::Glob(Glob::new(inner, anchored_start, anchored_end))
}

/// Escapes a literal string so that it can be passed as a wildcard pattern.
pub fn escape_wildcard(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(pats: &[&str], ci: bool) -> StrMatcher {
        StrMatcher::new(
            PatternKind::Wildcard,
            &pats.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            ci,
        )
        .unwrap()
    }

    #[test]
    fn shapes() {
        let m = w(&["python*"], false);
        assert!(m.matches("python3.11") && !m.matches("Python3") && !m.matches("xpython"));
        assert!(w(&["*sh"], false).matches("/bin/bash"));
        assert!(!w(&["*sh"], false).matches("shell"));
        assert!(w(&["*pty.spawn*"], false).matches("import pty; pty.spawn('/bin/sh')"));
        assert!(w(&["bash"], false).matches("bash") && !w(&["bash"], false).matches("bash2"));
        assert!(w(&["*"], false).matches(""));
    }

    #[test]
    fn question_marks_and_globs() {
        let m = w(&["p?thon*3"], false);
        assert!(m.matches("python3") && m.matches("pYthon-3") && !m.matches("pthon3"));
        let m = w(&["/tmp/*/x*.sh"], false);
        assert!(m.matches("/tmp/a/b/xyz.sh") && !m.matches("/tmp/xyz.sh"));
        let m = w(&["*a*b*"], false);
        assert!(m.matches("xxaxxbxx") && !m.matches("bbba"));
        let m = w(&["a*a"], false);
        assert!(m.matches("aa") && !m.matches("a"));
        let m = w(&["é?"], false);
        assert!(m.matches("éß") && !m.matches("é"));
    }

    #[test]
    fn escapes_are_literal() {
        let m = w(&["a\\*b"], false);
        assert!(m.matches("a*b") && !m.matches("axb"));
        assert_eq!(escape_wildcard("a*b?c\\"), "a\\*b\\?c\\\\");
        assert!(w(&[&escape_wildcard("*x?")], false).matches("*x?"));
    }

    #[test]
    fn case_folding() {
        assert!(w(&["PYTHON*"], true).matches("Python3"));
        assert!(!w(&["PYTHON*"], false).matches("Python3"));
        assert!(w(&["straße"], true).matches("STRASSE".to_lowercase().replace("ss", "ß").as_str()));
    }

    #[test]
    fn many_contains_and_regex() {
        let m = w(&["*pip*", "*conda*", "*brew*", "*jupyter*"], true);
        assert!(m.matches("/opt/CONDA/bin/python") && !m.matches("python3 -c x"));
        let r = StrMatcher::new(PatternKind::Regex, &["py(thon)?[0-9.]*".into()], false).unwrap();
        assert!(r.matches("python3.11") && r.matches("py") && !r.matches("xpython"));
        assert!(StrMatcher::new(PatternKind::Regex, &["(".into()], false).is_err());
    }
}
