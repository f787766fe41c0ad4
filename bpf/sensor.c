// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * riposte-sensor: loads sensor.bpf.c, streams its records to stdout as
 * binary frames and takes line commands on stdin. docs/sensor.md has the
 * frame format and the control protocol.
 *
 * flow: open -> configure -> load -> attach -> poll, one cleanup path.
 */
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
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "open_filter.h"
#include "sensor.h"
#include "sensor.skel.h"

#define RP_LOADER_VERSION "0.1.0"
#define SCRATCH_CLASSES 3 /* keep in step with sensor.bpf.c */
#define NR_MAX 512

/* ---- names and syscall table ---- */

struct type_name {
	const char *name;
	__u16 type;
	bool syscall; /* served by the sys_exit dispatcher */
};

static const struct type_name type_names[] = {
	{ "exec", RP_EV_EXEC, false },
	{ "fork", RP_EV_FORK, false },
	{ "exit", RP_EV_EXIT, false },
	{ "open", RP_EV_OPEN, true },
	{ "unlink", RP_EV_UNLINK, true },
	{ "rename", RP_EV_RENAME, true },
	{ "chmod", RP_EV_CHMOD, true },
	{ "symlink", RP_EV_SYMLINK, true },
	{ "link", RP_EV_LINK, true },
	{ "mount", RP_EV_MOUNT, true },
	{ "memfd_create", RP_EV_MEMFD_CREATE, true },
	{ "connect", RP_EV_CONNECT, true },
	{ "accept", RP_EV_ACCEPT, true },
	{ "ptrace", RP_EV_PTRACE, true },
	{ "setuid", RP_EV_SETUID, true },
	{ "setgid", RP_EV_SETGID, true },
	{ "bpf", RP_EV_BPF, true },
	{ "module", RP_EV_MODULE, true },
};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

/* x86_64 numbers newer than some libc headers */
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

struct syscall_ent {
	long nr;
	__u16 type;
	__u16 variant;
};

/* the loader owns the arch-specific numbers; the kernel side sees (type, variant) */
static const struct syscall_ent syscalls[] = {
	{ SYS_open, RP_EV_OPEN, RP_VAR_OPEN },
	{ SYS_openat, RP_EV_OPEN, RP_VAR_OPENAT },
	{ SYS_openat2, RP_EV_OPEN, RP_VAR_OPENAT2 },
	{ SYS_creat, RP_EV_OPEN, RP_VAR_CREAT },
	{ SYS_unlink, RP_EV_UNLINK, RP_VAR_UNLINK },
	{ SYS_unlinkat, RP_EV_UNLINK, RP_VAR_UNLINKAT },
	{ SYS_rmdir, RP_EV_UNLINK, RP_VAR_RMDIR },
	{ SYS_rename, RP_EV_RENAME, RP_VAR_RENAME },
	{ SYS_renameat, RP_EV_RENAME, RP_VAR_RENAMEAT },
	{ SYS_renameat2, RP_EV_RENAME, RP_VAR_RENAMEAT2 },
	{ SYS_chmod, RP_EV_CHMOD, RP_VAR_CHMOD },
	{ SYS_fchmod, RP_EV_CHMOD, RP_VAR_FCHMOD },
	{ SYS_fchmodat, RP_EV_CHMOD, RP_VAR_FCHMODAT },
	{ SYS_fchmodat2, RP_EV_CHMOD, RP_VAR_FCHMODAT2 },
	{ SYS_symlink, RP_EV_SYMLINK, RP_VAR_SYMLINK },
	{ SYS_symlinkat, RP_EV_SYMLINK, RP_VAR_SYMLINKAT },
	{ SYS_link, RP_EV_LINK, RP_VAR_LINK },
	{ SYS_linkat, RP_EV_LINK, RP_VAR_LINKAT },
	{ SYS_mount, RP_EV_MOUNT, 0 },
	{ SYS_memfd_create, RP_EV_MEMFD_CREATE, 0 },
	{ SYS_connect, RP_EV_CONNECT, RP_VAR_CONNECT },
	{ SYS_accept, RP_EV_ACCEPT, RP_VAR_ACCEPT },
	{ SYS_accept4, RP_EV_ACCEPT, RP_VAR_ACCEPT4 },
	{ SYS_ptrace, RP_EV_PTRACE, 0 },
	{ SYS_setuid, RP_EV_SETUID, RP_VAR_SETUID },
	{ SYS_setreuid, RP_EV_SETUID, RP_VAR_SETREUID },
	{ SYS_setresuid, RP_EV_SETUID, RP_VAR_SETRESUID },
	{ SYS_setfsuid, RP_EV_SETUID, RP_VAR_SETFSUID },
	{ SYS_setgid, RP_EV_SETGID, RP_VAR_SETUID },
	{ SYS_setregid, RP_EV_SETGID, RP_VAR_SETREUID },
	{ SYS_setresgid, RP_EV_SETGID, RP_VAR_SETRESUID },
	{ SYS_setfsgid, RP_EV_SETGID, RP_VAR_SETFSUID },
	{ SYS_bpf, RP_EV_BPF, 0 },
	{ SYS_init_module, RP_EV_MODULE, RP_VAR_INIT_MODULE },
	{ SYS_finit_module, RP_EV_MODULE, RP_VAR_FINIT_MODULE },
};

