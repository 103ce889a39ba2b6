/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Records that the spawnguard eBPF programs send to user space through the ring buffer.
 *
 * Shared by spawnguard.bpf.c and mirrored field for field by crates/sensor/src/raw.rs: every
 * field has a fixed size and explicit padding, so the layout is the same on both sides. When you
 * change anything here, change raw.rs and rebuild the object with bpf/build.sh.
 */
#ifndef SPAWNGUARD_H
#define SPAWNGUARD_H

/* Bytes of argv captured per exec (NUL-separated, as in the new mm). Longer argv is cut here and
 * flagged with SG_FLAG_ARGV_TRUNCATED. Power of two. */
#define SG_ARGV_MAX 8192
/* Bytes for a path (exe, cwd, file). Paths are written leaf first, one NUL-terminated component
 * after another; user space reverses them. Power of two. */
#define SG_PATH_MAX 1024
/* Longest single path component copied (NAME_MAX is 255). */
#define SG_NAME_MAX 256
/* Path components walked before giving up (flag SG_FLAG_PATH_TRUNCATED). */
#define SG_PATH_DEPTH 40
/* Bytes of the cgroup leaf name (e.g. docker-<64 hex>.scope). */
#define SG_CGROUP_MAX 128
#define SG_COMM_MAX 16

/* Record kinds. */
#define SG_KIND_EXEC 1
#define SG_KIND_FORK 2
#define SG_KIND_EXIT 3
#define SG_KIND_FILE 4
#define SG_KIND_CONNECT 5

/* Flags (sg_hdr.flags). */
#define SG_FLAG_ARGV_TRUNCATED (1u << 0)
#define SG_FLAG_PATH_TRUNCATED (1u << 1) /* exe or file path */
#define SG_FLAG_CWD_TRUNCATED (1u << 2)
#define SG_FLAG_HAS_TTY (1u << 3)
#define SG_FLAG_FILE_CREATED (1u << 4) /* the open created the file */
#define SG_FLAG_FILE_WRITE (1u << 5)   /* opened for writing */

/* File match classes (value of the sensitive-path map, sg_file.class). */
#define SG_CLASS_CREDENTIAL 1u  /* any open is reported */
#define SG_CLASS_PERSISTENCE 2u /* only opens for writing or creation are reported */

/* Counters in the per-CPU "counters" array. */
#define SG_CTR_RINGBUF_DROPS 0
#define SG_CTR_EXEC 1
#define SG_CTR_FILE_MATCHED 2
#define SG_CTR_MAX 4

/* Common header of every record. 40 bytes. */
struct sg_hdr {
	__u32 kind;
	__u32 flags;
	__u32 pid;  /* tgid */
	__u32 tid;
	__u32 ppid; /* tgid of real_parent */
	__u32 _pad;
	__u64 ktime_ns;      /* bpf_ktime_get_boot_ns() when the record was made */
	__u64 start_boottime; /* group leader's task->start_boottime, ns since boot */
};

/* Exec: fixed part, then the variable part `data`, packed:
 *   data[0 .. exe_len)                          exe path components (leaf first)
 *   data[exe_len .. exe_len+cwd_len)            cwd path components (leaf first)
 *   data[exe_len+cwd_len .. +argv_len)          argv, NUL-separated
 * exe_len and cwd_len are below SG_PATH_MAX; only the bytes up to the end of argv are sent. */
struct sg_exec {
	struct sg_hdr hdr;
	__u32 uid, gid, euid, egid;
	__u32 tty_major, tty_minor;
	__u32 argc;
	__u32 argv_len;   /* bytes of argv sent */
	__u32 exe_len;    /* bytes of exe components */
	__u32 cwd_len;    /* bytes of cwd components */
	__u64 cgroup_id;
	char comm[SG_COMM_MAX];
	char cgroup[SG_CGROUP_MAX];
	char data[2 * SG_PATH_MAX + SG_ARGV_MAX];
};

struct sg_fork {
	struct sg_hdr hdr; /* pid = child tgid, ppid = parent tgid */
	__u64 parent_start_boottime;
	char comm[SG_COMM_MAX];
};

struct sg_exit {
	struct sg_hdr hdr;
	__u32 exit_code; /* as in wait(2): (code << 8) | signal */
	__u32 _pad;
};

/* File open that matched the sensitive-path map. `path` holds components leaf first. */
struct sg_file {
	struct sg_hdr hdr;
	__u32 class;      /* SG_CLASS_* that matched */
	__u32 open_flags; /* file->f_flags (O_CREAT and O_TRUNC are not kept by the kernel) */
	__u32 path_len;
	__u32 f_mode;     /* file->f_mode (FMODE_WRITE, FMODE_CREATED) */
	char path[2 * SG_PATH_MAX];
};

/* connect(2) to an AF_INET or AF_INET6 address. */
struct sg_connect {
	struct sg_hdr hdr;
	__u16 family; /* AF_INET = 2, AF_INET6 = 10 */
	__u16 dport;  /* host byte order */
	__u16 sock_type; /* SOCK_STREAM = 1, SOCK_DGRAM = 2, 0 unknown */
	__u16 _pad;
	__u8 daddr[16]; /* network byte order; first 4 bytes for AF_INET */
};

/* Key of the sensitive-path map: the last three path components, "*" as a wildcard.
 * E.g. {"*", ".ssh", "id_rsa"}, {"*", "etc", "shadow"}, {"systemd", "system", "*"}. */
#define SG_KEY_NAME 32
struct sg_path_key {
	char gparent[SG_KEY_NAME];
	char parent[SG_KEY_NAME];
	char leaf[SG_KEY_NAME];
};

#endif
