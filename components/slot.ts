import * as pulumi from "@pulumi/pulumi";
import { DockerContainer } from "../providers/docker-container";
import { SshConnectionArgs } from "../providers/ssh";
import { Color } from "../state/slot-machine";

export interface SlotArgs {
    /** Connection to the host. */
    connection: SshConnectionArgs;
    /** Service name: the container is `<serviceName>-<color>`. */
    serviceName: string;
    /** Which slot. */
    color: Color;
    /** Loopback port this slot answers on. */
    port: number;
    /** "host": the app gets PORT and HOST=127.0.0.1; "bridge": containerPort published on 127.0.0.1:port. */
    networkMode: "host" | "bridge";
    /** The app's listen port inside the container (bridge mode). */
    containerPort: number;
    /** Image id to run. */
    imageId: pulumi.Input<string>;
    /** Release tag and commit, recorded as labels. */
    tag: string;
    commit: pulumi.Input<string>;
    /** Validated env (secret). */
    env: pulumi.Input<Record<string, string>>;
    /** Fingerprint of the env, part of the release identity. */
    envFingerprint: string;
    /** Docker restart policy ("no" is allowed by Docker, refused by the policy pack). */
    restartPolicy: "unless-stopped" | "always" | "on-failure" | "no";
    /** Health check shell command, or undefined to use the image's HEALTHCHECK. */
    healthcheckCommand?: string;
    /** SIGTERM grace when stopped. */
    drainGraceSeconds: number;
    /** Declare the container must be running (false for a drained standby: either is fine). */
    mustRun: boolean;
    /**
     * The slot keeps the env it was started with even if the env config changed since: only
     * the slot receiving a release gets the new env (an env change is a release).
     */
    keepRecordedEnv: boolean;
}

/**
 * One colour of the blue/green pair: a container with a fixed name and port, bound to
 * loopback, restarted unless stopped, with a health check and labels naming its release.
 */
export class Slot extends pulumi.ComponentResource {
    readonly container: DockerContainer;
    readonly containerName: string;

    constructor(name: string, args: SlotArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:slot:Slot", name, {}, opts);
        this.containerName = `${args.serviceName}-${args.color}`;
        const slotEnv = pulumi
            .output(args.env)
            .apply((env) => (args.networkMode === "host" ? { ...env, PORT: String(args.port), HOST: "127.0.0.1" } : { ...env, PORT: String(args.containerPort) }));
        this.container = new DockerContainer(
            `${name}-container`,
            {
                connection: args.connection,
                name: this.containerName,
                image: args.imageId,
                env: pulumi.secret(slotEnv),
                envFingerprint: args.envFingerprint,
                networkMode: args.networkMode,
                ports: args.networkMode === "bridge" ? [{ internal: args.containerPort, external: args.port }] : undefined,
                restart: args.restartPolicy,
                healthcheck: { command: args.healthcheckCommand ?? "image", intervalSeconds: 2, timeoutSeconds: 3, retries: 3, startPeriodSeconds: 30 },
                labels: pulumi.output(args.commit).apply((commit) => ({
                    "l9.service": args.serviceName,
                    "l9.slot": args.color,
                    "l9.tag": args.tag,
                    "l9.commit": commit,
                })),
                running: args.mustRun ? true : undefined,
                stopGraceSeconds: args.drainGraceSeconds,
            },
            // Fixed names and ports collide on create-before-delete: the slot being replaced
            // never serves traffic, so delete it first.
            { parent: this, deleteBeforeReplace: true, ignoreChanges: args.keepRecordedEnv ? ["env"] : [] },
        );
        this.registerOutputs({ containerName: this.containerName, containerId: this.container.containerId });
    }
}
