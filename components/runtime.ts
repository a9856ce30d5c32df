import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { DeployConfig, HostTarget } from "../config/schema";
import { HostAccess } from "../ssh/host-access";
import { hostLayout } from "../host-scripts/layout";
import { COLORS, Color, DeployState, otherColor, ReleasePlan } from "../state/slot-machine";
import { worktreePath } from "../host-scripts/layout";
import { BackupJob } from "./backup-job";
import { RestoreDrill } from "./restore-drill";
import { DriftJob } from "./drift-job";
import { EnvFile } from "./env-file";
import { GitCheckout } from "./git-checkout";
import { ReleaseTag, VerifiedRelease } from "./release-tag";
import { Host } from "./host";
import { ReleaseImage } from "./release-image";
import { KeptRelease } from "./kept-release";
import { releaseImageName } from "../host-scripts/image-build";
import { KeptImage } from "../host-scripts/kept-releases";
import { ServiceFootprint } from "./service-footprint";
import { Slot } from "./slot";
import { TrafficSwitch } from "./traffic-switch";
import { CanaryPlan, canaryPercents } from "../host-scripts/canary";
import { NotifyContext } from "../host-scripts/notify";
import { caddyServerArgs, RoutingArgs, slotPort } from "../host-scripts/routing";
import { caddyfileSnippetPath } from "../host-scripts/caddyfile-site";
import { OldDeploy, RetiredItem } from "./old-deploy";
import { MaintenanceMode } from "./maintenance-mode";
import { stepLockWaitSeconds } from "../host-scripts/step-lock";
import { NotifyTargets } from "./notify-targets";

export interface L9RuntimeArgs {
    /** The validated stack configuration. */
    readonly config: DeployConfig;
    /** The host this runtime converges. */
    readonly target: HostTarget;
    /** The stack's SSH agent and pinned known_hosts on this machine (paths only). */
    readonly access: HostAccess;
}

/** What the plan decided for this host (plan/rollout.ts), as plain values. */
export interface HostRelease {
    /** The release plan (from the two-slot state machine). */
    readonly plan: ReleasePlan;
    /** The releases outside the slots whose image the host keeps after this update (plan/releases.ts). */
    readonly kept: KeptImage[];
    /** The env fingerprint of the desired release (secret-derived, not secret itself). */
    readonly envFingerprint: string;
    /** Who is deploying (recorded on the host and in the outputs). */
    readonly actor: string;
    /** Resources that must be done before this host is touched (the previous batch's switches). */
    readonly after: pulumi.Resource[];
    /** Seconds preflight waits first (the pause between batches); 0 for the first batch. */
    readonly pauseSeconds: number;
    /** The stack, as notifications name it (project/stack); it also claims appDir (its ownership marker). */
    readonly stackName: string;
    /** When this update started, minus the allowed clock skew (epoch ms). */
    readonly startedAt: number;
}

/** What the runtime converged to: the stack's outputs. */
export interface L9RuntimeOutputs {
    readonly activeSlot: Color;
    readonly commit: pulumi.Output<string>;
    readonly imageId: pulumi.Output<string>;
    readonly slots: pulumi.Output<Record<Color, SlotSummary | null>>;
    /** What the stack can return to in seconds: the serving release, the standby, then the kept images, newest first. */
    readonly releases: pulumi.Output<ReturnableRelease[]>;
    /** Resolves only once the switch succeeded. */
    readonly deployedAt: pulumi.Output<string>;
    /** The switch: the next batch of a roll waits for it. */
    readonly switched: pulumi.Resource;
    readonly url: string;
    /** The two-slot state this update leaves (read back by the next update). */
    readonly state: DeployState;
    /** The env file; `validatedEnv` is what the slots run with. */
    readonly envFile: EnvFile;
    /** Maintenance mode as configured (stack output). */
    readonly maintenance: { enabled: boolean; message: string; allowPaths: string[] };
    /** Adoption: the old deploy's containers and cron files retired here, each with its restore command (stack output). */
    readonly retired?: pulumi.Output<RetiredItem[]>;
}

