//! Skipping lines that cannot match, before parsing them.
//!
//! From a compiled condition we derive a [`Req`]: a formula over literals that the raw JSON
//! bytes of any matching event must contain. `and` needs all its parts, `or` any of them,
//! and anything we cannot reason about (a `not`, a numeric comparison, a regex) needs
//! nothing. Many queries share one [`Prefilter`]: one Aho-Corasick pass over the line finds
//! which literals occur, then each query's formula is checked against that set.
//!
//! The literals are searched ignoring ASCII case (a superset of a case-sensitive search),
//! and only in their parts that JSON writes verbatim: anything a JSON encoder may escape
//! (non-ASCII, `"`, `\`, `/`, control characters) splits a literal into fragments, of
//! which the longest is required. A line containing a `\u` escape could spell any character
//! another way, so such lines are never skipped.

use crate::ir::{CmpOp, Literal, Pred};
use crate::matcher::PatternKind;
use aho_corasick::dfa::{self, DFA};
use aho_corasick::{MatchKind, StartKind};
use foldhash::HashMap;
use memchr::memmem;

mod formula;
mod gate;
mod memo;
mod program;
use formula::{masks, Compiled};
use gate::Gate;
use memo::{mark_all, TextMemo};
use program::Program;

/// A requirement on a line's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Req {
    /// Nothing is required: the line must be parsed.
    Always,
    /// The line can never match.
    Never,
    /// This literal (lowercase ASCII) must occur.
    Lit(String),
    All(Vec<Req>),
    Any(Vec<Req>),
}

/// Shortest literal fragment worth requiring.
const MIN_FRAGMENT: usize = 2;

impl Req {
    pub fn all(parts: Vec<Req>) -> Req {
        let mut out = Vec::new();
        for p in parts {
            match p {
                Req::Always => {}
                Req::Never => return Req::Never,
                Req::All(inner) => out.extend(inner),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Req::Always,
            1 => out.pop().unwrap_or(Req::Always),
            _ => Req::All(out),
        }
    }

    pub fn any(parts: Vec<Req>) -> Req {
        let mut out = Vec::new();
        for p in parts {
            match p {
                Req::Always => return Req::Always,
                Req::Never => {}
                Req::Any(inner) => out.extend(inner),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Req::Never,
            1 => out.pop().unwrap_or(Req::Never),
            _ => Req::Any(out),
        }
    }

    /// The requirement of a compiled condition.
    pub fn of(pred: &Pred) -> Req {
        match pred {
            Pred::Const(Some(true)) => Req::Always,
            Pred::Const(_) => Req::Never,
            Pred::And(ps) => Req::all(ps.iter().map(Req::of).collect()),
            Pred::Or(ps) => Req::any(ps.iter().map(Req::of).collect()),
            Pred::NullAsFalse(p) => Req::of(p),
            Pred::Not(_) | Pred::Exists(_) | Pred::Compare { .. } | Pred::Truthy(_) => Req::Always,
            Pred::Str { matcher, .. } => Req::any(
                matcher
                    .patterns()
                    .iter()
                    .map(|(kind, p)| match kind {
                        PatternKind::Exact => literal_req(p),
                        PatternKind::Wildcard => wildcard_req(p),
                        PatternKind::Regex => Req::Always,
                    })
                    .collect(),
            ),
            Pred::Cmp {
                op: CmpOp::Eq,
                value: Literal::Str(s),
                ..
            } => literal_req(s),
            Pred::Cmp { .. } => Req::Always,
        }
    }

    /// The fields whose text the literals of `Req::of(pred)` come from: the fields of its
    /// string tests and string equalities, where `Req::of` takes literals from them. A
    /// literal of the requirement can only be needed in one of these fields' values, so a
    /// scan of their text alone finds every literal that matters (see
    /// [`Prefilter::scan_texts`]).
    pub fn literal_fields(pred: &Pred, out: &mut Vec<spawnguard_event::FieldPath>) {
        match pred {
            Pred::And(ps) | Pred::Or(ps) => ps.iter().for_each(|p| Req::literal_fields(p, out)),
            Pred::NullAsFalse(p) => Req::literal_fields(p, out),
            Pred::Str { field, .. }
            | Pred::Cmp {
                field,
                op: CmpOp::Eq,
                value: Literal::Str(_),
                ..
            } => out.push(field.clone()),
            Pred::Const(_)
            | Pred::Not(_)
            | Pred::Exists(_)
            | Pred::Compare { .. }
            | Pred::Truthy(_)
            | Pred::Cmp { .. } => {}
        }
    }

    /// The literals this requirement needs outright (whatever else holds).
    fn required_lits(&self) -> Vec<&str> {
        match self {
            Req::Lit(s) => vec![s.as_str()],
            Req::All(ps) => ps.iter().flat_map(Req::required_lits).collect(),
            Req::Always | Req::Never | Req::Any(_) => Vec::new(),
        }
    }

    /// A set of literals of which the requirement needs at least one, whatever else holds,
    /// chosen to be rarely present: of an `all`, the best set of any part; of an `any`, the
    /// union of its parts' sets. A set's cost is how many requirements name its literals in
    /// all (`uses`: literal → that count): a literal many rules test (`linux`, `start`,
    /// `exec`) is one most events carry; one only a rule or two name is rare. `None`: no
    /// such set (some way to hold needs no literal), or one too large to be worth testing.
    fn anchor_lits(&self, uses: &dyn Fn(&str) -> usize) -> Option<Vec<&str>> {
        const MAX_ANCHOR: usize = 32;
        fn go<'a>(r: &'a Req, uses: &dyn Fn(&str) -> usize) -> Option<(Vec<&'a str>, usize)> {
            match r {
                Req::Always => None,
                Req::Never => Some((Vec::new(), 0)),
                Req::Lit(s) => Some((vec![s.as_str()], uses(s))),
                Req::All(ps) => ps
                    .iter()
                    .filter_map(|p| go(p, uses))
                    .min_by_key(|(lits, cost)| (*cost, lits.len())),
                Req::Any(ps) => {
                    let mut all = Vec::new();
                    let mut cost = 0;
                    for p in ps {
                        let (lits, c) = go(p, uses)?;
                        all.extend(lits);
                        cost += c;
                        if all.len() > MAX_ANCHOR {
                            return None;
                        }
                    }
                    Some((all, cost))
                }
            }
        }
        go(self, uses).map(|(lits, _)| lits)
    }

    fn collect_lits<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Req::Lit(s) => out.push(s),
            Req::All(ps) | Req::Any(ps) => ps.iter().for_each(|p| p.collect_lits(out)),
            Req::Always | Req::Never => {}
        }
    }
}

