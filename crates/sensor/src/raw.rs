//! The records the kernel side sends (mirror of bpf/spawnguard.h) and their decoding into owned
//! values. Decoding never panics: a short or unknown record is an error the caller counts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const ARGV_MAX: usize = 8192;
pub const PATH_MAX: usize = 1024;
pub const CGROUP_MAX: usize = 128;
pub const COMM_MAX: usize = 16;
pub const KEY_NAME: usize = 32;

pub const KIND_EXEC: u32 = 1;
pub const KIND_FORK: u32 = 2;
pub const KIND_EXIT: u32 = 3;
pub const KIND_FILE: u32 = 4;
pub const KIND_CONNECT: u32 = 5;

pub const FLAG_ARGV_TRUNCATED: u32 = 1 << 0;
pub const FLAG_PATH_TRUNCATED: u32 = 1 << 1;
pub const FLAG_CWD_TRUNCATED: u32 = 1 << 2;
pub const FLAG_HAS_TTY: u32 = 1 << 3;
pub const FLAG_FILE_WRITE: u32 = 1 << 5;

pub const CLASS_CREDENTIAL: u32 = 1;
pub const CLASS_PERSISTENCE: u32 = 2;

pub const CTR_RINGBUF_DROPS: u32 = 0;
pub const CTR_MAX: u32 = 4;

/// FMODE_CREATED in file->f_mode: the open created the file.
pub const FMODE_CREATED: u32 = 0x0010_0000;

const HDR_LEN: usize = 40;
const EXEC_FIXED: usize = HDR_LEN + 4 * 10 + 8 + COMM_MAX + CGROUP_MAX;
const FORK_LEN: usize = HDR_LEN + 8 + COMM_MAX;
const EXIT_LEN: usize = HDR_LEN + 8;
const FILE_FIXED: usize = HDR_LEN + 16;
const CONNECT_LEN: usize = HDR_LEN + 8 + 16;

/// Key of the kernel's sensitive-path map (`struct sg_path_key`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PathKey {
    pub gparent: [u8; KEY_NAME],
    pub parent: [u8; KEY_NAME],
    pub leaf: [u8; KEY_NAME],
}

// SAFETY: plain bytes, no padding, any bit pattern is valid.
unsafe impl aya::Pod for PathKey {}

/// Key of the kernel's `path_names` map (`struct sg_name`): one path component.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NameKey(pub [u8; KEY_NAME]);

// SAFETY: plain bytes, no padding, any bit pattern is valid.
unsafe impl aya::Pod for NameKey {}

