//! Seeds the process table from /proc, so processes that existed before the sensor have
//! ancestry. Processes that vanish while being read are skipped.

use crate::host::{ticks_to_ns, HostInfo};
use crate::table::{ProcInfo, ProcTable};
use std::fs;
use std::path::Path;

/// Fields of /proc/PID/stat after the command name.
struct Stat {
    comm: String,
    ppid: u32,
    tty_nr: u32,
    start_ticks: u64,
}

fn parse_stat(s: &str) -> Option<Stat> {
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let comm = s.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = s.get(close + 2..)?.split_whitespace().collect();
    // rest[0] is field 3 (state); field N is rest[N - 3].
    Some(Stat {
        comm,
        ppid: rest.get(1)?.parse().ok()?,
        tty_nr: rest.get(4)?.parse().ok()?,
        start_ticks: rest.get(19)?.parse().ok()?,
    })
}

/// Start ticks of a pid from /proc/PID/stat.
pub fn start_ticks(pid: u32) -> Option<u64> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?).map(|s| s.start_ticks)
}

fn ids(status: &str, field: &str) -> Option<(u32, u32)> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let mut it = line[field.len()..].split_whitespace();
    let real = it.next()?.parse().ok()?;
    let eff = it.next()?.parse().ok()?;
    Some((real, eff))
}

fn tty_of(tty_nr: u32) -> Option<(u32, u32)> {
    if tty_nr == 0 {
        return None;
    }
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    Some((major, minor))
}

/// The container id in a cgroup path or leaf name: a 64-hex-digit component such as
/// `docker-<id>.scope`, `cri-containerd-<id>.scope`, `libpod-<id>.scope` or `<id>`.
pub fn container_id(cgroup: &str) -> Option<String> {
    for part in cgroup.rsplit('/') {
        let core = part.strip_suffix(".scope").unwrap_or(part);
        let id = core.rsplit(['-', ':']).next().unwrap_or(core);
        if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(id.to_string());
        }
    }
    None
}

fn read_link(p: &Path) -> String {
    fs::read_link(p)
        .map(|l| l.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads one process; None if it is gone or unreadable.
pub fn read_process(host: &HostInfo, pid: u32) -> Option<ProcInfo> {
    let dir = Path::new("/proc").join(pid.to_string());
    let stat = parse_stat(&fs::read_to_string(dir.join("stat")).ok()?)?;
    let status = fs::read_to_string(dir.join("status")).unwrap_or_default();
    let (uid, euid) = ids(&status, "Uid:").unwrap_or((0, 0));
    let (gid, _) = ids(&status, "Gid:").unwrap_or((0, 0));
    let cmdline = fs::read(dir.join("cmdline")).unwrap_or_default();
    let args = crate::raw::split_argv(&cmdline);
    let mut executable = read_link(&dir.join("exe"));
    if let Some(s) = executable.strip_suffix(" (deleted)") {
        executable = s.to_string();
    }
    let cgroup = fs::read_to_string(dir.join("cgroup")).unwrap_or_default();
    let mut p = ProcInfo {
        pid,
        ppid: stat.ppid,
        start_ticks: stat.start_ticks,
        start_ns: ticks_to_ns(stat.start_ticks),
        entity_id: host.entity_id(pid, stat.start_ticks),
        name: if executable.is_empty() {
            stat.comm.into()
        } else {
            basename(&executable).into()
        },
        executable: executable.into(),
        cwd: read_link(&dir.join("cwd")).into(),
        uid,
        gid,
        euid,
        tty: tty_of(stat.tty_nr),
        container_id: cgroup.lines().find_map(container_id).map(Into::into),
        ..Default::default()
    };
    let n = args.len();
    p.set_args(&args, n);
    Some(p)
}

pub fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Adds every process in /proc to the table, parents linked. Returns how many were read.
pub fn seed(table: &mut ProcTable, host: &HostInfo) -> usize {
    let Ok(dir) = fs::read_dir("/proc") else {
        return 0;
    };
    let mut procs: Vec<ProcInfo> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| read_process(host, pid))
        .collect();
    // Parents first (they started earlier), so links resolve as entries go in.
    procs.sort_by_key(|p| (p.start_ticks, p.pid));
    let n = procs.len();
    for mut p in procs {
        if table.get(p.key()).is_some() {
            continue; // already known from a kernel record
        }
        p.parent = table.by_pid(p.ppid).map(|pp| pp.key());
        table.insert(p);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_comm() {
        let s =
            "1234 (a) b (c)) S 1 1234 1234 34816 1234 4194560 0 0 0 0 0 0 0 0 20 0 1 0 98765 0 0";
        let st = parse_stat(s).unwrap();
        assert_eq!(st.comm, "a) b (c)");
        assert_eq!(st.ppid, 1);
        assert_eq!(st.tty_nr, 34816);
        assert_eq!(st.start_ticks, 98765);
        assert_eq!(tty_of(34816), Some((136, 0)));
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn container_ids() {
        let id = "a".repeat(64);
        assert_eq!(
            container_id(&format!("0::/system.slice/docker-{id}.scope")),
            Some(id.clone())
        );
        assert_eq!(
            container_id(&format!("cri-containerd-{id}.scope")),
            Some(id.clone())
        );
        assert_eq!(
            container_id(&format!("/kubepods/besteffort/pod1/{id}")),
            Some(id)
        );
        assert_eq!(container_id("0::/user.slice/session-1.scope"), None);
    }

    #[test]
    fn seeds_this_process_with_its_parent() {
        let host = HostInfo::detect();
        let mut t = ProcTable::new(65536, 1);
        assert!(seed(&mut t, &host) > 1);
        let me = t
            .by_pid(std::process::id())
            .expect("this test process is in the table");
        assert!(me.parent.is_some(), "linked to its parent");
        assert!(!me.args().is_empty());
        assert_eq!(me.entity_id, host.entity_id(me.pid, me.start_ticks));
    }
}
