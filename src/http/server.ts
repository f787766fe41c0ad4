// SPDX-License-Identifier: Apache-2.0
/**
 * The HTTP surface: alert ingest, health, metrics, JSON API. Every error is a
 * JSON body with a stable code; bad input never takes the server down.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from '../common/log.ts';
import type { Runtime } from '../runtime.ts';
import { errorBody, HttpError } from './errors.ts';
import { alertRoutes } from './routes/alerts.ts';
import { apiRoutes } from './routes/api.ts';
import { type ApprovalHttpDeps, approvalRoutes } from './routes/approvals.ts';
import { healthRoutes } from './routes/health.ts';
import { uiRoutes } from './routes/ui.ts';
import type { LoadedPlaybook, LoadResult } from '../playbooks/load.ts';
import { ANONYMOUS_VIEWER, UiAuth, type UiAuthConfig } from '../ui/auth.ts';

export interface HttpDeps {
  runtime: Runtime;
  log: Logger;
  ingestToken: () => string | undefined;
  maxAlertsPerRequest: number;
  bodyLimit: number;
  trustProxy?: string[];
  /** Loaded playbooks and the results of loading every file (UI playbooks page and diagrams). */
  playbooks?: () => readonly LoadedPlaybook[];
  playbookProblems?: () => readonly LoadResult[];
  /** Public half of the audit checkpoint key: served at /api/audit/public-key and trusted by verify. */
  auditPublicKeyPem?: string;
  /** UI sign-in and roles (src/ui/auth.ts); default: everyone is an anonymous viewer. */
  uiAuth?: UiAuthConfig;
  /** Approval pages and API (src/http/routes/approvals.ts); absent in processes without approvals wiring. */
  approvals?: ApprovalHttpDeps;
}

export function buildServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: deps.bodyLimit, trustProxy: deps.trustProxy?.length ? deps.trustProxy : false, return503OnClosing: true });

  // every body is read as text and parsed as JSON here, whatever the sender's content type
  // (curl -d sends form encoding; Falco and Falcosidekick send application/json)
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new HttpError(400, 'BAD_JSON', `request body is not valid JSON: ${(err as Error).message}`), undefined);
    }
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send(errorBody(err.code, err.message, err.problems));
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send(errorBody('BODY_TOO_LARGE', `request body is larger than ${deps.bodyLimit} bytes`));
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return reply.code(e.statusCode).send(errorBody(e.code ?? 'BAD_REQUEST', e.message ?? 'bad request'));
    deps.log.error('request failed', { url: req.url, method: req.method, error: e.message });
    return reply.code(500).send(errorBody('INTERNAL', 'internal error; see the server log'));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)));

  healthRoutes(app, deps);
  alertRoutes(app, deps);
  apiRoutes(app, deps);
  uiRoutes(app, deps);
  if (deps.approvals) {
    // approval pages accept the UI's built-in login as an identity too (proxy headers and personal links come first)
    const auth = new UiAuth(deps.runtime.redis, deps.runtime.keys, deps.uiAuth ?? ANONYMOUS_VIEWER);
    const sessionIdentity = async (req: FastifyRequest) => {
      const id = await auth.identify(req);
      return id?.via === 'login' ? id.name : undefined;
    };
    app.register(approvalRoutes({ sessionIdentity, ...deps.approvals }));
  }
  return app;
}
