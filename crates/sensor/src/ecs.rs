//! ECS documents with the field names Elastic Defend uses, so rules written for recorded Defend
//! data run unchanged on live data.
//!
//! Beyond Defend's fields, `process.ancestors` lists the ancestors nearest first, each
//! `{pid, name, executable, command_line, entity_id}` (at most [`MAX_ANCESTORS`]; on exec, file
//! and network events), and
//! `process.Ext.args_truncated: true` marks argv cut at the kernel's capture limit.

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
#[derive(Debug, Clone, Copy)]
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
}

fn brief<S: AsRef<str>>(p: &ProcInfo, args: &[S], argc: usize) -> Map<String, Value> {
    let mut m = Map::new();
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    m.insert("pid".into(), json!(p.pid));
    m.insert("name".into(), json!(&*p.name));
    m.insert("executable".into(), json!(&*p.executable));
    m.insert("args".into(), json!(args));
    m.insert("args_count".into(), json!(argc));
    m.insert("command_line".into(), json!(args.join(" ")));
    m.insert("entity_id".into(), json!(p.entity_id.as_str()));
    m
}

impl Builder<'_> {
    fn base(&self, ts_ns: u64, kind: &EventShape) -> Map<String, Value> {
        let mut doc = Map::new();
        doc.insert("@timestamp".into(), json!(self.host.timestamp(ts_ns)));
        doc.insert(
            "event".into(),
            json!({
                "kind": EVENT_KIND,
                "category": [kind.category],
                "type": kind.types,
                "action": kind.action,
                "module": EVENT_MODULE,
                "dataset": kind.dataset,
            }),
        );
        doc.insert(
            "host".into(),
            json!({
                "name": self.host.hostname,
                "hostname": self.host.hostname,
                "id": self.host.id,
                "os": {"type": HOST_OS_TYPE, "kernel": kernel_release()},
            }),
        );
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
        let mut m = match full_args {
            Some((args, argc, _)) => brief(p, args, argc),
            None => brief(p, &p.args(), p.args_count),
        };
        let truncated = full_args.is_some_and(|f| f.2) || (full_args.is_none() && p.args_cut());
        if !p.cwd.is_empty() {
            m.insert("working_directory".into(), json!(&*p.cwd));
        }
        m.insert("start".into(), json!(self.host.timestamp(p.start_ns)));
        m.insert("interactive".into(), json!(p.tty.is_some()));
        if let Some((major, minor)) = p.tty {
            m.insert(
                "tty".into(),
                json!({"char_device": {"major": major, "minor": minor}}),
            );
        }
        m.insert("user".into(), self.user(p.euid));
        m.insert("real_user".into(), self.user(p.uid));
        m.insert("group".into(), json!({"id": p.gid.to_string()}));
        if let Some(pp) = self.table.parent_of(p) {
            let mut pm = brief(pp, &pp.args(), pp.args_count);
            if pp.args_cut() {
                pm.insert("Ext".into(), json!({"args_truncated": true}));
            }
            m.insert("parent".into(), Value::Object(pm));
        } else if p.ppid != 0 {
            m.insert("parent".into(), json!({"pid": p.ppid}));
        }
        let ancestors = self.table.ancestors(p, MAX_ANCESTORS);
        let ancestry: Vec<&str> = ancestors.iter().map(|a| a.entity_id.as_str()).collect();
        let mut ext = Map::new();
        ext.insert("ancestry".into(), json!(ancestry));
        if truncated {
            ext.insert("args_truncated".into(), json!(true));
        }
        m.insert("Ext".into(), Value::Object(ext));
        if !detail {
            return m;
        }
        m.insert(
            "ancestors".into(),
            Value::Array(
                ancestors
                    .iter()
                    .map(|a| {
                        json!({"pid": a.pid, "name": &*a.name, "executable": &*a.executable,
                               "command_line": a.command_line(), "entity_id": a.entity_id.as_str()})
                    })
                    .collect(),
            ),
        );
        m
    }

    fn user(&self, uid: u32) -> Value {
        match self.users.name(uid) {
            Some(n) => json!({"id": uid.to_string(), "name": n}),
            None => json!({"id": uid.to_string()}),
        }
    }

    fn finish(
        &self,
        mut doc: Map<String, Value>,
        p: &ProcInfo,
        process: Map<String, Value>,
    ) -> Event {
        doc.insert("process".into(), Value::Object(process));
        doc.insert("user".into(), self.user(p.euid));
        if let Some(c) = &p.container_id {
            doc.insert("container".into(), json!({"id": &**c}));
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
        let doc = self.base(ts_ns, &EXEC);
        let proc_ = self.process(p, Some((args, argc, truncated)), true);
        self.finish(doc, p, proc_)
    }

    pub fn fork(&self, ts_ns: u64, p: &ProcInfo) -> Event {
        let doc = self.base(ts_ns, &FORK);
        let proc_ = self.process(p, None, false);
        self.finish(doc, p, proc_)
    }

    pub fn exit(&self, ts_ns: u64, p: &ProcInfo, exit_code: u32) -> Event {
        let doc = self.base(ts_ns, &EXIT);
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
        let mut doc = self.base(rec.hdr.ktime_ns, kind);
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
        let mut doc = self.base(rec.hdr.ktime_ns, &CONNECT);
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
    use crate::table::ProcTable;

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
}
