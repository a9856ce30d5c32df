import * as pulumi from "@pulumi/pulumi";
import { describeScriptFailure, runScript, runScriptOrThrow, SshConnection, SshConnectionArgs } from "./ssh";

/**
 * A Docker container on the host, driven with the docker CLI over the pinned SSH
 * connection. Refresh inspects the real container, so a stopped, removed or replaced
 * container shows up in `pulumi preview --refresh`.
 */
export interface DockerContainerArgs {
    /** How to reach the host. */
    connection: pulumi.Input<SshConnectionArgs>;
    /** Container name (fixed per slot). */
    name: pulumi.Input<string>;
    /** Image id (sha256:...) to run. */
    image: pulumi.Input<string>;
    /** Environment (secret): written to a 0600 temp file on the host, passed as --env-file. */
    env: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** A fingerprint of `env`: a changed env means a new container. */
    envFingerprint: pulumi.Input<string>;
    /** "host" or "bridge". */
    networkMode: pulumi.Input<"host" | "bridge">;
    /** Published ports (bridge mode); always bound to 127.0.0.1. */
    ports?: pulumi.Input<Array<{ internal: number; external: number }>>;
    /** Restart policy. */
    restart: pulumi.Input<"no" | "always" | "unless-stopped" | "on-failure">;
    /** Health check: a shell command, or "image" to use the image's HEALTHCHECK. */
    healthcheck: pulumi.Input<{ command: string | "image"; intervalSeconds: number; timeoutSeconds: number; retries: number; startPeriodSeconds: number }>;
    /** Labels (tag, commit, slot...). */
    labels: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** When set, refresh reports whether the container runs, and an update starts/stops it to match. */
    running?: pulumi.Input<boolean>;
    /** SIGTERM grace before SIGKILL when the container is stopped or deleted. */
    stopGraceSeconds: pulumi.Input<number>;
}

interface ContainerState {
    connection: SshConnection;
    name: string;
    image: string;
    env: Record<string, string>;
    envFingerprint: string;
    networkMode: "host" | "bridge";
    ports?: Array<{ internal: number; external: number }>;
    restart: string;
    healthcheck: { command: string; intervalSeconds: number; timeoutSeconds: number; retries: number; startPeriodSeconds: number };
    labels: Record<string, string>;
    running?: boolean;
    stopGraceSeconds: number;
    containerId?: string;
    health?: string;
}

const q = (s: string | number) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** The `docker run` script; the env file arrives on stdin. Pure, unit-tested. */
export function renderDockerRunScript(s: Omit<ContainerState, "connection" | "env" | "containerId" | "health">): string {
    const args: string[] = ["-d", "--name", q(s.name), "--env-file", '"$envf"', "--restart", q(s.restart), "--stop-timeout", q(s.stopGraceSeconds)];
    if (s.networkMode === "host") args.push("--network", "host");
    for (const p of s.ports ?? []) args.push("-p", q(`127.0.0.1:${p.external}:${p.internal}`));
    for (const [k, v] of Object.entries(s.labels).sort()) args.push("--label", q(`${k}=${v}`));
    args.push("--label", q(`l9.env-fingerprint=${s.envFingerprint}`));
    const h = s.healthcheck;
    if (h.command !== "image") args.push("--health-cmd", q(h.command));
    args.push("--health-interval", `${h.intervalSeconds}s`, "--health-timeout", `${h.timeoutSeconds}s`, "--health-retries", String(h.retries), "--health-start-period", `${h.startPeriodSeconds}s`);
    return [
        "set -eu",
        "umask 077",
        'envf=$(mktemp)',
        'trap \'rm -f "$envf"\' EXIT',
        'cat >"$envf"',
        // A leftover from an interrupted create carries the same name: replace only our own.
        `if docker inspect ${q(s.name)} >/dev/null 2>&1; then`,
        `  [ -n "$(docker inspect -f '{{index .Config.Labels "l9.service"}}' ${q(s.name)})" ] || { echo "a container named ${s.name} exists and is not managed by l9-deploy" >&2; exit 1; }`,
        `  docker rm -f ${q(s.name)} >/dev/null`,
        "fi",
        `docker run ${args.join(" ")} ${q(s.image)} >/dev/null`,
        `docker inspect -f '{{.Id}}' ${q(s.name)}`,
    ].join("\n");
}

/** Prints `key=value` facts about the container, or `exists=false`. */
export function renderDockerInspectScript(name: string): string {
    return [
        `if ! docker inspect ${q(name)} >/dev/null 2>&1; then echo exists=false; exit 0; fi`,
        "echo exists=true",
        `docker inspect -f 'id={{.Id}}{{println}}image={{.Image}}{{println}}running={{.State.Running}}{{println}}health={{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' ${q(name)}`,
    ].join("\n");
}

