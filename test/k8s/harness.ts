// A real kube-apiserver + etcd on loopback for integration tests, envtest-style.
//
// What runs: etcd and kube-apiserver only — no kubelet, scheduler or controller-manager.
// So pods stay Pending forever (nothing schedules or runs them), Deployments get no
// ReplicaSets, deleted namespaces stay Terminating, ServiceAccount token Secrets are never
// created. Tests that need a pod "Running" write its status themselves through the status
// subresource (see setPodStatus below). The ServiceAccount admission plugin is disabled by
// default (as in envtest), so pods can be created in namespaces without a `default`
// ServiceAccount. Authorization is real RBAC; authentication is a static admin token
// (group system:masters) plus real ServiceAccount tokens (TokenRequest) and impersonation.
//
// See docs/testing-k8s.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1PodStatus,
} from '@kubernetes/client-node';
import { findK8sAssets } from './harness-availability.ts';

export interface TestClusterOptions {
  /** Directory with `kube-apiserver` and `etcd`; default: KUBEBUILDER_ASSETS or the build cache. */
  assetsDir?: string;
  /** How long to wait for etcd + /readyz, in ms. Default 120 000 (2 cores, cold caches). */
  startTimeoutMs?: number;
  /** Admission plugins to disable. Default ['ServiceAccount'] (no token controller runs). */
  disableAdmissionPlugins?: string[];
  /** Extra kube-apiserver flags, appended last (a repeated flag overrides the default). */
  apiServerArgs?: string[];
  /** Keep the temp dir (logs, etcd data) after stop() or a failed start, for debugging. */
  keepTempDir?: boolean;
}

/** Who a derived KubeConfig authenticates as. */
export type KubeSubject =
  /** A bearer token, e.g. from `cluster.serviceAccountToken(ns, name)`. */
  | { token: string }
  /**
   * Admin token plus `Impersonate-User`. For a ServiceAccount use
   * `serviceAccountUser(ns, name)`: the API server then adds the groups
   * system:serviceaccounts and system:serviceaccounts:<ns> itself.
   */
  | { impersonate: string };

export interface TestCluster {
  /** https://127.0.0.1:<port> */
  server: string;
  /** A kubeconfig file (admin, token auth) usable by kubectl and by the code under test. */
  kubeconfigPath: string;
  /** KubeConfig for the admin (group system:masters). */
  kubeConfig: KubeConfig;
  adminToken: string;
  /** PEM of the self-signed serving certificate chain (trust it as the CA). */
  caPem: string;
  /** Temp dir holding etcd data, certs, and the logs etcd.log / kube-apiserver.log. */
  dir: string;
  /** A KubeConfig for the same server authenticating as someone else. */
  makeKubeConfigFor(subject: KubeSubject): KubeConfig;
  /** Writes makeKubeConfigFor(subject) as a kubeconfig file (for a child process) and returns its path. */
  writeKubeConfigFor(subject: KubeSubject, fileName: string): string;
  /** A real, signed ServiceAccount token via the TokenRequest API (the ServiceAccount must exist). */
  serviceAccountToken(namespace: string, name: string, expirationSeconds?: number): Promise<string>;
  /** Stops kube-apiserver and etcd and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Kubernetes username of a ServiceAccount, as RBAC and impersonation see it. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/**
 * Options for a JSON merge patch with @kubernetes/client-node 2.x, whose generated patch
 * methods otherwise send `application/json-patch+json`:
 *   await core.patchNamespacedPod({ name, namespace, body: { metadata: { labels } } }, mergePatch());
 */
export function mergePatch() {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
}

/**
 * Stands in for the kubelet: merge-patches a pod's status through the status subresource,
 * e.g. setPodStatus(core, ns, name, { phase: 'Running' }).
 */
export async function setPodStatus(
  core: CoreV1Api,
  namespace: string,
  name: string,
  status: V1PodStatus,
): Promise<void> {
  await core.patchNamespacedPodStatus({ name, namespace, body: { status } }, mergePatch());
}

// ---- process bookkeeping: never leave etcd / kube-apiserver behind ------------------------

interface Running {
  children: ChildProcess[];
  watchdog?: ChildProcess;
  dir: string;
  keep: boolean;
}
const live = new Set<Running>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' covers normal ends and uncaught errors. Signals and SIGKILL are covered by the
  // watchdog started per cluster (see startWatchdog).
  process.on('exit', () => {
    for (const r of live) {
      for (const c of r.children) killQuietly(c, 'SIGKILL');
      if (r.watchdog) killQuietly(r.watchdog, 'SIGKILL');
      if (!r.keep) rmSync(r.dir, { recursive: true, force: true });
    }
  });
}

