#!/usr/bin/env bash
# The test command: installs what is needed, brings up the sandbox VPS (and its 3 isolated
# hosts), type-checks, then
# runs every test tier in one mocha run (unit, then host, then e2e), ending with mocha's
# summary. Pass mocha arguments to narrow it, e.g. scripts/test.sh --grep drift
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bash "$L9_ROOT/scripts/setup.sh"
# Three isolated hosts too, for the multi-host tests (scripts/sandbox/hosts.sh).
bash "$L9_ROOT/scripts/sandbox.sh" up --hosts 3
cd "$L9_ROOT"
export PATH="$L9_NODE_BIN:$L9_ROOT/node_modules/.bin:$PATH"
log "typecheck: tsc --noEmit"
tsc --noEmit -p .
export TS_NODE_TRANSPILE_ONLY=true
log "mocha: unit, host, e2e"
exec mocha "$@" 'test/unit/**/*.test.ts' 'test/host/**/*.test.ts' 'test/e2e/**/*.test.ts'
