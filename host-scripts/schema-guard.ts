import { containerIsNew } from "./attempt";
import { hostLayout } from "./layout";
import { NotifyContext } from "./notify";
import { hookBound, renderOneOffPrologue } from "./release-hooks";
import { joinedWord, lines, renderRecordedTimeCommand, script, sh, ShellText, stripControlChars, variable, words } from "./shell";

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
 * Where the revision a release's image was released at is kept (`<stateDir>/schema-revision.`
 * and the image id's hex): a slot re-created from the same image keeps it, and an old tag
 * released again from its image is known as a return to it.
 */
export function schemaRecordPrefix(appDir: string): string {
    return `${hostLayout(appDir).stateDir}/schema-revision.`;
}

/**
 * `read_revision IMAGE WHERE`: sets $live_revision to what schemaRevisionCommand prints in a
 * one-off container of IMAGE, checked as a word, not a message; a failure names WHERE it ran.
 */
function renderReadRevisionFunction(g: SchemaGuardScriptArgs, container: string): ShellText {
    const notOne = "printed no revision: the first word of its last line must be one (letters, digits, . _ : + -)";
    return lines(
        sh`read_revision() {`,
        sh`  one_off schema-revision ${container} "$1" ${words(g.revisionArgs)}`,
        sh`  if [ "$one_off_exit" != 0 ]; then hook_fail schema-revision "failed $2(exit $one_off_exit)" "$out"; fi`,
        sh`  live_revision=$(cat "$out.word")`,
        sh`  case "$live_revision" in ''|*[!A-Za-z0-9._:+-]*) hook_fail schema-revision ${notOne} "$out";; esac`,
        sh`}`,
    );
}

/**
 * `decide`: the database is at $live_revision and the release taking traffic was released at
 * $standby_revision (its image's record). The same revision goes ahead; another one goes ahead
 * only with allowSchemaRollback (a warning) or when rollbackCheck, run in its image with the
 * release env, exits 0; otherwise the step fails before traffic moves, naming both revisions,
 * the ways forward and the backup taken before the serving release.
 */
function renderDecideFunction(g: SchemaGuardScriptArgs, container: string): ShellText {
    const live = variable("live_revision");
    const standby = variable("standby_revision");
    const revisions = [`the database is at schema revision `, live, `; ${g.tag} (${g.containerName}) was released at revision `, standby] as const;
    // The backup the release hooks took before the serving release migrated: `<UTC time>-<its tag>`, the oldest kept.
    const liveTag = g.backups && g.notify.previousTag;
    const backupName = variable("before_backup");
    const backups = hostLayout(g.appDir).backups;
    const restoreWay = liveTag
        ? [backupName, `, the backup taken before ${liveTag} was released (single-host stacks: npm run backup:restore -- `, backupName]
        : ["a backup taken before the release that migrated (single-host stacks: npm run backup:restore -- NAME"];
    const refuse = (...why: (string | ShellText)[]) =>
        sh`hook_fail schema ${joinedWord(
            "refused: ",
            ...revisions,
            ...why,
            ". Ways forward: deploy a release that runs on revision ",
            live,
            ` (a new tag); or set rollbackCheck so ${g.tag} can say it runs on this schema; ` +
                `or, if you know it does, pulumi config set allowSchemaRollback true for this one update (then pulumi config rm allowSchemaRollback); ` +
                "or restore ",
            ...restoreWay,
            `; data written since is lost). README: "A refused rollback"`,
        )} "$out"`;
    const decision = (): ShellText => {
        if (g.allowRollback) {
            const allowed =
                ". allowSchemaRollback=true: it takes traffic unchecked. Remove the setting after this update: pulumi config rm allowSchemaRollback";
            return sh`  printf '%s\\n' ${joinedWord("warning: schema: ", ...revisions, allowed)} >&2`;
        }
        if (!g.rollbackCheckArgs) return lines(sh`  : >"$out"`, sh`  ${refuse()}`);
        const running = `: running rollbackCheck (${g.rollbackCheckArgs.join(" ")}) in a one-off container of ${g.tag}`;
        return lines(
            sh`  say ${joinedWord("schema: ", ...revisions, running)}`,
            sh`  one_off rollback-check ${container} "$image" ${words(g.rollbackCheckArgs)}`,
            sh`  if [ "$one_off_exit" != 0 ]; then ${refuse(", and rollbackCheck exited ", variable("one_off_exit"))}; fi`,
            sh`  ${stripControlChars()} <"$out" | sed 's/^/  | /' >&2`,
            sh`  say ${joinedWord(`schema: rollbackCheck passed: ${g.tag} runs on revision `, live)}`,
        );
    };
    return lines(
        sh`decide() {`,
        sh`  if [ "$live_revision" = "$standby_revision" ]; then`,
        sh`    say ${joinedWord("schema: the database is at revision ", live, `, the one ${g.tag} was released at: it goes ahead`)}`,
        sh`    return 0`,
        sh`  fi`,
        !!liveTag &&
            lines(
                sh`  before_backup='<name>'`,
                sh`  for f in $(ls -1 ${backups} 2>/dev/null | sort -r); do case "$f" in ????????T??????Z-${liveTag}) before_backup=$f ;; esac; done`,
            ),
        decision(),
        sh`}`,
    );
}

