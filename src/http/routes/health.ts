// SPDX-License-Identifier: Apache-2.0
/** `/healthz` (the process answers), `/readyz` (Redis reachable), `/metrics` (Prometheus). */
import type { FastifyInstance } from 'fastify';
import { pingRedis } from '../../redis/connect.ts';
import type { HttpDeps } from '../server.ts';

export function healthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const redis = await pingRedis(deps.runtime.redis);
    return reply.code(redis ? 200 : 503).send({ status: redis ? 'ready' : 'not ready', checks: { redis: redis ? 'ok' : 'unreachable' } });
  });
  app.get('/metrics', async (_req, reply) => {
    const q = deps.runtime.queues;
    for (const [name, queue] of [['alerts', q.alerts], ['runs', q.runs], ['steps', q.steps]] as const) {
      try {
        deps.runtime.metrics.queueDepth.set({ queue: name }, await queue.getWaitingCount());
      } catch {
        // redis down: keep the last value
      }
    }
    return reply.type(deps.runtime.metrics.registry.contentType).send(await deps.runtime.metrics.registry.metrics());
  });
}
