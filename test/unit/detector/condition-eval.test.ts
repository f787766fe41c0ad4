// SPDX-License-Identifier: Apache-2.0
// Semantics of every operator and transformer, absent fields, list-valued
// fields, val(), macros and lists, and the event-type analysis. The context is
// a plain record: the condition module knows nothing of syscalls.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Comparable,
  type CompileOptions,
  ConditionError,
  compileCondition,
  eventTypesOf,
  fieldText,
  parseCondition,
} from '../../../detector/condition/index.ts';

type Ctx = Record<string, unknown>;
const resolve: CompileOptions<Ctx>['resolve'] = (f) => (f.name.startsWith('bad.') ? { error: `no ${f.name}` } : (ctx) => ctx[fieldText(f)]);

function ev(cond: string, ctx: Ctx, opts: Partial<CompileOptions<Ctx>> = {}): boolean {
  return compileCondition<Ctx>(cond, { resolve, ...opts }).evaluate(ctx);
}

/** [condition, context, expected] */
type Case = [string, Ctx, boolean];

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const [cond, ctx, want] of cases) {
      test(`${cond} on ${JSON.stringify(ctx, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `bytes(${Buffer.from(v).toString('hex')})` : v))} → ${want}`, () => {
        assert.equal(ev(cond, ctx), want);
      });
    }
  });
}

const s = (v: unknown): Ctx => ({ 'f.s': v });

table('equality', [
  ['f.s = bash', s('bash'), true],
  ['f.s = bash', s('Bash'), false],
  ['f.s == bash', s('bash'), true],
  ['f.s != bash', s('sh'), true],
  ['f.s != bash', s('bash'), false],
  ['f.s = "with space"', s('with space'), true],
  ['f.s = 10', s(10), true],
  ['f.s = 10', s(10n), true],
  ['f.s = 0x0a', s(10), true],
  ['f.s = 10', s(11), false],
  ['f.s = 10', s('10'), true],
  ['f.s = 1.5', s(1.5), true],
  ['f.s = 1.5', s(1n), false],
  ['f.s = abc', s(10), false],
  ['f.s = true', s(true), true],
  ['f.s = false', s(true), false],
  ['f.s != false', s(true), true],
  ['f.s = 1', s(true), true],
  ['f.s = 18446744073709551615', s(18446744073709551615n), true],
  ['f.s = 18446744073709551614', s(18446744073709551615n), false],
]);

table('numeric and string ordering', [
  ['f.s < 10', s(9), true],
  ['f.s < 10', s(10), false],
  ['f.s <= 10', s(10), true],
  ['f.s > 10', s(10n), false],
  ['f.s > 10', s(11n), true],
  ['f.s >= -1', s(-1), true],
  ['f.s > 9', s('10'), true], // both numeric: numeric, not "10" < "9"
  ['f.s < 0x10', s(15), true],
  ['f.s > 2.5', s(3), true],
  ['f.s > 2.5', s(2n), false],
  ['f.s >= 100', s('abc'), false],
  ['f.s < 1', s(true), false],
]);

table('string operators', [
  ['f.s contains ash', s('bash'), true],
  ['f.s contains ASH', s('bash'), false],
  ['f.s icontains ASH', s('bash'), true],
  ['f.s startswith /etc/', s('/etc/passwd'), true],
  ['f.s startswith /etc/', s('/etcx'), false],
  ['f.s endswith .conf', s('/etc/a.conf'), true],
  ['f.s endswith .conf', s('/etc/a.conf.bak'), false],
  ['f.s contains 12', s(3123), true],
]);

table('glob (fnmatch, * also matches /)', [
  ['f.s glob /etc/*', s('/etc/passwd'), true],
  ['f.s glob /etc/*', s('/etc/ssh/sshd_config'), true],
  ['f.s glob "/tmp/?"', s('/tmp/a'), true],
  ['f.s glob "/tmp/?"', s('/tmp/ab'), false],
  ['f.s glob "*.[ch]"', s('main.c'), true],
  ['f.s glob "*.[ch]"', s('main.o'), false],
  ['f.s glob "*.[!ch]"', s('main.o'), true],
  ['f.s glob "*.[^ch]"', s('main.c'), false],
  ['f.s glob "[a-c]x"', s('bx'), true],
  ['f.s glob "[a-c]x"', s('dx'), false],
  ['f.s glob "a\\\\*"', s('a*'), true],
  ['f.s glob "a\\\\*"', s('ab'), false],
  ['f.s glob "a.b"', s('axb'), false],
  ['f.s glob "(x)+"', s('(x)+'), true],
  ['f.s glob "[x"', s('[x'), true],
  ['f.s glob BASH', s('bash'), false],
  ['f.s iglob BASH', s('bash'), true],
  ['f.s iglob "B*"', s('bin'), true],
]);