/* ---- state ---- */

static struct sensor_bpf *skel;
static struct ring_buffer *rb;
static struct bpf_link *link_exec, *link_fork, *link_exit, *link_dispatch, *link_raw_enter,
	*link_raw_exit;
static bool enabled[RP_EV_KERNEL_MAX];
static unsigned int verbose_cgroups;
static int ncpus;
static bool exiting;

#define LOADER_NAME "riposte-sensor"
#define FRAME_VERSION RP_ABI_VERSION
#include "loader_io.h"
static bool verbose_log;
static int poll_ms = 10;
static char last_libbpf_error[512];


static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	va_list copy;

	if (level == LIBBPF_WARN) {
		va_copy(copy, args);
		vsnprintf(last_libbpf_error, sizeof(last_libbpf_error), fmt, copy);
		va_end(copy);
	}
	if (level == LIBBPF_DEBUG && !verbose_log)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* ---- output ---- */

/* kernel records are frames already */
static int on_sample(void *ctx, void *data, size_t len)
{
	out_put(data, len);
	return exiting ? -1 : 0;
}


static void send_hello(void)
{
	static struct frame f;

	fr_begin(&f, RP_FR_HELLO);
	fr_u32(&f, RP_ABI_VERSION);
	fr_u32(&f, ncpus);
	fr_u64(&f, (__u64)boot_to_realtime_ns());
	fr_u32(&f, getpid());
	fr_u32(&f, 0);
	fr_str(&f, RP_LOADER_VERSION);
	fr_end(&f);
}

static void send_reply(bool ok, const char *fmt, ...)
{
	static struct frame f;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!ok)
		fprintf(stderr, "riposte-sensor: %s\n", msg);
	fr_begin(&f, RP_FR_REPLY);
	fr_u32(&f, ok ? 1 : 0);
	fr_str(&f, msg);
	fr_end(&f);
}

static __u64 recursion_misses(void)
{
	struct bpf_program *prog;
	__u64 total = 0;

	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0)
			total += info.recursion_misses;
	}
	return total;
}

