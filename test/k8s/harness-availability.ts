// Finds the kube-apiserver + etcd binaries for the real-API-server tests, without building.
//
// The build (tens of minutes, once per version) belongs to the test command's setup step,
// which runs `bash test/k8s/assets.sh`. Here we only ask that same script, in check-only
// mode, where the binaries are, so the version and cache location live in one place.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ASSETS_SCRIPT = fileURLToPath(new URL('./assets.sh', import.meta.url));

const HOW_TO_GET =
  'run `bash test/k8s/assets.sh` once (builds kube-apiserver and etcd from Go modules into the cache), ' +
  'or set KUBEBUILDER_ASSETS to a directory holding both binaries; see docs/testing-k8s.md';

let cached: { dir: string | undefined; detail: string } | undefined;

/**
 * Directory holding `kube-apiserver` and `etcd` (KUBEBUILDER_ASSETS or the build cache),
 * or `undefined` with the reason in `detail`. Never builds.
 */
export function findK8sAssets(): { dir: string | undefined; detail: string } {
  if (cached) return cached;
  const r = spawnSync('bash', [ASSETS_SCRIPT], {
    env: { ...process.env, ASSETS_CHECK_ONLY: '1' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.error) {
    cached = { dir: undefined, detail: `could not run ${ASSETS_SCRIPT}: ${r.error.message}` };
  } else if (r.status === 0) {
    const lines = r.stdout.trim().split('\n');
    cached = { dir: lines[lines.length - 1], detail: r.stderr.trim() };
  } else {
    cached = { dir: undefined, detail: r.stderr.trim() || `assets.sh exited with ${r.status}` };
  }
  return cached;
}

/**
 * For `test(name, { skip: k8sAssetsOrSkip() }, ...)` / `describe(..., { skip })`:
 * `undefined` when the binaries are there; a skip reason when they are not, except under
 * CI (`CI=true`), where missing binaries throw: CI must fail, not skip silently.
 */
export function k8sAssetsOrSkip(): string | undefined {
  const { dir, detail } = findK8sAssets();
  if (dir) return undefined;
  const reason = `no kube-apiserver/etcd binaries (${detail}); ${HOW_TO_GET}`;
  if (process.env.CI === 'true') {
    throw new Error(`CI=true and ${reason}`);
  }
  return reason;
}
