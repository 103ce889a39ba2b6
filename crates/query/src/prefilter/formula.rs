//! Requirements compiled over the seen-set of literals.

/// Compiled requirement: literals replaced by their index in the shared automaton.
#[derive(Debug, Clone)]
pub(super) enum Compiled {
    Always,
    Never,
    Lit(usize),
    All(Vec<Compiled>),
    Any(Vec<Compiled>),
    /// Literals as bit masks over the words of the seen-set: all of them …
    AllBits(Vec<(usize, u64)>),
    /// … or any of them.
    AnyBits(Vec<(usize, u64)>),
}

/// The seen-set: one bit per literal.
#[inline]
fn bit(seen: &[u64], i: usize) -> bool {
    seen.get(i / 64)
        .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
}

pub(super) fn masks(lits: &[usize]) -> Vec<(usize, u64)> {
    let mut out: Vec<(usize, u64)> = Vec::new();
    for &i in lits {
        let (w, b) = (i / 64, 1u64 << (i % 64));
        match out.iter_mut().find(|(x, _)| *x == w) {
            Some((_, m)) => *m |= b,
            None => out.push((w, b)),
        }
    }
    out
}

impl Compiled {
    pub(super) fn holds(&self, seen: &[u64]) -> bool {
        match self {
            Compiled::Always => true,
            Compiled::Never => false,
            Compiled::Lit(i) => bit(seen, *i),
            Compiled::All(ps) => ps.iter().all(|p| p.holds(seen)),
            Compiled::Any(ps) => ps.iter().any(|p| p.holds(seen)),
            Compiled::AllBits(ms) => ms
                .iter()
                .all(|&(w, m)| seen.get(w).is_some_and(|x| x & m == m)),
            Compiled::AnyBits(ms) => ms
                .iter()
                .any(|&(w, m)| seen.get(w).is_some_and(|x| x & m != 0)),
        }
    }

    /// Same formula, with the literal children of every `All`/`Any` packed into masks
    /// (one AND per word of the seen-set instead of one lookup per literal).
    pub(super) fn packed(self) -> Compiled {
        let pack = |ps: Vec<Compiled>, all: bool| {
            let mut lits = Vec::new();
            let mut rest = Vec::new();
            for p in ps {
                match p.packed() {
                    Compiled::Lit(i) => lits.push(i),
                    other => rest.push(other),
                }
            }
            if lits.len() < 2 {
                rest.extend(lits.into_iter().map(Compiled::Lit));
                return if all {
                    Compiled::All(rest)
                } else {
                    Compiled::Any(rest)
                };
            }
            // `any`: the words of common literals first (likeliest to settle it true);
            // `all`: those of rare literals first (likeliest to settle it false).
            let mut ms = masks(&lits);
            ms.sort_unstable_by_key(|&(w, _)| w);
            let bits = if all {
                ms.reverse();
                Compiled::AllBits(ms)
            } else {
                Compiled::AnyBits(ms)
            };
            if rest.is_empty() {
                return bits;
            }
            // The cheap mask first.
            rest.insert(0, bits);
            if all {
                Compiled::All(rest)
            } else {
                Compiled::Any(rest)
            }
        };
        match self {
            Compiled::All(ps) => pack(ps, true),
            Compiled::Any(ps) => pack(ps, false),
            other => other,
        }
    }
}
