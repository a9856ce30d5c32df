import { Color, otherColor } from "../state/slot-machine";
import { renderRoutedSlotLine } from "./caddy";
import { caddyMarkerDir } from "./layout";
import { greenMarkerFile } from "./routing";
import { prologue, script, sh } from "./shell";
import { renderStepLockLines } from "./step-lock";

/** What follows a cutover: the slot that left service, and the images of older releases. */
export interface RetireScriptArgs {
    serviceName: string;
    appDir: string;
    /** The slot that serves now (the cutover's target). */
    serving: Color;
    /** The other slot's container, drained or kept warm (absent on a first deploy). */
    previousContainer?: string;
    /** Keep the previous slot running ("warm") or stop it ("stopped"). */
    standby: "warm" | "stopped";
    /** SIGTERM grace period for a drained slot. */
    drainGraceSeconds: number;
    /** How many release images to keep (besides any a container uses). */
    imagesToKeep: number;
    /** How long to wait for a release step of this service that still runs. */
    stepLockWaitSeconds: number;
}

/**
 * Retires what the cutover left: drains the previous slot (a stopped standby) or keeps it
 * warm, and prunes the service's images beyond the newest `imagesToKeep` and those a
 * container uses. Its own step, so that changing `imagesToKeep` or `drainGraceSeconds`
 * re-runs only this. A slot Caddy routes to is never drained: if the routing marker names
 * the previous slot (a flip since the plan), the step stops before anything changes.
 */
export function renderRetireScript(a: RetireScriptArgs): string {
    const previous = otherColor(a.serving);
    return script(
        prologue(`retire ${previous}`),
        renderStepLockLines(a.appDir, a.stepLockWaitSeconds),
        !!a.previousContainer &&
            (a.standby === "stopped"
                ? [
                      renderRoutedSlotLine(greenMarkerFile(caddyMarkerDir(a.serviceName), a.serviceName), "routing"),
                      sh`[ "$routing" != ${previous} ] || fail ${`Caddy routes to ${previous}: ${a.previousContainer} is not drained. Nothing was changed; run pulumi up again, it plans from what the host serves`}`,
                      sh`if docker inspect ${a.previousContainer} >/dev/null 2>&1; then say ${`draining ${a.previousContainer} (SIGTERM, ${a.drainGraceSeconds}s grace)`}; docker stop -t ${a.drainGraceSeconds} ${a.previousContainer} >/dev/null || say ${`could not stop ${a.previousContainer}`}; fi`,
                  ]
                : sh`say ${`keeping ${a.previousContainer} running as warm standby`}`),
        // Prune: keep the newest N images of this service and anything a container uses.
        sh`in_use=$(docker ps -a --format '{{.Image}}' | xargs -r docker image inspect -f '{{.Id}}' 2>/dev/null || true)`,
        sh`docker image ls --filter ${`label=l9.service=${a.serviceName}`} --format '{{.CreatedAt}}\\t{{.ID}}' | sort -r | cut -f2 | awk '!seen[$0]++' | tail -n +${a.imagesToKeep + 1} | while read -r img; do`,
        sh`  full=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null) || continue`,
        sh`  case "$in_use" in *"$full"*) continue;; esac`,
        sh`  say "pruning image $img"; docker image rm -f "$img" >/dev/null 2>&1 || true`,
        sh`done`,
    );
}
