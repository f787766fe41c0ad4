// SPDX-License-Identifier: Apache-2.0
/**
 * The C <-> TypeScript contract: struct layouts and codes in the compiled
 * bpf/.output/sensor.bpf.o (its BTF) must equal detector/sensor/layout.ts
 * and event-types.ts. Change a struct on one side only and this fails.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { ABI_VERSION, EVENT_TYPE, EXEC_FLAG, KERNEL_TYPE_MAX, LOADER_FRAME, VARIANT_SYSCALL } from '../../detector/sensor/event-types.ts';
import { KIND_SIZE, STRUCTS } from '../../detector/sensor/layout.ts';
import { BPF_DIR, BPF_OBJECT, buildSensor, gate } from './gate.ts';

interface BtfType {
  id: number;
  kind: string;
  name?: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  encoding?: string;
  members?: Array<{ name: string; type_id: number; bits_offset: number }>;
  values?: Array<{ name: string; val: number }>;
}

function loadBtf(): Map<number, BtfType> {
  const out = execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', BPF_OBJECT], { maxBuffer: 64 << 20 });
  const types = (JSON.parse(out.toString()) as { types: BtfType[] }).types;
  return new Map(types.map((t) => [t.id, t]));
}

/** size in bytes and signedness of a btf type, through typedefs/modifiers */
function sizeOf(btf: Map<number, BtfType>, id: number): { size: number; signed: boolean | null } {
  const t = btf.get(id);
  assert.ok(t, `btf type ${id} missing`);
  switch (t.kind) {
    case 'INT':
      return { size: t.size!, signed: t.encoding === 'SIGNED' };
    case 'TYPEDEF':
    case 'VOLATILE':
    case 'CONST':
      return sizeOf(btf, t.type_id!);
    case 'ARRAY':
      return { size: t.nr_elems! * sizeOf(btf, t.type_id!).size, signed: null };
    default:
      return { size: t.size ?? 0, signed: null };
  }
}

const SIGNED_KINDS = new Set(['i32', 'i64']);
const SCALAR_KINDS = new Set(['u16', 'u32', 'i32', 'u64', 'i64']);

if (gate('bpf layout test', buildSensor())) {
  const btf = loadBtf();
  const byName = new Map<string, BtfType>();
  for (const t of btf.values()) if (t.name && (t.kind === 'STRUCT' || t.kind === 'ENUM')) byName.set(t.name, t);

  for (const [name, layout] of Object.entries(STRUCTS)) {
    test(`struct ${name}: layout.ts matches the object's BTF`, () => {
      const st = byName.get(name);
      assert.ok(st, `struct ${name} not in ${BPF_OBJECT} (is it in btf_anchor?)`);
      assert.equal(st.size, layout.size, `${name} size`);
      const c = st.members!.map((m) => {
        const s = sizeOf(btf, m.type_id);
        return { c: m.name, offset: m.bits_offset / 8, size: s.size, signed: s.signed };
      });
      const ts = layout.fields.map((f) => ({
        c: f.c,
        offset: f.offset,
        size: KIND_SIZE[f.kind],
        signed: SCALAR_KINDS.has(f.kind) ? SIGNED_KINDS.has(f.kind) : c.find((m) => m.c === f.c)?.signed ?? null,
      }));
      assert.deepEqual(ts, c);
    });
  }

  test('every wire struct of the object is described in layout.ts', () => {
    const anchor = [...btf.values()].find((t) => t.kind === 'STRUCT' && t.members?.some((m) => m.name === 'header'));
    assert.ok(anchor, 'btf_anchor struct missing');
    for (const m of anchor.members!) {
      const t = btf.get(m.type_id)!;
      if (t.kind !== 'STRUCT') continue;
      assert.ok(t.name && t.name in STRUCTS, `struct ${t.name} is sent but not in layout.ts`);
    }
  });

  test('event type codes: events.h == event-types.ts', () => {
    const en = byName.get('rp_event_type');
    assert.ok(en?.values);
    const c = new Map(en.values.map((v) => [v.name, v.val]));
    for (const [name, code] of Object.entries(EVENT_TYPE)) assert.equal(c.get(`RP_EV_${name.toUpperCase()}`), code, name);
    for (const [name, code] of Object.entries(LOADER_FRAME)) assert.equal(c.get(`RP_FR_${name.toUpperCase()}`), code, name);
    assert.equal(c.get('RP_EV_KERNEL_MAX'), KERNEL_TYPE_MAX);
    const known = new Set([
      ...Object.keys(EVENT_TYPE).map((n) => `RP_EV_${n.toUpperCase()}`),
      ...Object.keys(LOADER_FRAME).map((n) => `RP_FR_${n.toUpperCase()}`),
      'RP_EV_NONE',
      'RP_EV_KERNEL_MAX',
    ]);
    for (const name of c.keys()) assert.ok(known.has(name), `${name} has no TypeScript mirror`);
  });

  test('syscall variants: events.h == VARIANT_SYSCALL', () => {
    const en = byName.get('rp_variant');
    assert.ok(en?.values);
    for (const v of en.values) {
      if (v.name === 'RP_VAR_DEFAULT') continue;
      const sys = v.name.slice('RP_VAR_'.length).toLowerCase();
      const hit = Object.values(VARIANT_SYSCALL).some((list) => list?.[v.val] === sys);
      assert.ok(hit, `${v.name}=${v.val}: no VARIANT_SYSCALL list has '${sys}' at index ${v.val}`);
    }
  });

  test('abi version and exec flags: sensor.h == event-types.ts', () => {
    const h = readFileSync(resolve(BPF_DIR, 'sensor.h'), 'utf8');
    const def = (n: string) => {
      const m = new RegExp(`#define ${n}\\s+\\(?(?:1U << )?(\\d+)`).exec(h);
      assert.ok(m, `${n} not in sensor.h`);
      return m[0].includes('<<') ? 1 << Number(m[1]) : Number(m[1]);
    };
    assert.equal(def('RP_ABI_VERSION'), ABI_VERSION);
    assert.equal(def('RP_EXEC_UPPER_LAYER'), EXEC_FLAG.upperLayer);
    assert.equal(def('RP_EXEC_FROM_MEMFD'), EXEC_FLAG.fromMemfd);
    assert.equal(def('RP_EXEC_ARGS_TRUNC'), EXEC_FLAG.argsTruncated);
    assert.equal(def('RP_EXEC_ON_OVERLAY'), EXEC_FLAG.onOverlay);
  });
}
