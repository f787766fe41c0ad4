// SPDX-License-Identifier: Apache-2.0
/**
 * The least-privilege ClusterRole for a set of actions: the union of their
 * declared RBAC rules, merged per API group and resource, then grouped back so
 * resources with the same verbs share a rule. Deterministic, so the output of
 * `riposte rbac --all` can be checked into deploy/ and compared by a test.
 *
 * @example
 *   clusterRoleYaml(rbacRules(defaultRegistry().all()), { name: 'riposte-engine' })
 */
import { Document, isPair, isScalar, visit } from 'yaml';
import type { ActionDefinition, RbacRule } from '../types.ts';

const VERB_ORDER = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
const byVerb = (a: string, b: string) => {
  const ia = VERB_ORDER.indexOf(a);
  const ib = VERB_ORDER.indexOf(b);
  return ia >= 0 && ib >= 0 ? ia - ib : ia >= 0 ? -1 : ib >= 0 ? 1 : a.localeCompare(b);
};

/** The union of the rules of `actions`, in a canonical order. */
export function rbacRules(actions: readonly Pick<ActionDefinition, 'rbac'>[]): RbacRule[] {
  const verbs = new Map<string, Set<string>>(); // "group\0resource" → verbs
  for (const a of actions) {
    for (const r of a.rbac) {
      for (const g of r.apiGroups) {
        for (const res of r.resources) {
          const key = `${g}\0${res}`;
          const set = verbs.get(key) ?? new Set<string>();
          for (const v of r.verbs) set.add(v);
          verbs.set(key, set);
        }
      }
    }
  }
  const grouped = new Map<string, RbacRule>(); // "group\0verbs" → rule
  for (const [key, set] of [...verbs].sort(([a], [b]) => a.localeCompare(b))) {
    const [group, resource] = key.split('\0') as [string, string];
    const vs = [...set].sort(byVerb);
    const gk = `${group}\0${vs.join(',')}`;
    const rule = grouped.get(gk) ?? { apiGroups: [group], resources: [], verbs: vs };
    rule.resources.push(resource);
    grouped.set(gk, rule);
  }
  return [...grouped.values()].sort((a, b) => (a.apiGroups[0] ?? '').localeCompare(b.apiGroups[0] ?? '') || (a.resources[0] ?? '').localeCompare(b.resources[0] ?? ''));
}

export interface ClusterRoleOptions {
  name: string;
  /** Comment lines above the object (without `# `). */
  comment?: string[];
}

export function clusterRole(rules: RbacRule[], name: string) {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels: { 'app.kubernetes.io/name': 'riposte', 'app.kubernetes.io/component': 'engine' } },
    rules,
  };
}

/** The ClusterRole as YAML, its rule lists in flow style (`verbs: [get, patch]`) like hand-written RBAC. */
export function clusterRoleYaml(rules: RbacRule[], opts: ClusterRoleOptions): string {
  const doc = new Document(clusterRole(rules, opts.name));
  visit(doc, {
    Seq(_key, node, path) {
      const parent = path[path.length - 1];
      if (isPair(parent) && isScalar(parent.key) && ['apiGroups', 'resources', 'verbs'].includes(String(parent.key.value))) node.flow = true;
    },
  });
  const head = (opts.comment ?? []).map((l) => `# ${l}`.trimEnd()).join('\n');
  return `${head ? `${head}\n` : ''}${doc.toString({ flowCollectionPadding: false, lineWidth: 0 })}`;
}
