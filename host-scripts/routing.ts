/**
 * How Caddy routes the service, by name and address: the port each slot listens on, what
 * Caddy dials for it, the `@id` of its handler, the server's name, and the marker files the
 * routes match on. Nothing else spells these: the Caddy config, the switch, the drift check,
 * the guards and the host record all ask here. Pure.
 */
import { Color } from "../state/slot-machine";
import type { CaddyfileRouting, CaddyServerArgs, CanaryRouting, MaintenanceRouting } from "./caddy";
import { caddyMarkerDir } from "./layout";

/** How Caddy routes the service: where it is, and the two slots it can route to. */
export interface RoutingArgs {
    /** Service name (Caddy server and ids, image labels). */
    serviceName: string;
    /** The app directory on the host (state, markers, deploy records). */
    appDir: string;
    /** Caddy's admin API address. */
    caddyAdmin: string;
    /** Caddy listen address of the site. */
    caddyListen: string;
    /** Host names the site matches. */
    caddyHosts: string[];
    /** Loopback ports of the two slots. */
    bluePort: number;
    greenPort: number;
    /** The maintenance route's fixed part. */
    maintenance: MaintenanceRouting;
    /** The canary routes, when a canary is configured. */
    canary?: CanaryRouting;
    /** Caddyfile mode: the routes are a snippet the operator's Caddyfile imports, not a server of our own. */
    caddyfile?: CaddyfileRouting;
}

/** The loopback ports of the two slots. */
export type SlotPorts = Pick<RoutingArgs, "bluePort" | "greenPort">;

/** Caddy's view of the routing: the server config's inputs and the admin address. */
export function caddyServerArgs(r: RoutingArgs): CaddyServerArgs & { caddyAdmin: string } {
    const { serviceName, caddyListen, caddyHosts, bluePort, greenPort, maintenance, caddyAdmin, canary, caddyfile } = r;
    return {
        serviceName,
        listen: caddyListen,
        hosts: caddyHosts,
        bluePort,
        greenPort,
        markerDir: caddyMarkerDir(serviceName),
        maintenance,
        caddyAdmin,
        ...(canary ? { canary } : {}),
        ...(caddyfile ? { caddyfile } : {}),
    };
}

/** The loopback port a slot's container answers on. */
export function slotPort(ports: SlotPorts, color: Color): number {
    return color === "blue" ? ports.bluePort : ports.greenPort;
}

/** The host address a slot answers on: loopback only (bridge mode publishes there, host mode listens there). */
export const SLOT_HOST_ADDRESS = "127.0.0.1";

/** Where a slot's port answers on the host: what Caddy dials, and what the gate and the watch call. */
export function loopbackDial(port: number): string {
    return `${SLOT_HOST_ADDRESS}:${port}`;
}

/** What Caddy dials for a slot. */
export function slotDial(ports: SlotPorts, color: Color): string {
    return loopbackDial(slotPort(ports, color));
}

/** The `upstreams` of a slot's reverse_proxy handler. */
export function slotUpstreams(ports: SlotPorts, color: Color): Array<{ dial: string }> {
    return [{ dial: slotDial(ports, color) }];
}

/** The upstreams as Caddy's admin API prints them (what the routing facts compare with). */
export function slotUpstreamsJson(ports: SlotPorts, color: Color): string {
    return JSON.stringify(slotUpstreams(ports, color));
}

/** How a slot handler's `@id` starts and ends: `<service>-<color>-upstream`. */
export function caddyUpstreamIdParts(serviceName: string): { prefix: string; suffix: string } {
    return { prefix: `${serviceName}-`, suffix: "-upstream" };
}

/** The `@id` of a slot's reverse_proxy handler. */
export function caddyUpstreamId(serviceName: string, color: Color): string {
    const { prefix, suffix } = caddyUpstreamIdParts(serviceName);
    return `${prefix}${color}${suffix}`;
}

/**
 * The name of the Caddy server l9-deploy creates for the service: a prefix of its own, so it
 * never meets a server someone else named (a Caddyfile's `srv0`, another tool's).
 */
export function caddyServerName(serviceName: string): string {
    return `l9-${serviceName}`;
}

/** In Caddyfile mode, the `vars` key whose value names a slot's handler (`<service>-<color>`): a Caddyfile has no `@id`. */
export const UPSTREAM_VAR = "l9_upstream";

/** In Caddyfile mode, the `vars` key whose value is the snippet's hash: Caddy runs the current snippet when its config holds it. */
export const CONFIG_VAR = "l9_config";

/**
 * The name earlier versions gave the service's server. A host that runs it keeps it: renaming
 * a server is a reload of Caddy's whole servers map, and nothing is gained by it.
 */
export function legacyCaddyServerName(serviceName: string): string {
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

/** The marker files of a service's canary routes all start with this. */
export function canaryMarkerPrefix(markerDir: string, serviceName: string): string {
    return `${markerDir}/${serviceName}-canary-`;
}

/** The marker files of a slot's canary routes all start with this, and end in `CANARY_MARKER_SUFFIX`. */
export function slotCanaryMarkerPrefix(markerDir: string, serviceName: string, color: Color): string {
    return `${canaryMarkerPrefix(markerDir, serviceName)}${color}-`;
}

/** How every canary marker file's name ends (a constant: scripts may glob on it unquoted). */
export const CANARY_MARKER_SUFFIX = ".on";

/** The marker file that sends `percent` % of requests to `color` as a canary. */
export function canaryMarkerFile(markerDir: string, serviceName: string, color: Color, percent: number): string {
    return `${slotCanaryMarkerPrefix(markerDir, serviceName, color)}${percent}${CANARY_MARKER_SUFFIX}`;
}
