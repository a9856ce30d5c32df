import * as pulumi from "@pulumi/pulumi";
import { SmokeRequest } from "../config/schema";
import { renderGateScript } from "../host-scripts/gate";
import { DeployRecordFields, renderRoutingCheckScript, renderSwitchScript, RoutingArgs } from "../host-scripts/switch";
import { RandomId } from "../providers/random-id";
import { RemoteCommand } from "../providers/remote-command";
import { SshConnectionArgs } from "../providers/ssh";
import { Color } from "../state/slot-machine";

export interface TrafficSwitchArgs {
    /** Connection to the host. */
    connection: SshConnectionArgs;
    /** How Caddy routes the service (admin address, site, slot ports, appDir for state). */
    routing: RoutingArgs;
    /** The slot that must serve after this update. */
    target: Color;
    /** The release tag in that slot (for messages). */
    tag: string;
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
    /** Warm standby or drained. */
    standby: "warm" | "stopped";
    drainGraceSeconds: number;
    /** What goes live, for the deploy record (its id is generated here). */
    record: pulumi.Input<Omit<DeployRecordFields, "id">>;
    /** Fingerprint of the env going live: part of what makes a deploy new. */
    envFingerprint: string;
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
        const routing = args.routing;
        const port = args.target === "blue" ? routing.bluePort : routing.greenPort;
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
        // A unique id per deploy, so re-applying a tag is a new record. Generated only once the
        // gate passed: a failed attempt leaves it, and the recorded deploys, as they were.
        const deployId = new RandomId(
            `${name}-deploy-id`,
            { keepers: { tag: args.tag, slot: args.target, envFingerprint: args.envFingerprint }, byteLength: 6 },
            { parent: this, dependsOn: [gate] },
        );
        const flip = new RemoteCommand(
            `${name}-caddy`,
            {
                connection: args.connection,
                what: `switch to ${args.target}`,
                create: pulumi.all([args.record, deployId.hex]).apply(([record, id]) =>
                    renderSwitchScript({
                        ...routing,
                        slot: args.target,
                        previousContainer: args.previousContainer,
                        standby: args.standby,
                        drainGraceSeconds: args.drainGraceSeconds,
                        record: { ...record, id },
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
