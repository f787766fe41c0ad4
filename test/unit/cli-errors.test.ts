// SPDX-License-Identifier: Apache-2.0
// Bad input at the command line gets one clear line naming the problem, not a stack trace.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/process.ts';

const cases: [string[], number, RegExp][] = [
  [['alert', 'send', '/nonexistent-riposte.json'], 1, /^riposte: ENOENT: no such file or directory, open '\/nonexistent-riposte\.json'\n$/],
  [['start', '--port', 'abc'], 2, /^riposte: --port: expected a port number 0-65535, got "abc"\n$/],
  [['nosuch'], 2, /^riposte: unknown command "nosuch"/],
  [['playbooks', 'validate', '--bogus'], 1, /^riposte: Unknown option '--bogus'/],
];

for (const [args, code, stderr] of cases) {
  test(`riposte ${args.join(' ')}`, async () => {
    const r = await runCli(args, { RIPOSTE_STATE_DIR: '/tmp/riposte-cli-errors-test' });
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
}
