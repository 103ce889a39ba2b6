// SPDX-License-Identifier: GPL-2.0-only
/*
 * spawnguard kernel side: process lifecycle, sensitive file opens and connects.
 *
 * Every record goes to one ring buffer. While records keep coming, user space polls it at a short
 * interval and records are sent with BPF_RB_NO_WAKEUP; when user space has gone idle it sets
 * consumer[0] and sleeps, and the next record is sent with BPF_RB_FORCE_WAKEUP (see
 * docs/watch.md for the numbers). A record that finds the ring more than half full also forces a
 * wake-up. A record that does not fit
 * is counted in counters[SG_CTR_RINGBUF_DROPS], never lost silently.
 *
 * Rebuild with bpf/build.sh; the object is committed next to this file.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "spawnguard.h"

char LICENSE[] SEC("license") = "GPL";

#define RINGBUF_BYTES (4u << 20)
#define FMODE_WRITE_BIT 0x2u
#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RINGBUF_BYTES);
} events SEC(".maps");

/* consumer[0] != 0: user space is asleep (idle) and wants a wake-up with the next record. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} consumer SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SG_CTR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Sensitive paths, keyed by their last three components; value is SG_CLASS_*. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct sg_path_key);
	__type(value, __u32);
} sensitive_paths SEC(".maps");

/*
 * The names in sensitive_paths, for a cheap first test of every open: SG_NAME_LEAF when some key
 * has the name as its leaf, SG_NAME_WILD_PARENT when some key with a `*` leaf has it as its
 * parent. Every key lookup_class tries has a named leaf or a named parent under a `*` leaf, so an
 * open whose leaf and parent are neither cannot match: it is dropped after two lookups, without
 * reading the grandparent or trying the five keys.
 */
#define SG_NAME_LEAF 1u
#define SG_NAME_WILD_PARENT 2u
struct sg_name {
	char name[SG_KEY_NAME];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2048);
	__type(key, struct sg_name);
	__type(value, __u32);
} path_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_exec);
} exec_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_file);
} file_scratch SEC(".maps");

struct key_pair {
	struct sg_path_key name; /* the path's real last three components */
	struct sg_path_key try;  /* the key being looked up */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct key_pair);
} key_scratch SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		*v += 1;
}