static int send_stats(void)
{
	static struct frame f;
	struct rp_counter *vals;
	__u64 *drops_cpu;
	__u32 ntypes = 0;
	size_t ntypes_at;
	int err = 0;

	vals = calloc(ncpus, sizeof(*vals));
	drops_cpu = calloc(ncpus, sizeof(*drops_cpu));
	if (!vals || !drops_cpu) {
		err = -ENOMEM;
		goto out;
	}
	fr_begin(&f, RP_FR_STATS);
	fr_u32(&f, ncpus);
	ntypes_at = f.n;
	fr_u32(&f, 0);
	fr_u64(&f, frames_out);
	fr_u64(&f, recursion_misses());
	/* drops per cpu first: we need to read every type to get them */
	for (__u32 t = 0; t < RP_EV_KERNEL_MAX; t++) {
		if (bpf_map__lookup_elem(skel->maps.counters, &t, sizeof(t), vals,
					 sizeof(*vals) * ncpus, 0))
			continue;
		for (int c = 0; c < ncpus; c++)
			drops_cpu[c] += vals[c].drops;
	}
	for (int c = 0; c < ncpus; c++)
		fr_u64(&f, drops_cpu[c]);
	for (__u32 t = 0; t < RP_EV_KERNEL_MAX; t++) {
		__u64 ev = 0, dr = 0;

		if (bpf_map__lookup_elem(skel->maps.counters, &t, sizeof(t), vals,
					 sizeof(*vals) * ncpus, 0))
			continue;
		for (int c = 0; c < ncpus; c++) {
			ev += vals[c].events;
			dr += vals[c].drops;
		}
		if (!ev && !dr)
			continue;
		fr_u16(&f, t);
		fr_u16(&f, 0);
		fr_u32(&f, 0);
		fr_u64(&f, ev);
		fr_u64(&f, dr);
		ntypes++;
	}
	memcpy(f.b + ntypes_at, &ntypes, 4);
	fr_end(&f);
out:
	free(vals);
	free(drops_cpu);
	return err;
}

/* ---- configuration of the kernel side ---- */

static int type_by_name(const char *name)
{
	for (size_t i = 0; i < N_TYPES; i++)
		if (!strcmp(type_names[i].name, name))
			return i;
	return -1;
}

/* parse "exec,open" / "all" / "none" into want[] */
static int parse_types(const char *list, bool *want, char *err, size_t errlen)
{
	char buf[LINE_MAX_LEN], *tok, *save = NULL;

	memset(want, 0, sizeof(bool) * RP_EV_KERNEL_MAX);
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		int i;

		if (!strcmp(tok, "none"))
			continue;
		if (!strcmp(tok, "all")) {
			for (size_t j = 0; j < N_TYPES; j++)
				want[type_names[j].type] = true;
			continue;
		}
		i = type_by_name(tok);
		if (i < 0) {
			snprintf(err, errlen, "unknown event type '%s'", tok);
			return -EINVAL;
		}
		want[type_names[i].type] = true;
	}
	return 0;
}

static int attach_prog(struct bpf_program *prog, struct bpf_link **link, bool on)
{
	if (on && !*link) {
		*link = bpf_program__attach(prog);
		if (!*link) {
			int err = -errno;

			*link = NULL;
			return err;
		}
	} else if (!on && *link) {
		bpf_link__destroy(*link);
		*link = NULL;
	}
	return 0;
}

/* attach what the current settings need: the sys_exit dispatcher only when
 * a syscall type is enabled, the raw pair only while a cgroup is verbose */
static int sync_attach(void)
{
	bool need_dispatch = false;
	int err;

	for (size_t i = 0; i < N_TYPES; i++)
		if (type_names[i].syscall && enabled[type_names[i].type])
			need_dispatch = true;
	err = attach_prog(skel->progs.sys_exit_dispatch, &link_dispatch, need_dispatch);
	if (err)
		return err;
	err = attach_prog(skel->progs.raw_enter, &link_raw_enter, verbose_cgroups > 0);
	if (err)
		return err;
	return attach_prog(skel->progs.raw_exit, &link_raw_exit, verbose_cgroups > 0);
}

