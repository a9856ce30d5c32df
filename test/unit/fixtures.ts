import type { NotifyContext } from "../../host-scripts/notify";
import type { SwitchScriptArgs } from "../../host-scripts/switch";
import type { RoutingArgs } from "../../host-scripts/routing";

/** A valid raw configuration (as Pulumi hands it over: strings, JSON for objects). */
export function validRawConfig(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
    return {
        host: "203.0.113.10",
        sshPort: "22",
        hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAoPGInEcbJwN2hI7YAejotVS71LvclAHUXjDM751wdJ",
        sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n",
        releaseTag: "v1.2.3-l9",
        repoUrl: "git@example.com:example/l9.git",
        env: JSON.stringify({ APP_SECRET: "s3cret", DATABASE_URL: "postgres://db" }),
        ...overrides,
    };
}

export const SECRETS = new Set(["sshPrivateKey", "env", "notify", "backupCopyKey"]);

/** How Caddy routes the sample service in script fixtures. */
export const SAMPLE_ROUTING: RoutingArgs = {
    serviceName: "l9",
    appDir: "/opt/l9",
    caddyAdmin: "127.0.0.1:2019",
    caddyListen: ":443",
    caddyHosts: ["api.example.com"],
    bluePort: 8001,
    greenPort: 8002,
    maintenance: { allowPaths: ["/health"] },
};

/** What the sample scripts' notifications say about the release. */
export const SAMPLE_NOTIFY: NotifyContext = {
    stack: "l9-deploy/production",
    service: "l9",
    tag: "v1.2.0-l9",
    previousTag: "v1.1.0-l9",
    actor: "ops@example.com",
    appDir: "/opt/l9",
    metricsDir: "/var/lib/prometheus/node-exporter",
};

/** The switch of the sample service to green, with a stopped standby and no watch. */
export const SAMPLE_SWITCH: SwitchScriptArgs = {
    ...SAMPLE_ROUTING,
    slot: "green",
    previousContainer: "l9-blue",
    retire: { standby: "stopped", drainGraceSeconds: 30, imagesToKeep: 3 },
    record: { id: "abc123", tag: "v1.2.3-l9", commit: "a".repeat(40), imageId: `sha256:${"b".repeat(64)}`, actor: "ops@example.com" },
    containerName: "l9-green",
    watch: { seconds: 0, failures: 3, checks: { port: 8002, healthPath: "/health", smokeRequests: [] } },
    notify: SAMPLE_NOTIFY,
    stepLockWaitSeconds: 420,
};
