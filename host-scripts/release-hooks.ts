import { hostLayout } from "./layout";
import { containerIsNew } from "./attempt";
import { NotifyContext, renderNotifyLines } from "./notify";
import { lines, renderRecordedTimeCommand, script, sh, ShellText, stripControlChars, words } from "./shell";
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
 * The release hooks, after the gate's checks and before the switch: `backup` (stdout stored
 * as `<appDir>/backups/<UTC time>-<tag>`, the newest `keep` kept; a failure warns unless
 * required) then `migrate` (a one-off container of the new image with the release env file
 * and network, only when the slot's container is new: never on a return to the standby).
 * Each runs at most `hookTimeoutSeconds`; one still running then is stopped, its container
 * removed. A failure stops the release before traffic moves, names the hook, quotes its last
 * lines and notifies.
 */
/** hookTimeoutSeconds as a step puts it in its script: any positive integer (the config bounds it). */
export function hookBound(seconds: number): number {
    if (!Number.isSafeInteger(seconds) || seconds < 1) throw new Error(`hookTimeoutSeconds must be a positive integer, got ${seconds}`);
    return seconds;
}

/**
 * The start of a step that runs hooks: the step library, the step lock, notify, `hook_fail`
 * (quoting `tail` lines), "$out" for their output, and with `oneOff`, `one_off` (the library's
 * l9_one_off with the release env file, network and bound) and a trap that removes its
 * container however the step ends (a failure, a timeout, the SSH session of a killed
 * `pulumi up` hanging up).
 */
export function renderOneOffPrologue(p: {
    appDir: string;
    step: string;
    stepLockWaitSeconds: number;
    notify: NotifyContext;
    tail: number;
    oneOff?: { containerName: string; networkMode: "host" | "bridge"; bound: number };
}): ShellText {
    const noTimeout = sh`"'timeout' (coreutils) is not installed on the host: the release hooks need it to stop a hook after hookTimeoutSeconds"`;
    const o = p.oneOff;
    return lines(
        renderStepPrologue(p.appDir, p.step),
        renderStepLockLines(p.appDir, p.stepLockWaitSeconds),
        renderNotifyLines(p.notify),
        sh`hook_fail() { l9_hook_fail "$1" "$2" "$3" ${p.tail}; }`,
        sh`command -v timeout >/dev/null 2>&1 || fail ${noTimeout}`,
        sh`out=$(mktemp) || fail "cannot create a temporary file for the hooks' output"`,
        o ? sh`hooks_cleanup() { rm -f "$out" "$out.word"; docker rm -f ${o.containerName} >/dev/null 2>&1 || true; }` : sh`hooks_cleanup() { rm -f "$out"; }`,
        sh`trap hooks_cleanup EXIT`,
        sh`trap 'hooks_cleanup; exit 1' HUP INT PIPE TERM`,
        !!o && sh`one_off() { l9_one_off ${hostLayout(p.appDir).envFile} ${o.networkMode} ${o.bound} "$@"; }`,
    );
}

export function renderReleaseHooksScript(a: ReleaseHooksScriptArgs): string {
    const l = hostLayout(a.appDir);
    const tail = a.logLinesOnFailure ?? 30;
    const bound = hookBound(a.hookTimeoutSeconds);
    const b = a.backup;
    const m = a.migrate;
    const migrateContainer = `${a.serviceName}-migrate`;
    return script(
        renderOneOffPrologue({
            appDir: a.appDir,
            step: `hooks ${a.tag}`,
            stepLockWaitSeconds: a.stepLockWaitSeconds,
            notify: a.notify,
            tail,
            oneOff: m && { containerName: migrateContainer, networkMode: m.networkMode, bound },
        }),
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
        !!m &&
            lines(
                // Only for a container created in this attempt: a return to the warm standby runs no migration.
                sh`if ! ${containerIsNew(a.appDir, m.containerName)}; then`,
                sh`  say ${`migrate: skipped, ${m.containerName} is the standby returning to traffic (no migration on a rollback)`}`,
                sh`else`,
                sh`  say ${`migrate: ${m.args.join(" ")} in a one-off container of ${a.tag} (at most ${bound} s)`}`,
                sh`  one_off migrate ${migrateContainer} ${m.imageId} ${words(m.args)}`,
                sh`  if [ "$one_off_exit" != 0 ]; then hook_fail migrate "failed (exit $one_off_exit)" "$out"; fi`,
                sh`  ${stripControlChars()} <"$out" | sed 's/^/  | /' >&2`,
                sh`  say "migrate: done"`,
                sh`fi`,
            ),
        // The host time it finished: how the program tells output of this update from output kept in the state.
        renderRecordedTimeCommand(),
    );
}
