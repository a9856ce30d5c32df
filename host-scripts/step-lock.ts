import { hostLayout } from "./layout";
import { lines, sh, ShellText } from "./shell";

/**
 * One release step of a service at a time on the host (slot guard, hooks, canary, switch). A
 * `pulumi` killed mid-update (a closed laptop, a cancelled job) may leave its host script
 * running: a migration, a canary step, a switch's watch. The next update's step waits for it
 * (bounded), then reads what it left (the journal, the markers), so no migration runs twice at
 * once, no two canaries move the same markers and no flip is journaled twice. The lock is the
 * kernel's (flock): a killed holder frees it.
 */
export function renderStepLockLines(appDir: string, waitSeconds: number): ShellText {
    const lock = `${hostLayout(appDir).stateDir}/switch.lock`;
    return lines(
        sh`command -v flock >/dev/null 2>&1 || fail "'flock' (util-linux) is not installed on the host: release steps need it to run one at a time"`,
        sh`exec 9>>${lock} || fail ${`cannot open ${lock}`}`,
        sh`if ! flock -n 9; then`,
        sh`  say ${`another release step of this service runs on the host (one an interrupted update left?): waiting for it, up to ${waitSeconds}s`}`,
        sh`  flock -w ${waitSeconds} 9 || fail ${`another release step of this service still ran after ${waitSeconds}s; nothing was changed. Find it with  ps -ef | grep 'sh -s'  and run pulumi up again once it ended`}`,
        sh`fi`,
    );
}

/**
 * The longest a release step of this service can hold the lock: both hooks at their bound, a
 * canary's steps, a switch's watch and drain, and 5 minutes for the rest (checks, prune).
 */
export function stepLockWaitSeconds(a: {
    watchSeconds: number;
    drainGraceSeconds: number;
    hookTimeoutSeconds: number;
    canary?: { steps: number; stepSeconds: number };
}): number {
    return 2 * a.hookTimeoutSeconds + (a.canary ? a.canary.steps * a.canary.stepSeconds : 0) + a.watchSeconds + a.drainGraceSeconds + 300;
}
