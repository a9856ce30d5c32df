import { lines, sh, ShellText } from "./shell";

/**
 * The deploy's outcome as Prometheus gauges, beside the drift and backup ones in node_exporter's
 * textfile collector directory (config `metricsDir`). The release steps write them on the host:
 * the switch when a deploy goes live, every step that reports a failure (its `notify failure`)
 * and the post-switch watch's automatic switch-back. L9DeployFailed alerts on the run gauge.
 */

/** Where, and under which labels, a release step writes the deploy's outcome (a NotifyContext has these). */
export interface DeployMetricsContext {
    /** Directory of node_exporter's textfile collector. */
    metricsDir: string;
    /** The service name (file names, `service` label). */
    service: string;
    /** The release tag this update deploys or tried (`tag` label). */
    tag: string;
}

/** The textfile of the last deploy that went live: l9_deploy_last_success_timestamp_seconds. */
export function deployMetricsFile(metricsDir: string, serviceName: string): string {
    return `${metricsDir}/l9_deploy_${serviceName}.prom`;
}

/** The textfile of the last deploy, however it ended: l9_deploy_last_run_success and l9_deploy_last_run_timestamp_seconds. */
export function deployRunMetricsFile(metricsDir: string, serviceName: string): string {
    return `${metricsDir}/l9_deploy_run_${serviceName}.prom`;
}

/** The metric names the release steps write. */
export const DEPLOY_METRICS = ["l9_deploy_last_success_timestamp_seconds", "l9_deploy_last_run_success", "l9_deploy_last_run_timestamp_seconds"] as const;

const RUN_SUCCESS_GAUGE = sh`l9_gauge_text l9_deploy_last_run_success '1 when the last deploy of the service went live, 0 when it failed.' "$2" "$1"`;
const RUN_TIME_GAUGE = sh`l9_gauge_text l9_deploy_last_run_timestamp_seconds 'When the last deploy of the service ended (Unix time).' "$2" "$dm_now"`;
const SUCCESS_TIME_HELP = "When a deploy of the service last went live (Unix time).";
const SUCCESS_TIME_GAUGE = sh`l9_gauge_text l9_deploy_last_success_timestamp_seconds ${SUCCESS_TIME_HELP} "$2" "$dm_live"`;
const UNKNOWN_LIVE_TIME = sh`printf 'warning: deploy metrics: when the deploy went live is unknown (recorded: "%s"): %s says now\\n' "$1" "$2" >&2`;

/**
 * The deploy metrics' functions (part of the step library):
 * - `l9_deploy_outcome 1|0 LABELS METRICS_DIR RUN_FILE SUCCESS_FILE [LIVE_SINCE]` writes RUN_FILE
 *   (the run went live: 1, or failed: 0, and now), and SUCCESS_FILE only when it went live:
 *   when LIVE_SINCE says (`l9_deploy_live_since`), now without it.
 * - `l9_deploy_live_since LIVE_SINCE SUCCESS_FILE` sets `dm_live` to when the deploy went live
 *   (Unix time): LIVE_SINCE is `now`, or a time `date -d` reads, as the host's deploy records
 *   have it (2024-05-01T12:00:00Z): what a re-run of a deploy already live passes, so that a
 *   heal days later does not make an old deploy look fresh. A LIVE_SINCE that is no time
 *   (empty: the record could not be read) prints `warning: deploy metrics: when the deploy went
 *   live is unknown (...)`, and now is written.
 * - `l9_deploy_textfile DIR FILE TEXT` writes FILE whole: a temporary file in DIR (its name
 *   starts with a dot and does not end in .prom, so the collector skips it), made readable by
 *   node_exporter's user (the steps run with umask 027), then renamed over FILE. A failure at
 *   any point only prints `warning: deploy metrics not written to FILE (why)`: the release went
 *   live, or failed for its own reason, before its metrics are written, and a metric must not
 *   change that. A directory it creates is 0755 for the same reader.
 */
