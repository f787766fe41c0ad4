// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * riposte-enforcer: loads enforcer.bpf.c, attaches its cgroup skb programs
 * to the cgroups it is told about (and the lsm program while an exec policy
 * exists), takes line commands on stdin and streams packet and exec-denied
 * records plus replies to stdout as frames. docs/node-actions.md has the
 * protocol and the map layouts.
 *
 * flow: open -> configure (pins) -> load -> adopt pinned links -> poll,
 * one cleanup path. without --persist everything is detached and unpinned
 * on the way out, so nothing outlives the process.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "enforcer.h"
#include "enforcer.skel.h"

#define RP_ENF_LOADER_VERSION "0.1.0"
#define CGROUP2_MAGIC 0x63677270
#define BPFFS_MAGIC 0xcafe4a11
#define MAX_ATTACHED 1024
#define MAX_FAN 64
#define RECENT_EXECS 64

/* ---- state ---- */

struct attachment {
	__u64 cgid;
	struct bpf_link *in, *out;
};

static struct enforcer_bpf *skel;
static struct ring_buffer *rb;
static struct bpf_link *lsm_link, *adopted_exec;
static struct attachment att[MAX_ATTACHED];
static int n_att;
static int exec_cgroups; /* cgroups with an exec policy: the lsm program is attached while > 0 */
static bool exiting, verbose_log, persist;

#define LOADER_NAME "riposte-enforcer"
#define FRAME_VERSION RP_ENF_ABI_VERSION
#include "loader_io.h"
static const char *pin_dir;
static const char *cgroup2_root = "/sys/fs/cgroup";
static int exec_mech;		 /* enum rp_enf_exec_mechanism */
static char lsm_why[512];	 /* why bpf lsm is not used, when it is not */
static int efd = -1;		 /* the poll loop's epoll */

/* fanotify fallback: one group per blocked cgroup, marks on its mounts */
struct fan_group {
	__u64 cgid;
	int fd;
	char rel[512]; /* cgroup path under the cgroup2 root */
	int marks;
};
static struct fan_group fan[MAX_FAN];
static int n_fan;

/* allow-only: pids whose last exec was allowed (their elf interpreter may follow) */
static struct {
	__u32 pid;
	__u64 at_ns;
} recent[RECENT_EXECS];
static unsigned int recent_next;
static int poll_ms = 50;
static char last_libbpf_error[512];
static bool quiet_libbpf; /* while probing for bpf lsm */


static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	va_list copy;

	if (level == LIBBPF_WARN) {
		va_copy(copy, args);
		vsnprintf(last_libbpf_error, sizeof(last_libbpf_error), fmt, copy);
		va_end(copy);
	}
	if ((level == LIBBPF_DEBUG && !verbose_log) || (quiet_libbpf && !verbose_log))
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* ---- output ---- */

/* kernel records are frames already; packet samples are reserved at the
 * largest size, the frame's own length says how much of it is used */
static int on_sample(void *ctx, void *data, size_t size)
{
	const struct rp_enf_prefix *p = data;

	if (size < sizeof(*p) || p->len > size || p->len < sizeof(*p))
		return 0;
	out_put(data, p->len);
	return exiting ? -1 : 0;
}

static void send_hello(void)
{
	static struct frame f;

	fr_begin(&f, RP_ENF_FR_HELLO);
	fr_u32(&f, RP_ENF_ABI_VERSION);
	fr_u32(&f, persist ? 1 : 0);
	fr_u64(&f, (__u64)boot_to_realtime_ns());
	fr_u32(&f, getpid());
	fr_u32(&f, exec_mech);
	fr_str(&f, RP_ENF_LOADER_VERSION);
	fr_str(&f, lsm_why);
	fr_end(&f);
}

static void send_reply(bool ok, const char *fmt, ...)
{
	static struct frame f;
	char msg[6144];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!ok)
		fprintf(stderr, "riposte-enforcer: %s\n", msg);
	fr_begin(&f, RP_ENF_FR_REPLY);
	fr_u32(&f, ok ? 1 : 0);
	fr_str(&f, msg);
	fr_end(&f);
}

/* ---- pins (only with --pin) ---- */

static void pin_path(char *buf, size_t len, const char *kind, __u64 cgid)
{
	if (!strcmp(kind, "exec"))
		snprintf(buf, len, "%s/links/exec", pin_dir);
	else
		snprintf(buf, len, "%s/links/skb-%llu-%s", pin_dir, (unsigned long long)cgid, kind);
}

static void pin_link(struct bpf_link *link, const char *kind, __u64 cgid)
{
	char path[512];
	int err;

	/* only a persisting run pins links: otherwise they die with us, even on sigkill */
	if (!pin_dir || !persist || !link)
		return;
	pin_path(path, sizeof(path), kind, cgid);
	err = bpf_link__pin(link, path);
	if (err)
		fprintf(stderr, "riposte-enforcer: pin %s: %s\n", path, strerror(-err));
}

/* detach for good: unpin (if pinned), then drop our reference */
static void drop_link(struct bpf_link **link)
{
	if (!*link)
		return;
	if (bpf_link__pin_path(*link))
		bpf_link__unpin(*link);
	bpf_link__destroy(*link);
	*link = NULL;
}

/* ---- policy map ---- */

static int policy_get(__u64 cgid, struct rp_enf_policy *p)
{
	memset(p, 0, sizeof(*p));
	return bpf_map__lookup_elem(skel->maps.policy, &cgid, sizeof(cgid), p, sizeof(*p), 0);
}

/* set flags (keeping the kernel's counters); no flags left: drop the entry */
static int policy_set_flags(__u64 cgid, __u32 set, __u32 clear, __u32 snaplen)
{
	struct rp_enf_policy p;
	bool had = policy_get(cgid, &p) == 0;

	p.flags = (p.flags | set) & ~clear;
	if (snaplen)
		p.snaplen = snaplen;
	if (p.flags == 0)
		return had ? bpf_map__delete_elem(skel->maps.policy, &cgid, sizeof(cgid), 0) : 0;
	return bpf_map__update_elem(skel->maps.policy, &cgid, sizeof(cgid), &p, sizeof(p), 0);
}

