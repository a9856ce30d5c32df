import { canaryLogDir } from "./layout";
import { canaryLoggerName, renderCaddyAdminLines, renderCaddyFactsLines, renderClearCanaryLine, renderLoadConfigLines, renderSetMarkerLine } from "./caddy";
import { containerIsNew } from "./attempt";
import { NotifyContext, renderNotifyLines } from "./notify";
import { renderServiceDirLines } from "./service-footprint";
import { lines, renderRecordedTimeCommand, script, sh, ShellText } from "./shell";
import { renderLogTailLine, renderStepPrologue } from "./step-library";
import { renderStepLockLines } from "./step-lock";
import { caddyServerArgs, canaryMarkerFile, RoutingArgs } from "./routing";
import { Color, otherColor } from "../state/slot-machine";

/** How a canary runs and is judged (from the `canary` config). */
export interface CanaryPlan {
    /** The steps' percentages of requests, ascending; the last is the configured percent. */
    percents: number[];
    /** How long each step is held. */
    stepSeconds: number;
    /** The error rate (5xx and failed connections, of the canary's requests) that ends the canary, in basis points (1000 = 10 %). */
    maxErrorRateBasisPoints: number;
    /** Fewer canary requests than this in a step are not judged (a warning says so). */
    minRequests: number;
    /** Clients keep their side (a bucket cookie). */
    sticky: boolean;
}

/** The step percentages: `steps` equal steps up to `percent`, e.g. 20 in 2 steps is 10, 20. */
export function canaryPercents(percent: number, steps: number): number[] {
    const out = Array.from({ length: steps }, (_, i) => Math.max(1, Math.round((percent * (i + 1)) / steps)));
    return [...new Set(out)];
}

/** "10", "2.5": a rate in basis points as the percentage an operator configured. */
export function formatBasisPoints(bp: number): string {
    return String(bp / 100);
}

export interface CanaryScriptArgs extends RoutingArgs {
    /** The slot that takes the canary share (the new release's). */
    slot: Color;
    /** Its release tag (messages). */
    tag: string;
    /** Its container (a canary only for a container created in this attempt; its logs in notifications). */
    containerName: string;
    /** How the canary runs. */
    plan: CanaryPlan;
    /** Who is told when the canary is rolled back, and where that failed deploy is recorded (metricsDir). */
    notify: NotifyContext;
    /** How long to wait for a release step of this service that still runs (an interrupted update's). */
    stepLockWaitSeconds: number;
}

/**
 * The canary of a new release, between its gate and the switch: each step routes its share of
 * requests to the new slot (a marker file, no reload), holds it, and every second counts the
 * canary's requests and errors in Caddy's access log since the step began. Over the limit,
 * the canary ends at once (0 %), the failure is notified and the step fails naming the rate.
 * Any exit, even an interrupted one, removes the markers. A slot that already serves, or a
 * container that is not new (a return to the warm standby), gets no canary: that is a plain
 * switch. Prints the time it finished.
 */
