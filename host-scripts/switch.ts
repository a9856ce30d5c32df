import { renderCaddyAdminLines, renderClearCanaryLine, renderSetMarkerLine } from "./caddy";
import { renderRoutingFactsLines, renderStandaloneRoutingFactsLines, renderSwitchRoutesLines } from "./caddy-routes";
import { hostLayout } from "./layout";
import { caddyServerArgs, greenMarkerFile, RoutingArgs, slotDial, slotUpstreamsJson } from "./routing";
import { Color, otherColor } from "../state/slot-machine";
import { renderServiceDirLines } from "./service-footprint";
import { EndpointCheckArgs, renderEndpointCheckLines } from "./endpoint-checks";
import { containerIsNew } from "./attempt";
import { NotifyContext, renderNotifyLines } from "./notify";
import { renderDeployOutcomeLine } from "./deploy-metrics";
import {
    DeployRecordFields,
    renderJournalFailedAfterSwitchLines,
    renderJournalLines,
    renderJournalLiveLines,
    renderLiveSinceWord,
    renderJournalSwitchedBackLines,
    renderJournalSwitchingLines,
} from "./journal";
import { lines, oneLine, renderRecordedTimeCommand, script, sh, ShellText } from "./shell";
import { renderLogTailLine, renderStepPrologue } from "./step-library";
import { renderRetireLines, retireDrains, RetireArgs } from "./retire";
import { renderStepLockLines } from "./step-lock";

/** The post-switch watch: the new slot keeps being checked while it serves. */
export interface WatchArgs {
    /** How long to watch after the switch (0: no watch). */
    seconds: number;
    /** Failed rounds in a row that switch traffic back to the standby. */
    failures: number;
    /** What a round checks: the new slot's health endpoint and smoke requests. */
    checks: EndpointCheckArgs;
}

export interface SwitchScriptArgs extends RoutingArgs {
    /** The slot that becomes active. */
    slot: Color;
    /** Its container (quoted in messages, its logs in notifications). */
    containerName: string;
    /** Container of the other slot: the watch's way back, then drained or kept warm (absent on a first deploy). */
    previousContainer?: string;
    /** What becomes of the other slot and old images (absent: the cutover alone, as its trigger hashes it). */
    retire?: RetireArgs;
    /** What went live, for the deploy record and the host's state file. */
    record: DeployRecordFields;
    /** The post-switch watch. */
    watch: WatchArgs;
    /** Who is told (a new container is a release, "success"; the standby returning is a "rollback"), and where the outcome is recorded. */
    notify: NotifyContext;
    /** How long to wait for a release step of this service that still runs (an interrupted update's). */
    stepLockWaitSeconds: number;
}

export type { DeployRecordFields };

/** The flip: one atomic filesystem operation that Caddy reads on every request. */
function renderFlipLine(slot: Color, marker: string): ShellText {
    return slot === "green" ? renderSetMarkerLine(marker) : sh`rm -f ${marker}`;
}

/**
 * The post-switch watch: one round a second for `seconds`, each the health endpoint and the
 * smoke requests of the new slot. `failures` failed rounds in a row flip traffic back to the
 * standby (when it runs and answers its health endpoint), record and notify the switch-back,
 * and fail the step naming the check.
 */
