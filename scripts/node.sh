#!/usr/bin/env bash
# Runs a TypeScript tool of this repository on Node 22 (ts-node, transpile only).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
export PATH="$L9_NODE_BIN:$PATH" TS_NODE_TRANSPILE_ONLY=true
cd "$L9_ROOT"
exec node -r ts-node/register "$@"
