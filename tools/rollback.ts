/**
 * `npm run rollback -- [TAG] [--stack NAME] [--yes]`: goes back to an earlier release. Without
 * TAG, the newest release the first host's journal recorded live that does not serve now. It
 * reads each host (read-only), prints how the release gets there (a switch to the standby slot,
 * a container from a kept image, or a checkout and build), then sets the stack's `releaseTag`
 * and runs `pulumi up` on the terminal: pulumi shows its preview and, without --yes, asks
 * before changing anything. An update that does not complete sets `releaseTag` back. Exit 0
 * when the release serves (or served already), 1 when it failed, 2 on bad arguments or
 * configuration.
 */
import { DeployConfig, hostTargets } from "../config/schema";
import { looksLikeTagName, parseRollbackFacts, renderRollbackFactsScript } from "../host-scripts/rollback-facts";
import { describeSshFailure } from "../ssh/host-check";
import { hostLabel, runRunbook, RunbookError, stackConfig } from "./backup-runbook";
import { chooseRollbackTag, describeRollback, servingTag } from "./rollback-plan";
import { runOnStackHost, runPulumi, runPulumiInteractive } from "./stack-cli";

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
    if (requested !== undefined && !looksLikeTagName(requested)) {
        throw new RunbookError(2, `${JSON.stringify(requested)} is not a release tag's name. ${USAGE}`);
    }
    const { stack, config } = stackConfig(args, USAGE);
    if (requested !== undefined) checkTagPattern(config, requested);
    const script = renderRollbackFactsScript({ appDir: config.appDir, serviceName: config.serviceName });
    const hosts = await Promise.all(
        hostTargets(config).map(async (target) => {
            const r = await runOnStackHost(
                config,
                target,
                `${TOOL}/${stack}${target.name ? `/${target.name}` : ""}`,
                ROLLBACK_KEY_LIFETIME_SECONDS,
                script,
                READ_ATTEMPTS,
            );
            if (r.code === 255) throw new RunbookError(1, `${describeSshFailure(target.host, target.sshPort, r.stderr, r.code)}\nnothing was changed`);
            if (r.code !== 0)
                throw new RunbookError(1, `reading ${hostLabel(target)} failed (exit ${r.code}): ${r.stderr.trim() || "(no output)"}\nnothing was changed`);
            return { label: hostLabel(target), facts: parseRollbackFacts(r.stdout) };
        }),
    );
    // The first host is the first the rollout changes: its journal decides.
    const choice = chooseRollbackTag(hosts[0].facts, requested);
    if (choice.kind === "refused") throw new RunbookError(2, choice.message);
    if (choice.kind === "already-serves") {
        const note = config.releaseTag !== choice.tag ? ` (the stack's releaseTag is ${config.releaseTag}: pulumi up would deploy that)` : "";
        process.stdout.write(`${TOOL}: ${choice.tag} serves already on ${hosts[0].label}: nothing to do${note}\n`);
        return 0;
    }
    const tag = choice.tag;
    checkTagPattern(config, tag);
    process.stdout.write(describeRollback(choice, hosts, config.imagesToKeep).join("\n") + "\n");
    if (!yes && !process.stdin.isTTY) {
        throw new RunbookError(2, "stdin is not a terminal, so pulumi cannot ask: pass --yes to apply without a prompt (nothing was changed)");
    }
    const previousTag = config.releaseTag;
    const set = runPulumi(["config", "set", "releaseTag", tag, "--stack", stack]);
    if (set.code !== 0) throw new RunbookError(1, `cannot set the stack's releaseTag to ${tag} (nothing was changed):\n${set.out.slice(-2000)}`);
    process.stdout.write(`${TOOL}: releaseTag ${previousTag} -> ${tag}; running pulumi up --stack ${stack}${yes ? " --yes" : ""}\n`);
    const code = runPulumiInteractive(["up", "--stack", stack, ...(yes ? ["--yes"] : [])]);
    if (code === 0) {
        process.stdout.write(`${TOOL}: ${tag} serves; the stack's releaseTag is ${tag} (commit Pulumi.${stack}.yaml if your team keeps it in git)\n`);
        return 0;
    }
    // A declined or failed update: releaseTag goes back unless the stack recorded the rollback already.
    const output = runPulumi(["stack", "output", "releaseTag", "--stack", stack]);
    const recorded = output.code === 0 ? output.stdout.trim() : undefined;
    if (recorded === tag) {
        process.stderr.write(
            `${TOOL}: pulumi up failed (exit ${code}) after the stack recorded ${tag}: releaseTag stays ${tag}; pulumi's lines above say what failed\n`,
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
    const serves = previousTag === servingTag(hosts[0].facts) ? " (what serves)" : "";
    process.stderr.write(`${TOOL}: the rollback did not complete; the stack's releaseTag is back at ${previousTag}${serves}\n`);
    return code;
}

runRunbook(TOOL, main);
