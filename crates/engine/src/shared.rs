//! Shared leaves: many rules test the same things (`host.os.type == "linux"`,
//! `event.type == "start"`, `event.action in ("exec", …)`). Every rule condition is turned
//! into a tree over a table of distinct leaf conditions, and each leaf is evaluated at most
//! once per event (memoised), whichever rules ask for it.
//!
//! The tree is evaluated with exactly the three-valued logic of
//! [`spawnguard_query::eval`]: `and` is false if any part is false, else null if any part
//! is null, else true; `or` dually; `not null` is null; `NullAsFalse` turns null into false.

use crate::truth::Truth;
use spawnguard_event::{Event, FieldPath, Value};
use spawnguard_query::eval::{and3, or3};
use spawnguard_query::ir::Pred;
use spawnguard_query::value::{fold, Val};
use std::borrow::Cow;
use std::collections::HashMap;

/// A condition over shared leaves: its tree, for the three-valued [`Node::eval`], and the
/// same condition compiled for [`Node::matches`] (see [`Truth`]).
#[derive(Debug, Clone)]
pub struct Node {
    tree: Tree,
    truth: Truth,
}

#[derive(Debug, Clone)]
pub(crate) enum Tree {
    Const(Option<bool>),
    Leaf(u32),
    And(Vec<Tree>),
    Or(Vec<Tree>),
    Not(Box<Tree>),
    NullAsFalse(Box<Tree>),
}

#[derive(Debug, Default)]
pub struct Leaves {
    preds: Vec<Pred>,
    index: HashMap<String, u32>,
    /// Per leaf: its exact-match group, if it is a string test with exact patterns only.
    group_of: Vec<Option<u32>>,
    groups: Vec<Group>,
    group_index: HashMap<(String, bool), u32>,
}

/// The exact-match string tests of one field (and case sensitivity): many rules test
/// `process.name` against a few exact names each. On an event, the first such leaf to be
/// needed settles all of them with one lookup per value of the field (as tau-engine and
/// Sigma engines share field lookups), instead of one test per leaf.
#[derive(Debug)]
struct Group {
    field: FieldPath,
    ci: bool,
    /// Folded (when `ci`) value → the leaves it makes true.
    by_value: foldhash::HashMap<Box<str>, Vec<u32>>,
    members: Vec<u32>,
}

/// A structural key for a leaf: equal keys are the same test.
fn leaf_key(p: &Pred) -> String {
    match p {
        Pred::Str { field, matcher } => format!(
            "S|{}|{}|{:?}",
            field.as_str(),
            matcher.ignore_case(),
            matcher.patterns()
        ),
        other => format!("{other:?}"),
    }
}

impl Leaves {
    pub fn len(&self) -> usize {
        self.preds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.preds.is_empty()
    }

    /// Turns a condition into a tree over shared leaves.
    pub fn build(&mut self, p: &Pred) -> Node {
        let tree = self.tree(p);
        Node {
            truth: Truth::new(&tree),
            tree,
        }
    }

    fn tree(&mut self, p: &Pred) -> Tree {
        match p {
            Pred::Const(c) => Tree::Const(*c),
            Pred::And(ps) => Tree::And(ps.iter().map(|q| self.tree(q)).collect()),
            Pred::Or(ps) => Tree::Or(ps.iter().map(|q| self.tree(q)).collect()),
            Pred::Not(q) => Tree::Not(Box::new(self.tree(q))),
            Pred::NullAsFalse(q) => Tree::NullAsFalse(Box::new(self.tree(q))),
            leaf => {
                let key = leaf_key(leaf);
                let next = self.preds.len() as u32;
                let id = *self.index.entry(key).or_insert(next);
                if id == next {
                    self.preds.push(leaf.clone());
                    let group = self.group(leaf, id);
                    self.group_of.push(group);
                }
                Tree::Leaf(id)
            }
        }
    }

