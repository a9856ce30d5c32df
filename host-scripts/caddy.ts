/**
 * Caddy's admin-API config for the service: one server of our own whose single route
 * reverse-proxies to the active slot. The reverse_proxy handler carries an `@id`, so a
 * switch is one atomic PATCH of its upstreams (graceful: in-flight requests finish).
 */

export interface CaddyRouteArgs {
    /** Service name: names the server and the ids. */
    serviceName: string;
    /** Listen address of the public site, e.g. ":443" or "127.0.0.1:8080". */
    listen: string;
    /** Host names to match; empty matches any host and disables automatic HTTPS. */
    hosts: string[];
    /** The upstream, "127.0.0.1:<slot port>". */
    dial: string;
}

export function caddyUpstreamId(serviceName: string): string {
    return `${serviceName}-upstream`;
}

export function caddyServerName(serviceName: string): string {
    return serviceName;
}

export function caddyUpstreams(dial: string): Array<{ dial: string }> {
    return [{ dial }];
}

export function caddyServerConfig(a: CaddyRouteArgs): Record<string, unknown> {
    return {
        listen: [a.listen],
        ...(a.hosts.length === 0 ? { automatic_https: { disable: true } } : {}),
        routes: [
            {
                "@id": `${a.serviceName}-route`,
                ...(a.hosts.length > 0 ? { match: [{ host: a.hosts }] } : {}),
                handle: [
                    {
                        handler: "reverse_proxy",
                        "@id": caddyUpstreamId(a.serviceName),
                        upstreams: caddyUpstreams(a.dial),
                        // A dial error (upstream restarting) is retried instead of failing the client.
                        load_balancing: { try_duration: "5s", try_interval: "100ms" },
                    },
                ],
                terminal: true,
            },
        ],
    };
}
