import { lines, sh } from "./shell";

// Part of WATCH_FUNCTION's lines, apart only for the source's line limit.
const WATCH_ROUND_FAILED = sh`w_fails=$((w_fails + 1)); say "watch: $check_failed ($w_fails/$3)"; [ "$w_fails" -lt "$3" ] || switch_back`;

/**
 * `l9_watch SLOT SECONDS FAILURES` (part of the step library): one round a second for SECONDS,
 * each `check_health && check_smoke`; FAILURES failed rounds in a row call `switch_back`.
 */
export const WATCH_FUNCTION = lines(
    sh`l9_watch() {`,
    sh`  say "watching $1 for $2s (health and smoke every second; $3 failures in a row switch back)"`,
    sh`  w_end=$(( $(date +%s) + $2 )); w_fails=0`,
    sh`  while [ "$(date +%s)" -lt "$w_end" ]; do`,
    sh`    if check_health && check_smoke; then w_fails=0; else ${WATCH_ROUND_FAILED}; fi`,
    sh`    sleep 1`,
    sh`  done`,
    sh`  say "watch: $1 passed $2s of checks ($w_fails failed at the end, below $3)"`,
    sh`}`,
);
