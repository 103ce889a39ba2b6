//! The running sensor: drains the ring buffer, keeps the process table and hands out ECS events.

use crate::ecs::{self, Builder, ExecProbe, Fragments, Users};
use crate::host::{boottime_ns, ns_to_ticks, HostInfo};
use crate::latency::LatencyHistogram;
use crate::loader::{self, Loaded};
use crate::paths::{default_rules, PathRule};
use crate::procfs::{self, basename};
use crate::raw::{self, Record};
use crate::table::{ProcInfo, ProcTable};
use crate::Error;
use spawnguard_event::{Event, Probe};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct SensorConfig {
    /// Process-table capacity (entries). Default 65,536.
    pub table_capacity: usize,
    /// How long an exited process stays in the table after its exit (and after its last child).
    pub exit_grace: Duration,
    /// Sleep between two ring-buffer checks while records keep coming (the kernel side sends
    /// them without waking user space). Default 1 ms.
    pub poll_interval: Duration,
    /// After this long without records, user space sleeps until the kernel side wakes it with
    /// the next record. Default 20 ms.
    pub idle_after: Duration,
    /// Sensitive-path rules for file events. Default [`crate::paths::default_rules`].
    pub path_rules: Vec<PathRule>,
    /// Emit fork events (exec, exit, file and network events are always emitted).
    pub emit_forks: bool,
    /// Emit exit events.
    pub emit_exits: bool,
}

