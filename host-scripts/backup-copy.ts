import { renderBackupRotationLine, renderBackupTimedOutTest } from "./backup";
import { renderWriteStdinToSecretFileLines } from "./install-file";
import { hostLayout } from "./layout";
import { lines, prologue, script, sh, ShellText, words } from "./shell";

/** The second machine that keeps a copy of every backup (config `backupCopyTo`). */
export interface BackupCopyTarget {
    /** Host name or IP address of the target. */
    host: string;
    /** Its SSH port. */
    sshPort: number;
    /** The user the copies are written as. */
    user: string;
    /** The target's pinned host key, "<type> <base64>". */
    hostKey: string;
    /** The directory on the target that holds this service's copies (a directory of its own: it is rotated). */
    dir: string;
}

/** The name the target's pinned key is filed under in its known_hosts file (as HOST_KEY_ALIAS is for the VPS). */
export const BACKUP_COPY_HOST_KEY_ALIAS = "l9-backup-copy";

/** Where the copy's key, the target's pinned key and the record of what was copied live on the VPS. */
export function backupCopyFiles(appDir: string): { key: string; knownHosts: string; copied: string } {
    const l = hostLayout(appDir);
    return {
        // Beside the env file: the shared directory is 0700.
        key: `${l.sharedDir}/backup-copy-key`,
        knownHosts: `${l.stateDir}/backup-copy-known-hosts`,
        // One empty file per backup the target holds, named as the backup.
        copied: `${l.stateDir}/backup-copied`,
    };
}

/** "user@host:port:dir", how logs and messages name the target. */
export function describeBackupCopyTarget(t: BackupCopyTarget): string {
    return `${t.user}@${t.host}:${t.sshPort}:${t.dir}`;
}

/**
 * What the target runs for one copy, `sh -c <this> l9-backup-copy NAME SHA256` with the backup
 * on stdin: it lands as NAME.partial, is checked against the sender's sha256 (a short or
 * corrupted copy is removed, never kept under the backup's name), is renamed to NAME, and the
 * directory rotates as the VPS's does (`keep` of each kind). Every line it prints is relayed to
 * the backup log. NAME is a backup's name (letters, digits, '.', '_', '-': checked by the sender).
 */
export function renderBackupReceiveScript(dir: string, keep: number): string {
    return script(
        sh`set -u`,
        sh`say() { printf '%s\\n' "$*"; }`,
        sh`d=${dir}; n=$1; want=$2`,
        sh`mkdir -p "$d" || { say "cannot create $d on the target"; exit 1; }`,
        sh`cat >"$d/$n.partial" || { rm -f "$d/$n.partial"; say "cannot write $d/$n.partial on the target"; exit 1; }`,
        sh`got=$(sha256sum <"$d/$n.partial" | cut -d' ' -f1)`,
        sh`[ "$got" = "$want" ] || { rm -f "$d/$n.partial"; say "the copy's sha256 ($got) differs from the backup's ($want): the copy was removed"; exit 1; }`,
        sh`mv -f "$d/$n.partial" "$d/$n" || { say "cannot rename $d/$n.partial on the target"; exit 1; }`,
        renderBackupRotationLine(dir, keep, "release"),
        renderBackupRotationLine(dir, keep, "scheduled"),
    );
}

/**
 * OpenSSH options of the copy: no config file (so no KnownHostsCommand either: that option is
 * left out, as OpenSSH before 8.5 refuses it), the target's pinned key only, the copy's own key
 * only, never a prompt.
 */
function copySshOptions(t: BackupCopyTarget, files: { key: string; knownHosts: string }): (string | number)[] {
    const options = [
        `UserKnownHostsFile=${files.knownHosts}`,
        `HostKeyAlias=${BACKUP_COPY_HOST_KEY_ALIAS}`,
        "GlobalKnownHostsFile=/dev/null",
        "StrictHostKeyChecking=yes",
        "VerifyHostKeyDNS=no",
        "IdentityAgent=none",
        `IdentityFile=${files.key}`,
        "IdentitiesOnly=yes",
        "BatchMode=yes",
        "ConnectTimeout=15",
        "ServerAliveInterval=15",
        "ServerAliveCountMax=4",
    ];
    // An IPv6 address is given to ssh bare (its brackets are only for the config's readers).
    return ["-F", "none", ...options.flatMap((o) => ["-o", o]), "-p", t.sshPort, "-l", t.user, "--", t.host.replace(/^\[|\]$/g, "")];
}

export interface BackupCopyLinesArgs {
    /** The app directory (backups, the copy's key and records). */
    appDir: string;
    /** Where the copies go. */
    target: BackupCopyTarget;
    /** How many backups of each kind the target keeps (config `backupsToKeep`). */
    keep: number;
    /** How long one copy may run (config `hookTimeoutSeconds`). */
    timeoutSeconds: number;
}

