import { lines, prologue, quote } from "./shell";

/**
 * Writes the env file from stdin (the secret never appears in the script or its output),
 * atomically and with mode 0600. Records and prints its sha256, so drift can be checked.
 */
export function renderWriteEnvFileScript(envFile: string): string {
    return lines(
        prologue("env file"),
        `f=${quote(envFile)}`,
        `mkdir -p "$(dirname "$f")"`,
        `umask 077`,
        `tmp="$f.tmp.$$"`,
        `cat >"$tmp"`,
        `chmod 600 "$tmp"`,
        `mv -f "$tmp" "$f"`,
        // The deploy-time hash the host's drift job compares against.
        `sha256sum "$f" | cut -d' ' -f1 >"$f.sha256"`,
        `say "wrote $f (mode 600)"`,
        `cat "$f.sha256"`,
    );
}

/** Read-only facts about the env file, for the probe: its sha256 and mode (never its content). */
export function renderEnvFileCheckScript(envFile: string): string {
    return lines(
        `f=${quote(envFile)}`,
        `if [ -f "$f" ]; then echo "sha256=$(sha256sum "$f" | cut -d' ' -f1)"; echo "mode=$(stat -c %a "$f")"; else echo sha256=missing; echo mode=missing; fi`,
    );
}