export interface SlotSummary {
    tag: string;
    commit: string;
    imageId: string;
}

/** A release the stack can return to in seconds (`releases` output): `serving` and `standby` are in a slot, `kept` its image only. */
export interface ReturnableRelease extends SlotSummary {
    where: "serving" | "standby" | "kept";
    /** When its image was built (kept images only). */
    builtAt?: string;
}

/**
 * The production runtime of the service on one host: preflight, one checkout and image per
 * release present in a slot, the env file, the two slots, and the gated traffic switch.
 *
 * Built in steps from plain values, none of them waiting on anything: the constructor
 * registers the host's connections (Host: providers only) before the update is planned, so
 * their plugins start while the hosts are checked; `declarePreflight` and then `converge`
 * declare the release the plan decided (components/rollout.ts calls them in order).
 */
export class L9Runtime extends pulumi.ComponentResource {
    /** The host: its pinned connection (through the stack's agent) and its providers. */
    readonly host: Host;
    private readonly name: string;
    private readonly args: L9RuntimeArgs;
    /** Where Caddy sends the service's traffic: preflight checks its certificates, the switch and drift job use it. */
    private readonly routing: RoutingArgs;

    constructor(name: string, args: L9RuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:L9Runtime", name, {}, opts);
        this.name = name;
        this.args = args;
        this.routing = routingOf(args.config);
        this.host = new Host(
            childName(name, "host"),
            { address: args.target.host, port: args.target.sshPort, user: args.config.sshUser, hostKey: args.target.hostKey, access: args.access },
            { parent: this },
        );
    }

    /** The host's preflight for this release: everything `converge` declares waits for it. Declare it once, before `converge`. */
    declarePreflight(release: HostRelease): command.remote.Command {
        const c = this.args.config;
        return this.host.declarePreflight({
            appDir: c.appDir,
            serviceName: c.serviceName,
            // The stack claims appDir (its ownership marker): preflight and the footprint check it.
            owner: release.stackName,
            caddyAdmin: c.caddyAdmin,
            minFreeDiskMb: c.minFreeDiskMb,
            certificates: { hosts: c.caddyHosts, listen: c.caddyListen, minDays: c.minCertDays, routes: caddyServerArgs(this.routing) },
            pauseSeconds: release.pauseSeconds,
            // The env fingerprint is derived from secrets: it is kept as a secret in the state.
            triggers: [c.releaseTag, release.plan.next.active, pulumi.secret(release.envFingerprint)],
            after: release.after,
        });
    }

