import * as path from "path";
import { createL9Stack, L9TestStack } from "./l9-stack";
import { edgeAdmin, HOST_CADDY_ADMIN, onHost, renderCleanServiceCommand, sandboxHosts, SandboxHost, sh } from "./sandbox";
import { REPO_ROOT } from "./toolchain";

/** A test stack rolled over the sandbox's isolated hosts (scripts/sandbox/hosts.sh). */
export interface HostsTestStack {
    s: L9TestStack;
    hosts: SandboxHost[];
    /** The edge balancer's URL (127.0.0.1). */
    edgeUrl: string;
    /** Removes the edge's server for this stack. */
    removeEdge(): void;
}

/**
 * A stack whose `hosts` are the sandbox hosts, each serving the site on `:<site port>` of its
 * namespace, behind an edge Caddy server on 127.0.0.1:`edgePort`: round robin with active
 * health checks on /health, a failed dial retried on another host (a cloud load balancer's
 * part). Leftovers of an earlier run of the same stack are removed from every host first.
 */
export async function createHostsStack(label: string, base: number, edgePort: number, rollout = { batchSize: 1, pauseSeconds: 0 }): Promise<HostsTestStack> {
    // Idempotent: restarts whatever of the hosts stopped answering since the test command began.
    sh(`bash ${path.join(REPO_ROOT, "scripts/sandbox.sh")} up --hosts 3 >/dev/null`);
    const hosts = sandboxHosts();
    const s = await createL9Stack(label, base);
    for (const key of ["host", "hostKey", "sshPort"]) await s.stack.removeConfig(`l9-deploy:${key}`);
    await s.set({
        hosts: JSON.stringify(hosts.map((h) => ({ name: h.name, host: h.host, sshPort: h.sshPort, hostKey: h.hostKey }))),
        caddyListen: `:${s.ports.site}`,
        caddyAdmin: HOST_CADDY_ADMIN,
        rollout: JSON.stringify(rollout),
    });
    for (const h of hosts) onHost(h.name, renderCleanServiceCommand(s.serviceName, s.appDir, HOST_CADDY_ADMIN));
    const server = `l9edge${label.replace(/[^a-z0-9]/g, "")}`;
    const edge = {
        listen: [`127.0.0.1:${edgePort}`],
        automatic_https: { disable: true },
        routes: [
            {
                handle: [
                    {
                        handler: "reverse_proxy",
                        upstreams: hosts.map((h) => ({ dial: `${h.host}:${s.ports.site}` })),
                        load_balancing: { selection_policy: { policy: "round_robin" }, try_duration: "5s", try_interval: "100ms" },
                        health_checks: { active: { uri: "/health", interval: "1s", timeout: "1s" } },
                    },
                ],
            },
        ],
    };
    const admin = `http://${edgeAdmin()}`;
    sh(
        `curl -fsS -m 10 -X POST -H 'Content-Type: application/json' ` +
            `-d '${JSON.stringify(edge)}' '${admin}/config/apps/http/servers/${server}' >/dev/null 2>&1 || ` +
            `curl -fsS -m 10 -X POST -H 'Content-Type: application/json' ` +
            `-d '${JSON.stringify({ http: { servers: { [server]: edge } } })}' '${admin}/config/apps' >/dev/null`,
    );
    return {
        s,
        hosts,
        edgeUrl: `http://127.0.0.1:${edgePort}`,
        removeEdge: () => void sh(`curl -s -m 10 -X DELETE '${admin}/config/apps/http/servers/${server}' >/dev/null || true`),
    };
}
