import { EndpointCheckArgs, renderEndpointCheckLines } from "./endpoint-checks";
import { NotifyContext, renderNotifyLines } from "./notify";
import { script, sh, stripControlChars } from "./shell";
import { renderLogTailLine, renderStepPrologue } from "./step-library";

export interface GateScriptArgs extends EndpointCheckArgs {
    /** Container of the slot about to receive traffic. */
    containerName: string;
    /** Release tag expected in that container (for messages). */
    tag: string;
    /** Seconds to wait for Docker health `healthy` and the health endpoint. */
    timeoutSeconds: number;
    /** Fixed strings that must not appear in the container's logs. */
    logScanPatterns: string[];
    /** How many log lines to quote when a check fails. */
    logLinesOnFailure?: number;
    /** Who is told when the gate fails, and where that failed deploy is recorded (metricsDir). */
    notify: NotifyContext;
}

/**
 * The gate before traffic moves: Docker health, the health endpoint (200 and, when the body
 * is JSON with a status, status "healthy"), smoke requests, and a scan of the container's
 * logs. Any failure prints which check failed and the container's last log lines, notifies,
 * and exits non-zero; it never touches Caddy.
 */
export function renderGateScript(a: GateScriptArgs): string {
    const tail = a.logLinesOnFailure ?? 30;
    const start = sh`say "starting $c"; docker start "$c" >/dev/null || gate_fail "container could not be started"`;
    return script(
        renderStepPrologue(a.notify.appDir, `gate ${a.tag}`),
        renderNotifyLines(a.notify),
        sh`c=${a.containerName}`,
        sh`gate_fail() {`,
        sh`  printf 'gate failed for %s in %s: %s\\n' ${a.tag} "$c" "$*" >&2`,
        sh`  ${renderLogTailLine(sh`"$c"`, tail)}`,
        sh`  printf -- '--- last ${tail} log lines of %s ---\\n' "$c" >&2`,
        sh`  printf '%s\\n' "$log_tail" | sed 's/^/  | /' >&2`,
        sh`  printf -- '--- traffic was not moved ---\\n' >&2`,
        sh`  notify failure ${`gate: `}"$*" "$log_tail"`,
        sh`  exit 1`,
        sh`}`,
        sh`docker inspect "$c" >/dev/null 2>&1 || fail "container $c does not exist"`,
        // A drained standby is stopped: bring it back before judging it.
        sh`if [ "$(docker inspect -f '{{.State.Running}}' "$c")" != true ]; then ${start}; fi`,
        sh`deadline=$(( $(date +%s) + ${a.timeoutSeconds} ))`,
        // Polls in fifth-second steps (a whole second where sleep takes no fraction): a ready slot is seen at once.
        sh`nap() { sleep 0.2 2>/dev/null || sleep 1; }`,
        sh`say "waiting up to ${a.timeoutSeconds}s for $c to report healthy"`,
        sh`while :; do`,
        sh`  running=$(docker inspect -f '{{.State.Running}}' "$c")`,
        sh`  [ "$running" = true ] || gate_fail "check 'running': the container exited (exit code $(docker inspect -f '{{.State.ExitCode}}' "$c"))"`,
        sh`  health=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$c")`,
        sh`  [ "$health" = healthy ] || [ "$health" = none ] && break`,
        sh`  [ "$(date +%s)" -lt "$deadline" ] || gate_fail "check 'docker health': not healthy within ${a.timeoutSeconds}s (status: $health)"`,
        sh`  nap`,
        sh`done`,
        sh`say "docker health: $health"`,
        renderEndpointCheckLines(a),
        sh`until check_health; do`,
        sh`  [ "$(date +%s)" -lt "$deadline" ] || gate_fail "$check_failed within ${a.timeoutSeconds}s"`,
        sh`  nap`,
        sh`done`,
        sh`say "health endpoint: 200\${status_field:+, status $status_field}"`,
        sh`check_smoke || gate_fail "$check_failed"`,
        sh`say ${`smoke requests: ${a.smokeRequests.length} passed`}`,
        // Recent lines: everything since shortly before this gate began (a container prints
        // before Docker records StartedAt, so --since StartedAt can miss its first lines).
        sh`logs=$(docker logs --since ${a.timeoutSeconds + 300}s "$c" 2>&1 || true)`,
        ...a.logScanPatterns.map(
            (p) =>
                sh`if printf '%s\\n' "$logs" | grep -F -q -- ${p}; then gate_fail ${
                    `check 'log scan': ` + `the logs contain ${JSON.stringify(p)}:`
                }" $(printf '%s\\n' "$logs" | grep -F -m 1 -- ${p} | ${stripControlChars()})"; fi`,
        ),
        sh`say "log scan: clean"`,
        sh`echo passed`,
    );
}
