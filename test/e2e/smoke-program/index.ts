/**
 * The smallest program that exercises every kind of resource l9-deploy uses, against the
 * sandbox, on the real plugins: a `command.remote.Command` over the pinned SSH connection
 * with the key in the stack's agent, a `docker.Container` from a `docker.Provider` over
 * `ssh://`, a `random.RandomId`, and the host fact probe that lets refresh see the command's
 * file change.
 */
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { HostFactProbe } from "../../../providers/host-fact-probe";
import { openSshOptions } from "../../../ssh/openssh-options";
import { prepareHostAccess } from "../../../ssh/agent";
import { verifyHostAccess } from "../../../ssh/host-check";

export = async () => {
    const config = new pulumi.Config();
    const target = { host: config.require("host"), port: config.requireNumber("port"), user: config.require("user") };
    const hostKey = config.require("hostKey");
    const access = prepareHostAccess({
        stackId: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
        ...target,
        hostKey,
        // Read as plain text only to load it into the agent; it reaches no resource.
        privateKey: config.require("privateKey"),
        keyLifetimeSeconds: 3600,
    });
    await verifyHostAccess(access, target, 30);
    const connection = { ...target, hostKey, agentSocketPath: access.agentSocketPath, dialErrorLimit: 4 };
    const dir = config.require("workDir");
    const image = config.require("image");
    const port = config.requireNumber("containerPort");

    const id = new random.RandomId("smoke-id", { keepers: { dir }, byteLength: 4 });

    const probe = new HostFactProbe("smoke-marker-facts", {
        connection: { ...target, sshOptions: openSshOptions(access) },
        what: "smoke marker",
        script: `printf 'content=%s\\n' "$(cat '${dir}/marker' 2>/dev/null || echo missing)"`,
        expect: { content: id.hex },
    });

    const marker = new command.remote.Command(
        "smoke-marker",
        {
            connection,
            addPreviousOutputInEnv: false,
            create: pulumi.interpolate`set -eu; mkdir -p '${dir}'; echo '${id.hex}' > '${dir}/marker'; uname -s`,
            delete: `rm -rf '${dir}'`,
            triggers: [probe.generation],
        },
        { deleteBeforeReplace: true },
    );

    const provider = new docker.Provider("smoke-docker", { host: `ssh://${target.user}@${target.host}:${target.port}`, sshOpts: openSshOptions(access) });

    const container = new docker.Container(
        "smoke-container",
        {
            name: pulumi.interpolate`l9-smoke-${id.hex}`,
            image,
            envs: pulumi.secret(["APP_SECRET=smoke-secret-value", "DATABASE_URL=sqlite:///smoke", `PORT=${port}`, "HOST=127.0.0.1"]),
            networkMode: "host",
            restart: "unless-stopped",
            labels: [{ label: "l9.service", value: "l9-smoke" }],
            mustRun: true,
            destroyGraceSeconds: 5,
        },
        { provider, dependsOn: [marker], deleteBeforeReplace: true },
    );

    return { randomHex: id.hex, kernel: marker.stdout, containerName: container.name, containerId: container.id };
};