static int apply_types(const bool *want)
{
	for (__u32 t = 0; t < RP_EV_KERNEL_MAX; t++) {
		__u32 v = want[t];
		int err = bpf_map__update_elem(skel->maps.enabled, &t, sizeof(t), &v, sizeof(v), 0);

		if (err)
			return err;
		enabled[t] = want[t];
	}
	return sync_attach();
}

static int fill_syscall_map(void)
{
	for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++) {
		__u32 nr = syscalls[i].nr;
		__u32 v = syscalls[i].type | ((__u32)syscalls[i].variant << 16);
		int err;

		if (syscalls[i].nr < 0 || nr >= NR_MAX)
			continue;
		err = bpf_map__update_elem(skel->maps.syscall_map, &nr, sizeof(nr), &v, sizeof(v), 0);
		if (err)
			return err;
	}
	return 0;
}

static int set_cgroup_verbose(__u64 id, bool on)
{
	__u32 flags = 0;
	bool had = bpf_map__lookup_elem(skel->maps.cgroup_flags, &id, sizeof(id), &flags,
					sizeof(flags), 0) == 0;
	bool was = had && (flags & RP_CG_VERBOSE);
	int err;

	flags = on ? (flags | RP_CG_VERBOSE) : (flags & ~RP_CG_VERBOSE);
	if (flags)
		err = bpf_map__update_elem(skel->maps.cgroup_flags, &id, sizeof(id), &flags,
					   sizeof(flags), 0);
	else
		err = had ? bpf_map__delete_elem(skel->maps.cgroup_flags, &id, sizeof(id), 0) : 0;
	if (err)
		return err;
	if (on && !was)
		verbose_cgroups++;
	else if (!on && was)
		verbose_cgroups--;
	return sync_attach();
}

/* `open-filter off` | `open-filter /p1,/p2,…`: see open_filter.h */
static int set_open_filter(const char *arg, char *err, size_t errlen)
{
	struct rp_open_filter f = {};
	const __u32 zero = 0;
	char buf[RP_OPEN_PREFIX_MAX * RP_OPEN_PREFIX_LEN];
	char *save = NULL, *tok;

	if (strcmp(arg, "off")) {
		if (strlen(arg) >= sizeof(buf)) {
			snprintf(err, errlen, "prefix list too long");
			return -EINVAL;
		}
		strcpy(buf, arg);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			size_t len = strlen(tok);

			if (f.n >= RP_OPEN_PREFIX_MAX) {
				snprintf(err, errlen, "more than %d prefixes", RP_OPEN_PREFIX_MAX);
				return -EINVAL;
			}
			if (tok[0] != '/' || len == 0 || len >= RP_OPEN_PREFIX_LEN) {
				snprintf(err, errlen, "bad prefix '%s' (absolute, < %d bytes)", tok, RP_OPEN_PREFIX_LEN);
				return -EINVAL;
			}
			memcpy(f.prefix[f.n], tok, len);
			f.len[f.n] = len;
			f.n++;
		}
		f.enabled = 1;
	}
	if (bpf_map__update_elem(skel->maps.open_filter, &zero, sizeof(zero), &f, sizeof(f), BPF_ANY)) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* ---- control commands on stdin ---- */

