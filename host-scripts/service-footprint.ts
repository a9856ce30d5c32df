import { canaryLoggerName, REMOVE_CANARY_LOGGER_FUNCTION, renderStandaloneServerPresentLines } from "./caddy";
import { caddyServerName } from "./routing";
import { caddyMarkerDirs, hostLayout, removableEntries } from "./layout";
import { deployMetricsFile, deployRunMetricsFile } from "./deploy-metrics";
import { lines, prologue, script, sh, ShellText, words } from "./shell";

/** What the service occupies on the host, besides its containers. */
export interface ServiceFootprintArgs {
    /** The app directory (0750). */
    appDir: string;
    /** Service name: Caddy server, marker directory, image label. */
    serviceName: string;
    /** Caddy's admin API address. */
    caddyAdmin: string;
    /** The stack that deploys the service (`<org>/<project>/<stack>`): appDir's owner. */
    owner: string;
    /** Directory of node_exporter's textfile collector: the release steps' deploy metrics are there. */
    metricsDir: string;
}

/** Who claims appDir: the stack, and the service it deploys. */
export type AppDirClaim = Pick<ServiceFootprintArgs, "appDir" | "serviceName" | "owner">;

/** What appDir's ownership marker holds for this service. */
function ownerClaim(a: AppDirClaim): string {
    return `${a.owner} ${a.serviceName}`;
}

/**
 * Claims appDir before anything in it changes. A directory another stack owns, or one that is
 * not empty and that no l9-deploy stack claimed (someone's files, a system directory), is
 * refused with nothing changed. This stack's own directory under another service name is a
 * rename: the new service takes it over. One that an earlier l9-deploy version deployed (its
 * state and releases directories, no marker yet) is claimed. The claim is written at once:
 * whichever step writes in appDir first (preflight) leaves it this service's.
 */
export function renderClaimAppDirLines(a: AppDirClaim): ShellText {
    const l = hostLayout(a.appDir);
    return lines(
        sh`if [ -f ${l.ownerMarker} ]; then`,
        sh`  owner=$(cat ${l.ownerMarker}) || fail ${`cannot read ${l.ownerMarker}`}`,
        sh`  case "$owner" in`,
        sh`    ${ownerClaim(a)}) ;;`,
        sh`    ${`${a.owner} `}*) say ${`taking over ${l.appDir} from service `}"\${owner#* }"${` of this stack (a rename)`} ;;`,
        sh`    *) fail ${`${l.appDir} belongs to another l9-deploy stack (`}"$owner"${
            `); nothing was changed. Fix: give this service its own directory (pulumi config set appDir ${otherAppDir(a)}); ` +
            `if that stack is gone for good, remove ${l.ownerMarker} on the host`
        } ;;`,
        sh`  esac`,
        sh`elif [ -d ${l.appDir} ] && [ -n "$(ls -A ${l.appDir})" ]; then`,
        sh`  if [ -d ${l.stateDir} ] && [ -d ${l.releases} ]; then`,
        sh`    say ${`claiming ${l.appDir}: an earlier l9-deploy version deployed here`}`,
        sh`  else`,
        sh`    fail ${
            `${l.appDir} is not empty and no l9-deploy stack owns it; nothing was changed (l9-deploy owns its appDir entirely). ` +
            `Fix: choose a new or empty directory (pulumi config set appDir ${otherAppDir(a)}), or move what is in it away`
        }`,
        sh`  fi`,
        sh`fi`,
        sh`mkdir -p ${l.appDir} || fail ${`cannot create ${l.appDir}`}`,
        sh`printf '%s\\n' ${ownerClaim(a)} >${l.ownerMarker} || fail ${`cannot write ${l.ownerMarker}`}`,
    );
}

/** A directory to suggest instead of appDir: never appDir itself (the old runbooks kept theirs in /opt/<service>). */
function otherAppDir(a: AppDirClaim): string {
    const suggestion = `/srv/${a.serviceName}`;
    return suggestion === a.appDir ? `/srv/l9-deploy-${a.serviceName}` : suggestion;
}

/**
 * `l9_dirs MODE DIR...` (part of the step library): creates each directory (and its parents)
 * and sets its mode; a failure stops the script naming the directory.
 */
export const DIRS_FUNCTION = lines(
    sh`l9_dirs() {`,
    sh`  d_mode=$1; shift`,
    sh`  for d in "$@"; do { mkdir -p "$d" && chmod "$d_mode" "$d"; } || fail "cannot create $d with mode $d_mode"; done`,
    sh`}`,
);

/**
 * The service's directories with their modes (DIRS_FUNCTION): appDir, state and releases 0750,
 * shared 0700, the marker directory and its parents 0755 (Caddy's user reads them).
 * Idempotent; the switch runs them too, so a removed marker directory is back before the flip.
 */
