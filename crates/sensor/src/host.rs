//! Host identity, clocks and `process.entity_id`.
//!
//! Entity ids: `base64url(FNV-1a-128(machine-id ‖ boot-id ‖ pid ‖ start))` without padding,
//! 22 characters, where `start` is the process start in clock ticks since boot (USER_HZ, as
//! field 22 of /proc/PID/stat). The inputs are what the kernel and /proc agree on, so a process
//! seeded from /proc and the same process seen by eBPF get the same id, and the id is the same
//! across sensor restarts on one boot. The boot id keeps a pid reused after a reboot from
//! colliding. An exec keeps the id (it is the same process), as pid+start do.

use crate::table::EntityId;
use std::fs;

/// Clock ticks per second in /proc (USER_HZ); 100 on every Linux ABI spawnguard supports.
pub const USER_HZ: u64 = 100;
const NS_PER_TICK: u64 = 1_000_000_000 / USER_HZ;

#[derive(Debug, Clone)]
pub struct HostInfo {
    pub hostname: String,
    /// /etc/machine-id (what Elastic Defend reports as host.id).
    pub id: String,
    pub boot_id: String,
    /// Wall-clock ns since the epoch at boot (CLOCK_REALTIME - CLOCK_BOOTTIME).
    pub boot_epoch_ns: i128,
}

fn read_trim(path: &str) -> Option<String> {
    fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write into.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

/// CLOCK_BOOTTIME now, ns: the clock the kernel records use.
pub fn boottime_ns() -> u64 {
    clock_ns(libc::CLOCK_BOOTTIME).max(0) as u64
}

impl HostInfo {
    pub fn detect() -> HostInfo {
        let hostname = read_trim("/proc/sys/kernel/hostname").unwrap_or_else(|| "localhost".into());
        let id = read_trim("/etc/machine-id")
            .or_else(|| read_trim("/var/lib/dbus/machine-id"))
            .unwrap_or_default();
        let boot_id = read_trim("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        let boot_epoch_ns = clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_BOOTTIME);
        HostInfo {
            hostname,
            id,
            boot_id,
            boot_epoch_ns,
        }
    }

    /// Entity id of the process `pid` that started `start_ticks` after boot.
    pub fn entity_id(&self, pid: u32, start_ticks: u64) -> EntityId {
        let mut h = Fnv128::new();
        h.write(self.id.as_bytes());
        h.write(&[0]);
        h.write(self.boot_id.as_bytes());
        h.write(&[0]);
        h.write(&pid.to_le_bytes());
        h.write(&start_ticks.to_le_bytes());
        let s = base64url(&h.finish().to_be_bytes());
        let mut id = [b'A'; 22];
        id.copy_from_slice(&s.as_bytes()[..22]);
        EntityId(id)
    }

    /// RFC 3339 UTC timestamp, microseconds, of a CLOCK_BOOTTIME instant.
    pub fn timestamp(&self, boottime_ns: u64) -> String {
        let ns = self.boot_epoch_ns + boottime_ns as i128;
        let secs = ns.div_euclid(1_000_000_000) as i64;
        let sub = ns.rem_euclid(1_000_000_000) as u32;
        match chrono::DateTime::from_timestamp(secs, sub) {
            Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            None => "1970-01-01T00:00:00.000000Z".into(),
        }
    }
}

/// Boot-time ns to /proc clock ticks.
pub fn ns_to_ticks(ns: u64) -> u64 {
    ns / NS_PER_TICK
}

pub fn ticks_to_ns(ticks: u64) -> u64 {
    ticks.saturating_mul(NS_PER_TICK)
}

struct Fnv128(u128);

impl Fnv128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    fn new() -> Self {
        Fnv128(Self::OFFSET)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u128;
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }
    fn finish(&self) -> u128 {
        self.0
    }
}

fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostInfo {
        HostInfo {
            hostname: "h".into(),
            id: "m".into(),
            boot_id: "b".into(),
            boot_epoch_ns: 1_700_000_000_000_000_000,
        }
    }

    #[test]
    fn entity_ids_are_stable_and_distinct() {
        let h = host();
        let a = h.entity_id(42, 1000);
        assert_eq!(a, h.entity_id(42, 1000));
        assert_eq!(a.as_str().len(), 22);
        assert_ne!(a, h.entity_id(42, 1001));
        assert_ne!(a, h.entity_id(43, 1000));
        let other = HostInfo {
            boot_id: "c".into(),
            ..h
        };
        assert_ne!(a, other.entity_id(42, 1000));
    }

    #[test]
    fn base64url_known_values() {
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn timestamps() {
        let h = host();
        assert_eq!(h.timestamp(1_500_000), "2023-11-14T22:13:20.001500Z");
        assert_eq!(ns_to_ticks(ticks_to_ns(12345)), 12345);
    }
}
