import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { CronJobFiles, renderCronJobCheckScript, renderInstallCronJobScript, renderRemoveCronJobScript } from "../host-scripts/cron-job";
import { ShellText } from "../host-scripts/shell";
import { HostFactProbe, ProbeTarget } from "../providers/host-fact-probe";
import { HOST_COMMAND_DEFAULTS, scriptOnStdin, scriptSha256 } from "./host";

/** What every host job's component (DriftJob, BackupJob, RestoreDrill) is given: where it runs and when. */
export interface HostJobArgs {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** Where its fact probe runs. */
    readonly probe: ProbeTarget;
    /** Service name (cron file name, metric label). */
    readonly serviceName: string;
    /** The app directory (the job's script under bin/, its log under logs/). */
    readonly appDir: string;
    /** Cron schedule, e.g. "17 * * * *". */
    readonly schedule: string;
    /** User the cron job runs as (the SSH user: it reads the env file and has Docker access). */
    readonly user: string;
    /** Prometheus textfile collector directory. */
    readonly metricsDir: string;
}

/** What a host job (the drift job, the backup job) is on the host, and how it is named in messages. */
export interface CronJobDeclaration {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** Where its fact probe runs. */
    readonly probe: ProbeTarget;
    /** Its script, cron file and log. */
    readonly files: CronJobFiles;
    /** The cron file's text. */
    readonly cron: string;
    /** The script's text. */
    readonly script: pulumi.Input<string>;
    /** The metrics file it writes (its delete removes it). */
    readonly metricsFile: string;
    /** The job's name in messages and in the install's step name, e.g. "drift job". */
    readonly what: string;
    /** Prefix of an install failure, e.g. "drift-install". */
    readonly step: string;
    /** What the install runs once both files are in place. */
    readonly afterInstall?: ShellText;
    /** What must be on the host before the job's first run (the backup copy's key). */
    readonly dependsOn?: pulumi.Resource[];
}

/**
 * A host job's two resources, children of `parent`: its fact probe (`<name>-job-facts`: a
 * removed or edited cron file or script is drift) and its install (`<name>-install`: writes
 * both, re-applied when the probe found drift; its delete removes both and the metrics file).
 */
export function declareCronJob(parent: pulumi.ComponentResource, name: string, job: CronJobDeclaration): void {
    const paths = { scriptPath: job.files.scriptPath, cronPath: job.files.cronPath };
    const probe = new HostFactProbe(
        `${name}-job-facts`,
        {
            connection: job.probe.connection,
            what: job.what,
            script: renderCronJobCheckScript(paths),
            expect: pulumi.output(job.script).apply((s) => ({ cron_file: scriptSha256(job.cron), script: scriptSha256(s) })),
        },
        { parent, provider: job.probe.provider },
    );
    new command.remote.Command(
        `${name}-install`,
        {
            ...HOST_COMMAND_DEFAULTS,
            connection: job.connection,
            ...scriptOnStdin(
                job.what,
                pulumi
                    .output(job.script)
                    .apply((s) =>
                        renderInstallCronJobScript({ ...job.files, script: s, cron: job.cron, step: job.step, what: job.what, afterInstall: job.afterInstall }),
                    ),
            ),
            delete: renderRemoveCronJobScript({ ...paths, metricsFile: job.metricsFile }),
            // Where it writes is part of its identity: a new place (a serviceName rename, another
            // metricsDir) replaces it, and the delete removes what the old place held.
            triggers: [probe.generation, paths.cronPath, paths.scriptPath, job.metricsFile],
        },
        { parent, deleteBeforeReplace: true, dependsOn: job.dependsOn },
    );
}