/* ---- attachments ---- */

static struct attachment *find_att(__u64 cgid)
{
	for (int i = 0; i < n_att; i++)
		if (att[i].cgid == cgid)
			return &att[i];
	return NULL;
}

static void remove_att(struct attachment *a)
{
	drop_link(&a->in);
	drop_link(&a->out);
	*a = att[--n_att];
}

/* open the cgroup directory and make sure it is the cgroup v2 with that id
 * (and not the root): the loader never attaches anywhere else */
static int open_cgroup(const char *path, __u64 cgid, char *why, size_t whylen)
{
	struct statfs sfs;
	struct stat st;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, whylen, "open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstatfs(fd, &sfs) || sfs.f_type != CGROUP2_MAGIC) {
		snprintf(why, whylen, "%s is not a cgroup v2 directory", path);
		close(fd);
		return -EINVAL;
	}
	if (fstat(fd, &st) || st.st_ino != cgid) {
		snprintf(why, whylen, "%s has id %llu, not %llu", path,
			 (unsigned long long)st.st_ino, (unsigned long long)cgid);
		close(fd);
		return -EINVAL;
	}
	if (cgid <= 1) {
		snprintf(why, whylen, "refusing the root cgroup");
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* cgroup skb programs on this cgroup only (multi-attach links: other
 * programs on the cgroup keep running) */
static int ensure_skb(__u64 cgid, const char *path, char *why, size_t whylen)
{
	struct attachment a = { .cgid = cgid };
	int fd, err;

	if (find_att(cgid))
		return 0;
	if (n_att >= MAX_ATTACHED) {
		snprintf(why, whylen, "too many cgroups (%d)", MAX_ATTACHED);
		return -ENOSPC;
	}
	fd = open_cgroup(path, cgid, why, whylen);
	if (fd < 0)
		return fd;
	a.in = bpf_program__attach_cgroup(skel->progs.skb_ingress, fd);
	if (!a.in) {
		err = -errno;
		goto fail;
	}
	a.out = bpf_program__attach_cgroup(skel->progs.skb_egress, fd);
	if (!a.out) {
		err = -errno;
		goto fail;
	}
	close(fd);
	pin_link(a.in, "in", cgid);
	pin_link(a.out, "out", cgid);
	att[n_att++] = a;
	return 0;
fail:
	snprintf(why, whylen, "attach to %s: %s", path, strerror(-err));
	bpf_link__destroy(a.in);
	close(fd);
	return err;
}

/* detach the skb programs once the cgroup needs neither isolation nor pcap */
static void maybe_detach_skb(__u64 cgid)
{
	struct rp_enf_policy p;
	struct attachment *a = find_att(cgid);

	if (!a)
		return;
	if (policy_get(cgid, &p) == 0 && (p.flags & (RP_ENF_ISOLATE | RP_ENF_PCAP)))
		return;
	remove_att(a);
}

static int sync_lsm(void)
{
	if (exec_mech != RP_ENF_EXEC_BPF_LSM)
		return 0;
	if (exec_cgroups > 0 && !lsm_link) {
		lsm_link = bpf_program__attach_lsm(skel->progs.exec_check);
		if (!lsm_link)
			return -errno;
		pin_link(lsm_link, "exec", 0);
	} else if (exec_cgroups == 0 && lsm_link) {
		drop_link(&lsm_link);
	}
	return 0;
}

static int count_exec_cgroups(void)
{
	__u64 key, next, *prev = NULL;
	struct rp_enf_policy p;
	int n = 0;

	while (bpf_map__get_next_key(skel->maps.policy, prev, &next, sizeof(next)) == 0) {
		key = next;
		prev = &key;
		if (policy_get(key, &p) == 0 && (p.flags & (RP_ENF_EXEC_DENY | RP_ENF_EXEC_ALLOW_ONLY)))
			n++;
	}
	return n;
}

/* delete every key of one cgroup from a map whose keys start with the cgroup id
 * at byte offset `at` */
static int delete_keys_of(struct bpf_map *map, size_t key_size, size_t at, __u64 cgid)
{
	unsigned char key[512], next[512];
	bool first = true;
	int n = 0;

	/* restart the walk after each delete: deleting the cursor ends an iteration */
	for (;;) {
		bool found = false;

		first = true;
		while (bpf_map__get_next_key(map, first ? NULL : key, next, key_size) == 0) {
			__u64 id;

			first = false;
			memcpy(key, next, key_size);
			memcpy(&id, key + at, sizeof(id));
			if (id == cgid) {
				found = true;
				break;
			}
		}
		if (!found)
			return n;
		if (bpf_map__delete_elem(map, key, key_size, 0))
			return n;
		n++;
	}
}

/* ---- exec blocking without bpf lsm: fanotify permission events ----
 *
 * some kernels refuse trampoline programs (lsm, fentry) even to root. then
 * each blocked cgroup gets a fanotify group with FAN_OPEN_EXEC_PERM marks on
 * the mounts of its container's mount namespace (never the agent's own), and
 * the same policy and exec_paths maps decide, read from here. a pid outside
 * the cgroup is always allowed; pending events are allowed when we exit. */

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static struct fan_group *find_fan(__u64 cgid)
{
	for (int i = 0; i < n_fan; i++)
		if (fan[i].cgid == cgid)
			return &fan[i];
	return NULL;
}

static void fan_close(struct fan_group *g)
{
	/* closing the group drops its marks and allows whatever is pending */
	close(g->fd);
	*g = fan[--n_fan];
}

/* the cgroup v2 path of a pid ("0::/a/b" line), under the cgroup2 root */
static int pid_cgroup(int pid, char *out, size_t len)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (!strncmp(line, "0::", 3)) {
			char *end = strchr(line, '\n');

			if (end)
				*end = 0;
			snprintf(out, len, "%s", line + 3);
			return 0;
		}
	}
	return -ENOENT;
}

static bool under(const char *rel, const char *top)
{
	size_t n = strlen(top);

	return !strcmp(rel, top) || (!strncmp(rel, top, n) && (rel[n] == '/' || !strcmp(top, "/")));
}

