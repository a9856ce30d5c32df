import { renderDeployOutcomeLine } from "./deploy-metrics";
import { hostLayout } from "./layout";
import { renderInstallFileLine, renderWriteStdinToSecretFileLines } from "./install-file";
import { lines, prologue, script, sh, ShellText, stripControlChars, words } from "./shell";

/**
 * Release notifications, sent from the host: a failed gate, a failed hook and an automatic
 * switch-back happen inside one script on the host, and a failed resource never hands
 * anything back to the Pulumi program, so only the host can report them. The targets live
 * in a 0600 file written from secret config (their URLs carry tokens); the scripts only name
 * the file, so adding a target never re-runs a gate or a switch.
 */

/** One webhook target, as validated by the schema. */
export interface NotifyTarget {
    /** "json": a generic, Slack-compatible JSON body; "telegram": Bot API sendMessage. */
    format: "json" | "telegram";
    /** Where to POST. */
    url: string;
    /** Telegram chat id (telegram only). */
    chatId?: string;
}

/** What a notification says about the release, besides what the host fills in. */
export interface NotifyContext {
    /** The Pulumi stack (org/project/stack). */
    stack: string;
    /** The service name. */
    service: string;
    /** The release tag of this update. */
    tag: string;
    /** The tag in the other slot (the one served before a release), if any. */
    previousTag?: string;
    /** Who deploys. */
    actor: string;
    /** The app directory (targets file, git mirror, attempt start). */
    appDir: string;
    /** Directory of node_exporter's textfile collector, where the steps record the deploy's outcome (deploy-metrics.ts). */
    metricsDir: string;
}

/** The targets file: one `format<TAB>url<TAB>chatId` line per target (secret content). */
export function renderNotifyTargetsFile(targets: NotifyTarget[]): string {
    return targets.map((t) => `${t.format}\t${t.url}\t${t.chatId ?? ""}\n`).join("");
}

/**
 * Writes the targets file from stdin, mode 0600, and installs the webhook client beside it
 * (renderNotifyClient): the one copy on the host, which every step's `notify` runs. The
 * delete is renderRemoveNotifyTargetsScript.
 */
export function renderWriteNotifyTargetsScript(appDir: string): string {
    const l = hostLayout(appDir);
    return script(
        prologue("notification targets"),
        renderWriteStdinToSecretFileLines(l.notifyTargets),
        sh`say "$(wc -l <"$f") notification target(s) in $f (mode 600)"`,
        sh`mkdir -p ${l.binDir} || fail ${`cannot create ${l.binDir}`}`,
        renderInstallFileLine(l.notifyClient, renderNotifyClient(appDir), 700),
        sh`echo written`,
    );
}

export function renderRemoveNotifyTargetsScript(appDir: string): string {
    const l = hostLayout(appDir);
    return script(sh`rm -f ${l.notifyTargets} ${l.notifyClient}`);
}

/**
 * The webhook client, installed once on the host (renderWriteNotifyTargetsScript):
 * `l9-notify EVENT CHECK LOG_TAIL STACK SERVICE TAG PREVIOUS_TAG ACTOR KNOWN_JSON` POSTs to
 * every target (event: success, failure or rollback). A target that is down, slow or answers
 * non-2xx only prints a line starting with "warning: notification" (the program turns it into
 * a Pulumi warning); the client itself never fails. Each POST is bounded: 5 s to connect, 10 s
 * in all. Values from the host (check messages, log lines) become JSON strings through
 * `json_str`. KNOWN_JSON is the release's own fields, rendered by the program (notifyCall).
 */