    /** Declares everything else the plan decided for this host, after `preflight`; call it once. */
    converge(release: HostRelease, preflight: command.remote.Command): L9RuntimeOutputs {
        const c = this.args.config;
        const routing = this.routing;
        const { plan } = release;
        const child = (job: string) => childName(this.name, job);
        const host = this.host;
        const next = plan.next;
        const layout = hostLayout(c.appDir);
        const imageName = releaseImageName(c.serviceName);
        const desiredTag = c.releaseTag;

        const footprint = new ServiceFootprint(
            child("service"),
            {
                connection: host.connection,
                appDir: c.appDir,
                serviceName: c.serviceName,
                caddyAdmin: c.caddyAdmin,
                owner: release.stackName,
                metricsDir: c.metricsDir,
            },
            { parent: this, dependsOn: [preflight] },
        );
        // Everything on the host depends on the service's place (through the tag verification):
        // destroy removes it last.
        const afterPreflight = { parent: this, dependsOn: [preflight, footprint.command] };

        // One verified tag, one checkout and one image per release present in a slot (one
        // KeptRelease step for a release back from its kept image); a release leaving both
        // slots is removed at the end of the update.
        const tags = [...new Set(COLORS.map((color) => next.slots[color]?.tag).filter((t): t is string => !!t))];
        // A release that went into its slot from its kept image has no checkout or build, and its
        // tag is verified in the host's mirror as it is (its resources keep their kind while it stays).
        const kept = new Set(tags.filter((tag) => COLORS.every((color) => next.slots[color]?.tag !== tag || next.slots[color]?.fromKeptImage)));
        const releaseTags = new Map<string, VerifiedRelease>();
        const images = new Map<string, { imageId: pulumi.Output<string> }>();
        for (const tag of tags) {
            const tagArgs = {
                connection: host.connection,
                appDir: c.appDir,
                repoUrl: c.repoUrl,
                tag,
                mainBranch: c.mainBranch,
                verifySignature: c.verifyTagSignature,
            };
            if (kept.has(tag)) {
                const release = new KeptRelease(child(`kept-${tag}`), { ...tagArgs, serviceName: c.serviceName }, afterPreflight);
                releaseTags.set(tag, release);
                images.set(tag, release);
            } else {
                releaseTags.set(tag, new ReleaseTag(child(`tag-${tag}`), tagArgs, afterPreflight));
            }
        }

        // The env is validated against the desired release's .env.example before anything of
        // that release lands on the host: its worktree, image and container wait for it.
        const envFile = new EnvFile(
            child("env"),
            {
                connection: host.connection,
                probe: host.probe,
                path: layout.envFile,
                env: c.env,
                tag: desiredTag,
                envExample: releaseTags.get(desiredTag)!.envExample,
            },
            { parent: this },
        );

        for (const tag of tags) {
            if (kept.has(tag)) continue;
            const checkout = new GitCheckout(
                child(`checkout-${tag}`),
                {
                    connection: host.connection,
                    probe: host.probe,
                    appDir: c.appDir,
                    tag,
                    commit: releaseTags.get(tag)!.commit,
                    readyWhen: tag === desiredTag ? envFile.validatedEnv : undefined,
                },
                { parent: this },
            );
            images.set(
                tag,
                new ReleaseImage(
                    child(`image-${tag}`),
                    {
                        connection: host.connection,
                        appDir: c.appDir,
                        tag,
                        commit: releaseTags.get(tag)!.commit,
                        imageName,
                        serviceName: c.serviceName,
                        dockerfile: c.dockerfile,
                    },
                    { parent: this, dependsOn: [checkout] },
                ),
            );
        }

        // How long a release step waits for one that an interrupted update left running.
        const lockWait = releaseStepLockSeconds(c);
        const slots = new Map<Color, Slot>();
        for (const color of COLORS) {
            const inSlot = next.slots[color];
            if (!inSlot) continue;
            const isTarget = color === plan.target;
            slots.set(
                color,
                new Slot(
                    child(color),
                    {
                        provider: host.docker,
                        connection: host.connection,
                        appDir: c.appDir,
                        caddyAdmin: c.caddyAdmin,
                        stepLockWaitSeconds: lockWait,
                        serviceName: c.serviceName,
                        color,
                        port: slotPort(c, color),
                        networkMode: inSlot.networkMode,
                        containerPort: c.containerPort,
                        imageId: images.get(inSlot.tag)!.imageId,
                        tag: inSlot.tag,
                        commit: releaseTags.get(inSlot.tag)!.commit,
                        env: envFile.validatedEnv,
                        restartPolicy: c.restartPolicy,
                        healthcheckCommand: c.healthcheckCommand,
                        drainGraceSeconds: c.drainGraceSeconds,
                        mustRun: isTarget || c.standby === "warm",
                        keepRecorded: plan.replaced !== color,
                        envFingerprint: inSlot.envFingerprint,
                    },
                    // The env arrives validated (validatedEnv); the slots need not wait for the
                    // file's write and its probe, which the hooks and the switch wait for.
                    { parent: this },
                ),
            );
        }

        const target = plan.target;
        const targetSlot = slots.get(target)!;
        const other = otherColor(target);
        // The verified tag's commit: known in a preview even while a worktree is re-applied, so
        // healing a worktree never shows the image or the containers as changing.
        const commit = releaseTags.get(desiredTag)!.commit;
        const imageId = images.get(desiredTag)!.imageId;
        const notify: NotifyContext = {
            stack: release.stackName,
            service: c.serviceName,
            tag: desiredTag,
            previousTag: next.slots[other]?.tag,
            actor: release.actor,
            appDir: c.appDir,
            metricsDir: c.metricsDir,
        };
        // Scripts that notify read the targets file: it is written before them.
        const notifyTargets =
            c.notify.length > 0
                ? new NotifyTargets(child("notify"), { connection: host.connection, appDir: c.appDir, targets: c.notify }, afterPreflight)
                : undefined;
        const traffic = new TrafficSwitch(
            child("traffic"),
            {
                connection: host.connection,
                probe: host.probe,
                routing,
                target,
                tag: desiredTag,
                containerName: targetSlot.containerName,
                containerId: targetSlot.container.id,
                previousContainer: slots.get(other)?.containerName,
                healthPath: c.healthPath,
                healthTimeoutSeconds: c.healthTimeoutSeconds,
                smokeRequests: c.smokeRequests,
                logScanPatterns: c.logScanPatterns,
                standby: c.standby,
                drainGraceSeconds: c.drainGraceSeconds,
                envFingerprint: release.envFingerprint,
                record: pulumi.all([commit, imageId]).apply(([commit, imageId]) => ({ tag: desiredTag, commit, imageId, actor: release.actor })),
                imagesToKeep: c.imagesToKeep,
                watch: { seconds: c.watchSeconds, failures: c.watchFailures },
                canary: canaryPlanOf(c, routing),
                notify,
                hooks:
                    c.backup || c.migrate || c.schemaRevisionCommand
                        ? {
                              backup: c.backup ? { command: c.backup, keep: c.backupsToKeep, required: c.backupRequired } : undefined,
                              migrate: c.migrate,
                              schema: c.schemaRevisionCommand && {
                                  revisionArgs: c.schemaRevisionCommand,
                                  rollbackCheckArgs: c.rollbackCheck,
                                  allowRollback: c.allowSchemaRollback,
                              },
                              hookTimeoutSeconds: c.hookTimeoutSeconds,
                              imageId,
                              networkMode: next.slots[target]!.networkMode,
                          }
                        : undefined,
                startedAt: release.startedAt,
                stepLockWaitSeconds: lockWait,
            },
            // The gate waits for both slots, though it checks one: a slot replaced delete-before-
            // replace first deletes what depended on it in the last update (the gate, when it
            // checked that colour), and a gate registered meanwhile ends the update in the
            // engine's "snapshot integrity failure: duplicate resource" (pulumi 3.259; e2e 09).
            { parent: this, dependsOn: [...slots.values(), envFile, ...(notifyTargets ? [notifyTargets] : [])] },
        );
        // Maintenance mode acts through the route the switch loaded into Caddy.
        new MaintenanceMode(
            child("maintenance"),
            { connection: host.connection, serviceName: c.serviceName, enabled: c.maintenance.enabled, message: c.maintenance.message },
            { parent: this, dependsOn: [traffic] },
        );
        const maintenance = { enabled: c.maintenance.enabled, message: c.maintenance.message, allowPaths: routing.maintenance.allowPaths };
        // Adoption: the old runbooks' deploy is retired only once l9-deploy serves.
        const oldDeploy = c.adopt
            ? new OldDeploy(
                  child("old-deploy"),
                  {
                      connection: host.connection,
                      handBackOnDestroy: c.adopt.handBackOnDestroy,
                      handBack: {
                          appDir: c.appDir,
                          containers: c.adopt.containers,
                          cronFiles: c.adopt.cronFiles,
                          caddyAdmin: c.caddyAdmin,
                          healthPath: c.adopt.healthPath ?? c.healthPath,
                          ...(c.caddyfileReplaces ? { dial: c.caddyfileReplaces } : {}),
                          ...(c.caddyfile ? { caddyfile: { path: c.caddyfile, snippet: caddyfileSnippetPath(c.caddyfile, c.serviceName) } } : {}),
                      },
                  },
                  { parent: this, dependsOn: [traffic] },
              )
            : undefined;

        new DriftJob(
            child("drift"),
            {
                connection: host.connection,
                probe: host.probe,
                serviceName: c.serviceName,
                appDir: c.appDir,
                schedule: c.driftSchedule,
                user: c.sshUser,
                worktree: kept.has(desiredTag) ? undefined : worktreePath(c.appDir, desiredTag),
                commit,
                containerName: targetSlot.containerName,
                imageId,
                routing,
                activeSlot: target,
                envFile: layout.envFile,
                metricsDir: c.metricsDir,
            },
            { parent: this, dependsOn: [traffic] },
        );
        if (c.backupSchedule !== undefined && c.backup !== undefined) {
            new BackupJob(
                child("backup"),
                {
                    connection: host.connection,
                    probe: host.probe,
                    serviceName: c.serviceName,
                    appDir: c.appDir,
                    schedule: c.backupSchedule,
                    user: c.sshUser,
                    command: c.backup,
                    keep: c.backupsToKeep,
                    timeoutSeconds: c.hookTimeoutSeconds,
                    metricsDir: c.metricsDir,
                    // Each host of a multi-host stack copies into a directory of its own there (their rotations stay apart).
                    copyTo: c.backupCopyTo && { ...c.backupCopyTo, dir: [c.backupCopyTo.dir, this.args.target.name].filter(Boolean).join("/") },
                    copyKey: c.backupCopyKey === undefined ? undefined : pulumi.secret(c.backupCopyKey),
                },
                // The job reads the env file the release writes.
                { parent: this, dependsOn: [envFile] },
            );
        }
        if (c.restoreDrill !== undefined && c.backup !== undefined) {
            new RestoreDrill(
                child("backup-drill"),
                {
                    connection: host.connection,
                    probe: host.probe,
                    serviceName: c.serviceName,
                    hostName: this.args.target.name,
                    appDir: c.appDir,
                    schedule: c.restoreDrill.schedule,
                    user: c.sshUser,
                    databaseUrlKey: c.restoreDrill.databaseUrlKey,
                    check: c.restoreDrill.check,
                    timeoutSeconds: c.hookTimeoutSeconds,
                    metricsDir: c.metricsDir,
                },
                // The drill reads the database URL from the env file the release writes.
                { parent: this, dependsOn: [envFile] },
            );
        }

        const summary = (color: Color): pulumi.Output<SlotSummary | null> => {
            const inSlot = next.slots[color];
            if (!inSlot) return pulumi.output(null);
            return pulumi
                .all([releaseTags.get(inSlot.tag)!.commit, images.get(inSlot.tag)!.imageId])
                .apply(([commit, imageId]) => ({ tag: inSlot.tag, commit, imageId }));
        };
        const slotSummaries = pulumi.all([summary("blue"), summary("green")]).apply(([blue, green]) => ({ blue, green }));
        const releases = pulumi
            .all([summary(target), summary(other)])
            .apply(([serving, standby]): ReturnableRelease[] => [
                ...(serving ? [{ ...serving, where: "serving" as const }] : []),
                ...(standby && standby.tag !== serving?.tag ? [{ ...standby, where: "standby" as const }] : []),
                ...release.kept.map((k) => ({ tag: k.tag, commit: k.commit, imageId: k.imageId, where: "kept" as const, builtAt: k.builtAt })),
            ]);
        this.registerOutputs({ activeSlot: target, slots: slotSummaries, deployedAt: traffic.deployedAt, maintenance });
        return {
            activeSlot: target,
            commit,
            imageId,
            slots: slotSummaries,
            releases,
            deployedAt: traffic.deployedAt,
            switched: traffic.flip,
            url: `http://${c.caddyListen.startsWith(":") ? `${c.caddyHosts[0] ?? "localhost"}${c.caddyListen}` : c.caddyListen}`,
            state: next,
            envFile,
            maintenance,
            ...(oldDeploy ? { retired: oldDeploy.retired } : {}),
        };
    }
}

