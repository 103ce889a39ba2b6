//! ECS documents with the field names Elastic Defend uses, so rules written for recorded Defend
//! data run unchanged on live data.
//!
//! Beyond Defend's fields, `process.ancestors` lists the ancestors nearest first, each
//! `{pid, name, executable, command_line, entity_id}` (at most [`MAX_ANCESTORS`]; on exec, file
//! and network events), and
//! `process.Ext.args_truncated: true` marks argv cut at the kernel's capture limit.

mod cache;
pub mod probe;

pub use cache::Fragments;
use cache::{Const, Kind};
pub use probe::{ExecProbe, EXEC_PROBE_FIELDS};

use crate::host::HostInfo;
use crate::raw::{ConnectRecord, FileRecord, CLASS_CREDENTIAL};
use crate::table::{ProcInfo, ProcTable};
use serde_json::{json, Map, Value};
use spawnguard_event::Event;
use std::collections::HashMap;
use std::net::IpAddr;

/// Ancestors listed in `process.Ext.ancestry` and `process.ancestors`.
pub const MAX_ANCESTORS: usize = 16;

/// `event.kind` of every event.
pub const EVENT_KIND: &str = "event";
/// `event.module` of every event.
pub const EVENT_MODULE: &str = "spawnguard";
/// `host.os.type` of every event.
pub const HOST_OS_TYPE: &str = "linux";

/// The `event.*` values that make an event kind: the builder writes exactly these, so a rule's
/// conditions can be checked against them before any event is built (see [`EventShape::fields`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventShape {
    pub category: &'static str,
    pub types: &'static [&'static str],
    pub action: &'static str,
    pub dataset: &'static str,
}

impl EventShape {
    /// (field, every value it holds) for the fields every event of this kind has the same
    /// values in: what `spawnguard_engine::wants` takes.
    pub fn fields(&'static self) -> [(&'static str, &'static [&'static str]); 7] {
        [
            ("event.kind", &[EVENT_KIND]),
            ("event.category", std::slice::from_ref(&self.category)),
            ("event.type", self.types),
            ("event.action", std::slice::from_ref(&self.action)),
            ("event.module", &[EVENT_MODULE]),
            ("event.dataset", std::slice::from_ref(&self.dataset)),
            ("host.os.type", &[HOST_OS_TYPE]),
        ]
    }
}

pub const EXEC: EventShape = EventShape {
    category: "process",
    types: &["start"],
    action: "exec",
    dataset: "spawnguard.process",
};
pub const FORK: EventShape = EventShape {
    category: "process",
    types: &["start"],
    action: "fork",
    dataset: "spawnguard.process",
};
pub const EXIT: EventShape = EventShape {
    category: "process",
    types: &["end"],
    action: "end",
    dataset: "spawnguard.process",
};
pub const FILE_CREATION: EventShape = EventShape {
    category: "file",
    types: &["creation"],
    action: "creation",
    dataset: "spawnguard.file",
};
pub const FILE_MODIFICATION: EventShape = EventShape {
    category: "file",
    types: &["change"],
    action: "modification",
    dataset: "spawnguard.file",
};
pub const FILE_OPEN: EventShape = EventShape {
    category: "file",
    types: &["access"],
    action: "open",
    dataset: "spawnguard.file",
};
pub const CONNECT: EventShape = EventShape {
    category: "network",
    types: &["start"],
    action: "connection_attempted",
    dataset: "spawnguard.network",
};

/// uid -> user name, from /etc/passwd.
#[derive(Debug, Default, Clone)]
pub struct Users(HashMap<u32, String>);

impl Users {
    pub fn load() -> Users {
        let text = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        Users(
            text.lines()
                .filter_map(|l| {
                    let mut f = l.split(':');
                    let name = f.next()?;
                    let uid = f.nth(1)?.parse().ok()?;
                    Some((uid, name.to_string()))
                })
                .collect(),
        )
    }
    pub fn name(&self, uid: u32) -> Option<&str> {
        self.0.get(&uid).map(String::as_str)
    }
}

pub struct Builder<'a> {
    pub host: &'a HostInfo,
    pub users: &'a Users,
    pub table: &'a ProcTable,
    /// Parents' and ancestors' objects built before (see [`Fragments`]); `None`: build all.
    pub fragments: Option<&'a Fragments>,
}

/// Builds JSON objects with their final size known, so no map grows (and rehashes) while
/// being filled: events are built at the exec rate, most of the sensor's CPU time.
fn obj(cap: usize) -> Map<String, Value> {
    Map::with_capacity(cap)
}

