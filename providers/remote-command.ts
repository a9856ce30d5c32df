import * as pulumi from "@pulumi/pulumi";
import { describeScriptFailure, runScript, runScriptOrThrow, SshConnection, SshConnectionArgs } from "./ssh";

/**
 * A script run on the host over SSH, the way `command.remote.Command` does it, plus what
 * that provider lacks (pulumi-command#432): an optional `check` script that reports facts
 * about the host, so `pulumi refresh`/`preview --refresh` notice when the host drifted.
 */
export interface RemoteCommandArgs {
    /** How to reach the host. */
    connection: pulumi.Input<SshConnectionArgs>;
    /** Script run on create (and on update when `update` is not set). */
    create: pulumi.Input<string>;
    /** Script run on update; defaults to `create`. */
    update?: pulumi.Input<string>;
    /** Script run on delete. */
    delete?: pulumi.Input<string>;
    /** Fed to the scripts on stdin (use for secrets: never part of a command line). */
    stdin?: pulumi.Input<string>;
    /**
     * Read-only script printing the host facts as `key=value` lines; run on refresh. When
     * what it prints differs from `expect`, the resource shows a diff naming the facts, and
     * the next update re-runs `update`/`create` to heal it.
     */
    check?: pulumi.Input<string>;
    /** The facts `check` must print when the host is as declared. */
    expect?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Any change of these values re-runs the update script. */
    triggers?: pulumi.Input<unknown[]>;
    /** A human name used in error messages, e.g. "checkout v1.2.0-l9". */
    what: pulumi.Input<string>;
}

/** sha256 of stdin: what the state keeps of it (the value itself is never echoed back). */
function stdinDigest(stdin: string | undefined): string {
    const crypto: typeof import("crypto") = require("crypto");
    return crypto.createHash("sha256").update(stdin ?? "").digest("hex");
}

/** Outputs keep a digest of stdin instead of stdin: outputs travel in RPC debug logs. */
function withoutStdin<T extends { stdin?: string }>(o: T): Omit<T, "stdin"> & { stdinSha256: string } {
    const { stdin, ...rest } = o;
    return { ...rest, stdinSha256: stdinDigest(stdin) };
}

interface RemoteCommandState {
    connection: SshConnection;
    create: string;
    update?: string;
    delete?: string;
    stdin?: string;
    check?: string;
    expect?: Record<string, string>;
    triggers?: unknown[];
    what: string;
    stdout: string;
    /** What `check` printed at the last create/update/refresh. */
    observed?: Record<string, string>;
    /** Digest of stdin (outputs only). */
    stdinSha256?: string;
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

/** The facts that differ from what is expected, as "fact: expected X, found Y". */
export function factDrift(expect: Record<string, string> | undefined, observed: Record<string, string> | undefined): string[] {
    if (!expect || !observed) return [];
    return Object.keys(expect)
        .filter((k) => observed[k] !== expect[k])
        .map((k) => `${k}: expected ${JSON.stringify(expect[k])}, found ${JSON.stringify(observed[k] ?? "(missing)")}`);
}

/** Drops undefined values: the provider protocol cannot carry them. */
function definedOnly<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

const remoteCommandProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: RemoteCommandState) {
        const r = await runScriptOrThrow(inputs.connection, String(inputs.what), inputs.create, inputs.stdin ?? "");
        const observed = inputs.check ? parseFacts((await runScriptOrThrow(inputs.connection, `${inputs.what} (check)`, inputs.check)).stdout) : undefined;
        const id = `${inputs.what}`.replace(/[^A-Za-z0-9._-]+/g, "-") + "-" + Date.now().toString(36);
        return { id, outs: definedOnly({ ...withoutStdin(inputs), stdout: r.stdout, observed }) };
    },

    async update(_id: string, olds: RemoteCommandState, news: RemoteCommandState) {
        const script = news.update ?? news.create;
        const r = await runScriptOrThrow(news.connection, String(news.what), script, news.stdin ?? "");
        const observed = news.check ? parseFacts((await runScriptOrThrow(news.connection, `${news.what} (check)`, news.check)).stdout) : undefined;
        void olds;
        return { outs: definedOnly({ ...withoutStdin(news), stdout: r.stdout, observed }) };
    },

    async diff(_id: string, olds: RemoteCommandState, news: RemoteCommandState) {
        const changes: string[] = [];
        for (const key of ["create", "update", "delete", "check", "expect", "triggers"] as const) {
            if (!sameJson(olds[key], news[key])) changes.push(key);
        }
        if ((olds.stdinSha256 ?? stdinDigest(olds.stdin)) !== stdinDigest(news.stdin)) changes.push("stdin");
        if (!sameJson(olds.connection, news.connection)) changes.push("connection");
        // Drift found by refresh: the host no longer shows what was declared.
        if (factDrift(news.expect, olds.observed).length > 0) changes.push("observed");
        return { changes: changes.length > 0, replaces: [], deleteBeforeReplace: false };
    },

    // Refresh: ask the host. The observed facts also become the refreshed `expect` input, so
    // the next preview shows `expect: {fact: found => declared}` for each fact that drifted.
    async read(id: string, props: RemoteCommandState) {
        if (!props.check) return { id, props };
        const r = await runScript(props.connection, props.check);
        if (r.code !== 0) throw new Error(describeScriptFailure(`${props.what} (check)`, r));
        const observed = parseFacts(r.stdout);
        const { stdout: _stdout, observed: _observed, stdinSha256: _digest, ...inputs } = props;
        const refreshedExpect = props.expect ? Object.fromEntries(Object.keys(props.expect).map((k) => [k, observed[k] ?? "(missing)"])) : undefined;
        return { id, props: { ...props, observed }, inputs: definedOnly({ ...inputs, expect: refreshedExpect }) };
    },

    async delete(_id: string, props: RemoteCommandState) {
        if (props.delete) await runScriptOrThrow(props.connection, `${props.what} (delete)`, props.delete);
    },
};

/** A script on the host, with optional drift facts. See RemoteCommandArgs. */
export class RemoteCommand extends pulumi.dynamic.Resource {
    /** What the create/update script printed on stdout. */
    declare readonly stdout: pulumi.Output<string>;
    /** What the check script printed, as facts. */
    declare readonly observed: pulumi.Output<Record<string, string> | undefined>;

    constructor(name: string, args: RemoteCommandArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            remoteCommandProvider,
            name,
            { stdout: undefined, observed: undefined, stdin: undefined, update: undefined, delete: undefined, check: undefined, expect: undefined, triggers: undefined, ...args },
            { ...opts, additionalSecretOutputs: ["connection", "stdin", ...(opts?.additionalSecretOutputs ?? [])] },
            "l9-remote", "Command",
        );
    }
}
