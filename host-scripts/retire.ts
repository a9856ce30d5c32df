import { renderPruneImagesLine } from "./image-prune";
import { sh, ShellText } from "./shell";

/** What becomes of the slot that left service, and of older release images. */
export interface RetireArgs {
    /** Keep the previous slot running ("warm") or stop it ("stopped"). */
    standby: "warm" | "stopped";
    /** SIGTERM grace period for a drained slot. */
    drainGraceSeconds: number;
    /** How many release images to keep (besides any a container uses). */
    imagesToKeep: number;
}

/**
 * The retire lines: drain the previous slot's container (a stopped standby) or keep it warm,
 * then prune the service's images beyond the newest `imagesToKeep` and those a container uses.
 * Neither fails the step: the release is live by then.
 */
export function renderRetireLines(serviceName: string, previousContainer: string | undefined, r: RetireArgs): ShellText[] {
    const prune = renderPruneImagesLine(serviceName, r.imagesToKeep);
    if (!previousContainer) return [prune];
    const draining = `draining ${previousContainer} (SIGTERM, ${r.drainGraceSeconds}s grace)`;
    const stop = sh`docker stop -t ${r.drainGraceSeconds} ${previousContainer} >/dev/null || say ${`could not stop ${previousContainer}`}`;
    const drain =
        r.standby === "stopped"
            ? sh`if docker inspect ${previousContainer} >/dev/null 2>&1; then say ${draining}; ${stop}; fi`
            : sh`say ${`keeping ${previousContainer} running as warm standby`}`;
    return [drain, prune];
}

/** Whether the retire lines stop a container (so a retire on its own checks what Caddy routes to first). */
export function retireDrains(previousContainer: string | undefined, r: RetireArgs): boolean {
    return !!previousContainer && r.standby === "stopped";
}
