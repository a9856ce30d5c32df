import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { SmokeRequest } from "../config/schema";
import { CanaryPlan, renderCanaryScript } from "../host-scripts/canary";
import { renderGateScript } from "../host-scripts/gate";
import { DeployRecordFields, renderRoutingCheckScript, renderSwitchScript, RETIRE_ONLY, SwitchScriptArgs } from "../host-scripts/switch";
import { RoutingArgs, slotPort, slotUpstreamsJson } from "../host-scripts/routing";
import { HostFactProbe, ProbeTarget } from "../providers/host-fact-probe";
import { Color, otherColor } from "../state/slot-machine";
import { NotifyContext } from "../host-scripts/notify";
import { HOST_COMMAND_DEFAULTS, RECONNECT_ONLY_SCRIPT, scriptOnStdin, scriptSha256, stdinScriptCommand, surfaceHostWarnings } from "./host";
import { ReleaseHooks, ReleaseHooksArgs } from "./release-hooks";

export interface TrafficSwitchArgs {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** Where its fact probe runs. */
    readonly probe: ProbeTarget;
    /** How Caddy routes the service (admin address, site, slot ports, appDir for state). */
    readonly routing: RoutingArgs;
    /** The slot that must serve after this update. */
    readonly target: Color;
    /** The release tag in that slot (for messages). */
    readonly tag: string;
    /** Its container name. */
    readonly containerName: string;
    /** Its container id: a new container means a new gate run. */
    readonly containerId: pulumi.Input<string>;
    /** The other slot's container, drained or kept warm after the switch (absent on a first deploy). */
    readonly previousContainer?: string;
    /** Health endpoint path of the gate. */
    readonly healthPath: string;
    /** Seconds the gate waits for Docker health and the health endpoint. */
    readonly healthTimeoutSeconds: number;
    /** Smoke requests of the gate. */
    readonly smokeRequests: SmokeRequest[];
    /** Log patterns that fail the gate. */
    readonly logScanPatterns: string[];
    /** Warm standby or drained. */
    readonly standby: "warm" | "stopped";
    /** SIGTERM grace of a drained slot. */
    readonly drainGraceSeconds: number;
    /** What goes live, for the deploy record (its id is generated here). */
    readonly record: pulumi.Input<Omit<DeployRecordFields, "id">>;
    /** Fingerprint of the env going live: part of what makes a deploy new. */
    readonly envFingerprint: string;
    /** How many release images to keep. */
    readonly imagesToKeep: number;
    /** The post-switch watch: seconds, and failed rounds in a row that switch back. */
    readonly watch: { seconds: number; failures: number };
    /**
     * Who is told about this update (the switch tells a release from a return to the standby on the host), and where
     * the steps record its outcome (metricsDir).
     */
    readonly notify: NotifyContext;
    /** The canary between the gate (and hooks) and the switch (absent: none configured). */
    readonly canary?: CanaryPlan;
    /** Backup and migrate, between the gate and the switch (absent: none configured). */
    readonly hooks?: Pick<ReleaseHooksArgs, "backup" | "migrate" | "schema" | "imageId" | "networkMode" | "hookTimeoutSeconds">;
    /** When this update started (host warnings of earlier runs are not repeated). */
    readonly startedAt: number;
    /** How long a release step waits for one of this service that still runs (an interrupted update's). */
    readonly stepLockWaitSeconds: number;
}

/**
 * The lock wait and the metrics directory a step's trigger is rendered with. How long a step
 * waits for one of an interrupted update, and where it records the deploy's outcome, are not
 * what it does (the bound grows with drainGraceSeconds and watchSeconds): a new bound or
 * metricsDir alone must not re-run a gate, a canary or a switch.
 */
const STEP_TRIGGER_LOCK_WAIT = 0;
const STEP_TRIGGER_METRICS_DIR = "/metrics";

/** What a step's trigger renders in place of the real values. */
interface StepTriggerValues {
    stepLockWaitSeconds: number;
    notify: NotifyContext;
}

/** A step's trigger: the hash of its script rendered with STEP_TRIGGER_LOCK_WAIT and STEP_TRIGGER_METRICS_DIR. */
function stepTrigger(notify: NotifyContext, render: (fixed: StepTriggerValues) => string): string {
    return scriptSha256(render({ stepLockWaitSeconds: STEP_TRIGGER_LOCK_WAIT, notify: { ...notify, metricsDir: STEP_TRIGGER_METRICS_DIR } }));
}

/**
 * The gate, the release hooks, then the switch. The gate checks the target slot (Docker
 * health, health endpoint, smoke requests, log scan); the hooks back up and migrate; only
 * then does the switch point Caddy at the slot, watch it (switching back on failure), record
 * the deploy, drain or keep warm the old slot, prune old images and notify. A probe asks the
 * host which slot Caddy routes to and what it dials, so a hand edit shows up as drift.
 */
export class TrafficSwitch extends pulumi.ComponentResource {
    /** When traffic moved (host clock, UTC). */
    readonly deployedAt: pulumi.Output<string>;
    /** The switch itself (a roll's next batch waits for it). */
    readonly flip: command.remote.Command;