/// `path_names` values: some key has the name as its leaf / as the parent of a `*` leaf.
pub const NAME_LEAF: u32 = 1;
pub const NAME_WILD_PARENT: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub kind: u32,
    pub flags: u32,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    /// CLOCK_BOOTTIME ns when the kernel made the record.
    pub ktime_ns: u64,
    /// The process's start, CLOCK_BOOTTIME ns.
    pub start_boottime: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRecord {
    pub hdr: Header,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    /// (major, minor) of the controlling terminal, when there is one.
    pub tty: Option<(u32, u32)>,
    pub argc: u32,
    pub args: Vec<String>,
    pub args_truncated: bool,
    pub executable: String,
    pub cwd: String,
    pub cgroup_id: u64,
    pub cgroup_name: String,
    pub comm: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkRecord {
    pub hdr: Header,
    pub parent_start_boottime: u64,
    pub comm: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitRecord {
    pub hdr: Header,
    pub exit_code: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub hdr: Header,
    pub class: u32,
    pub open_flags: u32,
    pub f_mode: u32,
    pub path: String,
}

impl FileRecord {
    pub fn created(&self) -> bool {
        self.f_mode & FMODE_CREATED != 0
    }
    pub fn write(&self) -> bool {
        self.hdr.flags & FLAG_FILE_WRITE != 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRecord {
    pub hdr: Header,
    pub addr: IpAddr,
    pub port: u16,
    /// SOCK_STREAM = 1, SOCK_DGRAM = 2, 0 when unknown.
    pub sock_type: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Exec(ExecRecord),
    Fork(ForkRecord),
    Exit(ExitRecord),
    File(FileRecord),
    Connect(ConnectRecord),
}

impl Record {
    pub fn header(&self) -> &Header {
        match self {
            Record::Exec(r) => &r.hdr,
            Record::Fork(r) => &r.hdr,
            Record::Exit(r) => &r.hdr,
            Record::File(r) => &r.hdr,
            Record::Connect(r) => &r.hdr,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record of {len} bytes is shorter than the {need} its kind {kind} needs")]
    Short { kind: u32, len: usize, need: usize },
    #[error("unknown record kind {0}")]
    UnknownKind(u32),
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    b.get(off..off + 2)
        .map_or(0, |s| u16::from_ne_bytes([s[0], s[1]]))
}
fn u32_at(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .map_or(0, |s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}
fn u64_at(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8).map_or(0, |s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_ne_bytes(a)
    })
}

/// A NUL-terminated C string inside a fixed field.
fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn slice(b: &[u8], off: usize, len: usize) -> &[u8] {
    let start = off.min(b.len());
    let end = off.saturating_add(len).min(b.len());
    &b[start..end]
}

/// Path components written leaf first, each NUL-terminated, into "/a/b/leaf".
pub fn path_from_components(b: &[u8]) -> String {
    let mut parts: Vec<&[u8]> = b
        .split(|&c| c == 0)
        .filter(|p| !p.is_empty() && *p != b"/")
        .collect();
    if parts.is_empty() {
        return "/".to_string();
    }
    parts.reverse();
    let mut out = Vec::with_capacity(b.len() + 1);
    for p in parts {
        out.push(b'/');
        out.extend_from_slice(p);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// argv as the new mm holds it: NUL-separated, the last one NUL-terminated unless cut.
pub fn split_argv(b: &[u8]) -> Vec<String> {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    if b.is_empty() {
        return Vec::new();
    }
    b.split(|&c| c == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

fn header(b: &[u8]) -> Header {
    Header {
        kind: u32_at(b, 0),
        flags: u32_at(b, 4),
        pid: u32_at(b, 8),
        tid: u32_at(b, 12),
        ppid: u32_at(b, 16),
        ktime_ns: u64_at(b, 24),
        start_boottime: u64_at(b, 32),
    }
}

fn need(kind: u32, b: &[u8], n: usize) -> Result<(), DecodeError> {
    if b.len() < n {
        return Err(DecodeError::Short {
            kind,
            len: b.len(),
            need: n,
        });
    }
    Ok(())
}

/// Decodes one ring-buffer record.
pub fn decode(b: &[u8]) -> Result<Record, DecodeError> {
    need(0, b, HDR_LEN)?;
    let hdr = header(b);
    match hdr.kind {
        KIND_EXEC => {
            need(hdr.kind, b, EXEC_FIXED)?;
            let o = HDR_LEN;
            let flags = hdr.flags;
            let tty = (flags & FLAG_HAS_TTY != 0).then(|| (u32_at(b, o + 16), u32_at(b, o + 20)));
            let argv_len = u32_at(b, o + 28) as usize;
            let exe_len = (u32_at(b, o + 32) as usize).min(PATH_MAX - 1);
            let cwd_len = (u32_at(b, o + 36) as usize).min(PATH_MAX - 1);
            let comm_off = o + 48;
            let cg_off = comm_off + COMM_MAX;
            let data = EXEC_FIXED;
            Ok(Record::Exec(ExecRecord {
                uid: u32_at(b, o),
                gid: u32_at(b, o + 4),
                euid: u32_at(b, o + 8),
                egid: u32_at(b, o + 12),
                tty,
                argc: u32_at(b, o + 24),
                args: split_argv(slice(b, data + exe_len + cwd_len, argv_len.min(ARGV_MAX))),
                args_truncated: flags & FLAG_ARGV_TRUNCATED != 0,
                executable: if exe_len == 0 {
                    String::new()
                } else {
                    path_from_components(slice(b, data, exe_len))
                },
                cwd: if cwd_len == 0 {
                    String::new()
                } else {
                    path_from_components(slice(b, data + exe_len, cwd_len))
                },
                cgroup_id: u64_at(b, o + 40),
                comm: cstr(slice(b, comm_off, COMM_MAX)),
                cgroup_name: cstr(slice(b, cg_off, CGROUP_MAX)),
                hdr,
            }))
        }
        KIND_FORK => {
            need(hdr.kind, b, FORK_LEN)?;
            Ok(Record::Fork(ForkRecord {
                parent_start_boottime: u64_at(b, HDR_LEN),
                comm: cstr(slice(b, HDR_LEN + 8, COMM_MAX)),
                hdr,
            }))
        }
        KIND_EXIT => {
            need(hdr.kind, b, EXIT_LEN)?;
            Ok(Record::Exit(ExitRecord {
                exit_code: u32_at(b, HDR_LEN),
                hdr,
            }))
        }
        KIND_FILE => {
            need(hdr.kind, b, FILE_FIXED)?;
            let o = HDR_LEN;
            let path_len = (u32_at(b, o + 8) as usize).min(PATH_MAX);
            Ok(Record::File(FileRecord {
                class: u32_at(b, o),
                open_flags: u32_at(b, o + 4),
                f_mode: u32_at(b, o + 12),
                path: path_from_components(slice(b, FILE_FIXED, path_len)),
                hdr,
            }))
        }
        KIND_CONNECT => {
            need(hdr.kind, b, CONNECT_LEN)?;
            let o = HDR_LEN;
            let family = u16_at(b, o);
            let a = slice(b, o + 8, 16);
            let addr = if family == 2 {
                IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
            } else {
                let mut x = [0u8; 16];
                x.copy_from_slice(a);
                IpAddr::V6(Ipv6Addr::from(x))
            };
            Ok(Record::Connect(ConnectRecord {
                port: u16_at(b, o + 2),
                sock_type: u16_at(b, o + 4),
                addr,
                hdr,
            }))
        }
        k => Err(DecodeError::UnknownKind(k)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_components_reverse() {
        assert_eq!(
            path_from_components(b"id_rsa\0.ssh\0root\0"),
            "/root/.ssh/id_rsa"
        );
        assert_eq!(path_from_components(b""), "/");
        assert_eq!(path_from_components(b"/\0"), "/");
    }

    #[test]
    fn argv_split() {
        assert_eq!(split_argv(b"sh\0-c\0true\0"), vec!["sh", "-c", "true"]);
        assert_eq!(split_argv(b"sh\0-c\0tr"), vec!["sh", "-c", "tr"]);
        assert_eq!(split_argv(b"a\0\0b\0"), vec!["a", "", "b"]);
        assert!(split_argv(b"").is_empty());
    }

    #[test]
    fn short_and_unknown_records_are_errors() {
        assert!(matches!(decode(&[0u8; 10]), Err(DecodeError::Short { .. })));
        let mut b = vec![0u8; 64];
        b[0] = 99;
        assert_eq!(decode(&b), Err(DecodeError::UnknownKind(99)));
        b[0] = KIND_EXEC as u8;
        assert!(matches!(
            decode(&b),
            Err(DecodeError::Short { kind: 1, .. })
        ));
    }

    #[test]
    fn decodes_connect() {
        let mut b = vec![0u8; CONNECT_LEN];
        b[0..4].copy_from_slice(&KIND_CONNECT.to_ne_bytes());
        b[8..12].copy_from_slice(&42u32.to_ne_bytes());
        b[40..42].copy_from_slice(&2u16.to_ne_bytes());
        b[42..44].copy_from_slice(&4444u16.to_ne_bytes());
        b[44..46].copy_from_slice(&1u16.to_ne_bytes());
        b[48..52].copy_from_slice(&[127, 0, 0, 1]);
        let Record::Connect(c) = decode(&b).unwrap() else {
            panic!("not a connect")
        };
        assert_eq!(c.hdr.pid, 42);
        assert_eq!(c.port, 4444);
        assert_eq!(c.addr, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(c.sock_type, 1);
    }
}