impl Default for SensorConfig {
    fn default() -> Self {
        SensorConfig {
            table_capacity: 65_536,
            exit_grace: Duration::from_secs(5),
            poll_interval: Duration::from_millis(1),
            idle_after: Duration::from_millis(20),
            path_rules: default_rules(),
            emit_forks: true,
            emit_exits: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Exec,
    Fork,
    Exit,
    File,
    Network,
}

/// What the sensor knows about an event besides its document.
#[derive(Debug, Clone, Copy)]
pub struct EventMeta {
    pub kind: EventKind,
    /// CLOCK_BOOTTIME ns when the kernel made the record.
    pub ktime_ns: u64,
    /// CLOCK_BOOTTIME ns when user space decoded it.
    pub received_ns: u64,
    pub pid: u32,
}

/// Counters; nothing is dropped without being counted here.
#[derive(Debug, Clone, Default)]
pub struct SensorStats {
    /// Records decoded, by kind.
    pub execs: u64,
    pub forks: u64,
    pub exits: u64,
    pub files: u64,
    pub connects: u64,
    /// Events handed to the caller.
    pub events: u64,
    /// Exec records whose event was not built because the exec gate turned it away (no rule
    /// could want it; see [`Sensor::set_exec_gate`]). The table still took them.
    pub execs_not_built: u64,
    /// Records the kernel could not put in the ring buffer (it was full).
    pub ringbuf_drops: u64,
    /// Records that could not be decoded.
    pub decode_errors: u64,
    /// Execs whose argv was cut at the capture limit (raw::ARGV_MAX bytes).
    pub argv_truncations: u64,
    /// Executable, cwd or file paths cut at the depth or length limit.
    pub path_truncations: u64,
    /// Process-table entries evicted because it was full.
    pub table_evictions: u64,
    /// Table entries whose argv was cut short because the table's argv budget was spent.
    pub table_argv_cut: u64,
    pub table_len: usize,
    pub table_capacity: usize,
    /// Processes read from /proc at start.
    pub seeded: usize,
    /// Kernel record -> user-space decode latency.
    pub latency: LatencyHistogram,
}

pub struct Sensor {
    loaded: Loaded,
    table: ProcTable,
    host: HostInfo,
    users: Users,
    fragments: Fragments,
    config: SensorConfig,
    stats: SensorStats,
    last_reap: Instant,
    last_batch: Instant,
    asleep: bool,
    exec_gate: Option<ExecGate>,
}

/// Decides from a probe of an exec event (see [`crate::ecs::probe`]) whether to build it.
pub type ExecGate = Box<dyn FnMut(&dyn Probe) -> bool + Send>;

/// Longest sleep while idle (bounds the delay of a record that raced with going to sleep).
const MAX_SLEEP: Duration = Duration::from_millis(20);

/// Most records handled per `poll` call before returning to the caller.
const MAX_BATCH: usize = 8192;

impl Sensor {
    /// Loads and attaches the eBPF programs, then seeds the process table from /proc (after
    /// attaching, so no process falls between the two).
    pub fn start(config: SensorConfig) -> Result<Sensor, Error> {
        let loaded = loader::load(&config.path_rules)?;
        let host = HostInfo::detect();
        let mut table = ProcTable::new(config.table_capacity, config.exit_grace.as_nanos() as u64);
        let seeded = procfs::seed(&mut table, &host);
        let stats = SensorStats {
            seeded,
            ..Default::default()
        };
        let now = Instant::now();
        Ok(Sensor {
            loaded,
            table,
            host,
            users: Users::load(),
            fragments: Fragments::default(),
            config,
            stats,
            last_reap: now,
            last_batch: now,
            asleep: false,
            exec_gate: None,
        })
    }

    /// From now on, builds an exec event only when `gate` says yes to its probe, whose fields
    /// are [`crate::ecs::EXEC_PROBE_FIELDS`]; the others are counted in
    /// [`SensorStats::execs_not_built`]. The process table takes every exec either way.
    pub fn set_exec_gate(&mut self, gate: ExecGate) {
        self.exec_gate = Some(gate);
    }

    pub fn host(&self) -> &HostInfo {
        &self.host
    }

    pub fn table(&self) -> &ProcTable {
        &self.table
    }

    pub fn stats(&self) -> SensorStats {
        let mut s = self.stats.clone();
        s.ringbuf_drops = self.loaded.ringbuf_drops();
        let t = self.table.stats();
        s.table_evictions = t.evictions;
        s.table_argv_cut = t.argv_cut;
        s.table_len = t.len;
        s.table_capacity = t.capacity;
        s
    }

    /// Detaches the programs and returns the final counters.
    pub fn stop(self) -> SensorStats {
        self.stats()
    }

    /// Handles what is in the ring buffer; when it is empty, waits up to `timeout` for records
    /// (checking every `poll_interval`). Returns the number of events handed to `f`.
    pub fn poll(
        &mut self,
        timeout: Duration,
        f: &mut dyn FnMut(Event, EventMeta),
    ) -> Result<usize, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let (records, n) = self.drain(f);
            if self.last_reap.elapsed() >= Duration::from_millis(100) {
                self.table.reap(boottime_ns());
                self.last_reap = Instant::now();
            }
            let now = Instant::now();
            // Activity is records read, whether or not they became events (fork and exit
            // records, execs the gate turned away): a storm of them is still a burst to poll.
            if records > 0 {
                self.last_batch = now;
                if self.asleep {
                    self.loaded.set_asleep(false)?;
                    self.asleep = false;
                }
                return Ok(n);
            }
            if now >= deadline {
                return Ok(0);
            }
            if now.duration_since(self.last_batch) < self.config.idle_after {
                // Records come in bursts: poll while one lasts (no wake-ups from the kernel).
                self.wait((deadline - now).min(self.config.poll_interval))?;
            } else {
                // Idle: ask for a wake-up with the next record and sleep. The drain after
                // setting the flag catches a record sent just before the kernel saw it.
                if !self.asleep {
                    self.loaded.set_asleep(true)?;
                    self.asleep = true;
                    continue;
                }
                // Capped, so a record that raced with setting the flag waits at most this long.
                self.wait((deadline - now).min(MAX_SLEEP))?;
            }
        }
    }

