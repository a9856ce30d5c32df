/**
 * The deploy the old runbooks left on an adopted host (issue 23): its container, stopped once
 * l9-deploy serves (never removed), and its cron files, renamed aside (never deleted). The
 * delete leaves them so, unless asked to hand the host back (handBackOnDestroy): the cron
 * files return, the container starts again, and, when
 * the operator's Caddyfile imports l9-deploy's routes in place of a known proxy line, that line
 * is put back and Caddy reloaded once the container answers, while l9-deploy's slots still
 * serve (destroy deletes this before them).
 */
import { renderAdminAccessLines } from "./caddy";
import { CADDYFILE_EDIT_FUNCTIONS, CADDYFILE_IMPORT_REVERT_AWK, caddyfileBackupPath, caddyfilePreviousPath } from "./caddyfile-site";
import { hostLayout } from "./layout";
import { lines, prologue, script, sh, ShellText } from "./shell";

export interface OldDeployArgs {
    /** The app directory (the containers' restart policies are kept in its state directory). */
    readonly appDir: string;
    /** The old deploy's containers, by name. */
    readonly containers: readonly string[];
    /** The old deploy's cron files, by path. */
    readonly cronFiles: readonly string[];
    /** Caddy's admin address: no container is stopped while Caddy still proxies to a port it publishes. */
    readonly caddyAdmin: string;
}

/** How a renamed cron file ends: cron ignores names with a dot in /etc/cron.d. */
export const CRON_DISABLED_SUFFIX = ".disabled-by-l9-deploy";

/** Where the restart policy a container had before it was stopped is kept (read by the restore). */
export function keptRestartPolicyPath(appDir: string, container: string): string {
    return `${hostLayout(appDir).stateDir}/old-deploy-${container}.restart-policy`;
}

/** The one command that brings an old container back as it was. */
export function restoreContainerCommand(container: string, restartPolicy: string): string {
    return `docker update --restart=${restartPolicy} ${container} && docker start ${container}`;
}

/**
 * Stops the old deploy: each container gets restart policy `no` (so a Docker restart does not
 * start it again; the policy it had is kept first, once) and is stopped; each cron file is
 * renamed to `<file>.disabled-by-l9-deploy`. Refused, before anything changes, while any route
 * of Caddy's still dials a port one of the containers publishes (a site the switch did not move,
 * e.g. a second name of the API's): stopping it would fail that site's requests. Prints
 * `container <name> <policy it had>` per container found and `cron <file>` per cron file
 * renamed (now or before). Idempotent.
 */
export function renderRetireOldDeployScript(a: OldDeployArgs): string {
    return script(
        prologue("retire the old deploy"),
        a.containers.length > 0 && renderStillRoutedCheckLines(a.caddyAdmin, a.containers),
        sh`mkdir -p ${hostLayout(a.appDir).stateDir} || fail ${`cannot create ${hostLayout(a.appDir).stateDir}`}`,
        // Cron first: an old health check would start the container again.
        ...a.cronFiles.map((f) =>
            lines(
                sh`if [ -e ${f} ]; then`,
                sh`  mv -f ${f} ${f + CRON_DISABLED_SUFFIX} || fail ${`cannot rename ${f}`}`,
                sh`  say ${`renamed ${f} to ${f + CRON_DISABLED_SUFFIX}: cron no longer runs it`}`,
                sh`elif [ ! -e ${f + CRON_DISABLED_SUFFIX} ]; then say ${`${f} is not on the host: nothing to rename`}; fi`,
                sh`if [ -e ${f + CRON_DISABLED_SUFFIX} ]; then printf 'cron %s\\n' ${f}; fi`,
            ),
        ),
        ...a.containers.map((c) => renderRetireContainerLines(a.appDir, c)),
    );
}

/**
 * Fails, naming the container and the port, while a dial in Caddy's running config ends in a
 * port a running old container has bound (stopped ones cannot fail a request by being stopped),
 * or when such a container runs on the host's network (its ports cannot be told apart).
 */