/// The requirement of an exact string: its longest verbatim fragment.
pub fn literal_req(s: &str) -> Req {
    if could_be_number_text(s.chars()) {
        return Req::Always;
    }
    best_fragment(s.split(unsafe_char))
}

/// Whether a string test with these literal characters could match the text form of a JSON
/// number (string tests compare numbers by their text, `to_text`): that text is made of
/// digits, `-` and `.`, and need not appear in the raw bytes (`1E2` is `100.0`, `1e20` is
/// `100000000000000000000`), so such literals cannot be required.
fn could_be_number_text(mut literal_chars: impl Iterator<Item = char>) -> bool {
    literal_chars.all(|c| c.is_ascii_digit() || c == '-' || c == '.')
}

/// The requirement of a wildcard pattern: the longest verbatim fragment of its literal runs.
pub fn wildcard_req(p: &str) -> Req {
    let mut runs: Vec<String> = vec![String::new()];
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' => runs.push(String::new()),
            '\\' => {
                if let Some(n) = chars.next() {
                    push_char(&mut runs, n);
                }
            }
            c => push_char(&mut runs, c),
        }
    }
    if could_be_number_text(runs.iter().flat_map(|r| r.chars())) {
        return Req::Always;
    }
    best_fragment(runs.iter().flat_map(|r| r.split(unsafe_char)))
}

fn push_char(runs: &mut [String], c: char) {
    if let Some(last) = runs.last_mut() {
        last.push(c);
    }
}

fn unsafe_char(c: char) -> bool {
    !c.is_ascii() || c.is_ascii_control() || matches!(c, '"' | '\\' | '/')
}

fn best_fragment<'a>(frags: impl Iterator<Item = &'a str>) -> Req {
    match frags.max_by_key(|f| f.len()) {
        Some(f) if f.len() >= MIN_FRAGMENT => Req::Lit(f.to_ascii_lowercase()),
        _ => Req::Always,
    }
}