/* undo the octal escapes of /proc/pid/mountinfo (\040 for a space, ...) */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

/* marks for the mount namespace of one process of the container: its root
 * overlay as a whole filesystem (the container's own superblock, so every
 * namespace of the container is covered), every other mount as that mount
 * only. returns marks made, or -1 when the root could not be marked */
static int fan_mark_ns(int fd, int pid, char *why, size_t whylen)
{
	char path[1024];
	FILE *mi;
	char *line = NULL;
	size_t cap = 0;
	int marks = 0;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	mi = fopen(path, "re");
	if (!mi) {
		snprintf(why, whylen, "%.300s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, mi) > 0) {
		char *dash = strstr(line, " - "), *f[6], *save = NULL, *tok, fstype[64] = "";
		unsigned int how = FAN_MARK_MOUNT;
		bool root;
		int nf = 0;

		if (!dash)
			continue;
		sscanf(dash + 3, "%63s", fstype);
		*dash = 0;
		for (tok = strtok_r(line, " ", &save); tok && nf < 6; tok = strtok_r(NULL, " ", &save))
			f[nf++] = tok;
		if (nf < 5)
			continue;
		unescape(f[4]);
		root = !strcmp(f[4], "/");
		/* only the root overlay is the container's own superblock */
		if (root && !strcmp(fstype, "overlay"))
			how = FAN_MARK_FILESYSTEM;
		snprintf(path, sizeof(path), "/proc/%d/root%s", pid, root ? "" : f[4]);
		if (fanotify_mark(fd, FAN_MARK_ADD | how, FAN_OPEN_EXEC_PERM, AT_FDCWD, path) == 0) {
			marks++;
		} else if (root) {
			snprintf(why, whylen, "fanotify_mark %.300s: %s", path, strerror(errno));
			marks = -1;
			break;
		}
	}
	free(line);
	fclose(mi);
	return marks;
}

static int fan_block(__u64 cgid, const char *cgdir, int pid, char *why, size_t whylen)
{
	struct fan_group g = { .cgid = cgid, .fd = -1 };
	struct stat self_ns;
	char path[1024], rel[512];
	size_t rootlen = strlen(cgroup2_root);
	struct epoll_event ev;
	struct {
		__u64 ns, dev, ino;
	} seen[64];
	int nseen = 0, fd, candidates[256], ncand = 0;
	FILE *procs;

	if (find_fan(cgid))
		return 0;
	if (n_fan >= MAX_FAN) {
		snprintf(why, whylen, "too many blocked cgroups (%d)", MAX_FAN);
		return -ENOSPC;
	}
	fd = open_cgroup(cgdir, cgid, why, whylen);
	if (fd < 0)
		return fd;
	close(fd);
	if (strncmp(cgdir, cgroup2_root, rootlen) || (cgdir[rootlen] != '/' && cgdir[rootlen])) {
		snprintf(why, whylen, "%s is not under the cgroup2 root %s", cgdir, cgroup2_root);
		return -EINVAL;
	}
	snprintf(g.rel, sizeof(g.rel), "%s", cgdir[rootlen] ? cgdir + rootlen : "/");
	if (stat("/proc/self/ns/mnt", &self_ns)) {
		snprintf(why, whylen, "/proc/self/ns/mnt: %s", strerror(errno));
		return -errno;
	}
	/* the given pid, then every process of the cgroup */
	if (pid > 0)
		candidates[ncand++] = pid;
	snprintf(path, sizeof(path), "%.900s/cgroup.procs", cgdir);
	procs = fopen(path, "re");
	if (procs) {
		int p;

		while (ncand < 256 && fscanf(procs, "%d", &p) == 1)
			candidates[ncand++] = p;
		fclose(procs);
	}
	g.fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_CLOEXEC);
	if (g.fd < 0) {
		snprintf(why, whylen, "fanotify_init: %s", strerror(errno));
		return -errno;
	}
	for (int i = 0; i < ncand; i++) {
		struct stat ns, rt;
		bool dup = false;
		int m;

		/* a process of the cgroup, in a mount namespace of its own */
		if (pid_cgroup(candidates[i], rel, sizeof(rel)) || !under(rel, g.rel))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", candidates[i]);
		if (stat(path, &ns))
			continue;
		/* marks on a shared mount namespace would put every host exec through us */
		if (ns.st_ino == self_ns.st_ino)
			continue;
		/* mountinfo lists what is under the process's root: one pass per (namespace, root) */
		snprintf(path, sizeof(path), "/proc/%d/root", candidates[i]);
		if (stat(path, &rt))
			continue;
		for (int j = 0; j < nseen; j++)
			dup |= seen[j].ns == ns.st_ino && seen[j].dev == rt.st_dev && seen[j].ino == rt.st_ino;
		if (dup || nseen >= 64)
			continue;
		seen[nseen].ns = ns.st_ino;
		seen[nseen].dev = rt.st_dev;
		seen[nseen].ino = rt.st_ino;
		nseen++;
		m = fan_mark_ns(g.fd, candidates[i], why, whylen);
		if (verbose_log)
			fprintf(stderr, "riposte-enforcer: %d fanotify mark(s) for pid %d\n", m, candidates[i]);
		if (m < 0) {
			close(g.fd);
			return -EIO;
		}
		g.marks += m;
	}
	if (g.marks <= 0) {
		snprintf(why, whylen, "fanotify blocking needs a process of the container in a mount namespace of its own "
				      "(none in %.300s)", g.rel);
		close(g.fd);
		return -ESRCH;
	}
	ev.events = EPOLLIN;
	ev.data.fd = g.fd;
	if (epoll_ctl(efd, EPOLL_CTL_ADD, g.fd, &ev)) {
		snprintf(why, whylen, "epoll: %s", strerror(errno));
		close(g.fd);
		return -errno;
	}
	fan[n_fan++] = g;
	return 0;
}

