#!/usr/bin/env bash
# Runs a TypeScript tool of this repository on Node 22 (ts-node, transpile only), from any
# directory: `npm run release` is meant to be run inside the app repository.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
export PATH="$L9_NODE_BIN:$PATH" TS_NODE_TRANSPILE_ONLY=true TS_NODE_PROJECT="$L9_ROOT/tsconfig.json"
tool="$1"; shift
exec node -r "$L9_ROOT/node_modules/ts-node/register" "$L9_ROOT/$tool" "$@"
