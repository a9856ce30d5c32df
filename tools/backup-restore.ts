/**
 * `npm run backup:restore -- NAME [--stack NAME] [--host NAME]`: restores the backup NAME (a
 * file in `<appDir>/backups`) into the app's database on the host, as the runbook's steps:
 * maintenance on, a safety backup, the restore (one transaction), the check
 * (`restoreDrill.check`, else SELECT 1), maintenance off (host-scripts/backup-restore.ts).
 * A failure after maintenance began leaves it on and says what to do;
 * `npm run backup:restore -- --end-maintenance` then ends it. Exit 0 when restored (or ended),
 * 1 when it failed, 2 on bad arguments or configuration.
 */
import { renderBackupRestoreScript, renderEndRestoreMaintenanceScript } from "../host-scripts/backup-restore";
import { chosenHosts, hostLabel, runRunbook, RunbookError, runRunbookScript, stackConfig } from "./backup-runbook";

const TOOL = "backup:restore";
const USAGE = "usage: npm run backup:restore -- NAME --stack NAME [--host NAME] | --end-maintenance --stack NAME [--host NAME]";

async function main(): Promise<number> {
    const args = process.argv.slice(2);
    const { stack, config } = stackConfig(args, USAGE);
    const [target] = chosenHosts(config, args, USAGE, "one");
    const where = hostLabel(target);
    if (args.includes("--end-maintenance")) {
        if (config.maintenance.enabled) {
            throw new RunbookError(
                2,
                `stack ${stack} has maintenance on in its configuration: it ends with pulumi config set maintenance '{"enabled":false}' and pulumi up`,
            );
        }
        return (await runRunbookScript(TOOL, stack, config, target, renderEndRestoreMaintenanceScript(config.serviceName))) ? 0 : 1;
    }
    const valued = new Set(["--stack", "-s", "--host"]);
    const names = args.filter((a, i) => !a.startsWith("-") && !valued.has(args[i - 1]));
    if (names.length !== 1) throw new RunbookError(2, `name one backup (a file in ${config.appDir}/backups). ${USAGE}`);
    const name = names[0];
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith("."))
        throw new RunbookError(2, `${name} is not a backup's name (a file in ${config.appDir}/backups)`);
    if (config.backup === undefined)
        throw new RunbookError(2, `stack ${stack} has no backup command: the restore takes a safety backup first (pulumi config set backup ...)`);
    process.stdout.write(`${TOOL}: restoring ${name} on ${where}\n`);
    const script = renderBackupRestoreScript({
        serviceName: config.serviceName,
        appDir: config.appDir,
        backupName: name,
        backupCommand: config.backup,
        databaseUrlKey: config.restoreDrill?.databaseUrlKey ?? "DATABASE_URL",
        check: config.restoreDrill?.check ?? "SELECT 1",
        timeoutSeconds: config.hookTimeoutSeconds,
    });
    const restored = await runRunbookScript(TOOL, stack, config, target, script);
    process.stdout.write(`${TOOL}: ${restored ? `${name} restored on ${where}` : `the restore on ${where} failed (its lines above say why and what to do)`}\n`);
    return restored ? 0 : 1;
}

runRunbook(TOOL, main);
