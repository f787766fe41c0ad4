// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * riposte enforcer, kernel side: containment of listed cgroups only.
 *
 * programs:
 *   cgroup_skb/ingress, cgroup_skb/egress  attached by the loader to each
 *       target cgroup (never to the root); drop the cgroup's traffic while it
 *       is isolated (allow-list of cidrs) and copy packets while pcap is on
 *   lsm.s/bprm_check_security              attached only while some cgroup
 *       has an exec policy; refuses listed (or unlisted) executables with
 *       -EPERM inside those cgroups
 *
 * every program first finds the policy of the cgroup it runs for in the
 * policy map, which only the loader fills, with the ids of the cgroups the
 * agent was told to act on. no entry: the program returns "allow" at once.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "enforcer.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EPERM 1
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/* cgroup v2 id -> policy; written by the loader only */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct rp_enf_policy);
} policy SEC(".maps");

/* (cgroup id, address prefix) -> 1: destinations an isolated cgroup may still reach */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct rp_enf_net_key);
	__type(value, __u32);
} net_allow SEC(".maps");

/* (cgroup id, path) -> RP_ENF_PATH_*: the exec list of a cgroup (deny or allow-only) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct rp_enf_path_key);
	__type(value, __u32);
} exec_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} rb SEC(".maps");

/* keeps the wire structs in btf for the layout test; never read */
const volatile struct {
	struct rp_enf_packet packet;
	struct rp_enf_exec exec;
	struct rp_enf_policy policy;
	struct rp_enf_net_key net_key;
	struct rp_enf_path_key path_key;
	enum rp_enf_type type;
	enum rp_enf_flag flag;
	enum rp_enf_path_kind path_kind;
	enum rp_enf_exec_mechanism mechanism;
} btf_anchor = {};

/* ---- cgroup networking ---- */

/* policy of the socket's cgroup: its own, else the nearest listed ancestor */
static __always_inline struct rp_enf_policy *skb_policy(struct __sk_buff *skb, __u64 *cgid)
{
	struct rp_enf_policy *p;
	__u64 id = bpf_skb_cgroup_id(skb);

	p = bpf_map_lookup_elem(&policy, &id);
	if (p) {
		*cgid = id;
		return p;
	}
	/* level 0 is the root cgroup: never a target */
	for (int level = 1; level < RP_ENF_MAX_DEPTH; level++) {
		id = bpf_skb_ancestor_cgroup_id(skb, level);
		if (!id)
			break;
		p = bpf_map_lookup_elem(&policy, &id);
		if (p) {
			*cgid = id;
			return p;
		}
	}
	return NULL;
}

/* is the remote end (dst on egress, src on ingress) in the allow-list? */
static __always_inline bool net_allowed(struct __sk_buff *skb, __u64 cgid, bool egress)
{
	struct rp_enf_net_key k = {};
	__u32 a4;

	k.prefixlen = 64 + 128;
	k.cgroup_id = cgid;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, egress ? 16 : 12, &a4, 4))
			return false;
		k.addr[10] = 0xff;
		k.addr[11] = 0xff;
		__builtin_memcpy(&k.addr[12], &a4, 4);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, egress ? 24 : 8, k.addr, 16))
			return false;
	} else {
		return false;
	}
	return bpf_map_lookup_elem(&net_allow, &k) != NULL;
}

