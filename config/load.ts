import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { MessageOnlyError } from "./message-error";
import { configSchema, DeployConfig, FIX_HINTS, SECRET_KEYS } from "./schema";

export const CONFIG_NAMESPACE = "l9-deploy";

/**
 * A configuration error: one line per bad field, each naming the field and the fix. A
 * RunError without a stack, so Pulumi reports just the message: formatting an exception's
 * source-mapped stack costs the language runtime tens of seconds here.
 */
export class ConfigError extends MessageOnlyError {
    constructor(readonly problems: string[]) {
        super("ConfigError", `invalid stack configuration (nothing was changed on the host):\n` + problems.map((p) => `  - ${p}`).join("\n"));
    }
}

/** Every key the schema knows, so a typo in a key name is an error rather than ignored. */
const KNOWN_KEYS = new Set(Object.keys(configSchema.shape));

function describeIssue(issue: z.core.$ZodIssue, raw: Record<string, string | undefined>): string {
    const [top, ...rest] = issue.path.map(String);
    const field = `${CONFIG_NAMESPACE}:${top ?? "?"}${rest.length ? `.${rest.join(".")}` : ""}`;
    const missing = top !== undefined && raw[top] === undefined && issue.code === "invalid_type";
    const message = missing ? "is required but not set" : issue.message;
    const fix = top ? FIX_HINTS[top] : undefined;
    return `${field} ${message}${fix ? `. Fix: ${fix}` : ""}`;
}

/**
 * Validates raw configuration values (as Pulumi stores them: strings, JSON for objects).
 * Pure: used by the program and by the unit tests with hand-made inputs.
 */
export function parseConfig(raw: Record<string, string | undefined>, secretKeys: ReadonlySet<string>): DeployConfig {
    const problems: string[] = [];
    for (const key of Object.keys(raw)) {
        if (!KNOWN_KEYS.has(key)) {
            problems.push(`${CONFIG_NAMESPACE}:${key} is not a setting l9-deploy knows. Fix: pulumi config rm ${key} (check the spelling)`);
        }
    }
    for (const key of SECRET_KEYS) {
        if (raw[key] !== undefined && !secretKeys.has(key)) {
            problems.push(
                `${CONFIG_NAMESPACE}:${key} is stored in plain text. Fix: pulumi config set --secret ${key} ... (secrets must never be plain in state)`,
            );
        }
    }
    // A freeze is read back from the stack history by every checkout: a secret's value is not there.
    if (raw.freeze !== undefined && secretKeys.has("freeze")) {
        problems.push(
            `${CONFIG_NAMESPACE}:freeze is stored as a secret, which teammates cannot read in the stack history. ` +
                'Fix: pulumi config set freeze "..." (no --secret)',
        );
    }
    const result = configSchema.safeParse(raw);
    if (!result.success) {
        problems.push(...result.error.issues.map((issue) => describeIssue(issue, raw)));
    }
    if (problems.length > 0 || !result.success) {
        throw new ConfigError(problems);
    }
    return result.data;
}

/** `isConfigSecret` is exported by the SDK's runtime but left out of its type declarations. */
function isConfigSecret(fullKey: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
    if (typeof runtime.isConfigSecret !== "function") {
        throw new Error("@pulumi/pulumi no longer exposes runtime.isConfigSecret: cannot check that secrets are stored as secrets");
    }
    return runtime.isConfigSecret(fullKey);
}

/** Reads the stack's `l9-deploy:*` configuration from the Pulumi engine and validates it. */
export function loadConfig(): DeployConfig {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const all = pulumi.runtime.allConfig();
    const raw: Record<string, string | undefined> = {};
    for (const [key, value] of Object.entries(all)) {
        if (key.startsWith(prefix)) raw[key.slice(prefix.length)] = value;
    }
    const secretKeys = new Set(Object.keys(raw).filter((key) => isConfigSecret(prefix + key)));
    return parseConfig(raw, secretKeys);
}
