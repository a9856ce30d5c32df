import * as pulumi from "@pulumi/pulumi";
import { describeProbeFailure, ProbeConnection, runProbeScript } from "./ssh";

/**
 * A read-only probe of host facts that only commands touch (a worktree, Caddy's route, the
 * env file, the drift cron file). `command.remote.Command` has no read, so `pulumi refresh`
 * could never notice them change (pulumi-command#432); this is the one thing l9-deploy
 * needs that no package provides.
 *
 * The probe is declared BEFORE the command that owns the facts, and that command lists the
 * probe's `generation` among its `triggers`. On refresh the probe runs its script; when a
 * fact differs from what was declared, the refreshed state says so (preview shows
 * `expect: {fact: found => declared}`), the next update issues a new `generation`, and the
 * owning command is re-applied, which heals the host. The probe itself never changes the host.
 */
/** Where probes run: the host's connection and the (explicit) dynamic provider instance. */
export interface ProbeTarget {
    /** How to reach the host. */
    readonly connection: pulumi.Input<ProbeConnection>;
    /** The dynamic provider instance the probes belong to. */
    readonly provider: pulumi.ProviderResource;
}

export interface HostFactProbeArgs {
    /** How to reach the host (no key material: the stack's agent holds the key). */
    connection: pulumi.Input<ProbeConnection>;
    /** What the facts are about, for messages, e.g. "worktree v1.2.0-l9". */
    what: pulumi.Input<string>;
    /** Read-only script printing `key=value` lines. */
    script: pulumi.Input<string>;
    /** The facts as declared: what `script` prints when the host is as it should be. */
    expect: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

interface ProbeState {
    connection: ProbeConnection;
    what: string;
    script: string;
    expect: Record<string, string>;
    /** What was declared at the last create/update (outputs only: refresh rewrites `expect`). */
    declared?: Record<string, string>;
    /** What the script printed at the last refresh. */
    observed?: Record<string, string>;
    /** Changes whenever drift was found; the owning command re-applies on a change. */
    generation: string;
}

/** Parses `key=value` lines (other lines are ignored). */
export function parseFacts(text: string): Record<string, string> {
    const facts: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const i = line.indexOf("=");
        if (i > 0 && /^[A-Za-z0-9_.-]+$/.test(line.slice(0, i))) facts[line.slice(0, i)] = line.slice(i + 1).trim();
    }
    return facts;
}

/** The facts that differ from what is declared, as "fact: declared X, found Y". */
export function factDrift(declared: Record<string, string> | undefined, observed: Record<string, string> | undefined): string[] {
    if (!declared || !observed) return [];
    return Object.keys(declared)
        .filter((k) => observed[k] !== declared[k])
        .map((k) => `${k}: declared ${JSON.stringify(declared[k])}, found ${JSON.stringify(observed[k] ?? "(missing)")}`);
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function newGeneration(): string {
    const crypto: typeof import("crypto") = require("crypto");
    return crypto.randomBytes(8).toString("hex");
}

const hostFactProbeProvider: pulumi.dynamic.ResourceProvider = {
    // The owning command has not run yet: nothing to read. The first refresh after it reads.
    async create(inputs: ProbeState) {
        const generation = newGeneration();
        return { id: `probe-${generation}`, outs: { ...inputs, declared: inputs.expect, generation } };
    },

    async diff(_id: string, olds: ProbeState, news: ProbeState) {
        const changed = (["what", "script", "expect", "connection"] as const).filter((k) => !sameJson(olds[k], news[k]));
        const drifted = factDrift(olds.declared, olds.observed).length > 0;
        return { changes: changed.length > 0 || drifted, replaces: [], deleteBeforeReplace: false };
    },

    // A new generation only when the host drifted: a changed connection or a newly declared
    // value is not a reason to re-apply (the owning command sees those changes itself).
    async update(_id: string, olds: ProbeState, news: ProbeState) {
        const drifted = factDrift(olds.declared, olds.observed).length > 0;
        return { outs: { ...news, declared: news.expect, generation: drifted ? newGeneration() : olds.generation } };
    },

    // Refresh: ask the host. The observed facts also become the refreshed `expect`, so the
    // preview that follows shows `expect: {fact: found => declared}` for each drifted fact.
    async read(id: string, props: ProbeState) {
        const r = await runProbeScript(props.connection, props.script);
        if (r.code !== 0) throw new Error(describeProbeFailure(`${props.what} (probe)`, props.connection, r));
        const observed = parseFacts(r.stdout);
        const declared = props.declared ?? props.expect;
        const found = Object.fromEntries(Object.keys(declared).map((k) => [k, observed[k] ?? "(missing)"]));
        const { declared: _d, observed: _o, generation: _g, ...inputs } = props;
        return { id, props: { ...props, declared, observed }, inputs: { ...inputs, expect: found } };
    },
};

/** Read-only host facts for refresh. See HostFactProbeArgs. */
export class HostFactProbe extends pulumi.dynamic.Resource {
    /** Changes when the probe found drift: list it in the owning command's `triggers`. */
    declare readonly generation: pulumi.Output<string>;
    /** What the last refresh found. */
    declare readonly observed: pulumi.Output<Record<string, string> | undefined>;

    constructor(name: string, args: HostFactProbeArgs, opts?: pulumi.CustomResourceOptions) {
        super(hostFactProbeProvider, name, { generation: undefined, observed: undefined, declared: undefined, ...args }, opts, "l9-host", "FactProbe");
    }
}
