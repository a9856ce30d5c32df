import { renderRoutedSlotLine, renderStandaloneServerPresentLines } from "./caddy";
import { CANARY_MARKER_SUFFIX, greenMarkerFile, slotCanaryMarkerPrefix } from "./routing";
import { caddyMarkerDir, hostLayout } from "./layout";
import { lines, prologue, raw, script, sh } from "./shell";
import { Color, NetworkMode, otherColor } from "../state/slot-machine";
import { renderStepLockLines, STEP_LOCK_FUNCTION } from "./step-lock";

export interface SlotGuardArgs {
    serviceName: string;
    appDir: string;
    /** Caddy's admin API address. */
    caddyAdmin: string;
    color: Color;
    /** The slot's container, `<serviceName>-<color>`. */
    containerName: string;
    /** The image, tag and network mode the update puts in the slot. */
    imageId: string;
    tag: string;
    networkMode: NetworkMode;
    /** The fingerprint of the env the slot's release runs with, when known. */
    envFingerprint?: string;
    /** How long to wait for a release step of this service that still runs (an interrupted update's). */
    stepLockWaitSeconds: number;
}

/**
 * Runs before a slot's container is created or replaced, and refuses to replace the one Caddy
 * routes to, whatever the stack's plan says: the host's routing marker decides. It counts once
 * anything was switched here: the journal exists, or Caddy runs the service's server (a
 * journal removed by hand changes nothing). A container that
 * already runs the desired image, tag and network mode (and env: the journal records the env the serving
 * deploy went live with, and must name this slot) is not replaced, so it passes. Canary markers that
 * send a share to this slot are left only by a killed canary (a canary runs after this
 * step): they are removed first, so that no request goes to a container being replaced. A
 * release step an interrupted update left running (a canary, a switch) is waited for first.
 */
export function renderSlotGuardScript(a: SlotGuardArgs): string {
    const l = hostLayout(a.appDir);
    const markerDir = caddyMarkerDir(a.serviceName);
    const sameContainer = sh`[ "$running_image" = ${a.imageId} ] && [ "$running_tag" = ${a.tag} ] && [ "$running_network" = ${a.networkMode} ]`;
    // The container runs this env, or the journal cannot tell (the check below says when).
    const envMatches = (fingerprint: string) =>
        sh`{ [ "$running_env" = ${fingerprint} ] || { [ -z "$running_env" ] && [ "$journal_slot" != ${otherColor(a.color)} ]; }; }`;
    const alreadyRuns = `${a.containerName} already runs ${a.tag}`;
    return script(
        prologue(`guard ${a.color}`),
        STEP_LOCK_FUNCTION,
        sh`if [ -d ${l.stateDir} ]; then`,
        renderStepLockLines(a.appDir, a.stepLockWaitSeconds),
        sh`fi`,
        sh`for m in ${slotCanaryMarkerPrefix(markerDir, a.serviceName, a.color)}*${raw(CANARY_MARKER_SUFFIX)}; do`,
        sh`  [ -e "$m" ] || continue`,
        sh`  say "removing $m: a canary that was interrupted left it, and no canary runs now"`,
        sh`  rm -f "$m" || fail "cannot remove $m"`,
        sh`done`,
        renderStandaloneServerPresentLines(a.caddyAdmin, a.serviceName),
        sh`if [ ! -f ${l.activeRecord} ] && [ "$caddy_server" = no ]; then echo "nothing was switched on this host yet"; exit 0; fi`,
        renderRoutedSlotLine(greenMarkerFile(markerDir, a.serviceName), "routing"),
        sh`if [ "$routing" != ${a.color} ]; then echo "Caddy routes to $routing"; exit 0; fi`,
        sh`if ! running_image=$(docker inspect -f '{{.Image}}' ${a.containerName} 2>/dev/null); then echo ${`${a.containerName} does not exist`}; exit 0; fi`,
        sh`running_tag=$(docker inspect -f '{{index .Config.Labels "l9.tag"}}' ${a.containerName})`,
        // Docker names a bridge container's mode "default" when none was asked for.
        sh`running_network=$(docker inspect -f '{{.HostConfig.NetworkMode}}' ${a.containerName})`,
        sh`if [ "$running_network" = default ]; then running_network=bridge; fi`,
        a.envFingerprint === undefined
            ? sh`if ${sameContainer}; then echo ${alreadyRuns}; exit 0; fi`
            : lines(
                  // Only a journal that names this slot knows its env. One that names the other slot
                  // (Caddy was flipped without it) cannot show that this container runs this env: an
                  // env release into it would replace it. A journal without envs (an older version's),
                  // or none, is not judged.
                  sh`running_env=$(grep -F ${`"slot":"${a.color}"`} ${l.activeRecord} 2>/dev/null | sed -n 's/.*"envFingerprint":"\\([0-9a-f]*\\)".*/\\1/p')`,
                  sh`journal_slot=$(sed -n 's/.*"slot":"\\([a-z]*\\)".*/\\1/p' ${l.activeRecord} 2>/dev/null)`,
                  sh`if ${sameContainer} && ${envMatches(a.envFingerprint)}; then echo ${`${alreadyRuns} with this env`}; exit 0; fi`,
              ),
        sh`fail ${`refusing to replace ${a.color} (${a.containerName}`}", running $running_tag, $running_network network): "${
            `Caddy routes to it, and this update would put ${a.tag} (${a.networkMode} network) there. Nothing was changed. ` +
            `The stack's record is older than the host (an update interrupted after its switch?): run pulumi up again, it plans from what the host serves; ` +
            `if this repeats, the plan is wrong, report it with the output of: cat ${l.activeRecord}; ls ${markerDir}`
        }`,
    );
}
