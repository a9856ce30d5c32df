import { canaryLoggerName, caddyServerName } from "./caddy";
import { caddyMarkerDirs, hostLayout } from "./layout";
import { prologue, script, sh, ShellText } from "./shell";

/** What the service occupies on the host, besides its containers. */
export interface ServiceFootprintArgs {
    /** The app directory (0750). */
    appDir: string;
    /** Service name: Caddy server, marker directory, image label. */
    serviceName: string;
    /** Caddy's admin API address. */
    caddyAdmin: string;
}

/**
 * The service's directories with their modes: appDir, state and releases 0750, shared 0700,
 * the marker directory and its parents 0755 (Caddy's user reads them). Idempotent; the
 * switch runs them too, so a removed marker directory is back before the flip.
 */
export function renderServiceDirLines(appDir: string, serviceName: string): ShellText[] {
    const l = hostLayout(appDir);
    return [
        sh`mkdir -p ${l.appDir} ${l.stateDir} ${l.releases} || fail ${`cannot create ${l.appDir} and its state and releases directories`}`,
        sh`chmod 750 ${l.appDir} ${l.stateDir} ${l.releases} || fail ${`cannot set mode 750 on ${l.appDir} and its state and releases directories`}`,
        sh`mkdir -p ${`${l.appDir}/shared`} || fail ${`cannot create ${l.appDir}/shared`}`,
        sh`chmod 700 ${`${l.appDir}/shared`} || fail ${`cannot set mode 700 on ${l.appDir}/shared`}`,
        ...caddyMarkerDirs(serviceName).map((d) => sh`{ mkdir -p ${d} && chmod 755 ${d}; } || fail ${`cannot create ${d} with mode 755`}`),
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
        renderServiceDirLines(a.appDir, a.serviceName),
        sh`say ${`${a.appDir} ready`}`,
    );
}

/**
 * The delete of the service's place, run last by `pulumi destroy` (everything else depends
 * on it): Caddy's server for the service, the marker directory, the service's images, and
 * everything under appDir except the deploy log and the backups, which are kept on purpose (the audit trail
 * and the data outlive the service). Containers, the cron job and the env file have their own deletes.
 */
export function renderRemoveServiceScript(a: ServiceFootprintArgs): string {
    const l = hostLayout(a.appDir);
    const [root, serviceDir] = caddyMarkerDirs(a.serviceName);
    return script(
        prologue(`remove service ${a.serviceName}`),
        sh`admin=${`http://${a.caddyAdmin}`}`,
        sh`if curl -fsS -m 5 -o /dev/null "$admin/config/apps/http/servers/"${caddyServerName(a.serviceName)}; then`,
        sh`  curl -fsS -m 10 -X DELETE "$admin/config/apps/http/servers/"${caddyServerName(a.serviceName)} >/dev/null || fail "Caddy refused to remove the server of the service"`,
        sh`  say ${`Caddy server ${caddyServerName(a.serviceName)} removed`}`,
        sh`fi`,
        // The canary's logger too, whether a canary is configured now or was once: a logger left
        // behind points into the marker directory removed below, and Caddy refuses to start
        // (`--resume`) on a config whose log file cannot be opened.
        sh`case "$(curl -fsS -m 5 ${`http://${a.caddyAdmin}/config/logging/logs/${canaryLoggerName(a.serviceName)}`} 2>/dev/null)" in "{"*) curl -fsS -m 10 -X DELETE ${`http://${a.caddyAdmin}/config/logging/logs/${canaryLoggerName(a.serviceName)}`} >/dev/null || fail "Caddy refused to remove the canary access log";; esac`,
        sh`rm -rf ${serviceDir}`,
        sh`rmdir ${root} 2>/dev/null || true`,
        sh`docker image ls -q --filter ${`label=l9.service=${a.serviceName}`} | sort -u | xargs -r docker image rm -f >/dev/null 2>&1 || true`,
        sh`if [ -d ${l.appDir} ]; then find ${l.appDir} -mindepth 1 -maxdepth 1 ! -name ${l.deployLog.split("/").pop() ?? ""} ! -name ${l.backups.split("/").pop() ?? ""} -exec rm -rf {} +; fi`,
        sh`say ${`removed; kept ${l.deployLog} and ${l.backups}`}`,
    );
}
