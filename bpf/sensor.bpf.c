// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * riposte sensor, kernel side.
 *
 * hooks (see docs/sensor.md for why):
 *   tp_btf/sched_process_exec  exec (execve, execveat), after success
 *   tp_btf/sched_process_fork  new processes (fork, vfork, clone, clone3)
 *   tp_btf/sched_process_exit  whole-process exit
 *   tp_btf/sys_exit            one dispatcher for every other syscall event:
 *                              syscall nr -> (type, variant) map, enabled check,
 *                              then a tail call into the type's handler, which
 *                              reads the arguments back from the saved pt_regs
 *   tp_btf/sys_enter+sys_exit  raw records for cgroups flagged verbose; the
 *                              loader attaches these only while a flag is set
 *
 * every record is built in a per-cpu scratch buffer in its final wire shape
 * (struct rp_header, payload, then u16-length-prefixed strings) and copied
 * to the ring buffer with bpf_ringbuf_output.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "open_filter.h"
#include "sensor.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AT_FDCWD -100
#define AT_REMOVEDIR 0x200
#define O_CREAT_WRONLY_TRUNC 01101
/* O_WRONLY | O_RDWR | O_CREAT | O_TRUNC: opens that may change a file */
#define O_MAY_WRITE 01103
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#define BPF_MAP_CREATE_CMD 0
#define BPF_PROG_LOAD_CMD 5

/* size of the event area; every record is built to stay below it */
#define EV_HALF 16384
/* the path walk writes backwards from PATH_END */
#define PATH_END 4096
#define NAME_MASK 255
#define PATH_DEPTH 48

/* scratch classes: programs that may preempt each other get their own slot */
#define SCRATCH_SCHED 0
#define SCRATCH_SYSCALL 1
#define SCRATCH_RAW 2
#define SCRATCH_CLASSES 3

/*
 * wake the loader only once this much is waiting: a wakeup is an irq_work
 * (a self-ipi, a vm exit under virtualization) and costs more than the
 * record. the loader also drains on a short timer, so latency stays bounded.
 */
#define WAKEUP_BYTES (64 * 1024)

/* number of syscall numbers the dispatcher knows */
#define NR_MAX 512

/* set by the loader before load */
const volatile __u32 self_tgid = 0;

/*
 * keeps every wire struct and enum in the object's btf (clang only emits
 * types that globals, maps or signatures reach), so that the typescript
 * layout test can read them from .output/sensor.bpf.o. never read.
 */
const volatile struct {
	struct rp_header header;
	struct rp_exec exec;
	struct rp_fork fork;
	struct rp_exit exit;
	struct rp_open open;
	struct rp_sock sock;
	struct rp_ptrace ptrace;
	struct rp_setid setid;
	struct rp_memfd memfd;
	struct rp_mount mount;
	struct rp_unlink unlink;
	struct rp_path2 path2;
	struct rp_chmod chmod;
	struct rp_bpf bpf;
	struct rp_module module;
	struct rp_raw_enter raw_enter;
	struct rp_counter counter;
	enum rp_event_type type;
	enum rp_variant variant;
} btf_anchor = {};

struct scratch {
	__u8 ev[EV_HALF + RP_STR_MAX + 64];
	__u8 path[2 * PATH_END + NAME_MASK + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* loader may resize */
} rb SEC(".maps");

/* ncpus * SCRATCH_CLASSES entries; resized by the loader */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* event type -> 1 when enabled; written by the loader ("events" command) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RP_EV_KERNEL_MAX);
	__type(key, __u32);
	__type(value, __u32);
} enabled SEC(".maps");

/* syscall nr -> type | variant << 16, filled by the loader from its unistd */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_MAX);
	__type(key, __u32);
	__type(value, __u32);
} syscall_map SEC(".maps");

/* cgroup v2 id -> RP_CG_* flags */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u32);
} cgroup_flags SEC(".maps");

/* see open_filter.h: read-only opens outside the rules' path prefixes are not reported */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rp_open_filter);
} open_filter SEC(".maps");

/* per-cpu counters indexed by event type */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RP_EV_KERNEL_MAX);
	__type(key, __u32);
	__type(value, struct rp_counter);
} counters SEC(".maps");

/* ---- common helpers ---- */

