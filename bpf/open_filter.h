/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The open filter (map `open_filter`, one entry, written by the loader's
 * `open-filter` command): when enabled, a read-only open of an absolute path is
 * reported only if the path starts with one of the prefixes. Writes, creates,
 * relative paths and failed path reads are always reported. The prefixes come
 * from the loaded rules (every rule about opens names the paths it cares about),
 * so the filter only ever drops opens no rule could match.
 */
#ifndef __RIPOSTE_OPEN_FILTER_H
#define __RIPOSTE_OPEN_FILTER_H

#define RP_OPEN_PREFIX_MAX 16
#define RP_OPEN_PREFIX_LEN 64

struct rp_open_filter {
	__u32 enabled;
	__u32 n;
	__u8 len[RP_OPEN_PREFIX_MAX];
	char prefix[RP_OPEN_PREFIX_MAX][RP_OPEN_PREFIX_LEN];
};

#endif /* __RIPOSTE_OPEN_FILTER_H */