/* copy the packet (from the ip header, up to snaplen) to the ring buffer */
static __always_inline void capture(struct __sk_buff *skb, struct rp_enf_policy *p, __u64 cgid,
				    bool egress, bool dropped)
{
	struct rp_enf_packet *r;
	__u32 snap = p->snaplen, n = skb->len;

	r = bpf_ringbuf_reserve(&rb, sizeof(*r) + RP_ENF_SNAP_MAX, 0);
	if (!r) {
		__sync_fetch_and_add(&p->pcap_lost, 1);
		return;
	}
	if (!snap || snap > RP_ENF_SNAP_MAX)
		snap = RP_ENF_SNAP_MAX;
	if (n > snap)
		n = snap;
	/* n is 1..RP_ENF_SNAP_MAX here; the mask (a power of two) lets the
	 * verifier see the bound too */
	if (n > 0 && bpf_skb_load_bytes(skb, 0, (void *)(r + 1), ((n - 1) & (RP_ENF_SNAP_MAX - 1)) + 1))
		n = 0;
	r->p.type = RP_ENF_PACKET;
	r->p.version = RP_ENF_ABI_VERSION;
	r->p.len = sizeof(*r) + n;
	r->ts_ns = bpf_ktime_get_boot_ns();
	r->cgroup_id = cgid;
	r->wire_len = skb->len;
	r->cap_len = n;
	r->dir = egress;
	r->dropped = dropped;
	r->proto = bpf_ntohs(skb->protocol);
	r->pad = 0;
	/* packets are drained on the loader's tick: no wakeup per packet */
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

static __always_inline int handle_skb(struct __sk_buff *skb, bool egress)
{
	struct rp_enf_policy *p;
	__u64 cgid = 0;
	bool allow = true;

	p = skb_policy(skb, &cgid);
	if (!p)
		return 1;
	if (p->flags & RP_ENF_ISOLATE) {
		allow = net_allowed(skb, cgid, egress);
		if (!allow)
			__sync_fetch_and_add(egress ? &p->dropped_egress : &p->dropped_ingress, 1);
	}
	if (p->flags & RP_ENF_PCAP)
		capture(skb, p, cgid, egress, !allow);
	return allow ? 1 : 0;
}

SEC("cgroup_skb/ingress")
int skb_ingress(struct __sk_buff *skb)
{
	return handle_skb(skb, false);
}

SEC("cgroup_skb/egress")
int skb_egress(struct __sk_buff *skb)
{
	return handle_skb(skb, true);
}

/* ---- exec ---- */

static __always_inline struct rp_enf_policy *task_policy(__u64 *cgid)
{
	struct rp_enf_policy *p;
	__u64 id = bpf_get_current_cgroup_id();

	p = bpf_map_lookup_elem(&policy, &id);
	if (p) {
		*cgid = id;
		return p;
	}
	for (int level = 1; level < RP_ENF_MAX_DEPTH; level++) {
		id = bpf_get_current_ancestor_cgroup_id(level);
		if (!id)
			break;
		p = bpf_map_lookup_elem(&policy, &id);
		if (p) {
			*cgid = id;
			return p;
		}
	}
	return NULL;
}

SEC("lsm.s/bprm_check_security")
int BPF_PROG(exec_check, struct linux_binprm *bprm, int ret)
{
	struct rp_enf_path_key k = {};
	struct rp_enf_policy *p;
	struct rp_enf_exec *e;
	__u64 cgid = 0;
	bool listed, deny;
	long n;

	if (ret)
		return ret; /* an earlier program already said no */
	p = task_policy(&cgid);
	if (!p || !(p->flags & (RP_ENF_EXEC_DENY | RP_ENF_EXEC_ALLOW_ONLY)))
		return 0;

	/* the path as the task sees it (relative to its root), nul-terminated */
	k.cgroup_id = cgid;
	n = bpf_d_path((struct path *)&bprm->file->f_path, k.path, sizeof(k.path));
	/* bpf_d_path leaves bytes after the nul: clear them so the key hashes */
	for (int i = 0; i < RP_ENF_PATH_MAX; i++)
		if (i >= n)
			k.path[i] = 0;
	if (n > 0) {
		__u32 *v = bpf_map_lookup_elem(&exec_paths, &k);

		/* 2 marks an elf interpreter, only for the fanotify fallback */
		listed = v && *v == RP_ENF_PATH_LISTED;
	} else {
		listed = false;
	}
	deny = (p->flags & RP_ENF_EXEC_ALLOW_ONLY) ? !listed : listed;
	if (!deny)
		return 0;

	__sync_fetch_and_add(&p->execs_denied, 1);
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (e) {
		__u64 pid_tgid = bpf_get_current_pid_tgid();

		e->p.type = RP_ENF_EXEC_DENIED;
		e->p.version = RP_ENF_ABI_VERSION;
		e->p.len = sizeof(*e);
		e->ts_ns = bpf_ktime_get_boot_ns();
		e->cgroup_id = cgid;
		e->pid = pid_tgid >> 32;
		e->tid = (__u32)pid_tgid;
		e->uid = (__u32)bpf_get_current_uid_gid();
		e->ret = -EPERM;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		__builtin_memcpy(e->path, k.path, sizeof(e->path));
		bpf_ringbuf_submit(e, 0);
	}
	return -EPERM;
}