/** The runtime of a host: "l9" on a single-host stack, "l9-<host name>" on several. */
export function runtimeName(hostName: string): string {
    return hostName ? `l9-${hostName}` : "l9";
}

/**
 * A runtime's child, named from the runtime's own name: `<job>` under "l9", `<host name>-<job>`
 * under "l9-<host name>". These are the names stacks deployed by earlier versions hold; a
 * rename would need an alias on every resource, and the engine asserts when it refreshes a
 * resource found by its alias (README, "Several hosts").
 */
export function childName(runtime: string, job: string): string {
    return `${childPrefix(runtime)}${job}`;
}

/** What a runtime's children's names start with: "" under "l9", "<host name>-" under "l9-<host name>". */
export function childPrefix(runtime: string): string {
    return runtime === "l9" ? "" : `${runtime.slice("l9-".length)}-`;
}

/** The longest a release step of this service holds the host's step lock (stepLockWaitSeconds for this config). */
export function releaseStepLockSeconds(c: DeployConfig): number {
    return stepLockWaitSeconds({
        watchSeconds: c.watchSeconds,
        drainGraceSeconds: c.drainGraceSeconds,
        hookTimeoutSeconds: c.hookTimeoutSeconds,
        hookRuns: hookRuns(c),
        canary: c.canary && { steps: c.canary.steps, stepSeconds: c.canary.stepSeconds },
    });
}