static void emit_denied(__u64 cgid, int pid, const char *path)
{
	struct rp_enf_exec e = {};
	char p[64], comm[32] = "";
	int fd;

	snprintf(p, sizeof(p), "/proc/%d/comm", pid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, comm, sizeof(comm) - 1);

		close(fd);
		if (n > 0)
			comm[n - 1] = 0;
	}
	e.p.type = RP_ENF_EXEC_DENIED;
	e.p.version = RP_ENF_ABI_VERSION;
	e.p.len = sizeof(e);
	e.ts_ns = now_ns();
	e.cgroup_id = cgid;
	e.pid = pid;
	e.tid = pid;
	e.uid = 0xffffffff; /* not known here */
	e.ret = -EPERM;
	snprintf(e.comm, sizeof(e.comm), "%s", comm);
	snprintf(e.path, sizeof(e.path), "%s", path);
	out_put(&e, sizeof(e));
}

/* decide one exec: the path is the file as the task sees it (its root cut
 * off), the same string bpf_d_path gives the lsm program */
static bool fan_denies(struct fan_group *g, int pid, int fd, char *shown, size_t shownlen)
{
	struct rp_enf_path_key k = { .cgroup_id = g->cgid };
	struct rp_enf_policy pol;
	char link[64], file[1024], root[1024], rel[512];
	ssize_t n, r;
	__u32 v = 0;

	shown[0] = 0;
	if (policy_get(g->cgid, &pol) || !(pol.flags & (RP_ENF_EXEC_DENY | RP_ENF_EXEC_ALLOW_ONLY)))
		return false;
	if (pid_cgroup(pid, rel, sizeof(rel)) || !under(rel, g->rel))
		return false; /* not the container's process */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, file, sizeof(file) - 1);
	snprintf(link, sizeof(link), "/proc/%d/root", pid);
	r = readlink(link, root, sizeof(root) - 1);
	if (n <= 0)
		return (pol.flags & RP_ENF_EXEC_ALLOW_ONLY) != 0;
	file[n] = 0;
	root[r > 0 ? r : 0] = 0;
	if (r > 1 && !strncmp(file, root, r) && file[r] == '/')
		memmove(file, file + r, n - r + 1);
	snprintf(shown, shownlen, "%.*s", (int)shownlen - 1, file);
	if (strlen(file) < sizeof(k.path)) {
		strncpy(k.path, file, sizeof(k.path) - 1);
		if (bpf_map__lookup_elem(skel->maps.exec_paths, &k, sizeof(k), &v, sizeof(v), 0))
			v = 0;
	}
	if (pol.flags & RP_ENF_EXEC_ALLOW_ONLY) {
		if (v == RP_ENF_PATH_LISTED) {
			recent[recent_next % RECENT_EXECS].pid = pid;
			recent[recent_next % RECENT_EXECS].at_ns = now_ns();
			recent_next++;
			return false;
		}
		/* the elf interpreter of an allowed binary, opened by the same exec */
		if (v == RP_ENF_PATH_INTERP)
			for (int i = 0; i < RECENT_EXECS; i++)
				if (recent[i].pid == (__u32)pid && now_ns() - recent[i].at_ns < 2000000000ULL) {
					recent[i].pid = 0;
					return false;
				}
		return true;
	}
	return v == RP_ENF_PATH_LISTED;
}

static void fan_events(struct fan_group *g)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));

	for (;;) {
		struct fanotify_event_metadata *m;
		ssize_t len = read(g->fd, buf, sizeof(buf));

		if (len <= 0)
			return;
		for (m = (void *)buf; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
			if (m->vers != FANOTIFY_METADATA_VERSION || m->fd < 0)
				continue;
			if (m->mask & FAN_OPEN_EXEC_PERM) {
				char shown[RP_ENF_PATH_MAX];
				bool deny = fan_denies(g, m->pid, m->fd, shown, sizeof(shown));

				if (verbose_log)
					fprintf(stderr, "riposte-enforcer: exec by pid %d of '%s': %s\n", m->pid, shown,
						deny ? "deny" : "allow");
				struct fanotify_response r = { .fd = m->fd, .response = deny ? FAN_DENY : FAN_ALLOW };

				if (write(g->fd, &r, sizeof(r)) < 0)
					fprintf(stderr, "riposte-enforcer: fanotify response: %s\n", strerror(errno));
				if (deny) {
					struct rp_enf_policy pol;

					if (policy_get(g->cgid, &pol) == 0) {
						pol.execs_denied++;
						bpf_map__update_elem(skel->maps.policy, &g->cgid, sizeof(g->cgid), &pol,
								     sizeof(pol), BPF_EXIST);
					}
					emit_denied(g->cgid, m->pid, shown);
				}
			}
			close(m->fd);
		}
	}
}

/* ---- commands ---- */

static bool parse_id(const char *s, __u64 *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v <= 1)
		return false;
	*out = v;
	return true;
}

static int parse_cidr(const char *s, struct rp_enf_net_key *k)
{
	char buf[64], *slash;
	long plen;
	int maxlen;

	memset(k, 0, sizeof(*k));
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, buf, &k->addr[12]) == 1) {
		k->addr[10] = 0xff;
		k->addr[11] = 0xff;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, buf, k->addr) == 1) {
		maxlen = 128;
	} else {
		return -EINVAL;
	}
	plen = maxlen;
	if (slash) {
		char *end;

		plen = strtol(slash + 1, &end, 10);
		if (*end || plen < 0 || plen > maxlen)
			return -EINVAL;
	}
	k->prefixlen = 64 + (128 - maxlen) + plen;
	return 0;
}

static void format_policy(char *buf, size_t len, __u64 cgid, const struct rp_enf_policy *p)
{
	snprintf(buf, len,
		 "{\"cgroup\":\"%llu\",\"flags\":%u,\"snaplen\":%u,\"droppedIngress\":%llu,"
		 "\"droppedEgress\":%llu,\"execsDenied\":%llu,\"pcapLost\":%llu,\"attached\":%s}",
		 (unsigned long long)cgid, p->flags, p->snaplen,
		 (unsigned long long)p->dropped_ingress, (unsigned long long)p->dropped_egress,
		 (unsigned long long)p->execs_denied, (unsigned long long)p->pcap_lost,
		 find_att(cgid) ? "true" : "false");
}

