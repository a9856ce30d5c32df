import { Color } from "../state/slot-machine";
import { renderStandaloneRoutingFactsLines } from "./caddy-routes";
import { caddyServerArgs, RoutingArgs, slotDial, slotUpstreamsJson } from "./routing";
import { lines, script, sh } from "./shell";
import { renderGaugeEchoLines } from "./textfile-metrics";

export interface DriftCheckScriptArgs {
    /** Service name (metric label, log prefix). */
    serviceName: string;
    /** Worktree of the deployed release; none for a release that returned from its kept image (the container check covers its image). */
    worktree?: string;
    /** The deployed commit. */
    commit: string;
    /** The active slot's container and the image id it must run. */
    containerName: string;
    imageId: string;
    /** How Caddy routes the service, and the slot it must route to. */
    routing: RoutingArgs;
    activeSlot: Color;
    /** The env file; its sha256 at deploy time is in `<envFile>.sha256`. */
    envFile: string;
    /** Directory of the Prometheus textfile collector. */
    metricsDir: string;
    /** The cron file that runs this script, and the sha256 of its declared content. */
    cronFile: string;
    cronSha256: string;
}

/** The checks the host-side drift job runs, in order; each is also a metric. */
export const DRIFT_CHECKS = ["worktree", "container", "caddy_upstream", "env_file", "cron_file"] as const;

/** Metric names written by the drift job. */
export function driftMetricNames(): string[] {
    return ["l9_drift_detected", ...DRIFT_CHECKS.map((c) => `l9_drift_${c}`)];
}

/** The textfile the drift job writes for node_exporter's textfile collector. */
export function driftMetricsFile(metricsDir: string, serviceName: string): string {
    return `${metricsDir}/l9_drift_${serviceName}.prom`;
}

/** The mktemp template of the textfile's temporary copy, in the same directory (the rename stays atomic). */
export function driftMetricsTempTemplate(metricsDir: string, serviceName: string): string {
    return `${metricsDir}/.l9_drift_${serviceName}.prom.XXXXXX`;
}

/**
 * The host-side drift check, run by cron: the deployed worktree is clean and at the deployed
 * commit; the active container runs, is healthy and runs the deployed image; Caddy dials the
 * active slot; the env file is unchanged since deploy; the cron entry that runs this check is
 * in place. One log line per check, exit 1 on
 * drift, and a Prometheus textfile (l9_drift_detected plus one gauge per check).
 */
