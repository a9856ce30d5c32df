import { renderInstallFileLine } from "./install-file";
import { raw, script, sh, ShellText } from "./shell";

/** The cron schedule and user forms the config schema admits (checked again where rendered). */
export const CRON_SCHEDULE = /^(?:@(?:hourly|daily|weekly|monthly)|(?:[0-9*/,-]+ ){4}[0-9*/,-]+)$/;
const UNIX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Where a host job lives: its script, its /etc/cron.d file and its log. */
export interface CronJobFiles {
    scriptPath: string;
    cronPath: string;
    logFile: string;
}

/** The /etc/cron.d entry that runs a job's script as `user`, its output appended to the log. `what` names the job (a fixed phrase). */
export function renderCronFile(a: { what: string; serviceName: string; schedule: string; user: string; scriptPath: string; logFile: string }): string {
    // Schedule and user are cron fields, not shell words: checked here, then taken as they are.
    if (!CRON_SCHEDULE.test(a.schedule)) throw new Error(`refusing cron schedule ${JSON.stringify(a.schedule)}`);
    if (!UNIX_USER.test(a.user)) throw new Error(`refusing cron user ${JSON.stringify(a.user)}`);
    return script(
        sh`# l9-deploy ${raw(a.what)} for ${a.serviceName}: managed by Pulumi, do not edit.`,
        sh`SHELL=/bin/sh`,
        sh`PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        sh`${raw(a.schedule)} ${raw(a.user)} ${a.scriptPath} >>${a.logFile} 2>&1`,
    );
}

/**
 * Installs a host job: the script (0700), then the cron file (0644), both base64-encoded;
 * then `afterInstall` (the drift job runs its check once, so the metric exists right after a
 * deploy). `step` prefixes a failure, `what` names the job (fixed phrases).
 */
export function renderInstallCronJobScript(a: CronJobFiles & { step: string; what: string; script: string; cron: string; afterInstall?: ShellText }): string {
    return script(
        sh`set -eu`,
        sh`fail() { printf ${`${a.step} failed: %s\\n`} "$*" >&2; exit 1; }`,
        sh`mkdir -p "$(dirname ${a.scriptPath})" "$(dirname ${a.logFile})" "$(dirname ${a.cronPath})" || fail "cannot create the ${raw(a.what)}'s directories"`,
        renderInstallFileLine(a.scriptPath, a.script, 700),
        renderInstallFileLine(a.cronPath, a.cron, 644),
        a.afterInstall ?? false,
    );
}

/** Read-only facts about an installed job, for its probe: sha256 of the cron file and the script. */
export function renderCronJobCheckScript(a: { cronPath: string; scriptPath: string }): string {
    const fileSha = (path: string) => sh`$(sha256sum ${path} 2>/dev/null | cut -d' ' -f1 || true)`;
    return script(sh`printf 'cron_file=%s\\nscript=%s\\n' "${fileSha(a.cronPath)}" "${fileSha(a.scriptPath)}" | sed 's/=$/=missing/'`);
}

/** Removes a job and the metrics it wrote (the delete of what renderInstallCronJobScript creates). */
export function renderRemoveCronJobScript(a: { cronPath: string; scriptPath: string; metricsFile: string }): string {
    return script(sh`rm -f ${a.cronPath} ${a.scriptPath} ${a.metricsFile}`);
}
