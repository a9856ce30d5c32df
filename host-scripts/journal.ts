import { isReleaseTagName } from "../config/schema";
import { Color, COLORS } from "../state/slot-machine";
import { hostLayout } from "./layout";
import { renderRoutedSlotLine } from "./caddy";
import { lines, raw, renderRecordedTimeCommand, sh, ShellText } from "./shell";

/**
 * The states a deploy goes through in the host's journal (`deploys.jsonl`, one line per state
 * change): `switching` at the flip, then `live` once the watch passed, or `switched-back` (the
 * watch flipped traffic back to the standby) or `failed-after-switch` (the watch failed and
 * traffic stayed on the new slot).
 */
export type JournalStatus = "switching" | "live" | "switched-back" | "failed-after-switch";

const STATUSES: readonly JournalStatus[] = ["switching", "live", "switched-back", "failed-after-switch"];

/** One record of the host's journal (deploys.jsonl, state/active.json), as far as it could be read. */
export interface JournalRecord {
    tag: string;
    slot: Color;
    status: JournalStatus;
    id?: string;
    commit?: string;
    imageId?: string;
    release?: "yes" | "no";
    /** The env's fingerprint (16 hex digits; absent in records of versions before it). */
    envFingerprint?: string;
    /** Who deployed it (`user@host`). */
    actor?: string;
    /** When it went live (RFC 3339, UTC). */
    time?: string;
}

const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** A text field of a record, kept only when it is a string with no control characters (it reaches the operator's terminal). */
function text(v: unknown): string | undefined {
    return typeof v === "string" && v !== "" && !CONTROL_CHARS.test(v) ? v : undefined;
}

/**
 * One journal line read back (a line of deploys.jsonl, or active.json); undefined when it is
 * not a record (a torn write, junk, a tag `releaseTag` would refuse). A record with no status
 * is `live`, as deployed by versions before the status.
 */
export function parseJournalRecord(line: string): JournalRecord | undefined {
    let j: unknown;
    try {
        j = JSON.parse(line);
    } catch {
        return undefined;
    }
    if (j === null || typeof j !== "object" || Array.isArray(j)) return undefined;
    const r = j as Record<string, unknown>;
    const slot = COLORS.find((c) => c === r.slot);
    const status = r.status === undefined ? "live" : STATUSES.find((s) => s === r.status);
    if (typeof r.tag !== "string" || !isReleaseTagName(r.tag) || !slot || !status) return undefined;
    const optional = {
        id: text(r.id),
        commit: text(r.commit),
        imageId: text(r.imageId),
        release: r.release === "yes" || r.release === "no" ? r.release : undefined,
        envFingerprint: typeof r.envFingerprint === "string" && /^[0-9a-f]{16}$/.test(r.envFingerprint) ? r.envFingerprint : undefined,
        actor: text(r.actor),
        time: text(r.time),
    };
    const present = Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) as Partial<JournalRecord>;
    return { tag: r.tag, slot, status, ...present };
}

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

// Parts of JOURNAL_FUNCTIONS' lines, apart only for the source's line limit.
const FILL_RECORD = sh`sed -e "s/@STATUS@/$1/" -e "s/@RELEASE@/$release/" -e "s/@ENV@/$env_fp/" -e "s/@TIME@/\${2:-$(${renderRecordedTimeCommand()})}/"`;
const KEEP_PREVIOUS = sh`cp -f "$l9_active" "$l9_previous" || fail "cannot keep $l9_previous"`;
const DROP_PREVIOUS = sh`rm -f "$l9_previous" || fail "cannot remove $l9_previous"`;
const RECORDED_TIME = sh`sed -n 's/.*"time":"\\([^"]*\\)".*/\\1/p' "$l9_active"`;
const RESTORE_PREVIOUS = sh`cp -f "$l9_previous" "$l9_active.tmp" || fail "cannot copy $l9_previous"; install_active`;

/**
 * The journal's functions (step library), for one deploy, once `release` says whether its
 * container is new in this attempt (a release, which the watch may switch back) or the
 * standby returning:
 * - `l9_journal_open RECORD IDENTITY DEPLOY_LOG ACTIVE PREVIOUS ENV_SHA256_FILE` opens the
 *   journal for the deploy RECORD (deployRecordTemplate). `already_live` is yes when ACTIVE
 *   names this deploy already (IDENTITY: a re-run, a heal or a switch interrupted after its
 *   flip), so no flip is journaled twice. A re-run takes `release` from the record (its
 *   container is no longer new to this attempt), and `settled` says whether it went live
 *   already (one `switching` was interrupted in its watch). `live_since` is when the deploy
 *   went live: for a re-run, the record's time (its `switching`: the flip; its `live`; or its
 *   `failed-after-switch`, traffic stayed on it), read here before `l9_journal_live` rewrites
 *   the record of one not settled; empty when the record has no time to read; `now` for a
 *   first run and for a deploy switched back (this run puts it live again). The deploy metrics
 *   take it as the last success (DEPLOY_METRICS_FUNCTIONS), so a heal days later does not make
 *   an old deploy look fresh. The env fingerprint is the one the plan compares (the first 16
 *   hex digits of the env file's sha256, which the env file step keeps beside it): the host
 *   then says which release, tag and env serves.
 * - `record_as STATUS [TIME]` prints the record (the time: now, unless given); `journal STATUS`
 *   appends it to the deploy log; `mark_active STATUS` replaces ACTIVE atomically. Both fail
 *   the step when the write fails.
 * - `l9_journal_switching GREEN_MARKER`, before the flip of a deploy not live yet: keeps the
 *   record that serves now as PREVIOUS (a switch-back restores it), journals `switching`.
 * - `l9_journal_live TIME`: the deploy passed its watch (or had none), journaled `live` once,
 *   at the time of its flip (the deploy time).
 * - `l9_journal_switched_back`: traffic went back to the standby: its record serves again (if
 *   it is known; else this deploy's, switched back).
 */
