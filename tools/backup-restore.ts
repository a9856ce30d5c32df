/**
 * `npm run backup:restore -- NAME [--stack NAME]`: restores the backup NAME (a file in
 * `<appDir>/backups`) into the app's database on the stack's host, as the runbook's steps:
 * maintenance on, a safety backup, the restore (one transaction), the check
 * (`restoreDrill.check`, else SELECT 1), maintenance off (host-scripts/backup-restore.ts).
 * A failure after maintenance began leaves it on and says what to do;
 * `npm run backup:restore -- --end-maintenance` then ends it. Single-host stacks only: with
 * several hosts, maintenance on one would not stop the others' writes. Exit 0 when restored (or
 * ended), 1 when it failed, 2 on bad arguments or configuration.
 */
import { databaseUrlProblem, isMultiHost } from "../config/schema";
import { renderBackupRestoreScript, renderEndRestoreMaintenanceScript } from "../host-scripts/backup-restore";
import { hostLayout } from "../host-scripts/layout";
import { stepLockWaitSeconds } from "../host-scripts/step-lock";
import { chosenHosts, hostLabel, runRunbook, RunbookError, runRunbookScript, stackConfig } from "./backup-runbook";

const TOOL = "backup:restore";
const USAGE = "usage: npm run backup:restore -- NAME --stack NAME | --end-maintenance --stack NAME";

async function main(): Promise<number> {
    const args = process.argv.slice(2);
    const { stack, config } = stackConfig(args, USAGE);
    if (isMultiHost(config)) {
        throw new RunbookError(
            2,
            `stack ${stack} has several hosts: backup:restore puts one host in maintenance, and the others would keep writing to the database. ` +
                "Restoring a multi-host stack is not built yet: restore by hand with every host in maintenance (README, Restoring a backup)",
        );
    }
    const [target] = chosenHosts(config, args, USAGE);
    const where = hostLabel(target);
    const log = `${hostLayout(config.appDir).logDir}/backup-restore.log`;
    if (args.includes("--end-maintenance")) {
        if (config.maintenance.enabled) {
            throw new RunbookError(
                2,
                `stack ${stack} has maintenance on in its configuration: it ends with pulumi config set maintenance '{"enabled":false}' and pulumi up`,
            );
        }
        const ended = await runRunbookScript(TOOL, stack, config, target, renderEndRestoreMaintenanceScript(config.serviceName), "run it again");
        return ended ? 0 : 1;
    }
    const valued = new Set(["--stack", "-s", "--host"]);
    const names = args.filter((a, i) => !a.startsWith("-") && !valued.has(args[i - 1]));
    if (names.length !== 1) throw new RunbookError(2, `name one backup (a file in ${config.appDir}/backups). ${USAGE}`);
    const name = names[0];
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith("."))
        throw new RunbookError(2, `${name} is not a backup's name (a file in ${config.appDir}/backups)`);
    if (config.backup === undefined)
        throw new RunbookError(2, `stack ${stack} has no backup command: the restore takes a safety backup first (pulumi config set backup ...)`);
    const databaseUrlKey = config.restoreDrill?.databaseUrlKey ?? "DATABASE_URL";
    const problem = databaseUrlProblem(databaseUrlKey, config.env[databaseUrlKey]);
    if (problem) throw new RunbookError(2, `l9-deploy:env ${problem}`);
    process.stdout.write(`${TOOL}: restoring ${name} on ${where}\n`);
    const script = renderBackupRestoreScript({
        serviceName: config.serviceName,
        appDir: config.appDir,
        backupName: name,
        backupCommand: config.backup,
        databaseUrlKey,
        check: config.restoreDrill?.check ?? "SELECT 1",
        timeoutSeconds: config.hookTimeoutSeconds,
        maintenanceConfigured: config.maintenance.enabled,
        logFile: log,
        stepLockWaitSeconds: stepLockWaitSeconds(config),
    });
    const lost = `the restore goes on on the host (a lost session does not stop it): its lines are in ${log}; maintenance ends when it succeeds`;
    const restored = await runRunbookScript(TOOL, stack, config, target, script, lost);
    process.stdout.write(`${TOOL}: ${restored ? `${name} restored on ${where}` : `the restore on ${where} failed (its lines above say why and what to do)`}\n`);
    return restored ? 0 : 1;
}

runRunbook(TOOL, main);