fn put(m: &mut Map<String, Value>, k: &str, v: Value) {
    m.insert(k.to_owned(), v);
}

fn text(s: &str) -> Value {
    Value::String(s.to_owned())
}

/// `pid, name, executable, args, args_count, command_line, entity_id`; room for `extra` more.
fn brief<S: AsRef<str>>(p: &ProcInfo, args: &[S], argc: usize, extra: usize) -> Map<String, Value> {
    let mut m = obj(7 + extra);
    let len = args.iter().map(|a| a.as_ref().len() + 1).sum::<usize>();
    let mut line = String::with_capacity(len);
    let mut list = Vec::with_capacity(args.len());
    for (i, a) in args.iter().enumerate() {
        let a = a.as_ref();
        if i > 0 {
            line.push(' ');
        }
        line.push_str(a);
        list.push(text(a));
    }
    put(&mut m, "pid", Value::from(p.pid));
    put(&mut m, "name", text(&p.name));
    put(&mut m, "executable", text(&p.executable));
    put(&mut m, "args", Value::Array(list));
    put(&mut m, "args_count", Value::from(argc));
    put(&mut m, "command_line", Value::String(line));
    put(&mut m, "entity_id", text(p.entity_id.as_str()));
    m
}

impl Builder<'_> {
    /// `@timestamp`, `event`, `host`; room for `extra` more top-level fields.
    fn base(&self, ts_ns: u64, kind: &EventShape, extra: usize) -> Map<String, Value> {
        let mut doc = obj(3 + extra);
        put(
            &mut doc,
            "@timestamp",
            Value::String(self.host.timestamp(ts_ns)),
        );
        let event = self.constant(Const::Event(*kind), || {
            let mut event = obj(6);
            put(&mut event, "kind", text(EVENT_KIND));
            put(
                &mut event,
                "category",
                Value::Array(vec![text(kind.category)]),
            );
            put(
                &mut event,
                "type",
                Value::Array(kind.types.iter().map(|t| text(t)).collect()),
            );
            put(&mut event, "action", text(kind.action));
            put(&mut event, "module", text(EVENT_MODULE));
            put(&mut event, "dataset", text(kind.dataset));
            Value::Object(event)
        });
        put(&mut doc, "event", event);
        let host = self.constant(Const::Host, || {
            let mut os = obj(2);
            put(&mut os, "type", text(HOST_OS_TYPE));
            put(&mut os, "kernel", text(kernel_release()));
            let mut host = obj(4);
            put(&mut host, "name", text(&self.host.hostname));
            put(&mut host, "hostname", text(&self.host.hostname));
            put(&mut host, "id", text(&self.host.id));
            put(&mut host, "os", Value::Object(os));
            Value::Object(host)
        });
        put(&mut doc, "host", host);
        doc
    }

    /// `process.*` for `p`; `full_args` overrides the table's capped argv (exec records).
    /// `detail`: include `process.ancestors` (exec, file and network events; fork and end
    /// events carry only `process.Ext.ancestry`, which keeps them cheap in exec storms).
    fn process(
        &self,
        p: &ProcInfo,
        full_args: Option<(&[String], usize, bool)>,
        detail: bool,
    ) -> Map<String, Value> {
        // brief's 7, then working_directory, start, interactive, tty, user, real_user, group,
        // parent, Ext, ancestors, and exit_code and end for exits.
        const EXTRA: usize = 12;
        let mut m = match full_args {
            Some((args, argc, _)) => brief(p, args, argc, EXTRA),
            None => brief(p, &p.args(), p.args_count, EXTRA),
        };
        let truncated = full_args.is_some_and(|f| f.2) || (full_args.is_none() && p.args_cut());
        if !p.cwd.is_empty() {
            put(&mut m, "working_directory", text(&p.cwd));
        }
        put(
            &mut m,
            "start",
            Value::String(self.host.timestamp(p.start_ns)),
        );
        put(&mut m, "interactive", Value::Bool(p.tty.is_some()));
        if let Some((major, minor)) = p.tty {
            let mut dev = obj(2);
            put(&mut dev, "major", Value::from(major));
            put(&mut dev, "minor", Value::from(minor));
            let mut tty = obj(1);
            put(&mut tty, "char_device", Value::Object(dev));
            put(&mut m, "tty", Value::Object(tty));
        }
        put(&mut m, "user", self.user(p.euid));
        put(&mut m, "real_user", self.user(p.uid));
        let mut group = obj(1);
        put(&mut group, "id", Value::String(p.gid.to_string()));
        put(&mut m, "group", Value::Object(group));
        if let Some(pp) = self.table.parent_of(p) {
            let parent = self.fragment(pp, Kind::Parent, || {
                let cut = pp.args_cut();
                let mut pm = brief(pp, &pp.args(), pp.args_count, usize::from(cut));
                if cut {
                    let mut ext = obj(1);
                    put(&mut ext, "args_truncated", Value::Bool(true));
                    put(&mut pm, "Ext", Value::Object(ext));
                }
                Value::Object(pm)
            });
            put(&mut m, "parent", parent);
        } else if p.ppid != 0 {
            let mut pm = obj(1);
            put(&mut pm, "pid", Value::from(p.ppid));
            put(&mut m, "parent", Value::Object(pm));
        }
        let ancestors = self.table.ancestors(p, MAX_ANCESTORS);
        let mut ext = obj(2);
        put(
            &mut ext,
            "ancestry",
            Value::Array(
                ancestors
                    .iter()
                    .map(|a| text(a.entity_id.as_str()))
                    .collect(),
            ),
        );
        if truncated {
            put(&mut ext, "args_truncated", Value::Bool(true));
        }
        put(&mut m, "Ext", Value::Object(ext));
        if !detail {
            return m;
        }
        let list = ancestors
            .iter()
            .map(|a| {
                self.fragment(a, Kind::Ancestor, || {
                    let mut o = obj(5);
                    put(&mut o, "pid", Value::from(a.pid));
                    put(&mut o, "name", text(&a.name));
                    put(&mut o, "executable", text(&a.executable));
                    put(&mut o, "command_line", Value::String(a.command_line()));
                    put(&mut o, "entity_id", text(a.entity_id.as_str()));
                    Value::Object(o)
                })
            })
            .collect();
        put(&mut m, "ancestors", Value::Array(list));
        m
    }

    fn fragment(&self, p: &ProcInfo, kind: Kind, build: impl FnOnce() -> Value) -> Value {
        match self.fragments {
            Some(f) => f.get(p, kind, build),
            None => build(),
        }
    }

    fn constant(&self, key: Const, build: impl FnOnce() -> Value) -> Value {
        match self.fragments {
            Some(f) => f.constant(key, build),
            None => build(),
        }
    }

    fn user(&self, uid: u32) -> Value {
        self.constant(Const::User(uid), || {
            let name = self.users.name(uid);
            let mut u = obj(1 + usize::from(name.is_some()));
            put(&mut u, "id", Value::String(uid.to_string()));
            if let Some(n) = name {
                put(&mut u, "name", text(n));
            }
            Value::Object(u)
        })
    }

    fn finish(
        &self,
        mut doc: Map<String, Value>,
        p: &ProcInfo,
        process: Map<String, Value>,
    ) -> Event {
        put(&mut doc, "process", Value::Object(process));
        put(&mut doc, "user", self.user(p.euid));
        if let Some(c) = &p.container_id {
            let mut cm = obj(1);
            put(&mut cm, "id", text(c));
            put(&mut doc, "container", Value::Object(cm));
        }
        Event::new(Value::Object(doc))
    }

    pub fn exec(
        &self,
        ts_ns: u64,
        p: &ProcInfo,
        args: &[String],
        argc: usize,
        truncated: bool,
    ) -> Event {
        let doc = self.base(ts_ns, &EXEC, 3);
        let proc_ = self.process(p, Some((args, argc, truncated)), true);
        self.finish(doc, p, proc_)
    }

    pub fn fork(&self, ts_ns: u64, p: &ProcInfo) -> Event {
        let doc = self.base(ts_ns, &FORK, 3);
        let proc_ = self.process(p, None, false);
        self.finish(doc, p, proc_)
    }

    pub fn exit(&self, ts_ns: u64, p: &ProcInfo, exit_code: u32) -> Event {
        let doc = self.base(ts_ns, &EXIT, 3);
        let mut proc_ = self.process(p, None, false);
        // wait(2) status: a signal in the low 7 bits, else the code in bits 8..16.
        let sig = exit_code & 0x7f;
        let code = if sig != 0 {
            128 + sig as i64
        } else {
            ((exit_code >> 8) & 0xff) as i64
        };
        proc_.insert("exit_code".into(), json!(code));
        proc_.insert("end".into(), json!(self.host.timestamp(ts_ns)));
        self.finish(doc, p, proc_)
    }

    pub fn file(&self, rec: &FileRecord, p: &ProcInfo) -> Event {
        let kind = if rec.created() {
            &FILE_CREATION
        } else if rec.write() {
            &FILE_MODIFICATION
        } else {
            &FILE_OPEN
        };
        let mut doc = self.base(rec.hdr.ktime_ns, kind, 4);
        let name = crate::procfs::basename(&rec.path);
        let mut file = json!({"path": rec.path, "name": name});
        if let Some((stem, ext)) = name.rsplit_once('.') {
            if !stem.is_empty() && !ext.is_empty() {
                file["extension"] = json!(ext);
            }
        }
        let class = if rec.class == CLASS_CREDENTIAL {
            "credential"
        } else {
            "persistence"
        };
        file["Ext"] = json!({"sensitive_class": class, "open_flags": rec.open_flags});
        doc.insert("file".into(), file);
        let proc_ = self.process(p, None, true);
        self.finish(doc, p, proc_)
    }

    pub fn connect(&self, rec: &ConnectRecord, p: &ProcInfo) -> Event {
        let mut doc = self.base(rec.hdr.ktime_ns, &CONNECT, 5);
        let transport = match rec.sock_type {
            1 => Some("tcp"),
            2 => Some("udp"),
            _ => None,
        };
        let net_type = if matches!(rec.addr, IpAddr::V4(_)) {
            "ipv4"
        } else {
            "ipv6"
        };
        let mut network = json!({"type": net_type, "direction": "egress"});
        if let Some(t) = transport {
            network["transport"] = json!(t);
        }
        doc.insert("network".into(), network);
        doc.insert(
            "destination".into(),
            json!({"ip": rec.addr.to_string(), "address": rec.addr.to_string(), "port": rec.port}),
        );
        let proc_ = self.process(p, None, true);
        self.finish(doc, p, proc_)
    }
}

