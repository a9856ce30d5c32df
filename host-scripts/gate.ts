import { SmokeRequest } from "../config/schema";
import { lines, prologue, script, sh } from "./shell";

export interface GateScriptArgs {
    /** Container of the slot about to receive traffic. */
    containerName: string;
    /** Release tag expected in that container (for messages). */
    tag: string;
    /** Loopback port the slot answers on. */
    port: number;
    /** Health endpoint path. */
    healthPath: string;
    /** Seconds to wait for Docker health `healthy` and the health endpoint. */
    timeoutSeconds: number;
    /** Requests that must answer with the expected status. */
    smokeRequests: SmokeRequest[];
    /** Fixed strings that must not appear in the container's logs. */
    logScanPatterns: string[];
    /** How many log lines to quote when a check fails. */
    logLinesOnFailure?: number;
}

/**
 * The gate before traffic moves: Docker health, the health endpoint (200 and, when the body
 * is JSON with a status, status "healthy"), smoke requests, and a scan of the container's
 * logs. Any failure prints which check failed and the container's last log lines, and
 * exits non-zero; it never touches Caddy.
 */
export function renderGateScript(a: GateScriptArgs): string {
    const base = `http://127.0.0.1:${a.port}`;
    const tail = a.logLinesOnFailure ?? 30;
    return script(
        prologue(`gate ${a.tag}`),
        sh`c=${a.containerName}`,
        sh`gate_fail() {`,
        sh`  printf 'gate failed for %s in %s: %s\\n' ${a.tag} "$c" "$*" >&2`,
        sh`  printf -- '--- last ${tail} log lines of %s ---\\n' "$c" >&2`,
        sh`  docker logs --tail ${tail} "$c" 2>&1 | sed 's/^/  | /' >&2 || true`,
        sh`  printf -- '--- traffic was not moved ---\\n' >&2`,
        sh`  exit 1`,
        sh`}`,
        sh`docker inspect "$c" >/dev/null 2>&1 || fail "container $c does not exist"`,
        // A drained standby is stopped: bring it back before judging it.
        sh`if [ "$(docker inspect -f '{{.State.Running}}' "$c")" != true ]; then say "starting $c"; docker start "$c" >/dev/null || gate_fail "container could not be started"; fi`,
        sh`deadline=$(( $(date +%s) + ${a.timeoutSeconds} ))`,
        sh`say "waiting up to ${a.timeoutSeconds}s for $c to report healthy"`,
        sh`while :; do`,
        sh`  running=$(docker inspect -f '{{.State.Running}}' "$c")`,
        sh`  [ "$running" = true ] || gate_fail "check 'running': the container exited (exit code $(docker inspect -f '{{.State.ExitCode}}' "$c"))"`,
        sh`  health=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$c")`,
        sh`  [ "$health" = healthy ] || [ "$health" = none ] && break`,
        sh`  [ "$(date +%s)" -lt "$deadline" ] || gate_fail "check 'docker health': not healthy within ${a.timeoutSeconds}s (status: $health)"`,
        sh`  sleep 1`,
        sh`done`,
        sh`say "docker health: $health"`,
        sh`url=${base + a.healthPath}`,
        sh`while :; do`,
        sh`  out=$(curl -sS -m 5 -w '\\n%{http_code}' "$url" 2>&1) || out="$out"`,
        sh`  code=$(printf '%s' "$out" | tail -n 1); body=$(printf '%s' "$out" | sed '$d')`,
        sh`  status_field=$(printf '%s' "$body" | tr -d '\\n' | sed -n 's/.*"status"[[:space:]]*:[[:space:]]*"\\([^"]*\\)".*/\\1/p')`,
        sh`  if [ "$code" = 200 ] && { [ -z "$status_field" ] || [ "$status_field" = healthy ]; }; then break; fi`,
        // The configured path goes in single quotes: only $code and $status_field expand.
        sh`  [ "$(date +%s)" -lt "$deadline" ] || gate_fail ${`check 'health endpoint': GET ${a.healthPath} answered `}"$code \${status_field:+(status \\"$status_field\\")} within ${a.timeoutSeconds}s"`,
        sh`  sleep 1`,
        sh`done`,
        sh`say "health endpoint: 200\${status_field:+, status $status_field}"`,
        ...a.smokeRequests.map((r) =>
            lines(
                sh`code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X ${r.method} ${base + r.path} 2>/dev/null || true)`,
                sh`[ "$code" = ${r.expectStatus} ] || gate_fail ${`check 'smoke ${r.method} ${r.path}': expected ${r.expectStatus}, got `}"$code"`,
                sh`say ${`smoke ${r.method} ${r.path}: ${r.expectStatus}`}`,
            ),
        ),
        // Recent lines: everything since shortly before this gate began (a container prints
        // before Docker records StartedAt, so --since StartedAt can miss its first lines).
        sh`logs=$(docker logs --since ${a.timeoutSeconds + 300}s "$c" 2>&1 || true)`,
        ...a.logScanPatterns.map(
            (p) =>
                sh`if printf '%s\\n' "$logs" | grep -F -q -- ${p}; then gate_fail ${`check 'log scan': the logs contain ${JSON.stringify(p)}:`}" $(printf '%s\\n' "$logs" | grep -F -m 1 -- ${p})"; fi`,
        ),
        sh`say "log scan: clean"`,
        sh`echo passed`,
    );
}
