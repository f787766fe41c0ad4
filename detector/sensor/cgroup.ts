// SPDX-License-Identifier: Apache-2.0
/**
 * cgroup v2 helpers the sensor side needs: where cgroup2 is mounted (pure
 * v2 at /sys/fs/cgroup, or hybrid at /sys/fs/cgroup/unified) and the id the
 * kernel's bpf_get_current_cgroup_id() reports for a cgroup directory.
 *
 * @example
 * const root = await cgroup2Mount();           // '/sys/fs/cgroup/unified'
 * const id = await cgroupId(`${root}/my.slice`); // 1234n
 */
import { readFile, stat } from 'node:fs/promises';

/** Mount point of the cgroup2 hierarchy, from /proc/self/mountinfo; null when absent. */
export async function cgroup2Mount(mountinfo = '/proc/self/mountinfo'): Promise<string | null> {
  const text = await readFile(mountinfo, 'utf8');
  for (const line of text.split('\n')) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superopts
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const fstype = line.slice(dash + 3).split(' ')[0];
    if (fstype !== 'cgroup2') continue;
    const mp = line.slice(0, dash).split(' ')[4];
    if (mp) return mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  }
  return null;
}

/** cgroup v2 id of a cgroup directory: its kernfs inode number. */
export async function cgroupId(dir: string): Promise<bigint> {
  return (await stat(dir, { bigint: true })).ino;
}
