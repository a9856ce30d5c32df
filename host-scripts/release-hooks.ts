import { hostLayout } from "./layout";
import { containerIsNew } from "./attempt";
import { NotifyContext, renderNotifyLines } from "./notify";
import { joinedWord, lines, raw, renderRecordedTimeCommand, script, sh, ShellText, stripControlChars, variable, words } from "./shell";
import { renderStepPrologue } from "./step-library";
import { renderStepLockLines } from "./step-lock";
import { renderBackupRotationLine, renderBackupRunCondition, renderBackupTimedOutTest } from "./backup";

export interface BackupHookArgs {
    /** Shell command run on the host with the release env; its stdout is the backup. */
    command: string;
    /** How many backups to keep (newest first). */
    keep: number;
    /** Whether a failed backup stops the release (otherwise it only warns). */
    required: boolean;
}

export interface MigrateHookArgs {
    /** Arguments after the image, as in `docker run --rm IMAGE <args>` (the image's entrypoint applies). */
    args: string[];
    /** The new release's image id. */
    imageId: string;
    /** Network of the release's containers. */
    networkMode: "host" | "bridge";
    /** The slot container about to take traffic: migrations run only when it is new in this attempt. */
    containerName: string;
}

export interface SchemaGuardArgs {
    /** schemaRevisionCommand: arguments after the image that print the database's schema revision (the first word of their last line). */
    revisionArgs: string[];
    /** rollbackCheck: arguments after the image that exit 0 when that release runs on the database's schema. */
    rollbackCheckArgs?: string[];
    /** allowSchemaRollback: a switch back to a release of another revision goes ahead unchecked (with a warning). */
    allowRollback: boolean;
    /** The new release's image id (its revision is read with it). */
    imageId: string;
    /** Network of the release's containers. */
    networkMode: "host" | "bridge";
    /** The slot container about to take traffic. */
    containerName: string;
    /** The slot container serving now (absent on a first deploy). */
    liveContainerName?: string;
}

export interface ReleaseHooksScriptArgs {
    /** The app directory (env file, backups). */
    appDir: string;
    /** Service name (the one-off container's name). */
    serviceName: string;
    /** The release tag (backup file names, messages). */
    tag: string;
    /** The backup hook, if configured. */
    backup?: BackupHookArgs;
    /** The migrate hook, if configured. */
    migrate?: MigrateHookArgs;
    /** The schema guard (schemaRevisionCommand), if configured. */
    schema?: SchemaGuardArgs;
    /** Who is told when a hook fails, and where that failed deploy is recorded (metricsDir). */
    notify: NotifyContext;
    /** How many log lines to quote when a hook fails. */
    logLinesOnFailure?: number;
    /**
     * How long each hook may run, in seconds (hookTimeoutSeconds): a backup or migration still
     * running then is stopped and counts as failed. Any positive integer here; the config bounds it.
     */
    hookTimeoutSeconds: number;
    /** How long to wait for a release step of this service that still runs (an interrupted update's). */
    stepLockWaitSeconds: number;
}

/**
 * Where the revision a slot's release left is kept: `<revision> <container id>`, so a record
 * outlives no container (a slot re-created without the guard reads as unrecorded).
 */
export function schemaRecordPath(appDir: string, containerName: string): string {
    return `${hostLayout(appDir).stateDir}/schema-revision.${containerName}`;
}

/** The revision a one-off container printed last, checked: a word, not a message. */
function renderReadRevisionLines(name: string, indent: string): ShellText {
    const notOne = "printed no revision: the first word of its last line must be one (letters, digits, . _ : + -)";
    return lines(
        sh`${raw(indent)}${raw(name)}=$(cat "$out.word")`,
        sh`${raw(indent)}case ${variable(name)} in ''|*[!A-Za-z0-9._:+-]*) hook_fail schema-revision ${notOne} "$out";; esac`,
    );
}

/**
 * The schema guard. A new release records the revision the database is at once it migrated
 * (schemaRevisionCommand in its image). A return to the standby compares the revision the
 * standby was released at with the database's now (read with the serving release's image,
 * which knows it): when they differ, traffic moves only if allowSchemaRollback is set or
 * rollbackCheck, run in the standby's image with the release env, exits 0.
 */
