/**
 * Plan first: everything the update needs to know before any release resource registers. The
 * hosts are checked (pinned key, deploy key, clock, what serves), the stack's previous outputs
 * are read, and each host gets one plain release plan. The release is then declared from these
 * values alone (components/rollout.ts).
 */
import * as os from "os";
import * as pulumi from "@pulumi/pulumi";
import { startCommandPlugin } from "../components/host";
import { envFingerprint as envFingerprintOf } from "../components/env-file";
import { deployKeyLifetimeSeconds } from "../components/runtime";
import { MessageOnlyError } from "../config/message-error";
import { DeployConfig, HostTarget, hostTargets, isMultiHost } from "../config/schema";
import { renderServingFactsScript } from "../host-scripts/serving-facts";
import { prepareHostAccess } from "../ssh/agent";
import { HostAccess } from "../ssh/host-access";
import { verifyHostAccess } from "../ssh/host-check";
import { foreignServerRefusal, listenerConflict, slotPortConflict, parseServingFacts, reconcileWithHost, ServingFacts } from "../state/host-record";
import { KeptImage } from "../host-scripts/kept-releases";
import { keptAfterUpdate } from "./releases";
import { PreviousDeployment, readPreviousDeployment } from "../state/previous-state";
import { runningCli } from "../state/running-cli";
import { readStackHistory } from "../state/stack-history";
import { decideFreeze, freezeRefusal, renderFreezeNote } from "./freeze";
import { planRelease, ReleasePlan, resolveNetworkMode } from "../state/slot-machine";

/** One host's part of the update. */
export interface HostPlan {
    /** The host: its address, pinned key and name ("" on a single-host stack). */
    readonly target: HostTarget;
    /** Its release plan (the two-slot state machine, from what the host says serves). */
    readonly plan: ReleasePlan;
    /** The releases outside the slots whose image the host keeps after this update, newest first (a rollback to them needs no build). */
    readonly kept: KeptImage[];
}

/** The whole update, as plain values. */
export interface RolloutPlan {
    /** In rollout order. */
    readonly hosts: HostPlan[];
    /** The config lists `hosts` (isMultiHost): resources and outputs are named per host. */
    readonly multi: boolean;
    /** Release identity beside the tag (secret-derived, not secret itself). */
    readonly envFingerprint: string;
    /** Who deploys (recorded on the host and in the outputs). */
    readonly actor: string;
    /** The stack as notifications name it (project/stack); it also claims appDir. */
    readonly stackName: string;
    /** When this update started, minus the allowed clock skew (epoch ms): host output older than this is from an earlier update. */
    readonly startedAt: number;
}

/**
 * Puts the deploy key into the stack's SSH agent, one per host: resources only ever see its
 * socket path. A host whose agent cannot start stops the update before any resource.
 */