static __always_inline __u64 wakeup_flags(void)
{
	__u32 zero = 0;
	__u32 *asleep = bpf_map_lookup_elem(&consumer, &zero);
	if (asleep && *asleep)
		return BPF_RB_FORCE_WAKEUP;
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	return avail > RINGBUF_BYTES / 2 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void emit(void *rec, __u64 size)
{
	if (bpf_ringbuf_output(&events, rec, size, wakeup_flags()) != 0)
		count(SG_CTR_RINGBUF_DROPS);
}

static __always_inline void fill_hdr(struct sg_hdr *h, __u32 kind, struct task_struct *task)
{
	h->kind = kind;
	h->flags = 0;
	h->pid = BPF_CORE_READ(task, tgid);
	h->tid = BPF_CORE_READ(task, pid);
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->_pad = 0;
	h->ktime_ns = bpf_ktime_get_boot_ns();
	h->start_boottime = BPF_CORE_READ(task, group_leader, start_boottime);
}

/*
 * fill_hdr for a task the program got from its tp_btf arguments: a pointer the verifier knows
 * the type of, read with plain (fault-safe) loads rather than one helper call per field, which
 * matters at the fork/exec/exit rate. Field offsets are still relocated (CO-RE): vmlinux.h marks
 * every struct preserve_access_index.
 */
static __always_inline void fill_hdr_btf(struct sg_hdr *h, __u32 kind, struct task_struct *task)
{
	h->kind = kind;
	h->flags = 0;
	h->pid = task->tgid;
	h->tid = task->pid;
	h->ppid = task->real_parent->tgid;
	h->_pad = 0;
	h->ktime_ns = bpf_ktime_get_boot_ns();
	h->start_boottime = task->group_leader->start_boottime;
}

/*
 * Writes the components of `path` into buf[0 .. SG_PATH_MAX), leaf first, each NUL-terminated,
 * crossing mount points up to the root. Returns the bytes written; sets *truncated when the path
 * was deeper or longer than the limits.
 */
static __always_inline __u32 walk_path(struct dentry *dentry, struct vfsmount *vfsmnt, char *buf,
				       bool *truncated)
{
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	__u64 off = 0;
	*truncated = true;
	for (int i = 0; i < SG_PATH_DEPTH; i++) {
		struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
		if (dentry == mnt_root || dentry == parent) {
			struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
			if (mnt_parent == mnt || !mnt_parent) {
				*truncated = false; /* reached the root */
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mnt_parent;
			vfsmnt = &mnt->mnt;
			continue;
		}
		if (off >= SG_PATH_MAX)
			break;
		__u64 o = off & (SG_PATH_MAX - 1);
		__u64 room = SG_PATH_MAX - o; /* 1 ..= SG_PATH_MAX */
		const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
		long n = bpf_probe_read_kernel_str(&buf[o], room, name);
		if (n <= 0)
			break;
		if ((__u64)n >= room) {
			off = SG_PATH_MAX;
			break;
		}
		off += n;
		dentry = parent;
	}
	/* At most SG_PATH_MAX - 1, so the caller can place the next field right after it. */
	if (off >= SG_PATH_MAX) {
		*truncated = true;
		off = SG_PATH_MAX - 1;
	}
	return (__u32)off;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sg_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 zero = 0;
	struct sg_exec *e = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!e)
		return 0;
	count(SG_CTR_EXEC);
	fill_hdr_btf(&e->hdr, SG_KIND_EXEC, p);
	e->hdr.start_boottime = p->start_boottime;

	const struct cred *rc = p->real_cred;
	const struct cred *ec = p->cred;
	e->uid = rc->uid.val;
	e->gid = rc->gid.val;
	e->euid = ec->euid.val;
	e->egid = ec->egid.val;
	e->argc = bprm->argc;
	e->cgroup_id = bpf_get_current_cgroup_id();
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), p->comm);
	e->cgroup[0] = 0;
	const char *cg = p->cgroups->dfl_cgrp->kn->name;
	if (cg)
		bpf_probe_read_kernel_str(e->cgroup, sizeof(e->cgroup), cg);

	e->tty_major = 0;
	e->tty_minor = 0;
	struct tty_struct *tty = p->signal->tty;
	if (tty) {
		e->hdr.flags |= SG_FLAG_HAS_TTY;
		struct tty_driver *drv = tty->driver;
		e->tty_major = drv->major;
		e->tty_minor = drv->minor_start + tty->index;
	}

	/* data: exe components, then cwd components, then argv, each right after the other. */
	bool trunc = false;
	struct mm_struct *mm = p->mm;
	struct file *exe = mm->exe_file;
	e->exe_len = 0;
	if (exe) {
		e->exe_len = walk_path(BPF_CORE_READ(exe, f_path.dentry), BPF_CORE_READ(exe, f_path.mnt),
				       &e->data[0], &trunc);
		if (trunc)
			e->hdr.flags |= SG_FLAG_PATH_TRUNCATED;
	}
	__u64 o1 = e->exe_len & (SG_PATH_MAX - 1);
	/* walk_path gets probe-read pointers, not the trusted ones plain loads give: with those the
	 * verifier cannot merge its loop states and loading took ~0.7 s longer. */
	struct fs_struct *fs = p->fs;
	e->cwd_len = walk_path(BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt),
			       &e->data[o1], &trunc);
	if (trunc)
		e->hdr.flags |= SG_FLAG_CWD_TRUNCATED;
	__u64 o2 = (o1 + (e->cwd_len & (SG_PATH_MAX - 1))) & (2 * SG_PATH_MAX - 1);

	unsigned long arg_start = mm->arg_start;
	unsigned long arg_end = mm->arg_end;
	__u64 len = arg_end > arg_start ? arg_end - arg_start : 0;
	if (len > SG_ARGV_MAX) {
		len = SG_ARGV_MAX;
		e->hdr.flags |= SG_FLAG_ARGV_TRUNCATED;
	}
	len &= (2 * SG_ARGV_MAX - 1);
	if (len > SG_ARGV_MAX)
		len = SG_ARGV_MAX;
	if (bpf_probe_read_user(&e->data[o2], len, (void *)arg_start) != 0)
		len = 0;
	e->argv_len = len;

	__u64 size = offsetof(struct sg_exec, data) + o2 + len;
	if (size > sizeof(*e))
		size = sizeof(*e);
	emit(e, size);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sg_fork, struct task_struct *parent, struct task_struct *child)
{
	/* Threads share the process: report new processes only. */
	if (child->pid != child->tgid)
		return 0;
	struct sg_fork f = {};
	fill_hdr_btf(&f.hdr, SG_KIND_FORK, child);
	f.hdr.start_boottime = child->start_boottime;
	f.parent_start_boottime = child->real_parent->group_leader->start_boottime;
	bpf_probe_read_kernel_str(f.comm, sizeof(f.comm), child->comm);
	emit(&f, sizeof(f));
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sg_exit, struct task_struct *p, bool group_dead)
{
	/* One record per process, sent by the last thread to go. */
	if (!group_dead)
		return 0;
	struct sg_exit x = {};
	fill_hdr_btf(&x.hdr, SG_KIND_EXIT, p);
	x.exit_code = p->exit_code;
	emit(&x, sizeof(x));
	return 0;
}

