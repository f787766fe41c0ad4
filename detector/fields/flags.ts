// SPDX-License-Identifier: Apache-2.0
/**
 * Falco-style rendering of syscall arguments, for the decoder that fills
 * `DetectorEvent.args` (rules compare against these texts:
 * `evt.arg.flags contains O_CREAT`, `evt.arg.request = PTRACE_ATTACH`).
 * Values are Linux x86_64 / arm64 (asm-generic) constants.
 */

const O_ACCMODE = 0o3;
const OPEN_FLAG_BITS: readonly [number, string][] = [
  [0o100, 'O_CREAT'],
  [0o200, 'O_EXCL'],
  [0o400, 'O_NOCTTY'],
  [0o1000, 'O_TRUNC'],
  [0o2000, 'O_APPEND'],
  [0o4000, 'O_NONBLOCK'],
  [0o10000, 'O_DSYNC'],
  [0o20000, 'O_ASYNC'],
  [0o40000, 'O_DIRECT'],
  [0o200000, 'O_DIRECTORY'],
  [0o400000, 'O_NOFOLLOW'],
  [0o1000000, 'O_NOATIME'],
  [0o2000000, 'O_CLOEXEC'],
  [0o10000000, 'O_PATH'],
  [0o20000000, 'O_TMPFILE'],
];

/** `O_WRONLY|O_CREAT|O_TRUNC` for 0o1101. */
export function renderOpenFlags(flags: number): string {
  const acc = flags & O_ACCMODE;
  const parts = [acc === 0 ? 'O_RDONLY' : acc === 1 ? 'O_WRONLY' : 'O_RDWR'];
  for (const [bit, name] of OPEN_FLAG_BITS) {
    // O_TMPFILE includes O_DIRECTORY's bit
    if (bit === 0o200000 && (flags & 0o20000000) !== 0) continue;
    if ((flags & bit) === bit) parts.push(name);
  }
  return parts.join('|');
}

export function isOpenRead(flags: number): boolean {
  const acc = flags & O_ACCMODE;
  return acc === 0 || acc === 2;
}
export function isOpenWrite(flags: number): boolean {
  const acc = flags & O_ACCMODE;
  return acc === 1 || acc === 2;
}
export function isOpenCreate(flags: number): boolean {
  return (flags & 0o100) !== 0 || (flags & 0o20000000) !== 0;
}

// 16896.. are 0x4200.. (PTRACE_SETOPTIONS and later)
const PTRACE_REQUESTS: Record<number, string> = {
  0: 'PTRACE_TRACEME',
  1: 'PTRACE_PEEKTEXT',
  2: 'PTRACE_PEEKDATA',
  3: 'PTRACE_PEEKUSR',
  4: 'PTRACE_POKETEXT',
  5: 'PTRACE_POKEDATA',
  6: 'PTRACE_POKEUSR',
  7: 'PTRACE_CONT',
  8: 'PTRACE_KILL',
  9: 'PTRACE_SINGLESTEP',
  12: 'PTRACE_GETREGS',
  13: 'PTRACE_SETREGS',
  14: 'PTRACE_GETFPREGS',
  15: 'PTRACE_SETFPREGS',
  16: 'PTRACE_ATTACH',
  17: 'PTRACE_DETACH',
  24: 'PTRACE_SYSCALL',
  16896: 'PTRACE_SETOPTIONS',
  16897: 'PTRACE_GETEVENTMSG',
  16898: 'PTRACE_GETSIGINFO',
  16899: 'PTRACE_SETSIGINFO',
  16900: 'PTRACE_GETREGSET',
  16901: 'PTRACE_SETREGSET',
  16902: 'PTRACE_SEIZE',
  16903: 'PTRACE_INTERRUPT',
  16904: 'PTRACE_LISTEN',
};

/** `PTRACE_ATTACH` for 16; the number as text when unknown. */
export function renderPtraceRequest(request: number | bigint): string {
  return PTRACE_REQUESTS[Number(request)] ?? String(request);
}

const ERRNO: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  4: 'EINTR',
  5: 'EIO',
  9: 'EBADF',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  16: 'EBUSY',
  17: 'EEXIST',
  20: 'ENOTDIR',
  21: 'EISDIR',
  22: 'EINVAL',
  24: 'EMFILE',
  28: 'ENOSPC',
  30: 'EROFS',
  36: 'ENAMETOOLONG',
  38: 'ENOSYS',
  40: 'ELOOP',
  95: 'EOPNOTSUPP',
  98: 'EADDRINUSE',
  101: 'ENETUNREACH',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  113: 'EHOSTUNREACH',
  115: 'EINPROGRESS',
};

/** Falco's evt.res: `SUCCESS` for res >= 0, else the errno name (`ENOENT`). */
export function renderResult(res: number): string {
  return res >= 0 ? 'SUCCESS' : (ERRNO[-res] ?? `E${-res}`);
}