/// Decides, for many queries at once, which of them a raw line could match.
#[derive(Debug, Clone)]
pub struct Prefilter {
    /// Every literal, ASCII case ignored, as a DFA walked byte by byte (see [`mark_all`]).
    ac: Option<DFA>,
    /// A fast first test, before the full automaton: each query's most selective literal
    /// among those it requires outright (chosen by sampling lines, see [`Scratch`]); a line
    /// containing none of the chosen literals matches no query. Only used when every query
    /// requires some literal.
    gate: Option<Gate>,
    n_lits: usize,
    reqs: Vec<Compiled>,
    /// The same requirements laid out for the per-event check (see `program`).
    program: Program,
    /// Per requirement, literals of which it needs at least one (its longest outright
    /// literal — long literals are the rare ones — or else a required `any` of literals), as
    /// masks over the seen-set: a few bit tests settle most requirements that fail, before
    /// their formula is walked. Empty: no anchor.
    anchors: Vec<Vec<(usize, u64)>>,
    /// Per literal `l`, the requirements anchored on it: `anchored_reqs[anchored_on[l]..
    /// anchored_on[l + 1]]` (one array: no pointer to follow per literal); and the
    /// requirements with no anchor, as a bit set over requirement indices.
    anchored_on: Vec<u32>,
    anchored_reqs: Vec<u32>,
    unanchored: Vec<u64>,
    /// Per literal: whether its presence alone satisfies some requirement.
    /// Literals that alone satisfy some requirement, as a seen-set.
    sufficient: Vec<u64>,
    unicode_escape: memmem::Finder<'static>,
    /// Which prefilter a scratch's text memo belongs to.
    id: u64,
}

/// Reusable per-thread scratch space for [`Prefilter::candidates`].
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    seen: Vec<u64>,
    /// Set by [`Prefilter::scan`]: the line has a `\u` escape (every requirement holds)
    /// or there are no literals.
    all: bool,
    /// Set by the last mark: the gate proved that no requirement holds.
    rejected: bool,
    last_hit: usize,
    /// Lines seen by the gate, and per gate literal how many sampled lines lacked it.
    gate_lines: u64,
    /// Which gate the sampling state belongs to (a scratch may serve several prefilters).
    gate_id: u64,
    gate_absent: Vec<u32>,
    /// Per query, the gate literal chosen from the last sample.
    gate_chosen: Vec<usize>,
    /// Literal marks by text, for [`Prefilter::mark_texts`].
    memo: TextMemo,
}