table('regex (whole value, compiled once)', [
  ['f.s regex "[a-z]+sh"', s('bash'), true],
  ['f.s regex "[a-z]+sh"', s('bash2'), false],
  ['f.s regex "sh"', s('bash'), false],
  ['f.s regex ".*sh"', s('bash'), true],
  ['f.s regex "a|b"', s('b'), true],
  ['f.s regex "^x$|y"', s('y'), true],
]);

table('bytes', [
  ['f.s bcontains 7f454c46', s(new Uint8Array([0, 0x7f, 0x45, 0x4c, 0x46, 1])), true],
  ['f.s bcontains 7F454C46', s(new Uint8Array([0x7f, 0x45])), false],
  ['f.s bcontains 6173', s('bash'), true],
  ['f.s bstartswith 7f45', s(new Uint8Array([0x7f, 0x45, 0x4c])), true],
  ['f.s bstartswith 454c', s(new Uint8Array([0x7f, 0x45, 0x4c])), false],
]);

table('lists: in, intersects, pmatch', [
  ['f.s in (bash, sh)', s('sh'), true],
  ['f.s in (bash, sh)', s('zsh'), false],
  ['f.s in ()', s('zsh'), false],
  ['f.s in ("my shell", sh)', s('my shell'), true],
  ['f.s in (3333, 4444)', s(4444), true],
  ['f.s in (3333, 4444)', s(4444n), true],
  ['f.s in (0x10)', s(16), true],
  ['f.s in (3333, 4444)', s(5555), false],
  ['f.s intersects (a, b)', s('a'), true],
  ['f.s in (a, b)', s(['a', 'b']), true], // list field: all values in the set
  ['f.s in (a, b)', s(['a', 'c']), false],
  ['f.s intersects (a, b)', s(['c', 'b']), true], // list field: any value in the set
  ['f.s intersects (a, b)', s(['c', 'd']), false],
  ['f.s pmatch (/usr/bin, /etc/)', s('/usr/bin'), true],
  ['f.s pmatch (/usr/bin, /etc/)', s('/usr/bin/ls'), true],
  ['f.s pmatch (/usr/bin, /etc/)', s('/etc/ssh/sshd_config'), true],
  ['f.s pmatch (/usr/bin, /etc/)', s('/usr/binx'), false],
  ['f.s pmatch (/usr/bin, /etc/)', s('/usr'), false],
  ['f.s pmatch (/)', s('/anything'), true],
  ['f.s pmatch (/usr/bin)', s(''), false],
]);

table('list-valued fields with scalar operators: any element', [
  ['f.s = bash', s(['sh', 'bash']), true],
  ['f.s = bash', s(['sh', 'zsh']), false],
  ['f.s != bash', s(['sh', 'zsh']), true], // no element equal
  ['f.s != bash', s(['sh', 'bash']), false],
  ['f.s startswith ba', s(['sh', 'bash']), true],
  ['f.s exists', s([]), false],
  ['f.s = bash', s([]), false],
  ['not f.s = bash', s([]), true],
]);

table('absent fields: every check is false, not of it true', [
  ['f.s = bash', {}, false],
  ['f.s != bash', {}, false],
  ['not f.s = bash', {}, true],
  ['not f.s != bash', {}, true],
  ['f.s < 10', { 'f.s': null }, false],
  ['f.s in (a)', {}, false],
  ['f.s pmatch (/)', {}, false],
  ['f.s glob *', {}, false],
  ['f.s exists', {}, false],
  ['f.s exists', s(''), true],
  ['f.s exists', s(0), true],
  ['not f.s exists', {}, true],
  ['tolower(f.s) = a', {}, false],
  ['f.s = val(f.t)', s('a'), false],
  ['f.s = val(f.t)', { 'f.t': 'a' }, false],
]);

