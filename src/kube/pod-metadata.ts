// SPDX-License-Identifier: Apache-2.0
/**
 * Pod metadata for the detector, from the Kubernetes API: the agent watches the
 * pods scheduled on its own node (one list + watch, `spec.nodeName=<node>`) and
 * answers "which pod is container <id> in?" from memory, so alerts carry
 * `k8s.ns.name`, `k8s.pod.name`, `k8s.pod.labels`, `container.name` and the
 * image, as Falco's do. Lookups never wait for the API: before the first list
 * arrives, or for a container the kubelet has not reported yet, the answer
 * comes from the pod uid in the cgroup path when that pod is known, else none
 * (and the resolver asks again when the cache changes).
 *
 * RBAC: `list` and `watch` on pods, cluster-wide (the field selector keeps it to
 * this node's pods); see deploy/kubernetes/core/agent-rbac.yaml.
 *
 * @example
 *   const pods = await startPodMetadata(loadKubeConfig(src), 'node-a', log);
 *   new ContainerResolver({ cgroupRoot, metadataSource: pods });
 */
import { CoreV1Api, type KubeConfig, ListWatch, type V1ContainerStatus, type V1Pod, Watch } from '@kubernetes/client-node';
import type { Logger } from '../common/log.ts';
import type { ContainerMetadata, ContainerMetadataSource } from '../../detector/container/resolver.ts';

type Image = NonNullable<ContainerMetadata['image']>;

/** `docker.io/library/nginx:1.25` → repository + tag; a digest (`@sha256:...`) becomes the id. */
export function parseImage(image: string | undefined, imageId?: string): Image | undefined {
  if (!image) return undefined;
  let repo = image;
  let tag: string | undefined;
  let id: string | undefined;
  const at = repo.indexOf('@');
  if (at >= 0) {
    id = repo.slice(at + 1);
    repo = repo.slice(0, at);
  }
  const colon = repo.lastIndexOf(':');
  if (colon > repo.lastIndexOf('/')) {
    tag = repo.slice(colon + 1);
    repo = repo.slice(0, colon);
  }
  const digest = /@(sha256:[0-9a-f]{64})$/.exec(imageId ?? '')?.[1] ?? (imageId?.startsWith('sha256:') ? imageId : undefined);
  id ??= digest;
  return { repository: repo, ...(tag ? { tag } : {}), ...(id ? { id } : {}) };
}

/** `containerd://<64 hex>` (or cri-o://, docker://) → the 64-hex id. */
export function runtimeContainerId(statusId: string | undefined): string | undefined {
  const m = /^[a-z0-9-]+:\/\/([0-9a-f]{64})$/.exec(statusId ?? '');
  return m?.[1];
}

interface PodEntry {
  ns: string;
  name: string;
  uid: string;
  labels: Readonly<Record<string, string>>;
  containers: Map<string, { name: string; image?: Image }>;
  /** What lookups can see of this pod, to tell a change that matters from a status update that does not. */
  seen: string;
}

/** The in-memory index, fed by the watch's add, update and delete events (a relist reports removed pods as deletes). */
export class PodIndex implements ContainerMetadataSource {
  private readonly pods = new Map<string, PodEntry>();
  private readonly byContainer = new Map<string, { pod: PodEntry; name: string; image?: Image }>();
  private v = 0;

  /** Increases when an answer changes (not on every status update), so the resolver knows its cached answers may be stale. */
  get version(): number {
    return this.v;
  }

  get size(): number {
    return this.pods.size;
  }