/**
 * The schema guard. A new release records the revision the database is at once it migrated
 * (schemaRevisionCommand in its image), keyed by its image. A return to a release already
 * recorded (the standby, or an old tag's image released again) compares that record with the
 * database's revision now, read with the serving release's image (which knows it), and
 * decides (renderDecideFunction). allowSchemaRollback on a switch back reads nothing: an
 * emergency rollback does not wait for a revision command that may hang or fail.
 */
function renderSchemaGuardLines(g: SchemaGuardScriptArgs, container: string, isNew: ShellText): ShellText {
    const cmd = g.revisionArgs.join(" ");
    const unrecorded = "has no recorded schema revision (released before schemaRevisionCommand was set): this switch-back is not checked";
    const unchecked = "takes traffic back unchecked (allowSchemaRollback=true). Remove the setting after this update: pulumi config rm allowSchemaRollback";
    const noServing = "returns to traffic with no serving container to read the revision with: not checked";
    const noImage = (container: string) => `cannot read the image of ${container}`;
    const record = sh`${schemaRecordPrefix(g.appDir)}"\${image#sha256:}"`;
    const cannotWrite = `cannot write the schema record of ${g.tag}`;
    return lines(
        renderReadRevisionFunction(g, container),
        renderDecideFunction(g, container),
        sh`image=$(docker inspect -f '{{.Image}}' ${g.containerName} 2>"$out") || hook_fail schema ${noImage(g.containerName)} "$out"`,
        sh`standby_revision=$(cat ${record} 2>/dev/null || true)`,
        sh`if ${isNew}; then`,
        sh`  say ${`schema: reading the revision ${g.tag} left the database at (${cmd}, at most ${g.hookTimeoutSeconds} s)`}`,
        sh`  read_revision "$image" ''`,
        // Its image was released before, at another revision: a return to it (an old tag again).
        sh`  if [ -n "$standby_revision" ]; then decide; fi`,
        sh`  if [ -z "$standby_revision" ]; then`,
        sh`    printf '%s\\n' "$live_revision" >${record}.tmp || fail ${cannotWrite}`,
        sh`    mv -f ${record}.tmp ${record} || fail ${cannotWrite}`,
        sh`    say ${joinedWord(`schema: ${g.tag} left the database at revision `, variable("live_revision"))}`,
        sh`  fi`,
        sh`elif [ -z "$standby_revision" ]; then`,
        sh`  printf 'warning: schema: %s %s\\n' ${g.tag} ${unrecorded} >&2`,
        g.allowRollback
            ? lines(sh`else`, sh`  printf 'warning: schema: %s %s\\n' ${g.tag} ${unchecked} >&2`)
            : g.liveContainerName
              ? lines(
                    sh`else`,
                    sh`  live_image=$(docker inspect -f '{{.Image}}' ${g.liveContainerName} 2>"$out") \\`,
                    sh`    || hook_fail schema ${noImage(g.liveContainerName)} "$out"`,
                    sh`  say ${`schema: reading the database's revision with the serving release's image (${cmd})`}`,
                    sh`  read_revision "$live_image" ${"in the serving release's image "}`,
                    sh`  decide`,
                )
              : lines(sh`else`, sh`  printf 'warning: schema: %s %s\\n' ${g.tag} ${noServing} >&2`),
        sh`fi`,
    );
}

/**
 * The schema guard, its own release step between the release hooks (the migration) and the
 * switch (renderSchemaGuardLines). Each one-off container runs at most `hookTimeoutSeconds`.
 */
export function renderSchemaGuardScript(g: SchemaGuardScriptArgs): string {
    const container = `${g.serviceName}-schema`;
    const oneOff = { containerName: container, networkMode: g.networkMode, bound: hookBound(g.hookTimeoutSeconds) };
    const tail = g.logLinesOnFailure ?? 30;
    return script(
        renderOneOffPrologue({ appDir: g.appDir, step: `schema ${g.tag}`, stepLockWaitSeconds: g.stepLockWaitSeconds, notify: g.notify, tail, oneOff }),
        // A container created in this attempt is a new release; one older is the standby returning.
        renderSchemaGuardLines(g, container, containerIsNew(g.appDir, g.containerName)),
        // The host time it finished: how the program tells output of this update from output kept in the state.
        renderRecordedTimeCommand(),
    );
}
