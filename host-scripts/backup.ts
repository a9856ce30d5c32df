import { raw, sh, ShellText } from "./shell";

/**
 * The backup command run once, as the release hooks and the scheduled backup job run it:
 * the env file's lines become its environment (each taken literally), `timeout` signals its
 * whole process group after `bound` seconds and kills it 10 s later; its stdout goes to
 * "$file.partial", its stderr to "$out". As a condition: true when it exited 0 and wrote
 * something (an empty backup is a failed one: a pipe hides its first command's failure).
 */
export function renderBackupRunCondition(envFile: string, bound: number, command: string): ShellText {
    if (!Number.isSafeInteger(bound) || bound < 1) throw new Error(`a backup's time bound must be a positive integer, got ${bound}`);
    const exportEnv = sh`while IFS= read -r kv; do case "$kv" in [A-Z_]*=*) export "$kv" ;; esac; done <${envFile}`;
    const wroteSomething = sh`[ -s "$file.partial" ] || { echo "the backup command wrote nothing" >>"$out"; false; }`;
    return sh`( ${exportEnv}; exec timeout -k 10 ${bound} sh -c ${command} ) >"$file.partial" 2>"$out" && { ${wroteSomething}; }`;
}

/** What a scheduled backup's file name ends with (`<UTC time>-scheduled`); a release's ends with its tag. */
export const SCHEDULED_BACKUP_SUFFIX = "-scheduled";

/** What a restore's safety backup's file name ends with (`<UTC time>-before-restore`; host-scripts/backup-restore.ts). */
export const SAFETY_SUFFIX = "-before-restore";

/**
 * Rotation of one kind of backup: the newest `keep` by name (UTC time first) stay; `say` names
 * each one removed, and each one that could not be. The kinds rotate apart, so that hourly
 * scheduled backups never push out the backup a release took before its migration (the one a
 * restore of that release needs).
 */
export function renderBackupRotationLine(backupsDir: string, keep: number, kind: "release" | "scheduled"): ShellText {
    const scheduled = `${SCHEDULED_BACKUP_SUFFIX}$`;
    // A restore's safety backups (`-before-restore`) are in neither kind: no rotation removes them.
    const select = kind === "scheduled" ? sh`grep -e ${scheduled}` : sh`grep -v -e '\\.partial$' -e ${scheduled} -e ${`${SAFETY_SUFFIX}$`}`;
    // A file that stays is said, not failed: the backup taken just before is what matters.
    const remove = sh`while read -r old; do if rm -f ${backupsDir}/"$old"; then say "backup: removed $old"; else say "backup: could not remove $old"; fi; done`;
    return sh`ls -1 ${backupsDir} | ${select} | sort -r | tail -n +${keep + 1} | ${remove}`;
}

/**
 * 124: `timeout` stopped it; 137: it was killed, by `timeout` 10 s after the bound (or by something else before, an ordinary failure).
 * `startedVar` is the shell variable holding when it started (`$(date +%s)`, set just before it ran).
 */
export function renderBackupTimedOutTest(bound: number, startedVar: "backup_started" | "copy_started" = "backup_started"): ShellText {
    return sh`[ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ $(( $(date +%s) - ${raw(startedVar)} )) -ge ${bound} ]; }`;
}
