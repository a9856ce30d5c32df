import { hostLayout } from "./layout";
import { lines, sh, ShellText } from "./shell";

// Part of STEP_LOCK_FUNCTION's lines, apart only for the source's line limit.
const FIND_THE_HOLDER = sh`Find it with  ps -ef | grep 'sh -s'  and run pulumi up again once it ended`;

/**
 * `l9_step_lock LOCK_FILE WAIT_SECONDS`: one release step of a service at a time on the host
 * (slot guard, hooks, canary, switch). A `pulumi` killed mid-update (a closed laptop, a
 * cancelled job) may leave its host script running: a migration, a canary step, a switch's
 * watch. The next update's step waits for it (bounded), then reads what it left (the journal,
 * the markers), so no migration runs twice at once, no two canaries move the same markers and
 * no flip is journaled twice. The lock is the kernel's (flock on fd 9): a killed holder frees it.
 * Part of the step library; the slot guard, which runs before the library is installed, carries
 * it inline.
 */
export const STEP_LOCK_FUNCTION = lines(
    sh`l9_step_lock() {`,
    sh`  command -v flock >/dev/null 2>&1 || fail "'flock' (util-linux) is not installed on the host: release steps need it to run one at a time"`,
    sh`  exec 9>>"$1" || fail "cannot open $1"`,
    sh`  if ! flock -n 9; then`,
    sh`    say "another release step of this service runs on the host (one an interrupted update left?): waiting for it, up to $2s"`,
    sh`    flock -w "$2" 9 || fail "another release step of this service still ran after $2s; nothing was changed. ${FIND_THE_HOLDER}"`,
    sh`  fi`,
    sh`}`,
);

/** Takes the service's step lock (STEP_LOCK_FUNCTION), waiting for a holder up to `waitSeconds`. */
export function renderStepLockLines(appDir: string, waitSeconds: number): ShellText {
    return sh`l9_step_lock ${`${hostLayout(appDir).stateDir}/switch.lock`} ${waitSeconds}`;
}

/**
 * The longest a release step of this service can hold the lock: both hooks at their bound, a
 * canary's steps, a switch's watch and drain, and 5 minutes for the rest (checks, prune).
 */
export function stepLockWaitSeconds(a: {
    watchSeconds: number;
    drainGraceSeconds: number;
    hookTimeoutSeconds: number;
    /** How many bounded hook runs one step makes at most (2 when absent: backup and migrate). */
    hookRuns?: number;
    canary?: { steps: number; stepSeconds: number };
}): number {
    return (a.hookRuns ?? 2) * a.hookTimeoutSeconds + (a.canary ? a.canary.steps * a.canary.stepSeconds : 0) + a.watchSeconds + a.drainGraceSeconds + 300;
}