static void handle_command(char *line)
{
	char *argv[8], *save = NULL, *tok;
	int argc = 0, err;

	for (tok = strtok_r(line, " \t\r", &save); tok && argc < 8; tok = strtok_r(NULL, " \t\r", &save))
		argv[argc++] = tok;
	if (argc == 0)
		return;
	if (!strcmp(argv[0], "events") && argc == 2) {
		bool want[RP_EV_KERNEL_MAX];
		char msg[256];

		if (parse_types(argv[1], want, msg, sizeof(msg))) {
			send_reply(false, "events: %s", msg);
			return;
		}
		err = apply_types(want);
		if (err)
			send_reply(false, "events: %s", strerror(-err));
		else
			send_reply(true, "events %s", argv[1]);
	} else if (!strcmp(argv[0], "cgroup") && argc == 4 && !strcmp(argv[2], "verbose") &&
		   (!strcmp(argv[3], "on") || !strcmp(argv[3], "off"))) {
		char *end;
		unsigned long long id = strtoull(argv[1], &end, 10);

		if (*end || !id) {
			send_reply(false, "cgroup: bad id '%s'", argv[1]);
			return;
		}
		err = set_cgroup_verbose(id, !strcmp(argv[3], "on"));
		if (err)
			send_reply(false, "cgroup %llu: %s", id, strerror(-err));
		else
			send_reply(true, "cgroup %llu verbose %s", id, argv[3]);
	} else if (!strcmp(argv[0], "open-filter") && argc == 2) {
		char msg[160];

		if (set_open_filter(argv[1], msg, sizeof(msg)))
			send_reply(false, "open-filter: %s", msg);
		else
			send_reply(true, "open-filter %s", argv[1]);
	} else if (!strcmp(argv[0], "stats") && argc == 1) {
		err = send_stats();
		send_reply(!err, "stats");
	} else if (!strcmp(argv[0], "quit") && argc == 1) {
		send_reply(true, "quit");
		exiting = true;
	} else {
		send_reply(false, "unknown command '%s'", argv[0]);
	}
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: riposte-sensor [--events LIST] [--ringbuf-mb N] [--poll-ms MS] [--verbose]\n"
		"       riposte-sensor --check | --version\n"
		"streams binary event frames on stdout; commands on stdin:\n"
		"  events LIST | cgroup ID verbose on|off | stats | quit\n"
		"LIST: all, none or a comma list of:");
	for (size_t i = 0; i < N_TYPES; i++)
		fprintf(f, " %s", type_names[i].name);
	fprintf(f, "\n");
}