export function prepareHostAccesses(config: DeployConfig): HostAccess[] {
    const targets = hostTargets(config);
    const multi = isMultiHost(config);
    const stackId = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    // The agent forgets the deploy key after the longest this update can take, even if its watcher never runs.
    const keyLifetimeSeconds = deployKeyLifetimeSeconds(config, targets.length);
    return targets.map((t, i) => {
        try {
            return prepareHostAccess({
                // The first host keeps a single-host stack's agent and connections (components/rollout.ts).
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
}

/**
 * Checks every host and plans each one. Every host is checked before anything runs on any of
 * them: a changed host key, a refused key, a wrong clock or a Caddy server that is not ours on
 * one host stops the whole update, naming the host. The host, not the stack's record, is the
 * truth about which container Caddy routes to (state/host-record.ts).
 */
export async function planRollout(config: DeployConfig, accesses: HostAccess[]): Promise<RolloutPlan> {
    const targets = hostTargets(config);
    const multi = isMultiHost(config);
    // Host output older than this is from an earlier update (the host clock may lag by the allowed skew).
    const startedAt = Date.now() - config.maxClockSkewSeconds * 1000;
    // Read while the hosts are checked; a failed check is the error to report, before anything it says.
    const previousRead = readPreviousDeployment();
    const historyRead = readStackHistory().catch((e: Error) => e);
    startCommandPlugin();
    const [checked, previousResult] = await Promise.allSettled([checkHosts(config, targets, accesses, multi), previousRead]);
    // A freeze stops the update before anything runs on a host, whatever the hosts said.
    const freeze = decideFreeze(config.freeze, await historyRead, operator(config));
    // A preview, and a refresh (it reads the hosts, changes none), only say so.
    const refusal = pulumi.runtime.isDryRun() || runningCli().command === "refresh" ? undefined : freezeRefusal(freeze);
    if (refusal) throw refusal;
    const freezeNote = renderFreezeNote(freeze);
    if (freezeNote) (freeze.kind === "lifting" ? pulumi.log.info : pulumi.log.warn)(freezeNote);
    if (checked.status === "rejected") throw checked.reason;
    if (previousResult.status === "rejected") throw previousResult.reason;
    const previous = previousResult.value;
    if (multi && previous.singleHost) {
        pulumi.log.warn(
            `growing from one host to several: ${targets[0].name} keeps the single-host resources (aliases). Run this update with --refresh=false: ` +
                `a Pulumi engine assertion fails when it refreshes a resource found by its alias (README, "Several hosts").`,
        );
    }
    // Release identity = tag + env: an env change is deployed like a release.
    const envFingerprint = envFingerprintOf(config.env);
    const facts = checked.value.map((text) => parseServingFacts(text, config.serviceName));
    const plans = planHosts(config, targets, facts, previous, envFingerprint, multi);
    const actor = plans.every((p) => p.transition === "unchanged") && previous.deployedBy ? previous.deployedBy : operator(config);
    plans.forEach((plan, i) => pulumi.log.info(`release plan${multi ? ` of ${targets[i].name}` : ""}: ${describePlan(plan, config.releaseTag)}`));
    const schemaNote = schemaGuardNote(config, plans);
    if (schemaNote) (config.allowSchemaRollback ? pulumi.log.warn : pulumi.log.info)(schemaNote);
    return {
        hosts: targets.map((target, i) => ({ target, plan: plans[i], kept: keptAfterUpdate(facts[i]?.kept ?? [], plans[i], config.imagesToKeep) })),
        multi,
        envFingerprint,
        actor,
        stackName: `${pulumi.getProject()}/${pulumi.getStack()}`,
        startedAt,
    };
}

/** One host's plan in a line: the transition, the tag and slot, and where a release's image comes from. */
export function describePlan(plan: ReleasePlan, tag: string): string {
    const line = `${plan.transition} (${tag} → ${plan.target})`;
    if (plan.replaced === null) return line;
    return plan.next.slots[plan.replaced]?.fromKeptImage
        ? `${line}, from its image kept on the host: no checkout, no build`
        : `${line}, checked out and built on the host (unless its image is there)`;
}

/** Who runs this update: deployedBy, or the local user at this machine. */
function operator(config: DeployConfig): string {
    return config.deployedBy ?? `${os.userInfo().username}@${os.hostname()}`;
}

/** What the schema guard will do with a switch back to the standby (host-scripts/schema-guard.ts), said in the preview. */
export function schemaGuardNote(config: DeployConfig, plans: ReleasePlan[]): string | undefined {
    if (!config.schemaRevisionCommand || !plans.some((p) => p.transition === "switch-to-standby")) return undefined;
    if (config.allowSchemaRollback) {
        return (
            `allowSchemaRollback is set: the switch back to ${config.releaseTag} goes ahead whatever schema revision the database is at. ` +
            `Remove it after this update: pulumi config rm allowSchemaRollback`
        );
    }
    return (
        `schema: before traffic moves back to ${config.releaseTag}, the database's revision is compared with the one it was released at; ` +
        (config.rollbackCheck ? "if they differ, rollbackCheck decides" : 'if they differ, the switch is refused (README, "A rollback that knows the schema")')
    );
}

/** Each host's plan: its record in the previous state, corrected by what it says serves; one network mode for the stack. */
function planHosts(
    config: DeployConfig,
    targets: HostTarget[],
    facts: (ServingFacts | undefined)[],
    previous: PreviousDeployment,
    envFingerprint: string,
    multi: boolean,
): ReleasePlan[] {
    const states = targets.map((t, i) => {
        const { state, disagreement } = reconcileWithHost(previous.stateOf(t.name, i === 0), facts[i]);
        if (disagreement) pulumi.log.warn(multi ? `${t.name}: ${disagreement}` : disagreement);
        return state;
    });
    // Unset, a deployed stack keeps the mode it serves with.
    const network = resolveNetworkMode(config.networkMode, states);
    if (network.warning) pulumi.log.warn(network.warning);
    return states.map((state, i) =>
        planRelease(state, { tag: config.releaseTag, envFingerprint, networkMode: network.mode }, new Set(facts[i]?.kept.map((k) => k.tag))),
    );
}

/**
 * Checks every host (all of them, at once) and returns what each says serves. A Caddy server
 * of the service's name that l9-deploy did not create is never taken over, and another server
 * on caddyListen (a rename's old name) is never fought over: both are refusals.
 */
async function checkHosts(config: DeployConfig, targets: HostTarget[], accesses: HostAccess[], multi: boolean): Promise<string[]> {
    const servingFacts = renderServingFactsScript({ appDir: config.appDir, serviceName: config.serviceName, caddyAdmin: config.caddyAdmin });
    const results = await Promise.allSettled(
        targets.map((t, i) =>
            verifyHostAccess(accesses[i], { host: t.host, port: t.sshPort, user: config.sshUser }, config.maxClockSkewSeconds, { alsoRun: servingFacts }),
        ),
    );
    const refused = results.flatMap((r, i) => {
        if (r.status === "rejected") return [describeHost(targets[i], multi, r.reason)];
        const facts = parseServingFacts(r.value.read, config.serviceName);
        if (facts?.foreignServer) return [describeHost(targets[i], multi, foreignServerRefusal(config.serviceName, config.caddyAdmin))];
        // In Caddyfile mode the routes go into the server that owns the address: nothing listens beside it.
        const conflict =
            (config.caddyfile ? undefined : listenerConflict(facts, config.serviceName, config.caddyListen)) ??
            slotPortConflict(facts, config.serviceName, config);
        return conflict ? [describeHost(targets[i], multi, conflict)] : [];
    });
    if (refused.length > 0) throw hostAccessError(refused);
    return results.map((r) => (r.status === "fulfilled" ? r.value.read : ""));
}

function describeHost(t: HostTarget, multi: boolean, e: unknown): string {
    const message = e instanceof Error ? e.message : String(e);
    return multi ? `host ${t.name}: ${message}` : message;
}

function hostAccessError(messages: string[]): MessageOnlyError {
    return new MessageOnlyError("HostAccessError", messages.join("\n"));
}
