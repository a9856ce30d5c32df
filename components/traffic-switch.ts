import * as pulumi from "@pulumi/pulumi";
import { SmokeRequest } from "../config/schema";
import { renderGateScript } from "../host-scripts/gate";
import { DeployRecordFields, renderRoutingCheckScript, renderSwitchScript } from "../host-scripts/switch";
import { RemoteCommand } from "../providers/remote-command";
import { SshConnectionArgs } from "../providers/ssh";
import { Color } from "../state/slot-machine";

export interface TrafficSwitchArgs {
    /** Connection to the host. */
    connection: SshConnectionArgs;
    /** Service name (Caddy ids, labels). */
    serviceName: string;
    /** The app directory (deploy records, state). */
    appDir: string;
    /** The slot that must serve after this update. */
    target: Color;
    /** The release tag in that slot (for messages). */
    tag: string;
    /** Loopback ports of the two slots (Caddy has a route to each). */
    bluePort: number;
    greenPort: number;
    /** Its container name. */
    containerName: string;
    /** Its container id: a new container means a new gate run. */
    containerId: pulumi.Input<string>;
    /** The other slot's container, drained or kept warm after the switch (absent on a first deploy). */
    previousContainer?: string;
    /** Health path, timeout, smoke requests and log patterns of the gate. */
    healthPath: string;
    healthTimeoutSeconds: number;
    smokeRequests: SmokeRequest[];
    logScanPatterns: string[];
    /** Caddy admin address, site listen address and host names. */
    caddyAdmin: string;
    caddyListen: string;
    caddyHosts: string[];
    /** Warm standby or drained. */
    standby: "warm" | "stopped";
    drainGraceSeconds: number;
    /** What goes live, for the deploy record. */
    record: pulumi.Input<DeployRecordFields>;
    /** Image name and how many release images to keep. */
    imageName: string;
    imagesToKeep: number;
}

/**
 * The gate, then the switch. The gate checks the target slot (Docker health, health endpoint,
 * smoke requests, log scan); only when it passes does the switch point Caddy at the slot,
 * record the deploy, drain or keep warm the old slot, and prune old images. Refresh asks the
 * host which slot Caddy routes to and what it dials, so a hand edit shows up as drift.
 */
export class TrafficSwitch extends pulumi.ComponentResource {
    /** When traffic moved (host clock, UTC). */
    readonly deployedAt: pulumi.Output<string>;

    constructor(name: string, args: TrafficSwitchArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:traffic:TrafficSwitch", name, {}, opts);
        const port = args.target === "blue" ? args.bluePort : args.greenPort;
        const routing = {
            serviceName: args.serviceName,
            appDir: args.appDir,
            caddyAdmin: args.caddyAdmin,
            caddyListen: args.caddyListen,
            caddyHosts: args.caddyHosts,
            bluePort: args.bluePort,
            greenPort: args.greenPort,
        };
        const gate = new RemoteCommand(
            `${name}-gate`,
            {
                connection: args.connection,
                what: `gate for ${args.tag} in ${args.target}`,
                create: renderGateScript({
                    containerName: args.containerName,
                    tag: args.tag,
                    port,
                    healthPath: args.healthPath,
                    timeoutSeconds: args.healthTimeoutSeconds,
                    smokeRequests: args.smokeRequests,
                    logScanPatterns: args.logScanPatterns,
                }),
                triggers: [args.containerId, args.target],
            },
            { parent: this },
        );
        const flip = new RemoteCommand(
            `${name}-caddy`,
            {
                connection: args.connection,
                what: `switch to ${args.target}`,
                create: pulumi.output(args.record).apply((record) =>
                    renderSwitchScript({
                        ...routing,
                        slot: args.target,
                        previousContainer: args.previousContainer,
                        standby: args.standby,
                        drainGraceSeconds: args.drainGraceSeconds,
                        record,
                        imageName: args.imageName,
                        imagesToKeep: args.imagesToKeep,
                    }),
                ),
                triggers: [args.containerId],
                check: renderRoutingCheckScript(routing),
                expect: { routing: args.target, upstream: JSON.stringify([{ dial: `127.0.0.1:${port}` }]), config: "current" },
            },
            { parent: this, dependsOn: [gate] },
        );
        this.deployedAt = flip.stdout.apply((s) => s.trim().split("\n").pop() ?? "");
        this.registerOutputs({ deployedAt: this.deployedAt });
    }
}