static __always_inline bool type_enabled(__u32 type)
{
	__u32 *on = bpf_map_lookup_elem(&enabled, &type);

	return on && *on;
}

static __always_inline struct scratch *get_scratch(__u32 class)
{
	__u32 key = bpf_get_smp_processor_id() * SCRATCH_CLASSES + class;

	return bpf_map_lookup_elem(&scratch, &key);
}

static __always_inline void count(__u32 type, bool dropped)
{
	struct rp_counter *c = bpf_map_lookup_elem(&counters, &type);

	if (!c)
		return;
	if (dropped)
		c->drops++;
	else
		c->events++;
}

/* fill the fixed header from the current task */
static __always_inline void fill_header(__u8 *ev, __u16 type, __u16 variant, long ret)
{
	struct rp_header *h = (struct rp_header *)ev;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();

	h->len = 0;
	h->type = type;
	h->version = RP_ABI_VERSION;
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->ret = ret;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->ppid = BPF_CORE_READ(task, real_parent, tgid);
	h->uid = (__u32)uid_gid;
	h->gid = uid_gid >> 32;
	h->variant = variant;
	h->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* finish the record at offset off and copy it to the ring buffer */
static __always_inline void submit(__u8 *ev, __u32 off)
{
	struct rp_header *h = (struct rp_header *)ev;
	__u32 type = h->type;
	__u32 len = off & (EV_HALF - 1);

	__u64 flags;

	h->len = len;
	if (len < sizeof(*h))
		return;
	flags = bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) >= WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP
									  : BPF_RB_NO_WAKEUP;
	count(type, bpf_ringbuf_output(&rb, ev, len, flags) != 0);
}

static __always_inline void push_empty(__u8 *ev, __u32 *off)
{
	__u32 o = *off & (EV_HALF - 1);

	*(__u16 *)(ev + o) = 0;
	*off = o + 2;
}

/* u16 length + bytes (no nul) of a user string, at most max - 1 bytes; max <= RP_STR_MAX */
static __always_inline void push_user_str(__u8 *ev, __u32 *off, const void *ustr, __u32 max)
{
	__u32 o = *off & (EV_HALF - 1);
	long n = 0;

	if (ustr)
		n = bpf_probe_read_user_str(ev + o + 2, max & (2 * RP_STR_MAX - 1), ustr);
	if (n < 1)
		n = 1;
	n = (n - 1) & (RP_STR_MAX - 1);
	*(__u16 *)(ev + o) = n;
	*off = o + 2 + n;
}

static __always_inline void push_kernel_str(__u8 *ev, __u32 *off, const void *kstr, __u32 max)
{
	__u32 o = *off & (EV_HALF - 1);
	long n = 0;

	if (kstr)
		n = bpf_probe_read_kernel_str(ev + o + 2, max & (2 * RP_STR_MAX - 1), kstr);
	if (n < 1)
		n = 1;
	n = (n - 1) & (RP_STR_MAX - 1);
	*(__u16 *)(ev + o) = n;
	*off = o + 2 + n;
}

/* raw user bytes of a known length (argv, unix socket paths) */
static __always_inline void push_user_bytes(__u8 *ev, __u32 *off, const void *src, __u32 len)
{
	__u32 o = *off & (EV_HALF - 1);

	barrier_var(len);
	len &= (RP_STR_MAX - 1);
	if (len && bpf_probe_read_user(ev + o + 2, len, src) != 0)
		len = 0;
	*(__u16 *)(ev + o) = len;
	*off = o + 2 + len;
}

/*
 * absolute path of (dentry, vfsmount) as the task sees it: walk the
 * dentries up, cross mounts through mnt_parent/mnt_mountpoint, stop at the
 * task's root or the mount namespace's root. writes backwards into s->path
 * and pushes the result as a string. deep paths lose their leading parts.
 * the walk runs under bpf_loop so the verifier checks one step, not 48.
 */
struct walk_ctx {
	struct scratch *s;
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	__u32 pos;
};

