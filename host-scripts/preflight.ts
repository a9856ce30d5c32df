import { adminCurl, adminUrl, caddyAdminSocket } from "./caddy-admin";
import type { CaddyServerArgs } from "./caddy";
import { renderConfigCurrentTest } from "./caddy-routes";
import { hostLayout } from "./layout";
import { renderClaimAppDirLines } from "./service-footprint";
import { lines, prologue, script, sh, ShellText } from "./shell";

export interface PreflightScriptArgs {
    /** The app directory whose filesystem must have room for images and worktrees. */
    readonly appDir: string;
    /** The service deployed to appDir: appDir is checked to be its before preflight writes in it. */
    readonly serviceName: string;
    /** The stack that claims appDir (project/stack, its ownership marker). */
    readonly owner: string;
    /** Caddy's admin API address (loopback). */
    readonly caddyAdmin: string;
    /** Minimum free space, in MiB, on the filesystem holding appDir and on Docker's root. */
    readonly minFreeDiskMb: number;
    /** The certificates Caddy must serve, checked once Caddy runs the site's current config. */
    readonly certificates?: CertificateCheckArgs;
    /** Seconds to wait first: a roll's pause after the previous batch switched (0: none). */
    readonly pauseSeconds?: number;
}

export interface CertificateCheckArgs {
    /** Host names whose certificates are checked (SNI). */
    readonly hosts: string[];
    /** Where the site listens, as host:port (an empty host means loopback). */
    readonly listen: string;
    /** Minimum days of validity left (0: no check). */
    readonly minDays: number;
    /** The service's routes: before Caddy runs their current config there is nothing to check. */
    readonly routes: CaddyServerArgs;
}

/**
 * Checks the host before anything on it changes: the tools exist, the Docker daemon and
 * Caddy's admin API answer, there is disk space, and the site's certificates stay valid long
 * enough. Reaching the host at all (with the pinned host key, its clock within bounds) is
 * checked by the program before any resource. Writes only the attempt's start time, once
 * appDir is found to be this service's (or new).
 */
export function renderPreflightScript(a: PreflightScriptArgs): string {
    const lowDiskFix = sh`below minFreeDiskMb=${a.minFreeDiskMb} (free space, or lower it: pulumi config set minFreeDiskMb N)`;
    return script(
        prologue("preflight"),
        !!a.pauseSeconds && sh`say ${`rollout: the previous batch switched; waiting ${a.pauseSeconds}s before this host`}; sleep ${a.pauseSeconds}`,
        sh`for tool in docker git curl sha256sum df; do command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is not installed on the host"; done`,
        sh`docker info >/dev/null 2>&1 || fail "the Docker daemon does not answer (is dockerd running? try: systemctl status docker)"`,
        sh`${adminCurl(a.caddyAdmin)} -fsS -m 5 -o /dev/null ${adminUrl(a.caddyAdmin, "/config/")} || fail ${
            `Caddy's admin API does not answer at ${a.caddyAdmin} (is caddy running with its admin endpoint there?` +
            `${caddyAdminSocket(a.caddyAdmin) ? " A socket opens for root and Caddy's user only: is sshUser one of them?" : ""})`
        }`,
        // Measure the nearest existing parent: appDir may not exist before the first deploy.
        sh`dir=${a.appDir}`,
        sh`while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done`,
        sh`docker_root=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker)`,
        sh`[ -d "$docker_root" ] || docker_root=/`,
        sh`for d in "$dir" "$docker_root"; do`,
        sh`  free_mb=$(df -Pm "$d" | awk 'NR==2 {print $4}')`,
        sh`  [ "$free_mb" -ge ${a.minFreeDiskMb} ] || fail "only $free_mb MiB free on the filesystem of $d, ${lowDiskFix}"`,
        sh`done`,
        renderCertificateLines(a.caddyAdmin, a.certificates),
        sh`say "host ready: docker, caddy admin and disk space ok"`,
        // The one thing preflight writes: when this attempt started (the duration in notifications,
        // and how the migrate hook tells a new container from the standby).
        renderClaimAppDirLines(a),
        sh`mkdir -p ${hostLayout(a.appDir).stateDir} || fail ${`cannot create ${hostLayout(a.appDir).stateDir}`}`,
        sh`date +%s >${hostLayout(a.appDir).attemptStarted} || fail ${`cannot write ${hostLayout(a.appDir).attemptStarted}`}`,
        sh`echo ok`,
    );
}

/**
 * Every host name's certificate, as Caddy serves it on the site's address, must stay valid
 * for `minDays` more days. Skipped before Caddy runs the site's current config (a first
 * deploy, or new hosts): Caddy obtains the certificates when it loads it.
 */
function renderCertificateLines(caddyAdmin: string, c: CertificateCheckArgs | undefined): ShellText | false {
    const sep = c?.listen.lastIndexOf(":") ?? -1;
    // Caddy serves plain HTTP on port 80: there is no certificate to check there.
    if (!c || c.hosts.length === 0 || c.minDays <= 0 || c.listen.slice(sep + 1) === "80") return false;
    const address = `${c.listen.slice(0, sep) || "127.0.0.1"}:${c.listen.slice(sep + 1)}`;
    const noOpensslFix = sh`(needed to check certificates; or: pulumi config set minCertDays 0)`;
    return lines(
        sh`command -v openssl >/dev/null 2>&1 || fail "'openssl' is not installed on the host ${noOpensslFix}"`,
        sh`if ${renderConfigCurrentTest(caddyAdmin, c.routes)}; then`,
        ...c.hosts.map((name) =>
            lines(
                sh`  cert=$(openssl s_client -connect ${address} -servername ${name} </dev/null 2>/dev/null | openssl x509 2>/dev/null) || cert=`,
                sh`  [ -n "$cert" ] || fail ${
                    `Caddy serves no certificate for ${name} on ${address} ` + `(check Caddy's log; or: pulumi config set minCertDays 0)`
                }`,
                sh`  until=$(printf '%s\n' "$cert" | openssl x509 -noout -enddate | cut -d= -f2)`,
                sh`  printf '%s\n' "$cert" | openssl x509 -noout -checkend ${c.minDays * 86400} >/dev/null || fail ${
                    `the certificate Caddy serves ` + `for ${name} expires`
                }" $until, "${
                    `within minCertDays=${c.minDays} days ` + `(renew it: check Caddy's log and its ACME account; or: pulumi config set minCertDays N)`
                }`,
                sh`  say ${`certificate for ${name} valid until`}" $until"`,
            ),
        ),
        sh`else`,
        sh`  say "certificates: Caddy does not run the site's current config yet; it obtains them when the switch loads it"`,
        sh`fi`,
    );
}
