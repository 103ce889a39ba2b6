//! What an exec event would hold in its cheap fields, read from the record and the process
//! table before the document is built (see `spawnguard_event::probe`): `watch` asks the
//! engine's gate whether any rule could want the event, and builds it only then.

use super::{Builder, EventShape, EVENT_KIND, EVENT_MODULE, HOST_OS_TYPE};
use crate::table::ProcInfo;
use spawnguard_event::Probe;

/// The fields [`ExecProbe`] provides: every value the built exec event holds in each.
pub const EXEC_PROBE_FIELDS: &[&str] = &[
    "event.kind",
    "event.category",
    "event.type",
    "event.action",
    "event.module",
    "event.dataset",
    "host.os.type",
    "process.name",
    "process.executable",
    "process.args",
    "process.command_line",
    "process.working_directory",
    "process.parent.name",
    "process.parent.executable",
    "process.parent.args",
    "process.parent.command_line",
    "user.name",
    "process.user.name",
    "process.real_user.name",
    "container.id",
];

/// An exec event of `p` with argv `args`, before it is built ([`Builder::exec`] builds it).
pub struct ExecProbe<'a> {
    pub builder: &'a Builder<'a>,
    pub shape: &'static EventShape,
    pub p: &'a ProcInfo,
    pub args: &'a [String],
}

impl Probe for ExecProbe<'_> {
    fn each(&self, field: &str, f: &mut dyn FnMut(&str)) {
        let (b, p) = (self.builder, self.p);
        let parent = || b.table.parent_of(p);
        match field {
            "event.kind" => f(EVENT_KIND),
            "event.category" => f(self.shape.category),
            "event.type" => self.shape.types.iter().for_each(|t| f(t)),
            "event.action" => f(self.shape.action),
            "event.module" => f(EVENT_MODULE),
            "event.dataset" => f(self.shape.dataset),
            "host.os.type" => f(HOST_OS_TYPE),
            "process.name" => f(&p.name),
            "process.executable" => f(&p.executable),
            "process.args" => self.args.iter().for_each(|a| f(a)),
            "process.command_line" => f(&self.args.join(" ")),
            "process.working_directory" if !p.cwd.is_empty() => f(&p.cwd),
            "process.parent.name" => parent().into_iter().for_each(|pp| f(&pp.name)),
            "process.parent.executable" => parent().into_iter().for_each(|pp| f(&pp.executable)),
            "process.parent.args" => parent()
                .into_iter()
                .for_each(|pp| pp.args().into_iter().for_each(&mut *f)),
            "process.parent.command_line" => {
                parent().into_iter().for_each(|pp| f(&pp.command_line()))
            }
            "user.name" | "process.user.name" => b.users.name(p.euid).into_iter().for_each(f),
            "process.real_user.name" => b.users.name(p.uid).into_iter().for_each(f),
            "container.id" => p.container_id.iter().for_each(|c| f(c)),
            _ => {}
        }
    }

    fn array(&self, field: &str) -> bool {
        matches!(
            field,
            "event.category" | "event.type" | "process.args" | "process.parent.args"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::Users;
    use crate::host::HostInfo;
    use crate::table::ProcTable;
    use spawnguard_event::probe::EventProbe;

    fn values(p: &dyn Probe, field: &str) -> Vec<String> {
        let mut out = Vec::new();
        p.each(field, &mut |v| out.push(v.to_string()));
        out
    }

    /// The probe's contract: for every field it provides, exactly the values the built event
    /// holds there, and arrays where the event has arrays.
    #[test]
    fn the_probe_tells_what_the_built_exec_event_holds() {
        let host = HostInfo {
            hostname: "h".into(),
            id: "m".into(),
            boot_id: "b".into(),
            boot_epoch_ns: 0,
        };
        let users = Users([(0, "root".to_string())].into_iter().collect());
        let mut t = ProcTable::new(64, 1);
        let mk = |pid: u32,
                  start: u64,
                  name: &str,
                  args: &[&str],
                  parent: Option<(u32, u64)>,
                  cwd: &str| {
            let mut p = ProcInfo {
                pid,
                ppid: parent.map_or(7, |(pp, _)| pp),
                start_ticks: start,
                name: name.into(),
                executable: format!("/usr/bin/{name}").into(),
                cwd: cwd.into(),
                euid: pid % 2,
                uid: 0,
                entity_id: host.entity_id(pid, start),
                container_id: (pid == 102).then(|| "c0ffee".into()),
                parent,
                ..Default::default()
            };
            let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            p.set_args(&a, a.len() + usize::from(pid == 100));
            p
        };
        t.insert(mk(1, 1, "systemd", &["/sbin/init"], None, "/"));
        t.insert(mk(
            100,
            2,
            "python3",
            &["python3", "-c", "import pty"],
            Some((1, 1)),
            "",
        ));
        let cases = [
            mk(
                101,
                3,
                "sh",
                &["/bin/sh", "-c", "true"],
                Some((100, 2)),
                "/tmp",
            ),
            mk(102, 4, "true", &[], Some((1, 1)), ""),
            mk(103, 5, "orphan", &["orphan", "x y"], None, "/srv"),
        ];
        let b = Builder {
            host: &host,
            users: &users,
            table: &t,
            fragments: None,
        };
        for p in &cases {
            let args: Vec<String> = p.args().iter().map(|s| s.to_string()).collect();
            let ev = b.exec(5, p, &args, args.len(), false);
            let probe = ExecProbe {
                builder: &b,
                shape: &crate::ecs::EXEC,
                p,
                args: &args,
            };
            let built = EventProbe(&ev);
            for f in EXEC_PROBE_FIELDS {
                assert_eq!(values(&probe, f), values(&built, f), "{} {f}", p.name);
                if !values(&built, f).is_empty() {
                    assert_eq!(probe.array(f), built.array(f), "{} {f}", p.name);
                }
            }
        }
    }
}