static void cmd_list(void)
{
	static char msg[6000];
	__u64 key, next, *prev = NULL;
	struct rp_enf_policy p;
	size_t n = 0;

	n += snprintf(msg + n, sizeof(msg) - n, "[");
	while (bpf_map__get_next_key(skel->maps.policy, prev, &next, sizeof(next)) == 0) {
		char one[512];

		key = next;
		prev = &key;
		if (policy_get(key, &p))
			continue;
		format_policy(one, sizeof(one), key, &p);
		if (n + strlen(one) + 4 >= sizeof(msg))
			break;
		n += snprintf(msg + n, sizeof(msg) - n, "%s%s", n > 1 ? "," : "", one);
	}
	snprintf(msg + n, sizeof(msg) - n, "]");
	send_reply(true, "%s", msg);
}

/* set (or with mode 0 lift) the exec policy of a cgroup; cgdir and pid
 * matter only to the fanotify fallback */
static void set_exec_mode(__u64 cgid, __u32 mode, const char *cgdir, int pid)
{
	struct rp_enf_policy p;
	bool had = policy_get(cgid, &p) == 0 && (p.flags & (RP_ENF_EXEC_DENY | RP_ENF_EXEC_ALLOW_ONLY));
	bool has = mode != 0;
	char why[512] = "";
	int err = 0;

	if (has && exec_mech == RP_ENF_EXEC_NONE) {
		send_reply(false, "exec %llu: no exec blocking on this kernel: %s", (unsigned long long)cgid, lsm_why);
		return;
	}
	/* fanotify: marks first, then the policy that makes them deny */
	if (has && exec_mech == RP_ENF_EXEC_FANOTIFY)
		err = fan_block(cgid, cgdir, pid, why, sizeof(why));
	if (!err)
		err = policy_set_flags(cgid, mode, (RP_ENF_EXEC_DENY | RP_ENF_EXEC_ALLOW_ONLY) & ~mode, 0);
	if (err) {
		send_reply(false, "exec %llu: %s", (unsigned long long)cgid, why[0] ? why : strerror(-err));
		return;
	}
	exec_cgroups += (has && !had) - (!has && had);
	err = sync_lsm();
	if (err) {
		/* no lsm program: take the policy back rather than claim a block */
		policy_set_flags(cgid, 0, RP_ENF_EXEC_DENY | RP_ENF_EXEC_ALLOW_ONLY, 0);
		exec_cgroups = count_exec_cgroups();
		send_reply(false, "exec %llu: attach bpf lsm: %s%s%s", (unsigned long long)cgid,
			   strerror(-err), last_libbpf_error[0] ? " -- " : "", last_libbpf_error);
		return;
	}
	if (!has && find_fan(cgid))
		fan_close(find_fan(cgid));
	send_reply(true, "exec %llu %s %s", (unsigned long long)cgid,
		   mode == RP_ENF_EXEC_DENY ? "deny" : mode ? "allow-only" : "off",
		   exec_mech == RP_ENF_EXEC_BPF_LSM ? "bpf-lsm" : "fanotify");
}

