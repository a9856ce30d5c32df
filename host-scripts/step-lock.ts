import { hostLayout } from "./layout";
import { lines, sh, ShellText } from "./shell";

/**
 * One switch or canary of a service at a time on the host. A `pulumi` killed mid-update (a
 * closed laptop, a cancelled job) leaves its host script running: the switch goes on with its
 * watch and records its deploy, the canary with its steps. The next update's step waits for
 * it (bounded), then reads the journal it left, so no flip or record is made twice and no two
 * canaries move the same markers. The lock is the kernel's (flock): a killed holder frees it.
 */
export function renderStepLockLines(appDir: string, waitSeconds: number): ShellText {
    const lock = `${hostLayout(appDir).stateDir}/switch.lock`;
    return lines(
        sh`exec 9>>${lock} || fail ${`cannot open ${lock}`}`,
        sh`if ! flock -n 9; then`,
        sh`  say ${`another step of this service that moves traffic runs on the host (one an interrupted update left?): waiting for it, up to ${waitSeconds}s`}`,
        sh`  flock -w ${waitSeconds} 9 || fail ${`another step of this service that moves traffic still ran after ${waitSeconds}s; nothing was changed. Find it with  ps -ef | grep 'sh -s'  and run pulumi up again once it ended`}`,
        sh`fi`,
    );
}

/**
 * The longest a switch or canary of this service can hold the lock: a canary's steps, a
 * switch's watch and drain, and 5 minutes for the rest (config load, checks, prune).
 */
export function stepLockWaitSeconds(a: { watchSeconds: number; drainGraceSeconds: number; canary?: { steps: number; stepSeconds: number } }): number {
    return (a.canary ? a.canary.steps * a.canary.stepSeconds : 0) + a.watchSeconds + a.drainGraceSeconds + 300;
}