impl Prefilter {
    /// Builds a prefilter for one requirement per query, in query order.
    pub fn new(reqs: &[Req]) -> Prefilter {
        let mut lits: Vec<&str> = Vec::new();
        for r in reqs {
            r.collect_lits(&mut lits);
        }
        lits.sort_unstable();
        lits.dedup();
        // How many requirements name each literal.
        let mut uses = vec![0usize; lits.len()];
        for r in reqs {
            let mut mine = Vec::new();
            r.collect_lits(&mut mine);
            mine.sort_unstable();
            mine.dedup();
            for l in mine {
                if let Ok(i) = lits.binary_search(&l) {
                    uses[i] += 1;
                }
            }
        }
        // Literals numbered by how many requirements name them, most first: the common ones
        // (`linux`, `start`, `exec`) share the first words of the seen-set, which the masks
        // of `any` test first (and those of `all` last, see `Compiled::packed`).
        let mut order: Vec<usize> = (0..lits.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(uses.get(i).copied().unwrap_or(0)), i));
        let lits: Vec<&str> = order.iter().filter_map(|&i| lits.get(i).copied()).collect();
        let uses: Vec<usize> = order.iter().filter_map(|&i| uses.get(i).copied()).collect();
        let ids: HashMap<&str, usize> = lits.iter().enumerate().map(|(i, l)| (*l, i)).collect();
        let index = |s: &str| ids.get(s).copied().unwrap_or(0);
        fn compile(r: &Req, index: &dyn Fn(&str) -> usize) -> Compiled {
            match r {
                Req::Always => Compiled::Always,
                Req::Never => Compiled::Never,
                Req::Lit(s) => Compiled::Lit(index(s)),
                Req::All(ps) => Compiled::All(ps.iter().map(|p| compile(p, index)).collect()),
                Req::Any(ps) => Compiled::Any(ps.iter().map(|p| compile(p, index)).collect()),
            }
        }
        let compiled: Vec<Compiled> = reqs.iter().map(|r| compile(r, &index)).collect();
        let ac = if lits.is_empty() {
            None
        } else {
            // Every line is scanned for every literal (overlapping): a full DFA is the
            // fastest automaton for that, and its size is bounded by the literal text.
            dfa::Builder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .start_kind(StartKind::Unanchored)
                .prefilter(false)
                .build(&lits)
                .ok()
        };
        let gate = Gate::build(reqs);
        let mut sufficient = vec![false; lits.len()];
        for r in &compiled {
            match r {
                Compiled::Lit(i) => {
                    if let Some(s) = sufficient.get_mut(*i) {
                        *s = true;
                    }
                }
                Compiled::Any(ps) => {
                    for p in ps {
                        if let Some(s) = match p {
                            Compiled::Lit(i) => sufficient.get_mut(*i),
                            _ => None,
                        } {
                            *s = true;
                        }
                    }
                }
                _ => {}
            }
        }
        Prefilter {
            id: memo::next_owner(),
            sufficient: {
                let on: Vec<usize> = (0..sufficient.len()).filter(|&i| sufficient[i]).collect();
                let mut words = vec![0u64; lits.len().div_ceil(64)];
                for (w, m) in masks(&on) {
                    words[w] |= m;
                }
                words
            },
            n_lits: lits.len(),
            ac,
            gate,
            anchors: reqs
                .iter()
                .map(|r| {
                    let Some(anchor) = r.anchor_lits(&|l| {
                        ids.get(l).and_then(|&i| uses.get(i).copied()).unwrap_or(0)
                    }) else {
                        return Vec::new();
                    };
                    let idx: Option<Vec<usize>> =
                        anchor.iter().map(|l| ids.get(l).copied()).collect();
                    idx.map(|idx| masks(&idx)).unwrap_or_default()
                })
                .collect(),
            anchored_on: Vec::new(),
            anchored_reqs: Vec::new(),
            unanchored: Vec::new(),
            program: Program::default(),
            reqs: compiled.into_iter().map(Compiled::packed).collect(),
            unicode_escape: memmem::Finder::new(b"\\u").into_owned(),
        }
        .index_anchors()
    }

    pub fn len(&self) -> usize {
        self.reqs.len()
    }

    /// Lays out `program` from `reqs`; fills `anchored_on` and `unanchored` from `anchors`.
    fn index_anchors(mut self) -> Prefilter {
        self.program = Program::new(&self.reqs);
        let mut lists = vec![Vec::new(); self.n_lits];
        self.anchored_reqs.clear();
        self.unanchored = vec![0u64; self.reqs.len().div_ceil(64)];
        for (r, ms) in self.anchors.iter().enumerate() {
            if ms.is_empty() {
                self.unanchored[r / 64] |= 1u64 << (r % 64);
                continue;
            }
            for &(w, m) in ms {
                for b in 0..64 {
                    if m & (1u64 << b) != 0 {
                        if let Some(list) = lists.get_mut(w * 64 + b) {
                            list.push(r as u32);
                        }
                    }
                }
            }
        }
        self.anchored_on = Vec::with_capacity(lists.len() + 1);
        self.anchored_on.push(0);
        for list in &lists {
            self.anchored_reqs.extend_from_slice(list);
            self.anchored_on.push(self.anchored_reqs.len() as u32);
        }
        self
    }

    /// Sets in `out` (a bit set over requirement indices) every requirement that may hold on
    /// what was last marked: those with no anchor, and those anchored on a literal that
    /// occurs. A requirement left out does not hold ([`Prefilter::holds`] would say so too,
    /// at the cost of a test per requirement).
    pub fn anchor_candidates(&self, scratch: &Scratch, out: &mut Vec<u64>) {
        let words = self.reqs.len().div_ceil(64);
        out.clear();
        if scratch.all {
            out.resize(words, u64::MAX);
            return;
        }
        out.extend_from_slice(&self.unanchored);
        out.resize(words, 0);
        if scratch.rejected {
            return;
        }
        for (w, &bits) in scratch.seen.iter().enumerate() {
            let mut bits = bits;
            while bits != 0 {
                let lit = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let reqs = match (self.anchored_on.get(lit), self.anchored_on.get(lit + 1)) {
                    (Some(&a), Some(&b)) => self.anchored_reqs.get(a as usize..b as usize),
                    _ => None,
                };
                for &r in reqs.unwrap_or(&[]) {
                    if let Some(x) = out.get_mut(r as usize / 64) {
                        *x |= 1u64 << (r % 64);
                    }
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Whether no query ever needs a line skipped (every requirement is `Always`).
    pub fn is_trivial(&self) -> bool {
        self.reqs.iter().all(|r| matches!(r, Compiled::Always))
    }

    /// Calls `f(i)` for every query `i` that the line could match; returns how many.
    pub fn candidates(
        &self,
        line: &[u8],
        scratch: &mut Scratch,
        mut f: impl FnMut(usize),
    ) -> usize {
        let escaped = self.unicode_escape.find(line).is_some();
        if escaped || self.ac.is_none() {
            let mut n = 0;
            for (i, r) in self.reqs.iter().enumerate() {
                if escaped || r.holds(&[]) {
                    f(i);
                    n += 1;
                }
            }
            return n;
        }
        if let Some(gate) = &self.gate {
            if !gate.may_pass(line, scratch) {
                return 0;
            }
        }
        scratch.seen.clear();
        scratch.seen.resize(self.n_lits.div_ceil(64), 0);
        if let Some(ac) = &self.ac {
            mark_all(ac, line, &mut scratch.seen);
        }
        let mut n = 0;
        for i in 0..self.reqs.len() {
            if self.program.holds(i, &scratch.seen) {
                f(i);
                n += 1;
            }
        }
        n
    }

    /// Whether the line could match query `0` (single-query convenience).
    /// Lazy form of [`Prefilter::candidates`]: scans the line once and says whether any
    /// requirement holds (stopping at the first that does); [`Prefilter::holds`] then
    /// answers for single requirements from the same scan. Same answers as `candidates`,
    /// without evaluating every formula when the caller only needs some of them.
    pub fn scan(&self, line: &[u8], scratch: &mut Scratch) -> bool {
        let escaped = self.unicode_escape.find(line).is_some();
        self.scan_bytes(line, escaped, scratch)
    }

    /// [`Prefilter::scan`] over decoded text instead of a raw JSON line: the string values of
    /// the fields the requirements were derived from, separated by NUL bytes (no literal
    /// holds one). Escapes were decoded, so every literal is found as itself. Sound because a
    /// requirement's literals come only from string tests and string equality on a field,
    /// which can hold only if that field's text contains the literal; see
    /// `spawnguard_event::Flat::texts`.
    pub fn scan_texts(&self, texts: &[u8], scratch: &mut Scratch) -> bool {
        self.scan_bytes(texts, false, scratch)
    }

    fn scan_bytes(&self, line: &[u8], escaped: bool, scratch: &mut Scratch) -> bool {
        self.mark(line, escaped, scratch) && self.any_holds(scratch)
    }

    /// The first half of [`Prefilter::scan_texts`]: finds which literals occur, so that
    /// [`Prefilter::holds`] can answer, without asking whether any requirement holds (a
    /// caller that learns it otherwise, from the requirements it checks anyway, asks
    /// [`Prefilter::any_holds`] only when it must).
    /// Texts seen before are answered from the scratch's memo (see `memo`).
    pub fn mark_texts(&self, texts: &[u8], scratch: &mut Scratch) {
        if !self.start_mark(texts, false, scratch) {
            return;
        }
        if let Some(ac) = &self.ac {
            scratch.memo.mark(self.id, ac, texts, &mut scratch.seen);
        }
    }

    /// [`Prefilter::mark_texts`] of the texts `each` calls its argument with (each without
    /// a NUL), so that the caller need not join them.
    pub fn mark_each_text(&self, scratch: &mut Scratch, each: impl FnOnce(&mut dyn FnMut(&[u8]))) {
        if self.gate.is_some() {
            // The gate reads the texts joined.
            let mut joined = Vec::new();
            each(&mut |t| {
                joined.extend_from_slice(t);
                joined.push(0);
            });
            return self.mark_texts(&joined, scratch);
        }
        if !self.start_mark(&[], false, scratch) {
            return;
        }
        if let Some(ac) = &self.ac {
            scratch.memo.mark_each(self.id, ac, &mut scratch.seen, each);
        }
    }

    /// Fills the seen-set; `false` when the gate already proved that nothing holds.
    fn mark(&self, line: &[u8], escaped: bool, scratch: &mut Scratch) -> bool {
        if self.start_mark(line, escaped, scratch) {
            if let Some(ac) = &self.ac {
                mark_all(ac, line, &mut scratch.seen);
            }
        }
        !scratch.rejected
    }

    /// The seen-set emptied for a new line; `false` when there is nothing to mark: the line
    /// has a `\u` escape (every requirement holds) or the gate proved that none does.
    fn start_mark(&self, line: &[u8], escaped: bool, scratch: &mut Scratch) -> bool {
        scratch.all = escaped;
        scratch.rejected = false;
        scratch.seen.clear();
        scratch.seen.resize(self.n_lits.div_ceil(64), 0);
        if escaped {
            return false;
        }
        if let (Some(gate), Some(_)) = (&self.gate, &self.ac) {
            // The gate exists only when every requirement needs some literal, so with the
            // seen-set left empty nothing holds, as the gate says.
            if !gate.may_pass(line, scratch) {
                scratch.rejected = true;
                return false;
            }
        }
        scratch.rejected = false;
        true
    }

    /// What [`Prefilter::any_holds`] can tell without a formula: every requirement holds
    /// (an escaped line), none does (the gate), or a literal that alone satisfies some
    /// requirement was seen.
    fn any_holds_at_once(&self, scratch: &Scratch) -> Option<bool> {
        if scratch.all {
            return Some(!self.reqs.is_empty());
        }
        if scratch.rejected {
            return Some(false);
        }
        self.sufficient
            .iter()
            .zip(&scratch.seen)
            .any(|(suff, seen)| suff & seen != 0)
            .then_some(true)
    }

    /// [`Prefilter::any_holds`] given the requirements whose anchor is present, as
    /// [`Prefilter::anchor_candidates`] gave them for what was last marked: only those
    /// can hold, so only their formulas are walked.
    pub fn any_holds_among(&self, scratch: &Scratch, anchored: &[u64]) -> bool {
        if let Some(settled) = self.any_holds_at_once(scratch) {
            return settled;
        }
        anchored.iter().enumerate().any(|(w, &word)| {
            let mut word = word;
            while word != 0 {
                let i = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                if self.program.holds(i, &scratch.seen) {
                    return true;
                }
            }
            false
        })
    }

    /// Whether any requirement holds on what was last marked.
    pub fn any_holds(&self, scratch: &mut Scratch) -> bool {
        if let Some(settled) = self.any_holds_at_once(scratch) {
            return settled;
        }
        // The requirement that held last time is the likeliest to hold again.
        if self.anchored_holds(scratch.last_hit, &scratch.seen) {
            return true;
        }
        match (0..self.reqs.len()).position(|i| self.anchored_holds(i, &scratch.seen)) {
            Some(i) => {
                scratch.last_hit = i;
                true
            }
            None => false,
        }
    }

    /// Whether requirement `i` holds on the line last given to [`Prefilter::scan`].
    pub fn holds(&self, i: usize, scratch: &Scratch) -> bool {
        match self.reqs.get(i) {
            None => false,
            Some(_) if scratch.all => true,
            Some(_) => self.anchored_holds(i, &scratch.seen),
        }
    }

    /// [`Prefilter::holds`] for a requirement already known to have its anchor present (it
    /// came from [`Prefilter::anchor_candidates`]): the formula alone.
    pub fn formula_holds(&self, i: usize, scratch: &Scratch) -> bool {
        scratch.all || self.program.holds(i, &scratch.seen)
    }

    /// Requirement `i` on a seen-set: its anchor literal first, then its formula.
    #[inline]
    fn anchored_holds(&self, i: usize, seen: &[u64]) -> bool {
        if let Some(ms) = self.anchors.get(i) {
            if !ms.is_empty()
                && !ms
                    .iter()
                    .any(|&(w, m)| seen.get(w).is_some_and(|x| x & m != 0))
            {
                return false;
            }
        }
        self.program.holds(i, seen)
    }

    pub fn may_match(&self, line: &[u8], scratch: &mut Scratch) -> bool {
        let mut hit = false;
        self.candidates(line, scratch, |i| hit |= i == 0);
        hit
    }
}

#[cfg(test)]
mod tests;
