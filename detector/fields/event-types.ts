// SPDX-License-Identifier: Apache-2.0
/**
 * The Falco event names the Riposte sensor can produce, by family. Rules whose
 * conditions only match other event types can never fire: the rule loader
 * skips them with a warning, as it does for unsupported fields.
 * Keep in step with the sensor decoder (detector/sensor/) and bpf/events.h.
 */
export const SENSOR_EVENT_TYPES = {
  process: ['execve', 'execveat', 'clone', 'clone3', 'fork', 'vfork', 'procexit'],
  file: [
    'open',
    'openat',
    'openat2',
    'creat',
    'unlink',
    'unlinkat',
    'rmdir',
    'rename',
    'renameat',
    'renameat2',
    'chmod',
    'fchmod',
    'fchmodat',
    'symlink',
    'symlinkat',
    'link',
    'linkat',
    'mount',
    'memfd_create',
  ],
  network: ['connect', 'accept', 'accept4'],
  privilege: ['ptrace', 'setuid', 'setreuid', 'setresuid', 'setfsuid', 'setgid', 'setregid', 'setresgid', 'setfsgid', 'bpf', 'init_module', 'finit_module'],
} as const;

export const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set(Object.values(SENSOR_EVENT_TYPES).flat());
