#!/usr/bin/env bash
# The main job on the embedded default: installs what is needed, brings up the sandbox VPS,
# prepares the `local` stack and runs a real `pulumi up` of it. Idempotent: a second run
# converges to the same state (no changes when nothing changed).
# Extra arguments go to `pulumi up`, e.g. scripts/demo.sh --diff
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bash "$L9_ROOT/scripts/setup.sh"
bash "$L9_ROOT/scripts/sandbox.sh" up
bash "$L9_ROOT/scripts/sandbox/local-stack.sh"
log "pulumi up --stack local"
bash "$L9_ROOT/scripts/pulumi.sh" up --stack local --yes --skip-preview "$@"
log "done: the service answers at http://127.0.0.1:8080 ($(curl -fsS -m 5 http://127.0.0.1:8080/version 2>/dev/null || echo 'not answering'))"
