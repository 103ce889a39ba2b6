//! A condition compiled for the one question the screen asks of it: is it true?
//!
//! Negations are pushed down to the leaves under three-valued logic, so that only `all`,
//! `any` and leaf tests remain: a leaf test accepts some of false, true and null. `not x` is
//! true when `x` is false; `NullAsFalse(x)` is false when `x` is not true (false or null);
//! an `and` is false when some part is false, not true when some part is not true, and
//! dually for `or`. The steps are laid out in one array in prefix order, each with the size
//! of its subtree, and walked with one two-way branch per step (test, or group) instead of the
//! tree's `match` on six kinds: that `match` is an indirect jump, and on the benchmark's exec
//! events it was half of a hunt's mispredicted indirect jumps.
//!
//! The parts are asked in the tree's order and each group stops where the tree would (an
//! `and` at its first part that is not true, …), so the same leaves are evaluated.

use crate::shared::{Leaves, Memo, Tree};
use spawnguard_event::Event;

/// Leaf values as bits of a test's `accept`.
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const NULL: u8 = 4;

const TEST: u8 = 0;
const ALL: u8 = 1;
const ANY: u8 = 2;

#[derive(Debug, Clone, Copy)]
struct Step {
    /// For a test, the leaf; for a group, how many parts it has.
    n: u32,
    /// Steps in this one's subtree, itself included.
    size: u32,
    kind: u8,
    accept: u8,
}

/// The question asked of a subtree.
#[derive(Clone, Copy)]
enum Ask {
    True,
    False,
    NotTrue,
    NotFalse,
}

impl Ask {
    fn accept(self) -> u8 {
        match self {
            Ask::True => TRUE,
            Ask::False => FALSE,
            Ask::NotTrue => FALSE | NULL,
            Ask::NotFalse => TRUE | NULL,
        }
    }
}

/// The negation normal form, before it is laid out.
enum Nnf {
    Test(u32, u8),
    All(Vec<Nnf>),
    Any(Vec<Nnf>),
}

fn code(v: Option<bool>) -> u8 {
    match v {
        Some(false) => FALSE,
        Some(true) => TRUE,
        None => NULL,
    }
}

fn nnf(t: &Tree, ask: Ask) -> Nnf {
    let group = |ns: &[Tree], all: bool| {
        let mut parts = Vec::with_capacity(ns.len());
        for n in ns {
            // Nested groups of the same kind are one group (same parts, same order).
            match (nnf(n, ask), all) {
                (Nnf::All(inner), true) | (Nnf::Any(inner), false) => parts.extend(inner),
                (p, _) => parts.push(p),
            }
        }
        if all {
            Nnf::All(parts)
        } else {
            Nnf::Any(parts)
        }
    };
    match t {
        // An empty `all` holds, an empty `any` does not.
        Tree::Const(c) if ask.accept() & code(*c) != 0 => Nnf::All(Vec::new()),
        Tree::Const(_) => Nnf::Any(Vec::new()),
        Tree::Leaf(id) => Nnf::Test(*id, ask.accept()),
        Tree::And(ns) => group(ns, matches!(ask, Ask::True | Ask::NotFalse)),
        Tree::Or(ns) => group(ns, matches!(ask, Ask::False | Ask::NotTrue)),
        Tree::Not(n) => nnf(
            n,
            match ask {
                Ask::True => Ask::False,
                Ask::False => Ask::True,
                Ask::NotTrue => Ask::NotFalse,
                Ask::NotFalse => Ask::NotTrue,
            },
        ),
        // Never null: true when the part is true, false otherwise.
        Tree::NullAsFalse(n) => nnf(
            n,
            match ask {
                Ask::True | Ask::NotFalse => Ask::True,
                Ask::False | Ask::NotTrue => Ask::NotTrue,
            },
        ),
    }
}

fn lay_out(n: &Nnf, out: &mut Vec<Step>) {
    let at = out.len();
    let (kind, count, parts): (u8, u32, &[Nnf]) = match n {
        Nnf::Test(leaf, accept) => {
            out.push(Step {
                n: *leaf,
                size: 1,
                kind: TEST,
                accept: *accept,
            });
            return;
        }
        Nnf::All(ps) => (ALL, ps.len() as u32, ps),
        Nnf::Any(ps) => (ANY, ps.len() as u32, ps),
    };
    out.push(Step {
        n: count,
        size: 1,
        kind,
        accept: 0,
    });
    for p in parts {
        lay_out(p, out);
    }
    let size = (out.len() - at) as u32;
    if let Some(s) = out.get_mut(at) {
        s.size = size;
    }
}

/// A condition's truth test (see the module documentation).
#[derive(Debug, Clone)]
pub struct Truth {
    steps: Box<[Step]>,
}

impl Truth {
    pub(crate) fn new(tree: &Tree) -> Truth {
        Truth::asking(tree, Ask::True)
    }

    /// The test of falsity instead (for tests).
    #[cfg(test)]
    pub(crate) fn falsity(tree: &Tree) -> Truth {
        Truth::asking(tree, Ask::False)
    }

    fn asking(tree: &Tree, ask: Ask) -> Truth {
        let mut steps = Vec::new();
        lay_out(&nnf(tree, ask), &mut steps);
        Truth {
            steps: steps.into_boxed_slice(),
        }
    }

    pub(crate) fn holds(&self, ev: &Event, leaves: &Leaves, memo: &mut Memo) -> bool {
        self.step(0, ev, leaves, memo)
    }

    fn step(&self, at: usize, ev: &Event, leaves: &Leaves, memo: &mut Memo) -> bool {
        let Some(s) = self.steps.get(at) else {
            return false;
        };
        if s.kind == TEST {
            return s.accept & code(leaves.leaf(s.n as usize, ev, memo)) != 0;
        }
        // An `all` ends at its first part that fails, an `any` at its first that holds.
        let all = s.kind == ALL;
        let mut part = at + 1;
        for _ in 0..s.n {
            if self.step(part, ev, leaves, memo) != all {
                return !all;
            }
            part += self.steps.get(part).map_or(1, |p| p.size as usize);
        }
        all
    }
}
