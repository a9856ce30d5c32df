import { CADDYFILE_EDIT_FUNCTIONS, CADDYFILE_INSTALL_FUNCTION, CADDYFILE_ROUTING_FACTS_FUNCTION } from "./caddyfile-site";
import * as crypto from "crypto";
import { CONTAINER_IS_NEW_FUNCTION } from "./attempt";
import { DEPLOY_METRICS_FUNCTIONS } from "./deploy-metrics";
import {
    ADMIN_GET_FUNCTION,
    CADDY_ADMIN_FUNCTIONS,
    CADDY_SERVER_PRESENT_FUNCTION,
    CANARY_LOG_FUNCTIONS,
    LOAD_SERVER_FUNCTION,
    REMOVE_CANARY_LOGGER_FUNCTION,
    ROUTING_FACTS_FUNCTION,
} from "./caddy";
import { ENDPOINT_CHECK_FUNCTIONS } from "./endpoint-checks";
import { PRUNE_IMAGES_FUNCTION } from "./image-prune";
import { JOURNAL_FUNCTIONS } from "./journal";
import { hostLayout } from "./layout";
import { NOTIFY_FUNCTION } from "./notify";
import { DIRS_FUNCTION } from "./service-footprint";
import { FAIL_AND_SAY, lines, script, scriptStart, sh, ShellText, stripControlChars } from "./shell";
import { renderDropWriteLine, renderWriteFileCommand } from "./install-file";
import { STEP_LOCK_FUNCTION } from "./step-lock";
import { WATCH_FUNCTION } from "./watch-loop";

/**
 * The shell the release steps (gate, hooks, canary, switch) share, installed once on the host
 * and sourced by each step, so that a step's script holds only what is its own. The library
 * is static text: every value comes in as an argument, quoted by the step's renderer, so one
 * library serves every config. Its file name carries its digest: a
 * step sources exactly the version it was rendered with, and a new version changes the steps'
 * scripts, which re-runs them as any change of a step's script does.
 *
 * Why a sourced library rather than a binary: the steps' judgements are a few lines of shell
 * around docker, curl and flock, which the host has; a binary would have to be built for the
 * host's architecture and copied there on every change. The library is reviewed as one golden
 * file (step-library.sh), and each step's golden shows only its own lines and the calls.
 */

/**
 * `l9_log_tail CONTAINER LINES`: sets `$log_tail` to the container's last lines, control
 * characters dropped (they go to the terminal and to webhooks).
 */
const LOG_TAIL_FUNCTION = sh`l9_log_tail() { log_tail=$(docker logs --tail "$2" "$1" 2>&1 | ${stripControlChars()} || true); }`;

/** Sets `$log_tail` to the last `count` lines of a container's log (LOG_TAIL_FUNCTION). */
export function renderLogTailLine(containerName: string | ShellText, count: number): ShellText {
    return sh`l9_log_tail ${containerName} ${count}`;
}

/**
 * `l9_hook_fail HOOK MESSAGE OUTPUT_FILE LINES`: a release hook failed: quotes the last LINES of
 * its output (control characters dropped), notifies and stops the step naming the hook.
 */
const HOOK_FAIL_FUNCTION = lines(
    sh`l9_hook_fail() {`,
    sh`  out_tail=$(tail -n "$4" "$3" 2>/dev/null | ${stripControlChars()} || true)`,
    sh`  printf '%s\\n' "$out_tail" | sed 's/^/  | /' >&2`,
    sh`  notify failure "hook '$1': $2" "$out_tail"`,
    sh`  fail "hook '$1' $2; traffic was not moved. Last lines above."`,
    sh`}`,
);

/**
 * `l9_one_off ENV_FILE NETWORK BOUND HOOK NAME IMAGE ARGS...` (the hooks' `one_off HOOK NAME
 * IMAGE ARGS...` passes the first three): runs ARGS in a one-off
 * container of IMAGE with the release env file and network, detached, waited for at most BOUND
 * s (stopping a `docker run` client leaves its container running). Its exit code is left in
 * $one_off_exit, its output in "$out" and the first word of its last non-empty stdout line in
 * "$out.word" (what `alembic current` prints as `9c1e (head)`: the revision); a container that
 * cannot start, be waited for or finish in time fails the hook (the step's hook_fail).
 */
