#!/usr/bin/env bash
# Builds (or finds) the Pulumi toolchain on a machine without internet access:
#   pulumi v3.259.0 from the Go module proxy; pulumi-language-nodejs v3.259.0 and the provider
#   plugins pulumi-resource-command 1.2.1, -docker 5.0.0 and -random 4.21.1 from the checked
#   source archives in shared/offline-sources (the proxy does not serve them); the
#   dynamic-provider launcher (for stacks whose fact probes were dynamic resources, until their
#   first update by this version); actionlint for the workflow tests.
# Binaries are cached under $L9_TOOLCHAIN_BIN, a directory keyed by the pinned versions,
# outside the work tree, so a second run does nothing. The providers are then installed into
# $L9_PULUMI_HOME, where the engine finds them with plugin downloads off.
# Usage: scripts/toolchain.sh build          build what is missing, install the plugins (idempotent, shows progress)
#        scripts/toolchain.sh check          print each binary's version; non-zero if any is missing
#        scripts/toolchain.sh plugins [HOME] install the provider plugins into HOME (default $L9_PULUMI_HOME)
#        scripts/toolchain.sh bin            print the bin directory
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/toolchain/go-modules.sh"

BIN="$L9_TOOLCHAIN_BIN"
# Provider binaries stay off PATH (the engine warns on every run about plugins found there);
# the engine runs the copies `pulumi plugin install` puts into the Pulumi home.
PROVIDERS="$(dirname "$BIN")/providers"
WORK="$L9_CACHE_DIR/toolchain-build"
BINARIES=(pulumi pulumi-language-nodejs pulumi-resource-pulumi-nodejs pulumi-resource-command pulumi-resource-docker pulumi-resource-random actionlint)
# name version, as the engine knows the provider plugins
PLUGINS=("command $COMMAND_PROVIDER_VERSION" "docker $DOCKER_PROVIDER_VERSION" "random $RANDOM_PROVIDER_VERSION")

# The module proxy here cannot reach the checksum database; modules are still pinned by
# exact version, and go.sum files are written from what the proxy served.
export GOSUMDB=off GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY="${GOPROXY:-https://proxy.golang.org}"

binary_path() { # where a toolchain binary lives
  case "$1" in pulumi-resource-pulumi-nodejs) echo "$BIN/$1" ;; pulumi-resource-*) echo "$PROVIDERS/$1" ;; *) echo "$BIN/$1" ;; esac
}

version_of() { # prints the version a binary reports, or nothing
  local name="$1" path; path=$(binary_path "$1")
  [ -x "$path" ] || return 0
  case "$name" in
    pulumi) "$path" version 2>/dev/null ;;
    actionlint) "$path" -version 2>/dev/null | head -1 ;;
    *) [ -f "$path.version" ] && cat "$path.version" ;;
  esac
}

plugin_installed() { # plugin_installed <home> <name> <version>
  [ -x "$1/plugins/resource-$2-v$3/pulumi-resource-$2" ]
}

# Installs the three providers where the engine looks for them (idempotent).
install_plugins() {
  local home="${1:-$L9_PULUMI_HOME}" entry name version
  mkdir -p "$home"
  for entry in "${PLUGINS[@]}"; do
    read -r name version <<<"$entry"
    if plugin_installed "$home" "$name" "$version"; then continue; fi
    [ -x "$PROVIDERS/pulumi-resource-$name" ] || die "pulumi-resource-$name is not built: run scripts/toolchain.sh build"
    PULUMI_HOME="$home" PULUMI_SKIP_UPDATE_CHECK=true "$BIN/pulumi" plugin install resource "$name" "$version" --file "$PROVIDERS/pulumi-resource-$name" >/dev/null 2>&1 \
      || die "pulumi plugin install resource $name $version failed (home: $home)"
    log "plugin resource $name $version installed into $home"
  done
}

check() {
  local rc=0 name v entry version
  echo "toolchain: $BIN"
  for name in "${BINARIES[@]}"; do
    v=$(version_of "$name" | head -1)
    if [ -z "$v" ]; then printf '  %-32s MISSING\n' "$name"; rc=1; else printf '  %-32s %s\n' "$name" "$v"; fi
  done
  echo "provider plugins installed in $L9_PULUMI_HOME:"
  for entry in "${PLUGINS[@]}"; do
    read -r name version <<<"$entry"
    if plugin_installed "$L9_PULUMI_HOME" "$name" "$version"; then printf '  %-32s %s\n' "resource $name" "$version"; else printf '  %-32s NOT INSTALLED\n' "resource $name $version"; rc=1; fi
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

build() {
  command -v go >/dev/null || die "go is not installed (needed to build the Pulumi toolchain)"
  mkdir -p "$WORK" "$BIN" "$PROVIDERS"
  exec 9>"$WORK/.lock"
  flock 9
  local name i=0
  for name in "${BINARIES[@]}"; do
    i=$((i + 1))
    log "[$i/${#BINARIES[@]}] $name"
    build_one "$name"
  done
  install_plugins "$L9_PULUMI_HOME"
  check
}

case "${1:-}" in
  build) build ;;
  check) check ;;
  plugins) install_plugins "${2:-$L9_PULUMI_HOME}" ;;
  bin) echo "$BIN" ;;
  *) echo "usage: $0 build|check|plugins [HOME]|bin" >&2; exit 2 ;;
esac