table('transformers', [
  ['tolower(f.s) = bash', s('BaSh'), true],
  ['toupper(f.s) = BASH', s('bash'), true],
  ['toupper(tolower(f.s)) = BASH', s('BaSh'), true],
  ['basename(f.s) = bash', s('/usr/bin/bash'), true],
  ['basename(f.s) = bash', s('bash'), true],
  ['basename(f.s) = ""', s('/usr/bin/'), true],
  ['len(f.s) = 4', s('bash'), true],
  ['len(f.s) > 3', s(['a', 'b', 'c', 'd']), true],
  ['len(f.s) = 0', s(''), true],
  ['b64(f.s) = hello', s('aGVsbG8='), true],
  ['tolower(f.s) in (bash, sh)', s('SH'), true],
  ['tolower(f.s) = bash', s(['SH', 'BASH']), true],
  ['basename(tolower(f.s)) = bash', s('/BIN/BASH'), true],
]);

table('val() and transformers on the right side', [
  ['f.s = val(f.t)', { 'f.s': 'a', 'f.t': 'a' }, true],
  ['f.s = val(f.t)', { 'f.s': 'a', 'f.t': 'b' }, false],
  ['f.s != val(f.t)', { 'f.s': 'a', 'f.t': 'b' }, true],
  ['f.s > val(f.t)', { 'f.s': 10, 'f.t': 9n }, true],
  ['f.s < val(f.t)', { 'f.s': 10, 'f.t': 9n }, false],
  ['f.s = val(f.t)', { 'f.s': 10, 'f.t': 10n }, true],
  ['f.s in val(f.t)', { 'f.s': 'b', 'f.t': ['a', 'b'] }, true],
  ['f.s in val(f.t)', { 'f.s': 'c', 'f.t': ['a', 'b'] }, false],
  ['f.s contains val(f.t)', { 'f.s': 'xabcx', 'f.t': 'abc' }, true],
  ['f.s = tolower(f.t)', { 'f.s': 'abc', 'f.t': 'ABC' }, true],
  ['f.s glob val(f.t)', { 'f.s': 'abc', 'f.t': 'a*' }, true],
  ['f.s regex val(f.t)', { 'f.s': 'abc', 'f.t': '(' }, false], // invalid pattern at run time: no match
]);

table('boolean logic', [
  ['f.a = 1 and f.b = 2', { 'f.a': 1, 'f.b': 2 }, true],
  ['f.a = 1 and f.b = 2', { 'f.a': 1, 'f.b': 3 }, false],
  ['f.a = 1 or f.b = 2', { 'f.a': 0, 'f.b': 2 }, true],
  ['f.a = 1 or f.b = 2 or f.c = 3', { 'f.c': 3 }, true],
  ['f.a = 1 and f.b = 2 and f.c = 3', { 'f.a': 1, 'f.b': 2, 'f.c': 4 }, false],
  ['not (f.a = 1 or f.b = 2)', { 'f.a': 0, 'f.b': 0 }, true],
  ['not not f.a = 1', { 'f.a': 1 }, true],
  ['f.a = 1 or f.b = 2 and f.c = 3', { 'f.a': 1 }, true],
  ['(f.a = 1 or f.b = 2) and f.c = 3', { 'f.a': 1 }, false],
]);

class Ip implements Comparable {
  readonly ip: string;
  constructor(ip: string) {
    this.ip = ip;
  }
  matchesLiteral(text: string): boolean {
    return text === this.ip || (text === '10.0.0.0/8' && this.ip.startsWith('10.'));
  }
  toString(): string {
    return this.ip;
  }
}

table('values with their own equality (Comparable)', [
  ['f.s = "10.0.0.0/8"', s(new Ip('10.1.2.3')), true],
  ['f.s != "10.0.0.0/8"', s(new Ip('192.168.1.1')), true],
  ['f.s in ("10.0.0.0/8", 1.1.1.1)', s(new Ip('10.9.9.9')), true],
  ['f.s in ("10.0.0.0/8", 1.1.1.1)', s(new Ip('8.8.8.8')), false],
  ['f.s startswith 10.', s(new Ip('10.1.2.3')), true],
]);

