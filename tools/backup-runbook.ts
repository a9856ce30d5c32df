/**
 * What `npm run backup:drill` and `npm run backup:restore` share: the stack's validated
 * configuration, the hosts a run goes to, and one host script run over SSH with the stack's
 * key and pinned host key, its lines printed.
 */
import { ConfigError, parseConfig } from "../config/load";
import { DeployConfig, HostTarget, hostTargets } from "../config/schema";
import { describeSshFailure } from "../ssh/host-check";
import { readStackConfig, runOnStackHost, stackArgument } from "./stack-cli";

/** How long the agent holds the deploy key: a restore of a large backup takes a while. */
const RUNBOOK_KEY_LIFETIME_SECONDS = 7800;

/** A runbook command's failure: its exit code and message. */
export class RunbookError extends Error {
    constructor(
        readonly code: number,
        message: string,
    ) {
        super(message);
    }
}

/** The stack (--stack, or the selected one) and its validated configuration; exit 2 when either is missing or invalid. */
export function stackConfig(args: string[], usage: string): { stack: string; config: DeployConfig } {
    const stack = stackArgument(args);
    if (!stack) throw new RunbookError(2, `no stack selected: pass --stack NAME. ${usage}`);
    const read = readStackConfig(stack);
    if ("error" in read) throw new RunbookError(2, `cannot read the configuration of stack ${stack}:\n${read.error}`);
    try {
        return { stack, config: parseConfig(read.raw, read.secretKeys) };
    } catch (e) {
        if (e instanceof ConfigError) throw new RunbookError(2, e.message);
        throw e;
    }
}

/** The host `--host NAME` names, or every host when it is absent (backup:restore refuses multi-host stacks before it asks). */
export function chosenHosts(config: DeployConfig, args: string[], usage: string): HostTarget[] {
    const i = args.indexOf("--host");
    const name = i >= 0 ? args[i + 1] : undefined;
    const targets = hostTargets(config);
    if (name === undefined) return targets;
    const chosen = targets.filter((t) => t.name === name);
    if (chosen.length === 0) throw new RunbookError(2, `--host must name one of the stack's hosts: ${targets.map((t) => t.name).join(", ")}. ${usage}`);
    return chosen;
}

/** How messages name a host. */
export function hostLabel(target: HostTarget): string {
    return target.name ? `${target.name} (${target.host})` : target.host;
}

/**
 * Runs `script` on the host once (never again on its own: it changes the host, and a session
 * lost midway looks like a connection never made) and prints what it printed; true when it
 * exited 0. `lost` says what a session lost midway means for this command.
 */
export async function runRunbookScript(tool: string, stack: string, config: DeployConfig, target: HostTarget, script: string, lost: string): Promise<boolean> {
    const r = await runOnStackHost(config, target, `${tool}/${stack}${target.name ? `/${target.name}` : ""}`, RUNBOOK_KEY_LIFETIME_SECONDS, script, 1);
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    if (r.code === 255) {
        process.stderr.write(
            `${tool}: ${describeSshFailure(target.host, target.sshPort, r.stderr, r.code)}\n${tool}: if the session was lost midway: ${lost}\n`,
        );
    }
    return r.code === 0;
}

/** Runs a runbook command's main: its exit code, a RunbookError's message on stderr. */
export function runRunbook(tool: string, main: () => Promise<number>): void {
    main().then(
        (code) => process.exit(code),
        (e: unknown) => {
            process.stderr.write(`${tool}: ${e instanceof Error ? e.message : String(e)}\n`);
            process.exit(e instanceof RunbookError ? e.code : 1);
        },
    );
}