static void handle_command(char *line)
{
	char *argv[8], *save = NULL, *tok, *rest = NULL;
	char why[512] = "";
	__u64 cgid = 0;
	int argc = 0, err;

	/* exec-path keeps everything after the id verbatim (paths may hold spaces) */
	if (!strncmp(line, "exec-path ", 10) || !strncmp(line, "exec-unpath ", 12) ||
	    !strncmp(line, "exec-interp ", 12)) {
		char *sp = strchr(line, ' ');
		char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;

		if (sp2) {
			*sp2 = 0;
			rest = sp2 + 1;
		}
	}
	for (tok = strtok_r(line, " \t\r", &save); tok && argc < 8; tok = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = tok;
	if (argc == 0)
		return;
	if (argc >= 2 && strcmp(argv[0], "list") && strcmp(argv[0], "quit") && !parse_id(argv[1], &cgid)) {
		send_reply(false, "%s: bad cgroup id '%s'", argv[0], argv[1]);
		return;
	}

	if (!strcmp(argv[0], "isolate") && argc == 3) {
		/* attach first, then flip the flag: the drop starts with the flag */
		err = ensure_skb(cgid, argv[2], why, sizeof(why));
		if (!err)
			err = policy_set_flags(cgid, RP_ENF_ISOLATE, 0, 0);
		if (err)
			send_reply(false, "isolate %llu: %s", (unsigned long long)cgid, why[0] ? why : strerror(-err));
		else
			send_reply(true, "isolate %llu", (unsigned long long)cgid);
	} else if ((!strcmp(argv[0], "allow") || !strcmp(argv[0], "disallow")) && argc == 3) {
		struct rp_enf_net_key k;
		__u32 one = 1;

		if (parse_cidr(argv[2], &k)) {
			send_reply(false, "%s %llu: bad cidr '%s'", argv[0], (unsigned long long)cgid, argv[2]);
			return;
		}
		k.cgroup_id = cgid;
		if (!strcmp(argv[0], "allow")) {
			err = bpf_map__update_elem(skel->maps.net_allow, &k, sizeof(k), &one, sizeof(one), 0);
		} else {
			err = bpf_map__delete_elem(skel->maps.net_allow, &k, sizeof(k), 0);
			if (err == -ENOENT)
				err = 0;
		}
		if (err)
			send_reply(false, "%s %llu %s: %s", argv[0], (unsigned long long)cgid, argv[2], strerror(-err));
		else
			send_reply(true, "%s %llu %s", argv[0], (unsigned long long)cgid, argv[2]);
	} else if (!strcmp(argv[0], "release") && argc == 2) {
		/* flag first: the traffic flows again before the allow-list goes */
		err = policy_set_flags(cgid, 0, RP_ENF_ISOLATE, 0);
		delete_keys_of(skel->maps.net_allow, sizeof(struct rp_enf_net_key),
			       offsetof(struct rp_enf_net_key, cgroup_id), cgid);
		maybe_detach_skb(cgid);
		if (err)
			send_reply(false, "release %llu: %s", (unsigned long long)cgid, strerror(-err));
		else
			send_reply(true, "release %llu", (unsigned long long)cgid);
	} else if (!strcmp(argv[0], "pcap") && argc >= 3 &&
		   ((!strcmp(argv[2], "on") && argc == 5) || (!strcmp(argv[2], "off") && argc == 3))) {
		if (!strcmp(argv[2], "on")) {
			unsigned long snap = strtoul(argv[4], NULL, 10);

			if (snap == 0 || snap > RP_ENF_SNAP_MAX)
				snap = RP_ENF_SNAP_MAX;
			err = ensure_skb(cgid, argv[3], why, sizeof(why));
			if (!err)
				err = policy_set_flags(cgid, RP_ENF_PCAP, 0, snap);
		} else {
			err = policy_set_flags(cgid, 0, RP_ENF_PCAP, 0);
			maybe_detach_skb(cgid);
		}
		if (err)
			send_reply(false, "pcap %llu: %s", (unsigned long long)cgid, why[0] ? why : strerror(-err));
		else
			send_reply(true, "pcap %llu %s", (unsigned long long)cgid, argv[2]);
	} else if ((!strcmp(argv[0], "exec-path") || !strcmp(argv[0], "exec-unpath") ||
		    !strcmp(argv[0], "exec-interp")) && argc == 2 && rest) {
		struct rp_enf_path_key k = { .cgroup_id = cgid };
		__u32 kind = !strcmp(argv[0], "exec-interp") ? RP_ENF_PATH_INTERP : RP_ENF_PATH_LISTED;

		if (rest[0] != '/' || strlen(rest) >= RP_ENF_PATH_MAX) {
			send_reply(false, "%s %llu: path must be absolute and shorter than %d bytes", argv[0],
				   (unsigned long long)cgid, RP_ENF_PATH_MAX);
			return;
		}
		strncpy(k.path, rest, sizeof(k.path) - 1);
		if (strcmp(argv[0], "exec-unpath"))
			err = bpf_map__update_elem(skel->maps.exec_paths, &k, sizeof(k), &kind, sizeof(kind), 0);
		else {
			err = bpf_map__delete_elem(skel->maps.exec_paths, &k, sizeof(k), 0);
			if (err == -ENOENT)
				err = 0;
		}
		if (err)
			send_reply(false, "%s %llu: %s", argv[0], (unsigned long long)cgid, strerror(-err));
		else
			send_reply(true, "%s %llu %s", argv[0], (unsigned long long)cgid, rest);
	} else if (!strcmp(argv[0], "exec-mode") && argc == 5) {
		int pid = atoi(argv[4]);

		if (!strcmp(argv[2], "deny"))
			set_exec_mode(cgid, RP_ENF_EXEC_DENY, argv[3], pid);
		else if (!strcmp(argv[2], "allow-only"))
			set_exec_mode(cgid, RP_ENF_EXEC_ALLOW_ONLY, argv[3], pid);
		else
			send_reply(false, "exec-mode: deny or allow-only, not '%s'", argv[2]);
	} else if (!strcmp(argv[0], "exec-release") && argc == 2) {
		/* mode off first, then the list */
		set_exec_mode(cgid, 0, NULL, 0);
		delete_keys_of(skel->maps.exec_paths, sizeof(struct rp_enf_path_key),
			       offsetof(struct rp_enf_path_key, cgroup_id), cgid);
	} else if (!strcmp(argv[0], "status") && argc == 2) {
		struct rp_enf_policy p;
		char one[512];

		if (policy_get(cgid, &p))
			memset(&p, 0, sizeof(p));
		format_policy(one, sizeof(one), cgid, &p);
		send_reply(true, "%s", one);
	} else if (!strcmp(argv[0], "forget") && argc == 2) {
		struct rp_enf_policy p;
		bool had_exec = policy_get(cgid, &p) == 0 && (p.flags & (RP_ENF_EXEC_DENY | RP_ENF_EXEC_ALLOW_ONLY));

		bpf_map__delete_elem(skel->maps.policy, &cgid, sizeof(cgid), 0);
		delete_keys_of(skel->maps.net_allow, sizeof(struct rp_enf_net_key),
			       offsetof(struct rp_enf_net_key, cgroup_id), cgid);
		delete_keys_of(skel->maps.exec_paths, sizeof(struct rp_enf_path_key),
			       offsetof(struct rp_enf_path_key, cgroup_id), cgid);
		if (find_att(cgid))
			remove_att(find_att(cgid));
		if (find_fan(cgid))
			fan_close(find_fan(cgid));
		if (had_exec)
			exec_cgroups--;
		sync_lsm();
		send_reply(true, "forget %llu", (unsigned long long)cgid);
	} else if (!strcmp(argv[0], "list") && argc == 1) {
		cmd_list();
	} else if (!strcmp(argv[0], "quit") && argc == 1) {
		send_reply(true, "quit");
		exiting = true;
	} else {
		send_reply(false, "unknown command '%s' (or wrong arguments)", argv[0]);
	}
}

/* ---- pinned state from an earlier (persisting) run ---- */

static int mkdirs(const char *dir)
{
	char sub[512];

	snprintf(sub, sizeof(sub), "%s/links", dir);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (mkdir(sub, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* take over pinned links: cgroup links get our programs (same pinned maps),
 * the lsm link is replaced by a fresh one */
static void adopt_links(void)
{
	char dir[512], path[1024];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/links", pin_dir);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		unsigned long long id;
		char kind[8];
		struct bpf_link *l;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		l = bpf_link__open(path);
		if (!l) {
			unlink(path);
			continue;
		}
		if (!strcmp(de->d_name, "exec")) {
			/* kept attached (unpinned) until sync_lsm has made ours: no gap */
			bpf_link__unpin(l);
			adopted_exec = l;
			continue;
		}
		if (sscanf(de->d_name, "skb-%llu-%3s", &id, kind) != 2 || (strcmp(kind, "in") && strcmp(kind, "out"))) {
			bpf_link__destroy(l);
			continue;
		}
		/* a link whose cgroup is gone cannot be updated: let it go */
		if (bpf_link__update_program(l, !strcmp(kind, "in") ? skel->progs.skb_ingress : skel->progs.skb_egress)) {
			bpf_link__unpin(l);
			bpf_link__destroy(l);
			continue;
		}
		{
			struct attachment *a = find_att(id);

			if (!a && n_att < MAX_ATTACHED) {
				a = &att[n_att++];
				memset(a, 0, sizeof(*a));
				a->cgid = id;
			}
			if (!a) {
				bpf_link__destroy(l);
				continue;
			}
			if (!strcmp(kind, "in"))
				a->in = l;
			else
				a->out = l;
		}
	}
	closedir(d);
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: riposte-enforcer [--pin DIR [--persist]] [--cgroup2 DIR] [--exec auto|bpf-lsm|fanotify]\n"
		"                        [--poll-ms MS] [--verbose]\n"
		"       riposte-enforcer --check | --version\n"
		"commands on stdin (ID = cgroup v2 id, PATH = its directory):\n"
		"  isolate ID PATH | allow ID CIDR | disallow ID CIDR | release ID\n"
		"  pcap ID on PATH SNAPLEN | pcap ID off\n"
		"  exec-path ID FILE | exec-interp ID FILE | exec-unpath ID FILE\n"
		"  exec-mode ID deny|allow-only PATH PID | exec-release ID\n"
		"  status ID | forget ID | list | quit\n");
}

/* open the skeleton and configure it: pins, and whether the lsm program loads */
static int open_configured(bool with_lsm)
{
	struct bpf_map *maps[3];
	int err;

	skel = enforcer_bpf__open();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "riposte-enforcer: open: %s\n", strerror(-err));
		return err;
	}
	bpf_program__set_autoload(skel->progs.exec_check, with_lsm);
	/* with --pin the policy maps live in bpffs and are reused */
	maps[0] = skel->maps.policy;
	maps[1] = skel->maps.net_allow;
	maps[2] = skel->maps.exec_paths;
	if (pin_dir) {
		struct statfs sfs;

		if (statfs(pin_dir, &sfs) && errno == ENOENT) {
			char parent[512], *slash;

			snprintf(parent, sizeof(parent), "%s", pin_dir);
			slash = strrchr(parent, '/');
			if (slash)
				*slash = 0;
			if (statfs(slash ? parent : ".", &sfs))
				sfs.f_type = 0;
		}
		if (sfs.f_type != BPFFS_MAGIC) {
			fprintf(stderr, "riposte-enforcer: --pin %s is not on a bpf filesystem\n", pin_dir);
			return -EINVAL;
		}
		err = mkdirs(pin_dir);
		if (err) {
			fprintf(stderr, "riposte-enforcer: mkdir %s: %s\n", pin_dir, strerror(-err));
			return err;
		}
		for (int i = 0; i < 3; i++) {
			char path[512];

			snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(maps[i]));
			bpf_map__set_pin_path(maps[i], path);
		}
	}
	return 0;
}

