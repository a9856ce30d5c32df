/**
 * The one rendering rule for everything that runs on the host: a script is built only from
 * `ShellText`, which only `sh` (and the reviewed `raw`) can make, and `sh` quotes every
 * interpolated string as one shell word. A value cannot reach a script unquoted by accident:
 * a plain template literal is a type error where a line is expected, and `sh` has no way to
 * splice a string in verbatim. Values are validated at the config edge too; quoting here is
 * the wall that holds even when validation is wrong.
 */

/** Rendered shell text. Made by `sh`, `raw` and `lines` only. */
export class ShellText {
    private constructor(readonly text: string) {}

    /** @internal the constructor for this module's functions */
    static of(text: string): ShellText {
        return new ShellText(text);
    }

    toString(): string {
        return this.text;
    }
}

/** What `sh` accepts: strings (quoted), safe integers (as digits), rendered shell text (as is). */
export type ShellValue = string | number | ShellText;

/** Quotes one value as a single POSIX shell word. */
export function quote(value: string | number): string {
    const s = String(value);
    if (s.includes("\0")) throw new Error("refusing to quote a value containing a NUL byte");
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

function render(value: ShellValue): string {
    if (value instanceof ShellText) return value.text;
    if (typeof value === "number") {
        if (!Number.isSafeInteger(value)) throw new Error(`refusing to put ${value} into a script: only integers go in unquoted`);
        return String(value);
    }
    if (typeof value === "string") return quote(value);
    throw new Error(`refusing to put a ${typeof value} into a script`);
}

/**
 * A line (or a few) of shell: every `${string}` becomes one single-quoted word, every
 * `${integer}` its digits, every `${ShellText}` itself. To put a value inside a message, close
 * the double quotes around it: sh`fail ${"tag " + tag + " is bad"}`.
 */
export function sh(strings: TemplateStringsArray, ...values: ShellValue[]): ShellText {
    let out = strings[0];
    values.forEach((v, i) => (out += render(v) + strings[i + 1]));
    return ShellText.of(out);
}

/**
 * Shell text taken as it is. Only for text this program wrote itself (a fixed fragment, a
 * base64 or JSON document the caller quotes), never for a configured value: each use is a
 * reviewed exception, visible in the golden files.
 */
export function raw(text: string): ShellText {
    return ShellText.of(text);
}

/** A shell variable's value as one word: `"$name"`. */
export function variable(name: string): ShellText {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a shell variable name: ${name}`);
    return ShellText.of(`"$${name}"`);
}

/** One shell word from pieces side by side: strings quoted, variables (variable()) as they are. */
export function joinedWord(...parts: (string | ShellText)[]): ShellText {
    const merged = parts.reduce<(string | ShellText)[]>((acc, p) => {
        const last = acc[acc.length - 1];
        if (typeof p === "string" && typeof last === "string") acc[acc.length - 1] = last + p;
        else acc.push(p);
        return acc;
    }, []);
    return ShellText.of(merged.map((p) => (typeof p === "string" ? quote(p) : p.text)).join(""));
}

/** Several values as separate shell words (each quoted), e.g. a command's arguments. */
export function words(values: (string | number)[]): ShellText {
    return ShellText.of(values.map(render).join(" "));
}

/** Joins script lines, dropping `false`/`undefined` entries, with a trailing newline. */
export function lines(...parts: (ShellText | ShellText[] | false | undefined)[]): ShellText {
    const flat = parts.flat().filter((p): p is ShellText => p instanceof ShellText);
    return ShellText.of(flat.map((p) => p.text.replace(/\n$/, "")).join("\n") + "\n");
}

/** The finished script text. */
export function script(...parts: (ShellText | ShellText[] | false | undefined)[]): string {
    return lines(...parts).text;
}

/**
 * The prologue of every host script: strict mode, and a `fail` that prints one clear line
 * prefixed with the step's name, so `pulumi up` errors say which check failed.
 */
export function prologue(step: string): ShellText {
    return lines(scriptStart(step), FAIL_AND_SAY);
}

/** How every host script begins: strict mode, a private umask, and `$L9_STEP` (the step's name). */
export function scriptStart(step: string): ShellText {
    return lines(
        sh`set -eu`,
        // Nothing l9-deploy creates on the host is readable by other users unless made so.
        sh`umask 027`,
        sh`L9_STEP=${step}`,
    );
}

/** `fail MESSAGE` (exit 1, naming the step) and `say MESSAGE` (progress on stderr), from `$L9_STEP`. */
export const FAIL_AND_SAY = lines(
    sh`fail() { printf '%s failed: %s\\n' "$L9_STEP" "$*" >&2; exit 1; }`,
    sh`say() { printf '[%s] %s\\n' "$L9_STEP" "$*" >&2; }`,
);

/** Several commands on one line, separated by `; ` (for a branch of an `if`). */
export function oneLine(parts: ShellText[]): ShellText {
    return ShellText.of(parts.map((p) => p.text.replace(/\n$/, "")).join("; "));
}

/**
 * A pipeline stage that drops control characters (\000-\010, \013-\037 and DEL; tab and
 * newline stay) from text the app wrote: its logs, a hook's output, a health answer. Every
 * place that prints such text to the operator's terminal or sends it to a webhook pipes it
 * through this first, so an escape sequence in a log line cannot rewrite the terminal or a
 * message. The one definition: scripts reuse it, never a copy.
 */
export function stripControlChars(): ShellText {
    return sh`tr -d '\\000-\\010\\013-\\037\\177'`;
}

/** The host's UTC time, a step's recorded time (its last stdout line): how the program tells this update's output from output kept in the state. */
export function renderRecordedTimeCommand(): ShellText {
    return sh`date -u +%Y-%m-%dT%H:%M:%SZ`;
}