const ONE_OFF_FUNCTION = lines(
    sh`l9_one_off() {`,
    sh`  one_off_env=$1`,
    sh`  one_off_network=$2`,
    sh`  one_off_bound=$3`,
    sh`  one_off_hook=$4`,
    sh`  one_off_name=$5`,
    sh`  one_off_image=$6`,
    sh`  shift 6`,
    // One left by an earlier attempt that was killed would hold the name, or still be running.
    sh`  docker rm -f "$one_off_name" >/dev/null 2>&1 || true`,
    sh`  docker run -d --name "$one_off_name" --env-file "$one_off_env" --network "$one_off_network" "$one_off_image" "$@" >/dev/null 2>"$out" \\`,
    sh`    || hook_fail "$one_off_hook" "could not start its container" "$out"`,
    // In the background: a signal to the step is then handled at once, not after the wait (its
    // trap removes the container, which ends the wait).
    sh`  timeout "$one_off_bound" docker wait "$one_off_name" >/dev/null 2>"$out" &`,
    sh`  wait_rc=0`,
    sh`  wait "$!" || wait_rc=$?`,
    sh`  if [ "$wait_rc" -eq 124 ]; then`,
    sh`    docker logs "$one_off_name" >"$out" 2>&1 || true`,
    sh`    if docker rm -f "$one_off_name" >/dev/null 2>>"$out"; then`,
    sh`      hook_fail "$one_off_hook" "did not finish within hookTimeoutSeconds=$one_off_bound s; its container was stopped and removed" "$out"`,
    sh`    fi`,
    sh`    hook_fail "$one_off_hook" "did not finish within hookTimeoutSeconds=$one_off_bound s; \\`,
    sh`its container $one_off_name could not be removed (docker rm -f it on the host)" "$out"`,
    sh`  elif [ "$wait_rc" -ne 0 ]; then`,
    sh`    hook_fail "$one_off_hook" "could not be waited for (docker wait exit $wait_rc)" "$out"`,
    sh`  fi`,
    sh`  one_off_exit=$(docker inspect -f '{{.State.ExitCode}}' "$one_off_name" 2>"$out") \\`,
    sh`    || hook_fail "$one_off_hook" "finished, but its exit code could not be read" "$out"`,
    sh`  docker logs "$one_off_name" >"$out" 2>&1 || true`,
    sh`  docker logs "$one_off_name" 2>/dev/null | awk 'NF { word = $1 } END { print word }' | ${stripControlChars()} >"$out.word" || true`,
    sh`  docker rm -f "$one_off_name" >/dev/null 2>&1 || printf 'warning: the finished container %s could not be removed\\n' "$one_off_name" >&2`,
    sh`}`,
);

/** The library's text (golden: step-library.sh). */
export function renderStepLibrary(): string {
    return script(
        sh`# l9-deploy's release-step library (host-scripts/step-library.ts), sourced by the gate,`,
        sh`# hooks, canary and switch of the service. Installed by l9-deploy: edits are overwritten.`,
        FAIL_AND_SAY,
        DIRS_FUNCTION,
        STEP_LOCK_FUNCTION,
        NOTIFY_FUNCTION,
        DEPLOY_METRICS_FUNCTIONS,
        LOG_TAIL_FUNCTION,
        ENDPOINT_CHECK_FUNCTIONS,
        HOOK_FAIL_FUNCTION,
        ONE_OFF_FUNCTION,
        CONTAINER_IS_NEW_FUNCTION,
        PRUNE_IMAGES_FUNCTION,
        CADDY_ADMIN_FUNCTIONS,
        ROUTING_FACTS_FUNCTION,
        CADDYFILE_ROUTING_FACTS_FUNCTION,
        CADDYFILE_EDIT_FUNCTIONS,
        CADDYFILE_INSTALL_FUNCTION,
        ADMIN_GET_FUNCTION,
        CADDY_SERVER_PRESENT_FUNCTION,
        LOAD_SERVER_FUNCTION,
        REMOVE_CANARY_LOGGER_FUNCTION,
        CANARY_LOG_FUNCTIONS,
        JOURNAL_FUNCTIONS,
        WATCH_FUNCTION,
    );
}

/** The library's text and its SHA-256, rendered once: the text is the same for every step. */
let rendered: { text: string; sha256: string } | undefined;
function library(): { text: string; sha256: string } {
    if (!rendered) {
        const text = renderStepLibrary();
        rendered = { text, sha256: crypto.createHash("sha256").update(text).digest("hex") };
    }
    return rendered;
}

/** Where this version of the library lives on the host (the layout's bin directory): its name carries the first 12 hex digits of its SHA-256. */
export function stepLibraryPath(appDir: string): string {
    return `${hostLayout(appDir).binDir}/l9-steps-${library().sha256.slice(0, 12)}.sh`;
}

/**
 * The start of every release step: strict mode, `$L9_STEP`, and the library sourced. The step
 * carries its library: when the host lacks this exact version (missing, or edited: its
 * SHA-256 differs), the step installs it (written aside, then renamed) and then removes the
 * other versions, never its own: two steps installing at once each rename a whole file into
 * place, and neither removes what the other sources. So no update, however it was interrupted,
 * and no hand edit can leave a step without the library it was rendered with, and nothing else
 * runs on the host to install it. The check reads `sha256sum`'s output (no GNU-only option).
 */
export function renderStepPrologue(appDir: string, step: string): ShellText {
    const l = hostLayout(appDir);
    const path = stepLibraryPath(appDir);
    const { text, sha256 } = library();
    const cannot = `l9-deploy's step library could not be installed at ${path}; nothing was changed`;
    // `fail` comes with the library: the prologue stops the step by hand.
    const stop = sh`{ ${renderDropWriteLine(path)}; printf '%s failed: %s\\n' "$L9_STEP" ${cannot} >&2; exit 1; }`;
    const current = sh`[ "$(sha256sum ${path} 2>/dev/null | cut -d' ' -f1)" = ${sha256} ]`;
    const warn = sh`printf 'warning: cannot remove %s\\n' "$old" >&2`;
    const others = sh`for old in ${l.binDir}/l9-steps-*.sh; do [ "$old" = ${path} ] || rm -f "$old" || ${warn}; done`;
    return lines(
        scriptStart(step),
        sh`${current} || { mkdir -p ${l.binDir} && ${renderWriteFileCommand(path, text, 600)} && ${others}; } || ${stop}`,
        sh`. ${path}`,
    );
}
