//! Synthetic processes shaped like real ones, to measure the memory of a full process table
//! (`spawnguard watch --bench-table-fill N`, `exec_storm sensor --table-fill N`). A benchmark aid
//! only: nothing here is used for detection.
//!
//! Process `i` is a pure function of `i` (a fixed hash, no global state), so every run fills
//! the same table. Its shape:
//! - pid `PID_BASE + i`: above the kernel's `PID_MAX_LIMIT` (4,194,304), so a synthetic pid never
//!   shadows a real process in the table's pid index;
//! - a parent among the earlier synthetic processes (a random recursive tree: depth about 10 at
//!   65,536 processes), process 0 under pid 1;
//! - one of 200 executables (20 programs: interpreters, JVMs, servers, shells, under 10
//!   install prefixes), one of 50 working directories, 20% in one of 30 containers, 5% with a
//!   terminal, a mix of users;
//! - argv: 40% are copies of their executable's worker command line (as pre-forked workers are:
//!   the same argv in many processes), 60% are unique (they embed `i`); lengths, in bytes of
//!   argv joined: 45% 24–100, 40% 100–400, 12% 400–1,500, 3% 1,500–6,000 (the table keeps at
//!   most `TABLE_ARGS_BYTES` of them: JVM class paths, browsers).

use crate::table::ProcInfo;

/// First synthetic pid (above the kernel's PID_MAX_LIMIT of 4,194,304).
pub const PID_BASE: u32 = 10_000_000;

const PROGRAMS: [&str; 20] = [
    "/usr/bin/python3.11",
    "/usr/lib/jvm/java-17-openjdk-amd64/bin/java",
    "/usr/bin/node",
    "/usr/sbin/nginx",
    "/usr/lib/postgresql/16/bin/postgres",
    "/usr/bin/bash",
    "/usr/sbin/sshd",
    "/usr/bin/containerd-shim-runc-v2",
    "/usr/sbin/php-fpm8.2",
    "/usr/local/bin/gunicorn",
    "/usr/bin/ruby3.1",
    "/usr/bin/perl",
    "/usr/sbin/apache2",
    "/usr/bin/redis-server",
    "/usr/lib/chromium/chromium",
    "/usr/bin/dash",
    "/usr/local/bin/celery",
    "/usr/bin/dockerd",
    "/usr/lib/systemd/systemd",
    "/usr/bin/make",
];

const WORDS: [&str; 16] = [
    "config",
    "worker",
    "queue",
    "listen",
    "threads",
    "log-level",
    "pool",
    "include",
    "data-dir",
    "port",
    "timeout",
    "max-memory",
    "profile",
    "classpath",
    "module",
    "bind",
];

/// splitmix64: a fixed, well-mixed hash of `x`.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The executable of program `k` (0..200).
fn executable(k: usize) -> String {
    let base = PROGRAMS[k % PROGRAMS.len()];
    match k / PROGRAMS.len() {
        0 => base.to_string(),
        v => format!("/opt/svc{v:02}{base}"),
    }
}

fn cwd(k: usize) -> String {
    match k % 5 {
        0 if k == 0 => "/".to_string(),
        0 => format!("/var/www/site{k:02}"),
        1 => format!("/srv/app{k:02}"),
        2 => format!("/home/user{k:02}/src/project"),
        3 => format!("/var/lib/service{k:02}"),
        _ => format!("/opt/svc{k:02}/current"),
    }
}

/// Argv bytes (joined) wanted for seed `s`: see the module documentation.
fn argv_len(s: u64) -> usize {
    let pick = s % 100;
    let r = (s >> 8) as usize;
    match pick {
        0..45 => 24 + r % 77,
        45..85 => 100 + r % 301,
        85..97 => 400 + r % 1_101,
        _ => 1_500 + r % 4_501,
    }
}