export const DEPLOY_METRICS_FUNCTIONS = lines(
    sh`l9_deploy_metrics_unwritten() {`,
    sh`  [ -z "\${dm_tmp:-}" ] || rm -f "$dm_tmp" || true`,
    sh`  printf 'warning: deploy metrics not written to %s (%s)\\n' "$1" "$2" >&2`,
    sh`}`,
    sh`l9_deploy_textfile() {`,
    sh`  dm_tmp=`,
    sh`  (umask 022 && mkdir -p "$1") || { l9_deploy_metrics_unwritten "$2" "cannot create $1"; return 0; }`,
    sh`  dm_tmp=$(mktemp "$1/.\${2##*/}.XXXXXX") || { l9_deploy_metrics_unwritten "$2" "cannot create a temporary file in $1"; return 0; }`,
    sh`  printf '%s\\n' "$3" >"$dm_tmp" || { l9_deploy_metrics_unwritten "$2" "cannot write $dm_tmp"; return 0; }`,
    sh`  chmod 644 "$dm_tmp" || { l9_deploy_metrics_unwritten "$2" "cannot make $dm_tmp readable (chmod 644)"; return 0; }`,
    sh`  mv -f "$dm_tmp" "$2" || { l9_deploy_metrics_unwritten "$2" "cannot rename $dm_tmp"; return 0; }`,
    sh`}`,
    sh`l9_gauge_text() { printf '# HELP %s %s\\n# TYPE %s gauge\\n%s{%s} %s\\n' "$1" "$2" "$1" "$1" "$3" "$4"; }`,
    sh`l9_deploy_live_since() {`,
    sh`  dm_live=`,
    sh`  case "$1" in now) dm_live=$dm_now ;; ?*) dm_live=$(date -u -d "$1" +%s 2>/dev/null) || dm_live= ;; esac`,
    sh`  case "$dm_live" in "" | *[!0-9]*) dm_live=$dm_now; ${UNKNOWN_LIVE_TIME} ;; esac`,
    sh`}`,
    sh`l9_deploy_outcome() {`,
    sh`  dm_now=$(date +%s)`,
    sh`  if [ "$1" = 1 ]; then l9_deploy_live_since "\${6-now}" "$5"; l9_deploy_textfile "$3" "$5" "$(${SUCCESS_TIME_GAUGE})"; fi`,
    sh`  l9_deploy_textfile "$3" "$4" "$(${RUN_SUCCESS_GAUGE}; ${RUN_TIME_GAUGE})"`,
    sh`}`,
);

/**
 * Records this update's deploy as gone live (`live`: the switch completed) or failed
 * (DEPLOY_METRICS_FUNCTIONS), labelled with the service and the update's tag. The labels are
 * rendered here: service names and tags are letters, digits, '.', '_' and '-' (config/schema.ts),
 * which a label value takes as they are. `liveSince`, for a deploy gone live: shell text (one
 * word) that expands to when it went live, or to `now` (l9_deploy_live_since); without it, now.
 */
export function renderDeployOutcomeLine(m: DeployMetricsContext, outcome: "failed"): ShellText;
export function renderDeployOutcomeLine(m: DeployMetricsContext, outcome: "live", liveSince?: ShellText): ShellText;
export function renderDeployOutcomeLine(m: DeployMetricsContext, outcome: "live" | "failed", liveSince?: ShellText): ShellText {
    const labels = `service="${m.service}",tag="${m.tag}"`;
    const runFile = deployRunMetricsFile(m.metricsDir, m.service);
    const successFile = deployMetricsFile(m.metricsDir, m.service);
    const line = sh`l9_deploy_outcome ${outcome === "live" ? 1 : 0} ${labels} ${m.metricsDir} ${runFile} ${successFile}`;
    return outcome === "live" && liveSince ? sh`${line} ${liveSince}` : line;
}
