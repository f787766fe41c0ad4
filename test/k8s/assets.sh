#!/usr/bin/env bash
# Prints (as the last line of stdout) a directory that holds `kube-apiserver` and `etcd`
# binaries for the real-API-server integration tests (test/k8s/harness.ts).
#
#   1. $KUBEBUILDER_ASSETS, when it is set and holds both binaries (envtest's convention:
#      `setup-envtest use -p path 1.37.x` prints such a directory).
#   2. Otherwise a cache directory outside the repository, built once from Go modules
#      through the module proxy:
#        ${RIPOSTE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/riposte}/k8s-assets/<k8s-version>/
#
# Idempotent: a second run finds the cache and prints it at once. A build goes to a
# temporary directory that is renamed into place only when complete, so a killed build
# never leaves a half-filled cache. Progress goes to stderr.
#
# Environment:
#   K8S_VERSION    Kubernetes version to build (default below; keep docs/testing-k8s.md in sync)
#   ETCD_VERSION   etcd version to build (default below)
#   RIPOSTE_CACHE_DIR, XDG_CACHE_HOME   cache location (see above)
#   KUBEBUILDER_ASSETS                  prebuilt binaries to use instead of building
#   ASSETS_CHECK_ONLY=1                 never build: exit 3 when no assets are found
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"

log() { printf '[k8s-assets] %s\n' "$*" >&2; }
die() { printf '[k8s-assets] error: %s\n' "$*" >&2; exit 1; }

has_assets() {
  [ -n "${1:-}" ] && [ -x "$1/kube-apiserver" ] && [ -x "$1/etcd" ]
}

if has_assets "${KUBEBUILDER_ASSETS:-}"; then
  log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
  printf '%s\n' "$KUBEBUILDER_ASSETS"
  exit 0
elif [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks kube-apiserver or etcd; falling back to the cache"
fi

cache_root="${RIPOSTE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/riposte}/k8s-assets"
dest="$cache_root/$K8S_VERSION"
stamp="kubernetes=$K8S_VERSION etcd=$ETCD_VERSION"

if has_assets "$dest" && [ "$(cat "$dest/VERSIONS" 2>/dev/null)" = "$stamp" ]; then
  log "using cached $dest ($stamp)"
  printf '%s\n' "$dest"
  exit 0
fi

if [ "${ASSETS_CHECK_ONLY:-}" = "1" ]; then
  log "no kube-apiserver/etcd found (KUBEBUILDER_ASSETS unset or incomplete, no cache at $dest)"
  exit 3
fi

# ---- build -------------------------------------------------------------------------------
if ! command -v go >/dev/null 2>&1; then
  for d in /usr/local/go/bin "$HOME/go/bin" /usr/lib/go/bin; do
    if [ -x "$d/go" ]; then PATH="$PATH:$d"; break; fi
  done
fi
command -v go >/dev/null 2>&1 || die "the Go toolchain ('go') is not on PATH (nor in /usr/local/go/bin).
Install Go >= 1.26 to build kube-apiserver $K8S_VERSION and etcd $ETCD_VERSION, or set
KUBEBUILDER_ASSETS to a directory that already holds both binaries."

export GOTOOLCHAIN=local CGO_ENABLED=0
mkdir -p "$cache_root"

# One build at a time per cache (two test runs starting together wait for each other).
exec 9>"$cache_root/.build.lock"
if command -v flock >/dev/null 2>&1; then
  log "waiting for the build lock $cache_root/.build.lock" && flock 9
  if has_assets "$dest" && [ "$(cat "$dest/VERSIONS" 2>/dev/null)" = "$stamp" ]; then
    log "built by another process meanwhile: $dest"
    printf '%s\n' "$dest"
    exit 0
  fi
  # We hold the lock, so no other build runs: leftovers are from killed builds.
  rm -rf "$cache_root"/.build-* "$cache_root"/.old-*
fi

work="$(mktemp -d "$cache_root/.build-$K8S_VERSION.XXXXXX")"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
out="$work/out"
mkdir -p "$out"
start=$(date +%s)
log "building kube-apiserver $K8S_VERSION and etcd $ETCD_VERSION with $(go version) into $dest"
log "this takes ~10 minutes on 2 cores with cold Go caches (seconds with warm ones), once per version"

# -- kube-apiserver -----------------------------------------------------------------------
cd "$work"
log "fetching k8s.io/kubernetes@$K8S_VERSION (go.mod and sources) through the module proxy"
k8s_json="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION")" \
  || die "go mod download k8s.io/kubernetes@$K8S_VERSION failed"