    /// Leaf `i` on the event, evaluated once per event (see [`Memo`]).
    #[inline]
    pub(crate) fn leaf(&self, i: usize, ev: &Event, memo: &mut Memo) -> Option<bool> {
        match memo.v.get(i).copied().unwrap_or(0) {
            1 => Some(false),
            2 => Some(true),
            3 => None,
            _ => {
                if let Some(Some(g)) = self.group_of.get(i) {
                    return self.group_result(i, *g, ev, memo);
                }
                let r = self.preds.get(i).and_then(|p| p.eval(ev));
                if let Some(slot) = memo.v.get_mut(i) {
                    *slot = match r {
                        Some(false) => 1,
                        Some(true) => 2,
                        None => 3,
                    };
                }
                r
            }
        }
    }
}

impl Leaves {
    /// Puts leaf `id` in its exact-match group, if it has one.
    fn group(&mut self, leaf: &Pred, id: u32) -> Option<u32> {
        let Pred::Str { field, matcher } = leaf else {
            return None;
        };
        let exact = matcher.exact_only()?;
        let key = (field.as_str().to_string(), matcher.ignore_case());
        let gi = match self.group_index.get(&key) {
            Some(&g) => g,
            None => {
                let g = self.groups.len() as u32;
                self.groups.push(Group {
                    field: field.clone(),
                    ci: matcher.ignore_case(),
                    by_value: Default::default(),
                    members: Vec::new(),
                });
                self.group_index.insert(key, g);
                g
            }
        };
        let group = self.groups.get_mut(gi as usize)?;
        group.members.push(id);
        for v in exact {
            group.by_value.entry(v.clone()).or_default().push(id);
        }
        Some(gi)
    }

    /// Evaluates group `gi` on `ev` once per event: its matching leaves are set true in the
    /// memo; the group's state says what its other leaves are (see [`Leaves::group_result`]).
    fn eval_group(&self, gi: u32, ev: &Event, memo: &mut Memo) {
        let Some(g) = self.groups.get(gi as usize) else {
            return;
        };
        // A projection's values as they are stored; a whole document's collected as
        // references (never copied).
        let empty = match ev.values_slice(&g.field) {
            Some(vs) => {
                vs.iter().for_each(|v| g.mark(v, memo));
                vs.is_empty()
            }
            None => {
                let vs = ev.values(&g.field);
                vs.iter().for_each(|v| g.mark(v, memo));
                vs.is_empty()
            }
        };
        if let Some(s) = memo.g.get_mut(gi as usize) {
            *s = if empty { GROUP_NULL } else { GROUP_DONE };
        }
    }

    /// Leaf `i` of group `gi`, exactly as [`Pred::eval`] would say: null when the field has
    /// no value, true when some value (its text, folded if the tests ignore case) is one of
    /// the leaf's strings, else false.
    fn group_result(&self, i: usize, gi: u32, ev: &Event, memo: &mut Memo) -> Option<bool> {
        if memo.g.get(gi as usize).copied().unwrap_or(0) == 0 {
            self.eval_group(gi, ev, memo);
        }
        match memo.g.get(gi as usize).copied().unwrap_or(0) {
            GROUP_NULL => None,
            _ => Some(memo.v.get(i).copied() == Some(2)),
        }
    }
}

impl Group {
    /// Sets true in `memo` the leaves that value `v` of the group's field makes true.
    #[inline]
    fn mark(&self, v: &Value, memo: &mut Memo) {
        let text: Cow<str> = match v {
            Value::String(s) => Cow::Borrowed(s.as_str()),
            other => match Val::from_json(other).to_text() {
                Some(t) => Cow::Owned(t.into_owned()),
                None => return,
            },
        };
        let key = if self.ci { fold(&text) } else { text };
        if let Some(ls) = self.by_value.get(&*key) {
            for &l in ls {
                if let Some(slot) = memo.v.get_mut(l as usize) {
                    *slot = 2;
                }
            }
        }
    }
}

/// Group states in [`Memo`]: evaluated, the field has no value / has values.
const GROUP_NULL: u8 = 1;
const GROUP_DONE: u8 = 2;

/// Memo of leaf results for one event: 0 unknown, 1 false, 2 true, 3 null.
#[derive(Debug, Default, Clone)]
pub struct Memo {
    v: Vec<u8>,
    /// Per exact-match group: 0 not evaluated yet, else `GROUP_NULL` or `GROUP_DONE`.
    g: Vec<u8>,
}

