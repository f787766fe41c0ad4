// SPDX-License-Identifier: Apache-2.0
/**
 * Approval pages and API:
 *   GET|HEAD /approvals/:id            confirmation page; never decides anything
 *   POST     /approvals/:id/decision   the page's form (or JSON) with its single-use token
 *   GET      /api/approvals[?status=all], /api/approvals/:id
 *   POST     /v1/slack/interactions    Slack Approve/Deny buttons (signed requests only)
 *
 * Chat unfurlers and mail scanners fetch links before people do, so GET and
 * HEAD only read. Who decides comes from a trusted proxy's identity header or
 * a personal link; the form token binds the vote to the page one person
 * loaded. Malformed requests get a 4xx with a stable code and change nothing.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ApprovalView, APPROVAL_ID_RE, type Decision, type IdentitySource } from '../../approvals/model.ts';
import { approvalPage, errorPage, type PageViewer, resultPage } from '../../approvals/page.ts';
import { ApprovalRefusal, type ApprovalService } from '../../approvals/service.ts';
import { parseSlackAction, verifySlackRequest } from '../../approvals/slack.ts';
import { tokenProblem, type TokenStore } from '../../approvals/tokens.ts';
import type { IdentityResolver } from '../../approvals/identity.ts';
import type { Logger } from '../../common/log.ts';
import { HTML_HEADERS } from '../../ui/layout.ts';
import { errorBody, HttpError } from '../errors.ts';

export interface ApprovalHttpDeps {
  service: ApprovalService;
  tokens: TokenStore;
  identity: IdentityResolver;
  /** Lifetime of a page's form token. */
  formTtlMs: number;
  slackSigningSecret?: string;
  now: () => Date;
  log: Logger;
  /** The UI's built-in login (single machine): the signed-in person, if the request carries a session. */
  sessionIdentity?: (req: FastifyRequest) => Promise<string | undefined>;
}

/** A url-encoded body, kept raw (Slack signs the exact bytes). */
class FormBody {
  readonly raw: string;
  readonly params: URLSearchParams;
  constructor(raw: string) {
    this.raw = raw;
    this.params = new URLSearchParams(raw);
  }
}

const PAGE_HEADERS = { ...HTML_HEADERS, 'x-robots-tag': 'noindex, nofollow' };
const FIELDS = ['decision', 'comment', 'csrf', 't'] as const;

/** Browsers (form posts, page loads) get HTML; API clients that ask for JSON get JSON. */
function wantsHtml(req: FastifyRequest): boolean {
  if (req.url.startsWith('/api/') || req.url.startsWith('/v1/')) return false;
  const accept = String(req.headers.accept ?? '');
  if (accept.includes('text/html')) return true;
  if (accept.includes('application/json')) return false;
  return req.body instanceof FormBody || req.method === 'GET';
}

/** The decision form's fields from a url-encoded or JSON body; each a string or undefined. */
function readFields(body: unknown): Record<(typeof FIELDS)[number], string | undefined> {
  const out = {} as Record<(typeof FIELDS)[number], string | undefined>;
  if (body instanceof FormBody) {
    for (const f of FIELDS) {
      const all = body.params.getAll(f);
      if (all.length > 1) throw new HttpError(400, 'FIELD_REPEATED', `field "${f}" appears ${all.length} times; send it once`);
      out[f] = all[0];
    }
    return out;
  }
  if (body === undefined) throw new HttpError(400, 'BODY_MISSING', 'send the decision form: decision=approve|deny, csrf=<token from the page>, optional comment');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'BODY_INVALID', 'expected a form or a JSON object with decision, csrf and optional comment');
  const o = body as Record<string, unknown>;
  for (const f of FIELDS) {
    const v = o[f];
    if (v !== undefined && typeof v !== 'string') throw new HttpError(400, 'FIELD_INVALID', `field "${f}" must be a string`);
    out[f] = v as string | undefined;
  }
  return out;
}

function parseDecision(s: string | undefined): Decision {
  const v = s?.trim().toLowerCase();
  if (v === 'approve' || v === 'approved') return 'approved';
  if (v === 'deny' || v === 'denied') return 'denied';
  throw new HttpError(400, 'DECISION_INVALID', s === undefined ? 'missing field "decision": approve or deny' : `field "decision" must be approve or deny, got ${JSON.stringify(s.slice(0, 40))}`);
}

function summary(v: ApprovalView, url: string) {
  return {
    id: v.id,
    url,
    status: v.status,
    title: v.title,
    target: v.target,
    playbook: v.playbook,
    runId: v.runId,
    stepId: v.stepId,
    incidentId: v.incidentId,
    alert: { rule: v.alert.rule, priority: v.alert.priority },
    approvers: v.approvers,
    minApprovals: v.minApprovals,
    approvals: v.approvals,
    votes: v.votes,
    createdAt: v.createdAt,
    expiresAt: v.expiresAt,
    ...(v.decidedAt ? { decidedAt: v.decidedAt } : {}),
    ...(v.closedReason ? { closedReason: v.closedReason } : {}),
  };
}