function renderWatchLines(a: SwitchScriptArgs, marker: string, facts: ShellText[]): ShellText[] {
    if (a.watch.seconds <= 0) return [];
    const back = otherColor(a.slot);
    const backDial = slotDial(a, back);
    const stays = renderJournalFailedAfterSwitchLines();
    // Traffic stays on the new slot: journaled, notified, and the step fails saying why.
    const staysBecause = (why: string) =>
        sh`${stays}; notify failure ${`watch: `}"$check_failed" "$log_tail"; fail ${`post-switch watch: `}"$check_failed"${`; ${why}`}`;
    const notARelease = `${a.slot} is not a new release (a rollback or a heal), so traffic stays on it`;
    const standbyDown = `the standby ${a.previousContainer} is not running, so traffic stays on ${a.slot}`;
    const standbyUnhealthy = `the standby ${a.previousContainer} does not answer its health endpoint either, so traffic stays on ${a.slot}`;
    const backRouted = sh`[ "$routing" = ${back} ] && [ "$upstream" = ${slotUpstreamsJson(a, back)} ]`;
    const switchedBack = `; traffic was switched back to ${back} (${a.notify.previousTag ?? "the standby"})`;
    return [
        renderEndpointCheckLines(a.watch.checks),
        sh`switch_back() {`,
        sh`  ${renderLogTailLine(a.containerName, 30)}`,
        // Only a new release goes back to the standby: after a rollback (or a heal of a release
        // live for a while) the other slot holds what was left on purpose.
        sh`  if [ "$release" != yes ] || [ "$settled" = yes ]; then ${staysBecause(notARelease)}; fi`,
        a.previousContainer
            ? lines(
                  sh`  [ "$(docker inspect -f '{{.State.Running}}' ${a.previousContainer} 2>/dev/null)" = true ] || { ${staysBecause(standbyDown)}; }`,
                  sh`  curl -fsS -m 5 -o /dev/null ${`http://${backDial}${a.watch.checks.healthPath}`} || { ${staysBecause(standbyUnhealthy)}; }`,
                  // This release failed: recorded before traffic moves, so a switch-back that cannot be verified is too.
                  sh`  ${renderDeployOutcomeLine(a.notify, "failed")}`,
                  sh`  say ${`switching traffic back to ${back} (${a.previousContainer}, ${a.notify.previousTag ?? "the standby"})`}`,
                  renderFlipLine(back, marker),
                  ...facts.map((f) => sh`  ${f}`),
                  sh`  ${backRouted} || fail ${`switch-back to ${back} could not be verified:`}" routing $routing, upstream $upstream"`,
                  renderJournalSwitchedBackLines(),
                  sh`  notify rollback ${`automatic switch-back to ${a.notify.previousTag ?? back}: `}"$check_failed" "$log_tail"`,
                  sh`  printf '%s\\n' "$log_tail" | sed 's/^/  | /' >&2`,
                  sh`  fail ${`post-switch watch: `}"$check_failed ($w_fails times in a row)"${switchedBack}`,
              )
            : lines(
                  sh`  ${stays}`,
                  sh`  notify failure ${`watch: `}"$check_failed" "$log_tail"`,
                  sh`  fail ${`post-switch watch: `}"$check_failed"${`; there is no standby to switch back to (first deploy), so traffic stays on ${a.slot}`}`,
              ),
        sh`}`,
        sh`l9_watch ${a.slot} ${a.watch.seconds} ${a.watch.failures}`,
    ];
}

/** The argument that runs only the switch's retire part (its `update`): `sh -s retire`. */
export const RETIRE_ONLY = "retire";

/**
 * Routes traffic to the new slot: makes sure Caddy has the service's two-route config
 * (loaded only when missing or different), then flips the marker file (atomic, no Caddy
 * reload), verifies, records the deploy, drains or keeps warm the old slot and prunes old
 * images. Prints the deploy time.
 *
 * Run with the argument RETIRE_ONLY, it only drains or keeps warm and prunes, then prints the
 * recorded deploy time: what a change of imagesToKeep, drainGraceSeconds or standby alone
 * runs. It never drains a slot Caddy routes to (the plan may predate a flip on the host).
 */
