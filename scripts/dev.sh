#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The two README commands. Both set everything up (idempotently), then:
#   bash scripts/dev.sh start   — start Riposte (engine, HTTP, embedded Redis)
#   bash scripts/dev.sh test    — run the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"
case "$mode" in start|test) ;; *) echo "usage: bash scripts/dev.sh start|test" >&2; exit 2 ;; esac
shift || true

log() { printf '== %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# system packages: Redis for the queue, the eBPF toolchain for the sensor, Chromium for UI tests
apt_packages=(redis-server clang llvm libbpf-dev bpftool make gcc pkg-config libelf-dev zlib1g-dev iproute2 ca-certificates)
if [ "$mode" = test ]; then apt_packages+=(chromium); fi
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm dependencies; the `node` dev dependency puts Node 24 first on the PATH of npm scripts
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

# the eBPF sensor (bpf/Makefile generates vmlinux.h from the running kernel's BTF)
if [ -f bpf/Makefile ]; then
  log "building the eBPF sensor"
  make -s -C bpf
fi

if [ "$mode" = test ]; then
  # a real kube-apiserver + etcd for the Kubernetes tests, built once from Go modules into a cache
  if [ -f test/k8s/assets.sh ] && [ -z "${KUBEBUILDER_ASSETS:-}" ]; then
    log "finding or building kube-apiserver and etcd (first time: several minutes)"
    KUBEBUILDER_ASSETS="$(bash test/k8s/assets.sh | tail -n 1)"
    export KUBEBUILDER_ASSETS
  fi
  log "running the test suite"
  exec npm test -- "$@"
fi
log "starting riposte"
exec npm start -- "$@"
