import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import { backupCopyFiles, BackupCopyTarget, renderRemoveBackupCopyKeyScript, renderWriteBackupCopyKeyScript } from "../host-scripts/backup-copy";
import { backupMetricsFile, renderBackupJobScript } from "../host-scripts/backup-job";
import { renderCronFile } from "../host-scripts/cron-job";
import { hostLayout } from "../host-scripts/layout";
import { renderSecretFileFactsScript } from "../host-scripts/env-file";
import { HostFactProbe } from "../providers/host-fact-probe";
import { declareCronJob, HostJobArgs } from "./cron-job";
import { HOST_COMMAND_DEFAULTS } from "./host";

export interface BackupJobArgs extends HostJobArgs {
    /** The backup command (config `backup`). */
    readonly command: string;
    /** Backups kept (config `backupsToKeep`). */
    readonly keep: number;
    /** Seconds one backup may run (config `hookTimeoutSeconds`). */
    readonly timeoutSeconds: number;
    /** Where each backup is copied off the host (config `backupCopyTo`), if anywhere. */
    readonly copyTo?: BackupCopyTarget;
    /** The private key the copies log in to the target with (config `backupCopyKey`, secret); required with copyTo. */
    readonly copyKey?: pulumi.Input<string>;
}

/** The key file's text: OpenSSH wants it to end with a newline. */
function keyFileText(key: string): string {
    return key.endsWith("\n") ? key : `${key}\n`;
}

/**
 * Scheduled backups, independent of releases: the backup script and its /etc/cron.d entry
 * (config `backupSchedule`). Its probe notices a removed or edited cron file or script; its
 * delete removes both and the metrics it wrote, never a backup. With `copyTo`, the copy's key
 * too (`<name>-copy-key`, written from secret config through stdin, mode 0600, its probe
 * noticing a removed or changed key): a new target replaces it, which forgets what was
 * copied, so the new target gets every backup.
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
            copyTo: args.copyTo,
        });
        const copyKey = args.copyTo && this.declareCopyKey(name, args, args.copyTo);
        declareCronJob(this, name, {
            connection: args.connection,
            probe: args.probe,
            files: { ...paths, logFile },
            cron,
            script,
            metricsFile: backupMetricsFile(args.metricsDir, args.serviceName),
            what: "backup job",
            step: "backup-install",
            // The first run after the install finds the key in place.
            dependsOn: copyKey ? [copyKey] : [],
        });
        this.registerOutputs({ scriptPath: this.scriptPath, cronPath: this.cronPath });
    }

    private declareCopyKey(name: string, args: BackupJobArgs, target: BackupCopyTarget): command.remote.Command {
        if (args.copyKey === undefined) throw new Error("BackupJob: copyTo needs copyKey (config backupCopyKey)");
        const text = pulumi.secret(pulumi.output(args.copyKey).apply(keyFileText));
        const probe = new HostFactProbe(
            `${name}-copy-key-facts`,
            {
                connection: args.probe.connection,
                what: "backup copy key",
                script: renderSecretFileFactsScript(backupCopyFiles(args.appDir).key),
                expect: pulumi.secret(text.apply((t) => ({ sha256: crypto.createHash("sha256").update(t).digest("hex"), mode: "600" }))),
            },
            { parent: this, provider: args.probe.provider, additionalSecretOutputs: ["expect", "declared", "observed"] },
        );
        return new command.remote.Command(
            `${name}-copy-key`,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                create: renderWriteBackupCopyKeyScript(args.appDir),
                stdin: text,
                delete: renderRemoveBackupCopyKeyScript(args.appDir),
                triggers: [probe.generation, JSON.stringify(target)],
            },
            { parent: this, deleteBeforeReplace: true, additionalSecretOutputs: ["stdout"] },
        );
    }
}