static long walk_step(__u32 i, void *data)
{
	struct walk_ctx *c = data;
	/* locals: core reads must not relocate walk_ctx itself */
	struct dentry *dentry = c->dentry;
	struct vfsmount *vfsmnt = c->vfsmnt;
	struct mount *mnt = c->mnt;
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	struct qstr name;
	__u32 n, pos = 0;

	/* an opaque copy: keeps the verifier from tracking pos across steps */
	bpf_probe_read_kernel(&pos, sizeof(pos), &c->pos);
	pos &= (PATH_END - 1) | PATH_END;

	if (dentry == c->root_dentry && vfsmnt == c->root_mnt)
		return 1;
	if (dentry == mnt_root) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (up == mnt)
			return 1; /* namespace root */
		c->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		c->mnt = up;
		c->vfsmnt = (struct vfsmount *)((void *)up + bpf_core_field_offset(struct mount, mnt));
		return 0;
	}
	if (dentry == parent)
		return 1; /* detached (memfd, pipes, deleted roots) */
	name = BPF_CORE_READ(dentry, d_name);
	n = name.len & NAME_MASK;
	if (n + 1 >= pos)
		return 1;
	pos -= n;
	bpf_probe_read_kernel(c->s->path + (pos & (PATH_END - 1)), n, name.name);
	pos -= 1;
	c->s->path[pos & (PATH_END - 1)] = '/';
	c->pos = pos;
	c->dentry = parent;
	return 0;
}

static __always_inline void push_path(struct scratch *s, __u32 *off, struct dentry *dentry,
				      struct vfsmount *vfsmnt)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct walk_ctx c = {
		.s = s,
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.mnt = (struct mount *)((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt)),
		.root_dentry = BPF_CORE_READ(task, fs, root.dentry),
		.root_mnt = BPF_CORE_READ(task, fs, root.mnt),
		.pos = PATH_END,
	};
	__u32 o, n, pos;

	if (!dentry || !vfsmnt) {
		push_empty(s->ev, off);
		return;
	}
	bpf_loop(PATH_DEPTH, walk_step, &c, 0);
	bpf_probe_read_kernel(&pos, sizeof(pos), &c.pos);
	if (pos >= PATH_END) {
		pos = PATH_END - 1;
		s->path[pos & (PATH_END - 1)] = '/';
	}
	o = *off & (EV_HALF - 1);
	n = (PATH_END - pos) & (PATH_END - 1);
	bpf_probe_read_kernel(s->ev + o + 2, n, s->path + (pos & (PATH_END - 1)));
	*(__u16 *)(s->ev + o) = n;
	*off = o + 2 + n;
}

