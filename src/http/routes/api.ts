// SPDX-License-Identifier: Apache-2.0
/** Read-only JSON API under /api/: incidents, runs, audit. */
import type { FastifyInstance } from 'fastify';
import { verifyChain } from '../../audit/verify.ts';
import { HttpError } from '../errors.ts';
import type { HttpDeps } from '../server.ts';

export function apiRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const rt = deps.runtime;
  app.get('/api/incidents', async () => ({ incidents: await rt.incidents.list(200) }));
  app.get<{ Params: { id: string } }>('/api/incidents/:id', async (req) => {
    const incident = await rt.incidents.get(req.params.id);
    if (!incident) throw new HttpError(404, 'NOT_FOUND', `no incident ${req.params.id}`);
    const runs = await rt.runs.byIncident(incident.id);
    return { incident, runs: runs.map((r) => ({ id: r.meta.id, playbook: r.meta.playbook, status: r.state.status, state: r.state.value, steps: r.state.context.steps, createdAt: r.meta.createdAt })) };
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
  app.get<{ Querystring: { limit?: string } }>('/api/audit', async (req) => {
    const limit = Math.min(Number(req.query.limit ?? 500) || 500, 5000);
    return { records: await rt.audit.list({ limit }) };
  });
  app.get('/api/audit/verify', async () => verifyChain(await rt.audit.range(), await rt.audit.head()));
}
