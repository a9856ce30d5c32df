import * as pulumi from "@pulumi/pulumi";
import { backupMetricsFile, renderBackupJobScript } from "../host-scripts/backup-job";
import { renderCronFile } from "../host-scripts/cron-job";
import { hostLayout } from "../host-scripts/layout";
import { ProbeTarget } from "../providers/host-fact-probe";
import { CronJobDeclaration, declareCronJob } from "./cron-job";

export interface BackupJobArgs {
    /** Connection to the host. */
    readonly connection: CronJobDeclaration["connection"];
    /** Where its fact probe runs. */
    readonly probe: ProbeTarget;
    /** Service name (cron file name, metric label). */
    readonly serviceName: string;
    /** The app directory (script under bin/, log under logs/, backups). */
    readonly appDir: string;
    /** Cron schedule (config `backupSchedule`), e.g. "30 2 * * *". */
    readonly schedule: string;
    /** User the cron job runs as (the SSH user: it reads the env file). */
    readonly user: string;
    /** The backup command (config `backup`). */
    readonly command: string;
    /** Backups kept (config `backupsToKeep`). */
    readonly keep: number;
    /** Seconds one backup may run (config `hookTimeoutSeconds`). */
    readonly timeoutSeconds: number;
    /** Prometheus textfile collector directory. */
    readonly metricsDir: string;
}

/**
 * Scheduled backups, independent of releases: the backup script and its /etc/cron.d entry
 * (config `backupSchedule`). Its probe notices a removed or edited cron file or script; its
 * delete removes both and the metrics it wrote, never a backup.
 */
export class BackupJob extends pulumi.ComponentResource {
    /** Path of the backup script on the host (what cron runs; run it by hand for a backup now). */
    readonly scriptPath: string;
    /** Path of the cron file. */
    readonly cronPath: string;

    constructor(name: string, args: BackupJobArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:BackupJob", name, {}, opts);
        const layout = hostLayout(args.appDir);
        this.scriptPath = `${layout.binDir}/backup`;
        this.cronPath = `/etc/cron.d/${args.serviceName}-backup`;
        const paths = { scriptPath: this.scriptPath, cronPath: this.cronPath };
        const logFile = `${layout.logDir}/backup.log`;
        const cron = renderCronFile({ what: "scheduled backup", serviceName: args.serviceName, schedule: args.schedule, user: args.user, ...paths, logFile });
        const script = renderBackupJobScript({
            serviceName: args.serviceName,
            appDir: args.appDir,
            command: args.command,
            keep: args.keep,
            timeoutSeconds: args.timeoutSeconds,
            metricsDir: args.metricsDir,
        });
        declareCronJob(this, name, {
            connection: args.connection,
            probe: args.probe,
            files: { ...paths, logFile },
            cron,
            script,
            metricsFile: backupMetricsFile(args.metricsDir, args.serviceName),
            what: "backup job",
            step: "backup-install",
        });
        this.registerOutputs({ scriptPath: this.scriptPath, cronPath: this.cronPath });
    }
}
