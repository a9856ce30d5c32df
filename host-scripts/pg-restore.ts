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
 * What a restore that replaces the live data runs first, in the restore's transaction: objects
 * created after the backup go too (with what depends on them), so the backup's data is all
 * there is; a lock held by an open transaction of the app fails the restore after a minute
 * instead of hanging it.
 */
const REPLACE_PUBLIC_SCHEMA = "SET lock_timeout = '60s'; DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;";

/**
 * Restores "$f" into the database `urlVar` names (a shell variable, e.g. "$url"), for a script
 * that has `$dir` (the backups) and `$out`: one way for the drill and the restore, so a drill
 * that passes means the restore can. A backup in pg_dump's custom format (it starts with PGDMP)
 * is first turned into SQL by pg_restore (whole, or the restore stops: a truncated dump never
 * reaches the database), in `$sql` (a dot file beside the backups; the caller removes it); any
 * other backup is SQL already. psql runs it as one transaction, stopping at the first error:
 * a failure leaves the database as it was. `replace`: the public schema is dropped and created
 * again first (REPLACE_PUBLIC_SCHEMA); otherwise the target is a new, empty database. Sets `how`
 * and `rc`; output in "$out".
 */
export function renderRestoreLines(urlVar: ShellText, bound: number, replace: boolean): ShellText {
    const first = replace ? sh` -c ${REPLACE_PUBLIC_SCHEMA}` : sh``;
    return lines(
        // `|| rc=$?`: a failure is this step's to report, in a script with `set -e` too.
        sh`rc=0`,
        sh`if [ "$(head -c 5 "$f")" = PGDMP ]; then`,
        sh`  how="pg_restore, then psql"; sql="$dir/.restore-$$.sql"`,
        sh`  timeout -k 10 ${bound} pg_restore --no-owner --no-privileges -f "$sql" "$f" >"$out" 2>&1 || rc=$?`,
        sh`else`,
        sh`  how="psql (SQL)"; sql="$f"`,
        sh`fi`,
        sh`if [ "$rc" -eq 0 ]; then`,
        sh`  timeout -k 10 ${bound} ${PSQL} --single-transaction -d ${urlVar}${first} -f "$sql" >"$out" 2>&1 || rc=$?`,
        sh`fi`,
        sh`[ "$sql" = "$f" ] || rm -f "$sql" || say "cannot remove $sql"`,
    );
}

/** Quotes "$out" into the log, every line indented, a URL's credentials (`//user:password@`) masked. */
export const QUOTE_OUTPUT = sh`sed -e 's#//[^/@[:space:]]*@#//***@#g' -e 's/^/  | /' "$out"`;

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