export function renderNotifyClient(appDir: string): string {
    const l = hostLayout(appDir);
    const escape = sh`sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g'`;
    const textFormat = sh`'[%s] %s %s: %s\\nprevious: %s\\ncommit: %.12s\\nduration: %ss\\nby: %s'`;
    const undeliveredFormat = sh`'warning: notification %s to target %s (%s) was not delivered (%s); the release goes on\\n'`;
    const bodyFormat = sh`'{"text":"%s","event":"%s",%s,"commit":"%s","durationSeconds":%s,"check":"%s","logTail":"%s"}'`;
    const textJson = sh`"$(printf '%s' "$n_text" | json_str)"`;
    const checkJson = sh`"$(printf '%s' "$n_check" | json_str)"`;
    const tailJson = sh`"$(printf '%s' "$n_tail" | json_str)"`;
    const post = sh`curl -sS -m 10 --connect-timeout 5 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$n_file" -K -`;
    return script(
        sh`#!/bin/sh`,
        sh`# l9-deploy's webhook client (installed with the notification targets; run by the release steps' notify)`,
        sh`set -u`,
        sh`l9_notify_targets=${l.notifyTargets}`,
        sh`[ -s "$l9_notify_targets" ] || exit 0`,
        // JSON string content: control characters dropped, tabs as spaces, \ and " escaped, lines joined by \n.
        sh`json_str() { ${stripControlChars()} | tr '\\t' ' ' | ${escape} | awk 'NR > 1 { printf "\\\\n" } { printf "%s", $0 }'; }`,
        sh`n_event=$1; n_check=$2; n_tail=$(printf '%s' "$3" | tail -c 3000)`,
        sh`n_stack=$4; n_service=$5; n_tag=$6; n_previous=$7; n_actor=$8; n_known=$9`,
        sh`n_commit=$(git --git-dir=${l.mirror} rev-parse -q --verify "$n_tag^{commit}" 2>/dev/null || echo unknown)`,
        sh`n_duration=null`,
        sh`n_started=$(cat ${l.attemptStarted} 2>/dev/null || true)`,
        sh`case "$n_started" in '' | *[!0-9]*) ;; *) n_duration=$(( $(date +%s) - n_started )) ;; esac`,
        sh`n_text=$(printf ${textFormat} "$n_stack" "$n_service" "$n_tag" "$n_event" "$n_previous" "$n_commit" "$n_duration" "$n_actor")`,
        sh`[ -z "$n_check" ] || n_text="$n_text$(printf '\\ncheck: %s' "$n_check")"`,
        sh`[ -z "$n_tail" ] || n_text="$n_text$(printf '\\nlog tail:\\n%s' "$n_tail")"`,
        sh`undelivered() { printf ${undeliveredFormat} "$n_event" "$n_i" "$n_format" "$1" >&2; }`,
        sh`n_i=0`,
        sh`while IFS="$(printf '\\t')" read -r n_format n_url n_chat; do`,
        sh`  n_i=$((n_i + 1))`,
        sh`  case "$n_format" in`,
        sh`    telegram) n_body=$(printf '{"chat_id":"%s","text":"%s"}' "$(printf '%s' "$n_chat" | json_str)" "$(printf '%s' "$n_text" | json_str)") ;;`,
        sh`    *) n_body=$(printf ${bodyFormat} ${textJson} "$n_event" "$n_known" "$n_commit" "$n_duration" ${checkJson} ${tailJson}) ;;`,
        sh`  esac`,
        // The URL carries a token: it goes to curl on stdin (a config line), never in argv (ps).
        sh`  n_file=$(mktemp) || { undelivered 'no temporary file'; continue; }`,
        sh`  printf '%s' "$n_body" >"$n_file" || { rm -f "$n_file"; undelivered 'cannot write its body'; continue; }`,
        sh`  n_code=$(printf 'url = "%s"\n' "$n_url" | ${post} 2>/dev/null) || true`,
        sh`  rm -f "$n_file"`,
        sh`  case "$n_code" in`,
        sh`    2??) printf '[notify] %s sent to target %s (%s)\\n' "$n_event" "$n_i" "$n_format" >&2 ;;`,
        sh`    *) undelivered "HTTP \${n_code:-000}" ;;`,
        sh`  esac`,
        sh`done <"$l9_notify_targets"`,
        sh`exit 0`,
    );
}

/**
 * `l9_notify TARGETS CLIENT EVENT CHECK LOG_TAIL FIELD...` (part of the step library): runs the
 * host's webhook client (renderNotifyClient) with the release's fields. Without targets it does
 * nothing; with targets but no client (removed by hand) it warns. It never fails the step.
 */
export const NOTIFY_FUNCTION = lines(
    sh`l9_notify() {`,
    sh`  [ -s "$1" ] || return 0`,
    sh`  [ -x "$2" ] || { printf 'warning: notification %s not sent (no %s); the release goes on\\n' "$3" "$2" >&2; return 0; }`,
    sh`  n_client=$2; shift 2`,
    sh`  "$n_client" "$@" || true`,
    sh`}`,
);

/**
 * The steps' `notify EVENT [CHECK [LOG_TAIL]]`: NOTIFY_FUNCTION with this release's fields. A
 * failure is also the deploy's outcome (l9_deploy_last_run_success 0), recorded first: whatever
 * reports a failed release, with or without targets, is what sets it.
 */
export function renderNotifyLines(n: NotifyContext): ShellText {
    const l = hostLayout(n.appDir);
    const known = JSON.stringify({ stack: n.stack, service: n.service, tag: n.tag, previousTag: n.previousTag ?? null, actor: n.actor }).slice(1, -1);
    const fields = words([n.stack, n.service, n.tag, n.previousTag ?? "none", n.actor, known]);
    const recordFailure = sh`[ "$1" != failure ] || ${renderDeployOutcomeLine(n, "failed")}`;
    return sh`notify() { ${recordFailure}; l9_notify ${l.notifyTargets} ${l.notifyClient} "$1" "\${2:-}" "\${3:-}" ${fields}; }`;
}

/** The warnings notify printed, from a script's stderr (for `pulumi.log.warn`). */
export function notifyWarnings(stderr: string): string[] {
    return stderr.split("\n").filter((line) => line.startsWith("warning: notification"));
}
