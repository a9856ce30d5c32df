import { lines, sh, ShellText } from "./shell";

/**
 * Writes a file this program rendered (a script, a cron file, the step library) to `path` with
 * `mode`: its text travels base64-encoded, so no character of it needs quoting, and lands by a
 * rename of a temporary file named for this shell (`<path>.$$`), so the path never holds half
 * a file, even when two scripts write it at once. A condition: the caller handles its failure
 * (renderDropWriteLine removes the temporary file).
 */
export function renderWriteFileCommand(path: string, text: string, mode: number): ShellText {
    return sh`printf '%s' ${Buffer.from(text).toString("base64")} | base64 -d >${path}.$$ && chmod ${mode} ${path}.$$ && mv -f ${path}.$$ ${path}`;
}

/** Removes what a failed renderWriteFileCommand left. */
export function renderDropWriteLine(path: string): ShellText {
    return sh`rm -f ${path}.$$`;
}

/** Installs a rendered file (renderWriteFileCommand); a failure stops the script naming the path. */
export function renderInstallFileLine(path: string, text: string, mode: number): ShellText {
    return sh`{ ${renderWriteFileCommand(path, text, mode)}; } || { ${renderDropWriteLine(path)}; fail ${`cannot install ${path}`}; }`;
}

/**
 * Writes stdin to `path` (a secret: the notification targets, the backup copy's key), mode 0600
 * from its first byte (umask 077): a temporary file beside it, renamed over it; a failure
 * removes the temporary file and stops the script naming the path. Sets `f` to the path.
 */
export function renderWriteStdinToSecretFileLines(path: string): ShellText {
    return lines(
        sh`f=${path}`,
        sh`umask 077`,
        sh`tmp="$f.tmp.$$"`,
        sh`{ cat >"$tmp" && chmod 600 "$tmp" && mv -f "$tmp" "$f"; } || { rm -f "$tmp"; fail "cannot write $f"; }`,
    );
}
