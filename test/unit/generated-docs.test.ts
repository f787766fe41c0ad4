// SPDX-License-Identifier: Apache-2.0
// Generated references (docs/actions.md, the config table, schemas/*.json) match the code.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

test('generated docs and schemas are up to date (node scripts/gen-docs.ts)', () => {
  const r = spawnSync(process.execPath, ['scripts/gen-docs.ts', '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
