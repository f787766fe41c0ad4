// SPDX-License-Identifier: Apache-2.0
/** The action registry: one place that knows every action by name. */
import type { ActionDefinition } from './types.ts';

export class ActionRegistry {
  private readonly byName = new Map<string, ActionDefinition>();

  register<P>(def: ActionDefinition<P>): this {
    if (this.byName.has(def.name)) throw new Error(`action ${def.name} registered twice`);
    this.byName.set(def.name, def as unknown as ActionDefinition);
    return this;
  }

  get(name: string): ActionDefinition | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  all(): ActionDefinition[] {
    return this.names().map((n) => this.byName.get(n)!);
  }
}
