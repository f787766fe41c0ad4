// SPDX-License-Identifier: Apache-2.0
// Accept/reject tables for the condition grammar. Every input is retried with
// its whitespace changed; the result must not change.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Ast, ConditionError, MAX_DEPTH, parseCondition, parseFieldRef, stringifyAst } from '../../../detector/condition/index.ts';

/** Splits a condition into quoted strings (kept) and the rest (whitespace may change). */
function mapOutsideQuotes(text: string, f: (s: string) => string): string {
  return text.replace(/("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')|([^"']+)/g, (_m, q: string | undefined, rest: string | undefined) => (q !== undefined ? q : f(rest ?? '')));
}

/** Variants of the same condition with different blanks. */
function variants(text: string): string[] {
  return [
    mapOutsideQuotes(text, (s) => s.replace(/[ \t]+/g, '   ')),
    mapOutsideQuotes(text, (s) => s.replace(/[ \t]+/g, '\n    ')),
    `\n\t ${mapOutsideQuotes(text, (s) => s.replace(/[ \t]+/g, ' \t\r\n '))} \n`,
    // blanks after '(' and ',' and before ')' (never inside quotes, never inside [args])
    mapOutsideQuotes(text, (s) => s.replace(/\(/g, '( ').replace(/,/g, ' ,  ').replace(/\)/g, ' )')),
  ];
}

/** The next token at an offset, blanks skipped: what an error points at. */
function tokenAt(text: string, offset: number): string {
  return text.slice(offset).trimStart().split(/[\s()]/)[0] ?? '';
}

const ACCEPT: [string, string][] = [
  ['proc.name = bash', 'proc.name = bash'],
  ['proc.name=bash', 'proc.name = bash'],
  ['proc.name == bash', 'proc.name == bash'],
  ['proc.name != bash', 'proc.name != bash'],
  ['proc.pid < 10', 'proc.pid < 10'],
  ['proc.pid<=10', 'proc.pid <= 10'],
  ['proc.pid > -1', 'proc.pid > -1'],
  ['proc.pid >= 0x10', 'proc.pid >= 0x10'],
  ['proc.pid >= 1.5e3', 'proc.pid >= 1.5e3'],
  ['fd.name glob /etc/*', 'fd.name glob /etc/*'],
  ['fd.name iglob "/ETC/*"', 'fd.name iglob "/ETC/*"'],
  ['proc.cmdline contains "-c echo"', 'proc.cmdline contains "-c echo"'],
  ['proc.cmdline icontains X', 'proc.cmdline icontains X'],
  ['evt.arg.data bcontains 7f454c46', 'evt.arg.data bcontains 7f454c46'],
  ['evt.arg.data bstartswith 7f45', 'evt.arg.data bstartswith 7f45'],
  ['fd.name startswith /etc/', 'fd.name startswith /etc/'],
  ['fd.name endswith .conf', 'fd.name endswith .conf'],
  ["proc.name regex '[a-z]+sh'", 'proc.name regex "[a-z]+sh"'],
  ['proc.name exists', 'proc.name exists'],
  ['proc.name in (bash, sh, "my shell")', 'proc.name in (bash, sh, "my shell")'],
  ['proc.name in ()', 'proc.name in ()'],
  ['proc.name in(bash)', 'proc.name in (bash)'],
  ['proc.name in shell_binaries', 'proc.name in shell_binaries'],
  ['k8s.pod.labels intersects (app:api, "tier:web")', 'k8s.pod.labels intersects (app:api, "tier:web")'],
  ['fd.name pmatch (/etc, /usr/bin)', 'fd.name pmatch (/etc, /usr/bin)'],
  ['evt.dir = <', 'evt.dir = <'],
  ['evt.dir=>', 'evt.dir = >'],
  ['fd.typechar = 4', 'fd.typechar = 4'],
  ["fd.typechar='f'", 'fd.typechar = "f"'],
  ['proc.aname[2] = bash', 'proc.aname[2] = bash'],
  ['k8s.pod.label[app.kubernetes.io/name] = api', 'k8s.pod.label[app.kubernetes.io/name] = api'],
  ['k8s.pod.label["my label"] = api', 'k8s.pod.label[my label] = api'],
  ['evt.arg.flags contains O_CREAT', 'evt.arg.flags contains O_CREAT'],
  ['evt.arg[0] = 3', 'evt.arg[0] = 3'],
  ['tolower(proc.name) = bash', 'tolower(proc.name) = bash'],
  ['toupper(tolower(proc.name)) = BASH', 'toupper(tolower(proc.name)) = BASH'],
  ['basename(proc.exepath) = bash', 'basename(proc.exepath) = bash'],
  ['len(proc.args) > 3', 'len(proc.args) > 3'],
  ['b64(evt.arg.data) contains secret', 'b64(evt.arg.data) contains secret'],
  ['proc.name = val(proc.pname)', 'proc.name = val(proc.pname)'],
  ['proc.pid > val(proc.ppid)', 'proc.pid > val(proc.ppid)'],
  ['proc.name in val(proc.aname)', 'proc.name in val(proc.aname)'],
  ['proc.name = tolower(proc.pname)', 'proc.name = tolower(proc.pname)'],
  ['spawned_process', 'spawned_process'],
  ['a and b', '(a and b)'],
  ['a or b and c', '(a or (b and c))'],
  ['(a or b) and c', '((a or b) and c)'],
  ['a and b and c or d', '((a and b and c) or d)'],
  ['not a', 'not a'],
  ['not not a', 'not not a'],
  ['not(a)', 'not a'],
  ['not (a or b)', 'not (a or b)'],
  ['a and(b)', '(a and b)'],
  ['a or(b)', '(a or b)'],
  ['a and not b', '(a and not b)'],
  ['((a))', 'a'],
  ['notice_macro and android', '(notice_macro and android)'],
  ['proc.name = "a \\"quoted\\" word"', 'proc.name = "a \\"quoted\\" word"'],
  ["proc.name = 'it\\'s'", 'proc.name = "it\'s"'],
  ['proc.name = "tab\\there"', 'proc.name = "tab\\there"'],
  ['proc.name = "a\\\\b"', 'proc.name = "a\\\\b"'],
  ['evt.type in (open,openat,openat2) and evt.is_open_write=true and fd.typechar=\'f\' and fd.num>=0', '(evt.type in (open, openat, openat2) and evt.is_open_write = true and fd.typechar = "f" and fd.num >= 0)'],
  ['proc.name!="<NA>"', 'proc.name != "<NA>"'],
  ['proc.name in (omiagent,in_heartbeat_r*,omsadmin.sh)', 'proc.name in (omiagent, in_heartbeat_r*, omsadmin.sh)'],
  // one-word fields (playbook triggers): only before an operator or '[', or inside a transformer
  ['rule = "Terminal shell in container"', 'rule = "Terminal shell in container"'],
  ['priority in (critical, warning) and source=syscall', '(priority in (critical, warning) and source = syscall)'],
  ['tags intersects (T1059) or hostname exists', '(tags intersects (T1059) or hostname exists)'],
  ['output_fields[proc.name] = bash', 'output_fields[proc.name] = bash'],
  ['tolower(rule) = x and rule != val(source)', '(tolower(rule) = x and rule != val(source))'],
  ['rule and rule_b', '(rule and rule_b)'],
  ['rule_is_x or not rule', '(rule_is_x or not rule)'],
];

/** [input, line, col, message fragment] */
const REJECT: [string, number, number, string][] = [
  ['', 1, 1, 'condition is empty'],
  ['   ', 1, 4, 'condition is empty'],
  ['proc.name', 1, 10, 'expected an operator'],
  ['proc.name =', 1, 12, "'=' expects a value"],
  ['proc.name = (bash)', 1, 13, "'=' expects a value"],
  ['proc.name bash', 1, 11, "unexpected 'bash': expected an operator"],
  ['proc.name containsx', 1, 11, 'expected an operator'],
  ['proc.name contains', 1, 19, "unexpected end of condition: 'contains' expects a value"],
  ['proc.pid < abc', 1, 12, "'<' expects a number"],
  ['proc.pid < 12ab', 1, 12, "'<' expects a number"],
  ['proc.name in bash sh', 1, 19, "unexpected 'sh'"],
  ['proc.name in (bash sh)', 1, 20, "expected ',' or ')'"],
  ['proc.name in (bash,', 1, 20, 'expected a list item'],
  ['proc.name in (bash', 1, 19, "expected ',' or ')'"],
  ['proc.name in', 1, 13, "'in' expects a list"],
  ['(proc.name = a', 1, 15, "expected ')'"],
  ['proc.name = a)', 1, 14, "unexpected ')'"],
  ['a and', 1, 6, 'unexpected end of condition'],
  ['a or', 1, 5, 'unexpected end of condition'],
  ['a andb', 1, 3, "unexpected 'andb'"],
  ['a b', 1, 3, "unexpected 'b'"],
  ['and a', 1, 1, "unexpected 'and'"],
  ['not', 1, 4, 'unexpected end of condition'],
  ['proc.name = "abc', 1, 13, 'unterminated quoted string'],
  ['proc.name = "a\\qb"', 1, 15, 'unsupported escape sequence \\q'],
  ["proc.name = 'a\\\"b'", 1, 15, "invalid \\\" escape in a '-quoted string"],
  ['proc.aname[2 = a', 1, 13, "expected ']'"],
  ['proc.aname[] = a', 1, 12, 'expected a field argument'],
  ['tolower(proc.name = a', 1, 19, "expected ')' closing 'tolower('"],
  ['tolower("bash") = a', 1, 9, "expected a field or a transformer inside 'tolower('"],
  ['proc.name = val(1)', 1, 17, "expected a field inside 'val('"],
  ['val(proc.name) = a', 1, 4, "unexpected '('"],
  ['rule = ', 1, 8, "'=' expects a value"],
  ['and = x', 1, 1, "unexpected 'and'"],
  ['tolower(and) = x', 1, 9, "expected a field or a transformer inside 'tolower('"],
  ['proc.name = a\n  and\n  proc.pid <', 3, 13, "'<' expects a number"],
  ['proc.name = a\n  and (\n    proc.pid = 1\n    or', 4, 7, 'unexpected end of condition'],
  ['=', 1, 1, "unexpected '='"],
];

describe('condition parser: accepted inputs', () => {
  for (const [input, expected] of ACCEPT) {
    test(JSON.stringify(input), () => {
      assert.equal(stringifyAst(parseCondition(input)), expected);
      for (const v of variants(input)) assert.equal(stringifyAst(parseCondition(v)), expected, `variant ${JSON.stringify(v)}`);
    });
  }
});

describe('condition parser: rejected inputs', () => {
  for (const [input, line, col, fragment] of REJECT) {
    test(JSON.stringify(input), () => {
      let err: unknown;
      try {
        parseCondition(input);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof ConditionError, 'expected a ConditionError');
      assert.ok(err.reason.includes(fragment), `message ${JSON.stringify(err.reason)} lacks ${JSON.stringify(fragment)}`);
      assert.deepEqual({ line: err.line, col: err.col }, { line, col });
      assert.match(err.message, new RegExp(`at ${line}:${col}: `));
      for (const v of variants(input)) {
        let verr: unknown;
        try {
          parseCondition(v);
        } catch (e) {
          verr = e;
        }
        assert.ok(verr instanceof ConditionError, `variant ${JSON.stringify(v)} was accepted`);
        assert.equal(verr.reason.replace(/'[^']*'/g, "'_'"), err.reason.replace(/'[^']*'/g, "'_'"), `variant ${JSON.stringify(v)}`);
        assert.equal(tokenAt(v, verr.offset), tokenAt(input, err.offset), `variant ${JSON.stringify(v)} points elsewhere`);
      }
    });
  }
});

describe('condition parser: positions and limits', () => {
  test('every node carries its line and column', () => {
    const text = 'evt.type = execve\n  and not proc.name in (a, b)\n  and m1';
    const ast = parseCondition(text);
    assert.equal(ast.kind, 'and');
    if (ast.kind !== 'and') return;
    const [c1, c2, c3] = ast.children as [Ast, Ast, Ast];
    assert.deepEqual(c1.pos, { offset: 0, line: 1, col: 1 });
    assert.deepEqual(c2.pos, { offset: 24, line: 2, col: 7 });
    assert.equal(c2.kind, 'not');
    if (c2.kind === 'not' && c2.child.kind === 'check') {
      assert.deepEqual(c2.child.pos, { offset: 28, line: 2, col: 11 });
      const r = c2.child.right;
      assert.equal(r?.kind, 'list');
      if (r?.kind === 'list') assert.deepEqual(r.items.map((i) => [i.value, i.pos.line, i.pos.col, i.pos.offset]), [['a', 2, 25, text.indexOf('a,')], ['b', 2, 28, text.indexOf('b)')]]);
    }
    assert.deepEqual(c3.pos, { offset: text.indexOf('m1'), line: 3, col: 7 });
  });

  test('CRLF line endings count as one line break', () => {
    try {
      parseCondition('proc.name = a and\r\n proc.pid = 1 and\r\n fd.num =');
      assert.fail('accepted');
    } catch (e) {
      assert.ok(e instanceof ConditionError);
      assert.deepEqual([e.line, e.col], [3, 10]);
    }
  });

  test(`nesting deeper than ${MAX_DEPTH} levels is refused, not a stack overflow`, () => {
    const ok = `${'('.repeat(MAX_DEPTH - 1)}a${')'.repeat(MAX_DEPTH - 1)}`;
    assert.equal(stringifyAst(parseCondition(ok)), 'a');
    const deep = `${'('.repeat(MAX_DEPTH + 1)}a${')'.repeat(MAX_DEPTH + 1)}`;
    assert.throws(() => parseCondition(deep), (e: unknown) => e instanceof ConditionError && /nesting deeper than/.test(e.reason));
    assert.throws(() => parseCondition(`${'not '.repeat(5000)}a`), ConditionError);
    assert.throws(() => parseCondition(`${'tolower('.repeat(500)}proc.name${')'.repeat(500)} = a`), ConditionError);
  });

  test('a long flat condition is fine (no recursion per and/or)', () => {
    const text = Array.from({ length: 5000 }, (_, i) => `proc.pid = ${i}`).join(' or ');
    const ast = parseCondition(text);
    assert.equal(ast.kind, 'or');
    if (ast.kind === 'or') assert.equal(ast.children.length, 5000);
  });

  test('parseFieldRef reads lone field references', () => {
    assert.deepEqual(parseFieldRef('proc.aname[2]'), { kind: 'field', name: 'proc.aname', arg: '2', pos: { offset: 0, line: 1, col: 1 } });
    assert.equal(parseFieldRef('evt.arg.flags').name, 'evt.arg.flags');
    assert.equal(parseFieldRef('rule').name, 'rule');
    assert.throws(() => parseFieldRef('1x'), ConditionError);
    assert.throws(() => parseFieldRef('and'), ConditionError);
    assert.throws(() => parseFieldRef('proc.name x'), ConditionError);
  });
});
