import { lines, sh, ShellText } from "./shell";

/**
 * The PostgreSQL steps the restore drill and the restore share, for a script that has `$out`
 * (a scratch file) and `$f` (the backup). The database URL is the env file's value, taken
 * literally as the app gets it.
 */

/** `url=` the value of `key` in the env file (empty when unset). */
export function renderReadDatabaseUrlLine(envFile: string, key: string): ShellText {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) throw new Error(`refusing env key ${JSON.stringify(key)}`);
    return sh`url=$(sed -n ${`s/^${key}=//p`} ${envFile} | head -n 1)`;
}

/** psql as every step runs it: no ~/.psqlrc, quiet, stopping at the first error. */
export const PSQL = sh`psql -X -q -v ON_ERROR_STOP=1`;

/**
 * Restores "$f" into the database `urlVar` names (a shell variable, e.g. "$url"): a backup in
 * pg_dump's custom format (it starts with PGDMP) by pg_restore, any other by psql as SQL, both
 * stopping at the first error, bounded by `bound` seconds. `replace`: objects in the backup are
 * dropped first and the whole restore is one transaction (a failure leaves the database as it
 * was); otherwise the target is a new, empty database. Sets `how` and `rc`; output in "$out".
 */
export function renderRestoreLines(urlVar: ShellText, bound: number, replace: boolean): ShellText {
    const pgRestore = replace
        ? sh`pg_restore --clean --if-exists --single-transaction --no-owner --no-privileges --exit-on-error`
        : sh`pg_restore --no-owner --no-privileges --exit-on-error`;
    const psql = replace ? sh`${PSQL} --single-transaction` : PSQL;
    return lines(
        sh`if [ "$(head -c 5 "$f")" = PGDMP ]; then how="pg_restore"; else how="psql (SQL)"; fi`,
        // `|| rc=$?`: a failure is this step's to report, in a script with `set -e` too.
        sh`rc=0`,
        sh`if [ "$how" = pg_restore ]; then`,
        sh`  timeout -k 10 ${bound} ${pgRestore} -d ${urlVar} "$f" >"$out" 2>&1 || rc=$?`,
        sh`else`,
        sh`  timeout -k 10 ${bound} ${psql} -d ${urlVar} -f "$f" >"$out" 2>&1 || rc=$?`,
        sh`fi`,
    );
}

/**
 * Runs `check` on the database `urlVar` names: `check_ok` is yes when it ran and its first
 * value (`first`) is not empty, f, false or 0; otherwise `check_why` says how it failed (its
 * error in "$out").
 */
export function renderCheckLines(urlVar: ShellText, bound: number, check: string): ShellText {
    return lines(
        sh`check_ok=no; first=; check_why="it failed:"`,
        sh`if result=$(timeout -k 10 ${bound} ${PSQL} -tA -d ${urlVar} -c ${check} 2>"$out"); then`,
        sh`  first=$(printf '%s\\n' "$result" | head -n 1 | cut -d'|' -f1)`,
        sh`  check_why="it returned '$first' (it passes with a first value other than empty, f, false or 0)"`,
        sh`  case "$first" in "" | f | false | 0) ;; *) check_ok=yes ;; esac`,
        sh`fi`,
    );
}
