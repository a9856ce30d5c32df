/**
 * The smallest program that exercises every kind of resource l9-deploy uses, against the
 * sandbox: a remote command over the pinned SSH connection (with a drift check), a container
 * on the sandbox's Docker daemon, and a random id.
 */
import * as pulumi from "@pulumi/pulumi";
import { DockerContainer } from "../../../providers/docker-container";
import { RandomId } from "../../../providers/random-id";
import { RemoteCommand } from "../../../providers/remote-command";

const config = new pulumi.Config();
const connection = {
    host: config.require("host"),
    port: config.requireNumber("port"),
    user: config.require("user"),
    privateKey: config.requireSecret("privateKey"),
    hostKey: config.require("hostKey"),
};
const dir = config.require("workDir");
const image = config.require("image");
const port = config.requireNumber("containerPort");

const id = new RandomId("smoke-id", { keepers: { dir }, byteLength: 4 });

const marker = new RemoteCommand("smoke-marker", {
    connection,
    what: "smoke marker",
    create: pulumi.interpolate`set -eu; mkdir -p '${dir}'; echo '${id.hex}' > '${dir}/marker'; uname -s`,
    delete: `rm -rf '${dir}'`,
    check: `printf 'content=%s\\n' "$(cat '${dir}/marker' 2>/dev/null || echo missing)"`,
    expect: { content: id.hex },
});

const container = new DockerContainer(
    "smoke-container",
    {
        connection,
        name: pulumi.interpolate`l9-smoke-${id.hex}`,
        image,
        env: pulumi.secret({ APP_SECRET: "smoke-secret-value", DATABASE_URL: "sqlite:///smoke", PORT: String(port), HOST: "127.0.0.1" }),
        envFingerprint: "smoke",
        networkMode: "host",
        restart: "unless-stopped",
        healthcheck: { command: "image", intervalSeconds: 1, timeoutSeconds: 2, retries: 3, startPeriodSeconds: 10 },
        labels: { "l9.service": "l9-smoke" },
        running: true,
        stopGraceSeconds: 5,
    },
    { dependsOn: [marker], deleteBeforeReplace: true },
);

export const randomHex = id.hex;
export const kernel = marker.stdout;
export const containerName = container.name;
export const containerId = container.containerId;
