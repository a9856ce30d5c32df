import { prologue, script, sh } from "./shell";

/**
 * Writes the env file from stdin (the secret never appears in the script or its output),
 * atomically and with mode 0600. Records its sha256 on the host for the drift job.
 */
export function renderWriteEnvFileScript(envFile: string): string {
    return script(
        prologue("env file"),
        sh`f=${envFile}`,
        sh`mkdir -p "$(dirname "$f")"`,
        sh`umask 077`,
        sh`tmp="$f.tmp.$$"`,
        sh`cat >"$tmp"`,
        sh`chmod 600 "$tmp"`,
        sh`mv -f "$tmp" "$f"`,
        // The deploy-time hash the host's drift job compares against.
        sh`sha256sum "$f" | cut -d' ' -f1 >"$f.sha256"`,
        sh`say "wrote $f (mode 600)"`,
        // Not the digest: it is derived from secrets and would show in the update output.
        sh`echo written`,
    );
}

/** Read-only facts about a secret file (the env file, the backup copy's key), for its probe: its sha256 and mode (never its content). */
export function renderSecretFileFactsScript(file: string): string {
    const facts = sh`echo "sha256=$(sha256sum "$f" | cut -d' ' -f1)"; echo "mode=$(stat -c %a "$f")"`;
    return script(sh`f=${file}`, sh`if [ -f "$f" ]; then ${facts}; else echo sha256=missing; echo mode=missing; fi`);
}

/** Removes the env file and its recorded digest (the delete of renderWriteEnvFileScript). */
export function renderRemoveEnvFileScript(envFile: string): string {
    return script(sh`rm -f ${envFile} ${`${envFile}.sha256`}`);
}

/**
 * Prints an env file that is not l9-deploy's (the old runbooks' `.env`), for `npm run
 * env:import`: to the caller's stdout only, never into a log on the host.
 */
export function renderReadEnvFileForImportScript(file: string): string {
    return script(
        prologue("env import"),
        sh`f=${file}`,
        sh`[ -f "$f" ] || fail "$f is not a file on this host"`,
        sh`[ -r "$f" ] || fail "$f is not readable by $(id -un), the stack's sshUser: make it readable to that user (nothing was read)"`,
        sh`cat -- "$f"`,
    );
}