/**
 * The scheduled backup job's copy off the host (config `backupCopyTo`), for a script that has
 * `say`, `fail`, `$dir` (the backups) and `$out` (a scratch file): every backup in `$dir` that
 * the target does not hold yet, the job's own and the releases', newest first, each over one
 * SSH connection with the copy's own key and the target's pinned host key, bounded by
 * `timeoutSeconds`. A backup counts as copied only once the target checked its sha256. The
 * first failure stops the round (the target is down or refuses: the next run retries) and sets
 * `copy_ok=0`; success leaves `copy_ok=1`. Records of backups rotated away are dropped.
 */
export function renderBackupCopyLines(a: BackupCopyLinesArgs): ShellText {
    const files = backupCopyFiles(a.appDir);
    const target = describeBackupCopyTarget(a.target);
    const remote = sh`sh -c ${renderBackupReceiveScript(a.target.dir, a.keep)} l9-backup-copy`.toString();
    const ssh = sh`ssh ${words(copySshOptions(a.target, files))}`;
    const pin = `${BACKUP_COPY_HOST_KEY_ALIAS} ${a.target.hostKey}`;
    const timedOut = `did not finish within hookTimeoutSeconds=${a.timeoutSeconds} s and was stopped`;
    return lines(
        sh`copied=${files.copied}`,
        sh`{ mkdir -p "$copied" && printf '%s\\n' ${pin} >${files.knownHosts}; } || fail ${`cannot write ${files.knownHosts}`}`,
        sh`copy_ok=1`,
        sh`l9_copy() {`,
        sh`  sum=$(sha256sum <"$dir/$1" | cut -d' ' -f1) && [ -n "$sum" ] || { echo "cannot read $dir/$1" >"$out"; return 1; }`,
        sh`  copy_started=$(date +%s)`,
        sh`  timeout -k 10 ${a.timeoutSeconds} ${ssh} ${remote} "$1" "$sum" <"$dir/$1" >"$out" 2>&1`,
        sh`}`,
        sh`if [ ! -r ${files.key} ]; then`,
        sh`  copy_ok=0; say ${`copy to ${target} failed: its key ${files.key} is missing (pulumi up puts it back)`}`,
        sh`else`,
        sh`  for name in $(ls -1 "$dir" | grep -v '\\.partial$' | sort -r); do`,
        sh`    case "$name" in *[!A-Za-z0-9._-]*) continue ;; esac`,
        sh`    { [ -f "$dir/$name" ] && [ ! -e "$copied/$name" ]; } || continue`,
        sh`    if l9_copy "$name"; then`,
        sh`      touch "$copied/$name" || fail "cannot write $copied/$name"`,
        sh`      say "copy: $name to "${target}`,
        sh`      sed 's/^/  | /' "$out"`,
        sh`    else`,
        sh`      rc=$?; copy_ok=0`,
        sh`      if ${renderBackupTimedOutTest(a.timeoutSeconds, "copy_started")}; then why=${timedOut}; else why="exit $rc"; fi`,
        sh`      say "copy of $name to "${target}" failed ($why); the next run tries again:"`,
        sh`      sed 's/^/  | /' "$out"`,
        sh`      break`,
        sh`    fi`,
        sh`  done`,
        sh`fi`,
        sh`for name in $(ls -1 "$copied"); do [ -e "$dir/$name" ] || rm -f "$copied/$name" || fail "cannot remove $copied/$name"; done`,
    );
}

/** Writes the copy's private key from stdin (never in a script or its output), mode 0600. */
export function renderWriteBackupCopyKeyScript(appDir: string): string {
    const f = backupCopyFiles(appDir).key;
    const dir = hostLayout(appDir).sharedDir;
    return script(
        prologue("backup copy key"),
        sh`mkdir -p ${dir} || fail ${`cannot create ${dir}`}`,
        renderWriteStdinToSecretFileLines(f),
        sh`say "wrote $f (mode 600)"`,
        sh`echo written`,
    );
}

/**
 * Removes the copy's key, the target's pinned key and the record of what was copied (the
 * delete of renderWriteBackupCopyKeyScript, and its replace when the target changes: a new
 * target gets every backup). The copies on the target stay.
 */
export function renderRemoveBackupCopyKeyScript(appDir: string): string {
    const f = backupCopyFiles(appDir);
    return script(
        prologue("backup copy key"),
        sh`rm -f ${f.key} ${f.knownHosts} || fail ${`cannot remove ${f.key} or ${f.knownHosts}`}`,
        sh`rm -rf ${f.copied} || fail ${`cannot remove ${f.copied}`}`,
    );
}