    constructor(name: string, args: TrafficSwitchArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:TrafficSwitch", name, {}, opts);
        const routing = args.routing;
        const lockWait = args.stepLockWaitSeconds;
        const port = slotPort(routing, args.target);
        const checks = { port, healthPath: args.healthPath, smokeRequests: args.smokeRequests };
        const gateArgs = {
            ...checks,
            containerName: args.containerName,
            tag: args.tag,
            timeoutSeconds: args.healthTimeoutSeconds,
            logScanPatterns: args.logScanPatterns,
            notify: args.notify,
        };
        const gateScript = renderGateScript(gateArgs);
        const gate = new command.remote.Command(
            `${name}-gate`,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                ...scriptOnStdin(`gate ${args.tag}`, gateScript),
                update: RECONNECT_ONLY_SCRIPT,
                triggers: [args.containerId, args.target, stepTrigger(args.notify, ({ notify }) => renderGateScript({ ...gateArgs, notify }))],
            },
            { parent: this },
        );
        // A unique id per deploy, so re-applying a tag is a new record. Generated only once the
        // gate passed: a failed attempt leaves it, and the recorded deploys, as they were.
        const deployId = new random.RandomId(
            `${name}-deploy-id`,
            // The env fingerprint is derived from secrets: the keepers are kept as a secret.
            { keepers: pulumi.secret({ tag: args.tag, slot: args.target, envFingerprint: args.envFingerprint }), byteLength: 6 },
            { parent: this, dependsOn: [gate] },
        );
        const probe = new HostFactProbe(
            `${name}-route-facts`,
            {
                connection: args.probe.connection,
                what: "Caddy route",
                script: renderRoutingCheckScript(routing),
                expect: { routing: args.target, upstream: slotUpstreamsJson(routing, args.target), config: "current" },
            },
            { parent: this, provider: args.probe.provider },
        );
        const hooks =
            args.hooks &&
            new ReleaseHooks(
                `${name}-hooks`,
                {
                    ...args.hooks,
                    connection: args.connection,
                    appDir: routing.appDir,
                    serviceName: routing.serviceName,
                    tag: args.tag,
                    containerName: args.containerName,
                    containerId: args.containerId,
                    liveContainerName: args.previousContainer,
                    target: args.target,
                    notify: args.notify,
                    startedAt: args.startedAt,
                    stepLockWaitSeconds: lockWait,
                },
                { parent: this, dependsOn: [gate] },
            );
        // A canary needs a serving slot to stand next to: none on a first deploy.
        const canary = args.canary && args.previousContainer ? this.canary(name, args, args.canary, hooks ?? gate, lockWait) : undefined;
        const switchArgs = pulumi.all([args.record, deployId.hex]).apply(([record, id]): SwitchScriptArgs => ({
            ...routing,
            slot: args.target,
            containerName: args.containerName,
            watch: { ...args.watch, checks },
            notify: args.notify,
            previousContainer: args.previousContainer,
            retire: { standby: args.standby, drainGraceSeconds: args.drainGraceSeconds, imagesToKeep: args.imagesToKeep },
            record: { ...record, id },
            stepLockWaitSeconds: lockWait,
        }));
        const switchScript = switchArgs.apply(renderSwitchScript);
        // A new deploy replaces the switch (its triggers); a change of what retires alone
        // (imagesToKeep, drainGraceSeconds, standby) updates it, which runs the retire part.
        // A separate retire resource cost 1.2 to 1.5 s of each rollback (docs/performance.md).
        const cutover = switchArgs.apply((a) => stepTrigger(a.notify, (fixed) => renderSwitchScript({ ...a, retire: undefined, ...fixed })));
        const flip = new command.remote.Command(
            `${name}-caddy`,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                ...scriptOnStdin(`switch to ${args.target}`, switchScript),
                update: stdinScriptCommand(`retire ${otherColor(args.target)}`, RETIRE_ONLY),
                triggers: [args.containerId, cutover, probe.generation],
            },
            { parent: this, dependsOn: canary ?? hooks ?? gate },
        );
        surfaceHostWarnings(flip, this, args.startedAt);
        this.flip = flip;
        this.deployedAt = flip.stdout.apply((s) => s.trim().split("\n").pop() ?? "");
        this.registerOutputs({ deployedAt: this.deployedAt });
    }

    /**
     * The canary step: runs again only with a new container or target (like the gate); the
     * script itself gives a returning standby, or a slot that already serves, no canary.
     */
    private canary(name: string, args: TrafficSwitchArgs, plan: CanaryPlan, after: pulumi.Resource, lockWait: number): command.remote.Command {
        const canaryArgs = { ...args.routing, slot: args.target, tag: args.tag, containerName: args.containerName, plan, notify: args.notify };
        const canaryScript = renderCanaryScript({ ...canaryArgs, stepLockWaitSeconds: lockWait });
        const step = new command.remote.Command(
            `${name}-canary`,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                ...scriptOnStdin(`canary ${args.tag}`, canaryScript),
                update: RECONNECT_ONLY_SCRIPT,
                triggers: [args.containerId, args.target, stepTrigger(args.notify, (fixed) => renderCanaryScript({ ...canaryArgs, ...fixed }))],
            },
            { parent: this, dependsOn: [after] },
        );
        surfaceHostWarnings(step, this, args.startedAt);
        return step;
    }
}
