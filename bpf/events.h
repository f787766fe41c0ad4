/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * riposte sensor event type codes: the one list of them on the c side.
 * detector/sensor/event-types.ts mirrors it; a test compares the two.
 *
 * reserved ranges (u16 on the wire):
 *   0            invalid, never sent
 *   1..15        process lifecycle
 *   16..31       files and mounts
 *   32..47       network
 *   48..63       privilege and kernel surface
 *   64..127      reserved for future kernel events
 *   128..143     raw syscall records (verbose cgroups)
 *   144..255     reserved (kernel side; the enabled map has 256 slots)
 *   256..0xefff  reserved
 *   0xf000..     frames made by the loader, never by the kernel
 */
#ifndef __RIPOSTE_EVENTS_H
#define __RIPOSTE_EVENTS_H

enum rp_event_type {
	RP_EV_NONE = 0,

	RP_EV_EXEC = 1,
	RP_EV_FORK = 2,
	RP_EV_EXIT = 3,

	RP_EV_OPEN = 16,
	RP_EV_UNLINK = 17,
	RP_EV_RENAME = 18,
	RP_EV_CHMOD = 19,
	RP_EV_SYMLINK = 20,
	RP_EV_LINK = 21,
	RP_EV_MOUNT = 22,
	RP_EV_MEMFD_CREATE = 23,

	RP_EV_CONNECT = 32,
	RP_EV_ACCEPT = 33,

	RP_EV_PTRACE = 48,
	RP_EV_SETUID = 49,
	RP_EV_SETGID = 50,
	RP_EV_BPF = 51,
	RP_EV_MODULE = 52,

	RP_EV_RAW_ENTER = 128,
	RP_EV_RAW_EXIT = 129,

	RP_EV_KERNEL_MAX = 256, /* size of the enabled / counters maps */

	RP_FR_HELLO = 0xf001,
	RP_FR_STATS = 0xf002,
	RP_FR_REPLY = 0xf003,
};

/* header.variant: which syscall of a family produced the event */
enum rp_variant {
	RP_VAR_DEFAULT = 0,

	RP_VAR_EXECVE = 0, /* exec (execveat not distinguishable after exec) */

	RP_VAR_OPEN = 0,
	RP_VAR_OPENAT = 1,
	RP_VAR_OPENAT2 = 2,
	RP_VAR_CREAT = 3,

	RP_VAR_UNLINK = 0,
	RP_VAR_UNLINKAT = 1,
	RP_VAR_RMDIR = 2,

	RP_VAR_RENAME = 0,
	RP_VAR_RENAMEAT = 1,
	RP_VAR_RENAMEAT2 = 2,

	RP_VAR_CHMOD = 0,
	RP_VAR_FCHMOD = 1,
	RP_VAR_FCHMODAT = 2,
	RP_VAR_FCHMODAT2 = 3,

	RP_VAR_SYMLINK = 0,
	RP_VAR_SYMLINKAT = 1,

	RP_VAR_LINK = 0,
	RP_VAR_LINKAT = 1,

	RP_VAR_CONNECT = 0,
	RP_VAR_ACCEPT = 0,
	RP_VAR_ACCEPT4 = 1,

	RP_VAR_SETUID = 0, /* also setgid */
	RP_VAR_SETREUID = 1,
	RP_VAR_SETRESUID = 2,
	RP_VAR_SETFSUID = 3,

	RP_VAR_INIT_MODULE = 0,
	RP_VAR_FINIT_MODULE = 1,
};

#endif /* __RIPOSTE_EVENTS_H */
