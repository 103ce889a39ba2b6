//! Shared leaves: many rules test the same things (`host.os.type == "linux"`,
//! `event.type == "start"`, `event.action in ("exec", …)`). Every rule condition is turned
//! into a tree over a table of distinct leaf conditions, and each leaf is evaluated at most
//! once per event (memoised), whichever rules ask for it.
//!
//! The tree is evaluated with exactly the three-valued logic of
//! [`spawnguard_query::eval`]: `and` is false if any part is false, else null if any part
//! is null, else true; `or` dually; `not null` is null; `NullAsFalse` turns null into false.

use spawnguard_event::Event;
use spawnguard_query::eval::{and3, or3};
use spawnguard_query::ir::Pred;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub enum Node {
    Const(Option<bool>),
    Leaf(u32),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    NullAsFalse(Box<Node>),
}

#[derive(Debug, Default)]
pub struct Leaves {
    preds: Vec<Pred>,
    index: HashMap<String, u32>,
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
        match p {
            Pred::Const(c) => Node::Const(*c),
            Pred::And(ps) => Node::And(ps.iter().map(|q| self.build(q)).collect()),
            Pred::Or(ps) => Node::Or(ps.iter().map(|q| self.build(q)).collect()),
            Pred::Not(q) => Node::Not(Box::new(self.build(q))),
            Pred::NullAsFalse(q) => Node::NullAsFalse(Box::new(self.build(q))),
            leaf => {
                let key = leaf_key(leaf);
                let next = self.preds.len() as u32;
                let id = *self.index.entry(key).or_insert(next);
                if id == next {
                    self.preds.push(leaf.clone());
                }
                Node::Leaf(id)
            }
        }
    }
}

/// Memo of leaf results for one event: 0 unknown, 1 false, 2 true, 3 null.
#[derive(Debug, Default, Clone)]
pub struct Memo {
    v: Vec<u8>,
}

impl Memo {
    pub fn reset(&mut self, n: usize) {
        self.v.clear();
        self.v.resize(n, 0);
    }
}

impl Node {
    pub fn matches(&self, ev: &Event, leaves: &Leaves, memo: &mut Memo) -> bool {
        self.eval(ev, leaves, memo) == Some(true)
    }

    pub fn eval(&self, ev: &Event, leaves: &Leaves, memo: &mut Memo) -> Option<bool> {
        match self {
            Node::Const(c) => *c,
            Node::Leaf(id) => {
                let i = *id as usize;
                match memo.v.get(i).copied().unwrap_or(0) {
                    1 => Some(false),
                    2 => Some(true),
                    3 => None,
                    _ => {
                        let r = leaves.preds.get(i).and_then(|p| p.eval(ev));
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
            Node::And(ns) => and3(ns.iter().map(|n| n.eval(ev, leaves, memo))),
            Node::Or(ns) => or3(ns.iter().map(|n| n.eval(ev, leaves, memo))),
            Node::Not(n) => n.eval(ev, leaves, memo).map(|b| !b),
            Node::NullAsFalse(n) => Some(n.eval(ev, leaves, memo).unwrap_or(false)),
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
            memo.reset(leaves.len());
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
}
