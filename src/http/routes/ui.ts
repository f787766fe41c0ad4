// SPDX-License-Identifier: Apache-2.0
/**
 * The web UI, served by the engine:
 *   GET /                         incidents
 *   GET /ui/incidents/:id         one incident: alert, runs, diagram, steps, approvals, artifacts, timeline
 *   GET /ui/audit                 audit table, filters, chain status, export link
 *   GET /ui/playbooks[/:name]     loaded playbooks, validation problems, diagrams
 *   GET /ui/approvals             pending approvals and recent decisions
 *   GET /ui/assets/:file          app.css, app.js (no CDN; the CSP allows only 'self')
 *   GET /api/events               Server-Sent Events: the audit head moved (pages refresh their live regions)
 *   GET|POST /ui/login, POST /ui/logout   the optional built-in login
 * Every GET only reads. Reads of the UI and of the JSON API under /api/
 * (incidents, runs, audit, playbooks, events) need an identity: a trusted
 * proxy header, a login session, or the configured anonymous role.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApprovalStore } from '../../approvals/store.ts';
import { keyIdOf, keyRing, publicKeyFromPem } from '../../audit/checkpoints.ts';
import { type VerifyResult, verifyStored } from '../../audit/verify.ts';
import { ANONYMOUS_VIEWER, type Identity, requestIdentity, UiAuth } from '../../ui/auth.ts';
import { HTML_HEADERS, layout } from '../../ui/layout.ts';
import { LiveHub } from '../../ui/live.ts';
import { approvalsPage } from '../../ui/pages/approvals.ts';
import { auditPage } from '../../ui/pages/audit.ts';
import type { Page, PageContext } from '../../ui/pages/context.ts';
import { incidentPage } from '../../ui/pages/incident.ts';
import { incidentsPage } from '../../ui/pages/incidents.ts';
import { errorPage, loginPage, notFoundPage, safeNext } from '../../ui/pages/login.ts';
import { playbookPage, playbooksPage } from '../../ui/pages/playbooks.ts';
import { errorBody } from '../errors.ts';
import type { HttpDeps } from '../server.ts';

const ASSETS: Record<string, string> = { 'app.css': 'text/css; charset=utf-8', 'app.js': 'text/javascript; charset=utf-8' };
const VERIFY_CACHE_MS = 10_000;

/** Paths that need an identity (assets and the login page itself do not). */
export function needsIdentity(url: string): boolean {
  const p = url.split('?')[0] ?? '';
  if (p === '/') return true;
  if (p.startsWith('/ui/')) return !p.startsWith('/ui/assets/') && p !== '/ui/login' && p !== '/ui/logout';
  return /^\/api\/(incidents|runs|audit|playbooks|events)(\/|$)/.test(p);
}

class FormFields {
  readonly params: URLSearchParams;
  constructor(raw: string) {
    this.params = new URLSearchParams(raw);
  }
  get(name: string): string {
    return this.params.get(name) ?? '';
  }
}

