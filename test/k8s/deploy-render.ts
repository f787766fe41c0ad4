// SPDX-License-Identifier: Apache-2.0
/**
 * Renders deploy/kubernetes the way `kubectl apply -k` does, for the kustomize
 * features the manifests use: `resources` (files and directories with their own
 * kustomization.yaml), nothing else. Any other key fails loudly, so a manifest
 * change that needs a real kustomize cannot pass unnoticed.
 */
import { readFileSync, statSync } from 'node:fs';
import { type KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const DEPLOY_DIR = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources']);

/** Objects of the kustomization in `dir`, in kustomize's resource order, each with the file it came from. */
export function renderKustomization(dir = DEPLOY_DIR): { object: K8sObject; file: string }[] {
  const kfile = join(dir, 'kustomization.yaml');
  const k = parseAllDocuments(readFileSync(kfile, 'utf8'))[0]?.toJS() as Record<string, unknown>;
  for (const key of Object.keys(k)) if (!SUPPORTED.has(key)) throw new Error(`${kfile}: "${key}" is not supported by the test renderer`);
  const out: { object: K8sObject; file: string }[] = [];
  for (const res of (k.resources as string[]) ?? []) {
    const path = join(dir, res);
    if (statSync(path).isDirectory()) {
      out.push(...renderKustomization(path));
      continue;
    }
    for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
      if (doc.errors.length) throw new Error(`${path}: ${doc.errors[0]?.message}`);
      const object = doc.toJS() as K8sObject | null;
      if (object) out.push({ object, file: path });
    }
  }
  return out;
}

export function findObject(objects: { object: K8sObject }[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.object.kind === kind && x.object.metadata.name === name)?.object;
  if (!o) throw new Error(`no ${kind} ${name} in deploy/kubernetes`);
  return o;
}

/**
 * Applies (server-side) what deploy/ ships for one component's identity: the namespace, its
 * ServiceAccount, ClusterRole and ClusterRoleBinding, so a test can act as that ServiceAccount
 * with exactly the shipped permissions.
 */
export async function applyShippedIdentity(kc: KubeConfig, component: 'engine' | 'agent', manager: string): Promise<void> {
  const rendered = renderKustomization();
  const apply = KubernetesObjectApi.makeApiClient(kc);
  const name = `riposte-${component}`;
  for (const [kind, n] of [['Namespace', 'riposte-system'], ['ServiceAccount', name], ['ClusterRole', name], ['ClusterRoleBinding', name]] as const) {
    await apply.patch(findObject(rendered, kind, n), undefined, undefined, manager, true, PatchStrategy.ServerSideApply);
  }
}