function renderStillRoutedCheckLines(caddyAdmin: string, containers: readonly string[]): ShellText {
    const bound = "{{range $p, $b := .NetworkSettings.Ports}}{{range $b}}{{.HostPort}} {{end}}{{end}}";
    return lines(
        renderAdminAccessLines(caddyAdmin),
        // Read once, when a running container needs it: " <dial> <dial> ".
        sh`dials=`,
        sh`l9_caddy_dials() {`,
        sh`  caddy_config=$(admin_curl -fsS -m 10 "$admin/config/") ||`,
        sh`    fail ${`cannot read Caddy's config at ${caddyAdmin}: no old container is stopped unchecked`}`,
        sh`  dials=" $(printf '%s' "$caddy_config" | grep -o '"dial":"[^"]*"' | sed 's/^"dial":"//; s/"$//' | tr '\\n' ' ') "`,
        sh`}`,
        ...containers.map((c) =>
            lines(
                sh`if [ "$(docker inspect --type container -f '{{.State.Running}}' ${c} 2>/dev/null)" = true ]; then`,
                sh`  [ -n "$dials" ] || l9_caddy_dials`,
                sh`  network=$(docker inspect --type container -f '{{.HostConfig.NetworkMode}}' ${c}) || fail ${`cannot read ${c}'s network`}`,
                sh`  if [ "$network" = host ]; then`,
                sh`    fail ${`${c} runs on the host's network, so l9-deploy cannot tell which of Caddy's routes reach it:`} \\`,
                sh`      ${"it was not stopped, and nothing was changed."} \\`,
                sh`      ${`Fix: check that no site of Caddy's proxies to it, stop it yourself, and drop ${c} from adopt.containers`}`,
                sh`  fi`,
                sh`  ports=$(docker inspect --type container -f ${bound} ${c}) || fail ${`cannot read the ports ${c} has bound`}`,
                sh`  for port in $ports; do`,
                sh`    case "$dials" in *":$port "*)`,
                sh`      fail "a route of Caddy's still proxies to port $port, which "${c}" publishes: it was not stopped, and nothing was changed." \\`,
                sh`        "Fix: point that site at l9-deploy's routes (import the snippet, as caddyHosts[0]'s site does)" \\`,
                sh`        "or drop "${c}" from adopt.containers" ;;`,
                sh`    esac`,
                sh`  done`,
                sh`fi`,
            ),
        ),
    );
}

function renderRetireContainerLines(appDir: string, c: string): ShellText {
    const kept = keptRestartPolicyPath(appDir, c);
    return lines(
        sh`if docker inspect ${c} >/dev/null 2>&1; then`,
        sh`  if [ ! -s ${kept} ]; then docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' ${c} >${kept} || fail ${`cannot keep ${c}'s restart policy`}; fi`,
        sh`  docker update --restart=no ${c} >/dev/null || fail ${`cannot set ${c}'s restart policy to no`}`,
        sh`  if [ "$(docker inspect -f '{{.State.Running}}' ${c})" = true ]; then`,
        sh`    say ${`stopping ${c} (SIGTERM, 30s grace): l9-deploy serves now; the container is kept`}`,
        sh`    docker stop -t 30 ${c} >/dev/null || fail ${`cannot stop ${c}`}`,
        sh`  fi`,
        sh`  printf 'container %s %s\\n' ${c} "$(cat ${kept})"`,
        sh`else`,
        sh`  say ${`${c} is not on the host: nothing to stop`}`,
        sh`fi`,
    );
}

/** What the delete of a kept deploy says: nothing moves, and how to go back by hand. */
export function renderKeepOldDeployScript(a: OldDeployArgs): string {
    const kept = [...a.containers.map((c) => `${c} (stopped)`), ...a.cronFiles.map((f) => f + CRON_DISABLED_SUFFIX)].join(", ");
    const how = "the commands that bring them back are in the stack output 'retired' (adopt.handBackOnDestroy runs them on destroy)";
    return script(prologue("keep the old deploy retired"), sh`say ${`left as they are: ${kept || "nothing"}; ${how}`}`);
}

/** What the delete needs beyond OldDeployArgs to hand the traffic back. */
export interface HandBackArgs extends OldDeployArgs {
    /** The old container's address and a path that answers 200 there once it is up (adopt.healthPath), e.g. 127.0.0.1:8000 and /health. */
    readonly dial?: string;
    readonly healthPath: string;
    /** The operator's Caddyfile and l9-deploy's snippet it imports, when routes went into it. */
    readonly caddyfile?: { readonly path: string; readonly snippet: string };
}

/**
 * The delete: cron files back, containers back with the policy they had and started; then, with
 * a Caddyfile and a dial, once the old container answers, the site's import line becomes
 * `reverse_proxy <dial>` again and Caddy reloads (validated first; on a refusal the Caddyfile is
 * left as it was and the delete fails, saying so).
 */