export const JOURNAL_FUNCTIONS = lines(
    sh`l9_journal_open() {`,
    sh`  l9_record=$1; l9_deploy_log=$3; l9_active=$4; l9_previous=$5`,
    sh`  env_fp=$(cut -c1-16 "$6" 2>/dev/null || true)`,
    sh`  case "$env_fp" in "" | *[!0-9a-f]*) env_fp=unknown ;; esac`,
    sh`  settled=no`,
    sh`  live_since=now`,
    sh`  if grep -qF "$2" "$l9_active" 2>/dev/null; then already_live=yes; else already_live=no; fi`,
    sh`  if [ "$already_live" = yes ]; then`,
    sh`    release=$(sed -n 's/.*"release":"\\([a-z]*\\)".*/\\1/p' "$l9_active")`,
    sh`    if grep -qF '"status":"live"' "$l9_active"; then settled=yes; fi`,
    sh`    if ! grep -qF '"status":"switched-back"' "$l9_active"; then live_since=$(${RECORDED_TIME}) || live_since=; fi`,
    sh`  fi`,
    sh`}`,
    sh`record_as() { printf '%s\\n' "$l9_record" | ${FILL_RECORD}; }`,
    sh`journal() { record_as "$@" >>"$l9_deploy_log" || fail "cannot append to $l9_deploy_log"; }`,
    sh`mark_active() { record_as "$@" >"$l9_active.tmp" || fail "cannot write $l9_active.tmp"; install_active; }`,
    sh`install_active() { mv -f "$l9_active.tmp" "$l9_active" || fail "cannot replace $l9_active"; }`,
    sh`l9_journal_switching() {`,
    sh`  [ "$already_live" = no ] || return 0`,
    sh`  ${renderRoutedSlotLine(raw('"$1"'), "routed")}`,
    sh`  if grep -qF "\\"slot\\":\\"$routed\\"" "$l9_active" 2>/dev/null; then ${KEEP_PREVIOUS}; else ${DROP_PREVIOUS}; fi`,
    sh`  journal switching`,
    sh`  mark_active switching`,
    sh`}`,
    sh`l9_journal_live() {`,
    sh`  [ "$settled" = no ] || return 0`,
    sh`  journal live "$1"`,
    sh`  mark_active live "$1"`,
    sh`}`,
    sh`l9_journal_switched_back() {`,
    sh`  journal switched-back`,
    sh`  if [ -f "$l9_previous" ]; then ${RESTORE_PREVIOUS}; else mark_active switched-back; fi`,
    sh`}`,
);

/** Opens the journal for this deploy (JOURNAL_FUNCTIONS). */
export function renderJournalLines(a: { appDir: string; slot: Color; record: DeployRecordFields }): ShellText {
    const l = hostLayout(a.appDir);
    const template = deployRecordTemplate(a.slot, a.record);
    return sh`l9_journal_open ${template} ${recordIdentity(a.slot, a.record)} ${l.deployLog} ${l.activeRecord} ${l.previousRecord} ${`${l.envFile}.sha256`}`;
}

/** Before the flip: the journal's `switching` (JOURNAL_FUNCTIONS). */
export function renderJournalSwitchingLines(greenMarker: string): ShellText {
    return sh`l9_journal_switching ${greenMarker}`;
}

/** After the watch: the journal's `live`, at the deploy time `$time` (JOURNAL_FUNCTIONS). */
export function renderJournalLiveLines(): ShellText {
    return sh`l9_journal_live "$time"`;
}

/** When the deploy went live, as the journal's opening read it: one shell word (`live_since`, JOURNAL_FUNCTIONS). */
export function renderLiveSinceWord(): ShellText {
    return sh`"$live_since"`;
}

/** After a switch-back (JOURNAL_FUNCTIONS). */
export function renderJournalSwitchedBackLines(): ShellText {
    return sh`  l9_journal_switched_back`;
}

/** The watch failed and traffic stays on the new slot: journaled so. */
export function renderJournalFailedAfterSwitchLines(): ShellText {
    return sh`journal failed-after-switch; mark_active failed-after-switch`;
}