impl Memo {
    /// Forgets everything, for a new event over `leaves`.
    pub fn reset(&mut self, leaves: &Leaves) {
        self.v.clear();
        self.v.resize(leaves.len(), 0);
        self.g.clear();
        self.g.resize(leaves.groups.len(), 0);
    }
}

impl Node {
    /// Whether the condition is true on the event. Only truth is asked, so each part stops
    /// as soon as that is settled: an `and` at its first part that is not true (false *or
    /// null*), which the three-valued [`Node::eval`] cannot do (an `and` with a null part is
    /// still false if a later part is). Rules testing fields an event lacks stop there.
    pub fn matches(&self, ev: &Event, leaves: &Leaves, memo: &mut Memo) -> bool {
        self.truth.holds(ev, leaves, memo)
    }

    /// The condition's three-valued result on the event.
    pub fn eval(&self, ev: &Event, leaves: &Leaves, memo: &mut Memo) -> Option<bool> {
        self.tree.eval(ev, leaves, memo)
    }
}

impl Tree {
    fn eval(&self, ev: &Event, leaves: &Leaves, memo: &mut Memo) -> Option<bool> {
        match self {
            Tree::Const(c) => *c,
            Tree::Leaf(id) => leaves.leaf(*id as usize, ev, memo),
            Tree::And(ns) => and3(ns.iter().map(|n| n.eval(ev, leaves, memo))),
            Tree::Or(ns) => or3(ns.iter().map(|n| n.eval(ev, leaves, memo))),
            Tree::Not(n) => n.eval(ev, leaves, memo).map(|b| !b),
            Tree::NullAsFalse(n) => Some(n.eval(ev, leaves, memo).unwrap_or(false)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use spawnguard_event::FieldPath;
    use spawnguard_query::ir::{CmpOp, Literal};
    use spawnguard_query::matcher::{PatternKind, StrMatcher};

    fn s(field: &str, pats: &[&str]) -> Pred {
        Pred::Str {
            field: FieldPath::new(field),
            matcher: StrMatcher::new(
                PatternKind::Wildcard,
                &pats.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                false,
            )
            .unwrap(),
        }
    }

    #[test]
    fn shared_tree_agrees_with_direct_evaluation() {
        let a = s("a", &["x*"]);
        let b = Pred::Cmp {
            field: FieldPath::new("n"),
            op: CmpOp::Gt,
            value: Literal::Int(3),
            ci: false,
        };
        let conds = vec![
            Pred::And(vec![a.clone(), b.clone()]),
            Pred::Or(vec![Pred::not(a.clone()), b.clone()]),
            Pred::not(Pred::And(vec![a.clone(), s("missing", &["*"])])),
            Pred::NullAsFalse(Box::new(Pred::not(s("missing", &["*"])))),
            Pred::Or(vec![s("missing", &["q"]), Pred::Const(Some(false))]),
        ];
        let mut leaves = Leaves::default();
        let trees: Vec<Node> = conds.iter().map(|c| leaves.build(c)).collect();
        assert_eq!(
            leaves.len(),
            4,
            "a, b and `missing:*` are shared; `missing:q` is its own leaf"
        );
        let events = [
            json!({"a": "xy", "n": 5}),
            json!({"a": "z", "n": 1}),
            json!({"n": 9}),
            json!({}),
        ];
        for e in events {
            let ev = Event::new(e);
            let mut memo = Memo::default();
            memo.reset(&leaves);
            for (c, t) in conds.iter().zip(&trees) {
                assert_eq!(
                    t.eval(&ev, &leaves, &mut memo),
                    c.eval(&ev),
                    "{c:?} on {:?}",
                    ev.doc()
                );
            }
        }
    }

    /// Random trees over leaves that are true, false or null (a missing field): the
    /// two-valued questions (`matches`, and `is_false` beneath a `not`) give exactly what
    /// the three-valued evaluation says, whatever they leave unevaluated.
    #[test]
    fn truth_and_falsity_agree_with_three_valued_evaluation() {
        let leaf = |k: u64| match k % 6 {
            0 => s("a", &["x*"]),      // true on the event below
            1 => s("a", &["q"]),       // false
            2 => s("missing", &["*"]), // null
            3 => Pred::Const(Some(true)),
            4 => Pred::Const(Some(false)),
            _ => Pred::Const(None),
        };
        let mut x: u64 = 0x853c49e6748fea9b;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        fn gen(depth: u32, next: &mut dyn FnMut(u64) -> u64, leaf: &dyn Fn(u64) -> Pred) -> Pred {
            match if depth == 0 { 0 } else { next(6) } {
                0 | 1 => leaf(next(6)),
                2 => Pred::And(
                    (0..1 + next(4))
                        .map(|_| gen(depth - 1, next, leaf))
                        .collect(),
                ),
                3 => Pred::Or(
                    (0..1 + next(4))
                        .map(|_| gen(depth - 1, next, leaf))
                        .collect(),
                ),
                4 => Pred::Not(Box::new(gen(depth - 1, next, leaf))),
                _ => Pred::NullAsFalse(Box::new(gen(depth - 1, next, leaf))),
            }
        }
        let ev = Event::new(json!({"a": "xy"}));
        let (mut trues, mut falses, mut nulls) = (0, 0, 0);
        for _ in 0..3000 {
            let c = gen(4, &mut next, &leaf);
            let mut leaves = Leaves::default();
            let t = leaves.build(&c);
            let mut memo = Memo::default();
            memo.reset(&leaves);
            let want = c.eval(&ev);
            assert_eq!(
                t.matches(&ev, &leaves, &mut memo),
                want == Some(true),
                "{c:?}"
            );
            memo.reset(&leaves);
            assert_eq!(
                Truth::falsity(&t.tree).holds(&ev, &leaves, &mut memo),
                want == Some(false),
                "{c:?}"
            );
            match want {
                Some(true) => trues += 1,
                Some(false) => falses += 1,
                None => nulls += 1,
            }
        }
        assert!(
            trues > 100 && falses > 100 && nulls > 100,
            "{trues} {falses} {nulls}"
        );
    }

    #[test]
    fn exact_match_groups_agree_with_direct_evaluation() {
        let m = |field: &str, pats: &[&str], ci: bool| Pred::Str {
            field: FieldPath::new(field),
            matcher: StrMatcher::new(
                PatternKind::Wildcard,
                &pats.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                ci,
            )
            .unwrap(),
        };
        let conds = vec![
            m("p.name", &["bash"], false),
            m("p.name", &["sh", "bash"], false),
            m("p.name", &["BASH"], true),
            m("p.name", &["Bash"], false),
            m("p.name", &["zsh"], true),
            Pred::NullAsFalse(Box::new(m("p.name", &["dash"], false))),
            Pred::not(m("p.name", &["bash"], false)),
            m("n", &["5"], false),
            m("p.name", &["ba*"], false),
            Pred::And(vec![
                m("p.name", &["sh"], false),
                m("n", &["5", "6"], false),
            ]),
        ];
        let mut leaves = Leaves::default();
        let trees: Vec<Node> = conds.iter().map(|c| leaves.build(c)).collect();
        assert!(
            leaves.groups.len() >= 3,
            "name (two cases) and n are grouped"
        );
        let events = [
            json!({"p": {"name": "bash"}, "n": 5}),
            json!({"p": {"name": "BASH"}}),
            json!({"p": {"name": ["zsh", "sh"]}, "n": [6, 7]}),
            json!({"p.name": "Bash", "n": "5"}),
            json!({"p": {"name": null}}),
            json!({"p": {"name": {"x": 1}}}),
            json!({}),
        ];
        for e in events {
            let full = Event::new(e.clone());
            let proj = spawnguard_event::Projection::new(["p.name", "n"])
                .project(e.to_string().as_bytes())
                .unwrap();
            for ev in [&full, &proj] {
                // Leaves in every order: the first leaf of a group evaluates it.
                for order in [false, true] {
                    let mut memo = Memo::default();
                    memo.reset(&leaves);
                    let idx: Vec<usize> = if order {
                        (0..conds.len()).rev().collect()
                    } else {
                        (0..conds.len()).collect()
                    };
                    for i in idx {
                        assert_eq!(
                            trees[i].eval(ev, &leaves, &mut memo),
                            conds[i].eval(&full),
                            "{:?} on {e}",
                            conds[i]
                        );
                    }
                }
            }
        }
    }
}