  upsert(pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const containers = new Map<string, { name: string; image?: Image }>();
    const statuses: V1ContainerStatus[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])];
    for (const s of statuses) {
      const id = runtimeContainerId(s.containerID);
      if (!id) continue;
      const image = parseImage(s.image, s.imageID);
      containers.set(id, { name: s.name, ...(image ? { image } : {}) });
    }
    const ns = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    const labels = pod.metadata?.labels ?? {};
    const seen = JSON.stringify([ns, name, labels, [...containers]]);
    if (this.pods.get(uid)?.seen === seen) return;
    this.remove(uid, false);
    const entry: PodEntry = { ns, name, uid, labels: Object.freeze({ ...labels }), containers, seen };
    for (const [id, c] of containers) this.byContainer.set(id, { pod: entry, ...c });
    this.pods.set(uid, entry);
    this.v++;
  }

  remove(uid: string, bump = true): void {
    const old = this.pods.get(uid);
    if (!old) return;
    for (const id of old.containers.keys()) if (this.byContainer.get(id)?.pod === old) this.byContainer.delete(id);
    this.pods.delete(uid);
    if (bump) this.v++;
  }

  lookup(fullId: string, podUid?: string): ContainerMetadata | undefined {
    const c = this.byContainer.get(fullId);
    const pod = c?.pod ?? (podUid ? this.pods.get(podUid) : undefined);
    if (!pod) return undefined;
    return {
      ...(c ? { name: c.name } : {}),
      ...(c?.image ? { image: c.image } : {}),
      k8s: { ns: pod.ns, pod: { name: pod.name, uid: pod.uid, labels: pod.labels } },
    };
  }
}

export interface PodMetadata extends ContainerMetadataSource {
  readonly index: PodIndex;
  /** Resolves once the first list has arrived (never rejects: failures are logged and retried). */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts watching this node's pods. Failures (API down, 403) are logged once per
 * kind of failure and retried with backoff (1 s doubling to 30 s); the detector
 * keeps working without pod metadata meanwhile.
 */
export function startPodMetadata(kc: KubeConfig, node: string, log: Logger): PodMetadata {
  const index = new PodIndex();
  const api = kc.makeApiClient(CoreV1Api);
  const fieldSelector = `spec.nodeName=${node}`;
  const lw = new ListWatch<V1Pod>(
    '/api/v1/pods',
    new Watch(kc),
    () => api.listPodForAllNamespaces({ fieldSelector }),
    false,
    undefined,
    fieldSelector,
  );
  lw.on('add', (p) => index.upsert(p));
  lw.on('update', (p) => index.upsert(p));
  lw.on('delete', (p) => p.metadata?.uid && index.remove(p.metadata.uid));
  let stopped = false;
  let delay = 1000;
  let lastError = '';
  let timer: NodeJS.Timeout | undefined;
  let resolveSynced!: () => void;
  const synced = new Promise<void>((r) => (resolveSynced = r));
  const restart = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      void begin();
    }, delay);
    timer.unref();
    delay = Math.min(delay * 2, 30_000);
  };
  let failed = false;
  lw.on('error', (err: unknown) => {
    failed = true;
    const msg = describe(err);
    if (msg !== lastError) log.warn("watching this node's pods failed; alerts carry no pod metadata until it works", { node, error: msg, retryInMs: delay });
    lastError = msg;
    restart();
  });
  const begin = async () => {
    failed = false;
    try {
      await lw.start(); // a failed list is reported through the error handler above, not thrown
    } catch (err) {
      failed = true;
      log.warn("watching this node's pods failed", { node, error: describe(err) });
      restart();
    }
    if (failed || stopped) return;
    if (lastError) log.info("watching this node's pods again", { node, pods: index.size });
    lastError = '';
    delay = 1000;
    resolveSynced();
  };
  void begin();
  return {
    index,
    synced,
    get version() {
      return index.version;
    },
    lookup: (id, uid) => index.lookup(id, uid),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await lw.stop();
    },
  };
}

function describe(err: unknown): string {
  const e = err as { code?: number; statusCode?: number; message?: string; body?: unknown };
  const status = e?.code ?? e?.statusCode;
  let reason: string | undefined;
  try {
    const body = typeof e?.body === 'string' ? JSON.parse(e.body) : e?.body;
    if (typeof body?.message === 'string') reason = body.message;
  } catch {
    // not a Status object
  }
  return [status ? `HTTP ${status}` : undefined, reason ?? e?.message?.split('\n')[0] ?? String(err)].filter(Boolean).join(': ');
}
