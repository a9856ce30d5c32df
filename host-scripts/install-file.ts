import { sh, ShellText } from "./shell";

/**
 * Installs a file this program rendered (a script, a cron file) at `path` with `mode`: its text
 * travels base64-encoded, so no character of it needs quoting, and lands by a rename, so the
 * path never holds half a file. A failed step stops the script naming the path.
 */
export function renderInstallFileLine(path: string, text: string, mode: number): ShellText {
    const b64 = Buffer.from(text).toString("base64");
    return sh`{ printf '%s' ${b64} | base64 -d >${path}.tmp && chmod ${mode} ${path}.tmp && mv -f ${path}.tmp ${path}; } || fail ${`cannot install ${path}`}`;
}
