import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { backupMetricsFile, renderBackupJobScript } from "../host-scripts/backup-job";
import { renderCronFile, renderCronJobCheckScript, renderInstallCronJobScript, renderRemoveCronJobScript } from "../host-scripts/cron-job";
import { hostLayout } from "../host-scripts/layout";
import { HostFactProbe, ProbeTarget } from "../providers/host-fact-probe";
import { HOST_COMMAND_DEFAULTS, scriptOnStdin, scriptSha256 } from "./host";

export interface BackupJobArgs {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
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
        const metricsFile = backupMetricsFile(args.metricsDir, args.serviceName);
        const cron = renderCronFile({ what: "scheduled backup", serviceName: args.serviceName, schedule: args.schedule, user: args.user, ...paths, logFile });
        const script = renderBackupJobScript({
            serviceName: args.serviceName,
            appDir: args.appDir,
            command: args.command,
            keep: args.keep,
            timeoutSeconds: args.timeoutSeconds,
            metricsDir: args.metricsDir,
        });
        const probe = new HostFactProbe(
            `${name}-job-facts`,
            {
                connection: args.probe.connection,
                what: "backup job",
                script: renderCronJobCheckScript(paths),
                expect: { cron_file: scriptSha256(cron), script: scriptSha256(script) },
            },
            { parent: this, provider: args.probe.provider },
        );
        new command.remote.Command(
            `${name}-install`,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                ...scriptOnStdin("backup job", renderInstallCronJobScript({ ...paths, logFile, script, cron, step: "backup-install", what: "backup job" })),
                delete: renderRemoveCronJobScript({ ...paths, metricsFile }),
                // Where it writes is part of its identity: a new place replaces it, and the delete
                // removes what the old place held.
                triggers: [probe.generation, this.cronPath, this.scriptPath, metricsFile],
            },
            { parent: this, deleteBeforeReplace: true },
        );
        this.registerOutputs({ scriptPath: this.scriptPath, cronPath: this.cronPath });
    }
}
