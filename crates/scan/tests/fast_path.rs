//! The skim fast path on hand-built streams: it takes state_dict-shaped pickles whole, resolves
//! `STACK_GLOBAL` operands through a large memo, and agrees with the full walker.
//!
//! Whether a stream went through the fast path is observed with a work budget of one opcode:
//! the full walker would run out of it at once, the skim does not use it.

use spawnguard_scan::{scan_bytes, scan_bytes_full_walk, scan_bytes_with, Limits, Verdict};

fn one_opcode() -> Limits {
    Limits {
        max_walk_opcodes: 1,
        ..Limits::default()
    }
}

fn binunicode(s: &str) -> Vec<u8> {
    let mut v = vec![b'X'];
    v.extend_from_slice(&(s.len() as u32).to_le_bytes());
    v.extend_from_slice(s.as_bytes());
    v
}

fn short(s: &str) -> Vec<u8> {
    let mut v = vec![0x8c, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

/// Memo writer that numbers keys 0, 1, 2... and uses BINPUT or LONG_BINPUT like the pickler.
struct Memo(u32);
impl Memo {
    fn put(&mut self, out: &mut Vec<u8>) -> u32 {
        let k = self.0;
        if k < 256 {
            out.extend_from_slice(&[b'q', k as u8]);
        } else {
            out.push(b'r');
            out.extend_from_slice(&k.to_le_bytes());
        }
        self.0 += 1;
        k
    }
}

fn get(out: &mut Vec<u8>, k: u32) {
    if k < 256 {
        out.extend_from_slice(&[b'h', k as u8]);
    } else {
        out.push(b'j');
        out.extend_from_slice(&k.to_le_bytes());
    }
}

fn int(out: &mut Vec<u8>, v: u32) {
    if v < 256 {
        out.extend_from_slice(&[b'K', v as u8]);
    } else if v < 65536 {
        out.push(b'M');
        out.extend_from_slice(&(v as u16).to_le_bytes());
    } else {
        out.push(b'J');
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// A torch `data.pkl` as `torch.save` writes it (protocol 2), with `n` tensors.
fn torch_data_pkl(n: u32) -> Vec<u8> {
    let mut m = Memo(0);
    let mut o = b"\x80\x02ccollections\nOrderedDict\n".to_vec();
    let od = m.put(&mut o);
    o.extend_from_slice(b")R");
    m.put(&mut o);
    o.push(b'(');
    let mut rebuild = None;
    let mut storage = None;
    for i in 0..n {
        o.extend_from_slice(&binunicode(&format!("model.layers.{i}.mlp.up_proj.weight")));
        m.put(&mut o);
        match rebuild {
            None => {
                o.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\n");
                rebuild = Some(m.put(&mut o));
            }
            Some(k) => get(&mut o, k),
        }
        o.extend_from_slice(b"((");
        match storage {
            None => {
                o.extend_from_slice(&binunicode("storage"));
                let s = m.put(&mut o);
                o.extend_from_slice(b"ctorch\nBFloat16Storage\n");
                let t = m.put(&mut o);
                storage = Some((s, t));
            }
            Some((s, t)) => {
                get(&mut o, s);
                get(&mut o, t);
            }
        }
        o.extend_from_slice(&binunicode(&i.to_string()));
        m.put(&mut o);
        o.extend_from_slice(&binunicode("cpu"));
        m.put(&mut o);
        int(&mut o, 4096 * (i + 1));
        o.push(b't');
        m.put(&mut o);
        o.push(b'Q');
        int(&mut o, 0);
        int(&mut o, 4096);
        int(&mut o, i + 1);
        o.push(0x86);
        m.put(&mut o);
        int(&mut o, i + 1);
        int(&mut o, 1);
        o.push(0x86);
        m.put(&mut o);
        o.push(0x89);
        get(&mut o, od);
        o.extend_from_slice(b")R");
        m.put(&mut o);
        o.push(b't');
        m.put(&mut o);
        o.push(b'R');
        m.put(&mut o);
        if i % 1000 == 999 {
            o.extend_from_slice(b"u(");
        }
    }
    o.extend_from_slice(b"u.");
    o
}

#[test]
fn a_torch_state_dict_goes_through_the_fast_path_and_agrees_with_the_walker() {
    let data = torch_data_pkl(3000); // ~27,000 memo keys: BINPUT and LONG_BINPUT
    let fast = scan_bytes_with("f", &data, &one_opcode());
    assert_eq!(fast.verdict, Verdict::Safe, "{:?}", fast.findings);
    assert!(fast.errors.is_empty(), "{:?}", fast.errors);
    assert_eq!(fast.pickles, 1);
    let full = scan_bytes_full_walk("f", &data);
    assert_eq!(full.verdict, Verdict::Safe);
    assert!(full.errors.is_empty(), "{:?}", full.errors);
    assert_eq!(fast.string_literals, full.string_literals);
    assert!(fast
        .string_literals
        .iter()
        .any(|l| l == "model.layers.2999.mlp.up_proj.weight"));
}

/// Protocol 4: memoize `n` strings and non-strings (interleaved), then `STACK_GLOBAL` the
/// strings at keys `mk` and `nk` fetched back from the memo.
fn stack_global_via_memo(names: &[&str], mk: u32, nk: u32) -> Vec<u8> {
    let mut o = b"\x80\x04".to_vec();
    let mut m = Memo(0);
    for (i, s) in names.iter().enumerate() {
        o.extend_from_slice(&short(s));
        m.put(&mut o);
        o.push(b'0');
        if i % 3 == 0 {
            // a non-string entry between strings: the memo's string ranks must skip it
            o.push(b')');
            m.put(&mut o);
            o.push(b'0');
        }
    }
    get(&mut o, mk);
    get(&mut o, nk);
    o.push(0x93);
    m.put(&mut o);
    o.extend_from_slice(b")R.");
    o
}

#[test]
fn stack_global_through_a_large_memo_is_resolved_exactly() {
    let mut names: Vec<String> = (0..400).map(|i| format!("name{i}")).collect();
    // strings at positions 250 and 333 (memo keys 250 + 84 and 333 + 111, past several words)
    names[250] = "collections".into();
    names[333] = "OrderedDict".into();
    names[251] = "os".into();
    names[334] = "system".into();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let key = |pos: u32| pos + pos.div_ceil(3); // one extra entry before every 3rd string
    let safe = stack_global_via_memo(&names, key(250), key(333));
    let r = scan_bytes_with("f", &safe, &one_opcode());
    assert_eq!(r.verdict, Verdict::Safe, "{:?} {:?}", r.findings, r.errors);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let full = scan_bytes_full_walk("f", &safe);
    assert_eq!(full.verdict, Verdict::Safe, "{:?}", full.findings);
    assert!(full.errors.is_empty(), "{:?}", full.errors);

    let evil = stack_global_via_memo(&names, key(251), key(334));
    let r = scan_bytes("f", &evil);
    assert_eq!(r.verdict, Verdict::Dangerous);
    assert_eq!(r.findings[0].global, "os.system");
    assert_eq!(r.findings, scan_bytes_full_walk("f", &evil).findings);

    // a non-string memo entry as an operand: not a global at all
    let odd = stack_global_via_memo(&names, key(250) - 1, key(333));
    let r = scan_bytes("f", &odd);
    assert_eq!(r.errors, scan_bytes_full_walk("f", &odd).errors);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
}

#[test]
fn strings_dropped_by_pop_mark_are_not_stack_global_operands() {
    // NONE NONE MARK "collections" "OrderedDict" POP_MARK STACK_GLOBAL: the operands are the two
    // NONEs, which the unpickler rejects
    let data = [
        b"\x80\x04NN(".as_slice(),
        &short("collections"),
        &short("OrderedDict"),
        b"1\x93.",
    ]
    .concat();
    let fast = scan_bytes("f", &data);
    let full = scan_bytes_full_walk("f", &data);
    assert_eq!(full.errors.len(), 1, "{:?}", full.errors);
    assert_eq!(fast.errors, full.errors);
    assert_eq!(fast.findings, full.findings);
}
