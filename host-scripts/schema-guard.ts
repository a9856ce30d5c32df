import { containerIsNew } from "./attempt";
import { hostLayout } from "./layout";
import { NotifyContext } from "./notify";
import { renderOneOffPrologue } from "./release-hooks";
import { joinedWord, lines, raw, renderRecordedTimeCommand, script, sh, ShellText, stripControlChars, variable, words } from "./shell";

export interface SchemaGuardScriptArgs {
    /** The app directory (env file, state, backups). */
    appDir: string;
    /** Service name (the one-off container's name). */
    serviceName: string;
    /** The release tag taking traffic. */
    tag: string;
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
    /** Whether the release hooks take backups (a refusal names the one to restore). */
    backups: boolean;
    /** Who is told when the guard refuses, and where that failed deploy is recorded. */
    notify: NotifyContext;
    /** How long each one-off container may run, in seconds (hookTimeoutSeconds). */
    hookTimeoutSeconds: number;
    /** How long to wait for a release step of this service that still runs (an interrupted update's). */
    stepLockWaitSeconds: number;
    /** How many log lines to quote when a command fails. */
    logLinesOnFailure?: number;
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
function renderSchemaGuardLines(g: SchemaGuardScriptArgs, container: string, isNew: ShellText): ShellText {
    const a = g;
    const record = schemaRecordPath(a.appDir, g.containerName);
    const cmd = g.revisionArgs.join(" ");
    const unrecorded = "recorded no schema revision (released before schemaRevisionCommand was set): this switch-back is not checked";
    const noImage = (container: string) => `cannot read the image of ${container}`;
    const live = variable("live_revision");
    const standby = variable("standby_revision");
    const revisions = [`the database is at schema revision `, live, `; ${a.tag} (${g.containerName}) was released at revision `, standby] as const;
    // The backup the release hooks took before the serving release migrated: `<time>-<its tag>`.
    const liveTag = a.backups && a.notify.previousTag;
    const backupName = variable("before_backup");
    const restoreWay = liveTag
        ? [backupName, `, the backup taken before ${liveTag} was released (npm run backup:restore -- `, backupName]
        : ["a backup taken before the release that migrated (npm run backup:restore -- NAME"];
    const findBackup =
        !!liveTag &&
        lines(
            sh`    before_backup='<name>'`,
            sh`    for f in $(ls -1 ${hostLayout(a.appDir).backups} 2>/dev/null | sort); do case "$f" in *-${liveTag}) before_backup=$f ;; esac; done`,
        );
    const refusal = (...why: (string | ShellText)[]) =>
        joinedWord(
            "refused: ",
            ...revisions,
            ...why,
            ". Ways forward: deploy a release that runs on revision ",
            live,
            ` (a new tag); or set rollbackCheck so ${a.tag} can say it runs on this schema; ` +
                `or, if you know it does, pulumi config set allowSchemaRollback true for this one update (then pulumi config rm allowSchemaRollback); ` +
                "or restore ",
            ...restoreWay,
            `; data written since is lost). README: "A refused rollback"`,
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
                !g.allowRollback && findBackup,
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
 * The schema guard, its own release step between the release hooks (the migration) and the
 * switch (renderSchemaGuardLines). Each one-off container runs at most `hookTimeoutSeconds`.
 */
export function renderSchemaGuardScript(g: SchemaGuardScriptArgs): string {
    const bound = g.hookTimeoutSeconds;
    if (!Number.isSafeInteger(bound) || bound < 1) throw new Error(`hookTimeoutSeconds must be a positive integer, got ${bound}`);
    const container = `${g.serviceName}-schema`;
    return script(
        renderOneOffPrologue({
            appDir: g.appDir,
            step: `schema ${g.tag}`,
            stepLockWaitSeconds: g.stepLockWaitSeconds,
            notify: g.notify,
            tail: g.logLinesOnFailure ?? 30,
            oneOff: { containerName: container, networkMode: g.networkMode, bound },
        }),
        // A container created in this attempt is a new release; one older is the standby returning.
        renderSchemaGuardLines(g, container, containerIsNew(g.appDir, g.containerName)),
        // The host time it finished: how the program tells output of this update from output kept in the state.
        renderRecordedTimeCommand(),
    );
}
