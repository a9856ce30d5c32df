/**
 * `npm run rollback -- [TAG] [--stack NAME] [--yes]`: goes back to an earlier release. Without
 * TAG, the newest release the first host's journal recorded live that does not serve now. It
 * reads each host (read-only), prints how the release gets there (a switch to the standby slot,
 * a container from a kept image, or a checkout and build), then sets the stack's `releaseTag`
 * and runs `pulumi up` on the terminal: pulumi shows its preview and, without --yes, asks
 * before changing anything. An update that does not complete sets `releaseTag` back, unless a
 * host serves the release by then (a roll stopped part-way: pulumi up again finishes it). Exit 0
 * when the release serves (or served already), pulumi's exit code when its update failed, 1 when
 * reading a host or setting the config failed, 2 on bad arguments or configuration.
 */
import { DeployConfig, hostTargets, isReleaseTagName } from "../config/schema";
import { parseRollbackFacts, renderRollbackFactsScript, RollbackFacts } from "../host-scripts/rollback-facts";
import { describeSshFailure } from "../ssh/host-check";
import { hostLabel, runRunbook, RunbookError, stackConfig } from "./backup-runbook";
import { chooseRollbackTag, describeRollback, servingTag } from "./rollback-plan";
import { holdJobSignals, runOnStackHost, runPulumi, runPulumiInteractive } from "./stack-cli";

const TOOL = "rollback";
const USAGE = "usage: npm run rollback -- [TAG] [--stack NAME] [--yes]";
/** How long the agent holds the deploy key: one short read-only script per host. */
const ROLLBACK_KEY_LIFETIME_SECONDS = 300;
/** Reading changes nothing, so a connection that could not be made is tried again. */
const READ_ATTEMPTS = 3;

/** The requested tag (if any) and --yes; every other argument is refused. */
function parseArguments(args: string[]): { requested?: string; yes: boolean } {
    const valued = new Set(["--stack", "-s"]);
    const positional: string[] = [];
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (valued.has(a)) {
            if (args[i + 1] === undefined) throw new RunbookError(2, `${a} needs a stack name. ${USAGE}`);
            i++;
        } else if (a.startsWith("-") && a !== "--yes") {
            throw new RunbookError(2, `unknown option ${a}. ${USAGE}`);
        } else if (a !== "--yes") {
            positional.push(a);
        }
    }
    if (positional.length > 1) throw new RunbookError(2, `name at most one release tag. ${USAGE}`);
    return { ...(positional.length === 1 ? { requested: positional[0] } : {}), yes: args.includes("--yes") };
}

/** Refuses a tag the stack's configuration would refuse, before anything changes. */
function checkTagPattern(config: DeployConfig, tag: string): void {
    let pattern: RegExp;
    try {
        pattern = new RegExp(config.tagPattern);
    } catch {
        return;
    }
    if (!pattern.test(tag)) throw new RunbookError(2, `${tag} does not match the stack's release tag pattern ${config.tagPattern}: nothing was changed`);
}

async function main(): Promise<number> {
    const args = process.argv.slice(2);
    const { requested, yes } = parseArguments(args);
    if (requested !== undefined && !isReleaseTagName(requested)) {
        throw new RunbookError(2, `${JSON.stringify(requested)} is not a release tag's name. ${USAGE}`);
    }
    const { stack, config } = stackConfig(args, USAGE);
    if (requested !== undefined) checkTagPattern(config, requested);
    const script = renderRollbackFactsScript({ appDir: config.appDir, serviceName: config.serviceName });
    const readHosts = () =>
        Promise.all(
            hostTargets(config).map(async (target) => {
                const r = await runOnStackHost(
                    config,
                    target,
                    `${TOOL}/${stack}${target.name ? `/${target.name}` : ""}`,
                    ROLLBACK_KEY_LIFETIME_SECONDS,
                    script,
                    READ_ATTEMPTS,
                );
                if (r.code === 255) throw new RunbookError(1, describeSshFailure(target.host, target.sshPort, r.stderr, r.code));
                if (r.code !== 0) throw new RunbookError(1, `reading ${hostLabel(target)} failed (exit ${r.code}): ${r.stderr.trim() || "(no output)"}`);
                return { label: hostLabel(target), facts: parseRollbackFacts(r.stdout) };
            }),
        );
    const hosts = await readHosts().catch((e: unknown) => {
        throw e instanceof RunbookError ? new RunbookError(e.code, `${e.message}\nnothing was changed`) : e;
    });
    // The first host is the first the rollout changes: its journal decides.
    const chosen = chooseRollbackTag(hosts[0].facts, requested);
    if (chosen.kind === "refused") throw new RunbookError(2, chosen.message);
    // Nothing to do only when every host serves it and the stack asks for it: a roll stopped
    // part-way (the first host switched, the next not) is finished by setting it and updating.
    const servesEverywhere = (tag: string, read: typeof hosts) => read.every((h) => servingTag(h.facts) === tag);
    if (chosen.kind === "already-serves" && servesEverywhere(chosen.tag, hosts) && config.releaseTag === chosen.tag) {
        process.stdout.write(
            `${TOOL}: ${chosen.tag} serves already${hosts.length > 1 ? " on every host" : ""}, and the stack's releaseTag is ${chosen.tag}: nothing to do\n`,
        );
        return 0;
    }
    const choice = chosen.kind === "already-serves" ? { kind: "rollback" as const, tag: chosen.tag, serving: chosen.tag } : chosen;
    const tag = choice.tag;
    checkTagPattern(config, tag);
    process.stdout.write(describeRollback(choice, hosts, config.imagesToKeep).join("\n") + "\n");
    if (!yes && !process.stdin.isTTY) {
        throw new RunbookError(2, "stdin is not a terminal, so pulumi cannot ask: pass --yes to apply without a prompt (nothing was changed)");
    }
    // From the config's change on, the tool finishes what it started (it sets releaseTag back
    // after an update that did not complete), whatever signal ends the job meanwhile.
    const releaseSignals = holdJobSignals();
    try {
        return await applyRollback(stack, config.releaseTag, tag, yes, readHosts);
    } finally {
        releaseSignals();
    }
}