static __always_inline struct file *file_from_fd(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	if (fd < 0 || !fdt || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline struct sock *sock_from_fd(int fd)
{
	struct file *f = file_from_fd(fd);
	struct socket *sock;

	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

/* syscall arguments from the saved user registers (valid at sys_exit) */
#if defined(__TARGET_ARCH_x86)
#define SC_NR(r) BPF_CORE_READ(r, orig_ax)
#define SC_ARG0(r) BPF_CORE_READ(r, di)
#define SC_ARG1(r) BPF_CORE_READ(r, si)
#define SC_ARG2(r) BPF_CORE_READ(r, dx)
#define SC_ARG3(r) BPF_CORE_READ(r, r10)
#define SC_ARG4(r) BPF_CORE_READ(r, r8)
#define SC_ARG5(r) BPF_CORE_READ(r, r9)
#else
#error "riposte sensor: only __TARGET_ARCH_x86 is wired up"
#endif

/* (type, variant) of the current syscall, 0 when not traced */
static __always_inline __u32 syscall_entry(struct pt_regs *regs)
{
	__u32 nr = SC_NR(regs);
	__u32 *v = bpf_map_lookup_elem(&syscall_map, &nr);

	return v ? *v : 0;
}

/* ---- process lifecycle ---- */

static __always_inline __u32 tty_of(struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	__u32 major, minor;

	if (!tty)
		return 0;
	major = BPF_CORE_READ(tty, driver, major);
	minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
	/* new_encode_dev, as /proc/pid/stat shows tty_nr */
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

/* overlayfs layer of a file, the way falco's modern probe tells it */
static __always_inline __u32 overlay_flags(struct file *file)
{
	struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
	struct inode *inode;
	struct dentry *upper = NULL;

	if (BPF_CORE_READ(dentry, d_sb, s_magic) != OVERLAYFS_SUPER_MAGIC)
		return 0;
	inode = BPF_CORE_READ(dentry, d_inode);
	if (bpf_core_type_exists(struct ovl_inode)) {
		struct ovl_inode *oi = (void *)inode - bpf_core_field_offset(struct ovl_inode, vfs_inode);

		upper = BPF_CORE_READ(oi, __upperdentry);
	} else {
		/* struct ovl_inode keeps __upperdentry right after vfs_inode */
		bpf_probe_read_kernel(&upper, sizeof(upper), (void *)inode + bpf_core_type_size(struct inode));
	}
	if (upper && BPF_CORE_READ(upper, d_inode, i_ino) != 0)
		return RP_EXEC_ON_OVERLAY | RP_EXEC_UPPER_LAYER;
	return RP_EXEC_ON_OVERLAY;
}

static __always_inline bool is_memfd(struct file *file)
{
	const unsigned char *name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
	char pfx[6] = {};

	bpf_probe_read_kernel(pfx, sizeof(pfx), name);
	return pfx[0] == 'm' && pfx[1] == 'e' && pfx[2] == 'm' && pfx[3] == 'f' && pfx[4] == 'd' &&
	       pfx[5] == ':';
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct scratch *s;
	struct rp_exec *e;
	struct file *file;
	struct mm_struct *mm;
	unsigned long arg_start, arg_end, alen;
	__u32 off = sizeof(struct rp_header) + sizeof(struct rp_exec);

	if (!type_enabled(RP_EV_EXEC) || (bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	s = get_scratch(SCRATCH_SCHED);
	if (!s)
		return 0;
	fill_header(s->ev, RP_EV_EXEC, RP_VAR_EXECVE, 0);
	e = (struct rp_exec *)(s->ev + sizeof(struct rp_header));
	e->euid = BPF_CORE_READ(p, cred, euid.val);
	e->egid = BPF_CORE_READ(p, cred, egid.val);
	e->loginuid = bpf_core_field_exists(p->loginuid) ? BPF_CORE_READ(p, loginuid.val) : (__u32)-1;
	e->tty = tty_of(p);
	e->argc = BPF_CORE_READ(bprm, argc);
	file = BPF_CORE_READ(bprm, file);
	e->flags = overlay_flags(file);
	if (is_memfd(file))
		e->flags |= RP_EXEC_FROM_MEMFD;

	/* filename as given to execve */
	push_kernel_str(s->ev, &off, BPF_CORE_READ(bprm, filename), 2048);
	/* executable path, resolved */
	push_path(s, &off, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt));
	/* argv: the new stack's arg area, nul-separated */
	mm = BPF_CORE_READ(p, mm);
	arg_start = BPF_CORE_READ(mm, arg_start);
	arg_end = BPF_CORE_READ(mm, arg_end);
	alen = arg_end > arg_start ? arg_end - arg_start : 0;
	if (alen > RP_ARGS_MAX - 1) {
		alen = RP_ARGS_MAX - 1;
		e->flags |= RP_EXEC_ARGS_TRUNC;
	}
	push_user_bytes(s->ev, &off, (void *)arg_start, alen);
	/* cwd */
	push_path(s, &off, BPF_CORE_READ(p, fs, pwd.dentry), BPF_CORE_READ(p, fs, pwd.mnt));
	submit(s->ev, off);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	struct scratch *s;
	struct rp_fork *f;
	__u32 child_pid = BPF_CORE_READ(child, tgid), child_tid = BPF_CORE_READ(child, pid);

	/* threads are not reported: the process table needs processes */
	if (child_pid != child_tid || !type_enabled(RP_EV_FORK) ||
	    (bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	s = get_scratch(SCRATCH_SCHED);
	if (!s)
		return 0;
	fill_header(s->ev, RP_EV_FORK, 0, child_pid);
	f = (struct rp_fork *)(s->ev + sizeof(struct rp_header));
	f->child_pid = child_pid;
	f->child_tid = child_tid;
	f->flags = 0;
	f->pad = 0;
	submit(s->ev, sizeof(struct rp_header) + sizeof(struct rp_fork));
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p)
{
	struct scratch *s;
	struct rp_exit *x;

	/* report once per process: when its last thread leaves */
	if (BPF_CORE_READ(p, signal, live.counter) != 0 || !type_enabled(RP_EV_EXIT) ||
	    (bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	s = get_scratch(SCRATCH_SCHED);
	if (!s)
		return 0;
	fill_header(s->ev, RP_EV_EXIT, 0, 0);
	x = (struct rp_exit *)(s->ev + sizeof(struct rp_header));
	x->code = BPF_CORE_READ(p, exit_code);
	x->pad = 0;
	submit(s->ev, sizeof(struct rp_header) + sizeof(struct rp_exit));
	return 0;
}

/* ---- syscall events: dispatcher and per-type handlers ---- */

/* handlers run through tail calls and are never attached themselves */
#define HANDLER(name) \
	SEC("tp_btf/sys_exit") int BPF_PROG(name, struct pt_regs *regs, long ret)

/* start a syscall record: scratch, header, payload pointer */
#define BEGIN(type_, payload_t)                                          \
	__u32 ent = syscall_entry(regs);                                 \
	__u16 variant = ent >> 16;                                       \
	struct scratch *s = get_scratch(SCRATCH_SYSCALL);                \
	__u32 off = sizeof(struct rp_header) + sizeof(payload_t);        \
	payload_t *pl;                                                   \
	if (!s)                                                          \
		return 0;                                                \
	fill_header(s->ev, type_, variant, ret);                         \
	pl = (payload_t *)(s->ev + sizeof(struct rp_header));            \
	__builtin_memset(pl, 0, sizeof(*pl));

/* true when the open filter is on and this read-only absolute path matches no prefix */
static __always_inline bool open_filtered(const struct scratch *s, __u32 flags)
{
	const __u32 zero = 0;
	struct rp_open_filter *f = bpf_map_lookup_elem(&open_filter, &zero);
	char p[RP_OPEN_PREFIX_LEN];
	__u32 i, j;

	if (!f || !f->enabled)
		return false;
	if (flags & O_MAY_WRITE)
		return false;
	/* the path string follows the header, the payload and its u16 length */
	if (bpf_probe_read_kernel(p, sizeof(p), s->ev + sizeof(struct rp_header) + sizeof(struct rp_open) + 2))
		return false;
	if (p[0] != '/')
		return false;
	/* "//", "/./", "/../" would slip past a prefix: such paths are always reported */
	for (j = 0; j < RP_OPEN_PREFIX_LEN - 1; j++) {
		if (p[j] == 0)
			break;
		if (p[j] == '/' && (p[j + 1] == '/' || p[j + 1] == '.'))
			return false;
	}
	for (i = 0; i < RP_OPEN_PREFIX_MAX; i++) {
		__u8 len;
		bool same = true;

		if (i >= f->n)
			break;
		len = f->len[i];
		for (j = 0; j < RP_OPEN_PREFIX_LEN; j++) {
			if (j >= len)
				break;
			if (p[j] != f->prefix[i][j]) {
				same = false;
				break;
			}
		}
		if (same)
			return false;
	}
	return true;
}

HANDLER(h_open)
{
	const char *path;
	__u8 first = 0;
	BEGIN(RP_EV_OPEN, struct rp_open);

	pl->dfd = AT_FDCWD;
	switch (variant) {
	case RP_VAR_OPEN:
		path = (const char *)SC_ARG0(regs);
		pl->flags = SC_ARG1(regs);
		pl->mode = SC_ARG2(regs);
		break;
	case RP_VAR_OPENAT:
		pl->dfd = SC_ARG0(regs);
		path = (const char *)SC_ARG1(regs);
		pl->flags = SC_ARG2(regs);
		pl->mode = SC_ARG3(regs);
		break;
	case RP_VAR_OPENAT2: {
		struct open_how how = {};

		pl->dfd = SC_ARG0(regs);
		path = (const char *)SC_ARG1(regs);
		bpf_probe_read_user(&how, sizeof(how), (void *)SC_ARG2(regs));
		pl->flags = how.flags;
		pl->mode = how.mode;
		break;
	}
	default: /* creat */
		path = (const char *)SC_ARG0(regs);
		pl->flags = O_CREAT_WRONLY_TRUNC;
		pl->mode = SC_ARG1(regs);
		break;
	}
	push_user_str(s->ev, &off, path, RP_PATH_MAX);
	if (open_filtered(s, pl->flags))
		return 0;
	bpf_probe_read_kernel(&first, 1, s->ev + sizeof(struct rp_header) + sizeof(struct rp_open) + 2);
	/* relative paths: also send what the new fd points at */
	if (ret >= 0 && first != '/') {
		struct file *f = file_from_fd(ret);

		if (f)
			push_path(s, &off, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
		else
			push_empty(s->ev, &off);
	} else {
		push_empty(s->ev, &off);
	}
	submit(s->ev, off);
	return 0;
}

static __always_inline void sock_addrs(struct rp_sock *pl, struct sock *sk, bool remote)
{
	pl->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	pl->proto = BPF_CORE_READ(sk, sk_protocol);
	pl->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (pl->family == AF_INET) {
		bpf_core_read(pl->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		if (remote)
			bpf_core_read(pl->daddr, 4, &sk->__sk_common.skc_daddr);
	} else if (pl->family == AF_INET6) {
		bpf_core_read(pl->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		if (remote)
			bpf_core_read(pl->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	if (remote)
		pl->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
}

HANDLER(h_connect)
{
	const void *uaddr;
	__u32 alen;
	__u16 family = 0;
	struct sock *sk;
	BEGIN(RP_EV_CONNECT, struct rp_sock);

	pl->fd = SC_ARG0(regs);
	uaddr = (const void *)SC_ARG1(regs);
	alen = SC_ARG2(regs);
	sk = sock_from_fd(pl->fd);
	if (sk)
		sock_addrs(pl, sk, false);
	/* the remote end from the caller's sockaddr: right even when connect failed */
	bpf_probe_read_user(&family, sizeof(family), uaddr);
	pl->family = family;
	if (family == AF_INET) {
		struct sockaddr_in sin = {};

		bpf_probe_read_user(&sin, sizeof(sin), uaddr);
		pl->dport = bpf_ntohs(sin.sin_port);
		__builtin_memcpy(pl->daddr, &sin.sin_addr, 4);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 sin6 = {};

		bpf_probe_read_user(&sin6, sizeof(sin6), uaddr);
		pl->dport = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(pl->daddr, &sin6.sin6_addr, 16);
	}
	if (family == AF_UNIX && alen > 2)
		push_user_bytes(s->ev, &off, uaddr + 2, alen - 2 > 108 ? 108 : alen - 2);
	else
		push_empty(s->ev, &off);
	submit(s->ev, off);
	return 0;
}

HANDLER(h_accept)
{
	struct sock *sk;

	/* failed accepts are mostly EAGAIN from event loops: not reported */
	if (ret < 0)
		return 0;
	BEGIN(RP_EV_ACCEPT, struct rp_sock);

	pl->fd = SC_ARG0(regs);
	sk = sock_from_fd(ret);
	if (sk)
		sock_addrs(pl, sk, true);
	push_empty(s->ev, &off);
	submit(s->ev, off);
	return 0;
}

HANDLER(h_ptrace)
{
	long req = SC_ARG0(regs);

	/* attach-like and write requests only; peeks from debuggers are noise */
	switch (req) {
	case 0:	     /* PTRACE_TRACEME */
	case 4:	     /* PTRACE_POKETEXT */
	case 5:	     /* PTRACE_POKEDATA */
	case 6:	     /* PTRACE_POKEUSR */
	case 13:     /* PTRACE_SETREGS */
	case 15:     /* PTRACE_SETFPREGS */
	case 16:     /* PTRACE_ATTACH */
	case 0x4205: /* PTRACE_SETREGSET */
	case 0x4206: /* PTRACE_SEIZE */
		break;
	default:
		return 0;
	}
	BEGIN(RP_EV_PTRACE, struct rp_ptrace);

	pl->request = req;
	pl->target = SC_ARG1(regs);
	submit(s->ev, off);
	return 0;
}

static __always_inline int setid(struct pt_regs *regs, long ret, __u16 type)
{
	BEGIN(type, struct rp_setid);

	pl->id[0] = SC_ARG0(regs);
	pl->id[1] = (__u32)-1;
	pl->id[2] = (__u32)-1;
	if (variant == RP_VAR_SETREUID || variant == RP_VAR_SETRESUID)
		pl->id[1] = SC_ARG1(regs);
	if (variant == RP_VAR_SETRESUID)
		pl->id[2] = SC_ARG2(regs);
	submit(s->ev, off);
	return 0;
}

HANDLER(h_setuid)
{
	return setid(regs, ret, RP_EV_SETUID);
}

HANDLER(h_setgid)
{
	return setid(regs, ret, RP_EV_SETGID);
}

HANDLER(h_memfd)
{
	BEGIN(RP_EV_MEMFD_CREATE, struct rp_memfd);

	pl->flags = SC_ARG1(regs);
	push_user_str(s->ev, &off, (const void *)SC_ARG0(regs), 256);
	submit(s->ev, off);
	return 0;
}

HANDLER(h_mount)
{
	BEGIN(RP_EV_MOUNT, struct rp_mount);

	pl->flags = SC_ARG3(regs);
	push_user_str(s->ev, &off, (const void *)SC_ARG0(regs), RP_PATH_MAX);
	push_user_str(s->ev, &off, (const void *)SC_ARG1(regs), RP_PATH_MAX);
	push_user_str(s->ev, &off, (const void *)SC_ARG2(regs), 256);
	submit(s->ev, off);
	return 0;
}

HANDLER(h_unlink)
{
	const void *path;
	BEGIN(RP_EV_UNLINK, struct rp_unlink);

	pl->dfd = AT_FDCWD;
	if (variant == RP_VAR_UNLINKAT) {
		pl->dfd = SC_ARG0(regs);
		path = (const void *)SC_ARG1(regs);
		pl->flags = SC_ARG2(regs);
	} else {
		path = (const void *)SC_ARG0(regs);
		pl->flags = variant == RP_VAR_RMDIR ? AT_REMOVEDIR : 0;
	}
	push_user_str(s->ev, &off, path, RP_PATH_MAX);
	submit(s->ev, off);
	return 0;
}

/* rename, link and symlink: two paths */
static __always_inline int path2(struct pt_regs *regs, long ret, __u16 type)
{
	const void *oldp, *newp;
	BEGIN(type, struct rp_path2);

	pl->olddfd = AT_FDCWD;
	pl->newdfd = AT_FDCWD;
	if (variant == 0) { /* rename, link, symlink */
		oldp = (const void *)SC_ARG0(regs);
		newp = (const void *)SC_ARG1(regs);
	} else if (type == RP_EV_SYMLINK) { /* symlinkat(target, newdfd, linkpath) */
		oldp = (const void *)SC_ARG0(regs);
		pl->newdfd = SC_ARG1(regs);
		newp = (const void *)SC_ARG2(regs);
	} else { /* renameat, renameat2, linkat */
		pl->olddfd = SC_ARG0(regs);
		oldp = (const void *)SC_ARG1(regs);
		pl->newdfd = SC_ARG2(regs);
		newp = (const void *)SC_ARG3(regs);
		if (variant == RP_VAR_RENAMEAT2 || type == RP_EV_LINK)
			pl->flags = SC_ARG4(regs);
	}
	push_user_str(s->ev, &off, oldp, RP_PATH_MAX);
	push_user_str(s->ev, &off, newp, RP_PATH_MAX);
	submit(s->ev, off);
	return 0;
}

HANDLER(h_rename)
{
	return path2(regs, ret, RP_EV_RENAME);
}

HANDLER(h_link)
{
	return path2(regs, ret, RP_EV_LINK);
}

HANDLER(h_symlink)
{
	return path2(regs, ret, RP_EV_SYMLINK);
}

HANDLER(h_chmod)
{
	const void *path = NULL;
	BEGIN(RP_EV_CHMOD, struct rp_chmod);

	pl->fd = AT_FDCWD;
	switch (variant) {
	case RP_VAR_CHMOD:
		path = (const void *)SC_ARG0(regs);
		pl->mode = SC_ARG1(regs);
		break;
	case RP_VAR_FCHMOD:
		pl->fd = SC_ARG0(regs);
		pl->mode = SC_ARG1(regs);
		break;
	default: /* fchmodat, fchmodat2 */
		pl->fd = SC_ARG0(regs);
		path = (const void *)SC_ARG1(regs);
		pl->mode = SC_ARG2(regs);
		if (variant == RP_VAR_FCHMODAT2)
			pl->flags = SC_ARG3(regs);
		break;
	}
	push_user_str(s->ev, &off, path, RP_PATH_MAX);
	submit(s->ev, off);
	return 0;
}

HANDLER(h_bpf)
{
	const void *attr;
	BEGIN(RP_EV_BPF, struct rp_bpf);

	pl->cmd = SC_ARG0(regs);
	attr = (const void *)SC_ARG1(regs);
	/* prog_type and map_type are the first u32 of their attr variants */
	if (pl->cmd == BPF_PROG_LOAD_CMD)
		bpf_probe_read_user(&pl->prog_type, sizeof(__u32), attr);
	else if (pl->cmd == BPF_MAP_CREATE_CMD)
		bpf_probe_read_user(&pl->map_type, sizeof(__u32), attr);
	submit(s->ev, off);
	return 0;
}

HANDLER(h_module)
{
	BEGIN(RP_EV_MODULE, struct rp_module);

	pl->fd = -1;
	if (variant == RP_VAR_FINIT_MODULE) {
		struct file *f;

		pl->fd = SC_ARG0(regs);
		pl->flags = SC_ARG2(regs);
		push_user_str(s->ev, &off, (const void *)SC_ARG1(regs), 1024);
		f = file_from_fd(pl->fd);
		if (f)
			push_path(s, &off, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
		else
			push_empty(s->ev, &off);
	} else {
		pl->len = SC_ARG1(regs);
		push_user_str(s->ev, &off, (const void *)SC_ARG2(regs), 1024);
		push_empty(s->ev, &off);
	}
	submit(s->ev, off);
	return 0;
}

/* event type -> handler */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, RP_EV_KERNEL_MAX);
	__uint(key_size, sizeof(__u32));
	__array(values, int(void *));
} handlers SEC(".maps") = {
	.values = {
		[RP_EV_OPEN] = (void *)&h_open,
		[RP_EV_UNLINK] = (void *)&h_unlink,
		[RP_EV_RENAME] = (void *)&h_rename,
		[RP_EV_CHMOD] = (void *)&h_chmod,
		[RP_EV_SYMLINK] = (void *)&h_symlink,
		[RP_EV_LINK] = (void *)&h_link,
		[RP_EV_MOUNT] = (void *)&h_mount,
		[RP_EV_MEMFD_CREATE] = (void *)&h_memfd,
		[RP_EV_CONNECT] = (void *)&h_connect,
		[RP_EV_ACCEPT] = (void *)&h_accept,
		[RP_EV_PTRACE] = (void *)&h_ptrace,
		[RP_EV_SETUID] = (void *)&h_setuid,
		[RP_EV_SETGID] = (void *)&h_setgid,
		[RP_EV_BPF] = (void *)&h_bpf,
		[RP_EV_MODULE] = (void *)&h_module,
	},
};

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_dispatch, struct pt_regs *regs, long ret)
{
	__u32 type = syscall_entry(regs) & 0xffff;

	if (!type || !type_enabled(type) || (bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	bpf_tail_call(ctx, &handlers, type);
	return 0;
}

/* ---- verbose tracing of flagged cgroups ---- */

static __always_inline bool cgroup_verbose(void)
{
	__u64 id = bpf_get_current_cgroup_id();
	__u32 *flags = bpf_map_lookup_elem(&cgroup_flags, &id);

	return flags && (*flags & RP_CG_VERBOSE) && (bpf_get_current_pid_tgid() >> 32) != self_tgid;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(raw_enter, struct pt_regs *regs, long id)
{
	struct scratch *s;
	struct rp_raw_enter *r;

	if (!cgroup_verbose())
		return 0;
	s = get_scratch(SCRATCH_RAW);
	if (!s)
		return 0;
	fill_header(s->ev, RP_EV_RAW_ENTER, id, 0);
	r = (struct rp_raw_enter *)(s->ev + sizeof(struct rp_header));
	r->args[0] = SC_ARG0(regs);
	r->args[1] = SC_ARG1(regs);
	r->args[2] = SC_ARG2(regs);
	r->args[3] = SC_ARG3(regs);
	r->args[4] = SC_ARG4(regs);
	r->args[5] = SC_ARG5(regs);
	submit(s->ev, sizeof(struct rp_header) + sizeof(struct rp_raw_enter));
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(raw_exit, struct pt_regs *regs, long ret)
{
	struct scratch *s;

	if (!cgroup_verbose())
		return 0;
	s = get_scratch(SCRATCH_RAW);
	if (!s)
		return 0;
	fill_header(s->ev, RP_EV_RAW_EXIT, SC_NR(regs), ret);
	submit(s->ev, sizeof(struct rp_header));
	return 0;
}
