//! Unit tests of the process table: ancestry, reaping, pid reuse, the eviction order.

use super::*;

fn proc(pid: u32, start: u64, parent: Option<Key>) -> ProcInfo {
    ProcInfo {
        pid,
        start_ticks: start,
        name: format!("p{pid}").into(),
        parent,
        ..Default::default()
    }
}

#[test]
fn ancestry_and_reaping_waits_for_children() {
    let mut t = ProcTable::new(100, 10);
    t.insert(proc(1, 1, None));
    t.insert(proc(10, 5, Some((1, 1))));
    t.insert(proc(11, 6, Some((10, 5))));
    let child = t.get((11, 6)).unwrap().clone();
    let names: Vec<_> = t
        .ancestors(&child, 8)
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    assert_eq!(names, vec!["p10", "p1"]);

    t.mark_exited((10, 5), 100);
    t.reap(1000);
    assert!(
        t.get((10, 5)).is_some(),
        "parent kept while its child lives"
    );
    t.mark_exited((11, 6), 1000);
    t.reap(1005);
    assert!(t.get((11, 6)).is_some(), "kept during grace");
    t.reap(1010);
    assert!(t.get((11, 6)).is_none());
    t.reap(1011);
    assert!(
        t.get((10, 5)).is_none(),
        "parent reaped once its last child is gone"
    );
    assert_eq!(t.stats().reaped, 2);
    assert_eq!(t.stats().evictions, 0);
}

#[test]
fn pid_reuse_keeps_both_until_reaped() {
    let mut t = ProcTable::new(100, 0);
    t.insert(proc(7, 1, None));
    t.insert(proc(8, 2, Some((7, 1))));
    t.mark_exited((7, 1), 5);
    t.insert(proc(7, 9, None));
    assert_eq!(t.by_pid(7).unwrap().start_ticks, 9);
    assert_eq!(t.parent_of(t.get((8, 2)).unwrap()).unwrap().start_ticks, 1);
}

#[test]
fn capacity_evicts_exited_first_and_counts() {
    let mut t = ProcTable::new(16, 1_000_000);
    for pid in 0..16 {
        t.insert(proc(pid, 1, None));
    }
    t.mark_exited((5, 1), 1);
    t.insert(proc(100, 1, None));
    assert!(t.get((5, 1)).is_none(), "the exited entry goes first");
    assert_eq!(t.stats().evictions, 1);
    assert_eq!(t.len(), 16);
    for pid in 200..300 {
        t.insert(proc(pid, 1, None));
    }
    assert!(t.len() <= 16);
    assert_eq!(t.stats().evictions, 101);
}

#[test]
fn args_are_capped_in_the_table() {
    let mut p = ProcInfo::default();
    let long = vec!["x".repeat(800), "é".repeat(300)];
    p.set_args(&long, 2);
    let total: usize = p.args().iter().map(|a| a.len()).sum();
    assert!(total <= TABLE_ARGS_BYTES);
    assert_eq!(p.args_count, 2);
    assert!(p.args_cut() || p.args().len() == 2);
    let mut q = ProcInfo::default();
    q.set_args(&["a".into(), "".into(), "b c".into()], 3);
    assert_eq!(q.args(), vec!["a", "", "b c"]);
    assert_eq!(q.command_line(), "a  b c");
}

#[test]
fn eviction_order_exited_childless_first_then_least_recently_active() {
    let mut t = ProcTable::new(100, 1_000_000);
    t.insert(proc(1, 1, None)); // A
    t.insert(proc(2, 2, Some((1, 1)))); // B, child of A: A becomes the most recent
    t.insert(proc(3, 3, None)); // C
    t.insert(proc(4, 4, None)); // D
    assert_eq!(t.eviction_order(), vec![(1, 1), (2, 2), (3, 3), (4, 4)]);
    t.mark_exited((1, 1), 10); // A has a child: stays among the active, in place
    t.mark_exited((3, 3), 11); // C: exited, childless, goes first
    assert_eq!(t.eviction_order(), vec![(3, 3), (1, 1), (2, 2), (4, 4)]);
    t.insert(proc(4, 4, None)); // D exec'd: most recently active
    t.insert(proc(2, 2, Some((1, 1)))); // B exec'd
    assert_eq!(t.eviction_order(), vec![(3, 3), (1, 1), (4, 4), (2, 2)]);
    t.mark_exited((2, 2), 12); // B done: after C
    assert_eq!(t.eviction_order(), vec![(3, 3), (2, 2), (1, 1), (4, 4)]);
    // Evicting B (full table) frees A of its last child: A joins the exited-childless.
    t.remove_for_test((3, 3));
    t.remove_for_test((2, 2));
    assert_eq!(t.eviction_order(), vec![(1, 1), (4, 4)]);
    // A new child of an exited parent makes it needed again (active, most recent).
    t.insert(proc(5, 5, Some((1, 1))));
    assert_eq!(t.eviction_order(), vec![(4, 4), (1, 1), (5, 5)]);
}

