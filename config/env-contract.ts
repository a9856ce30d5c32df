/**
 * The app's env contract: its `.env.example` lists the keys it needs. A key is required
 * (must be set and non-empty) unless the line itself or the comment line just above it
 * says `optional`. Pure functions, used by the EnvFile component and the unit tests.
 */

export interface EnvExampleKey {
    /** The variable name. */
    key: string;
    /** An optional key may be missing or empty. */
    optional: boolean;
}

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/;

export function parseEnvExample(text: string): EnvExampleKey[] {
    const keys: EnvExampleKey[] = [];
    let previousComment = "";
    text.split(/\r?\n/).forEach((raw) => {
        const line = raw.trim();
        if (line === "") {
            previousComment = "";
            return;
        }
        if (line.startsWith("#")) {
            previousComment = line;
            return;
        }
        const m = LINE.exec(line);
        if (!m) {
            previousComment = "";
            return;
        }
        const inlineComment = m[2].includes("#") ? m[2].slice(m[2].indexOf("#")) : "";
        const optional = /\boptional\b/i.test(previousComment) || /\boptional\b/i.test(inlineComment);
        if (!keys.some((k) => k.key === m[1])) keys.push({ key: m[1], optional });
        previousComment = "";
    });
    return keys;
}

/** Problems of `env` against the example: one line each, naming the key. Empty when valid. */
export function checkEnvAgainstExample(example: EnvExampleKey[], env: Record<string, string>, tag: string): string[] {
    const problems: string[] = [];
    for (const { key, optional } of example) {
        if (!(key in env)) {
            if (!optional) problems.push(`env key ${key} is declared by .env.example at ${tag} but not set`);
        } else if (!optional && env[key].trim() === "") {
            problems.push(`env key ${key} is required by .env.example at ${tag} but empty`);
        }
    }
    return problems;
}

/** The env file's text: KEY=VALUE lines in key order (the docker --env-file format). */
export function renderEnvFileContent(env: Record<string, string>): string {
    return Object.keys(env)
        .sort()
        .map((k) => `${k}=${env[k]}\n`)
        .join("");
}