/** What an update of one host needs beyond its release steps: checkout, image build, gates, probes. */
const OTHER_WORK_SECONDS = 7200;

/**
 * How long the stack's agent may hold the deploy key (`ssh-add -t`): the longest an update
 * of `hosts` hosts can need it. Per batch of the roll, its release steps (both hooks, a
 * canary, the watch and drain: releaseStepLockSeconds) and two hours for the rest; the
 * batches run one after another, with their pauses. The watcher forgets the key sooner,
 * when the operation ends; this bounds a watcher that never ran.
 */
/**
 * The most bounded runs a release's hook steps make: the backup and the migration, then the
 * schema guard's revision and, when a release returns to another revision, rollbackCheck (also
 * on a new container: an old tag's image released again).
 */
function hookRuns(c: DeployConfig): number {
    const schema = c.schemaRevisionCommand ? 1 + (c.rollbackCheck ? 1 : 0) : 0;
    return (c.backup ? 1 : 0) + (c.migrate ? 1 : 0) + schema;
}

export function deployKeyLifetimeSeconds(c: DeployConfig, hosts: number): number {
    const batches = Math.max(1, Math.ceil(hosts / c.rollout.batchSize));
    return batches * (releaseStepLockSeconds(c) + OTHER_WORK_SECONDS) + (batches - 1) * c.rollout.pauseSeconds;
}

