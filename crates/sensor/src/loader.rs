//! Loads the committed eBPF object with aya, fills the sensitive-path map and attaches the
//! programs, turning each failure into an error that says what is missing.

use crate::paths::PathRule;
use crate::raw::{NameKey, PathKey, CTR_MAX, CTR_RINGBUF_DROPS};
use crate::Error;
use aya::maps::{Array, HashMap as BpfHashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::{BtfTracePoint, TracePoint};
use aya::{Btf, Ebpf, EbpfLoader};
use std::path::Path;

/// The compiled object, built from bpf/spawnguard.bpf.c by bpf/build.sh.
pub(crate) static BPF_OBJECT: &[u8] = aya::include_bytes_aligned!("../bpf/spawnguard.bpf.o");

const BTF_PROGRAMS: [(&str, &str); 3] = [
    ("sg_exec", "sched_process_exec"),
    ("sg_fork", "sched_process_fork"),
    ("sg_exit", "sched_process_exit"),
];
/// (program, tracepoint category, tracepoint names, required)
const TRACEPOINTS: [(&str, &str, &[&str]); 2] = [
    (
        "sg_open_exit",
        "syscalls",
        &[
            "sys_exit_openat",
            "sys_exit_open",
            "sys_exit_openat2",
            "sys_exit_creat",
        ],
    ),
    ("sg_connect", "syscalls", &["sys_enter_connect"]),
];

pub(crate) struct Loaded {
    /// Keeps programs and links alive; dropping it detaches everything.
    _ebpf: Ebpf,
    pub ring: RingBuf<MapData>,
    counters: PerCpuArray<MapData, u64>,
    consumer: Array<MapData, u32>,
}

impl Loaded {
    /// Sum of one counter over all CPUs.
    pub fn counter(&self, idx: u32) -> u64 {
        match self.counters.get(&idx, 0) {
            Ok(vals) => vals.iter().copied().sum(),
            Err(_) => 0,
        }
    }

    pub fn ringbuf_drops(&self) -> u64 {
        self.counter(CTR_RINGBUF_DROPS)
    }

    /// Tells the kernel side whether user space is asleep (then it wakes it with the next record).
    pub fn set_asleep(&mut self, asleep: bool) -> Result<(), Error> {
        self.consumer
            .set(0, asleep as u32, 0)
            .map_err(|e| Error::Internal(format!("updating the consumer map: {e}")))
    }
}

fn check_root() -> Result<(), Error> {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Err(Error::NotRoot { euid });
    }
    Ok(())
}

/// aya finds tracepoint ids under tracefs; mount it when the host has not.
fn ensure_tracefs() -> Result<(), Error> {
    let probe = |p: &str| Path::new(p).join("events/syscalls").is_dir();
    if probe("/sys/kernel/tracing") || probe("/sys/kernel/debug/tracing") {
        return Ok(());
    }
    let target = c"/sys/kernel/tracing";
    // SAFETY: all pointers are valid NUL-terminated strings; data is null.
    let rc = unsafe {
        libc::mount(
            c"tracefs".as_ptr(),
            target.as_ptr(),
            c"tracefs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        return Err(Error::Tracefs(format!(
            "tracefs is not mounted and mounting it on /sys/kernel/tracing failed: {err}"
        )));
    }
    if !probe("/sys/kernel/tracing") {
        return Err(Error::Tracefs(
            "tracefs has no events/syscalls: the kernel lacks syscall tracepoints (CONFIG_FTRACE_SYSCALLS)".into(),
        ));
    }
    Ok(())
}

fn raise_memlock() {
    let lim = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: lim is a valid rlimit. Failure only matters on kernels < 5.11 (memcg accounting).
    unsafe {
        libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim);
    }
}

fn program_err(program: &str, what: &str, e: impl std::error::Error) -> Error {
    // Chain the sources: aya puts the verifier log in the source of a load error.
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    // A verifier log runs to thousands of lines; its end says why the program was refused.
    let lines: Vec<&str> = msg.lines().collect();
    if lines.len() > 40 {
        let tail = lines[lines.len() - 25..].join("\n");
        msg = format!(
            "{}\n[... {} lines of verifier log ...]\n{tail}",
            lines[0],
            lines.len() - 26
        );
    }
    Error::Program {
        program: program.to_string(),
        what: what.to_string(),
        detail: msg,
    }
}

