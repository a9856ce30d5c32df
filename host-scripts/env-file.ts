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