export function renderCanaryScript(a: CanaryScriptArgs): string {
    const caddyArgs = caddyServerArgs(a);
    const serving = otherColor(a.slot);
    const p = a.plan;
    const limit = formatBasisPoints(p.maxErrorRateBasisPoints);
    const n = p.percents.length;
    return script(
        renderStepPrologue(a.appDir, `canary ${a.tag}`),
        renderNotifyLines(a.notify),
        renderCaddyAdminLines(caddyArgs),
        renderServiceDirLines(a.appDir, a.serviceName),
        renderStepLockLines(a.appDir, a.stepLockWaitSeconds),
        renderLoadConfigLines(caddyArgs),
        renderCaddyFactsLines(caddyArgs),
        sh`if [ "$routing" = ${a.slot} ]; then say ${`${a.slot} already serves: no canary`}; ${renderRecordedTimeCommand()}; exit 0; fi`,
        sh`if ! ${containerIsNew(a.appDir, a.containerName)}; then say ${
            `${a.containerName} is the standby returning, ` + `not a new release: no canary (a plain switch)`
        }; ${renderRecordedTimeCommand()}; exit 0; fi`,
        sh`l9_canary_log_current ${canaryLogDir(a.serviceName)} ${canaryLoggerName(a.serviceName)} || fail ${
            `Caddy does not write the canary access log in ${canaryLogDir(a.serviceName)} ` + `(may Caddy's user write there?)`
        }`,
        sh`log=$canary_log`,
        sh`[ -r "$log" ] || fail "the deploy user cannot read the canary access log $log"`,
        sh`clear_canary() {`,
        sh`  ${renderClearCanaryLine(caddyArgs)}`,
        sh`}`,
        // Whatever ends this script ends the canary: the serving slot takes every request again.
        sh`trap clear_canary EXIT`,
        sh`trap 'clear_canary; exit 1' HUP INT TERM`,
        renderJudgeLines(a, serving, limit, n),
        ...p.percents.map((percent, i) => renderStepLines(a, percent, i + 1, n, limit)),
        sh`clear_canary`,
        sh`say ${`canary passed: ${n} step${n > 1 ? "s" : ""} up to ${p.percents[n - 1]}% of requests; the switch promotes ${a.tag}`}`,
        renderRecordedTimeCommand(),
    );
}

/**
 * `judge STEP PERCENT`: counts the canary's requests and 5xx answers logged since `$from`
 * (`,"status":` cannot occur inside a JSON string, where every quote is escaped), and ends
 * the canary when the rate is over the limit.
 */
function renderJudgeLines(a: CanaryScriptArgs, serving: string, limit: string, n: number): ShellText {
    const p = a.plan;
    return lines(
        sh`judge() {`,
        sh`  total=$(tail -c +$((from + 1)) "$log" | grep -c ',"status":[0-9]' || true)`,
        sh`  errors=$(tail -c +$((from + 1)) "$log" | grep -c ',"status":5[0-9][0-9]' || true)`,
        sh`  rate=$(awk -v e="$errors" -v t="$total" 'BEGIN { if (t > 0) printf "%.1f", 100 * e / t; else printf "0" }')`,
        sh`  [ "$total" -ge ${p.minRequests} ] || return 0`,
        sh`  [ $((errors * 10000)) -gt $((${p.maxErrorRateBasisPoints} * total)) ] || return 0`,
        sh`  clear_canary`,
        sh`  ${renderLogTailLine(a.containerName, 30)}`,
        sh`  notify failure ${`canary of ${a.tag}: error rate `}"$rate% ($errors of $total requests)"${
            ` above ${limit}%; ` + `traffic returned to ${serving}`
        } "$log_tail"`,
        sh`  printf '%s\\n' "$log_tail" | sed 's/^/  | /' >&2`,
        sh`  fail ${`step `}"$1/${n} ($2%): error rate $rate% ($errors of $total canary requests answered 5xx or failed to connect) is above maxErrorRate "${
            `${limit}%; the canary was rolled back: ` + `0% of requests to ${a.slot}, ${serving} serves them all`
        }`,
        sh`}`,
    );
}

/** One step: its marker on (then the previous step's off), held, judged every second. */
function renderStepLines(a: CanaryScriptArgs, percent: number, step: number, n: number, limit: string): ShellText {
    const caddyArgs = caddyServerArgs(a);
    const marker = canaryMarkerFile(caddyArgs.markerDir, a.serviceName, a.slot, percent);
    const previous = step > 1 ? canaryMarkerFile(caddyArgs.markerDir, a.serviceName, a.slot, a.plan.percents[step - 2]) : undefined;
    return lines(
        sh`say ${`step ${step}/${n}: ${percent}% of requests to ${a.slot} (${a.tag}) for ${a.plan.stepSeconds}s; above ${limit}% errors the canary ends`}`,
        sh`from=$(stat -c %s "$log")`,
        renderSetMarkerLine(marker),
        previous !== undefined && sh`rm -f ${previous}`,
        sh`step_end=$(( $(date +%s) + ${a.plan.stepSeconds} ))`,
        sh`while [ "$(date +%s)" -lt "$step_end" ]; do sleep 1; judge ${step} ${percent}; done`,
        sh`if [ "$total" -ge ${a.plan.minRequests} ]; then say ${`step ${step}/${n}: `}"$total canary requests, $errors errors ($rate%)"; else printf '%s\\n' ${
            `warning: canary step ${step}/${n} ` + `of ${a.tag} saw only `
        }"$total"${` requests (fewer than minRequests ${a.plan.minRequests}): its error rate was not judged`} >&2; fi`,
    );
}