#[test]
fn full_table_evicts_one_entry_per_insert_in_order() {
    let mut t = ProcTable::new(16, 1_000_000);
    for pid in 1..=16 {
        // 2..=16 are children of 1, which stays the most recently active as they come.
        let parent = (pid > 1).then_some((1, 1));
        t.insert(proc(pid, pid as u64, parent));
    }
    t.mark_exited((9, 9), 5);
    t.mark_exited((4, 4), 6);
    t.mark_exited((1, 1), 7); // has children: not first
    t.insert(proc(100, 100, None));
    assert!(
        t.get((9, 9)).is_none(),
        "first exited-and-childless goes first"
    );
    t.insert(proc(101, 101, None));
    assert!(t.get((4, 4)).is_none());
    assert_eq!(t.stats().evictions, 2);
    // Then the least recently active: 2, 3, 5 (1 was touched by each child).
    t.insert(proc(102, 102, None));
    t.insert(proc(103, 103, None));
    assert!(t.get((2, 2)).is_none() && t.get((3, 3)).is_none());
    assert!(t.get((5, 5)).is_some() && t.get((1, 1)).is_some());
    assert_eq!(t.len(), 16);
    assert_eq!(t.stats().evictions, 4);
}

#[test]
fn pid_chains_survive_removals_in_any_order() {
    let mut t = ProcTable::new(64, 0);
    for start in [5, 1, 9, 3] {
        t.insert(proc(7, start, None));
    }
    assert_eq!(t.by_pid(7).unwrap().start_ticks, 9);
    for start in [5, 1, 9, 3] {
        assert_eq!(t.get((7, start)).unwrap().start_ticks, start);
    }
    t.remove_for_test((5, 5)); // absent key: nothing happens
    t.remove_for_test((7, 3));
    t.remove_for_test((7, 9));
    assert_eq!(t.by_pid(7).unwrap().start_ticks, 5);
    assert!(t.get((7, 1)).is_some() && t.get((7, 3)).is_none());
    t.remove_for_test((7, 5));
    t.remove_for_test((7, 1));
    assert!(t.by_pid(7).is_none() && t.is_empty());
}

/// Random inserts, exits, reaps and evictions against a plain model: the table holds exactly
/// the model's keys, never more than its capacity, and its lists name every entry once.
#[test]
fn random_operations_keep_the_structure_consistent() {
    let mut t = ProcTable::new(64, 50);
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut now = 0u64;
    for step in 0..20_000u64 {
        now += 1;
        let r = next();
        let pid = (r % 97) as u32;
        match (r >> 8) % 6 {
            0..=2 => {
                let parent = t.by_pid(((r >> 16) % 97) as u32).map(|p| p.key());
                t.insert(proc(pid, step, parent));
            }
            3 => {
                if let Some(k) = t.by_pid(pid).map(|p| p.key()) {
                    t.mark_exited(k, now);
                }
            }
            4 => t.reap(now),
            _ => {
                if let Some(k) = t.by_pid(pid).map(|p| p.key()) {
                    t.insert(proc(k.0, k.1, None)); // exec: replaced in place
                }
            }
        }
        let order = t.eviction_order();
        assert_eq!(order.len(), t.len());
        assert!(t.len() <= 64);
        let mut seen = std::collections::HashSet::new();
        for k in &order {
            assert!(seen.insert(*k), "listed once");
            assert_eq!(t.get(*k).map(|p| p.key()), Some(*k));
        }
        // Children counts match the parent links.
        let mut kids: HashMap<Key, u32> = HashMap::default();
        for k in &order {
            if let Some(pk) = t.get(*k).and_then(|p| p.parent) {
                if t.get(pk).is_some() {
                    *kids.entry(pk).or_default() += 1;
                }
            }
        }
        for k in &order {
            let p = t.get(*k).unwrap();
            assert_eq!(p.children, kids.get(k).copied().unwrap_or(0), "{k:?}");
        }
        // Exited-and-childless entries come first, in one block.
        let done: Vec<bool> = order
            .iter()
            .map(|k| {
                t.get(*k)
                    .is_some_and(|p| p.exited.is_some() && p.children == 0)
            })
            .collect();
        assert!(done.windows(2).all(|w| w[0] || !w[1]), "{done:?}");
    }
    assert!(t.stats().evictions > 0 && t.stats().reaped > 0);
}

#[test]
fn argv_budget_bounds_the_table_for_any_command_lines() {
    // 10 entries of 1,000-byte argv under a 5,000-byte budget: the first five keep theirs,
    // later ones keep the over-budget size; removing entries gives the bytes back.
    let mut t = ProcTable::new(64, 0).with_argv_budget(5_000);
    let long = |i: u32| vec![format!("{i:0>1000}")];
    for i in 0..10u32 {
        let mut p = proc(100 + i, 1, None);
        p.set_args(&long(i), 1);
        t.insert(p);
    }
    let kept: Vec<usize> = (0..10u32)
        .map(|i| t.get((100 + i, 1)).map_or(0, |p| p.args.len()))
        .collect();
    assert_eq!(kept[..5], [1000; 5]);
    assert_eq!(kept[5..], [TABLE_ARGS_BYTES_OVER_BUDGET; 5]);
    assert_eq!(t.stats().argv_cut, 5);
    assert_eq!(t.argv_bytes(), 5 * 1000 + 5 * TABLE_ARGS_BYTES_OVER_BUDGET);
    assert!(t
        .get((105, 1))
        .is_some_and(|p| p.args_cut() || p.args.len() < 1000));
    // Replacing an entry counts only the new argv.
    let mut again = proc(100, 1, None);
    again.set_args(&["short".to_string()], 1);
    t.insert(again);
    assert_eq!(
        t.argv_bytes(),
        4 * 1000 + 5 + 5 * TABLE_ARGS_BYTES_OVER_BUDGET
    );
    // Removing frees budget: a new long argv fits again.
    t.remove_for_test((101, 1));
    t.remove_for_test((102, 1));
    let mut p = proc(200, 1, None);
    p.set_args(&long(7), 1);
    t.insert(p);
    assert_eq!(t.get((200, 1)).map(|p| p.args.len()), Some(1000));
}