export function renderServiceDirLines(appDir: string, serviceName: string): ShellText[] {
    const l = hostLayout(appDir);
    return [
        sh`l9_dirs 750 ${words([l.appDir, l.stateDir, l.releases])}`,
        sh`l9_dirs 700 ${l.sharedDir}`,
        sh`l9_dirs 755 ${words(caddyMarkerDirs(serviceName))}`,
    ];
}

/**
 * Prepares the service's place on the host: appDir and its state, releases and shared
 * directories (0750/0700: nothing in them for other users), and the marker directory Caddy's
 * user reads (0755). Idempotent.
 */
export function renderPrepareServiceScript(a: ServiceFootprintArgs): string {
    return script(
        prologue(`service ${a.serviceName}`),
        renderClaimAppDirLines(a),
        DIRS_FUNCTION,
        renderServiceDirLines(a.appDir, a.serviceName),
        sh`say ${`${a.appDir} ready`}`,
    );
}

const CADDYFILE_ROUTES_KEPT = [
    "Caddy routes the service from a Caddyfile site that imports l9-deploy's snippet: the snippet and the import are kept",
    "(to go back, restore <Caddyfile>.before-l9-deploy and reload Caddy)",
].join(" ");

/**
 * The delete of the service's place, run last by `pulumi destroy` (everything else depends
 * on it), and after a rename (the old name's): Caddy's server for the service, the marker
 * directory, the service's images and deploy metrics, and the layout's entries in appDir,
 * only while this service owns it (after a rename the new service does, and keeps them). The deploy log and
 * the backups are kept on purpose (the audit trail and the data outlive the service); what
 * else is in appDir is not the layout's. Containers, the cron job and the env file have their own deletes.
 * Caddy must answer: without its config read, the server would stay, routing to containers gone
 * and logging into a directory removed (Caddy would not start on it), so the removal stops first.
 */
export function renderRemoveServiceScript(a: ServiceFootprintArgs): string {
    const l = hostLayout(a.appDir);
    const [root, serviceDir] = caddyMarkerDirs(a.serviceName);
    const serverUrl = sh`"$admin/config/apps/http/servers/$caddy_server_name"`;
    return script(
        prologue(`remove service ${a.serviceName}`),
        REMOVE_CANARY_LOGGER_FUNCTION,
        // Only a server of ours: one of that name that l9-deploy did not create is the operator's, and stays.
        renderStandaloneServerPresentLines(a.caddyAdmin, a.serviceName),
        sh`case "$caddy_server" in`,
        sh`  yes)`,
        // Caddyfile mode: the operator's Caddyfile imports the snippet; without it their next reload would fail.
        sh`    if [ -z "$caddy_server_name" ]; then say ${CADDYFILE_ROUTES_KEPT}; else`,
        sh`    admin_curl -fsS -m 10 -X DELETE ${serverUrl} >/dev/null || fail "Caddy refused to remove the server of the service"`,
        sh`    say "Caddy server $caddy_server_name removed"; fi ;;`,
        sh`  foreign) say ${
            `Caddy's server ${caddyServerName(a.serviceName)} is not one l9-deploy created ` + `(no routing marker of ${a.serviceName} in it): left as it is`
        } ;;`,
        sh`esac`,
        // The canary's logger too, whether a canary is configured now or was once: a logger left
        // behind points into the marker directory removed below, and Caddy refuses to start
        // (`--resume`) on a config whose log file cannot be opened.
        sh`l9_remove_canary_logger ${canaryLoggerName(a.serviceName)}`,
        sh`rm -rf ${serviceDir} || fail ${`cannot remove ${serviceDir}`}`,
        sh`rmdir ${root} 2>/dev/null || true`,
        sh`docker image ls -q --filter ${`label=l9.service=${a.serviceName}`} | sort -u | xargs -r docker image rm -f >/dev/null 2>&1 || true`,
        // Written by every release step, owned by none of their resources (each deploy replaces them).
        ...[deployMetricsFile(a.metricsDir, a.serviceName), deployRunMetricsFile(a.metricsDir, a.serviceName)].map(
            (file) => sh`rm -f ${file} || fail ${`cannot remove ${file}`}`,
        ),
        sh`owner=$(cat ${l.ownerMarker} 2>/dev/null || true)`,
        sh`case "$owner" in`,
        sh`  ${ownerClaim(a)}|"")`,
        sh`    rm -rf ${words(removableEntries(l))} || fail ${`cannot remove the service's files in ${l.appDir}`}`,
        sh`    rm -f ${l.ownerMarker} || fail ${`cannot remove ${l.ownerMarker}`}`,
        sh`    say ${`removed; kept ${l.deployLog} and ${l.backups}`} ;;`,
        sh`  *) say ${`${l.appDir} belongs to `}"$owner"${` now: its files are left to it`} ;;`,
        sh`esac`,
    );
}
