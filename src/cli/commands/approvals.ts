// SPDX-License-Identifier: Apache-2.0
/**
 * `riposte approvals list|show|approve|deny` — for operators at a terminal.
 * A vote from here is audited with the OS user (`via: cli-os-user`), mapped to
 * an approver identity by `approvals.people.<identity>.osUser` when set; the
 * approver list, quorum, deny-wins and self-approval rules are the same as on
 * the page. The decision reaches the run through the `runs` queue.
 */
import { userInfo } from 'node:os';
import { Queue } from 'bullmq';
import { defaultRegistry } from '../../actions/index.ts';
import type { ApprovalView } from '../../approvals/model.ts';
import { APPROVAL_ID_RE } from '../../approvals/model.ts';
import { ApprovalRefusal, ApprovalService, describeApprovers } from '../../approvals/service.ts';
import { ApprovalStore } from '../../approvals/store.ts';
import { TokenStore } from '../../approvals/tokens.ts';
import { AuditLog } from '../../audit/log.ts';
import { silentLogger } from '../../common/log.ts';
import { RunStore } from '../../engine/run-store.ts';
import { NotificationQueue } from '../../notify/queue.ts';
import { QUEUE_NAMES } from '../../queue/queues.ts';
import { connectionOptions, createRedis } from '../../redis/connect.ts';
import { makeKeys } from '../../redis/keys.ts';
import { clientRedisUrl, configFromFlags, parse } from '../options.ts';

const USAGE = `usage: riposte approvals list [--all] [--json]
       riposte approvals show ID [--json]
       riposte approvals approve ID [--comment TEXT]
       riposte approvals deny ID [--comment TEXT]
       riposte approvals link ID      (a personal link for you, to decide in the browser)
ID may be a unique prefix of at least 6 characters.
`;

function line(v: ApprovalView): string {
  return [v.id.slice(0, 8), v.status.padEnd(8), `${v.approvals}/${v.minApprovals}`.padEnd(5), v.expiresAt, `${v.title} — ${v.target} (${v.playbook})`].join('  ');
}

function detail(v: ApprovalView, url: string): string {
  const out = [
    `approval ${v.id}: ${v.status}${v.closedReason ? ` (${v.closedReason})` : ''}`,
    `  ${v.title}`,
    ...(v.message ? [`  message: ${v.message}`] : []),
    `  target: ${v.target}`,
    `  alert: ${v.alert.rule} (${v.alert.priority}) on ${v.alert.hostname || '?'}`,
    `  playbook: ${v.playbook}  run: ${v.runId}  step: ${v.stepId}`,
    '  if approved:',
    ...(v.next.length ? v.next.map((n, i) => `    ${i + 1}. ${n.condition ? `if ${n.condition}: ` : ''}${n.description}${n.destructive ? ' [destructive]' : ''}`) : ['    the run finishes']),
    `  approvers: ${describeApprovers(v)}; ${v.approvals} of ${v.minApprovals} approvals; expires ${v.expiresAt} (then ${v.onTimeout})`,
    ...v.votes.map((x) => `  vote: ${x.person} ${x.decision} via ${x.via} at ${x.at}${x.comment ? ` — ${x.comment}` : ''}`),
    `  page: ${url}`,
  ];
  return `${out.join('\n')}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { all: { type: 'boolean' }, comment: { type: 'string' } });
  const [sub, idArg] = positionals;
  if (values.help || !sub || !['list', 'show', 'approve', 'deny', 'link'].includes(sub) || (sub !== 'list' && !idArg)) {
    process.stderr.write(USAGE);
    return values.help ? 0 : 2;
  }
  const loaded = await configFromFlags(values);
  const { config } = loaded;
  const url = await clientRedisUrl(loaded);
  const redis = createRedis(url);
  const keys = makeKeys(config.redis.prefix);
  const runsQueue = new Queue(QUEUE_NAMES.runs, { connection: connectionOptions(url), prefix: keys.bullPrefix });
  const notifications = new NotificationQueue(url, keys.bullPrefix);
  const store = new ApprovalStore(redis, keys);
  const service = new ApprovalService({
    store,
    tokens: new TokenStore(redis, keys),
    runs: new RunStore(redis, keys),
    audit: new AuditLog(redis, keys),
    registry: defaultRegistry(),
    config: config.approvals,
    runsQueue,
    log: silentLogger,
    now: () => new Date(),
    publicUrl: () => config.server.publicUrl ?? `http://${config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host}:${config.server.port}`,
    notifications,
  });
  try {
    if (sub === 'list') {
      const list = await service.list({ all: values.all });
      if (values.json) process.stdout.write(`${JSON.stringify(list.map((v) => ({ ...v, url: service.url(v.id) })))}\n`);
      else if (!list.length) process.stdout.write(values.all ? 'no approvals\n' : 'no pending approvals\n');
      else process.stdout.write(`${list.map(line).join('\n')}\n`);
      return 0;
    }
    let id = idArg!;
    if (!APPROVAL_ID_RE.test(id)) {
      const matches = id.length >= 6 ? await store.findByPrefix(id) : [];
      if (matches.length !== 1) {
        process.stderr.write(`riposte: ${matches.length ? `"${id}" matches ${matches.length} approvals; give more of the id` : `no approval ${id}`}\n`);
        return 1;
      }
      id = matches[0]!;
    }
    if (sub === 'show') {
      const v = await service.current(id);
      if (!v) {
        process.stderr.write(`riposte: no approval ${id}\n`);
        return 1;
      }
      process.stdout.write(values.json ? `${JSON.stringify(v)}\n` : detail(v, service.url(id)));
      return 0;
    }
    const osUser = userInfo().username;
    const person = service.personForOsUser(osUser);
    if (sub === 'link') {
      try {
        process.stdout.write(`${await service.personalLink(id, person)}\n`);
        return 0;
      } catch (err) {
        if (!(err instanceof ApprovalRefusal)) throw err;
        process.stderr.write(`riposte: ${err.code}: ${err.message}\n`);
        return 1;
      }
    }
    try {
      const r = await service.vote({ id, person, via: 'cli-os-user', decision: sub === 'approve' ? 'approved' : 'denied', comment: values.comment, details: { osUser } });
      const a = r.approval;
      if (values.json) process.stdout.write(`${JSON.stringify({ decided: r.decided, status: a.status, approvals: a.approvals, minApprovals: a.minApprovals })}\n`);
      else if (r.decided) process.stdout.write(`${a.status} by ${person}${person !== osUser ? ` (OS user ${osUser})` : ''}: ${a.title}; the run has been told\n`);
      else process.stdout.write(`vote recorded for ${person}: ${a.approvals} of ${a.minApprovals} approvals; waiting for ${a.minApprovals - a.approvals} more\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof ApprovalRefusal)) throw err;
      process.stderr.write(`riposte: ${err.code}: ${err.message}\n`);
      return 1;
    }
  } finally {
    await runsQueue.close();
    await notifications.close();
    redis.disconnect();
  }
}
