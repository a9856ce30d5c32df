import { renderBackupRunCondition, renderBackupTimedOutTest, SAFETY_SUFFIX } from "./backup";
import { renderSetMarkerLine } from "./caddy";
import { caddyMarkerDir, hostLayout } from "./layout";
import { QUOTE_OUTPUT, renderCheckLines, renderReadDatabaseUrlLine, renderRestoreLines } from "./pg-restore";
import { maintenanceMarkerFile } from "./routing";
import { lines, prologue, script, sh } from "./shell";
import { renderStepLockLines, STEP_LOCK_FUNCTION } from "./step-lock";

export interface BackupRestoreScriptArgs {
    /** Service name (the maintenance marker's name). */
    serviceName: string;
    /** The app directory: env file, backups. */
    appDir: string;
    /** The backup to restore: a file name in `<appDir>/backups` (letters, digits, '.', '_', '-'). */
    backupName: string;
    /** The backup command (config `backup`): the safety backup taken before the restore. */
    backupCommand: string;
    /** The env key of the app's database URL (config `restoreDrill.databaseUrlKey`, else DATABASE_URL). */
    databaseUrlKey: string;
    /** SQL whose first value must be true once restored (config `restoreDrill.check`, else SELECT 1). */
    check: string;
    /** How long the safety backup, the restore and the check may each run (config `hookTimeoutSeconds`). */
    timeoutSeconds: number;
    /** Whether the stack's own `maintenance` setting is on: then the restore leaves maintenance on. */
    maintenanceConfigured: boolean;
    /** The restore's log on the host: every line goes there too (a lost session does not stop it). */
    logFile: string;
    /** How long to wait for a release step of the service that holds the step lock (stepLockWaitSeconds). */
    stepLockWaitSeconds: number;
}

/**
 * `npm run backup:restore -- NAME` on the host, one step after the other, each failure
 * stopping it with what to do. It holds the service's step lock (no release step runs meanwhile,
 * and no other restore), and ignores a lost session (its lines also go to `logFile`). The API
 * goes into maintenance (Caddy's maintenance marker: every request outside the allowed paths gets
 * the configured 503), a safety backup of the live database is taken with the `backup` command
 * (`<UTC time>-before-restore`, which no rotation removes), the backup NAME replaces the
 * database's public schema in one transaction (renderRestoreLines: a failure leaves the database
 * as it was), the check runs, and maintenance ends, unless the stack's `maintenance` setting has
 * it on. On any failure after maintenance began, it stays on: the message says so and names the
 * ways out (`npm run backup:restore -- --end-maintenance`, or another backup).
 */
export function renderBackupRestoreScript(a: BackupRestoreScriptArgs): string {
    if (!/^[A-Za-z0-9._-]+$/.test(a.backupName) || a.backupName.startsWith(".")) throw new Error(`refusing backup name ${JSON.stringify(a.backupName)}`);
    const l = hostLayout(a.appDir);
    const marker = maintenanceMarkerFile(caddyMarkerDir(a.serviceName), a.serviceName);
    const bound = a.timeoutSeconds;
    const stays =
        "The API stays in maintenance (503). Once the database is right: npm run backup:restore -- --end-maintenance. " +
        `Or restore another backup: npm run backup:restore -- NAME (ls ${l.backups})`;
    const line = sh`printf '%s [%s] %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$L9_STEP" "$*"`;
    return script(
        prologue("backup restore"),
        // Every line to the log and, while the session lasts, to the caller; a lost session neither stops the restore nor fails a write.
        sh`trap '' HUP PIPE`,
        sh`mkdir -p ${l.logDir} || fail ${`cannot create ${l.logDir}`}`,
        sh`say() { ${line} >>${a.logFile} || true; ${line} >&2 || true; }`,
        sh`fail() { say "failed: $*"; exit 1; }`,
        STEP_LOCK_FUNCTION,
        renderStepLockLines(a.appDir, a.stepLockWaitSeconds),
        sh`dir=${l.backups}; f=${`${l.backups}/${a.backupName}`}; sql=`,
        sh`[ -f "$f" ] || fail "there is no backup $f (the backups: $(ls -1 "$dir" 2>/dev/null | grep -v '\\.partial$' | tr '\\n' ' '))"`,
        sh`[ -s "$f" ] || fail "$f is empty: it cannot be restored"`,
        renderReadDatabaseUrlLine(l.envFile, a.databaseUrlKey),
        sh`[ -n "$url" ] || fail ${`${l.envFile} has no ${a.databaseUrlKey}: there is no database to restore into`}`,
        sh`out=$(mktemp) || fail "cannot create a temporary file"`,
        sh`trap 'rm -f "$out"; [ -z "$sql" ] || [ "$sql" = "$f" ] || rm -f "$sql"' EXIT`,
        sh`stuck() { say "$*"; ${QUOTE_OUTPUT} | while IFS= read -r l; do say "$l"; done; fail ${stays}; }`,
        renderSetMarkerLine(marker),
        sh`say "maintenance on: requests outside the allowed paths get 503"`,
        sh`file="$dir/$(date -u +%Y%m%dT%H%M%SZ)"${SAFETY_SUFFIX}`,
        sh`backup_started=$(date +%s)`,
        sh`if ${renderBackupRunCondition(l.envFile, bound, a.backupCommand)}; then`,
        sh`  mv -f "$file.partial" "$file" || stuck "cannot rename $file.partial; nothing was restored"`,
        sh`  say "safety backup: $file ($(wc -c <"$file") bytes)"`,
        sh`else`,
        sh`  rc=$?; rm -f "$file.partial"`,
        sh`  if ${renderBackupTimedOutTest(bound)}; then why=${`did not finish within hookTimeoutSeconds=${bound} s`}; else why="exit $rc"; fi`,
        sh`  stuck "the safety backup failed ($why); nothing was restored:"`,
        sh`fi`,
        sh`say "restoring $f"`,
        renderRestoreLines(sh`"$url"`, bound, true),
        sh`[ "$rc" -eq 0 ] || stuck "$f did not restore ($how, exit $rc); the database is as it was (one transaction):"`,
        renderCheckLines(sh`"$url"`, bound, a.check),
        sh`[ "$check_ok" = yes ] || stuck "restored $f, but restoreCheck fails on it: $check_why"`,
        sh`say "restored $f ($how); restoreCheck returned $first"`,
        a.maintenanceConfigured
            ? sh`say "maintenance stays on: the stack's maintenance setting has it on"`
            : lines(sh`rm -f ${marker} || fail ${`cannot remove ${marker}: the API stays in maintenance`}`, sh`say "maintenance off: traffic is served"`),
        sh`echo restored`,
    );
}

/** `npm run backup:restore -- --end-maintenance`: ends the maintenance a failed restore left on. */
export function renderEndRestoreMaintenanceScript(serviceName: string): string {
    const marker = maintenanceMarkerFile(caddyMarkerDir(serviceName), serviceName);
    return script(
        prologue("backup restore"),
        sh`if [ ! -e ${marker} ]; then say "maintenance is not on"; echo off; exit 0; fi`,
        sh`rm -f ${marker} || fail ${`cannot remove ${marker}`}`,
        sh`say "maintenance off: traffic is served"`,
        sh`echo off`,
    );
}