function renderSchemaGuardLines(a: ReleaseHooksScriptArgs, g: SchemaGuardArgs, container: string, isNew: ShellText): ShellText {
    const record = schemaRecordPath(a.appDir, g.containerName);
    const cmd = g.revisionArgs.join(" ");
    const unrecorded = "recorded no schema revision (released before schemaRevisionCommand was set): this switch-back is not checked";
    const noImage = (container: string) => `cannot read the image of ${container}`;
    const live = variable("live_revision");
    const standby = variable("standby_revision");
    const revisions = [`the database is at schema revision `, live, `; ${a.tag} (${g.containerName}) was released at revision `, standby] as const;
    const refusal = (...why: (string | ShellText)[]) =>
        joinedWord(
            "refused: ",
            ...revisions,
            ...why,
            ". Ways forward: deploy a release that runs on revision ",
            live,
            ` (a new tag); or set rollbackCheck so ${a.tag} can say it runs on this schema; ` +
                `or, if you know it does, pulumi config set allowSchemaRollback true for this one update (then pulumi config rm allowSchemaRollback); ` +
                `or restore the backup taken before the release that migrated (npm run backup:restore -- NAME: data written since is lost). ` +
                `README: "A refused rollback"`,
        );
    const liveChecks = (): ShellText => {
        if (g.allowRollback) {
            const warning = joinedWord(
                "warning: schema: ",
                ...revisions,
                ". allowSchemaRollback=true: it takes traffic unchecked. Remove the setting after this update: pulumi config rm allowSchemaRollback",
            );
            return lines(sh`    else`, sh`      printf '%s\\n' ${warning} >&2`);
        }
        if (!g.rollbackCheckArgs) return lines(sh`    else`, sh`      : >"$out"`, sh`      hook_fail schema ${refusal()} "$out"`);
        const running = `: running rollbackCheck (${g.rollbackCheckArgs.join(" ")}) in a one-off container of ${a.tag}`;
        return lines(
            sh`    else`,
            sh`      say ${joinedWord("schema: ", ...revisions, running)}`,
            sh`      standby_image=$(docker inspect -f '{{.Image}}' ${g.containerName} 2>"$out") || hook_fail schema ${noImage(g.containerName)} "$out"`,
            sh`      one_off rollback-check ${container} "$standby_image" ${words(g.rollbackCheckArgs)}`,
            sh`      if [ "$one_off_exit" != 0 ]; then hook_fail schema ${refusal(", and rollbackCheck exited ", variable("one_off_exit"))} "$out"; fi`,
            sh`      ${stripControlChars()} <"$out" | sed 's/^/  | /' >&2`,
            sh`      say ${joinedWord(`schema: rollbackCheck passed: ${a.tag} runs on revision `, live)}`,
        );
    };
    return lines(
        sh`container_id=$(docker inspect -f '{{.Id}}' ${g.containerName} 2>"$out") || hook_fail schema ${`cannot read the id of ${g.containerName}`} "$out"`,
        sh`if ${isNew}; then`,
        sh`  say ${`schema: reading the revision ${a.tag} left the database at (${cmd}, at most ${a.hookTimeoutSeconds} s)`}`,
        sh`  one_off schema-revision ${container} ${g.imageId} ${words(g.revisionArgs)}`,
        sh`  if [ "$one_off_exit" != 0 ]; then hook_fail schema-revision "failed (exit $one_off_exit)" "$out"; fi`,
        renderReadRevisionLines("revision", "  "),
        sh`  printf '%s %s\\n' "$revision" "$container_id" >${record}.tmp || fail ${`cannot write ${record}.tmp`}`,
        sh`  mv -f ${record}.tmp ${record} || fail ${`cannot write ${record}`}`,
        sh`  say ${joinedWord(`schema: ${a.tag} left the database at revision `, variable("revision"))}`,
        sh`else`,
        sh`  recorded=$(cat ${record} 2>/dev/null || true)`,
        sh`  standby_revision=\${recorded%% *}`,
        sh`  if [ -z "$recorded" ] || [ "\${recorded#* }" != "$container_id" ]; then`,
        sh`    printf 'warning: schema: %s %s\\n' ${a.tag} ${unrecorded} >&2`,
        !!g.liveContainerName &&
            lines(
                sh`  else`,
                sh`    live_image=$(docker inspect -f '{{.Image}}' ${g.liveContainerName} 2>"$out") || hook_fail schema ${noImage(g.liveContainerName)} "$out"`,
                sh`    say ${`schema: reading the database's revision with the serving release's image (${cmd})`}`,
                sh`    one_off schema-revision ${container} "$live_image" ${words(g.revisionArgs)}`,
                sh`    if [ "$one_off_exit" != 0 ]; then hook_fail schema-revision "failed in the serving release's image (exit $one_off_exit)" "$out"; fi`,
                renderReadRevisionLines("live_revision", "    "),
                sh`    if [ "$live_revision" = "$standby_revision" ]; then`,
                sh`      say ${joinedWord("schema: the database is at revision ", live, `, the one ${a.tag} was released at: the switch-back goes ahead`)}`,
                liveChecks(),
                sh`    fi`,
            ),
        sh`  fi`,
        sh`fi`,
    );
}

/**
 * The release hooks, after the gate's checks and before the switch: `backup` (stdout stored
 * as `<appDir>/backups/<UTC time>-<tag>`, the newest `keep` kept; a failure warns unless
 * required) then `migrate` (a one-off container of the new image with the release env file
 * and network, only when the slot's container is new: never on a return to the standby).
 * Each runs at most `hookTimeoutSeconds`; one still running then is stopped, its container
 * removed. A failure stops the release before traffic moves, names the hook, quotes its last
 * lines and notifies.
 */
