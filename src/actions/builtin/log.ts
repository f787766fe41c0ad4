// SPDX-License-Identifier: Apache-2.0
/** `log`: writes a rendered message to Riposte's log. Harmless, idempotent; useful for testing playbooks. */
import type { ActionDefinition } from '../types.ts';

export interface LogParams {
  message: string;
  level?: 'info' | 'warn' | 'error';
}

export const logAction: ActionDefinition<LogParams> = {
  name: 'log',
  description: "Write a message to Riposte's log.",
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['message'],
    properties: {
      message: { type: 'string', description: 'Message (a template).' },
      level: { type: 'string', enum: ['info', 'warn', 'error'] },
    },
  },
  runsOn: 'engine',
  destructive: false,
  idempotent: true,
  rbac: [],
  describe: (p) => `log "${p.message}"`,
  async execute(p, ctx) {
    ctx.log[p.level ?? 'info']('playbook log', { message: p.message, runId: ctx.runId, stepId: ctx.stepId });
    return { output: { message: p.message }, summary: `logged: ${p.message.slice(0, 120)}` };
  },
};