    fn wait(&self, d: Duration) -> Result<(), Error> {
        let mut pfd = libc::pollfd {
            fd: self.loaded.ring.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ts = libc::timespec {
            tv_sec: d.as_secs() as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        };
        // SAFETY: pfd and ts are valid for the call; no signal mask is given.
        let rc = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(Error::Poll(e));
            }
        }
        Ok(())
    }

    /// Handles up to MAX_BATCH records; returns (records read, events handed to `f`).
    fn drain(&mut self, f: &mut dyn FnMut(Event, EventMeta)) -> (usize, usize) {
        let (mut records, mut handed) = (0, 0);
        for _ in 0..MAX_BATCH {
            let rec = match self.loaded.ring.next() {
                Some(item) => raw::decode(&item),
                None => break,
            };
            records += 1;
            let received_ns = boottime_ns();
            match rec {
                Ok(rec) => {
                    let ktime_ns = rec.header().ktime_ns;
                    self.stats
                        .latency
                        .record_ns(received_ns.saturating_sub(ktime_ns));
                    if let Some((ev, kind, pid)) = self.handle(rec) {
                        self.stats.events += 1;
                        handed += 1;
                        f(
                            ev,
                            EventMeta {
                                kind,
                                ktime_ns,
                                received_ns,
                                pid,
                            },
                        );
                    }
                }
                Err(_) => self.stats.decode_errors += 1,
            }
        }
        (records, handed)
    }

    /// The table entry for a record's process, read from /proc if the table lacks it.
    fn process_key(&mut self, pid: u32, start_ns: u64) -> (u32, u64) {
        let key = (pid, ns_to_ticks(start_ns));
        if self.table.get(key).is_some() {
            return key;
        }
        if let Some(p) = self.table.by_pid(pid) {
            return p.key();
        }
        let mut p = procfs::read_process(&self.host, pid).unwrap_or_else(|| ProcInfo {
            pid,
            start_ticks: key.1,
            start_ns,
            entity_id: self.host.entity_id(pid, key.1),
            ..Default::default()
        });
        p.parent = self.table.by_pid(p.ppid).map(|pp| pp.key());
        let k = p.key();
        self.table.insert(p);
        k
    }

    fn builder(&self) -> Builder<'_> {
        Builder {
            host: &self.host,
            users: &self.users,
            table: &self.table,
            fragments: Some(&self.fragments),
        }
    }

    fn handle(&mut self, rec: Record) -> Option<(Event, EventKind, u32)> {
        match rec {
            Record::Exec(e) => {
                self.stats.execs += 1;
                if e.args_truncated {
                    self.stats.argv_truncations += 1;
                }
                if e.hdr.flags & (raw::FLAG_PATH_TRUNCATED | raw::FLAG_CWD_TRUNCATED) != 0 {
                    self.stats.path_truncations += 1;
                }
                let ticks = ns_to_ticks(e.hdr.start_boottime);
                let key = (e.hdr.pid, ticks);
                let parent = self
                    .table
                    .get(key)
                    .and_then(|p| p.parent)
                    .or_else(|| self.table.by_pid(e.hdr.ppid).map(|p| p.key()));
                let name: &str = if e.executable.is_empty() {
                    &e.comm
                } else {
                    basename(&e.executable)
                };
                let mut p = ProcInfo {
                    pid: e.hdr.pid,
                    ppid: e.hdr.ppid,
                    start_ticks: ticks,
                    start_ns: e.hdr.start_boottime,
                    entity_id: self.host.entity_id(e.hdr.pid, ticks),
                    name: name.into(),
                    executable: e.executable.as_str().into(),
                    cwd: e.cwd.as_str().into(),
                    uid: e.uid,
                    gid: e.gid,
                    euid: e.euid,
                    tty: e.tty,
                    container_id: procfs::container_id(&e.cgroup_name).map(Into::into),
                    parent,
                    ..Default::default()
                };
                let argc = (e.argc as usize).max(e.args.len());
                p.set_args(&e.args, argc);
                // The probe and the document both see the table as it is before this entry
                // goes in (its insertion may evict an old one).
                if let Some(gate) = self.exec_gate.as_mut() {
                    let b = Builder {
                        host: &self.host,
                        users: &self.users,
                        table: &self.table,
                        fragments: None,
                    };
                    let probe = ExecProbe {
                        builder: &b,
                        shape: &ecs::EXEC,
                        p: &p,
                        args: &e.args,
                    };
                    if !gate(&probe) {
                        self.stats.execs_not_built += 1;
                        self.table.insert(p);
                        return None;
                    }
                }
                let ev = self
                    .builder()
                    .exec(e.hdr.ktime_ns, &p, &e.args, argc, e.args_truncated);
                self.table.insert(p);
                Some((ev, EventKind::Exec, e.hdr.pid))
            }
            Record::Fork(fk) => {
                self.stats.forks += 1;
                let ticks = ns_to_ticks(fk.hdr.start_boottime);
                let pkey = (fk.hdr.ppid, ns_to_ticks(fk.parent_start_boottime));
                let pkey = if self.table.get(pkey).is_some() {
                    pkey
                } else {
                    self.process_key(fk.hdr.ppid, fk.parent_start_boottime)
                };
                let mut child = self.table.get(pkey).cloned().unwrap_or_default();
                child.pid = fk.hdr.pid;
                child.ppid = fk.hdr.ppid;
                child.start_ticks = ticks;
                child.start_ns = fk.hdr.start_boottime;
                child.entity_id = self.host.entity_id(fk.hdr.pid, ticks);
                child.parent = Some(pkey);
                child.exited = None;
                if child.name.is_empty() {
                    child.name = fk.comm.as_str().into();
                }
                self.table.insert(child.clone());
                if !self.config.emit_forks {
                    return None;
                }
                Some((
                    self.builder().fork(fk.hdr.ktime_ns, &child),
                    EventKind::Fork,
                    fk.hdr.pid,
                ))
            }
            Record::Exit(x) => {
                self.stats.exits += 1;
                let key = (x.hdr.pid, ns_to_ticks(x.hdr.start_boottime));
                let ev = if self.config.emit_exits {
                    let p = match self.table.get(key) {
                        Some(p) => p.clone(),
                        None => ProcInfo {
                            pid: x.hdr.pid,
                            ppid: x.hdr.ppid,
                            start_ticks: key.1,
                            start_ns: x.hdr.start_boottime,
                            entity_id: self.host.entity_id(x.hdr.pid, key.1),
                            ..Default::default()
                        },
                    };
                    Some((
                        self.builder().exit(x.hdr.ktime_ns, &p, x.exit_code),
                        EventKind::Exit,
                        x.hdr.pid,
                    ))
                } else {
                    None
                };
                self.table.mark_exited(key, x.hdr.ktime_ns);
                ev
            }
            Record::File(fr) => {
                self.stats.files += 1;
                if fr.hdr.flags & raw::FLAG_PATH_TRUNCATED != 0 {
                    self.stats.path_truncations += 1;
                }
                let key = self.process_key(fr.hdr.pid, fr.hdr.start_boottime);
                let p = self.table.get(key).cloned().unwrap_or_default();
                Some((self.builder().file(&fr, &p), EventKind::File, fr.hdr.pid))
            }
            Record::Connect(c) => {
                self.stats.connects += 1;
                let key = self.process_key(c.hdr.pid, c.hdr.start_boottime);
                let p = self.table.get(key).cloned().unwrap_or_default();
                Some((
                    self.builder().connect(&c, &p),
                    EventKind::Network,
                    c.hdr.pid,
                ))
            }
        }
    }
}