/* open and configure the skeleton (shared by --check and the normal run) */
static int open_and_load(unsigned int ringbuf_mb)
{
	int err;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "riposte-sensor: no kernel btf at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)\n");
		return -ENOENT;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		fprintf(stderr, "riposte-sensor: cannot count cpus: %s\n", strerror(-ncpus));
		return ncpus ? ncpus : -EINVAL;
	}
	skel = sensor_bpf__open();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "riposte-sensor: open: %s\n", strerror(-err));
		return err;
	}
	/* configure: self-exclusion, buffer sizes */
	skel->rodata->self_tgid = getpid();
	bpf_map__set_max_entries(skel->maps.scratch, ncpus * SCRATCH_CLASSES);
	bpf_map__set_max_entries(skel->maps.rb, ringbuf_mb << 20);
	err = sensor_bpf__load(skel);
	if (err) {
		fprintf(stderr, "riposte-sensor: load: %s%s%s\n", strerror(-err),
			last_libbpf_error[0] ? " -- " : "", last_libbpf_error);
		return err;
	}
	return fill_syscall_map();
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "events", required_argument, NULL, 'e' },
		{ "ringbuf-mb", required_argument, NULL, 'r' },
		{ "poll-ms", required_argument, NULL, 'p' },
		{ "check", no_argument, NULL, 'c' },
		{ "version", no_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *events = "all";
	unsigned long ringbuf_mb = 8;
	bool check = false;
	bool want[RP_EV_KERNEL_MAX];
	char msg[256];
	int sfd = -1, efd = -1, err = 0, opt;
	sigset_t mask;
	struct epoll_event ev;

	while ((opt = getopt_long(argc, argv, "e:r:p:cVvh", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			events = optarg;
			break;
		case 'r':
			ringbuf_mb = strtoul(optarg, NULL, 10);
			/* ring buffer size must be a power of two pages */
			if (!ringbuf_mb || ringbuf_mb > 1024 || (ringbuf_mb & (ringbuf_mb - 1))) {
				fprintf(stderr, "riposte-sensor: --ringbuf-mb must be a power of two <= 1024\n");
				return 2;
			}
			break;
		case 'p':
			poll_ms = atoi(optarg);
			if (poll_ms < 1 || poll_ms > 1000) {
				fprintf(stderr, "riposte-sensor: --poll-ms must be 1..1000\n");
				return 2;
			}
			break;
		case 'c':
			check = true;
			break;
		case 'V':
			printf("riposte-sensor %s abi %d\n", RP_LOADER_VERSION, RP_ABI_VERSION);
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
	if (parse_types(events, want, msg, sizeof(msg))) {
		fprintf(stderr, "riposte-sensor: --events: %s\n", msg);
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
	err = open_and_load(ringbuf_mb);
	if (err)
		goto cleanup;

	/* attach: lifecycle hooks always, the rest as the enabled set asks */
	link_exec = bpf_program__attach(skel->progs.handle_exec);
	link_fork = bpf_program__attach(skel->progs.handle_fork);
	link_exit = bpf_program__attach(skel->progs.handle_exit);
	if (!link_exec || !link_fork || !link_exit) {
		err = -errno;
		fprintf(stderr, "riposte-sensor: attach: %s\n", strerror(-err));
		goto cleanup;
	}
	if (check) {
		struct utsname u;

		uname(&u);
		printf("ok: riposte-sensor %s loads and attaches on %s %s\n", RP_LOADER_VERSION,
		       u.sysname, u.release);
		goto cleanup;
	}
	err = apply_types(want);
	if (err) {
		fprintf(stderr, "riposte-sensor: configure: %s\n", strerror(-err));
		goto cleanup;
	}

	rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), on_sample, NULL, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "riposte-sensor: ring buffer: %s\n", strerror(-err));
		goto cleanup;
	}
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	efd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || efd < 0) {
		err = -errno;
		fprintf(stderr, "riposte-sensor: epoll: %s\n", strerror(-err));
		goto cleanup;
	}
	ev.events = EPOLLIN;
	ev.data.fd = ring_buffer__epoll_fd(rb);
	epoll_ctl(efd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	ev.data.fd = sfd;
	epoll_ctl(efd, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = STDIN_FILENO;
	if (epoll_ctl(efd, EPOLL_CTL_ADD, STDIN_FILENO, &ev)) {
		/* stdin is a file or /dev/null: no commands, run until a signal */
		if (errno != EPERM) {
			err = -errno;
			fprintf(stderr, "riposte-sensor: stdin: %s\n", strerror(-err));
			goto cleanup;
		}
	}

	send_hello();
	out_flush();

	/* poll */
	while (!exiting) {
		struct epoll_event evs[4];
		/* the kernel side wakes us only past WAKEUP_BYTES: drain on a tick too */
		int n = epoll_wait(efd, evs, 4, poll_ms);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			fprintf(stderr, "riposte-sensor: epoll_wait: %s\n", strerror(-err));
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == sfd) {
				exiting = true;
			} else if (evs[i].data.fd == STDIN_FILENO) {
				if (!read_commands())
					exiting = true; /* eof: the agent is gone */
			}
		}
		/* drain whatever is there, also on the way out */
		if (ring_buffer__consume(rb) < 0 && !exiting) {
			fprintf(stderr, "riposte-sensor: ring buffer consume failed\n");
			err = -EIO;
			break;
		}
		out_flush();
	}

cleanup:
	/* one way out: links, ring buffer, skeleton, fds */
	out_flush();
	bpf_link__destroy(link_raw_exit);
	bpf_link__destroy(link_raw_enter);
	bpf_link__destroy(link_dispatch);
	bpf_link__destroy(link_exit);
	bpf_link__destroy(link_fork);
	bpf_link__destroy(link_exec);
	ring_buffer__free(rb);
	sensor_bpf__destroy(skel);
	if (efd >= 0)
		close(efd);
	if (sfd >= 0)
		close(sfd);
	if (check && err)
		printf("fail: %s\n", strerror(-err));
	return err ? 1 : 0;
}
