#!/usr/bin/env bash
# Builds (or finds) the Pulumi toolchain from the Go module proxy, offline-friendly:
#   pulumi (v3.259.0), pulumi-language-nodejs, and the dynamic-provider launcher
#   pulumi-resource-pulumi-nodejs. l9-deploy's resources are dynamic providers written in
#   TypeScript (components/providers/), so no provider plugin binary is needed: the module
#   proxy reachable here serves none of pulumi-command, pulumi-docker or pulumi-random's
#   provider modules (README, "Toolchain").
# Binaries are cached under $L9_TOOLCHAIN_BIN, a directory keyed by the pinned versions,
# outside the work tree, so a second run does nothing.
# Usage: scripts/toolchain.sh build   build what is missing (idempotent, shows progress)
#        scripts/toolchain.sh check   print each binary's version; non-zero if any is missing
#        scripts/toolchain.sh bin     print the bin directory
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/toolchain/go-modules.sh"

BIN="$L9_TOOLCHAIN_BIN"
WORK="$L9_CACHE_DIR/toolchain-build"
BINARIES=(pulumi pulumi-language-nodejs pulumi-resource-pulumi-nodejs pulumi-analyzer-policy-l9-nodejs actionlint)

# The module proxy here cannot reach the checksum database; modules are still pinned by
# exact version, and go.sum files are written from what the proxy served.
export GOSUMDB=off GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY="${GOPROXY:-https://proxy.golang.org}"

version_of() { # prints the version a binary reports, or nothing
  local name="$1" path="$BIN/$1"
  [ -x "$path" ] || return 0
  case "$name" in
    pulumi) "$path" version 2>/dev/null ;;
    pulumi-resource-pulumi-nodejs) echo "launcher for @pulumi/pulumi dynamic providers" ;;
    pulumi-analyzer-policy-l9-nodejs) echo "launcher for Node.js policy packs (scripts/policy-pack.sh)" ;;
    actionlint) "$path" -version 2>/dev/null | head -1 ;;
    *) [ -f "$path.version" ] && cat "$path.version" ;;
  esac
}

check() {
  local rc=0 name v
  echo "toolchain: $BIN"
  for name in "${BINARIES[@]}"; do
    v=$(version_of "$name" | head -1)
    if [ -z "$v" ]; then printf '  %-32s MISSING\n' "$name"; rc=1; else printf '  %-32s %s\n' "$name" "$v"; fi
  done
  return $rc
}

# go_build_with_progress <label> <dir> <output> <go build args...>: go build with a heartbeat.
go_build_with_progress() {
  local label="$1" dir="$2" out="$3"; shift 3
  local logf="$WORK/$label.log" start=$SECONDS pid
  log "$label: compiling (cold: several minutes on 2 cores; log: $logf)"
  (cd "$dir" && go build -v -trimpath -o "$out.tmp" "$@") >"$logf" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    kill -0 "$pid" 2>/dev/null && log "$label: still compiling, $((SECONDS - start)) s, $(grep -c '' "$logf") packages so far"
  done
  if ! wait "$pid"; then tail -30 "$logf" >&2; die "$label: go build failed (full log: $logf)"; fi
  mv "$out.tmp" "$out"
  log "$label: built in $((SECONDS - start)) s"
}

build_one() {
  local name="$1"
  if [ -n "$(version_of "$name")" ]; then log "$name: cached"; return; fi
  mkdir -p "$WORK/$name" "$BIN"
  "build_$name" "$WORK/$name"
  [ -n "$(version_of "$name")" ] || die "$name: built but does not report a version"
}

build_pulumi-resource-pulumi-nodejs() {
  # The launcher the engine runs for dynamic providers: node on @pulumi/pulumi's entry point,
  # resolved from the project that is running (the engine starts it in the project dir).
  cat >"$BIN/pulumi-resource-pulumi-nodejs" <<'SH'
#!/bin/sh
exec node "$(node -p 'require.resolve("@pulumi/pulumi/cmd/dynamic-provider")')" "$@"
SH
  chmod +x "$BIN/pulumi-resource-pulumi-nodejs"
}

build_pulumi-analyzer-policy-l9-nodejs() {
  # Policy packs: the 3.68 language host cannot run them (no RunPlugin), so they go through
  # the engine's analyzer-plugin path, which runs this launcher in the pack's directory: the
  # same thing Pulumi's own `pulumi-analyzer-policy` script does. scripts/policy-pack.sh
  # points a pack at it.
  cat >"$BIN/pulumi-analyzer-policy-l9-nodejs" <<'SH'
#!/bin/sh
exec node "$(node -p 'require.resolve("@pulumi/pulumi/cmd/run-policy-pack")')" "$@"
SH
  chmod +x "$BIN/pulumi-analyzer-policy-l9-nodejs"
}

build() {
  command -v go >/dev/null || die "go is not installed (needed to build the Pulumi toolchain)"
  mkdir -p "$WORK" "$BIN"
  exec 9>"$WORK/.lock"
  flock 9
  local name i=0
  for name in "${BINARIES[@]}"; do
    i=$((i + 1))
    log "[$i/${#BINARIES[@]}] $name"
    build_one "$name"
  done
  check
}

case "${1:-}" in
  build) build ;;
  check) check ;;
  bin) echo "$BIN" ;;
  *) echo "usage: $0 build|check|bin" >&2; exit 2 ;;
esac
