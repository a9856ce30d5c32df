import * as pulumi from "@pulumi/pulumi";
import type { L9Runtime, L9RuntimeOutputs } from "../../components/runtime";
import type { DeployState } from "../../state/slot-machine";
import type { RolloutPlan } from "../../plan/rollout";
import type { KeptImage } from "../../host-scripts/kept-releases";
import { SECRETS, validRawConfig } from "./fixtures";

/** A resource the program registered, as the engine (here: the mocks) received it. */
export interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

/** The program's resource graph for one configuration and previous state, built under mocks. */
export interface ProgramGraph {
    registered: Registered[];
    /** Resource options by resource name (they never reach the mocks: a transformation records them). */
    options: Map<string, pulumi.ResourceOptions>;
    /** The first host's runtime (the only one of a single-host stack). */
    runtime: L9Runtime;
    /** Every host's, in rollout order. */
    runtimes: L9Runtime[];
    /** The stack's outputs (index.ts returns them). */
    stack: Record<string, unknown>;
    /** What the first host's runtime converged to. */
    outputs: L9RuntimeOutputs;
    byName(name: string): Registered;
}

export const mockImageId = (tag: string) => `sha256:${Buffer.from(tag).toString("hex").padEnd(64, "0").slice(0, 64)}`;
export const mockCommit = (tag: string) => Buffer.from(tag).toString("hex").padEnd(40, "0").slice(0, 40);

/** What the host would answer, per resource: enough for the program to wire everything. */
function mockState(args: pulumi.runtime.MockResourceArgs): Record<string, any> {
    const state: Record<string, any> = { ...args.inputs };
    const tag = /(?:tag|checkout|image|kept)-(v[0-9.]+-l9|release-\d+)/.exec(args.name)?.[1] ?? "";
    const verified = `l9.commit=${mockCommit(tag)}\nl9.envExample=${Buffer.from("APP_SECRET=\nDATABASE_URL=\n").toString("base64")}`;
    if (args.name.endsWith("-verify")) {
        state.stdout = verified;
    } else if (/^kept-.*-check$/.test(args.name)) {
        state.stdout = `${verified}\nl9.imageId=${mockImageId(tag)}`;
    } else if (args.name.endsWith("-worktree")) {
        state.stdout = mockCommit(tag);
    } else if (args.name.endsWith("-build")) {
        state.stdout = `l9.imageId=${mockImageId(tag)}`;
    } else if (args.name.endsWith("traffic-caddy")) {
        state.stdout = "2026-01-01T00:00:00Z";
    } else if (args.type === "random:index/randomId:RandomId") {
        state.hex = "0123456789ab";
    } else if (args.type === "l9host:index:FactProbe") {
        state.generation = "g0";
    } else if (args.type === "command:remote:Command") {
        state.stdout = "ok";
    }
    return state;
}

/**
 * Builds the L9Runtime for `raw` config (over validRawConfig) and `previous` state, with
 * Pulumi's mocks, and waits until the switch output resolved (the whole graph registered).
 */
export async function buildProgramGraph(
    raw: Record<string, string | undefined>,
    previous: DeployState | undefined,
    kept: KeptImage[] = [],
): Promise<ProgramGraph> {
    const registered: Registered[] = [];
    const options = new Map<string, pulumi.ResourceOptions>();
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: mockState(args) };
            },
            call: (args) => args.inputs,
        },
        "l9-deploy",
        "unit",
        false,
    );
    const root = new pulumi.ComponentResource(
        "test:index:Root",
        "root",
        {},
        {
            transformations: [
                (args) => {
                    options.set(args.name, args.opts);
                    return undefined;
                },
            ],
        },
    );
    const { parseConfig } = await import("../../config/load");
    const { planRelease, resolveNetworkMode } = await import("../../state/slot-machine");
    const { convergeRollout, declareRuntimes, stackOutputs } = await import("../../components/rollout");
    const { hostAccessPaths } = await import("../../ssh/host-access");
    const { hostTargets, isMultiHost } = await import("../../config/schema");
    const config = parseConfig(validRawConfig(raw), SECRETS);
    const { keptAfterUpdate } = await import("../../plan/releases");
    const networkMode = resolveNetworkMode(config.networkMode, [previous]).mode;
    const plan = planRelease(previous, { tag: config.releaseTag, envFingerprint: "fp", networkMode }, new Set(kept.map((k) => k.tag)));
    const targets = hostTargets(config);
    const accesses = targets.map((t) =>
        hostAccessPaths(
            `/home/ops/.cache/l9-deploy/ssh/unit${t.name ? `/${t.name}` : ""}`,
            { host: t.host, port: t.sshPort, user: "root" },
            "/tmp/l9-ssh-0123456789abcdef",
        ),
    );
    const runtimes = declareRuntimes(config, accesses, root);
    // What plan/rollout.ts would return after checking the hosts: each host serves `previous`.
    const rollout: RolloutPlan = {
        hosts: targets.map((target) => ({ target, plan, kept: keptAfterUpdate(kept, plan, config.imagesToKeep) })),
        multi: isMultiHost(config),
        envFingerprint: "fp",
        actor: "ops@example.com",
        stackName: "l9-deploy/unit",
        startedAt: 0,
    };
    const converged = await convergeRollout(config, rollout, runtimes);
    const [outputs] = converged;
    const stack = stackOutputs(config, rollout, converged);
    await new Promise<void>((resolve) => pulumi.all(converged.map((o) => o.deployedAt)).apply(() => resolve()));
    // Resources after the switch (drift job, maintenance) register a little later: wait until
    // registrations stop, so the next graph's mocks never receive this one's.
    for (let seen = -1; seen !== registered.length;) {
        seen = registered.length;
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return {
        registered,
        options,
        runtime: runtimes[0],
        runtimes,
        stack,
        outputs,
        byName(name: string) {
            const r = registered.find((x) => x.name === name);
            if (!r) throw new Error(`no resource ${name}; registered: ${registered.map((x) => x.name).join(", ")}`);
            return r;
        },
    };
}
