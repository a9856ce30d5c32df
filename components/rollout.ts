/**
 * Then declare: the stack's resources, from the plan's plain values (plan/rollout.ts). Each
 * host's L9Runtime registers its connections first (declareRuntimes, before the plan), then
 * the release the plan decided, batch after batch (convergeRollout), then the stack's outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { DeployConfig, hostTargets, isMultiHost } from "../config/schema";
import { HostAccess } from "../ssh/host-access";
import { RolloutPlan } from "../plan/rollout";
import { childPrefix, L9Runtime, L9RuntimeOutputs, runtimeName } from "./runtime";

/**
 * Each host's runtime, before the update is planned: it registers the host's connections
 * (providers), whose plugins start while the hosts are checked. `parent` is the stack's root
 * when absent (a program), or a test's root component.
 */
export function declareRuntimes(config: DeployConfig, accesses: HostAccess[], parent?: pulumi.Resource): L9Runtime[] {
    const multi = isMultiHost(config);
    return hostTargets(config).map((target, i) => {
        const name = runtimeName(target.name);
        return new L9Runtime(name, { config, target, access: accesses[i] }, { parent, ...(multi && i === 0 ? adoptSingleHostNames(childPrefix(name)) : {}) });
    });
}

/**
 * Declares the release the plan decided on each host, batch after batch of the roll: each
 * batch's preflights depend on the previous batch's switches (the roll is the engine's graph).
 *
 * Once, after the first batch's preflights, it lets their registrations go out before the
 * rest is declared: declared with the rest, a preflight registered only after about 45 other
 * resources were prepared and ran beside their refreshes instead of ahead of them, 0.5 to 0.7
 * s later under load (docs/performance.md, "Seventh round"). Everything else is declared in
 * one go from the plan.
 */
export async function convergeRollout(config: DeployConfig, rollout: RolloutPlan, runtimes: L9Runtime[]): Promise<L9RuntimeOutputs[]> {
    const { batchSize, pauseSeconds } = config.rollout;
    const outputs: L9RuntimeOutputs[] = [];
    for (let first = 0; first < rollout.hosts.length; first += batchSize) {
        const batch = rollout.hosts.slice(first, first + batchSize).map((host, j) => ({
            runtime: runtimes[first + j],
            release: {
                plan: host.plan,
                kept: host.kept,
                envFingerprint: rollout.envFingerprint,
                actor: rollout.actor,
                after: outputs.slice(first - batchSize, first).map((o) => o.switched),
                pauseSeconds: first > 0 ? pauseSeconds : 0,
                stackName: rollout.stackName,
                startedAt: rollout.startedAt,
            },
        }));
        const preflights = batch.map(({ runtime, release }) => runtime.declarePreflight(release));
        if (first === 0) await new Promise((resolve) => setImmediate(resolve));
        batch.forEach(({ runtime, release }, j) => outputs.push(runtime.converge(release, preflights[j])));
    }
    return outputs;
}

/** The stack's outputs; `deployState` is read back by the next update (state/previous-state.ts). */
export function stackOutputs(config: DeployConfig, rollout: RolloutPlan, outs: L9RuntimeOutputs[]): Record<string, unknown> {
    if (!rollout.multi) {
        const [out] = outs;
        return {
            releaseTag: config.releaseTag,
            transition: rollout.hosts[0].plan.transition,
            ...hostOutputs(out),
            deployedBy: rollout.actor,
            maintenance: out.maintenance,
            // Resolves only once the switch succeeded, so a failed gate never records a switch that did not happen.
            deployState: pulumi.secret(out.deployedAt.apply(() => out.state)),
        };
    }
    return {
        releaseTag: config.releaseTag,
        hosts: Object.fromEntries(
            rollout.hosts.map(({ target, plan }, i) => [
                target.name,
                { address: `${target.host}:${target.sshPort}`, tag: config.releaseTag, transition: plan.transition, ...hostOutputs(outs[i]) },
            ]),
        ),
        deployedBy: rollout.actor,
        maintenance: outs[0].maintenance,
        // Resolves only once every host switched: a stopped roll records nothing, and the next
        // update plans each host from the last complete one (its resources say where it is).
        deployState: pulumi.secret(
            pulumi.all(outs.map((o) => o.deployedAt)).apply(() => ({ hosts: Object.fromEntries(rollout.hosts.map((h, i) => [h.target.name, outs[i].state])) })),
        ),
    };
}

/** What the stack outputs say of one host. */
function hostOutputs(out: L9RuntimeOutputs) {
    return {
        activeSlot: out.activeSlot,
        commit: out.commit,
        imageId: out.imageId,
        slots: out.slots,
        releases: out.releases,
        url: out.url,
        deployedAt: out.deployedAt,
        ...(out.retired ? { retired: out.retired } : {}),
    };
}

/**
 * The first host of `hosts` answers to the names its resources had in a single-host stack
 * (`traffic-gate` for `web-1-traffic-gate`): a stack that grows from `host` to `hosts` keeps
 * its running host as it is and only adds the others. Providers keep their new names: one
 * with the same settings (the first host keeps the single-host connections) changes nothing.
 */
function adoptSingleHostNames(prefix: string): pulumi.ComponentResourceOptions {
    return {
        aliases: [{ name: "l9" }],
        transformations: [
            (a) =>
                a.name.startsWith(prefix) && !a.type.startsWith("pulumi:providers:")
                    ? { props: a.props, opts: pulumi.mergeOptions(a.opts, { aliases: [{ name: a.name.slice(prefix.length) }] }) }
                    : undefined,
        ],
    };
}
