import { hostLayout } from "./layout";
import { renderContainerIsNewLine } from "./attempt";
import { NotifyContext, renderNotifyLines } from "./notify";
import { lines, prologue, script, sh, words } from "./shell";

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
    /** Who is told when a hook fails. */
    notify: NotifyContext;
    /** How many log lines to quote when a hook fails. */
    logLinesOnFailure?: number;
}

/**
 * The release hooks, after the gate's checks and before the switch: `backup` (stdout stored
 * as `<appDir>/backups/<UTC time>-<tag>`, the newest `keep` kept; a failure warns unless
 * required) then `migrate` (a one-off container of the new image with the release env file
 * and network, only when the slot's container is new: never on a return to the standby). A failure stops the release before traffic moves, names the hook, quotes its
 * last lines and notifies.
 */
export function renderReleaseHooksScript(a: ReleaseHooksScriptArgs): string {
    const l = hostLayout(a.appDir);
    const tail = a.logLinesOnFailure ?? 30;
    const b = a.backup;
    const m = a.migrate;
    return script(
        prologue(`hooks ${a.tag}`),
        renderNotifyLines(a.notify),
        sh`hook_fail() { # hook_fail <hook> <message> <output file>`,
        sh`  out_tail=$(tail -n ${tail} "$3" 2>/dev/null || true)`,
        sh`  printf '%s\\n' "$out_tail" | sed 's/^/  | /' >&2`,
        sh`  notify failure "hook '$1': $2" "$out_tail"`,
        sh`  fail "hook '$1' $2; traffic was not moved. Last lines above."`,
        sh`}`,
        sh`out=$(mktemp) && trap 'rm -f "$out"' EXIT`,
        !!b &&
            lines(
                sh`mkdir -p ${l.backups} && chmod 700 ${l.backups}`,
                sh`file=${l.backups}/$(date -u +%Y%m%dT%H%M%SZ)-${a.tag}`,
                sh`say "backup: running the backup hook into $file"`,
                // The env file's lines become the hook's environment, each taken literally.
                // An empty backup is a failed one (a pipe hides its first command's failure).
                sh`if ( while IFS= read -r kv; do case "$kv" in [A-Z_]*=*) export "$kv" ;; esac; done <${l.envFile}; exec sh -c ${b.command} ) >"$file.partial" 2>"$out" && { [ -s "$file.partial" ] || { echo "the backup command wrote nothing" >>"$out"; false; }; }; then`,
                sh`  mv -f "$file.partial" "$file"`,
                sh`  say "backup: $file ($(wc -c <"$file") bytes)"`,
                sh`else`,
                sh`  rc=$?; rm -f "$file.partial"`,
                b.required
                    ? sh`  hook_fail backup "failed (exit $rc; backupRequired=true)" "$out"`
                    : lines(
                          sh`  sed 's/^/  | /' "$out" >&2`,
                          sh`  printf 'warning: backup hook failed (exit %s); the release goes on (backupRequired=false)\\n' "$rc" >&2`,
                      ),
                sh`fi`,
                // Rotation: the newest `keep` backups by name (UTC time first) stay.
                sh`ls -1 ${l.backups} | grep -v '\\.partial$' | sort -r | tail -n +${b.keep + 1} | while read -r old; do rm -f ${l.backups}/"$old"; say "backup: removed $old"; done`,
            ),
        !!m &&
            lines(
                // Only for a container created in this attempt: a return to the warm standby runs no migration.
                renderContainerIsNewLine(a.appDir),
                sh`if ! container_is_new ${m.containerName}; then`,
                sh`  say ${`migrate: skipped, ${m.containerName} is the standby returning to traffic (no migration on a rollback)`}`,
                sh`else`,
                sh`say ${`migrate: ${m.args.join(" ")} in a one-off container of ${a.tag}`}`,
                sh`docker rm -f ${`${a.serviceName}-migrate`} >/dev/null 2>&1 || true`,
                sh`if docker run --rm --name ${`${a.serviceName}-migrate`} --env-file ${l.envFile} ${m.networkMode === "host" ? sh`--network host` : sh`--network bridge`} ${m.imageId} ${words(m.args)} >"$out" 2>&1; then`,
                sh`  sed 's/^/  | /' "$out" >&2`,
                sh`  say "migrate: done"`,
                sh`else`,
                sh`  hook_fail migrate "failed (exit $?)" "$out"`,
                sh`fi`,
                sh`fi`,
            ),
        // The host time it finished: how the program tells output of this update from output kept in the state.
        sh`date -u +%Y-%m-%dT%H:%M:%SZ`,
    );
}