impl Sensor {
    /// Benchmarks only: inserts `n` synthetic processes shaped like real ones (see
    /// [`crate::synthetic`]), linked to their synthetic parents, to measure the memory of a full
    /// table. Returns the table's length afterwards.
    #[doc(hidden)]
    pub fn fill_table_for_bench(&mut self, n: usize) -> usize {
        self.fill_table_for_bench_with(n, false)
    }

    /// [`Sensor::fill_table_for_bench`]; with `worst_argv`, every process gets its own
    /// [`crate::table::TABLE_ARGS_BYTES`] of argv (the worst case for the table's memory).
    pub fn fill_table_for_bench_with(&mut self, n: usize, worst_argv: bool) -> usize {
        let now_ticks = ns_to_ticks(boottime_ns());
        let init = self.table.by_pid(1).map(|p| p.key());
        let mut keys: Vec<(u32, u64)> = Vec::with_capacity(n);
        for i in 0..n {
            let (mut p, parent) = crate::synthetic::process(i, now_ticks);
            p.entity_id = self.host.entity_id(p.pid, p.start_ticks);
            p.parent = match parent {
                Some(j) => keys.get(j).copied(),
                None => init,
            };
            if worst_argv {
                let own = format!("{i:0>width$}", width = crate::table::TABLE_ARGS_BYTES);
                p.set_args(&[own], 1);
            }
            keys.push(p.key());
            self.table.insert(p);
        }
        self.table.len()
    }
}
