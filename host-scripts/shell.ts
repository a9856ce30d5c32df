/**
 * Shell quoting for everything rendered into scripts that run on the host. Values are
 * validated at the config edge too; quoting here is the second wall, never the only one.
 */

/** Quotes one value as a single POSIX shell word. */
export function quote(value: string | number): string {
    const s = String(value);
    if (s.includes("\0")) throw new Error("refusing to quote a value containing a NUL byte");
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Joins script lines, dropping empty entries, with a trailing newline. */
export function lines(...parts: (string | false | undefined)[]): string {
    return parts.filter((p): p is string => typeof p === "string" && p.length > 0).join("\n") + "\n";
}

/**
 * The prologue of every host script: strict mode, and a `fail` that prints one clear line
 * prefixed with the step's name, so `pulumi up` errors say which check failed.
 */
export function prologue(step: string): string {
    return lines(
        "set -eu",
        `L9_STEP=${quote(step)}`,
        `fail() { printf '%s failed: %s\\n' "$L9_STEP" "$*" >&2; exit 1; }`,
        `say() { printf '[%s] %s\\n' "$L9_STEP" "$*" >&2; }`,
    );
}