describe('macros and lists', () => {
  const macros = { is_shell: 'f.s in (shells)', is_bash: 'f.s = bash', either: 'is_bash or is_shell' };
  const lists = { shells: ['sh', 'zsh'], ports: [3333, 4444], quoted: ['a b'] };

  test('macros expand, nested, and can be given as ASTs', () => {
    assert.equal(ev('either', { 'f.s': 'zsh' }, { macros, lists }), true);
    assert.equal(ev('either', { 'f.s': 'bash' }, { macros, lists }), true);
    assert.equal(ev('not either', { 'f.s': 'csh' }, { macros, lists }), true);
    assert.equal(ev('m', { 'f.s': 'x' }, { macros: { m: parseCondition('f.s = x') } }), true);
  });

  test('lists expand in parentheses and by name; numbers and strings alike', () => {
    assert.equal(ev('f.s in (shells, bash)', { 'f.s': 'bash' }, { lists }), true);
    assert.equal(ev('f.s in (shells, bash)', { 'f.s': 'zsh' }, { lists }), true);
    assert.equal(ev('f.s in shells', { 'f.s': 'sh' }, { lists }), true);
    assert.equal(ev('f.s in (ports)', { 'f.s': 3333 }, { lists }), true);
    assert.equal(ev('f.s intersects (quoted)', { 'f.s': 'a b' }, { lists }), true);
    // a quoted item is a literal, never a list name
    assert.equal(ev('f.s in ("shells")', { 'f.s': 'shells' }, { lists }), true);
    assert.equal(ev('f.s in ("shells")', { 'f.s': 'sh' }, { lists }), false);
    // an unquoted item naming no list is a literal
    assert.equal(ev('f.s in (nolist)', { 'f.s': 'nolist' }, { lists }), true);
  });

  test('undefined macro: error at the reference, with a suggestion', () => {
    try {
      compileCondition('f.s = a and\n  is_bsh', { resolve, macros });
      assert.fail('compiled');
    } catch (e) {
      assert.ok(e instanceof ConditionError);
      assert.deepEqual([e.line, e.col], [2, 3]);
      assert.match(e.reason, /undefined macro 'is_bsh' \(did you mean 'is_bash'\?\)/);
    }
  });

  test('a list used as a macro is named as such', () => {
    assert.throws(() => compileCondition('shells', { resolve, lists }), /'shells' is a list, not a macro/);
  });

  test('undefined list: error at the list name', () => {
    try {
      compileCondition('f.s in shels', { resolve, lists });
      assert.fail('compiled');
    } catch (e) {
      assert.ok(e instanceof ConditionError);
      assert.deepEqual([e.line, e.col], [1, 8]);
      assert.match(e.reason, /undefined list 'shels' \(did you mean 'shells'\?\)/);
    }
  });

  test('errors inside a macro carry the macro name and macro-relative positions', () => {
    try {
      compileCondition('f.s = a and outer', { resolve, macros: { outer: 'f.x = 1 or inner', inner: 'f.y = 1 and\n nothere' } });
      assert.fail('compiled');
    } catch (e) {
      assert.ok(e instanceof ConditionError);
      assert.equal(e.macro, 'inner');
      assert.deepEqual([e.line, e.col], [2, 2]);
    }
    try {
      compileCondition('m', { resolve, macros: { m: 'f.s = (' } });
      assert.fail('compiled');
    } catch (e) {
      assert.ok(e instanceof ConditionError);
      assert.equal(e.macro, 'm');
      assert.deepEqual([e.line, e.col], [1, 7]);
    }
  });

  test('macro cycles are refused', () => {
    assert.throws(() => compileCondition('a', { resolve, macros: { a: 'f.s = 1 or b', b: 'a' } }), /macro 'a' refers to itself \(a -> b -> a\)/);
  });

  test('bad literals are compile errors at the value', () => {
    const cases: [string, RegExp, number][] = [
      ['f.s regex "("', /invalid regex/, 11],
      ['f.s bcontains 7f4', /even-length hex/, 15],
      ['f.s bcontains zz', /even-length hex/, 15],
    ];
    for (const [cond, re, col] of cases) {
      try {
        compileCondition(cond, { resolve });
        assert.fail(`${cond} compiled`);
      } catch (e) {
        assert.ok(e instanceof ConditionError, String(e));
        assert.match(e.reason, re);
        assert.equal(e.col, col);
      }
    }
  });
});