k8s_mod="$(printf '%s\n' "$k8s_json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[ -f "$k8s_mod" ] || die "no go.mod for k8s.io/kubernetes@$K8S_VERSION in: $k8s_json"
go_directive="$(awk '$1 == "go" { print $2; exit }' "$k8s_mod")"

# Staging modules = the `replace ( k8s.io/x => ./staging/src/k8s.io/x )` block of that go.mod.
# Each is published on its own as v0.<minor>.<patch>; replace it with that version.
staging_version="v0.${K8S_VERSION#v1.}"
mapfile -t staging < <(awk '/^replace[[:space:]]*\(/ { inblock = 1; next }
  inblock && /^\)/ { inblock = 0 }
  inblock && $2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }
  /^replace[[:space:]]+k8s\.io\/.*=>[[:space:]]*\.\/staging\// { print $2 }' "$k8s_mod")
[ "${#staging[@]}" -gt 0 ] || die "found no staging replace directives in $k8s_mod"
log "replacing ${#staging[@]} staging modules with their published $staging_version"

apiserver_mod="$work/kube-apiserver-mod"
mkdir -p "$apiserver_mod"
{
  printf 'module riposte.local/k8s-assets/kube-apiserver\n\ngo %s\n\n' "$go_directive"
  printf 'require k8s.io/kubernetes %s\n\n' "$K8S_VERSION"
  printf 'tool k8s.io/kubernetes/cmd/kube-apiserver\n\nreplace (\n'
  for m in "${staging[@]}"; do printf '\t%s => %s %s\n' "$m" "$m" "$staging_version"; done
  printf ')\n'
} >"$apiserver_mod/go.mod"

minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
ver_pkg=k8s.io/component-base/version
ldflags="-s -w -X $ver_pkg.gitVersion=$K8S_VERSION -X $ver_pkg.gitMajor=1 -X $ver_pkg.gitMinor=$minor"
ldflags="$ldflags -X $ver_pkg.gitTreeState=clean -X $ver_pkg.buildDate=1970-01-01T00:00:00Z"
(
  cd "$apiserver_mod"
  log "resolving kube-apiserver's module graph (go mod tidy)"
  go mod tidy >&2
  log "compiling kube-apiserver (the long part)"
  go build -trimpath -ldflags="$ldflags" -o "$out/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
) || die "building kube-apiserver $K8S_VERSION failed (see the go output above)"
log "kube-apiserver built after $(( $(date +%s) - start ))s"

# -- etcd ---------------------------------------------------------------------------------
etcd_mod="$work/etcd-mod"
mkdir -p "$etcd_mod"
etcd_go="$(go mod download -json "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
  | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')" || die "go mod download etcd failed"
etcd_go_directive="$(awk '$1 == "go" { print $2; exit }' "$etcd_go")"
printf 'module riposte.local/k8s-assets/etcd\n\ngo %s\n\nrequire go.etcd.io/etcd/server/v3 %s\n\ntool go.etcd.io/etcd/server/v3\n' \
  "$etcd_go_directive" "$ETCD_VERSION" >"$etcd_mod/go.mod"
(
  cd "$etcd_mod"
  log "resolving etcd's module graph (go mod tidy)"
  go mod tidy >&2
  log "compiling etcd"
  go build -trimpath -ldflags="-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3 >&2
) || die "building etcd $ETCD_VERSION failed (see the go output above)"

"$out/etcd" --version >&2 || die "the built etcd does not run"
"$out/kube-apiserver" --version >&2 || die "the built kube-apiserver does not run"
printf '%s\n' "$stamp" >"$out/VERSIONS"

# -- publish atomically -----------------------------------------------------------------
if [ -e "$dest" ]; then
  old="$cache_root/.old-$K8S_VERSION.$$"
  mv "$dest" "$old" && rm -rf "$old"
fi
mv "$out" "$dest"
log "done in $(( $(date +%s) - start ))s: $(du -sh "$dest" | cut -f1) in $dest"
printf '%s\n' "$dest"
