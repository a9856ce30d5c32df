import { sh, ShellText } from "./shell";

/**
 * How host scripts reach Caddy's admin API: at a loopback address (`127.0.0.1:2019`) or over
 * a unix socket, in Caddy's own notation (`unix//run/caddy/admin.sock`). A socket is out of
 * every container's reach, host network or not: it is a file in the host's /run.
 */

/** Caddy's notation of a unix socket address: `unix/` and the socket's absolute path. */
export const UNIX_ADMIN_ADDRESS = /^unix\/(\/(?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]+)$/;

/** The socket's path when the admin API listens on a unix socket. */
export function caddyAdminSocket(caddyAdmin: string): string | undefined {
    return UNIX_ADMIN_ADDRESS.exec(caddyAdmin)?.[1];
}

/**
 * `curl` aimed at the admin API. Over a socket, Caddy accepts only an empty Host header
 * (`Host;` sends one; `Host:` would drop it).
 */
export function adminCurl(caddyAdmin: string): ShellText {
    const socket = caddyAdminSocket(caddyAdmin);
    return socket ? sh`curl --unix-socket ${socket} -H 'Host;'` : sh`curl`;
}

/** The URL of `path` on the admin API (over a socket, its host part only fills the URL). */
export function adminUrl(caddyAdmin: string, path: string): string {
    return caddyAdminSocket(caddyAdmin) ? `http://127.0.0.1${path}` : `http://${caddyAdmin}${path}`;
}