type Who = { person: string; via: IdentitySource; link?: string };

export function approvalRoutes(d: ApprovalHttpDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, new FormBody(String(body))));

    app.setErrorHandler((err: unknown, req, reply) => {
      const e = err instanceof ApprovalRefusal ? new HttpError(err.status, err.code, err.message) : err;
      if (!(e instanceof HttpError)) throw err; // the server's own handler answers the rest
      if (wantsHtml(req)) return reply.code(e.status).headers(PAGE_HEADERS).send(errorPage(e.status, e.code, e.message));
      return reply.code(e.status).send(errorBody(e.code, e.message, e.problems));
    });

    const peer = (req: FastifyRequest) => req.socket.remoteAddress;

    /** Who is asking: a trusted proxy's header and/or a personal link; a refusal when they disagree or the link is bad. */
    const identify = async (req: FastifyRequest, id: string, link: string | undefined): Promise<{ who?: Who; problem?: HttpError }> => {
      const fromProxy = d.identity.fromProxy(peer(req), req.headers);
      // without a trusted proxy, the UI's built-in login (a session cookie) identifies the person
      const login = fromProxy ? undefined : await d.sessionIdentity?.(req);
      const proxy = fromProxy ?? (login ? { person: login } : undefined);
      const proxyVia: IdentitySource = fromProxy ? 'proxy-header' : 'login';
      if (link !== undefined) {
        const c = await d.tokens.check(link, 'link', id);
        if (!c.ok) return { problem: new HttpError(403, 'LINK_INVALID', `${tokenProblem(c.reason, 'link')}; ask for a new one or sign in through single sign-on`) };
        if (proxy && proxy.person !== c.entry.person) return { problem: new HttpError(403, 'LINK_OTHER_PERSON', `this personal link belongs to ${c.entry.person}, but you are signed in as ${proxy.person}`) };
        return { who: { person: c.entry.person, via: proxy ? proxyVia : 'personal-link', link } };
      }
      return proxy ? { who: { person: proxy.person, via: proxyVia } } : {};
    };

    const load = async (id: string): Promise<ApprovalView> => {
      if (!APPROVAL_ID_RE.test(id)) throw new HttpError(404, 'NOT_FOUND', `no approval ${id.slice(0, 64)}`);
      const v = await d.service.current(id);
      if (!v) throw new HttpError(404, 'NOT_FOUND', `no approval ${id}`);
      return v;
    };

    app.get<{ Params: { id: string }; Querystring: { t?: string | string[] } }>('/approvals/:id', { exposeHeadRoute: false }, async (req, reply) => {
      const view = await load(req.params.id);
      const link = Array.isArray(req.query.t) ? req.query.t[0] : req.query.t;
      const { who, problem } = await identify(req, view.id, link);
      const viewer: PageViewer = { person: who?.person, via: who?.via };
      let status = 200;
      if (problem) {
        status = problem.status;
        viewer.reason = `${problem.message}.`;
      } else if (who) {
        const refusal = d.service.refusal(view, who.person);
        if (!refusal || refusal.code === 'SELF_APPROVAL') {
          const { token } = await d.tokens.issue('form', view.id, who.person, d.formTtlMs);
          viewer.form = { csrf: token, ...(who.via === 'personal-link' ? { link: who.link } : {}), ...(refusal ? { denyOnly: true } : {}) };
          if (refusal) viewer.reason = `${refusal.message}; you can still deny it.`;
        } else viewer.reason = `${refusal.message}.`;
      } else {
        viewer.reason =
          view.status === 'pending'
            ? 'To decide, open the personal link you were sent, or sign in through your organisation’s single sign-on. This page alone never records a decision.'
            : 'This approval is closed.';
      }
      return reply.code(status).headers(PAGE_HEADERS).send(approvalPage(view, viewer, d.now()));
    });

    app.head<{ Params: { id: string } }>('/approvals/:id', async (req, reply) => {
      const ok = APPROVAL_ID_RE.test(req.params.id) && (await d.service.store.get(req.params.id)) !== undefined;
      return reply.code(ok ? 200 : 404).headers(PAGE_HEADERS).send();
    });

    app.post<{ Params: { id: string } }>('/approvals/:id/decision', async (req, reply) => {
      if (!APPROVAL_ID_RE.test(req.params.id)) throw new HttpError(404, 'NOT_FOUND', `no approval ${req.params.id.slice(0, 64)}`);
      const f = readFields(req.body);
      const decision = parseDecision(f.decision);
      if (f.comment !== undefined && f.comment.length > 2000) throw new HttpError(400, 'COMMENT_TOO_LONG', 'field "comment" is longer than 2000 characters');
      if (!f.csrf) throw new HttpError(400, 'CSRF_MISSING', 'missing field "csrf": post the form of the approval page');
      const view = await load(req.params.id);
      const remote = { remote: req.ip };
      const { who, problem } = await identify(req, view.id, f.t);
      if (problem) {
        await d.service.auditRefusal(view, { type: 'person', name: d.identity.fromProxy(peer(req), req.headers)?.person ?? 'unidentified', via: f.t ? 'personal-link' : 'proxy-header' }, problem.code, problem.message, remote);
        throw problem;
      }
      if (!who) throw new HttpError(401, 'IDENTITY_REQUIRED', 'who are you? open your personal link, or sign in through single sign-on, then use the page’s form');
      const actor = { type: 'person' as const, name: who.person, via: who.via };
      const csrf = await d.tokens.check(f.csrf, 'form', view.id);
      if (!csrf.ok) {
        const e = new HttpError(403, 'CSRF_INVALID', tokenProblem(csrf.reason, 'form'));
        await d.service.auditRefusal(view, actor, e.code, e.message, remote);
        throw e;
      }
      if (csrf.entry.person !== who.person) {
        const e = new HttpError(403, 'CSRF_OTHER_PERSON', `this form was loaded by ${csrf.entry.person}, not ${who.person}: reload the approval page`);
        await d.service.auditRefusal(view, actor, e.code, e.message, remote);
        throw e;
      }
      const refusal = d.service.refusal(view, who.person, decision);
      if (refusal) {
        await d.service.auditRefusal(view, actor, refusal.code, refusal.message, remote);
        throw refusal;
      }
      if (!(await d.tokens.consume(csrf))) throw new HttpError(403, 'CSRF_INVALID', tokenProblem('unknown', 'form'));
      const r = await d.service.vote({ id: view.id, person: who.person, via: who.via, decision, comment: f.comment, details: remote });
      if (wantsHtml(req)) {
        return reply.code(200).headers(PAGE_HEADERS).send(resultPage(r.approval, who.person, decision, r.decided, `/approvals/${view.id}${who.via === 'personal-link' && who.link ? `?t=${encodeURIComponent(who.link)}` : ''}`));
      }
      return reply.code(200).send({ decided: r.decided, approval: summary(r.approval, d.service.url(view.id)) });
    });

    app.get<{ Querystring: { status?: string } }>('/api/approvals', async (req) => {
      const all = req.query.status === 'all';
      if (req.query.status !== undefined && !all && req.query.status !== 'pending') throw new HttpError(400, 'STATUS_INVALID', 'status must be pending (default) or all');
      const list = await d.service.list({ all });
      return { approvals: list.map((v) => summary(v, d.service.url(v.id))) };
    });

    app.get<{ Params: { id: string } }>('/api/approvals/:id', async (req) => {
      const v = await load(req.params.id);
      return { approval: { ...summary(v, d.service.url(v.id)), next: v.next, message: v.message ?? null, onTimeout: v.onTimeout } };
    });

    app.post('/v1/slack/interactions', async (req, reply: FastifyReply) => {
      if (!d.slackSigningSecret) throw new HttpError(404, 'SLACK_DISABLED', 'Slack interactions are off: set RIPOSTE_SLACK_SIGNING_SECRET or approvals.slackSigningSecretFile');
      if (!(req.body instanceof FormBody)) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Slack interactions are application/x-www-form-urlencoded');
      const check = verifySlackRequest(d.slackSigningSecret, req.headers, req.body.raw, Math.floor(d.now().getTime() / 1000));
      if (!check.ok) throw new HttpError(401, 'SLACK_SIGNATURE_INVALID', check.reason);
      const action = parseSlackAction(req.body.raw);
      if (!action) return reply.code(200).send(); // link buttons and other interactions: acknowledge only
      let text: string;
      const person = d.service.personForSlackUser(action.slackUserId);
      const details = { slackUserId: action.slackUserId, ...(action.slackUserName ? { slackUserName: action.slackUserName } : {}) };
      if (!APPROVAL_ID_RE.test(action.approvalId)) text = 'This button does not belong to a Riposte approval.';
      else if (!person) {
        const v = await d.service.store.get(action.approvalId);
        if (v) await d.service.auditRefusal(v, { type: 'person', name: `slack:${action.slackUserId}`, via: 'slack-interactive' }, 'UNKNOWN_SLACK_USER', 'no approvals.people entry has this slackUserId', details);
        text = 'Your Slack account is not linked to a Riposte approver (approvals.people.<you>.slackUserId). Use the link instead.';
      } else {
        try {
          const r = await d.service.vote({ id: action.approvalId, person, via: 'slack-interactive', decision: action.decision, details });
          text = r.decided ? `${r.approval.title}: ${r.approval.status}.` : `Vote recorded: ${r.approval.approvals} of ${r.approval.minApprovals} approvals.`;
        } catch (err) {
          if (!(err instanceof ApprovalRefusal)) throw err;
          text = `Not recorded: ${err.message}.`;
        }
      }
      if (action.responseUrl) {
        void fetch(action.responseUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }), signal: AbortSignal.timeout(5000) }).catch((e: Error) => d.log.warn('slack response_url failed', { error: e.message }));
      }
      return reply.code(200).send({ text });
    });
  };
}
