/**
 * An env file that the old runbooks' docker compose (v1) read, turned into the stack's `env`.
 * Compose v1 (Debian's 1.29) reads `env_file` with python-dotenv (0.21): an optional
 * `export `, quotes stripped (escapes read inside them), an unquoted value ending at ` #`,
 * and `${NAME}` filled in from compose's own environment (a bare `$NAME` stays as written).
 * Anything whose value the container may have seen differently (a `${NAME}`, a line without
 * `=`, a value over several lines) is refused, naming the line and the key, never the value.
 * Pure.
 */

/** The env read from the file, or why it cannot be imported as is. */
export interface ImportedEnv {
    /** Key → value, in the file's order (a later line wins, as in compose). */
    readonly env: Record<string, string>;
    /** One line per line that cannot be imported: its number, its key, what to do. Empty when all could. */
    readonly problems: string[];
    /** Keys set more than once (the last line counts). */
    readonly repeated: string[];
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const UPPER_KEY = /^[A-Z_][A-Z0-9_]*$/;
/** The escapes python-dotenv reads inside double quotes (single quotes: only \\ and \'). */
const DOUBLE_QUOTE_ESCAPES: Record<string, string> = {
    "\\": "\\",
    "'": "'",
    '"': '"',
    a: "\x07",
    b: "\b",
    f: "\f",
    n: "\n",
    r: "\r",
    t: "\t",
    v: "\v",
};
const SINGLE_QUOTE_ESCAPES: Record<string, string> = { "\\": "\\", "'": "'" };

export function parseEnvFileForImport(text: string): ImportedEnv {
    const env: Record<string, string> = {};
    const problems: string[] = [];
    const repeated = new Set<string>();
    text.replace(/^\uFEFF/, "")
        .split("\n")
        .forEach((rawLine, i) => {
            const at = `line ${i + 1}`;
            const line = rawLine.replace(/\r$/, "").trim();
            if (line === "" || line.startsWith("#")) return;
            const body = line.replace(/^export\s+/, "");
            const eq = body.indexOf("=");
            const key = (eq < 0 ? body : body.slice(0, eq)).trim();
            if (!KEY.test(key)) {
                problems.push(`${at}: not KEY=VALUE. Fix: remove or correct that line on the host`);
                return;
            }
            if (eq < 0) {
                problems.push(`${at}: ${key} has no value (compose took it from the shell that ran it). Fix: write ${key}=<value> in the file`);
                return;
            }
            if (!UPPER_KEY.test(key)) {
                problems.push(
                    `${at}: ${key} is not an upper-case name (letters, digits, '_'), which env keys must be. Fix: rename it in the file and in the app`,
                );
                return;
            }
            const value = readValue(body.slice(eq + 1).trim());
            if ("problem" in value) {
                problems.push(`${at}: ${key} ${value.problem}`);
                return;
            }
            if (key in env) repeated.add(key);
            env[key] = value.value;
        });
    return { env, problems, repeated: [...repeated] };
}

function readValue(text: string): { value: string } | { problem: string } {
    const quote = text[0];
    let value: string;
    if (quote === "'" || quote === '"') {
        const end = closingQuote(text, quote);
        if (end < 0) return { problem: "opens a quote it does not close on the same line (a value over several lines). Fix: put the value on one line" };
        const rest = text.slice(end + 1).trim();
        if (rest !== "" && !rest.startsWith("#")) return { problem: "has text after its closing quote. Fix: quote the whole value" };
        const escapes = quote === '"' ? DOUBLE_QUOTE_ESCAPES : SINGLE_QUOTE_ESCAPES;
        value = text.slice(1, end).replace(/\\(.)/g, (m, c: string) => escapes[c] ?? m);
    } else {
        value = text.replace(/\s+#.*$/, "").trim();
    }
    if (value.includes("${"))
        return {
            problem:
                "refers to another variable (${NAME}), which compose filled in from its own environment. " +
                "Fix: write the value the container had (docker exec <container> printenv <KEY> shows it) in the file",
        };
    if (/[\r\n\0]/.test(value))
        return { problem: "holds a line break or a NUL (an escape in quotes), which an env value here cannot. Fix: put the value on one line" };
    return { value };
}

/** Where the quote that opens `text` closes (a backslash escapes the next character); -1 if it does not. */
function closingQuote(text: string, quote: string): number {
    for (let i = 1; i < text.length; i++) {
        if (text[i] === "\\") i++;
        else if (text[i] === quote) return i;
    }
    return -1;
}