type HostReads = { label: string; facts: RollbackFacts }[];

/** Sets releaseTag to `tag` and runs pulumi up; sets it back when the update did not complete and no host serves `tag`. */
async function applyRollback(stack: string, previousTag: string, tag: string, yes: boolean, readHosts: () => Promise<HostReads>): Promise<number> {
    const recordedTag = () => {
        const output = runPulumi(["stack", "output", "releaseTag", "--stack", stack]);
        return output.code === 0 ? output.stdout.trim() : undefined;
    };
    const recordedBefore = recordedTag();
    const set = runPulumi(["config", "set", "releaseTag", tag, "--stack", stack]);
    if (set.code !== 0) throw new RunbookError(1, `cannot set the stack's releaseTag to ${tag} (nothing was changed):\n${set.out.slice(-2000)}`);
    process.stdout.write(`${TOOL}: releaseTag ${previousTag} -> ${tag}; running pulumi up --stack ${stack}${yes ? " --yes" : ""}\n`);
    const code = runPulumiInteractive(["up", "--stack", stack, ...(yes ? ["--yes"] : [])]);
    if (code === 0) {
        process.stdout.write(`${TOOL}: ${tag} serves; the stack's releaseTag is ${tag} (commit Pulumi.${stack}.yaml if your team keeps it in git)\n`);
        return 0;
    }
    // A declined or failed update: releaseTag goes back, unless this update recorded the rollback
    // or a host serves it now (a roll stopped part-way: setting it back would roll that host forward again).
    if (recordedTag() === tag && recordedBefore !== tag) {
        process.stderr.write(
            `${TOOL}: pulumi up failed (exit ${code}) after the stack recorded ${tag}: releaseTag stays ${tag}; pulumi's lines above say what failed\n`,
        );
        return code;
    }
    const after = await readHosts().catch(() => undefined);
    const switched = after?.filter((h) => servingTag(h.facts) === tag).map((h) => h.label);
    if (switched === undefined || switched.length > 0) {
        const why =
            switched === undefined
                ? "the hosts could not be read again to know what serves"
                : `${switched.join(", ")} serve${switched.length > 1 ? "" : "s"} ${tag} now`;
        process.stderr.write(
            `${TOOL}: the rollback did not complete, but ${why}: releaseTag stays ${tag}. ` +
                `Run pulumi up again to finish it (pulumi's lines above say what failed)\n`,
        );
        return code;
    }
    const back = runPulumi(["config", "set", "releaseTag", previousTag, "--stack", stack]);
    if (back.code !== 0) {
        process.stderr.write(
            `${TOOL}: the rollback did not complete, and releaseTag could not be set back to ${previousTag}: ` +
                `run pulumi config set releaseTag ${previousTag} --stack ${stack}\n${back.out.slice(-2000)}\n`,
        );
        return code;
    }
    const serves = after!.every((h) => servingTag(h.facts) === previousTag) ? " (what serves)" : "";
    process.stderr.write(`${TOOL}: the rollback did not complete; the stack's releaseTag is back at ${previousTag}${serves}\n`);
    return code;
}

runRunbook(TOOL, main);