fn kernel_release() -> &'static str {
    use std::sync::OnceLock;
    static R: OnceLock<String> = OnceLock::new();
    R.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Key, ProcTable};

    #[test]
    fn exec_event_has_defend_fields_and_ancestry() {
        let host = HostInfo {
            hostname: "h".into(),
            id: "m".into(),
            boot_id: "b".into(),
            boot_epoch_ns: 0,
        };
        let users = Users::default();
        let mut t = ProcTable::new(64, 1);
        let mk = |pid, start, name: &str, args: &[&str], parent| {
            let mut p = ProcInfo {
                pid,
                start_ticks: start,
                name: name.into(),
                executable: format!("/usr/bin/{name}").into(),
                entity_id: host.entity_id(pid, start),
                parent,
                ..Default::default()
            };
            let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            p.set_args(&a, a.len());
            p
        };
        t.insert(mk(1, 1, "systemd", &["/sbin/init"], None));
        t.insert(mk(
            100,
            2,
            "python3",
            &["python3", "-c", "import pty"],
            Some((1, 1)),
        ));
        let child = mk(101, 3, "sh", &["/bin/sh", "-c", "true"], Some((100, 2)));
        t.insert(child.clone());
        let b = Builder {
            host: &host,
            users: &users,
            table: &t,
            fragments: None,
        };
        let args: Vec<String> = child.args().iter().map(|s| s.to_string()).collect();
        let ev = b.exec(5, &child, &args, 3, false);
        assert_eq!(ev.get_str("event.action"), Some("exec"));
        assert_eq!(ev.get_str("process.name"), Some("sh"));
        assert_eq!(ev.get_str("process.command_line"), Some("/bin/sh -c true"));
        assert_eq!(ev.get_str("process.parent.name"), Some("python3"));
        assert_eq!(
            ev.get_str("process.parent.command_line"),
            Some("python3 -c import pty")
        );
        assert_eq!(ev.get_str("process.user.id"), Some("0"));
        assert_eq!(ev.get_str("host.os.type"), Some("linux"));
        let anc = ev.doc()["process"]["Ext"]["ancestry"].as_array().unwrap();
        assert_eq!(anc.len(), 2);
        assert_eq!(ev.doc()["process"]["ancestors"][1]["name"], "systemd");
        assert_eq!(ev.doc()["event"]["category"][0], "process");
    }

    /// The shapes `watch` uses to decide which events to build must be what the builder writes.
    #[test]
    fn built_events_have_exactly_their_shapes() {
        use crate::raw::Header;
        use spawnguard_event::FieldPath;
        let host = HostInfo {
            hostname: "h".into(),
            id: "m".into(),
            boot_id: "b".into(),
            boot_epoch_ns: 0,
        };
        let users = Users::default();
        let t = ProcTable::new(64, 1);
        let b = Builder {
            host: &host,
            users: &users,
            table: &t,
            fragments: None,
        };
        let p = ProcInfo {
            pid: 7,
            start_ticks: 1,
            name: "x".into(),
            ..Default::default()
        };
        let hdr = Header {
            kind: 0,
            flags: 0,
            pid: 7,
            tid: 7,
            ppid: 1,
            ktime_ns: 5,
            start_boottime: 1,
        };
        let file = |flags: u32, f_mode: u32| FileRecord {
            hdr: Header {
                flags,
                ..hdr.clone()
            },
            class: CLASS_CREDENTIAL,
            open_flags: 0,
            f_mode,
            path: "/etc/shadow".into(),
        };
        let connect = ConnectRecord {
            hdr: hdr.clone(),
            addr: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            port: 1,
            sock_type: 1,
        };
        let cases: Vec<(Event, &'static EventShape)> = vec![
            (b.exec(5, &p, &["x".to_string()], 1, false), &EXEC),
            (b.fork(5, &p), &FORK),
            (b.exit(5, &p, 0), &EXIT),
            (b.file(&file(0, 0), &p), &FILE_OPEN),
            (
                b.file(&file(crate::raw::FLAG_FILE_WRITE, 0), &p),
                &FILE_MODIFICATION,
            ),
            (
                b.file(&file(0, crate::raw::FMODE_CREATED), &p),
                &FILE_CREATION,
            ),
            (b.connect(&connect, &p), &CONNECT),
        ];
        for (ev, shape) in cases {
            for (field, want) in shape.fields() {
                let got: Vec<&str> = ev
                    .values(&FieldPath::new(field))
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect();
                assert_eq!(got, want, "{field} of {shape:?}");
            }
        }
    }

    /// Cached fragments change nothing: the same documents as building everything, before
    /// and after a process in the chain execs.
    #[test]
    fn fragments_give_the_same_documents() {
        let host = HostInfo {
            hostname: "h".into(),
            id: "m".into(),
            boot_id: "b".into(),
            boot_epoch_ns: 0,
        };
        let users = Users::default();
        let mut t = ProcTable::new(64, 1);
        let mk = |pid: u32, name: &str, parent: Option<Key>| {
            let mut p = ProcInfo {
                pid,
                ppid: pid.saturating_sub(1),
                start_ticks: u64::from(pid),
                name: name.into(),
                executable: format!("/usr/bin/{name}").into(),
                entity_id: host.entity_id(pid, u64::from(pid)),
                parent,
                uid: 1000,
                euid: 1000,
                tty: Some((136, 0)),
                ..Default::default()
            };
            p.set_args(&[name.to_string(), "-x".to_string()], 2);
            p
        };
        t.insert(mk(1, "init", None));
        t.insert(mk(2, "bash", Some((1, 1))));
        t.insert(mk(3, "python3", Some((2, 2))));
        let child = mk(4, "sh", Some((3, 3)));
        t.insert(child.clone());
        let frags = Fragments::default();
        let docs = |t: &ProcTable| {
            let plain = Builder {
                host: &host,
                users: &users,
                table: t,
                fragments: None,
            };
            let cached = Builder {
                fragments: Some(&frags),
                ..plain
            };
            for b in [&cached, &cached] {
                let args = vec!["sh".to_string(), "-c".to_string()];
                assert_eq!(
                    b.exec(9, &child, &args, 2, false).doc(),
                    plain.exec(9, &child, &args, 2, false).doc()
                );
                assert_eq!(b.fork(9, &child).doc(), plain.fork(9, &child).doc());
                assert_eq!(
                    b.exit(9, &child, 256).doc(),
                    plain.exit(9, &child, 256).doc()
                );
            }
            plain.exec(9, &child, &[], 0, false)
        };
        let before = docs(&t);
        // The parent execs something else: its fragments must not be reused.
        let mut py = mk(3, "python3", Some((2, 2)));
        py.name = "node".into();
        py.set_args(&["node".to_string(), "-e".to_string()], 2);
        t.insert(py);
        let after = docs(&t);
        assert_eq!(before.get_str("process.parent.name"), Some("python3"));
        assert_eq!(after.get_str("process.parent.name"), Some("node"));
        assert_eq!(
            after.doc()["process"]["ancestors"][0]["command_line"],
            "node -e"
        );
        assert!(frags.hits() > 0);
    }
}