export function renderDriftCheckScript(a: DriftCheckScriptArgs): string {
    const metrics = driftMetricsFile(a.metricsDir, a.serviceName);
    const r = a.routing;
    const dial = slotDial(r, a.activeSlot);
    const wantUpstream = slotUpstreamsJson(r, a.activeSlot);
    const logLine = sh`printf '%s l9-drift service=%s check=%s status=%s %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$svc" "$1" "$2" "$3"`;
    const gauge = sh`if [ "$2" = ok ]; then eval "g_$1=0"; else eval "g_$1=1"; drift=1; fi`;
    const worktreeDrift = sh`report worktree drift "HEAD $head with $dirty modified files (deployed: $commit, clean)"`;
    const stateFormat = sh`'{{.State.Running}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.Image}}'`;
    const containerOk = sh`report container ok "$container running, healthy, deployed image"`;
    const containerDrift = sh`report container drift "$container: $state (deployed: running healthy $image)"`;
    const routed = sh`[ "$routing" = ${a.activeSlot} ] && [ "$upstream" = ${wantUpstream} ] && [ "$config" = current ]`;
    const routedOk = sh`report caddy_upstream ok ${`Caddy routes to ${a.activeSlot} (${dial})`}`;
    const deployed = `(deployed: ${a.activeSlot}, ${dial}, current)`;
    const routedDrift = sh`report caddy_upstream drift "Caddy routes to $routing, upstreams $upstream, config $config "${deployed}`;
    const envDrift = sh`report env_file drift "$envf \${got:+changed since deploy}\${got:-missing}"`;
    const cronDrift = sh`report cron_file drift ${`${a.cronFile} `}"\${cron:+edited}\${cron:-missing}"`;
    return script(
        sh`#!/bin/sh`,
        sh`# l9-deploy drift check for ${a.serviceName}: generated at each deploy by Pulumi, do not edit.`,
        sh`set -u`,
        sh`PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        a.worktree === undefined ? sh`svc=${a.serviceName}; commit=${a.commit}` : sh`svc=${a.serviceName}; wt=${a.worktree}; commit=${a.commit}`,
        sh`container=${a.containerName}; image=${a.imageId}; envf=${a.envFile}`,
        sh`drift=0`,
        // report <check> ok|drift <detail>: one log line, and the check's gauge
        sh`report() { ${logLine}; ${gauge}; }`,
        a.worktree === undefined
            ? sh`report worktree ok "none: the release returned from its image kept on the host (built from $commit)"`
            : lines(
                  sh`head=$(git -C "$wt" rev-parse HEAD 2>/dev/null || echo missing)`,
                  sh`dirty=$(git -C "$wt" status --porcelain --untracked-files=no 2>/dev/null | wc -l | tr -d ' ')`,
                  sh`if [ "$head" = "$commit" ] && [ "$dirty" = 0 ]; then report worktree ok "at $commit, clean"; else ${worktreeDrift}; fi`,
              ),
        sh`state=$(docker inspect -f ${stateFormat} "$container" 2>/dev/null) || state=missing`,
        sh`case "$state" in "true healthy $image"|"true none $image") ${containerOk};; *) ${containerDrift};; esac`,
        renderStandaloneRoutingFactsLines(r.caddyAdmin, caddyServerArgs(r)),
        sh`if ${routed}; then ${routedOk}; else ${routedDrift}; fi`,
        sh`want=$(cat "$envf.sha256" 2>/dev/null || echo none); got=$(sha256sum "$envf" 2>/dev/null | cut -d' ' -f1)`,
        sh`if [ -n "$got" ] && [ "$got" = "$want" ]; then report env_file ok "unchanged since deploy"; else ${envDrift}; fi`,
        sh`cron=$(sha256sum ${a.cronFile} 2>/dev/null | cut -d' ' -f1)`,
        sh`if [ "$cron" = ${a.cronSha256} ]; then report cron_file ok ${`${a.cronFile} in place`}; else ${cronDrift}; fi`,
        // The textfile is written aside and renamed (node_exporter never reads half a file). The
        // temporary file comes from mktemp (created anew, 0600, a name nobody can guess): the
        // metrics directory may be writable by another user, and this runs as root. Its name
        // starts with a dot and does not end in .prom, so the collector skips it.
        sh`fail() { printf 'drift check: %s\\n' "$*" >&2; [ -z "\${tmp:-}" ] || rm -f "$tmp"; exit 2; }`,
        sh`mkdir -p ${a.metricsDir} || fail ${`cannot create ${a.metricsDir}`}`,
        sh`tmp=$(mktemp ${driftMetricsTempTemplate(a.metricsDir, a.serviceName)}) || fail ${`cannot create a temporary file in ${a.metricsDir}`}`,
        sh`{`,
        [
            { name: "l9_drift_detected", help: "1 when the host differs from what l9-deploy last deployed, else 0.", value: "$drift" },
            // Each check's gauge value is its shell variable, g_<check> (DRIFT_CHECKS are fixed identifiers).
            ...DRIFT_CHECKS.map((check) => ({
                name: `l9_drift_${check}`,
                help: `1 when the ${check.replace("_", " ")} check found drift, else 0.`,
                value: `$g_${check}`,
            })),
            { name: "l9_drift_last_run_timestamp_seconds", help: "When the drift check last ran (Unix time).", value: "$(date +%s)" },
        ].map((g) => renderGaugeEchoLines(g, "  ")),
        sh`} >"$tmp" || fail "cannot write $tmp"`,
        // node_exporter runs as its own user: the metrics are world-readable.
        sh`chmod 644 "$tmp" || fail "cannot make $tmp readable (chmod 644)"`,
        sh`mv -f "$tmp" ${metrics} || fail ${`cannot install ${metrics}`}`,
        sh`exit $drift`,
    );
}