export function uiRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const rt = deps.runtime;
  const auth = new UiAuth(rt.redis, rt.keys, deps.uiAuth ?? ANONYMOUS_VIEWER);
  const approvals = new ApprovalStore(rt.redis, rt.keys);
  const ring = deps.auditPublicKeyPem ? keyRing([deps.auditPublicKeyPem]) : undefined;
  const keyId = deps.auditPublicKeyPem ? keyIdOf(publicKeyFromPem(deps.auditPublicKeyPem)) : undefined;
  const assets = new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(new URL(`../../ui/assets/${name}`, import.meta.url))]));
  const hub = new LiveHub({ head: () => rt.audit.head() });
  app.addHook('preClose', async () => hub.close());

  let cached: { key: string; at: Date; result: VerifyResult } | undefined;
  const verify = async (fresh: boolean) => {
    const head = await rt.audit.head();
    const key = `${head.seq}:${head.hash}`;
    if (!fresh && cached && cached.key === key && Date.now() - cached.at.getTime() < VERIFY_CACHE_MS) return cached;
    cached = { key, at: new Date(), result: await verifyStored(rt.audit, rt.checkpoints, ring) };
    return cached;
  };

  app.addHook('onRequest', async (req, reply) => {
    if (!needsIdentity(req.url)) return;
    if (await auth.identify(req)) return;
    if (req.url.startsWith('/api/')) return reply.code(401).send(errorBody('UNAUTHORIZED', 'sign in first: through the single-sign-on proxy, or at /ui/login'));
    return reply.code(303).header('location', `/ui/login?next=${encodeURIComponent(req.url)}`).send();
  });

  const ctx = (req: FastifyRequest): PageContext => ({
    rt,
    identity: requestIdentity(req) ?? { name: 'anonymous', via: 'anonymous', role: 'viewer', groups: [] },
    playbooks: deps.playbooks?.() ?? [],
    playbookProblems: deps.playbookProblems?.() ?? [],
    approvals,
    verify,
    ...(keyId ? { keyId } : {}),
  });
  const send = (reply: FastifyReply, page: Page, who?: Identity) =>
    reply
      .code(page.status ?? 200)
      .headers(HTML_HEADERS)
      .send(layout({ title: page.title, body: page.body, ...(page.nav ? { nav: page.nav } : {}), ...(who && who.via !== 'anonymous' ? { user: who.name, role: who.role, logout: who.via === 'login' } : who ? { role: who.role } : {}) }));
  /** Renders a page; a failure becomes an HTML error page (the JSON error handler is for the API). */
  const page = (render: (req: FastifyRequest, c: PageContext) => Promise<Page | undefined> | Page | undefined, missing: (req: FastifyRequest) => string) => async (req: FastifyRequest, reply: FastifyReply) => {
    const c = ctx(req);
    try {
      const p = await render(req, c);
      return send(reply, p ?? notFoundPage(missing(req)), c.identity);
    } catch (err) {
      deps.log.error('ui page failed', { url: req.url, error: (err as Error).message });
      return send(reply, errorPage('The page could not be rendered; see the server log.', 500), c.identity);
    }
  };
  type P = { Params: { id: string; name: string }; Querystring: Record<string, string | undefined> };

  app.get('/ui/assets/:file', async (req: FastifyRequest<{ Params: { file: string } }>, reply) => {
    const body = assets.get(req.params.file);
    if (!body) return reply.code(404).send(errorBody('NOT_FOUND', `no asset ${req.params.file}`));
    return reply.headers({ 'content-type': ASSETS[req.params.file]!, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }).send(body);
  });
  app.get('/', page((_req, c) => incidentsPage(c), () => ''));
  app.get<P>('/ui/incidents/:id', page((req, c) => incidentPage(c, (req.params as P['Params']).id), (req) => `No incident ${(req.params as P['Params']).id}.`));
  app.get<P>('/ui/audit', page((req, c) => auditPage(c, req.query as P['Querystring']), () => ''));
  app.get('/ui/playbooks', page((_req, c) => playbooksPage(c), () => ''));
  app.get<P>('/ui/playbooks/:name', page((req, c) => playbookPage(c, (req.params as P['Params']).name), (req) => `No loaded playbook named ${(req.params as P['Params']).name}.`));
  if (!app.hasRoute({ method: 'GET', url: '/ui/approvals' })) app.get('/ui/approvals', page((_req, c) => approvalsPage(c), () => ''));

  app.get('/api/events', async (req, reply) => {
    reply.hijack();
    hub.add(reply.raw);
    req.raw.on('close', () => reply.raw.end());
  });

  app.get<{ Querystring: { next?: string } }>('/ui/login', async (req, reply) => {
    const who = await auth.identify(req);
    // already someone, or nothing to sign in to while anonymous visitors are allowed
    if (who && (who.via !== 'anonymous' || !auth.loginEnabled)) return reply.code(303).header('location', safeNext(req.query.next)).send();
    return send(reply, loginPage({ next: safeNext(req.query.next), enabled: auth.loginEnabled }));
  });

  // the login and logout forms are url-encoded; the server's default parser reads JSON only
  app.register(async (forms) => {
    forms.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, new FormFields(String(body))));
    forms.post('/ui/login', async (req, reply) => {
      if (!auth.sameOrigin(req)) return send(reply, errorPage('This form must be sent from Riposte’s own login page.', 403));
      const f = req.body instanceof FormFields ? req.body : new FormFields('');
      const user = f.get('user').trim();
      const next = safeNext(f.get('next'));
      const result = await auth.login(req, reply, user, f.get('password'));
      if (result === 'disabled') return send(reply, loginPage({ next, enabled: false }));
      await rt.audit.append({ actor: { type: 'person', name: user.slice(0, 200) || '(empty)', via: 'login' }, action: 'ui.login', target: 'web ui', outcome: result === 'ok' ? 'success' : 'refused', details: { remote: req.socket.remoteAddress, ...(result === 'throttled' ? { reason: 'too many failed attempts' } : {}) } });
      if (result === 'ok') return reply.code(303).header('location', next).send();
      const page = loginPage({ next, enabled: true, user, error: result === 'throttled' ? 'Too many failed attempts; wait five minutes and try again.' : 'Wrong user name or password.' });
      return send(reply, { ...page, status: result === 'throttled' ? 429 : 401 });
    });
    forms.post('/ui/logout', async (req, reply) => {
      if (!auth.sameOrigin(req)) return send(reply, errorPage('This form must be sent from Riposte’s own pages.', 403));
      const who = await auth.identify(req);
      await auth.logout(req, reply);
      if (who?.via === 'login') await rt.audit.append({ actor: { type: 'person', name: who.name, via: 'login' }, action: 'ui.logout', target: 'web ui', outcome: 'success' });
      return reply.code(303).header('location', '/ui/login').send();
    });
  });
}
