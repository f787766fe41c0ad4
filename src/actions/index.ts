// SPDX-License-Identifier: Apache-2.0
/** The default action registry: every action Riposte ships. */
import { logAction } from './builtin/log.ts';
import { webhookAction } from './builtin/webhook.ts';
import { kubernetesActions } from './kubernetes/declarations.ts';
import { nodeActions } from './node/declarations.ts';
import { ActionRegistry } from './registry.ts';

export function defaultRegistry(): ActionRegistry {
  const r = new ActionRegistry().register(logAction).register(webhookAction);
  for (const a of kubernetesActions) r.register(a);
  for (const a of nodeActions) r.register(a);
  return r;
}
