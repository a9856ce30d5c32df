#!/usr/bin/env bash
# `npm run bench`: installs what is needed, starts the sandbox, runs the side-by-side deploy
# benchmark (tools/bench.ts) and writes docs/benchmarks.md + docs/benchmark-status.png.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bash "$L9_ROOT/scripts/setup.sh"
# The rolling scenario runs on 3 isolated sandbox hosts behind an edge balancer.
bash "$L9_ROOT/scripts/sandbox.sh" up --hosts 3 >/dev/null
exec bash "$L9_ROOT/scripts/node.sh" tools/bench.ts
