import { SmokeRequest } from "../config/schema";
import { loopbackDial } from "./routing";
import { lines, sh, ShellText, stripControlChars } from "./shell";

export interface EndpointCheckArgs {
    /** Loopback port the slot answers on. */
    port: number;
    /** Health endpoint path. */
    healthPath: string;
    /** Requests that must answer with the expected status. */
    smokeRequests: SmokeRequest[];
}

/**
 * Shell functions that judge a slot from outside, shared by the gate (before traffic moves)
 * and the post-switch watch (after): `check_health` (200 and, when the body is JSON with a
 * status, status "healthy") and `check_smoke` (every smoke request answers its status). Each
 * returns non-zero with `$check_failed` naming the check and what it saw.
 */
export function renderEndpointCheckLines(a: EndpointCheckArgs): ShellText {
    const base = `http://${loopbackDial(a.port)}`;
    return lines(
        sh`check_health() {`,
        sh`  out=$(curl -sS -m 5 -w '\\n%{http_code}' ${base + a.healthPath} 2>&1) || out="$out"`,
        sh`  code=$(printf '%s' "$out" | tail -n 1); body=$(printf '%s' "$out" | sed '$d')`,
        sh`  status_field=$(printf '%s' "$body" | tr -d '\\n' | sed -n 's/.*"status"[[:space:]]*:[[:space:]]*"\\([^"]*\\)".*/\\1/p' | ${stripControlChars()})`,
        sh`  if [ "$code" = 200 ] && { [ -z "$status_field" ] || [ "$status_field" = healthy ]; }; then return 0; fi`,
        // The configured path goes in single quotes: only $code and $status_field expand.
        sh`  check_failed=${`check 'health endpoint': GET ${a.healthPath} answered `}"$code\${status_field:+ (status \\"$status_field\\")}"`,
        sh`  return 1`,
        sh`}`,
        sh`check_smoke() {`,
        ...a.smokeRequests.map((r) =>
            lines(
                sh`  code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X ${r.method} ${base + r.path} 2>/dev/null || true)`,
                sh`  [ "$code" = ${r.expectStatus} ] || { check_failed=${`check 'smoke ${r.method} ${r.path}': expected ${r.expectStatus}, got `}"$code"; return 1; }`,
            ),
        ),
        sh`  return 0`,
        sh`}`,
    );
}