function envFileText(env: Record<string, string>): string {
    return Object.keys(env).sort().map((k) => `${k}=${env[k]}\n`).join("");
}

function parseKv(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const i = line.indexOf("=");
        if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
    }
    return out;
}

const REPLACE_KEYS = ["name", "image", "envFingerprint", "networkMode", "ports", "labels", "healthcheck"] as const;

const dockerContainerProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: ContainerState) {
        const r = await runScriptOrThrow(inputs.connection, `start container ${inputs.name}`, renderDockerRunScript(inputs), envFileText(inputs.env));
        const id = r.stdout.trim().split("\n").pop() ?? "";
        if (inputs.running === false) await runScriptOrThrow(inputs.connection, `stop container ${inputs.name}`, `docker stop -t ${q(inputs.stopGraceSeconds)} ${q(inputs.name)} >/dev/null`);
        const { env: _env, ...withoutEnv } = inputs; // outputs travel in RPC debug logs: the env stays out
        return { id, outs: { ...withoutEnv, containerId: id } };
    },

    async diff(_id: string, olds: ContainerState, news: ContainerState) {
        const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
        const replaces = REPLACE_KEYS.filter((k) => !same(olds[k], news[k]));
        // The env itself is not kept in outputs; envFingerprint (a replace key) stands for it.
        const updates = (["restart", "running", "stopGraceSeconds", "connection"] as const).filter((k) => !same(olds[k], news[k]));
        // An in-place update keeps the container: its id and name stay known during preview,
        // so what depends on them (the gate's triggers) does not show as a change.
        return {
            changes: replaces.length + updates.length > 0,
            replaces: [...replaces],
            stables: replaces.length === 0 ? ["containerId", "name"] : [],
            deleteBeforeReplace: true,
        };
    },

    async update(_id: string, olds: ContainerState, news: ContainerState) {
        const steps: string[] = ["set -eu"];
        if (olds.restart !== news.restart) steps.push(`docker update --restart ${q(news.restart)} ${q(news.name)} >/dev/null`);
        if (news.running === true) steps.push(`[ "$(docker inspect -f '{{.State.Running}}' ${q(news.name)})" = true ] || docker start ${q(news.name)} >/dev/null`);
        if (news.running === false) steps.push(`docker stop -t ${q(news.stopGraceSeconds)} ${q(news.name)} >/dev/null`);
        await runScriptOrThrow(news.connection, `update container ${news.name}`, steps.join("\n"));
        const { env: _env, ...withoutEnv } = news;
        return { outs: { ...withoutEnv, containerId: olds.containerId } };
    },

    // Refresh: inspect the real container. Gone → resource removed (preview shows a create).
    // Another image or a stopped container → the refreshed outputs say so, and the diff
    // (which compares them with the declared inputs) replaces or restarts it. The inputs are
    // left as they were: the env is not in the outputs, so only the old inputs still hold it.
    async read(id: string, props: ContainerState) {
        const r = await runScript(props.connection, renderDockerInspectScript(props.name));
        if (r.code !== 0) throw new Error(describeScriptFailure(`inspect container ${props.name}`, r));
        const facts = parseKv(r.stdout);
        if (facts.exists !== "true" || (facts.id && facts.id !== id)) return { id: "", props: {} };
        const running = facts.running === "true";
        return { id, props: { ...props, image: facts.image, health: facts.health, ...(props.running === undefined ? {} : { running }) } };
    },

    async delete(_id: string, props: ContainerState) {
        await runScriptOrThrow(
            props.connection,
            `remove container ${props.name}`,
            `if docker inspect ${q(props.name)} >/dev/null 2>&1; then docker stop -t ${q(props.stopGraceSeconds)} ${q(props.name)} >/dev/null 2>&1 || true; docker rm -f ${q(props.name)} >/dev/null; fi`,
        );
    },
};

/** A container on the host. See DockerContainerArgs. */
export class DockerContainer extends pulumi.dynamic.Resource {
    /** The container id. */
    declare readonly containerId: pulumi.Output<string>;
    /** The image id it runs. */
    declare readonly image: pulumi.Output<string>;
    /** Its name. */
    declare readonly name: pulumi.Output<string>;

    constructor(name: string, args: DockerContainerArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            dockerContainerProvider,
            name,
            { containerId: undefined, health: undefined, ports: undefined, running: undefined, ...args },
            { ...opts, additionalSecretOutputs: ["connection", "env", ...(opts?.additionalSecretOutputs ?? [])] },
            "l9-docker",
            "Container",
        );
    }
}