/// Options after the executable, about `len` bytes in all, from seed `s` (and `unique`, a
/// number embedded when the command line is one process's own).
fn argv(exe: &str, s: u64, unique: Option<usize>) -> Vec<String> {
    let len = argv_len(s);
    let mut out = vec![exe.to_string()];
    let mut total = exe.len();
    if let Some(i) = unique {
        let a = format!("--id={i:x}");
        total += a.len() + 1;
        out.push(a);
    }
    let mut h = s;
    while total < len {
        h = mix(h);
        let w = WORDS[(h % WORDS.len() as u64) as usize];
        let a = match (h >> 8) % 4 {
            0 => format!("--{w}"),
            1 => format!("--{w}={}", (h >> 16) % 10_000),
            2 => format!("/srv/app{}/{w}/{:x}.conf", (h >> 16) % 50, h >> 40),
            _ => format!("{w}.{:x}", (h >> 20) & 0xfff_ffff),
        };
        total += a.len() + 1;
        out.push(a);
    }
    out
}

/// Synthetic process `i`, and the index of its parent among the synthetic processes (None: its
/// parent is pid 1). `now_ticks`: the current time in clock ticks since boot (starts are before
/// it). The entity id is left for the caller (it depends on the host).
pub fn process(i: usize, now_ticks: u64) -> (ProcInfo, Option<usize>) {
    let h = mix(i as u64);
    let k = (h % 200) as usize;
    let exe = executable(k);
    let args = if (h >> 32) % 10 < 4 {
        argv(&exe, mix(k as u64 ^ 0xa5a5), None)
    } else {
        argv(&exe, mix(h), Some(i))
    };
    let parent = (i > 0).then(|| (mix(h ^ 1) % i as u64) as usize);
    let ppid = parent.map_or(1, |j| PID_BASE + j as u32);
    let h2 = mix(h ^ 2);
    let container = h2.is_multiple_of(5).then(|| {
        let c = mix(h2 % 30);
        format!(
            "{c:016x}{:016x}{:016x}{:016x}",
            mix(c),
            mix(c ^ 1),
            mix(c ^ 2)
        )
    });
    let uid = match (h2 >> 8) % 4 {
        0 => 0,
        1 => 33,
        2 => 1000 + ((h2 >> 16) % 20) as u32,
        _ => 999,
    };
    let start_ticks = now_ticks.saturating_sub(1 + ((h2 >> 24) % 1_000_000));
    let name = exe.rsplit('/').next().unwrap_or(&exe).to_string();
    let mut p = ProcInfo {
        pid: PID_BASE + i as u32,
        ppid,
        start_ticks,
        start_ns: crate::host::ticks_to_ns(start_ticks),
        name: name.into(),
        cwd: cwd(((h2 >> 40) % 50) as usize).into(),
        executable: exe.into(),
        uid,
        gid: uid,
        euid: uid,
        tty: (h2 >> 48)
            .is_multiple_of(20)
            .then_some((136, ((h2 >> 52) % 10) as u32)),
        container_id: container.map(Into::into),
        ..Default::default()
    };
    let n = args.len();
    p.set_args(&args, n);
    (p, parent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::TABLE_ARGS_BYTES;
    use std::collections::HashSet;

    #[test]
    fn shapes_are_deterministic_varied_and_linked() {
        let n = 20_000;
        let mut exes = HashSet::new();
        let mut cwds = HashSet::new();
        let mut argvs = HashSet::new();
        let mut lens = Vec::new();
        for i in 0..n {
            let (p, parent) = process(i, 1_000_000_000);
            assert_eq!(process(i, 1_000_000_000).0, p, "a pure function of i");
            assert_eq!(p.pid, PID_BASE + i as u32);
            match parent {
                Some(j) => {
                    assert!(j < i);
                    assert_eq!(p.ppid, PID_BASE + j as u32);
                }
                None => assert_eq!((i, p.ppid), (0, 1)),
            }
            exes.insert(p.executable.to_string());
            cwds.insert(p.cwd.to_string());
            let line = p.command_line();
            lens.push(line.len());
            argvs.insert(line);
            let kept: usize = p.args().iter().map(|a| a.len()).sum();
            assert!(kept <= TABLE_ARGS_BYTES);
            assert_eq!(p.args()[0], &*p.executable);
        }
        assert_eq!(exes.len(), 200);
        assert_eq!(cwds.len(), 50);
        // 40% share their program's command line (200 of them), 60% are unique.
        assert!(argvs.len() > n * 55 / 100 && argvs.len() < n * 65 / 100);
        lens.sort_unstable();
        let median = lens[n / 2];
        assert!((60..400).contains(&median), "median argv {median} bytes");
        assert!(lens[n * 99 / 100] >= 1000, "a long tail");
    }
}
