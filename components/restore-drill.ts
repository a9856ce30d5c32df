import * as pulumi from "@pulumi/pulumi";
import { renderCronFile } from "../host-scripts/cron-job";
import { hostLayout } from "../host-scripts/layout";
import { renderRestoreDrillScript, restoreDrillMetricsFile } from "../host-scripts/restore-drill";
import { declareCronJob, HostJobArgs } from "./cron-job";

export interface RestoreDrillArgs extends HostJobArgs {
    /** The host's name in a multi-host stack ("" for one host). */
    readonly hostName: string;
    /** The env key of the app's database URL (config `restoreDrill.databaseUrlKey`). */
    readonly databaseUrlKey: string;
    /** SQL whose first value must be true on the restored database (config `restoreDrill.check`). */
    readonly check: string;
    /** Seconds the restore, and the check, may each run (config `hookTimeoutSeconds`). */
    readonly timeoutSeconds: number;
}

/** Where the drill's script lives on the host: what cron and `npm run backup:drill` run. */
export function restoreDrillScriptPath(appDir: string): string {
    return `${hostLayout(appDir).binDir}/backup-drill`;
}

/**
 * The restore drill (config `restoreDrill`): its script (renderRestoreDrillScript) and its
 * /etc/cron.d entry. Its probe notices a removed or edited cron file or script; its delete
 * removes both and the metrics it wrote, never a backup.
 */
export class RestoreDrill extends pulumi.ComponentResource {
    /** Path of the drill's script on the host. */
    readonly scriptPath: string;

    constructor(name: string, args: RestoreDrillArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:RestoreDrill", name, {}, opts);
        const layout = hostLayout(args.appDir);
        this.scriptPath = restoreDrillScriptPath(args.appDir);
        const files = { scriptPath: this.scriptPath, cronPath: `/etc/cron.d/${args.serviceName}-backup-drill`, logFile: `${layout.logDir}/backup-drill.log` };
        declareCronJob(this, name, {
            connection: args.connection,
            probe: args.probe,
            files,
            cron: renderCronFile({ what: "restore drill", serviceName: args.serviceName, schedule: args.schedule, user: args.user, ...files }),
            script: renderRestoreDrillScript({
                serviceName: args.serviceName,
                hostName: args.hostName,
                appDir: args.appDir,
                databaseUrlKey: args.databaseUrlKey,
                check: args.check,
                timeoutSeconds: args.timeoutSeconds,
                metricsDir: args.metricsDir,
            }),
            metricsFile: restoreDrillMetricsFile(args.metricsDir, args.serviceName),
            what: "restore drill",
            step: "drill-install",
        });
        this.registerOutputs({ scriptPath: this.scriptPath });
    }
}
