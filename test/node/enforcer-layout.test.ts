// SPDX-License-Identifier: Apache-2.0
/**
 * The enforcer's C <-> TypeScript contract: the structs and enums in the BTF
 * of bpf/.output/enforcer.bpf.o must match src/node/enforcer-frames.ts.
 * Needs only the build (clang, bpftool), not root.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { ENF_ABI_VERSION, ENF_EXEC_MECHANISM, ENF_FLAG, ENF_FRAME, ENF_LAYOUT, ENF_PATH_KIND, ENF_PATH_MAX, ENF_SNAP_MAX } from '../../src/node/enforcer-frames.ts';
import { buildEnforcer, ENFORCER_OBJECT, gate, ROOT } from './helpers.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface BtfType {
  id: number;
  kind: string;
  name?: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: { name: string; type_id: number; bits_offset: number }[];
  values?: { name: string; val: number }[];
}

const reason = process.platform !== 'linux' ? 'not linux' : buildEnforcer();
if (gate('enforcer layout test', reason)) {
  const types = (JSON.parse(execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', ENFORCER_OBJECT], { maxBuffer: 64 << 20 }).toString()) as { types: BtfType[] }).types;
  const byId = new Map(types.map((t) => [t.id, t]));
  const named = new Map(types.filter((t) => t.name && (t.kind === 'STRUCT' || t.kind === 'ENUM')).map((t) => [t.name!, t]));
  const sizeOf = (id: number): number => {
    const t = byId.get(id)!;
    if (t.kind === 'TYPEDEF' || t.kind === 'VOLATILE' || t.kind === 'CONST') return sizeOf(t.type_id!);
    if (t.kind === 'ARRAY') return t.nr_elems! * sizeOf(t.type_id!);
    return t.size ?? 0;
  };

  for (const [name, layout] of Object.entries(ENF_LAYOUT)) {
    test(`struct ${name} matches enforcer-frames.ts`, () => {
      const t = named.get(name);
      assert.ok(t, `struct ${name} not in the object's BTF`);
      assert.equal(t.size, layout.size, `sizeof(struct ${name})`);
      const members = Object.fromEntries((t.members ?? []).map((m) => [m.name, [m.bits_offset / 8, sizeOf(m.type_id)]]));
      assert.deepEqual(members, layout.fields);
    });
  }

  test('enums and constants match', () => {
    const en = (n: string) => Object.fromEntries((named.get(n)?.values ?? []).map((v) => [v.name, v.val]));
    assert.deepEqual(en('rp_enf_type'), { RP_ENF_PACKET: ENF_FRAME.packet, RP_ENF_EXEC_DENIED: ENF_FRAME.execDenied, RP_ENF_FR_HELLO: ENF_FRAME.hello, RP_ENF_FR_REPLY: ENF_FRAME.reply });
    assert.deepEqual(en('rp_enf_flag'), { RP_ENF_ISOLATE: ENF_FLAG.isolate, RP_ENF_PCAP: ENF_FLAG.pcap, RP_ENF_EXEC_DENY: ENF_FLAG.execDeny, RP_ENF_EXEC_ALLOW_ONLY: ENF_FLAG.execAllowOnly });
    assert.deepEqual(en('rp_enf_path_kind'), { RP_ENF_PATH_LISTED: ENF_PATH_KIND.listed, RP_ENF_PATH_INTERP: ENF_PATH_KIND.interp });
    assert.deepEqual(en('rp_enf_exec_mechanism'), { RP_ENF_EXEC_NONE: 0, RP_ENF_EXEC_BPF_LSM: 1, RP_ENF_EXEC_FANOTIFY: 2 });
    assert.deepEqual(ENF_EXEC_MECHANISM, ['none', 'bpf-lsm', 'fanotify']);
    const header = readFileSync(join(ROOT, 'bpf/enforcer.h'), 'utf8');
    const def = (n: string) => Number(new RegExp(`#define ${n} (\\d+)`).exec(header)?.[1]);
    assert.equal(def('RP_ENF_ABI_VERSION'), ENF_ABI_VERSION);
    assert.equal(def('RP_ENF_SNAP_MAX'), ENF_SNAP_MAX);
    assert.equal(def('RP_ENF_PATH_MAX'), ENF_PATH_MAX);
  });
}
