// SPDX-License-Identifier: Apache-2.0
/** Read-only JSON API under /api/: incidents, runs, audit. */
import type { FastifyInstance } from 'fastify';
import { keyIdOf, keyRing, publicKeyFromPem } from '../../audit/checkpoints.ts';
import { toNdjsonLine } from '../../audit/export.ts';
import { type FilterQuery, filterFromQuery } from '../../audit/filter.ts';
import { verifyStored } from '../../audit/verify.ts';
import { formatDiagnostic } from '../../common/errors.ts';
import { HttpError } from '../errors.ts';
import type { HttpDeps } from '../server.ts';

export function apiRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const rt = deps.runtime;
  app.get('/api/incidents', async () => ({ incidents: await rt.incidents.list(200) }));
  app.get<{ Params: { id: string } }>('/api/incidents/:id', async (req) => {
    const incident = await rt.incidents.get(req.params.id);
    if (!incident) throw new HttpError(404, 'NOT_FOUND', `no incident ${req.params.id}`);
    const [runs, alerts] = await Promise.all([rt.runs.byIncident(incident.id), rt.incidents.alerts(incident.id)]);
    return { incident, alerts, runs: runs.map((r) => ({ id: r.meta.id, playbook: r.meta.playbook, status: r.state.status, state: r.state.value, steps: r.state.context.steps, createdAt: r.meta.createdAt })) };
  });
  app.get('/api/runs', async () => {
    const runs = await rt.runs.list({ limit: 200 });
    return { runs: runs.map((r) => ({ id: r.meta.id, playbook: r.meta.playbook, incidentId: r.meta.incidentId, status: r.state.status, state: r.state.value, createdAt: r.meta.createdAt, updatedAt: r.state.updatedAt })) };
  });
  app.get<{ Params: { id: string } }>('/api/runs/:id', async (req) => {
    const run = await rt.runs.get(req.params.id);
    if (!run) throw new HttpError(404, 'NOT_FOUND', `no run ${req.params.id}`);
    return { run: { ...run.meta, status: run.state.status, state: run.state.value, context: run.state.context, updatedAt: run.state.updatedAt } };
  });
  // audit: filters as in the UI (q, action, actor, outcome, incident, run, since, until, limit)
  const auditFilter = (q: FilterQuery, defaultLimit?: number) => {
    try {
      return filterFromQuery(q, { ...(defaultLimit ? { defaultLimit } : {}), maxLimit: 5000 });
    } catch (err) {
      throw new HttpError(400, 'FILTER_INVALID', (err as Error).message);
    }
  };
  const ring = deps.auditPublicKeyPem ? keyRing([deps.auditPublicKeyPem]) : undefined;
  app.get<{ Querystring: FilterQuery }>('/api/audit', async (req) => ({ records: await rt.audit.list(auditFilter(req.query, 500)) }));
  app.get('/api/audit/verify', async () => verifyStored(rt.audit, rt.checkpoints, ring));
  app.get<{ Params: { id: string } }>('/api/audit/records/:id', async (req) => {
    const record = await rt.audit.get(req.params.id);
    if (!record) throw new HttpError(404, 'NOT_FOUND', `no audit record ${req.params.id}`);
    return { record };
  });
  app.get('/api/audit/checkpoints', async () => ({ checkpoints: await rt.checkpoints.list() }));
  app.get<{ Querystring: { format?: string } }>('/api/audit/public-key', async (req, reply) => {
    if (!deps.auditPublicKeyPem) throw new HttpError(404, 'NO_SIGNING_KEY', 'this server signs no audit checkpoints: set audit.signingKeyFile');
    if (req.query.format === 'pem') return reply.type('application/x-pem-file').send(deps.auditPublicKeyPem);
    return { algorithm: 'Ed25519', keyId: keyIdOf(publicKeyFromPem(deps.auditPublicKeyPem)), publicKeyPem: deps.auditPublicKeyPem };
  });
  app.get<{ Querystring: FilterQuery }>('/api/audit/export', async (req, reply) => {
    const { limit: _all, ...filter } = auditFilter(req.query);
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    reply.headers({ 'content-type': 'application/x-ndjson; charset=utf-8', 'content-disposition': `attachment; filename="riposte-audit-${stamp}.ndjson"`, 'cache-control': 'no-store' });
    return (await rt.audit.list(filter)).map(toNdjsonLine).join('');
  });
  app.get('/api/playbooks', async () => ({
    playbooks: (deps.playbooks?.() ?? []).map((p) => ({ name: p.playbook.metadata.name, version: p.version, file: p.file, enabled: p.playbook.enabled, steps: p.playbook.steps.length })),
    rejected: (deps.playbookProblems?.() ?? []).filter((r) => !r.playbook).map((r) => ({ file: r.file, problems: r.diagnostics.map(formatDiagnostic) })),
  }));
}
