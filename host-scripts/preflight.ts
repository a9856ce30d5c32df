import { prologue, script, sh } from "./shell";

export interface PreflightScriptArgs {
    /** The app directory whose filesystem must have room for images and worktrees. */
    appDir: string;
    /** Caddy's admin API address (loopback). */
    caddyAdmin: string;
    /** Minimum free space, in MiB, on the filesystem holding appDir and on Docker's root. */
    minFreeDiskMb: number;
}

/**
 * Checks the host before anything on it changes: the tools exist, the Docker daemon and
 * Caddy's admin API answer, and there is disk space. Reaching the host at all (with the
 * pinned host key) is the SSH connection's job. Changes nothing.
 */
export function renderPreflightScript(a: PreflightScriptArgs): string {
    return script(
        prologue("preflight"),
        sh`for tool in docker git curl sha256sum df; do command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is not installed on the host"; done`,
        sh`docker info >/dev/null 2>&1 || fail "the Docker daemon does not answer (is dockerd running? try: systemctl status docker)"`,
        sh`curl -fsS -m 5 -o /dev/null ${`http://${a.caddyAdmin}/config/`} || fail ${`Caddy's admin API does not answer at ${a.caddyAdmin} (is caddy running with its admin endpoint there?)`}`,
        // Measure the nearest existing parent: appDir may not exist before the first deploy.
        sh`dir=${a.appDir}`,
        sh`while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done`,
        sh`docker_root=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker)`,
        sh`[ -d "$docker_root" ] || docker_root=/`,
        sh`for d in "$dir" "$docker_root"; do`,
        sh`  free_mb=$(df -Pm "$d" | awk 'NR==2 {print $4}')`,
        sh`  [ "$free_mb" -ge ${a.minFreeDiskMb} ] || fail "only $free_mb MiB free on the filesystem of $d, below minFreeDiskMb=${a.minFreeDiskMb} (free space, or lower it: pulumi config set minFreeDiskMb N)"`,
        sh`done`,
        sh`say "host ready: docker, caddy admin and disk space ok"`,
        sh`echo ok`,
    );
}
