// SPDX-License-Identifier: Apache-2.0
/** The default action registry: every action Riposte ships. */
import { logAction } from './builtin/log.ts';
import { webhookAction } from './builtin/webhook.ts';
import { ActionRegistry } from './registry.ts';

export function defaultRegistry(): ActionRegistry {
  return new ActionRegistry().register(logAction).register(webhookAction);
}
