import { renderCaddyFactsLines } from "./caddy";
import { lines, quote } from "./shell";
import { caddyMarkerDir, RoutingArgs } from "./switch";

export type { RoutingArgs };

export interface DriftCheckScriptArgs {
    /** Service name (metric label, log prefix). */
    serviceName: string;
    /** Worktree of the deployed release. */
    worktree: string;
    /** The deployed commit. */
    commit: string;
    /** The active slot's container and the image id it must run. */
    containerName: string;
    imageId: string;
    /** How Caddy routes the service, and the slot it must route to. */
    routing: RoutingArgs;
    activeSlot: "blue" | "green";
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
    const dial = `127.0.0.1:${a.activeSlot === "blue" ? r.bluePort : r.greenPort}`;
    const wantUpstream = JSON.stringify([{ dial }]);
    const facts = renderCaddyFactsLines({ serviceName: r.serviceName, listen: r.caddyListen, hosts: r.caddyHosts, bluePort: r.bluePort, greenPort: r.greenPort, markerDir: caddyMarkerDir(r.appDir), caddyAdmin: r.caddyAdmin });
    return lines(
        "#!/bin/sh",
        `# l9-deploy drift check for ${a.serviceName}: generated at each deploy by Pulumi, do not edit.`,
        "set -u",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        `svc=${quote(a.serviceName)}; wt=${quote(a.worktree)}; commit=${quote(a.commit)}`,
        `container=${quote(a.containerName)}; image=${quote(a.imageId)}; envf=${quote(a.envFile)}`,
        "drift=0",
        // report <check> ok|drift <detail>: one log line, and the check's gauge
        `report() { printf '%s l9-drift service=%s check=%s status=%s %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$svc" "$1" "$2" "$3"; if [ "$2" = ok ]; then eval "g_$1=0"; else eval "g_$1=1"; drift=1; fi; }`,
        `head=$(git -C "$wt" rev-parse HEAD 2>/dev/null || echo missing)`,
        `dirty=$(git -C "$wt" status --porcelain --untracked-files=no 2>/dev/null | wc -l | tr -d ' ')`,
        `if [ "$head" = "$commit" ] && [ "$dirty" = 0 ]; then report worktree ok "at $commit, clean"; else report worktree drift "HEAD $head with $dirty modified files (deployed: $commit, clean)"; fi`,
        `state=$(docker inspect -f '{{.State.Running}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.Image}}' "$container" 2>/dev/null) || state=missing`,
        `case "$state" in "true healthy $image"|"true none $image") report container ok "$container running, healthy, deployed image";; *) report container drift "$container: $state (deployed: running healthy $image)";; esac`,
        ...facts,
        `if [ "$routing" = ${quote(a.activeSlot)} ] && [ "$upstream" = ${quote(wantUpstream)} ] && [ "$config" = current ]; then report caddy_upstream ok ${quote(`Caddy routes to ${a.activeSlot} (${dial})`)}; else report caddy_upstream drift "Caddy routes to $routing, upstreams $upstream, config $config (deployed: ${a.activeSlot}, ${dial}, current)"; fi`,
        `want=$(cat "$envf.sha256" 2>/dev/null || echo none); got=$(sha256sum "$envf" 2>/dev/null | cut -d' ' -f1)`,
        `if [ -n "$got" ] && [ "$got" = "$want" ]; then report env_file ok "unchanged since deploy"; else report env_file drift "$envf \${got:+changed since deploy}\${got:-missing}"; fi`,
        `cron=$(sha256sum ${quote(a.cronFile)} 2>/dev/null | cut -d' ' -f1)`,
        `if [ "$cron" = ${quote(a.cronSha256)} ]; then report cron_file ok ${quote(`${a.cronFile} in place`)}; else report cron_file drift ${quote(`${a.cronFile} `)}"\${cron:+edited}\${cron:-missing}"; fi`,
        `mkdir -p ${quote(a.metricsDir)}`,
        `tmp=${quote(metrics)}.$$`,
        "{",
        `  echo '# HELP l9_drift_detected 1 when the host differs from what l9-deploy last deployed, else 0.'`,
        `  echo '# TYPE l9_drift_detected gauge'`,
        `  echo "l9_drift_detected{service=\\"$svc\\"} $drift"`,
        ...DRIFT_CHECKS.map((c) =>
            [
                `  echo '# HELP l9_drift_${c} 1 when the ${c.replace("_", " ")} check found drift, else 0.'`,
                `  echo '# TYPE l9_drift_${c} gauge'`,
                `  echo "l9_drift_${c}{service=\\"$svc\\"} $g_${c}"`,
            ].join("\n"),
        ),
        `  echo '# TYPE l9_drift_last_run_timestamp_seconds gauge'`,
        `  echo "l9_drift_last_run_timestamp_seconds{service=\\"$svc\\"} $(date +%s)"`,
        `} >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" ${quote(metrics)}`,
        "exit $drift",
    );
}

/** The /etc/cron.d entry that runs the drift check. */
export function renderDriftCronFile(a: { serviceName: string; schedule: string; user: string; scriptPath: string; logFile: string }): string {
    return lines(
        `# l9-deploy drift check for ${a.serviceName}: managed by Pulumi, do not edit.`,
        "SHELL=/bin/sh",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        `${a.schedule} ${a.user} ${a.scriptPath} >>${a.logFile} 2>&1`,
    );
}

/**
 * Installs the drift job: the script (0700), the cron file (0644), then runs the check once
 * so the metric exists right after a deploy. Both files arrive base64-encoded.
 */
export function renderInstallDriftJobScript(a: { scriptPath: string; cronPath: string; logFile: string; script: string; cron: string }): string {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    return lines(
        "set -eu",
        `mkdir -p "$(dirname ${quote(a.scriptPath)})" "$(dirname ${quote(a.logFile)})" "$(dirname ${quote(a.cronPath)})"`,
        `printf '%s' ${quote(b64(a.script))} | base64 -d >${quote(a.scriptPath)}.tmp && chmod 700 ${quote(a.scriptPath)}.tmp && mv -f ${quote(a.scriptPath)}.tmp ${quote(a.scriptPath)}`,
        `printf '%s' ${quote(b64(a.cron))} | base64 -d >${quote(a.cronPath)}.tmp && chmod 644 ${quote(a.cronPath)}.tmp && mv -f ${quote(a.cronPath)}.tmp ${quote(a.cronPath)}`,
        `${quote(a.scriptPath)} >>${quote(a.logFile)} 2>&1 && echo "drift check: clean" || echo "drift check: drift (see ${a.logFile})"`,
    );
}

/** Read-only facts about the installed drift job, for the probe: sha256 of the cron file and the script. */
export function renderDriftJobCheckScript(a: { cronPath: string; scriptPath: string }): string {
    const fileSha = (path: string) => `$(sha256sum ${quote(path)} 2>/dev/null | cut -d' ' -f1 || true)`;
    return lines(`printf 'cron_file=%s\\nscript=%s\\n' "${fileSha(a.cronPath)}" "${fileSha(a.scriptPath)}" | sed 's/=$/=missing/'`);
}

/** Removes the drift job (the delete of what renderInstallDriftJobScript creates). */
export function renderRemoveDriftJobScript(a: { cronPath: string; scriptPath: string }): string {
    return lines(`rm -f ${quote(a.cronPath)} ${quote(a.scriptPath)}`);
}