/** Where Caddy sends the service's traffic, from the config (pure). */
function routingOf(c: DeployConfig): RoutingArgs {
    return {
        serviceName: c.serviceName,
        appDir: c.appDir,
        caddyAdmin: c.caddyAdmin,
        caddyListen: c.caddyListen,
        caddyHosts: c.caddyHosts,
        bluePort: c.bluePort,
        greenPort: c.greenPort,
        maintenance: { allowPaths: c.maintenance.allowPaths ?? [c.healthPath.split("?")[0]] },
        ...(c.canary ? { canary: { percents: canaryPercents(c.canary.percent, c.canary.steps), sticky: c.canary.sticky } } : {}),
        ...(c.caddyfile ? { caddyfile: { path: c.caddyfile, ...(c.caddyfileReplaces ? { replaces: c.caddyfileReplaces } : {}) } } : {}),
    };
}

/** How the canary runs, from the config (pure), on the steps its routes were made for; absent when none is configured. */
function canaryPlanOf(c: DeployConfig, routing: RoutingArgs): CanaryPlan | undefined {
    if (!c.canary || !routing.canary) return undefined;
    return {
        percents: routing.canary.percents,
        stepSeconds: c.canary.stepSeconds,
        maxErrorRateBasisPoints: Math.round(c.canary.maxErrorRate * 100),
        minRequests: c.canary.minRequests,
        sticky: c.canary.sticky,
    };
}
