/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * riposte sensor: the record shared by the kernel side (sensor.bpf.c), the
 * loader (sensor.c) and, through docs/sensor.md and a btf layout test, the
 * typescript decoder (detector/sensor/frames.ts).
 *
 * every record the kernel writes is already a wire frame: the loader copies
 * ring buffer samples to stdout unchanged. all integers are little-endian
 * (x86_64 / arm64 native order). change a struct here and the layout test
 * fails until detector/sensor/layout.ts follows.
 */
#ifndef __RIPOSTE_SENSOR_H
#define __RIPOSTE_SENSOR_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "events.h"

/* bump when any struct below changes shape */
#define RP_ABI_VERSION 1

#define RP_COMM_LEN 16

/* per-cgroup flags (map cgroup_flags) */
#define RP_CG_VERBOSE (1U << 0)

/* exec flags */
#define RP_EXEC_UPPER_LAYER (1U << 0) /* executable on an overlayfs upper layer */
#define RP_EXEC_FROM_MEMFD (1U << 1)  /* executable is a memfd */
#define RP_EXEC_ARGS_TRUNC (1U << 2)  /* argv cut at RP_ARGS_MAX */
#define RP_EXEC_ON_OVERLAY (1U << 3)  /* executable on overlayfs (any layer) */

/* limits on variable-length parts */
#define RP_PATH_MAX 4096
#define RP_ARGS_MAX 4096
#define RP_STR_MAX 4096

/*
 * the frame header, first in every kernel record.
 * len counts the whole frame including this header.
 */
struct rp_header {
	__u32 len;
	__u16 type;	    /* enum rp_event_type */
	__u16 version;	    /* RP_ABI_VERSION */
	__u64 ts_ns;	    /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;    /* cgroup v2 id (inode number of the cgroup dir) */
	__s64 ret;	    /* syscall return value, 0 when not a syscall */
	__u32 pid;	    /* tgid */
	__u32 tid;
	__u32 ppid;	    /* real parent's tgid */
	__u32 uid;	    /* real uid */
	__u32 gid;	    /* real gid */
	__u16 variant;	    /* syscall within the family (enum rp_variant), raw: nr */
	__u16 cpu;
	char comm[RP_COMM_LEN];
};

/* strings follow: filename, exe path, argv (nul-separated), cwd */
struct rp_exec {
	__u32 euid;
	__u32 egid;
	__u32 loginuid; /* 0xffffffff when unset */
	__u32 tty;	/* encoded dev_t as in /proc/pid/stat, 0 = none */
	__u32 flags;	/* RP_EXEC_* */
	__u32 argc;
};

struct rp_fork {
	__u32 child_pid; /* child's tgid */
	__u32 child_tid;
	__u32 flags;	 /* reserved, 0: only new processes are reported */
	__u32 pad;
};

struct rp_exit {
	__s32 code; /* wait status: exit code << 8 | signal */
	__u32 pad;
};

/* strings follow: path as passed, resolved path (only for relative paths that opened) */
struct rp_open {
	__s32 dfd;
	__u32 flags;
	__u32 mode;
	__u32 pad;
};

/* connect / accept. strings follow: unix socket path (empty unless AF_UNIX) */
struct rp_sock {
	__s32 fd;     /* socket fd (connect) or listening fd (accept) */
	__u16 family; /* AF_INET, AF_INET6, AF_UNIX */
	__u16 proto;  /* IPPROTO_TCP, IPPROTO_UDP, 0 when unknown */
	__u16 sport;  /* local port, host order */
	__u16 dport;  /* remote port, host order */
	__u32 pad;
	__u8 saddr[16]; /* local address: ipv4 in the first 4 bytes */
	__u8 daddr[16]; /* remote address */
};

struct rp_ptrace {
	__s64 request;
	__s32 target; /* pid argument */
	__u32 pad;
};

/* setuid/setreuid/setresuid/setfsuid and the gid family; -1 = unchanged */
struct rp_setid {
	__u32 id[3];
	__u32 pad;
};

/* strings follow: name */
struct rp_memfd {
	__u32 flags;
	__u32 pad;
};

/* strings follow: source, target, fstype */
struct rp_mount {
	__u64 flags;
};

/* unlink/unlinkat/rmdir. strings follow: path */
struct rp_unlink {
	__s32 dfd;
	__u32 flags;
};

/* rename, link, symlink (olddfd unused). strings follow: old path, new path */
struct rp_path2 {
	__s32 olddfd;
	__s32 newdfd;
	__u32 flags;
	__u32 pad;
};

/* chmod/fchmod/fchmodat/fchmodat2. strings follow: path (empty for fchmod) */
struct rp_chmod {
	__s32 fd; /* dfd, or the fd for fchmod */
	__u32 mode;
	__u32 flags;
	__u32 pad;
};

struct rp_bpf {
	__u32 cmd;
	__u32 prog_type; /* BPF_PROG_LOAD only */
	__u32 map_type;	 /* BPF_MAP_CREATE only */
	__u32 pad;
};

/* init_module/finit_module. strings follow: params, module file path (finit) */
struct rp_module {
	__s32 fd;
	__u32 flags;
	__u64 len;
};

/* raw sys_enter (verbose cgroups); header.variant is the syscall number */
struct rp_raw_enter {
	__u64 args[6];
};

/* per type counters, percpu array indexed by event type */
struct rp_counter {
	__u64 events;
	__u64 drops; /* ring buffer full */
};

#endif /* __RIPOSTE_SENSOR_H */