static __always_inline struct file *fd_file(struct task_struct *task, long fd)
{
	if (fd < 0)
		return NULL;
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt)
		return NULL;
	if ((__u64)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline void read_key_name(char *dst, struct dentry *d)
{
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	__u32 len = BPF_CORE_READ(d, d_name.len);
	if (len >= SG_KEY_NAME) {
		/* Too long for the key: can only match a wildcard. */
		dst[0] = 1;
		dst[1] = 0;
		return;
	}
	bpf_probe_read_kernel_str(dst, SG_KEY_NAME, name);
}

static __always_inline void set_wild(char *dst)
{
	__builtin_memset(dst, 0, SG_KEY_NAME);
	dst[0] = '*';
}

/* Tries {g,p,l}, {*,p,l}, {*,p,*}, {g,p,*}, {*,*,l}; returns the class of the first match. */
static __always_inline __u32 lookup_class(struct key_pair *kp)
{
	struct sg_path_key *k = &kp->try;
	__u32 *c = bpf_map_lookup_elem(&sensitive_paths, &kp->name);
	if (c)
		return *c;
	__builtin_memcpy(k, &kp->name, sizeof(*k));
	set_wild(k->gparent);
	c = bpf_map_lookup_elem(&sensitive_paths, k);
	if (c)
		return *c;
	set_wild(k->leaf);
	c = bpf_map_lookup_elem(&sensitive_paths, k);
	if (c)
		return *c;
	__builtin_memcpy(k->gparent, kp->name.gparent, SG_KEY_NAME);
	c = bpf_map_lookup_elem(&sensitive_paths, k);
	if (c)
		return *c;
	set_wild(k->gparent);
	set_wild(k->parent);
	__builtin_memcpy(k->leaf, kp->name.leaf, SG_KEY_NAME);
	c = bpf_map_lookup_elem(&sensitive_paths, k);
	if (c)
		return *c;
	return 0;
}

/* sys_exit of open, openat, openat2 and creat: the file is resolved, so the full path is known
 * whatever dirfd or relative path the caller used. */
SEC("tracepoint/syscalls/sys_exit_openat")
int sg_open_exit(struct trace_event_raw_sys_exit *ctx)
{
	long fd = ctx->ret;
	if (fd < 0)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file *file = fd_file(task, fd);
	if (!file)
		return 0;
	struct dentry *d = BPF_CORE_READ(file, f_path.dentry);
	struct dentry *p = BPF_CORE_READ(d, d_parent);

	__u32 zero = 0;
	struct key_pair *kp = bpf_map_lookup_elem(&key_scratch, &zero);
	if (!kp)
		return 0;
	__builtin_memset(&kp->name, 0, sizeof(kp->name));
	read_key_name(kp->name.leaf, d);
	__u32 *named = bpf_map_lookup_elem(&path_names, kp->name.leaf);
	bool maybe = named && (*named & SG_NAME_LEAF);
	read_key_name(kp->name.parent, p);
	if (!maybe) {
		named = bpf_map_lookup_elem(&path_names, kp->name.parent);
		if (!named || !(*named & SG_NAME_WILD_PARENT))
			return 0;
	}
	struct dentry *g = BPF_CORE_READ(p, d_parent);
	read_key_name(kp->name.gparent, g);
	__u32 class = lookup_class(kp);
	if (!class)
		return 0;
	__u32 f_mode = BPF_CORE_READ(file, f_mode);
	bool write = f_mode & FMODE_WRITE_BIT;
	if (class == SG_CLASS_PERSISTENCE && !write)
		return 0;

	struct sg_file *r = bpf_map_lookup_elem(&file_scratch, &zero);
	if (!r)
		return 0;
	count(SG_CTR_FILE_MATCHED);
	fill_hdr(&r->hdr, SG_KIND_FILE, task);
	if (write)
		r->hdr.flags |= SG_FLAG_FILE_WRITE;
	r->class = class;
	r->open_flags = BPF_CORE_READ(file, f_flags);
	r->f_mode = f_mode;
	bool trunc = false;
	r->path_len = walk_path(d, BPF_CORE_READ(file, f_path.mnt), r->path, &trunc);
	if (trunc)
		r->hdr.flags |= SG_FLAG_PATH_TRUNCATED;
	__u64 size = offsetof(struct sg_file, path) + r->path_len;
	if (size > sizeof(*r))
		size = sizeof(*r);
	emit(r, size);
	return 0;
}

struct sockaddr_in_any {
	__u16 family;
	__u16 port; /* network order */
	union {
		__u8 v4[4];
		struct {
			__u32 flowinfo;
			__u8 v6[16];
		};
	};
};

SEC("tracepoint/syscalls/sys_enter_connect")
int sg_connect(struct trace_event_raw_sys_enter *ctx)
{
	const void *uaddr = (const void *)ctx->args[1];
	struct sockaddr_in_any sa = {};
	if (bpf_probe_read_user(&sa, sizeof(sa.family), uaddr) != 0)
		return 0;
	if (sa.family != AF_INET && sa.family != AF_INET6)
		return 0;
	__u64 want = sa.family == AF_INET ? 8 : 24;
	if ((__u64)ctx->args[2] < want)
		return 0;
	if (bpf_probe_read_user(&sa, sizeof(sa), uaddr) != 0 && bpf_probe_read_user(&sa, 8, uaddr) != 0)
		return 0;

	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct sg_connect c = {};
	fill_hdr(&c.hdr, SG_KIND_CONNECT, task);
	c.family = sa.family;
	c.dport = (sa.port >> 8) | ((sa.port & 0xff) << 8);
	if (sa.family == AF_INET)
		__builtin_memcpy(c.daddr, sa.v4, 4);
	else
		__builtin_memcpy(c.daddr, sa.v6, 16);
	struct file *f = fd_file(task, (long)ctx->args[0]);
	if (f) {
		__u16 mode = BPF_CORE_READ(f, f_inode, i_mode);
		if ((mode & S_IFMT) == S_IFSOCK) {
			struct socket *sock = BPF_CORE_READ(f, private_data);
			c.sock_type = BPF_CORE_READ(sock, type);
		}
	}
	emit(&c, sizeof(c));
	return 0;
}
