//! Requirements in the form the per-event check walks: each one an `any` of terms, each term
//! an `all` of groups, each group an `any` of bit tests on one word of the seen-set, every
//! requirement's tests side by side in one array.
//!
//! Why not walk the [`Compiled`] tree: its nodes are separate allocations (a cache miss per
//! node), and the `match` on the node kind is an indirect jump that the processor mispredicts
//! as it goes from one kind to another. Measured on the benchmark's exec events, the tree walk
//! took two thirds of all indirect-branch mispredictions and a sixth of the first-level data
//! cache misses of a hunt. Here a requirement is a run of 16-byte tests read in order, with
//! two flag bits and no indirect jump. A tree that would expand past [`MAX_TERMS`] terms or
//! [`MAX_TESTS`] tests (an `all` of several compound `any`s multiplies out) is walked as a
//! tree instead.

use super::formula::Compiled;

/// The test is "every bit of the mask is seen" (else "some bit of the mask is seen").
const ALL: u32 = 1;
/// The test ends its group.
const LAST: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Test {
    mask: u64,
    word: u32,
    flags: u32,
}

/// Caps on one requirement's expanded form.
const MAX_TERMS: usize = 32;
const MAX_TESTS: usize = 256;

/// An `any` of tests (their `LAST` flags are set when laid out).
type Group = Vec<Test>;
/// An `all` of groups.
type Term = Vec<Group>;

#[derive(Debug, Clone, Copy)]
enum Form {
    /// Terms `first..end` of `term_ends`, the first of them starting at test `start`.
    Terms { start: u32, first: u32, end: u32 },
    /// Walked as the tree `trees[i]`.
    Tree(u32),
}

/// Every requirement of a prefilter, laid out for [`Program::holds`].
#[derive(Debug, Clone, Default)]
pub(super) struct Program {
    tests: Vec<Test>,
    /// Where each term ends in `tests` (it starts where the previous one ended).
    term_ends: Vec<u32>,
    forms: Vec<Form>,
    trees: Vec<Compiled>,
}

impl Program {
    pub(super) fn new(reqs: &[Compiled]) -> Program {
        let mut p = Program::default();
        for r in reqs {
            let form = match expand(r) {
                Some(terms) => {
                    let start = p.tests.len() as u32;
                    let first = p.term_ends.len() as u32;
                    for term in terms {
                        for group in term {
                            let n = group.len();
                            p.tests
                                .extend(group.into_iter().enumerate().map(|(k, mut t)| {
                                    if k + 1 == n {
                                        t.flags |= LAST;
                                    }
                                    t
                                }));
                        }
                        p.term_ends.push(p.tests.len() as u32);
                    }
                    Form::Terms {
                        start,
                        first,
                        end: p.term_ends.len() as u32,
                    }
                }
                None => {
                    p.trees.push(r.clone());
                    Form::Tree(p.trees.len() as u32 - 1)
                }
            };
            p.forms.push(form);
        }
        p
    }

    /// Whether requirement `i` holds on the seen-set `seen` (`false` for no such requirement).
    #[inline]
    pub(super) fn holds(&self, i: usize, seen: &[u64]) -> bool {
        match self.forms.get(i) {
            Some(&Form::Terms { start, first, end }) => {
                let mut from = start as usize;
                for t in first..end {
                    let to = self.term_ends.get(t as usize).map_or(from, |&e| e as usize);
                    if term_holds(self.tests.get(from..to).unwrap_or(&[]), seen) {
                        return true;
                    }
                    from = to;
                }
                false
            }
            Some(&Form::Tree(t)) => self.trees.get(t as usize).is_some_and(|c| c.holds(seen)),
            None => false,
        }
    }

    /// How many requirements are walked as trees, and how many tests the others have.
    #[cfg(test)]
    pub(super) fn summary(&self) -> (usize, usize) {
        (self.trees.len(), self.tests.len())
    }
}

/// Every group of a term has a test that passes.
#[inline]
fn term_holds(tests: &[Test], seen: &[u64]) -> bool {
    let mut group = false;
    for t in tests {
        let x = seen.get(t.word as usize).copied().unwrap_or(0) & t.mask;
        group |= if t.flags & ALL != 0 {
            x == t.mask
        } else {
            x != 0
        };
        if t.flags & LAST != 0 {
            if !group {
                return false;
            }
            group = false;
        }
    }
    true
}

fn test(word: usize, mask: u64, flags: u32) -> Test {
    Test {
        mask,
        word: word as u32,
        flags,
    }
}

/// The terms of a formula, or `None` past the caps.
fn expand(c: &Compiled) -> Option<Vec<Term>> {
    let terms = match c {
        Compiled::Always => vec![Vec::new()],
        Compiled::Never => Vec::new(),
        Compiled::Lit(i) => vec![vec![vec![test(i / 64, 1u64 << (i % 64), ALL)]]],
        Compiled::AllBits(ms) => vec![ms.iter().map(|&(w, m)| vec![test(w, m, ALL)]).collect()],
        Compiled::AnyBits(ms) if ms.is_empty() => Vec::new(),
        Compiled::AnyBits(ms) => vec![vec![ms.iter().map(|&(w, m)| test(w, m, 0)).collect()]],
        Compiled::Any(ps) => {
            // Parts that are one group each join into one group (an `any` of tests); the
            // others are terms of their own.
            let mut joined: Group = Vec::new();
            let mut terms = Vec::new();
            for p in ps {
                let part = expand(p)?;
                match part.as_slice() {
                    [t] if t.is_empty() => return Some(vec![Vec::new()]),
                    [t] if t.len() == 1 => joined.extend(t.iter().flatten().copied()),
                    _ => terms.extend(part),
                }
            }
            if !joined.is_empty() {
                terms.insert(0, vec![joined]);
            }
            terms
        }
        Compiled::All(ps) => {
            let mut acc: Vec<Term> = vec![Vec::new()];
            for p in ps {
                let part = expand(p)?;
                if part.len() * acc.len() > MAX_TERMS {
                    return None;
                }
                acc = acc
                    .iter()
                    .flat_map(|a| {
                        part.iter().map(move |b| {
                            let mut t = a.clone();
                            for g in b {
                                if !t.contains(g) {
                                    t.push(g.clone());
                                }
                            }
                            t
                        })
                    })
                    .collect();
            }
            // Within a term, the groups likeliest to fail first: single tests before `any`s
            // of several, and rare literals (numbered last, see `Prefilter::new`) first.
            for t in &mut acc {
                t.sort_by_key(|g| {
                    let commonest = g.iter().map(|x| x.word).min().unwrap_or(0);
                    (g.len() > 1, std::cmp::Reverse(commonest))
                });
            }
            acc
        }
    };
    let tests: usize = terms.iter().flatten().map(Vec::len).sum();
    (terms.len() <= MAX_TERMS && tests <= MAX_TESTS).then_some(terms)
}
