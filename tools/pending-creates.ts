/**
 * The slot containers a killed `pulumi up` left half-made: their create is pending in the
 * state (the engine records it before it asks Docker), so the container may exist on the
 * host with no resource knowing it. Read from `pulumi stack export`. Pure.
 */

export interface UnfinishedContainer {
    urn: string;
    /** The container's name, `<serviceName>-<color>`. */
    name: string;
    /** Where its docker provider reaches the host. */
    host: string;
    port: number;
}

interface ExportedResource {
    urn?: string;
    id?: string;
    type?: string;
    inputs?: Record<string, unknown>;
    provider?: string;
}

interface Exported {
    deployment?: { resources?: ExportedResource[]; pending_operations?: Array<{ resource?: ExportedResource; type?: string }> };
}

/** `ssh://user@host:port` (the docker provider's `host`) → host and port; undefined for anything else. */
export function parseDockerSshHost(value: unknown): { host: string; port: number } | undefined {
    if (typeof value !== "string") return undefined;
    const m = /^ssh:\/\/(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(value);
    if (!m) return undefined;
    return { host: m[1].replace(/^\[|\]$/g, ""), port: m[2] ? Number(m[2]) : 22 };
}

/**
 * Each pending create of a Docker container, with where its provider reaches the host.
 * Throws when the export is not a stack export, or a pending container's provider cannot be
 * found: recovery must not guess.
 */
export function unfinishedContainers(exported: unknown): UnfinishedContainer[] {
    const d = (exported as Exported | null)?.deployment;
    if (!d || !Array.isArray(d.resources)) throw new Error("`pulumi stack export` printed no deployment");
    const found: UnfinishedContainer[] = [];
    for (const op of d.pending_operations ?? []) {
        const r = op.resource;
        if (op.type !== "creating" || r?.type !== "docker:index/container:Container") continue;
        const name = r.inputs?.name;
        if (typeof name !== "string" || !r.urn) throw new Error(`a pending container create has no name: ${JSON.stringify(r?.urn)}`);
        const ref = r.provider ?? "";
        const cut = ref.lastIndexOf("::");
        const provider = d.resources.find((p) => p.urn === ref.slice(0, cut) && p.id === ref.slice(cut + 2));
        const target = parseDockerSshHost(provider?.inputs?.host);
        if (!target)
            throw new Error(`the pending create of ${name} (${r.urn}) names a docker provider that does not reach a host over SSH: ${JSON.stringify(ref)}`);
        found.push({ urn: r.urn, name, ...target });
    }
    return found;
}
