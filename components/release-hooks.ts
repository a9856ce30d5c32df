import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { BackupHookArgs, renderReleaseHooksScript } from "../host-scripts/release-hooks";
import { renderSchemaGuardScript, SchemaGuardScriptArgs } from "../host-scripts/schema-guard";
import { NotifyContext } from "../host-scripts/notify";
import { HOST_COMMAND_DEFAULTS, RECONNECT_ONLY_SCRIPT, scriptOnStdin, surfaceHostWarnings } from "./host";

export interface ReleaseHooksArgs {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** The app directory (env file, backups). */
    readonly appDir: string;
    /** Service name (the migrate container's name). */
    readonly serviceName: string;
    /** The release tag of this update. */
    readonly tag: string;
    /** The backup hook, if configured. */
    readonly backup?: BackupHookArgs;
    /** The migrate hook's arguments (after the image), if configured. */
    readonly migrate?: string[];
    /** The schema guard's settings (schemaRevisionCommand, rollbackCheck, allowSchemaRollback), if configured. */
    readonly schema?: Pick<SchemaGuardScriptArgs, "revisionArgs" | "rollbackCheckArgs" | "allowRollback">;
    /** The slot container serving now (absent on a first deploy): the schema guard reads the database's revision with its image. */
    readonly liveContainerName?: string;
    /** How long each hook may run, in seconds, before it is stopped and the release stops. */
    readonly hookTimeoutSeconds: number;
    /** How long the hooks wait for a release step of this service that still runs (an interrupted update's). */
    readonly stepLockWaitSeconds: number;
    /** The release's image id (the migrate container runs it). */
    readonly imageId: pulumi.Input<string>;
    /** Network of the release's containers. */
    readonly networkMode: "host" | "bridge";
    /** The slot taking traffic: its container name, and its id (a new container is a new run). */
    readonly containerName: string;
    readonly containerId: pulumi.Input<string>;
    /** The slot taking traffic. */
    readonly target: string;
    /** Who is told when a hook fails, and where that failed deploy is recorded (metricsDir). */
    readonly notify: NotifyContext;
    /** When this update started (host warnings of earlier runs are not repeated). */
    readonly startedAt: number;
}

/**
 * The release hooks between the gate and the switch, two steps: backup and migrate
 * (host-scripts/release-hooks.ts), then the schema guard (host-scripts/schema-guard.ts). They
 * run whenever the gate does (a new container, or another slot taking traffic); a change of
 * their script alone runs nothing, so editing a hook takes effect at the next release.
 */
export class ReleaseHooks extends pulumi.ComponentResource {
    constructor(name: string, args: ReleaseHooksArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:ReleaseHooks", name, {}, opts);
        const hooks =
            (args.backup || args.migrate) &&
            this.step(
                `${name}-run`,
                `hooks ${args.tag}`,
                args,
                pulumi.output(args.imageId).apply((imageId) =>
                    renderReleaseHooksScript({
                        appDir: args.appDir,
                        serviceName: args.serviceName,
                        tag: args.tag,
                        backup: args.backup,
                        migrate: args.migrate ? { args: args.migrate, imageId, networkMode: args.networkMode, containerName: args.containerName } : undefined,
                        notify: args.notify,
                        hookTimeoutSeconds: args.hookTimeoutSeconds,
                        stepLockWaitSeconds: args.stepLockWaitSeconds,
                    }),
                ),
                [],
            );
        const schema = args.schema;
        if (schema) {
            // After the migration: a new release records the revision it left.
            this.step(
                `${name}-schema`,
                `schema ${args.tag}`,
                args,
                pulumi.output(
                    renderSchemaGuardScript({
                        ...schema,
                        appDir: args.appDir,
                        serviceName: args.serviceName,
                        tag: args.tag,
                        networkMode: args.networkMode,
                        containerName: args.containerName,
                        liveContainerName: args.liveContainerName,
                        backups: !!args.backup,
                        notify: args.notify,
                        hookTimeoutSeconds: args.hookTimeoutSeconds,
                        stepLockWaitSeconds: args.stepLockWaitSeconds,
                    }),
                ),
                hooks ? [hooks] : [],
            );
        }
        this.registerOutputs({});
    }

    /** One step on the host: run with each new container or target; a change of its script alone runs nothing. */
    private step(name: string, label: string, args: ReleaseHooksArgs, text: pulumi.Output<string>, dependsOn: pulumi.Resource[]): command.remote.Command {
        const run = new command.remote.Command(
            name,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                ...scriptOnStdin(label, text),
                update: RECONNECT_ONLY_SCRIPT,
                // No digest of the script here: editing a hook must not run it outside a release.
                triggers: [args.containerId, args.target],
            },
            { parent: this, dependsOn },
        );
        surfaceHostWarnings(run, this, args.startedAt);
        return run;
    }
}
