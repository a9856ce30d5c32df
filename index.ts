/**
 * l9-deploy: the production runtime of the L9 API on one VPS, or rolled over several. Set
 * `releaseTag`, run `pulumi up`, and each host converges: checkout, image, blue/green slots,
 * gate, switch; host after host, as `rollout` says.
 */
import * as pulumi from "@pulumi/pulumi";
import * as os from "os";
import { startCommandPlugin } from "./components/host";
import { deployKeyLifetimeSeconds, L9Runtime, L9RuntimeOutputs } from "./components/runtime";
import { envFingerprint as envFingerprintOf } from "./components/env-file";
import { loadConfig } from "./config/load";
import { MessageOnlyError } from "./config/message-error";
import { HostTarget, hostTargets } from "./config/schema";
import { readPreviousDeployment } from "./state/previous-state";
import { planRelease, resolveNetworkMode } from "./state/slot-machine";
import { foreignServerRefusal, listenerConflict, parseServingFacts, reconcileWithHost } from "./state/host-record";
import { renderServingFactsScript } from "./host-scripts/serving-facts";
import { HostAccess } from "./ssh/host-access";
import { prepareHostAccess } from "./ssh/agent";
import { verifyHostAccess } from "./ssh/host-check";

export = async () => {
    const config = loadConfig();
    const targets = hostTargets(config);
    const multi = config.hosts !== undefined;
    // Host output older than this is from an earlier update (the host clock may lag by the allowed skew).
    const startedAt = Date.now() - config.maxClockSkewSeconds * 1000;
    const stackId = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    // The previous state is read while the hosts are checked, and each host's providers
    // register at once, so their plugins start meanwhile. No other resource registers before
    // every check passed: the releases, which everything else waits for, are known only after.
    const previousRead = readPreviousDeployment();
    startCommandPlugin();
    previousRead.catch(() => undefined); // a failed check below is the error to report
    // The agent forgets the deploy key after the longest this update can take, even if its watcher never runs.
    const keyLifetimeSeconds = deployKeyLifetimeSeconds(config, targets.length);
    const accesses: HostAccess[] = targets.map((t, i) => {
        try {
            // The deploy key goes into the stack's SSH agent (one per host); resources only ever see its socket path.
            return prepareHostAccess({
                // The first host keeps a single-host stack's agent and connections (see adoptSingleHostNames).
                stackId: i > 0 ? `${stackId}/${t.name}` : stackId,
                host: t.host,
                port: t.sshPort,
                user: config.sshUser,
                hostKey: t.hostKey,
                privateKey: config.sshPrivateKey,
                keyLifetimeSeconds,
            });
        } catch (e) {
            throw hostAccessError([describeHost(t, multi, e)]);
        }
    });
    // Every host is checked before anything runs on any of them: a changed host key, a refused
    // key or a wrong clock on one host stops the whole update, naming the host.
    // The check also reads what each host says serves: the host, not the stack's record, is
    // the truth about which container Caddy routes to (state/host-record.ts).
    const servingFacts = renderServingFactsScript({ appDir: config.appDir, serviceName: config.serviceName, caddyAdmin: config.caddyAdmin });
    const verified = Promise.allSettled(
        targets.map((t, i) =>
            verifyHostAccess(accesses[i], { host: t.host, port: t.sshPort, user: config.sshUser }, config.maxClockSkewSeconds, { alsoRun: servingFacts }),
        ),
    ).then((results) => {
        const refused = results.flatMap((r, i) => {
            if (r.status === "rejected") return [describeHost(targets[i], multi, r.reason)];
            // A Caddy server of the service's name that l9-deploy did not create is never taken over,
            // and another server on caddyListen (a rename's old name) is never fought over.
            const facts = parseServingFacts(r.value.read, config.serviceName);
            if (facts?.foreignServer) return [describeHost(targets[i], multi, foreignServerRefusal(config.serviceName, config.caddyAdmin))];
            const conflict = listenerConflict(facts, config.serviceName, config.caddyListen);
            return conflict ? [describeHost(targets[i], multi, conflict)] : [];
        });
        if (refused.length > 0) throw hostAccessError(refused);
        return results.map((r) => (r.status === "fulfilled" ? r.value.read : ""));
    });
    // Release identity = tag + env: an env change is deployed like a release.
    const envFingerprint = envFingerprintOf(config.env);
    // A failed check is the error to report, before anything the previous state says.
    const releases = verified.then((live) =>
        previousRead.then((previous) => {
            if (multi && previous.singleHost) {
                pulumi.log.warn(
                    `growing from one host to several: ${targets[0].name} keeps the single-host resources (aliases). Run this update with --refresh=false: a Pulumi engine assertion fails when it refreshes a resource found by its alias (README, "Several hosts").`,
                );
            }
            const states = targets.map((t, i) => {
                const { state, disagreement } = reconcileWithHost(previous.stateOf(t.name, i === 0), parseServingFacts(live[i], config.serviceName));
                if (disagreement) pulumi.log.warn(multi ? `${t.name}: ${disagreement}` : disagreement);
                return state;
            });
            // One mode for the stack: unset, a deployed stack keeps the one it serves with.
            const network = resolveNetworkMode(config.networkMode, states);
            if (network.warning) pulumi.log.warn(network.warning);
            const plans = states.map((state) => planRelease(state, { tag: config.releaseTag, envFingerprint, networkMode: network.mode }));
            const actor =
                plans.every((p) => p.transition === "unchanged") && previous.deployedBy
                    ? previous.deployedBy
                    : (config.deployedBy ?? `${os.userInfo().username}@${os.hostname()}`);
            plans.forEach((plan, i) =>
                pulumi.log.info(`release plan${multi ? ` of ${targets[i].name}` : ""}: ${plan.transition} (${config.releaseTag} → ${plan.target})`),
            );
            return { plans, actor };
        }),
    );

    // The roll is the engine's graph: each batch's preflight depends on the previous batch's switches.
    const runtimes: L9Runtime[] = [];
    targets.forEach((t, i) => {
        const batch = Math.floor(i / config.rollout.batchSize);
        const previousBatch = runtimes.slice((batch - 1) * config.rollout.batchSize, batch * config.rollout.batchSize);
        runtimes.push(
            new L9Runtime(
                multi ? `l9-${t.name}` : "l9",
                {
                    config,
                    target: t,
                    childPrefix: multi ? `${t.name}-` : "",
                    access: accesses[i],
                    release: releases.then((r) => ({ plan: r.plans[i], envFingerprint, actor: r.actor })),
                    after: batch > 0 ? Promise.all(previousBatch.map((r) => r.outputs.then((o) => o.switched))) : Promise.resolve([]),
                    pauseSeconds: batch > 0 ? config.rollout.pauseSeconds : 0,
                    stackName: `${pulumi.getProject()}/${pulumi.getStack()}`,
                    startedAt,
                },
                multi && i === 0 ? adoptSingleHostNames(`${t.name}-`) : undefined,
            ),
        );
    });
    // A failed check rejects the releases: this is where the program reports it.
    const outs = await Promise.all(runtimes.map((r) => r.outputs));
    const { plans, actor } = await releases;

    if (!multi) {
        const [out] = outs;
        return {
            releaseTag: config.releaseTag,
            transition: plans[0].transition,
            ...hostOutputs(out),
            deployedBy: actor,
            maintenance: out.maintenance,
            // Read back by the next update (state/previous-state.ts); resolves only once the
            // switch succeeded, so a failed gate never records a switch that did not happen.
            deployState: pulumi.secret(out.deployedAt.apply(() => out.state)),
        };
    }
    return {
        releaseTag: config.releaseTag,
        hosts: Object.fromEntries(
            targets.map((t, i) => [
                t.name,
                { address: `${t.host}:${t.sshPort}`, tag: config.releaseTag, transition: plans[i].transition, ...hostOutputs(outs[i]) },
            ]),
        ),
        deployedBy: actor,
        maintenance: outs[0].maintenance,
        // Resolves only once every host switched: a stopped roll records nothing, and the next
        // update plans each host from the last complete one (its resources say where it is).
        deployState: pulumi.secret(
            pulumi.all(outs.map((o) => o.deployedAt)).apply(() => ({ hosts: Object.fromEntries(targets.map((t, i) => [t.name, outs[i].state])) })),
        ),
    };
};

/** What the stack outputs say of one host. */
function hostOutputs(out: L9RuntimeOutputs) {
    return { activeSlot: out.activeSlot, commit: out.commit, imageId: out.imageId, slots: out.slots, url: out.url, deployedAt: out.deployedAt };
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

function describeHost(t: HostTarget, multi: boolean, e: unknown): string {
    const message = e instanceof Error ? e.message : String(e);
    return multi ? `host ${t.name}: ${message}` : message;
}

function hostAccessError(messages: string[]): MessageOnlyError {
    return new MessageOnlyError("HostAccessError", messages.join("\n"));
}