pub(crate) fn load(rules: &[PathRule]) -> Result<Loaded, Error> {
    check_root()?;
    raise_memlock();
    ensure_tracefs()?;
    let btf = Btf::from_sys_fs().map_err(|e| Error::Btf(e.to_string()))?;
    let mut ebpf = EbpfLoader::new()
        .btf(Some(&btf))
        .load(BPF_OBJECT)
        .map_err(|e| program_err("(object)", "load the eBPF object", e))?;

    {
        let map = ebpf
            .map_mut("sensitive_paths")
            .ok_or_else(|| Error::Internal("map sensitive_paths missing".into()))?;
        let mut paths: BpfHashMap<_, PathKey, u32> = BpfHashMap::try_from(map)
            .map_err(|e| Error::Internal(format!("sensitive_paths: {e}")))?;
        for r in rules {
            paths
                .insert(r.key(), r.class, 0)
                .map_err(|e| Error::Internal(format!("filling sensitive_paths: {e}")))?;
        }
    }
    {
        let map = ebpf
            .map_mut("path_names")
            .ok_or_else(|| Error::Internal("map path_names missing".into()))?;
        let mut names: BpfHashMap<_, NameKey, u32> =
            BpfHashMap::try_from(map).map_err(|e| Error::Internal(format!("path_names: {e}")))?;
        for (name, flags) in crate::paths::first_test_names(rules) {
            names
                .insert(name, flags, 0)
                .map_err(|e| Error::Internal(format!("filling path_names: {e}")))?;
        }
    }

    for (name, tp) in BTF_PROGRAMS {
        let prog: &mut BtfTracePoint = ebpf
            .program_mut(name)
            .ok_or_else(|| Error::Internal(format!("program {name} missing from the object")))?
            .try_into()
            .map_err(|e| program_err(name, "find", e))?;
        prog.load(tp, &btf)
            .map_err(|e| program_err(name, &format!("load tp_btf/{tp}"), e))?;
        prog.attach()
            .map_err(|e| program_err(name, &format!("attach tp_btf/{tp}"), e))?;
    }
    for (name, category, tps) in TRACEPOINTS {
        let prog: &mut TracePoint = ebpf
            .program_mut(name)
            .ok_or_else(|| Error::Internal(format!("program {name} missing from the object")))?
            .try_into()
            .map_err(|e| program_err(name, "find", e))?;
        prog.load()
            .map_err(|e| program_err(name, &format!("load tracepoint/{category}/{}", tps[0]), e))?;
        for tp in tps {
            // Optional tracepoints (open, creat: absent on some architectures) may be missing;
            // the first one of each program is required.
            let exists = Path::new("/sys/kernel/tracing/events")
                .join(category)
                .join(tp)
                .exists()
                || Path::new("/sys/kernel/debug/tracing/events")
                    .join(category)
                    .join(tp)
                    .exists();
            if !exists && *tp != tps[0] {
                continue;
            }
            prog.attach(category, tp)
                .map_err(|e| program_err(name, &format!("attach tracepoint/{category}/{tp}"), e))?;
        }
    }

    // The kernel BTF parse is the largest allocation the sensor ever makes (~20 MB); give it
    // back before the ring buffer is mapped, so peak RSS is not the sum of both.
    drop(btf);
    // SAFETY: malloc_trim only releases free heap memory.
    unsafe {
        libc::malloc_trim(0);
    }
    let ring = RingBuf::try_from(
        ebpf.take_map("events")
            .ok_or_else(|| Error::Internal("map events missing".into()))?,
    )
    .map_err(|e| Error::Internal(format!("events ring buffer: {e}")))?;
    let counters = PerCpuArray::try_from(
        ebpf.take_map("counters")
            .ok_or_else(|| Error::Internal("map counters missing".into()))?,
    )
    .map_err(|e| Error::Internal(format!("counters: {e}")))?;
    let consumer = Array::try_from(
        ebpf.take_map("consumer")
            .ok_or_else(|| Error::Internal("map consumer missing".into()))?,
    )
    .map_err(|e| Error::Internal(format!("consumer: {e}")))?;
    let _ = CTR_MAX;
    Ok(Loaded {
        _ebpf: ebpf,
        ring,
        counters,
        consumer,
    })
}
