import { Color } from "../state/slot-machine";
import { hostLayout } from "./layout";
import { renderRoutedSlotLine } from "./caddy";
import { lines, sh, ShellText } from "./shell";

/**
 * The states a deploy goes through in the host's journal (`deploys.jsonl`, one line per state
 * change): `switching` at the flip, then `live` once the watch passed, or `switched-back` (the
 * watch flipped traffic back to the standby) or `failed-after-switch` (the watch failed and
 * traffic stayed on the new slot).
 */
export type JournalStatus = "switching" | "live" | "switched-back" | "failed-after-switch";

export interface DeployRecordFields {
    /** Unique id of this deploy (a RandomId, so re-applying a tag is a new record). */
    id: string;
    tag: string;
    commit: string;
    imageId: string;
    actor: string;
}

/** The record as one JSON line; status, time and env fingerprint are filled in on the host. */
export function deployRecordTemplate(slot: Color, r: DeployRecordFields): string {
    return JSON.stringify({
        id: r.id,
        tag: r.tag,
        commit: r.commit,
        imageId: r.imageId,
        slot,
        status: "@STATUS@",
        release: "@RELEASE@",
        envFingerprint: "@ENV@",
        actor: r.actor,
        time: "@TIME@",
    });
}

/** The part of a record that names the deploy (id, release, slot; not who runs it): how a re-run finds its own record. */
function recordIdentity(slot: Color, r: DeployRecordFields): string {
    const template = deployRecordTemplate(slot, r);
    return template.slice(0, template.indexOf(`"status":`));
}

/**
 * Shell functions of the journal for one deploy, once `release` says whether its container is
 * new in this attempt (a release, which the watch may switch back) or the standby returning:
 * - `record_as STATUS [TIME]` prints its record (the time: now, unless given). The env fingerprint is the one the plan compares
 *   (the first 16 hex digits of the env file's sha256, which the env file step keeps beside
 *   it): the host then says which release, tag and env, serves.
 * - `journal STATUS` appends it to `deploys.jsonl`; `mark_active STATUS` replaces
 *   `state/active.json` atomically. Both fail the step when the write fails.
 * - `already_live` is yes when active.json names this deploy already (a re-run: a heal, or a
 *   switch that was interrupted after its flip), so no flip is journaled twice. A re-run takes
 *   `release` from the record (its container is no longer new to this attempt), and `settled`
 *   says whether it went live already (one `switching` was interrupted in its watch).
 */
export function renderJournalLines(a: { appDir: string; slot: Color; record: DeployRecordFields }): ShellText {
    const l = hostLayout(a.appDir);
    return lines(
        sh`l9_record=${deployRecordTemplate(a.slot, a.record)}`,
        sh`env_fp=$(cut -c1-16 ${`${l.envFile}.sha256`} 2>/dev/null || true)`,
        sh`case "$env_fp" in "" | *[!0-9a-f]*) env_fp=unknown ;; esac`,
        sh`record_as() { printf '%s\\n' "$l9_record" | sed -e "s/@STATUS@/$1/" -e "s/@RELEASE@/$release/" -e "s/@ENV@/$env_fp/" -e "s/@TIME@/\${2:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}/"; }`,
        sh`journal() { record_as "$@" >>${l.deployLog} || fail ${`cannot append to ${l.deployLog}`}; }`,
        sh`mark_active() { record_as "$@" >${`${l.activeRecord}.tmp`} || fail ${`cannot write ${l.activeRecord}.tmp`}; install_active; }`,
        sh`install_active() { mv -f ${`${l.activeRecord}.tmp`} ${l.activeRecord} || fail ${`cannot replace ${l.activeRecord}`}; }`,
        sh`settled=no`,
        sh`if grep -qF ${recordIdentity(a.slot, a.record)} ${l.activeRecord} 2>/dev/null; then already_live=yes; else already_live=no; fi`,
        sh`if [ "$already_live" = yes ]; then`,
        sh`  release=$(sed -n 's/.*"release":"\\([a-z]*\\)".*/\\1/p' ${l.activeRecord})`,
        sh`  if grep -qF '"status":"live"' ${l.activeRecord}; then settled=yes; fi`,
        sh`fi`,
    );
}

/**
 * Before the flip of a new deploy: the record that serves is kept as previous.json (a
 * switch-back restores it), then this deploy is journaled `switching` and becomes
 * active.json. Written before the flip, so a record of it exists whatever happens after. A
 * record whose slot Caddy does not route to (a switch killed between its journal and its
 * flip) never served: it is not kept.
 */
export function renderJournalSwitchingLines(appDir: string, greenMarker: string): ShellText {
    const l = hostLayout(appDir);
    return lines(
        sh`if [ "$already_live" = no ]; then`,
        sh`  ${renderRoutedSlotLine(greenMarker, "routed")}`,
        sh`  if grep -qF "\\"slot\\":\\"$routed\\"" ${l.activeRecord} 2>/dev/null; then cp -f ${l.activeRecord} ${l.previousRecord} || fail ${`cannot keep ${l.previousRecord}`}; else rm -f ${l.previousRecord} || fail ${`cannot remove ${l.previousRecord}`}; fi`,
        sh`  journal switching`,
        sh`  mark_active switching`,
        sh`fi`,
    );
}

/** The deploy passed its watch (or had none): journaled `live` once, at the time of its flip (the deploy time). */
export function renderJournalLiveLines(): ShellText {
    return lines(sh`if [ "$settled" = no ]; then`, sh`  journal live "$time"`, sh`  mark_active live "$time"`, sh`fi`);
}

/** Traffic went back to the standby: its record serves again (if it is known; else this deploy's, switched back). */
export function renderJournalSwitchedBackLines(appDir: string): ShellText {
    const l = hostLayout(appDir);
    return lines(
        sh`  journal switched-back`,
        sh`  if [ -f ${l.previousRecord} ]; then cp -f ${l.previousRecord} ${`${l.activeRecord}.tmp`} || fail ${`cannot copy ${l.previousRecord}`}; install_active; else mark_active switched-back; fi`,
    );
}

/** The watch failed and traffic stays on the new slot: journaled so. */
export function renderJournalFailedAfterSwitchLines(): ShellText {
    return sh`journal failed-after-switch; mark_active failed-after-switch`;
}