export function renderSwitchScript(a: SwitchScriptArgs): string {
    const l = hostLayout(a.appDir);
    const caddyArgs = caddyServerArgs(a);
    const marker = greenMarkerFile(caddyArgs.markerDir, a.serviceName);
    const dial = slotDial(a, a.slot);
    const upstreams = slotUpstreamsJson(a, a.slot);
    const facts = renderRoutingFactsLines(caddyArgs);
    const routes = renderSwitchRoutesLines(caddyArgs);
    const retire = a.retire ? renderRetireLines(a.serviceName, a.previousContainer, a.retire) : [];
    const previous = otherColor(a.slot);
    const notDrained = `Caddy routes to ${previous}: ${a.previousContainer} was not drained. ` + "Run pulumi up again: it plans from what the host serves";
    const upstreamEdited = sh`say ${`Caddy's ${a.slot} upstream is`}" $upstream, "${`not ${dial}: restoring the config`}`;
    const routed = sh`[ "$routing" = ${a.slot} ] && [ "$upstream" = ${upstreams} ] && [ "$config" = current ]`;
    const notRouted = `Caddy does not route to ${a.slot} (${dial}) after the switch:`;
    return script(
        renderStepPrologue(a.appDir, `switch to ${a.slot}`),
        renderNotifyLines(a.notify),
        renderCaddyAdminLines(caddyArgs),
        // Least privilege: appDir and its state stay 0750; only the marker directory is readable by others (Caddy's user).
        renderServiceDirLines(a.appDir, a.serviceName),
        renderStepLockLines(a.appDir, a.stepLockWaitSeconds),
        !!a.retire &&
            lines(
                sh`if [ "$#" -gt 0 ] && [ "$1" = ${RETIRE_ONLY} ]; then`,
                retireDrains(a.previousContainer, a.retire) && [...facts.map((f) => sh`  ${f}`), sh`  [ "$routing" != ${previous} ] || fail ${notDrained}`],
                ...retire.map((line) => sh`  ${line}`),
                // The switch's output is the live deploy's time: from the host's state file.
                sh`  sed -n 's/.*"time":"\\([^"]*\\)".*/\\1/p' ${l.activeRecord}`,
                sh`  exit 0`,
                sh`fi`,
            ),
        routes.beforeFlip,
        sh`if ${containerIsNew(a.appDir, a.containerName)}; then release=yes; else release=no; fi`,
        renderJournalLines({ appDir: a.appDir, slot: a.slot, record: a.record }),
        renderJournalSwitchingLines(marker),
        renderFlipLine(a.slot, marker),
        routes.afterFlip ?? false,
        // A canary killed before its own cleanup leaves a marker: the switch ends any canary.
        !!a.canary && renderClearCanaryLine(caddyArgs),
        ...facts,
        // A handler edited by hand keeps the config id: put our config back.
        sh`if [ "$upstream" != ${upstreams} ]; then ${upstreamEdited}; load_config; ${oneLine(facts)}; fi`,
        sh`${routed} || fail ${notRouted}" routing $routing, upstream $upstream, config $config"`,
        sh`say ${`Caddy now routes to ${a.slot} (${dial})`}`,
        sh`time=$(${renderRecordedTimeCommand()})`,
        ...renderWatchLines(a, marker, facts),
        renderJournalLiveLines(),
        // Live: recorded on every run, a re-run of a deploy already live too (a switch interrupted after its flip), its
        // last success at the time it went live (the journal's `live_since`). A return to the standby is a deploy gone
        // live as well: this update's tag serves.
        renderDeployOutcomeLine(a.notify, "live", renderLiveSinceWord()),
        ...retire,
        // A re-run of the same deploy (a heal, or a switch interrupted after its flip) tells
        // nobody; a new container is a release, an existing one the standby returning (a rollback).
        sh`if [ "$already_live" = no ]; then if [ "$release" = yes ]; then notify success; else notify rollback; fi; fi`,
        sh`rm -f ${l.attemptStarted}`,
        sh`echo "$time"`,
    );
}

/** Read-only facts for refresh: which slot Caddy routes to, what it dials, whether its config is ours. */
export function renderRoutingCheckScript(a: RoutingArgs): string {
    return script(
        renderStandaloneRoutingFactsLines(a.caddyAdmin, caddyServerArgs(a)),
        sh`printf 'routing=%s\\nupstream=%s\\nconfig=%s\\n' "$routing" "$upstream" "$config"`,
    );
}