/* load with the bpf lsm program if the kernel takes it, else without it and
 * exec blocking falls back to fanotify (or is off) */
static int open_and_load(const char *want)
{
	bool try_lsm = strcmp(want, "fanotify") != 0;
	int err;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "riposte-enforcer: no kernel btf at /sys/kernel/btf/vmlinux\n");
		return -ENOENT;
	}
	if (try_lsm) {
		err = open_configured(true);
		if (err)
			return err;
		quiet_libbpf = !strcmp(want, "auto");
		err = enforcer_bpf__load(skel);
		quiet_libbpf = false;
		if (!err) {
			exec_mech = RP_ENF_EXEC_BPF_LSM;
			return 0;
		}
		snprintf(lsm_why, sizeof(lsm_why), "the kernel refused the bpf lsm program: %s", strerror(-err));
		enforcer_bpf__destroy(skel);
		skel = NULL;
		if (!strcmp(want, "bpf-lsm")) {
			fprintf(stderr, "riposte-enforcer: load: %s%s%s\n", strerror(-err),
				last_libbpf_error[0] ? " -- " : "", last_libbpf_error);
			return err;
		}
	} else {
		snprintf(lsm_why, sizeof(lsm_why), "fanotify chosen with --exec");
	}
	err = open_configured(false);
	if (!err)
		err = enforcer_bpf__load(skel);
	if (err) {
		fprintf(stderr, "riposte-enforcer: load: %s%s%s\n", strerror(-err),
			last_libbpf_error[0] ? " -- " : "", last_libbpf_error);
		return err;
	}
	exec_mech = RP_ENF_EXEC_FANOTIFY;
	return 0;
}

/* --check: load, then attach each program kind once to a throwaway cgroup
 * of our own (no policy entry, so nothing is dropped or denied) */
static int check(void)
{
	char dir[600], why[512];
	struct stat st;
	int err = 0;

	if (exec_mech == RP_ENF_EXEC_BPF_LSM) {
		struct bpf_link *l = bpf_program__attach_lsm(skel->progs.exec_check);

		if (!l) {
			err = -errno;
			fprintf(stderr, "riposte-enforcer: bpf lsm attach: %s (is 'bpf' in the lsm= list?)\n",
				strerror(-err));
			return err;
		}
		bpf_link__destroy(l);
	} else {
		int fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			err = -errno;
			fprintf(stderr, "riposte-enforcer: no bpf lsm (%s) and no fanotify: %s\n", lsm_why,
				strerror(-err));
			return err;
		}
		close(fd);
	}
	snprintf(dir, sizeof(dir), "%s/riposte-enforcer-check-%d", cgroup2_root, getpid());
	if (mkdir(dir, 0755)) {
		err = -errno;
		fprintf(stderr, "riposte-enforcer: mkdir %s: %s\n", dir, strerror(-err));
		return err;
	}
	if (stat(dir, &st) == 0) {
		err = ensure_skb(st.st_ino, dir, why, sizeof(why));
		if (err)
			fprintf(stderr, "riposte-enforcer: %s\n", why);
		else
			remove_att(find_att(st.st_ino));
	}
	rmdir(dir);
	return err;
}

