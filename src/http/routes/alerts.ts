// SPDX-License-Identifier: Apache-2.0
/**
 * `POST /v1/alerts`: one Falco alert, an array of them, a Falco http_output post
 * or a Falcosidekick webhook post. Answers 202 only once the alerts are
 * persisted in the `alerts` queue; 400 names the bad field; 401 without a valid token.
 */
import type { FastifyInstance } from 'fastify';
import { validateAlertBody } from '../../alerts/validate.ts';
import { enqueueAlerts } from '../../queue/queues.ts';
import { checkBearer } from '../auth.ts';
import { HttpError } from '../errors.ts';
import type { HttpDeps } from '../server.ts';

export function alertRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.post('/v1/alerts', async (req, reply) => {
    try {
      checkBearer(req.headers.authorization, deps.ingestToken());
    } catch (err) {
      deps.runtime.metrics.alertsRejected.inc({ reason: 'unauthorized' });
      throw err;
    }
    const { alerts, problems } = validateAlertBody(req.body, deps.maxAlertsPerRequest);
    if (problems.length) {
      deps.runtime.metrics.alertsRejected.inc({ reason: 'invalid' });
      throw new HttpError(400, 'ALERT_INVALID', `invalid alert: ${problems[0]!.field}: ${problems[0]!.message}`, problems.slice(0, 50));
    }
    try {
      await enqueueAlerts(deps.runtime.queues.alerts, alerts);
    } catch (err) {
      throw new HttpError(503, 'REDIS_UNAVAILABLE', `alerts could not be stored, retry later: ${(err as Error).message}`);
    }
    for (const a of alerts) deps.runtime.metrics.alertsReceived.inc({ source: a.source });
    await deps.runtime.audit.append({
      actor: { type: 'system', name: 'ingest' },
      action: 'alert.accepted',
      target: alerts.length === 1 ? alerts[0]!.rule : `${alerts.length} alerts`,
      outcome: 'success',
      details: { ids: alerts.slice(0, 100).map((a) => a.id), count: alerts.length, remote: req.ip },
    });
    return reply.code(202).send({ accepted: alerts.length, ids: alerts.map((a) => a.id) });
  });
}
