/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * riposte enforcer: the records and map layouts shared by enforcer.bpf.c,
 * the enforcer.c loader and src/node/enforcer-frames.ts (which mirrors them;
 * test/node/enforcer-layout.test.ts compares the two through the object's btf).
 *
 * frame types (u16 on the wire, same 8-byte prefix as the sensor's frames):
 *   1..15        kernel records
 *   16..0xefff   reserved
 *   0xf000..     frames made by the loader
 */
#ifndef __RIPOSTE_ENFORCER_H
#define __RIPOSTE_ENFORCER_H

#define RP_ENF_ABI_VERSION 1

enum rp_enf_type {
	RP_ENF_PACKET = 1,	/* a packet of a cgroup with pcap on */
	RP_ENF_EXEC_DENIED = 2, /* an exec the lsm program refused */

	RP_ENF_FR_HELLO = 0xf001,
	RP_ENF_FR_REPLY = 0xf003,
};

/* policy flags per cgroup (struct rp_enf_policy.flags) */
enum rp_enf_flag {
	RP_ENF_ISOLATE = 1,	    /* drop all traffic except the allow-list */
	RP_ENF_PCAP = 2,	    /* copy packets to the ring buffer */
	RP_ENF_EXEC_DENY = 4,	    /* deny exec of listed paths */
	RP_ENF_EXEC_ALLOW_ONLY = 8, /* deny exec of anything not listed */
};

/* largest packet prefix copied per packet */
#define RP_ENF_SNAP_MAX 2048
/* exec paths are compared as bpf_d_path writes them, nul included */
#define RP_ENF_PATH_MAX 256
/* cgroup levels looked at: own cgroup, then ancestors from the root down */
#define RP_ENF_MAX_DEPTH 16

/* value of the policy map, key = cgroup v2 id (u64) */
struct rp_enf_policy {
	__u32 flags;
	__u32 snaplen;
	/* counters, updated by the kernel side (atomic adds) */
	__u64 dropped_ingress;
	__u64 dropped_egress;
	__u64 execs_denied;
	__u64 pcap_lost;
};

/* key of the net_allow lpm trie: prefixlen covers the cgroup id (64 bits)
 * then the address; ipv4 is stored v4-mapped (::ffff:a.b.c.d) */
struct rp_enf_net_key {
	__u32 prefixlen;
	__u64 cgroup_id;
	__u8 addr[16];
} __attribute__((packed));

/* values of the exec_paths hash */
enum rp_enf_path_kind {
	RP_ENF_PATH_LISTED = 1, /* a listed executable */
	RP_ENF_PATH_INTERP = 2, /* an elf interpreter of a listed one (fanotify allow-only) */
};

/* how exec blocking is enforced (hello frame) */
enum rp_enf_exec_mechanism {
	RP_ENF_EXEC_NONE = 0,
	RP_ENF_EXEC_BPF_LSM = 1,
	RP_ENF_EXEC_FANOTIFY = 2, /* fallback when the kernel refuses bpf lsm programs */
};

/* key of the exec_paths hash, value u32 (enum rp_enf_path_kind) */
struct rp_enf_path_key {
	__u64 cgroup_id;
	char path[RP_ENF_PATH_MAX];
};

/* every frame starts with this */
struct rp_enf_prefix {
	__u32 len; /* frame length, prefix included */
	__u16 type;
	__u16 version;
};

/* RP_ENF_PACKET, followed by cap_len bytes from the ip header on */
struct rp_enf_packet {
	struct rp_enf_prefix p;
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	__u64 cgroup_id;
	__u32 wire_len;
	__u32 cap_len;
	__u8 dir;     /* 0 ingress, 1 egress */
	__u8 dropped; /* 1 when isolation dropped it */
	__u16 proto;  /* ETH_P_IP / ETH_P_IPV6, host order */
	__u32 pad;
};

/* RP_ENF_EXEC_DENIED */
struct rp_enf_exec {
	struct rp_enf_prefix p;
	__u64 ts_ns;
	__u64 cgroup_id; /* the listed cgroup whose policy denied it */
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 ret; /* -EPERM */
	char comm[16];
	char path[RP_ENF_PATH_MAX];
};

#endif /* __RIPOSTE_ENFORCER_H */
