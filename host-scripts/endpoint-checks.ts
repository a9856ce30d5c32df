import { SmokeRequest } from "../config/schema";
import { loopbackDial } from "./routing";
import { lines, oneLine, sh, ShellText, stripControlChars } from "./shell";

export interface EndpointCheckArgs {
    /** Loopback port the slot answers on. */
    port: number;
    /** Health endpoint path. */
    healthPath: string;
    /** Requests that must answer with the expected status. */
    smokeRequests: SmokeRequest[];
}

/**
 * `l9_check_health URL PATH` and `l9_check_smoke METHOD URL PATH STATUS` (part of the step
 * library): a slot judged from outside, by the gate (before traffic moves) and the post-switch
 * watch (after). Health: 200 and, when the body is JSON with a status, status "healthy".
 * Smoke: the request answers STATUS. Each returns non-zero with `$check_failed` naming the
 * check and what it saw.
 */
export const ENDPOINT_CHECK_FUNCTIONS = lines(
    sh`l9_check_health() {`,
    sh`  out=$(curl -sS -m 5 -w '\\n%{http_code}' "$1" 2>&1) || out="$out"`,
    sh`  code=$(printf '%s' "$out" | tail -n 1); body=$(printf '%s' "$out" | sed '$d')`,
    sh`  status_field=$(printf '%s' "$body" | tr -d '\\n' | sed -n 's/.*"status"[[:space:]]*:[[:space:]]*"\\([^"]*\\)".*/\\1/p' | ${stripControlChars()})`,
    sh`  if [ "$code" = 200 ] && { [ -z "$status_field" ] || [ "$status_field" = healthy ]; }; then return 0; fi`,
    sh`  check_failed="check 'health endpoint': GET $2 answered $code\${status_field:+ (status \\"$status_field\\")}"`,
    sh`  return 1`,
    sh`}`,
    sh`l9_check_smoke() {`,
    sh`  code=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -X "$1" "$2" 2>/dev/null || true)`,
    sh`  [ "$code" = "$4" ] || { check_failed="check 'smoke $1 $3': expected $4, got $code"; return 1; }`,
    sh`}`,
);

/**
 * `check_health` and `check_smoke` of one slot, as the gate and the watch call them
 * (ENDPOINT_CHECK_FUNCTIONS): the slot's health endpoint, and every smoke request in turn.
 */
export function renderEndpointCheckLines(a: EndpointCheckArgs): ShellText {
    const base = `http://${loopbackDial(a.port)}`;
    const smokes = a.smokeRequests.map((r) => sh`l9_check_smoke ${r.method} ${base + r.path} ${r.path} ${r.expectStatus}`);
    return lines(
        sh`check_health() { l9_check_health ${base + a.healthPath} ${a.healthPath}; }`,
        // Each request in turn; the first that fails ends the round (no request: nothing to check).
        sh`check_smoke() { ${smokes.length > 0 ? oneLine(smokes.map((c) => sh`${c} || return 1`)) : sh`:`}; }`,
    );
}