function killQuietly(c: ChildProcess, signal: NodeJS.Signals): void {
  if (c.exitCode === null && c.signalCode === null) {
    try {
      c.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * A detached shell that outlives us: when this Node process disappears (even by SIGKILL or
 * an unhandled signal), it kills the pids listed in <dir>/pids and removes <dir>.
 */
function startWatchdog(dir: string, keep: boolean): ChildProcess {
  const script = [
    'parent=$1; dir=$2; keep=$3',
    'while kill -0 "$parent" 2>/dev/null; do sleep 1; done',
    'if [ -f "$dir/pids" ]; then for p in $(cat "$dir/pids"); do kill -9 "$p" 2>/dev/null; done; fi',
    '[ "$keep" = 1 ] || rm -rf "$dir"',
  ].join('\n');
  const w = spawn('bash', ['-c', script, 'riposte-k8s-watchdog', String(process.pid), dir, keep ? '1' : '0'], {
    detached: true,
    stdio: 'ignore',
  });
  w.unref();
  return w;
}

async function waitForExit(c: ChildProcess, ms: number): Promise<boolean> {
  if (c.exitCode !== null || c.signalCode !== null) return true;
  return await Promise.race([
    new Promise<boolean>((resolve) => c.once('exit', () => resolve(true))),
    sleep(ms, false, { ref: false }),
  ]);
}

async function stopChild(c: ChildProcess): Promise<void> {
  killQuietly(c, 'SIGTERM');
  if (!(await waitForExit(c, 10_000))) {
    killQuietly(c, 'SIGKILL');
    await waitForExit(c, 5_000);
  }
}

// ---- helpers ----------------------------------------------------------------------------

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

function tail(file: string, lines: number): string {
  try {
    const all = readFileSync(file, 'utf8').trimEnd().split('\n');
    return all.slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function httpGet(
  url: string,
  opts: { ca?: string; token?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        ca: opts.ca,
        headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {},
        timeout: 5_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function httpGetPlain(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
}

class StartError extends Error {
  portClash: boolean;
  constructor(message: string, portClash: boolean) {
    super(message);
    this.portClash = portClash;
  }
}

// ---- start ------------------------------------------------------------------------------

/**
 * Starts etcd and kube-apiserver on free 127.0.0.1 ports and waits for /readyz.
 * Typical start: 5–20 s. Always call `stop()` (e.g. in an `after` hook).
 */
export async function startTestCluster(opts: TestClusterOptions = {}): Promise<TestCluster> {
  let assetsDir = opts.assetsDir;
  if (!assetsDir) {
    const found = findK8sAssets();
    if (!found.dir) {
      throw new Error(
        `kube-apiserver/etcd not found (${found.detail}); run \`bash test/k8s/assets.sh\` or set KUBEBUILDER_ASSETS`,
      );
    }
    assetsDir = found.dir;
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(assetsDir, opts);
    } catch (err) {
      // Ports are picked by binding :0 and closing; another process may grab one meanwhile.
      if (err instanceof StartError && err.portClash && attempt < 3) continue;
      throw err;
    }
  }
}

async function startOnce(assetsDir: string, opts: TestClusterOptions): Promise<TestCluster> {
  installExitHook();
  const keep = opts.keepTempDir === true || process.env.RIPOSTE_K8S_KEEP_TMP === '1';
  const timeoutMs = opts.startTimeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const dir = await mkdtemp(join(tmpdir(), 'riposte-k8s-'));
  const running: Running = { children: [], dir, keep };
  live.add(running);
  const watchdog = startWatchdog(dir, keep);
  running.watchdog = watchdog;
  const pidsFile = join(dir, 'pids');
  writeFileSync(pidsFile, '');

  const etcdLog = join(dir, 'etcd.log');
  const apiLog = join(dir, 'kube-apiserver.log');
  const certDir = join(dir, 'certs');
  const [etcdClientPort, etcdPeerPort, apiPort] = await distinctFreePorts(3);
  const server = `https://127.0.0.1:${apiPort}`;

  const spawnLogged = (bin: string, args: string[], logFile: string): ChildProcess => {
    const fd = openSync(logFile, 'a');
    const child = spawn(join(assetsDir, bin), args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.on('error', (e) => writeFileSync(logFile, `spawn ${bin}: ${e.message}\n`, { flag: 'a' }));
    running.children.push(child);
    if (child.pid) writeFileSync(pidsFile, `${child.pid}\n`, { flag: 'a' });
    return child;
  };
  const exited = (c: ChildProcess): boolean => c.pid === undefined || c.exitCode !== null || c.signalCode !== null;

  const fail = async (what: string, cause?: unknown): Promise<never> => {
    const logs =
      `--- kube-apiserver.log (tail) ---\n${tail(apiLog, 40)}\n` + `--- etcd.log (tail) ---\n${tail(etcdLog, 15)}`;
    const portClash = /address already in use/i.test(logs);
    await stopAll(running, watchdog);
    const where = keep ? ` (kept ${dir})` : '';
    const causeText = cause instanceof Error ? `: ${cause.message}` : '';
    throw new StartError(`test cluster: ${what}${causeText}${where}\n${logs}`, portClash);
  };

  // -- etcd
  const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
  const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
  const etcd = spawnLogged(
    'etcd',
    [
      '--name=riposte-test',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=riposte-test=${peerUrl}`,
      '--initial-cluster-state=new',
      '--unsafe-no-fsync=true', // test data: durability not needed, much faster
      '--log-level=warn',
    ],
    etcdLog,
  );
  for (;;) {
    if (exited(etcd)) return await fail('etcd exited during startup');
    if (Date.now() > deadline) return await fail(`etcd not healthy within ${timeoutMs} ms`);
    try {
      const r = await httpGetPlain(`${etcdUrl}/health`);
      if (r.status === 200 && r.body.includes('"health":"true"')) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }

  // -- credentials
  const adminToken = randomBytes(24).toString('hex');
  const tokenFile = join(dir, 'tokens.csv');
  writeFileSync(tokenFile, `${adminToken},riposte-test-admin,riposte-test-admin,"system:masters"\n`, {
    mode: 0o600,
  });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));

  // -- kube-apiserver
  const disabled = opts.disableAdmissionPlugins ?? ['ServiceAccount'];
  const apiArgs = [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1', // also puts IP 127.0.0.1 in the self-signed cert
    `--secure-port=${apiPort}`,
    `--cert-dir=${certDir}`, // self-generates apiserver.crt/.key there
    `--token-auth-file=${tokenFile}`,
    '--authorization-mode=RBAC',
    `--service-account-key-file=${saPub}`,
    `--service-account-signing-key-file=${saKey}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    '--service-cluster-ip-range=10.96.0.0/16', // config only; nothing is contacted
    '--endpoint-reconciler-type=none', // no Endpoints for the `kubernetes` Service (no node IP)
    '--allow-privileged=true',
    ...(disabled.length > 0 ? [`--disable-admission-plugins=${disabled.join(',')}`] : []),
    ...(opts.apiServerArgs ?? []),
  ];
  const api = spawnLogged('kube-apiserver', apiArgs, apiLog);

  let caPem = '';
  for (;;) {
    if (exited(api)) return await fail('kube-apiserver exited during startup');
    if (exited(etcd)) return await fail('etcd exited during startup');
    if (Date.now() > deadline) return await fail(`kube-apiserver not ready within ${timeoutMs} ms`);
    if (!caPem && existsSync(join(certDir, 'apiserver.crt'))) {
      caPem = await readFile(join(certDir, 'apiserver.crt'), 'utf8');
      if (!caPem.includes('-----END CERTIFICATE-----')) caPem = '';
    }
    if (caPem) {
      try {
        const r = await httpGet(`${server}/readyz`, { ca: caPem, token: adminToken });
        if (r.status === 200 && r.body.trim() === 'ok') break;
      } catch {
        // not serving yet
      }
    }
    await sleep(250);
  }

  // -- kubeconfigs
  const caData = Buffer.from(caPem).toString('base64');
  const makeKubeConfigFor = (subject: KubeSubject): KubeConfig => {
    const kc = new KubeConfig();
    const user =
      'token' in subject
        ? { name: 'subject', token: subject.token }
        : { name: `as-${subject.impersonate}`, token: adminToken, impersonateUser: subject.impersonate };
    kc.loadFromClusterAndUser({ name: 'riposte-test', server, caData, skipTLSVerify: false }, user);
    return kc;
  };
  const writeKubeConfigFor = (subject: KubeSubject, fileName: string): string => {
    const path = join(dir, fileName);
    writeFileSync(path, makeKubeConfigFor(subject).exportConfig(), { mode: 0o600 });
    return path;
  };
  const kubeconfigPath = join(dir, 'kubeconfig');
  const kubeConfig = new KubeConfig();
  const kubeconfigDoc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'riposte-test', cluster: { server, 'certificate-authority-data': caData } }],
    users: [{ name: 'riposte-test-admin', user: { token: adminToken } }],
    contexts: [{ name: 'riposte-test', context: { cluster: 'riposte-test', user: 'riposte-test-admin' } }],
    'current-context': 'riposte-test',
  };
  writeFileSync(kubeconfigPath, JSON.stringify(kubeconfigDoc, null, 2), { mode: 0o600 });
  kubeConfig.loadFromFile(kubeconfigPath);

  let stopped: Promise<void> | undefined;
  return {
    server,
    kubeconfigPath,
    kubeConfig,
    adminToken,
    caPem,
    dir,
    makeKubeConfigFor,
    writeKubeConfigFor,
    async serviceAccountToken(namespace, name, expirationSeconds = 3600) {
      const core = kubeConfig.makeApiClient(CoreV1Api);
      const tr = await core.createNamespacedServiceAccountToken({
        name,
        namespace,
        body: { spec: { audiences: [], expirationSeconds } },
      });
      const token = tr.status?.token;
      if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
      return token;
    },
    stop() {
      stopped ??= stopAll(running, watchdog);
      return stopped;
    },
  };
}

async function stopAll(running: Running, watchdog: ChildProcess): Promise<void> {
  // API server first (it would otherwise log etcd connection errors), then etcd.
  for (const c of [...running.children].reverse()) await stopChild(c);
  killQuietly(watchdog, 'SIGKILL');
  if (!running.keep) rmSync(running.dir, { recursive: true, force: true });
  live.delete(running);
}
