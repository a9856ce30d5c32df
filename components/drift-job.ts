import { Color } from "../state/slot-machine";
import * as pulumi from "@pulumi/pulumi";
import { driftMetricsFile, renderDriftCheckScript } from "../host-scripts/drift-check";
import { renderCronFile } from "../host-scripts/cron-job";
import { sh } from "../host-scripts/shell";
import { RoutingArgs } from "../host-scripts/routing";
import { declareCronJob, HostJobArgs } from "./cron-job";
import { scriptSha256 } from "./host";
import { hostLayout } from "../host-scripts/layout";

export interface DriftJobArgs extends HostJobArgs {
    /** Worktree of the deployed release; none when it returned from its kept image. */
    readonly worktree?: string;
    /** Commit of the deployed release. */
    readonly commit: pulumi.Input<string>;
    /** Active container. */
    readonly containerName: string;
    /** The image id the active container must run. */
    readonly imageId: pulumi.Input<string>;
    /** How Caddy routes the service. */
    readonly routing: RoutingArgs;
    /** The slot Caddy must route to. */
    readonly activeSlot: Color;
    /** The env file path. */
    readonly envFile: string;
}

/** How the drift job's install reads: its step and job names, and one run of the check so the metric exists right after a deploy. */
export function driftInstall(scriptPath: string, logFile: string) {
    return {
        step: "drift-install",
        what: "drift job",
        afterInstall: sh`${scriptPath} >>${logFile} 2>&1 && echo "drift check: clean" || echo ${`drift check: drift (see ${logFile})`}`,
    };
}

/**
 * The host-side drift job: a check script and its /etc/cron.d entry, re-rendered at each
 * deploy with what went live. Its probe notices a removed or edited cron file or script.
 */
export class DriftJob extends pulumi.ComponentResource {
    /** Path of the check script on the host. */
    readonly scriptPath: string;
    /** Path of the cron file. */
    readonly cronPath: string;

    constructor(name: string, args: DriftJobArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:DriftJob", name, {}, opts);
        this.scriptPath = `${hostLayout(args.appDir).binDir}/drift-check`;
        this.cronPath = `/etc/cron.d/${args.serviceName}-drift`;
        const paths = { scriptPath: this.scriptPath, cronPath: this.cronPath };
        const logFile = `${hostLayout(args.appDir).logDir}/drift.log`;
        const cron = renderCronFile({
            what: "drift check",
            serviceName: args.serviceName,
            schedule: args.schedule,
            user: args.user,
            scriptPath: this.scriptPath,
            logFile,
        });
        const script = pulumi.all([args.commit, args.imageId]).apply(([commit, imageId]) =>
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
                cronSha256: scriptSha256(cron),
            }),
        );
        declareCronJob(this, name, {
            connection: args.connection,
            probe: args.probe,
            files: { ...paths, logFile },
            cron,
            script,
            metricsFile: driftMetricsFile(args.metricsDir, args.serviceName),
            ...driftInstall(this.scriptPath, logFile),
        });
        this.registerOutputs({ scriptPath: this.scriptPath, cronPath: this.cronPath });
    }
}
