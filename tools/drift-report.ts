/**
 * Turns `pulumi preview --refresh --json` into a short human summary of host drift: which
 * resource, which property, what was found versus what is declared. Pure; the CLI lives in
 * tools/drift.ts.
 */

const CONTAINER_TYPE = "docker:index/container:Container";

/** Pulumi's marker for a value not known during preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface DriftFinding {
    /** The resource's name (last part of its URN). */
    resource: string;
    /** Its type token. */
    type: string;
    /** What `pulumi up` would do: update, replace, create, delete. */
    op: string;
    /** One line per drifted property: "property: found X, declared Y". */
    details: string[];
}

interface PreviewStep {
    op: string;
    urn: string;
    /** The top-level properties the provider's diff named, when it named any. */
    diffReasons?: string[];
    oldState?: { type?: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> };
    newState?: { type?: string; inputs?: Record<string, unknown> };
}

export interface PreviewJson {
    steps?: PreviewStep[];
    changeSummary?: Record<string, number>;
}

const show = (v: unknown) => (v === undefined ? "(absent)" : typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v));
const hasUnknown = (v: unknown) => JSON.stringify(v ?? null).includes(UNKNOWN);

function propertyDrift(
    oldInputs: Record<string, unknown>,
    newInputs: Record<string, unknown>,
    only?: Set<string>,
): { details: string[]; onlyConsequential: boolean } {
    const details: string[] = [];
    let consequential = 0;
    for (const key of [...new Set([...Object.keys(oldInputs), ...Object.keys(newInputs)])].sort()) {
        if (key === "__provider" || (only && !only.has(key))) continue;
        const found = oldInputs[key];
        const declared = newInputs[key];
        if (JSON.stringify(found ?? null) === JSON.stringify(declared ?? null)) continue;
        // Secret inputs (stdin) are not kept after a refresh: nothing to compare, nothing to show.
        if (found === undefined && declared === "[secret]") continue;
        if (hasUnknown(declared)) {
            consequential++;
            continue;
        }
        const isFacts = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
        if (key === "expect" && isFacts(found) && isFacts(declared)) {
            for (const fact of Object.keys(declared)) {
                if (found[fact] !== declared[fact]) details.push(`${fact}: found ${show(found[fact])}, declared ${show(declared[fact])}`);
            }
        } else {
            details.push(`${key}: found ${show(found)}, declared ${show(declared)}`);
        }
    }
    return { details, onlyConsequential: details.length === 0 && consequential > 0 };
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
    return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}

/** The drift in a preview: resources whose host state differs from the declared state. */
export function findDrift(preview: PreviewJson): { findings: DriftFinding[]; consequences: string[] } {
    const findings: DriftFinding[] = [];
    const consequences: string[] = [];
    for (const step of preview.steps ?? []) {
        if (["same", "refresh", "read"].includes(step.op)) continue;
        const resource = step.urn.split("::").pop() ?? step.urn;
        const type = step.newState?.type ?? step.oldState?.type ?? "";
        if (type === "pulumi:pulumi:Stack" || type.startsWith("l9:")) continue;
        if (step.op === "create") {
            findings.push({ resource, type, op: step.op, details: ["missing on the host: will be created"] });
            continue;
        }
        if (step.op === "delete") {
            findings.push({ resource, type, op: step.op, details: ["no longer declared: will be removed"] });
            continue;
        }
        // Containers report what refresh found in their outputs; fact probes in their refreshed
        // inputs; commands only re-run as a consequence (their triggers are not known yet).
        const found =
            type === CONTAINER_TYPE
                ? { ...(step.oldState?.inputs ?? {}), ...pick(step.oldState?.outputs ?? {}, Object.keys(step.newState?.inputs ?? {})) }
                : (step.oldState?.inputs ?? {});
        // Where the provider named what differs, only that is compared (its read may normalise
        // other values, e.g. the order of labels).
        const only = step.diffReasons?.length ? new Set(step.diffReasons.map((r) => r.split(/[.[]/)[0])) : undefined;
        const { details, onlyConsequential } = propertyDrift(found, step.newState?.inputs ?? {}, only);
        if (onlyConsequential) {
            consequences.push(resource);
            continue;
        }
        findings.push({ resource, type, op: step.op, details: details.length ? details : ["differs from the declared state (secret values, not shown)"] });
    }
    return { findings, consequences };
}

/** The summary printed by `npm run drift`. */
export function formatDriftReport(stack: string, result: { findings: DriftFinding[]; consequences: string[] }): string {
    if (result.findings.length === 0 && result.consequences.length === 0) {
        return `drift: none. The host matches stack ${stack}.\n`;
    }
    const lines = [`drift: ${result.findings.length} resource(s) of stack ${stack} differ from the host:`];
    for (const f of result.findings) {
        lines.push(`  ${f.resource} (${f.op}):`);
        for (const d of f.details) lines.push(`    - ${d}`);
    }
    if (result.consequences.length) lines.push(`  would also re-run, as a consequence: ${result.consequences.join(", ")}`);
    lines.push(`heal with: pulumi up --stack ${stack}   (npm run pulumi -- up --stack ${stack})`);
    return lines.join("\n") + "\n";
}