export function renderHandBackOldDeployScript(a: HandBackArgs): string {
    const cf = a.caddyfile?.path;
    return script(
        prologue("hand the host back to the old deploy"),
        // Before anything moves: a hand-back that cannot put the site's line back would leave it on slots about to go.
        !!cf &&
            !a.dial &&
            lines(
                sh`fail ${`${cf} imports l9-deploy's routes and caddyfileReplaces is not set:`} \\`,
                sh`  ${"there is no line to put back; nothing was changed."} \\`,
                sh`  ${`Fix: pulumi config set caddyfileReplaces <the address of the reverse_proxy line in ${caddyfileBackupPath(cf)}>;`} \\`,
                sh`  ${"pulumi up; then destroy"}`,
            ),
        !!cf && sh`[ ! -L ${cf} ] || fail ${`${cf} is a symbolic link (l9-deploy replaces no link); nothing was changed.`} ${"Fix: put the line back by hand"}`,
        ...a.cronFiles.map((f) =>
            lines(
                sh`if [ -e ${f + CRON_DISABLED_SUFFIX} ] && [ ! -e ${f} ]; then`,
                sh`  mv ${f + CRON_DISABLED_SUFFIX} ${f} || fail ${`cannot rename ${f + CRON_DISABLED_SUFFIX} back`}`,
                sh`  say ${`${f} is back: cron runs it again`}`,
                sh`fi`,
            ),
        ),
        ...a.containers.map((c) => {
            const kept = keptRestartPolicyPath(a.appDir, c);
            return lines(
                sh`if docker inspect ${c} >/dev/null 2>&1; then`,
                sh`  if [ -s ${kept} ]; then docker update --restart="$(cat ${kept})" ${c} >/dev/null || fail ${`cannot restore ${c}'s restart policy`}; fi`,
                sh`  docker start ${c} >/dev/null || fail ${`cannot start ${c}`}`,
                sh`  rm -f ${kept}`,
                sh`  say ${`${c} runs again`}`,
                sh`fi`,
            );
        }),
        !!(a.caddyfile && a.dial) && renderHandBackRoutesLines(a.caddyfile.path, a.caddyfile.snippet, a.dial, a.healthPath),
    );
}

function renderHandBackRoutesLines(caddyfile: string, snippet: string, dial: string, healthPath: string): ShellText {
    const health = `http://${dial}${healthPath}`;
    const previous = caddyfilePreviousPath(caddyfile);
    const refused = `Caddy does not accept ${caddyfile} with reverse_proxy ${dial} back; it is left as it was`;
    return lines(
        CADDYFILE_EDIT_FUNCTIONS,
        sh`waited=0`,
        sh`until curl -gfsS -m 2 -o /dev/null ${health}; do`,
        sh`  [ "$waited" -lt 120 ] || fail ${`the old deploy does not answer ${health} after 120s: ${caddyfile} still routes to l9-deploy's slots`}`,
        sh`  sleep 1; waited=$((waited + 1))`,
        sh`done`,
        sh`edited=${caddyfile}.l9-deploy.$$`,
        sh`if awk -v snippet=${snippet} -v dial=${dial} ${CADDYFILE_IMPORT_REVERT_AWK} ${caddyfile} >"$edited"; then`,
        sh`  l9_caddy_validate "$edited" || { rm -f "$edited"; fail ${refused}; }`,
        sh`  l9_replace_caddyfile "$edited" ${caddyfile}`,
        sh`  if ! caddy reload --config ${caddyfile} --adapter caddyfile --force >/dev/null 2>&1; then`,
        sh`    cp -p ${previous} ${caddyfile} || fail ${`Caddy did not reload ${caddyfile}, and putting back ${previous} failed: do it by hand`}`,
        sh`    fail ${`Caddy did not reload ${caddyfile}; it is left as it was, routing to l9-deploy's slots (check: journalctl -u caddy)`}`,
        sh`  fi`,
        sh`  say ${`${caddyfile}: the site proxies to ${dial} again, and Caddy reloaded it`}`,
        sh`else`,
        sh`  rm -f "$edited"`,
        sh`  say ${`${caddyfile} does not import ${snippet} (once): left as it is`}`,
        sh`fi`,
    );
}
