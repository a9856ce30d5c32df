import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { renderSlotGuardScript } from "../host-scripts/slot-guard";
import { SLOT_HOST_ADDRESS } from "../host-scripts/routing";
import { Color, NetworkMode } from "../state/slot-machine";
import { HOST_COMMAND_DEFAULTS, scriptOnStdin } from "./host";

export interface SlotArgs {
    /** The host's docker provider (over SSH). */
    readonly provider: docker.Provider;
    /** Connection to the host, for the guard that runs before the container changes. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** The app directory on the host (where the journal of what serves is). */
    readonly appDir: string;
    /** Caddy's admin API address (does Caddy run the service's server?). */
    readonly caddyAdmin: string;
    /** How long the guard waits for a release step of this service that still runs (an interrupted update's). */
    readonly stepLockWaitSeconds: number;
    /** Service name: the container is `<serviceName>-<color>`. */
    readonly serviceName: string;
    /** Which slot. */
    readonly color: Color;
    /** Loopback port this slot answers on. */
    readonly port: number;
    /** "host": the app gets PORT and HOST=127.0.0.1; "bridge": containerPort published on 127.0.0.1:port. */
    readonly networkMode: NetworkMode;
    /** The app's listen port inside the container (bridge mode). */
    readonly containerPort: number;
    /** Image id (sha256:...) to run. */
    readonly imageId: pulumi.Input<string>;
    /** Release tag, recorded as a label. */
    readonly tag: string;
    /** Commit of the release, recorded as a label. */
    readonly commit: pulumi.Input<string>;
    /** Validated env (secret). */
    readonly env: pulumi.Input<Record<string, string>>;
    /** Docker restart policy ("no" is allowed by Docker, refused by the policy pack). */
    readonly restartPolicy: "unless-stopped" | "always" | "on-failure" | "no";
    /** Health check shell command, or undefined to use the image's HEALTHCHECK. */
    readonly healthcheckCommand?: string;
    /** SIGTERM grace when the container is removed. */
    readonly drainGraceSeconds: number;
    /** Declare the container must be running (false for a drained standby: either is fine). */
    readonly mustRun: boolean;
    /**
     * The slot keeps the env and network it was started with even if their config changed
     * since: only the slot receiving a release gets them (an env or network change is a release).
     */
    readonly keepRecorded: boolean;
    /**
     * Fingerprint of the env this slot's release runs with (the plan's; secret-derived, kept as
     * a secret). The guard compares it with the journal's when Caddy routes to the slot.
     */
    readonly envFingerprint: string;
}

/**
 * The container's environment: the app's env plus where it listens (pure). In bridge mode
 * 0.0.0.0 is the container's own interfaces, published on the host's 127.0.0.1 only.
 */
export function slotEnvs(env: Record<string, string>, networkMode: NetworkMode, port: number, containerPort: number): string[] {
    const listen: Record<string, string> =
        networkMode === "host" ? { PORT: String(port), HOST: SLOT_HOST_ADDRESS } : { PORT: String(containerPort), HOST: "0.0.0.0" };
    const all: Record<string, string> = { ...env, ...listen };
    return Object.keys(all)
        .sort()
        .map((k) => `${k}=${all[k]}`);
}

/**
 * One colour of the blue/green pair: a container with a fixed name and port, bound to
 * loopback, restarted unless stopped, with a health check and labels naming its release.
 * Refresh (the docker provider's read) sees it stopped, removed or running another image.
 * A guard on the host runs first whenever the release in the slot changes, and refuses when
 * Caddy routes to this slot: the container that serves is never replaced, whatever the plan.
 */
export class Slot extends pulumi.ComponentResource {
    /** The container. */
    readonly container: docker.Container;
    /** Its fixed name, `<serviceName>-<color>`. */
    readonly containerName: string;

    constructor(name: string, args: SlotArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:Slot", name, {}, opts);
        this.containerName = `${args.serviceName}-${args.color}`;
        // Re-runs when the image or tag changes, i.e. before any replacement they cause. Its
        // delete has nothing to undo: it only reads, and removes markers of a dead canary.
        const guard = new command.remote.Command(
            `${name}-guard`,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                ...scriptOnStdin(
                    `guard ${args.color}`,
                    pulumi.output(args.imageId).apply((imageId) => {
                        const guardScript = renderSlotGuardScript({
                            serviceName: args.serviceName,
                            appDir: args.appDir,
                            caddyAdmin: args.caddyAdmin,
                            color: args.color,
                            containerName: this.containerName,
                            imageId,
                            tag: args.tag,
                            networkMode: args.networkMode,
                            // A release found on the host has no known env: not compared.
                            envFingerprint: /^[0-9a-f]{16}$/.test(args.envFingerprint) ? args.envFingerprint : undefined,
                            stepLockWaitSeconds: args.stepLockWaitSeconds,
                        });
                        return pulumi.secret(guardScript);
                    }),
                ),
            },
            { parent: this },
        );
        const envs = pulumi.output(args.env).apply((env) => slotEnvs(env, args.networkMode, args.port, args.containerPort));
        this.container = new docker.Container(
            `${name}-container`,
            {
                name: this.containerName,
                image: args.imageId,
                envs: pulumi.secret(envs),
                networkMode: args.networkMode,
                ports: args.networkMode === "bridge" ? [{ internal: args.containerPort, external: args.port, ip: SLOT_HOST_ADDRESS }] : undefined,
                restart: args.restartPolicy,
                // Without a command, the image's HEALTHCHECK applies (the gate requires one).
                healthcheck: args.healthcheckCommand
                    ? { tests: ["CMD-SHELL", args.healthcheckCommand], interval: "2s", timeout: "3s", retries: 3, startPeriod: "30s" }
                    : undefined,
                labels: pulumi.output(args.commit).apply((commit) => [
                    { label: "l9.service", value: args.serviceName },
                    { label: "l9.slot", value: args.color },
                    { label: "l9.tag", value: args.tag },
                    { label: "l9.commit", value: commit },
                ]),
                mustRun: args.mustRun,
                // The gate waits for health itself: it names the failed check and quotes the logs.
                wait: false,
                destroyGraceSeconds: args.drainGraceSeconds,
            },
            {
                parent: this,
                provider: args.provider,
                dependsOn: [guard],
                // Fixed names and ports collide on create-before-delete: the slot being replaced
                // never serves traffic, so delete it first.
                deleteBeforeReplace: true,
                // A slot that receives no release keeps its env and network, whatever the config says
                // now (it is declared with its recorded mode; this holds even if the record is wrong).
                // Its ports too: the docker provider reads a stopped bridge container's ports as
                // none, which would replace a stopped standby (or a stopped serving container) on
                // every update. A slot port change therefore reaches a slot only with its next
                // release (README, "The host's journal").
                ignoreChanges: args.keepRecorded ? ["envs", "networkMode", "ports"] : [],
            },
        );
        this.registerOutputs({ containerName: this.containerName, containerId: this.container.id });
    }
}