export function renderReleaseHooksScript(a: ReleaseHooksScriptArgs): string {
    const l = hostLayout(a.appDir);
    const tail = a.logLinesOnFailure ?? 30;
    const bound = a.hookTimeoutSeconds;
    if (!Number.isSafeInteger(bound) || bound < 1) throw new Error(`hookTimeoutSeconds must be a positive integer, got ${bound}`);
    const b = a.backup;
    const m = a.migrate;
    const g = a.schema;
    const migrateContainer = `${a.serviceName}-migrate`;
    const schemaContainer = `${a.serviceName}-schema`;
    const oneOffs = [...(m ? [migrateContainer] : []), ...(g ? [schemaContainer] : [])];
    const noTimeout = sh`"'timeout' (coreutils) is not installed on the host: the release hooks need it to stop a hook after hookTimeoutSeconds"`;
    const oneOff = m ?? g;
    // Only for a container created in this attempt: a return to the warm standby runs no migration.
    const isNew = containerIsNew(a.appDir, (m ?? g)?.containerName ?? "");
    return script(
        renderStepPrologue(a.appDir, `hooks ${a.tag}`),
        renderStepLockLines(a.appDir, a.stepLockWaitSeconds),
        renderNotifyLines(a.notify),
        sh`hook_fail() { l9_hook_fail "$1" "$2" "$3" ${tail}; }`,
        sh`command -v timeout >/dev/null 2>&1 || fail ${noTimeout}`,
        sh`out=$(mktemp) || fail "cannot create a temporary file for the hooks' output"`,
        // However the script ends (a failure, a timeout, the SSH session of a killed `pulumi up`
        // hanging up), no one-off container stays behind to keep running.
        oneOffs.length > 0
            ? sh`hooks_cleanup() { rm -f "$out" "$out.word"; docker rm -f ${words(oneOffs)} >/dev/null 2>&1 || true; }`
            : sh`hooks_cleanup() { rm -f "$out"; }`,
        sh`trap hooks_cleanup EXIT`,
        sh`trap 'hooks_cleanup; exit 1' HUP INT PIPE TERM`,
        !!b &&
            lines(
                sh`l9_dirs 700 ${l.backups}`,
                sh`file=${l.backups}/$(date -u +%Y%m%dT%H%M%SZ)-${a.tag}`,
                sh`say "backup: running the backup hook (at most ${bound} s) into $file"`,
                sh`backup_started=$(date +%s)`,
                sh`if ${renderBackupRunCondition(l.envFile, bound, b.command)}; then`,
                sh`  mv -f "$file.partial" "$file"`,
                sh`  say "backup: $file ($(wc -c <"$file") bytes)"`,
                sh`else`,
                sh`  rc=$?`,
                sh`  rm -f "$file.partial"`,
                sh`  if ${renderBackupTimedOutTest(bound)}; then`,
                b.required
                    ? lines(
                          sh`    hook_fail backup ${`did not finish within hookTimeoutSeconds=${bound} s and was stopped (backupRequired=true)`} "$out"`,
                          sh`  fi`,
                          sh`  hook_fail backup "failed (exit $rc; backupRequired=true)" "$out"`,
                      )
                    : lines(
                          sh`    backup_failure=${`did not finish within hookTimeoutSeconds=${bound} s and was stopped`}`,
                          sh`  else`,
                          sh`    backup_failure="failed (exit $rc)"`,
                          sh`  fi`,
                          sh`  ${stripControlChars()} <"$out" | sed 's/^/  | /' >&2`,
                          sh`  printf 'warning: backup hook %s; the release goes on (backupRequired=false)\\n' "$backup_failure" >&2`,
                      ),
                sh`fi`,
                renderBackupRotationLine(l.backups, b.keep, "release"),
            ),
        !!oneOff && sh`one_off() { l9_one_off ${l.envFile} ${oneOff.networkMode} ${bound} "$@"; }`,
        !!m &&
            lines(
                sh`if ! ${isNew}; then`,
                sh`  say ${`migrate: skipped, ${m.containerName} is the standby returning to traffic (no migration on a rollback)`}`,
                sh`else`,
                sh`  say ${`migrate: ${m.args.join(" ")} in a one-off container of ${a.tag} (at most ${bound} s)`}`,
                sh`  one_off migrate ${migrateContainer} ${m.imageId} ${words(m.args)}`,
                sh`  if [ "$one_off_exit" != 0 ]; then hook_fail migrate "failed (exit $one_off_exit)" "$out"; fi`,
                sh`  ${stripControlChars()} <"$out" | sed 's/^/  | /' >&2`,
                sh`  say "migrate: done"`,
                sh`fi`,
            ),
        !!g && renderSchemaGuardLines(a, g, schemaContainer, isNew),
        // The host time it finished: how the program tells output of this update from output kept in the state.
        renderRecordedTimeCommand(),
    );
}