static void unpin_maps(void)
{
	char path[512];

	if (!pin_dir)
		return;
	bpf_map__unpin(skel->maps.policy, NULL);
	bpf_map__unpin(skel->maps.net_allow, NULL);
	bpf_map__unpin(skel->maps.exec_paths, NULL);
	snprintf(path, sizeof(path), "%s/links", pin_dir);
	rmdir(path);
	rmdir(pin_dir);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin", required_argument, NULL, 'P' },
		{ "persist", no_argument, NULL, 'k' },
		{ "cgroup2", required_argument, NULL, 'g' },
		{ "exec", required_argument, NULL, 'x' },
		{ "poll-ms", required_argument, NULL, 'p' },
		{ "check", no_argument, NULL, 'c' },
		{ "version", no_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *exec_want = "auto";
	bool do_check = false;
	int sfd = -1, err = 0, opt;
	sigset_t mask;
	struct epoll_event ev;

	while ((opt = getopt_long(argc, argv, "P:kg:x:p:cVvh", opts, NULL)) != -1) {
		switch (opt) {
		case 'g':
			cgroup2_root = optarg;
			break;
		case 'x':
			exec_want = optarg;
			if (strcmp(exec_want, "auto") && strcmp(exec_want, "bpf-lsm") && strcmp(exec_want, "fanotify")) {
				fprintf(stderr, "riposte-enforcer: --exec auto|bpf-lsm|fanotify\n");
				return 2;
			}
			break;
		case 'P':
			pin_dir = optarg;
			break;
		case 'k':
			persist = true;
			break;
		case 'p':
			poll_ms = atoi(optarg);
			if (poll_ms < 1 || poll_ms > 1000) {
				fprintf(stderr, "riposte-enforcer: --poll-ms must be 1..1000\n");
				return 2;
			}
			break;
		case 'c':
			do_check = true;
			break;
		case 'V':
			printf("riposte-enforcer %s abi %d\n", RP_ENF_LOADER_VERSION, RP_ENF_ABI_VERSION);
			return 0;
		case 'v':
			verbose_log = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (persist && !pin_dir) {
		fprintf(stderr, "riposte-enforcer: --persist needs --pin DIR\n");
		return 2;
	}
	libbpf_set_print(libbpf_print);
	signal(SIGPIPE, SIG_IGN);

	/* signals arrive through a signalfd so the poll loop never races them */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	/* open, configure, load */
	err = open_and_load(exec_want);
	if (err)
		goto cleanup;
	if (do_check) {
		struct utsname u;

		err = check();
		if (!err) {
			uname(&u);
			printf("ok: riposte-enforcer %s loads and attaches on %s %s; network: cgroup skb; exec: %s%s%s%s\n",
			       RP_ENF_LOADER_VERSION, u.sysname, u.release,
			       exec_mech == RP_ENF_EXEC_BPF_LSM ? "bpf-lsm" : "fanotify",
			       lsm_why[0] ? " (" : "", lsm_why, lsm_why[0] ? ")" : "");
		}
		goto cleanup;
	}

	/* adopt what an earlier persisting run left pinned; not persisting
	 * ourselves: unpin it all now, so it dies with this process */
	if (pin_dir) {
		adopt_links();
		exec_cgroups = count_exec_cgroups();
		err = sync_lsm();
		drop_link(&adopted_exec);
		if (err) {
			fprintf(stderr, "riposte-enforcer: bpf lsm attach: %s\n", strerror(-err));
			goto cleanup;
		}
		if (!persist) {
			for (int i = 0; i < n_att; i++) {
				if (att[i].in && bpf_link__pin_path(att[i].in))
					bpf_link__unpin(att[i].in);
				if (att[i].out && bpf_link__pin_path(att[i].out))
					bpf_link__unpin(att[i].out);
			}
			unpin_maps();
		}
	}

	rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), on_sample, NULL, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "riposte-enforcer: ring buffer: %s\n", strerror(-err));
		goto cleanup;
	}
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	efd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || efd < 0) {
		err = -errno;
		fprintf(stderr, "riposte-enforcer: epoll: %s\n", strerror(-err));
		goto cleanup;
	}
	ev.events = EPOLLIN;
	ev.data.fd = ring_buffer__epoll_fd(rb);
	epoll_ctl(efd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(efd, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = STDIN_FILENO;
	if (epoll_ctl(efd, EPOLL_CTL_ADD, STDIN_FILENO, &ev) && errno != EPERM) {
		err = -errno;
		fprintf(stderr, "riposte-enforcer: stdin: %s\n", strerror(-err));
		goto cleanup;
	}

	send_hello();
	out_flush();

	/* poll */
	while (!exiting) {
		struct epoll_event evs[16];
		/* packets do not wake us: drain on a tick too */
		int n = epoll_wait(efd, evs, 16, poll_ms);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			fprintf(stderr, "riposte-enforcer: epoll_wait: %s\n", strerror(-err));
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == sfd) {
				exiting = true;
			} else if (evs[i].data.fd == STDIN_FILENO) {
				if (!read_commands())
					exiting = true; /* eof: the agent is gone */
			} else {
				for (int j = 0; j < n_fan; j++)
					if (fan[j].fd == evs[i].data.fd)
						fan_events(&fan[j]);
			}
		}
		if (ring_buffer__consume(rb) < 0 && !exiting) {
			fprintf(stderr, "riposte-enforcer: ring buffer consume failed\n");
			err = -EIO;
			break;
		}
		out_flush();
	}

cleanup:
	/* one way out. fanotify groups never outlive us; without --persist
	 * neither does anything else */
	out_flush();
	while (n_fan > 0)
		fan_close(&fan[0]);
	if (skel && !persist) {
		for (int i = n_att - 1; i >= 0; i--)
			remove_att(&att[i]);
		drop_link(&lsm_link);
		unpin_maps();
	} else {
		/* persisting: close our fds, the pins keep links and maps alive */
		for (int i = 0; i < n_att; i++) {
			bpf_link__destroy(att[i].in);
			bpf_link__destroy(att[i].out);
		}
		bpf_link__destroy(lsm_link);
	}
	ring_buffer__free(rb);
	enforcer_bpf__destroy(skel);
	if (efd >= 0)
		close(efd);
	if (sfd >= 0)
		close(sfd);
	if (do_check && err)
		printf("fail: %s\n", strerror(-err));
	return err ? 1 : 0;
}
