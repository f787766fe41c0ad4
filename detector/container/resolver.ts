// SPDX-License-Identifier: Apache-2.0
/**
 * Container attribution from the cgroup path: containerd, CRI-O, Docker, Podman
 * and Riposte's own sandboxes each name the cgroup after the container id.
 * Anything else is `host`. Name, image, pod, namespace and labels come from a
 * metadata file when one exists (`<metadataDir>/<id>.json`, written by
 * `riposte demo` or a node-local integration), else from an optional
 * {@link ContainerMetadataSource} (the agent's watch of its node's pods,
 * src/kube/pod-metadata.ts). Answers are cached per cgroup and worked out again
 * when the source changes, so labels stay current and a container seen before
 * the kubelet reported it gets its pod once it has.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerInfo, K8sInfo } from '../fields/index.ts';

const PATTERNS: [RegExp, string][] = [
  [/cri-containerd-([0-9a-f]{64})\.scope/, 'containerd'],
  [/crio-(?:conmon-)?([0-9a-f]{64})\.scope/, 'cri-o'],
  [/docker-([0-9a-f]{64})\.scope/, 'docker'],
  [/libpod-([0-9a-f]{64})\.scope/, 'podman'],
  [/\/docker\/([0-9a-f]{64})(?:\/|$)/, 'docker'],
  [/\/kubepods[^ ]*\/pod[0-9a-f_-]+\/([0-9a-f]{64})(?:\/|$)/, 'containerd'],
  [/riposte-sandbox-([0-9a-f]{12,64})(?:\/|$)/, 'riposte-sandbox'],
];
const POD_UID = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/;

export interface Attribution {
  container: ContainerInfo;
  k8s?: K8sInfo;
  runtime?: string;
  /** cgroup path relative to the cgroup2 root, when known */
  cgroupPath?: string;
}

export interface ContainerMetadata {
  name?: string;
  image?: ContainerInfo['image'];
  k8s?: K8sInfo;
}

/** Where container metadata comes from besides files: looked up by full container id and the pod uid from the cgroup path. */
export interface ContainerMetadataSource {
  lookup(fullId: string, podUid?: string): ContainerMetadata | undefined;
  /** Changes whenever an answer may have changed. */
  readonly version: number;
}

export const HOST: Attribution = Object.freeze({ container: Object.freeze({ id: 'host', name: 'host' }) });

export function attributePath(path: string): { id: string; fullId: string; runtime: string; podUid?: string } | undefined {
  for (const [re, runtime] of PATTERNS) {
    const m = re.exec(path);
    if (m) {
      const uid = POD_UID.exec(path)?.[1]?.replace(/_/g, '-');
      return { id: m[1]!.slice(0, 12), fullId: m[1]!, runtime, ...(uid ? { podUid: uid } : {}) };
    }
  }
  return undefined;
}

export class ContainerResolver {
  private readonly byId = new Map<bigint, Attribution>();
  /** The source's version when a container's cached attribution was made. */
  private readonly madeAt = new Map<bigint, number>();
  private readonly source: ContainerMetadataSource | undefined;
  private readonly misses = new Map<bigint, number>();
  private readonly cgroupRoot: string | null;
  private readonly metadataDir: string;
  private readonly procRoot: string;
  private lastScan = 0;

  constructor(opts: { cgroupRoot: string | null; metadataDir?: string; procRoot?: string; metadataSource?: ContainerMetadataSource }) {
    this.cgroupRoot = opts.cgroupRoot;
    this.source = opts.metadataSource;
    this.metadataDir = opts.metadataDir ?? '/run/riposte/containers';
    this.procRoot = opts.procRoot ?? '/proc';
  }

  /** Attribution of an event, by its cgroup id (cached), falling back to the pid's /proc entry. */
  resolve(cgroupId: bigint, pid: number): Attribution {
    const hit = this.byId.get(cgroupId);
    if (hit) {
      if (!this.source || hit.container.id === 'host' || hit.cgroupPath === undefined || this.madeAt.get(cgroupId) === this.source.version) return hit;
      const again = this.fromPath(hit.cgroupPath);
      this.byId.set(cgroupId, again);
      this.madeAt.set(cgroupId, this.source.version);
      return again;
    }
    const miss = this.misses.get(cgroupId);
    if (miss !== undefined && Date.now() - miss < 5000) return HOST;
    const path = this.pathOfPid(pid) ?? this.pathById(cgroupId);
    if (path === undefined) {
      // unknown for now (the process is gone and the scan did not find it): host, asked again in 5 s
      this.misses.set(cgroupId, Date.now());
      if (this.misses.size > 10_000) this.misses.clear();
      return HOST;
    }
    if (this.byId.size > 50_000) {
      // a node that churned through this many cgroups: start over rather than grow without bound
      this.byId.clear();
      this.madeAt.clear();
    }
    if (this.source) this.madeAt.set(cgroupId, this.source.version);
    const a = this.fromPath(path);
    this.byId.set(cgroupId, a);
    this.misses.delete(cgroupId);
    return a;
  }

  /** Forgets a cgroup (e.g. its container is gone); metadata is read again next time. */
  forget(cgroupId: bigint): void {
    this.byId.delete(cgroupId);
    this.madeAt.delete(cgroupId);
  }

  fromPath(path: string): Attribution {
    const m = attributePath(path);
    if (!m) return { ...HOST, cgroupPath: path };
    const meta = this.metadata(m.id) ?? this.source?.lookup(m.fullId, m.podUid);
    const container: ContainerInfo = { id: m.id, ...(meta?.name ? { name: meta.name } : {}), ...(meta?.image ? { image: meta.image } : {}) };
    const k8s: K8sInfo | undefined = meta?.k8s ?? (m.podUid ? { pod: { uid: m.podUid } } : undefined);
    return { container, runtime: m.runtime, cgroupPath: path, ...(k8s ? { k8s } : {}) };
  }

  private metadata(id: string): ContainerMetadata | undefined {
    try {
      return JSON.parse(readFileSync(join(this.metadataDir, `${id}.json`), 'utf8'));
    } catch {
      return undefined;
    }
  }

  private pathOfPid(pid: number): string | undefined {
    try {
      const text = readFileSync(`${this.procRoot}/${pid}/cgroup`, 'utf8');
      const line = text.split('\n').find((l) => l.startsWith('0::'));
      return line?.slice(3);
    } catch {
      return undefined;
    }
  }

  /** Finds a cgroup directory by its id (the inode number on cgroupfs); rescans at most once a second. */
  private pathById(id: bigint): string | undefined {
    if (!this.cgroupRoot || Date.now() - this.lastScan < 1000) return undefined;
    this.lastScan = Date.now();
    const root = this.cgroupRoot;
    const walk = (dir: string, depth: number): string | undefined => {
      if (depth > 12) return undefined;
      let entries: string[];
      try {
        entries = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
      } catch {
        return undefined;
      }
      for (const name of entries) {
        const p = join(dir, name);
        try {
          if (statSync(p, { bigint: true }).ino === id) return p.slice(root.length) || '/';
        } catch {
          continue;
        }
        const found = walk(p, depth + 1);
        if (found) return found;
      }
      return undefined;
    };
    return walk(root, 0);
  }
}
