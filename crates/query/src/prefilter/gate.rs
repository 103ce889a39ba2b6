//! The gate: a fast first test before the full automaton, used when every query requires
//! some literal outright.

use super::{Req, Scratch};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder};

/// The gate: single-literal searchers, and which of them each query requires.
#[derive(Debug, Clone)]
pub(super) struct Gate {
    /// Unique per built gate, so that sampling state in a [`Scratch`] is never applied to
    /// another prefilter's literals.
    id: u64,
    pub(super) lits: Vec<AhoCorasick>,
    /// Per query: indices into `lits` it requires outright; empty for a query that can never
    /// match.
    of: Vec<Vec<usize>>,
}

/// The gate samples this many lines (testing every literal) out of each `GATE_PERIOD`, then
/// keeps, per query, the literal that was absent from the most sampled lines.
pub(super) const GATE_SAMPLE: u64 = 256;
const GATE_PERIOD: u64 = 1 << 16;

impl Gate {
    pub(super) fn build(reqs: &[Req]) -> Option<Gate> {
        let mut names: Vec<&str> = Vec::new();
        let mut of = Vec::new();
        for r in reqs {
            if *r == Req::Never {
                of.push(Vec::new());
                continue;
            }
            let mut req = r.required_lits();
            if req.is_empty() {
                return None;
            }
            req.sort_unstable();
            req.dedup();
            let mut idx = Vec::new();
            for l in req {
                let i = match names.iter().position(|n| *n == l) {
                    Some(i) => i,
                    None => {
                        names.push(l);
                        names.len() - 1
                    }
                };
                idx.push(i);
            }
            of.push(idx);
        }
        if names.is_empty() {
            return None;
        }
        let lits = names
            .iter()
            .map(|n| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .build([n])
                    .ok()
            })
            .collect::<Option<Vec<_>>>()?;
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(Gate { id, lits, of })
    }

    /// Whether the line may match some query; `false` means it matches none.
    pub(super) fn may_pass(&self, line: &[u8], sc: &mut Scratch) -> bool {
        if sc.gate_id != self.id {
            sc.gate_id = self.id;
            sc.gate_lines = 0;
            sc.gate_chosen.clear();
        }
        let phase = sc.gate_lines % GATE_PERIOD;
        sc.gate_lines += 1;
        if phase < GATE_SAMPLE || sc.gate_chosen.len() != self.of.len() {
            if phase == 0 {
                sc.gate_absent.clear();
                sc.gate_absent.resize(self.lits.len(), 0);
            }
            for (i, ac) in self.lits.iter().enumerate() {
                if !ac.is_match(line) {
                    if let Some(a) = sc.gate_absent.get_mut(i) {
                        *a += 1;
                    }
                }
            }
            if phase + 1 == GATE_SAMPLE || sc.gate_chosen.len() != self.of.len() {
                sc.gate_chosen = self
                    .of
                    .iter()
                    .map(|lits| {
                        lits.iter()
                            .copied()
                            .max_by_key(|&i| sc.gate_absent.get(i).copied().unwrap_or(0))
                            .unwrap_or(usize::MAX)
                    })
                    .collect();
            }
            return true;
        }
        let mut tested: u64 = 0;
        for &i in &sc.gate_chosen {
            if i == usize::MAX || (i < 64 && tested & (1 << i) != 0) {
                continue;
            }
            if i < 64 {
                tested |= 1 << i;
            }
            if self.lits.get(i).is_none_or(|ac| ac.is_match(line)) {
                return true;
            }
        }
        false
    }
}