describe('compile results', () => {
  test('fields lists every field once, macros and val() included', () => {
    const c = compileCondition<Ctx>('f.a = 1 and m and f.a = 2 and f.b = val(f.c) and tolower(f.d[2]) = x', { resolve, macros: { m: 'f.e exists' } });
    assert.deepEqual(c.fields, [{ name: 'f.a' }, { name: 'f.e' }, { name: 'f.b' }, { name: 'f.c' }, { name: 'f.d', arg: '2' }]);
    assert.deepEqual(c.unsupported, []);
  });

  test('unsupported fields are collected, not thrown; they read as absent', () => {
    const c = compileCondition<Ctx>('bad.x = 1 or f.a = 1 or bad.x = 2 or not bad.y[3] exists', { resolve });
    assert.deepEqual(c.unsupported, [
      { field: 'bad.x', error: 'no bad.x' },
      { field: 'bad.y[3]', error: 'no bad.y' },
    ]);
    assert.equal(c.evaluate({ 'bad.x': 1 }), true); // only via `not bad.y exists`
    assert.equal(compileCondition<Ctx>('bad.x = 1', { resolve }).evaluate({ 'bad.x': 1 }), false);
  });

  test('playbook-style triggers: one-word fields over an alert', () => {
    const alert = { rule: 'Terminal shell in container', priority: 'warning', tags: ['container', 'T1059'], output_fields: { 'proc.name': 'bash' } };
    type A = typeof alert;
    const c = compileCondition<A>('rule = "Terminal shell in container" and priority in (critical, warning) and tags intersects (T1059) and output_fields[proc.name] = bash', {
      resolve: (f) => {
        if (f.name === 'output_fields' && f.arg !== undefined) {
          const key = f.arg;
          return (a) => a.output_fields[key as keyof A['output_fields']];
        }
        return f.name in alert ? (a) => a[f.name as keyof A] : { error: `unknown field ${f.name}` };
      },
    });
    assert.deepEqual(c.unsupported, []);
    assert.equal(c.evaluate(alert), true);
    assert.equal(c.evaluate({ ...alert, priority: 'debug' }), false);
    assert.deepEqual(compileCondition<A>('hostname = x', { resolve: () => ({ error: 'unknown field hostname' }) }).unsupported, [{ field: 'hostname', error: 'unknown field hostname' }]);
  });

  test('a compiled condition is reusable and does not re-parse', () => {
    const c = compileCondition<Ctx>('f.s in (a, b) and f.n > 3', { resolve });
    for (let i = 0; i < 1000; i++) assert.equal(c.evaluate({ 's': 1, 'f.s': i % 2 ? 'a' : 'z', 'f.n': i }), i % 2 === 1 && i > 3);
  });
});

describe('eventTypesOf', () => {
  const t = (cond: string, macros: Record<string, string> = {}, lists: Record<string, unknown[]> = {}) => {
    const r = eventTypesOf(parseCondition(cond), { macros, lists });
    return r === 'any' ? 'any' : [...r].sort();
  };
  test('equality, in, and, or', () => {
    assert.deepEqual(t('evt.type = execve'), ['execve']);
    assert.deepEqual(t('evt.type in (open, openat) and proc.name = x'), ['open', 'openat']);
    assert.deepEqual(t('evt.type = open or evt.type = connect'), ['connect', 'open']);
    assert.deepEqual(t('(evt.type = open or evt.type = connect) and evt.type in (open, execve)'), ['open']);
    assert.deepEqual(t('evt.type = open and evt.type = connect'), []);
    assert.equal(t('proc.name = bash'), 'any');
    assert.equal(t('evt.type = open or proc.name = bash'), 'any');
  });
  test('negation is pushed down; other checks stay "any"', () => {
    assert.equal(t('evt.type != open'), 'any');
    assert.deepEqual(t('evt.type in (open, openat) and not evt.type = open'), ['openat']);
    assert.deepEqual(t('evt.type in (open, openat) and evt.type != open'), ['openat']);
    assert.deepEqual(t('evt.type = open and not proc.name = bash'), ['open']);
    assert.deepEqual(t('not (evt.type != open or proc.name = x)'), ['open']);
    assert.equal(t('not (evt.type = open and proc.name = x)'), 'any');
  });
  test('macros and lists are followed', () => {
    assert.deepEqual(t('spawned and x', { spawned: 'evt.type in (execve, execveat)' }), ['execve', 'execveat']);
    assert.deepEqual(t('evt.type in (opens)', {}, { opens: ['open', 'openat'] }), ['open', 'openat']);
    assert.deepEqual(t('evt.type in opens', {}, { opens: ['open'] }), ['open']);
    assert.equal(t('undefined_macro'), 'any');
  });
  test('a transformer on evt.type is not an event-type check', () => {
    assert.equal(t('tolower(evt.type) = open'), 'any');
  });
});

describe('names that are also Object.prototype members', () => {
  test('a macro or list named constructor/toString is just undefined', () => {
    assert.throws(() => compileCondition('constructor', { resolve, macros: {} }), /undefined macro 'constructor'/);
    assert.throws(() => compileCondition('f.s in toString', { resolve, lists: {} }), /undefined list 'toString'/);
    assert.equal(ev('f.s in (constructor)', { 'f.s': 'constructor' }, { lists: {} }), true);
    assert.equal(eventTypesOf(parseCondition('hasOwnProperty'), { macros: {} }), 'any');
  });
});
