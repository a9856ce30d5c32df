import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import { renderDriftCheckScript, renderDriftCronFile, renderInstallDriftJobScript, RoutingArgs } from "../host-scripts/drift-check";
import { quote } from "../host-scripts/shell";
import { RemoteCommand } from "../providers/remote-command";
import { SshConnectionArgs } from "../providers/ssh";

export interface DriftJobArgs {
    /** Connection to the host. */
    connection: SshConnectionArgs;
    /** Service name (cron file name, metric label). */
    serviceName: string;
    /** The app directory (script under bin/, log under logs/). */
    appDir: string;
    /** Cron schedule, e.g. "17 * * * *". */
    schedule: string;
    /** User the cron job runs as (the SSH user: it has Docker access). */
    user: string;
    /** Worktree and commit of the deployed release. */
    worktree: string;
    commit: pulumi.Input<string>;
    /** Active container and the image id it must run. */
    containerName: string;
    imageId: pulumi.Input<string>;
    /** How Caddy routes the service, and the slot it must route to. */
    routing: RoutingArgs;
    activeSlot: "blue" | "green";
    /** The env file path. */
    envFile: string;
    /** Prometheus textfile collector directory. */
    metricsDir: string;
}

const sha256 = (s: string) => crypto.createHash("sha256").update(s).digest("hex");

/**
 * The host-side drift job: a check script and its /etc/cron.d entry, re-rendered at each
 * deploy with what went live. Refresh notices a removed or edited cron file or script.
 */
export class DriftJob extends pulumi.ComponentResource {
    /** Path of the check script on the host. */
    readonly scriptPath: string;
    /** Path of the cron file. */
    readonly cronPath: string;

    constructor(name: string, args: DriftJobArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:drift:DriftJob", name, {}, opts);
        this.scriptPath = `${args.appDir}/bin/drift-check`;
        this.cronPath = `/etc/cron.d/${args.serviceName}-drift`;
        const logFile = `${args.appDir}/logs/drift.log`;
        const cron = renderDriftCronFile({ serviceName: args.serviceName, schedule: args.schedule, user: args.user, scriptPath: this.scriptPath, logFile });
        const script = pulumi
            .all([args.commit, args.imageId])
            .apply(([commit, imageId]) =>
                renderDriftCheckScript({
                    serviceName: args.serviceName,
                    worktree: args.worktree,
                    commit,
                    containerName: args.containerName,
                    imageId,
                    routing: args.routing,
                    activeSlot: args.activeSlot,
                    envFile: args.envFile,
                    metricsDir: args.metricsDir,
                    cronFile: this.cronPath,
                    cronSha256: sha256(cron),
                }),
            );
        const fileSha = (path: string) => `$(sha256sum ${quote(path)} 2>/dev/null | cut -d' ' -f1 || true)`;
        new RemoteCommand(
            `${name}-install`,
            {
                connection: args.connection,
                what: "drift job",
                create: script.apply((s) => renderInstallDriftJobScript({ scriptPath: this.scriptPath, cronPath: this.cronPath, logFile, script: s, cron })),
                delete: `rm -f ${quote(this.cronPath)} ${quote(this.scriptPath)}`,
                check: `printf 'cron_file=%s\\nscript=%s\\n' "${fileSha(this.cronPath)}" "${fileSha(this.scriptPath)}" | sed 's/=$/=missing/'`,
                expect: script.apply((s) => ({ cron_file: sha256(cron), script: sha256(s) })),
            },
            { parent: this },
        );
        this.registerOutputs({ scriptPath: this.scriptPath, cronPath: this.cronPath });
    }
}
