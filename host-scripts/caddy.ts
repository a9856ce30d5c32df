import * as crypto from "crypto";
import { sh, ShellText } from "./shell";

/**
 * Caddy's config for the service: one server of our own with two routes, one per slot.
 * Which slot serves is decided per request by Caddy's `file` matcher on a marker file: the
 * green route matches while `<markerDir>/<service>-green.active` exists, otherwise the blue
 * route serves. A switch is therefore an atomic file create/unlink on the host and never a
 * Caddy config reload: a reload re-binds listeners (SO_REUSEPORT) and can reset connections
 * queued on the old socket, which a traffic switch must not do. The config itself is loaded
 * only when missing or different (first deploy, a heal, or a port change).
 */

export interface CaddyServerArgs {
    /** Service name: names the server, the routes and the ids. */
    serviceName: string;
    /** Listen address of the public site, e.g. ":443" or "127.0.0.1:8080". */
    listen: string;
    /** Host names to match; empty matches any host and disables automatic HTTPS. */
    hosts: string[];
    /** Loopback ports of the two slots. */
    bluePort: number;
    greenPort: number;
    /** Directory of the marker file (readable by Caddy's user). */
    markerDir: string;
    /** How the maintenance route answers while its marker exists. */
    maintenance: MaintenanceRouting;
}

/** The maintenance route's fixed part (the on/off marker and the message are files). */
export interface MaintenanceRouting {
    /** Paths still proxied during maintenance (health stays reachable). */
    allowPaths: string[];
}

/**
 * The Retry-After of the maintenance 503. Fixed: anything configurable in the route would
 * make turning maintenance on a config reload (Caddy 2.6 has no placeholder that reads a file).
 */
export const MAINTENANCE_RETRY_AFTER_SECONDS = 300;

export type SlotColor = "blue" | "green";

/** The `@id` of a slot's reverse_proxy handler. */
export function caddyUpstreamId(serviceName: string, color: SlotColor): string {
    return `${serviceName}-${color}-upstream`;
}

export function caddyServerName(serviceName: string): string {
    return serviceName;
}

/** The marker file whose presence routes traffic to green. */
export function greenMarkerFile(markerDir: string, serviceName: string): string {
    return `${markerDir}/${serviceName}-green.active`;
}

/** The marker file whose presence puts the service in maintenance mode. */
export function maintenanceMarkerFile(markerDir: string, serviceName: string): string {
    return `${markerDir}/${serviceName}-maintenance.on`;
}

/** The file whose text is the body of the maintenance 503 (in the marker directory). */
export function maintenanceMessageFile(markerDir: string, serviceName: string): string {
    return `${markerDir}/${serviceName}-maintenance.txt`;
}

/**
 * Sets a marker file that a Caddy `file` matcher reads on every request: written aside, then
 * renamed (atomic), world-readable (Caddy's user). Removing it is a plain `rm -f`.
 */
export function renderSetMarkerLine(marker: string): ShellText {
    return sh`tmp=${marker}.$$ && date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" ${marker}`;
}

export function caddyUpstreams(dial: string): Array<{ dial: string }> {
    return [{ dial }];
}

function proxy(serviceName: string, color: SlotColor, port: number) {
    return {
        handler: "reverse_proxy",
        "@id": caddyUpstreamId(serviceName, color),
        upstreams: caddyUpstreams(`127.0.0.1:${port}`),
        // A dial error (a slot restarting) is retried for a while instead of failing the client.
        load_balancing: { try_duration: "5s", try_interval: "100ms" },
    };
}

/** The server config without its version id. */
function serverBody(a: CaddyServerArgs) {
    const hostMatch = a.hosts.length > 0 ? { host: a.hosts } : {};
    const marker = greenMarkerFile(a.markerDir, a.serviceName);
    return {
        listen: [a.listen],
        ...(a.hosts.length === 0 ? { automatic_https: { disable: true } } : {}),
        routes: [
            // Maintenance: while its marker exists, everything but allowPaths gets a 503 whose
            // body is the message file. On/off and the message are files: no config reload.
            {
                match: [
                    {
                        ...hostMatch,
                        file: { root: "/", try_files: [maintenanceMarkerFile(a.markerDir, a.serviceName)] },
                        ...(a.maintenance.allowPaths.length > 0 ? { not: [{ path: a.maintenance.allowPaths }] } : {}),
                    },
                ],
                handle: [
                    // file_server answers only GET/HEAD, and 304 or 206 to conditional or range
                    // requests: every request becomes a plain GET of the message file.
                    {
                        handler: "headers",
                        request: { delete: ["If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range"] },
                        response: { set: { "Retry-After": [String(MAINTENANCE_RETRY_AFTER_SECONDS)], "Cache-Control": ["no-store"] } },
                    },
                    { handler: "rewrite", method: "GET", uri: `/${maintenanceMessageFile(a.markerDir, a.serviceName).split("/").pop()}` },
                    { handler: "file_server", root: a.markerDir, status_code: 503 },
                ],
                terminal: true,
            },
            {
                match: [{ ...hostMatch, file: { root: "/", try_files: [marker] } }],
                handle: [proxy(a.serviceName, "green", a.greenPort)],
                terminal: true,
            },
            {
                ...(a.hosts.length > 0 ? { match: [hostMatch] } : {}),
                handle: [proxy(a.serviceName, "blue", a.bluePort)],
                terminal: true,
            },
        ],
    };
}

/** The `@id` that names this exact server config: present in Caddy means the config is current. */
export function caddyConfigId(a: CaddyServerArgs): string {
    const hash = crypto.createHash("sha256").update(JSON.stringify(serverBody(a))).digest("hex").slice(0, 12);
    return `${a.serviceName}-config-${hash}`;
}

export function caddyServerConfig(a: CaddyServerArgs): Record<string, unknown> {
    const body = serverBody(a);
    const last = body.routes.length - 1;
    body.routes[last] = { ...body.routes[last], ...{ "@id": caddyConfigId(a) } };
    return body;
}

/**
 * Shell lines that print the routing facts: `routing=<color>` (from the marker),
 * `upstream=<upstreams JSON of that color's handler>` and `config=current|stale|missing`.
 */
export function renderCaddyFactsLines(a: CaddyServerArgs & { caddyAdmin: string }): ShellText[] {
    const admin = `http://${a.caddyAdmin}`;
    return [
        sh`if [ -e ${greenMarkerFile(a.markerDir, a.serviceName)} ]; then routing=green; else routing=blue; fi`,
        sh`upstream=$(curl -fsS -m 5 ${`${admin}/id/${a.serviceName}-`}"$routing"'-upstream/upstreams' 2>/dev/null | tr -d ' \\n') || upstream=unreachable`,
        sh`if curl -fsS -m 5 -o /dev/null ${`${admin}/id/${caddyConfigId(a)}`} 2>/dev/null; then config=current; elif curl -fsS -m 5 -o /dev/null ${`${admin}/config/`} 2>/dev/null; then config=stale; else config=unreachable; fi`,
    ];
}
