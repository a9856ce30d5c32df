/**
 * What the operator tools (recover, env:import) share: the pulumi CLI of this project
 * (scripts/pulumi.sh: the pinned toolchain), the stack they act on, its configuration
 * validated as the program validates it, and one script run on one of its hosts.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { CONFIG_NAMESPACE } from "../config/load";
import type { DeployConfig, HostTarget } from "../config/schema";
import { runProbeScript, type ScriptResult } from "../providers/ssh";
import { prepareHostAccess } from "../ssh/agent";
import { probeSshOptions } from "../ssh/openssh-options";

const root = path.resolve(__dirname, "..");

/** A pulumi CLI run: its exit code, stdout, and stdout+stderr (for error messages). */
export interface PulumiRun {
    readonly code: number;
    readonly stdout: string;
    readonly out: string;
}

/** Runs this project's pulumi with `args`; `stdin` is its standard input (never argv: a secret goes there). */
export function runPulumi(args: string[], stdin?: string): PulumiRun {
    const r = spawnSync("bash", [path.join(root, "scripts/pulumi.sh"), ...args], {
        cwd: root,
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
        ...(stdin !== undefined ? { input: stdin } : {}),
    });
    return { code: r.status ?? 1, stdout: r.stdout, out: `${r.stdout}${r.stderr}` };
}

/**
 * Runs this project's pulumi with `args` on the operator's terminal (stdio inherited): pulumi
 * prints its own preview and asks its own questions. Its exit code (1 when it has none).
 */
export function runPulumiInteractive(args: string[]): number {
    return runOutlivingSignals("bash", [path.join(root, "scripts/pulumi.sh"), ...args], root);
}

/** The signals that end a terminal's job: Ctrl-C, a closed terminal, a CI job's timeout. */
const JOB_ENDING_SIGNALS = ["SIGINT", "SIGHUP", "SIGTERM"] as const;

/**
 * Until the returned function is called, a signal that ends the job does not end this process:
 * a tool that changed something (the stack's releaseTag) finishes what undoes or reports it.
 */
export function holdJobSignals(): () => void {
    const keepRunning = () => undefined;
    for (const signal of JOB_ENDING_SIGNALS) process.on(signal, keepRunning);
    return () => {
        for (const signal of JOB_ENDING_SIGNALS) process.off(signal, keepRunning);
    };
}

/**
 * Runs `file` on the terminal (stdio inherited) and returns its exit code (1 when it has none),
 * holding the job's signals meanwhile (holdJobSignals). Sent to the terminal's process group, a
 * signal reaches the child too: pulumi cancels its update on SIGINT and SIGTERM, and is ended
 * by SIGHUP. Sent to this process alone, it is not passed on (the process waits in spawnSync):
 * the child runs to its end.
 */
export function runOutlivingSignals(file: string, args: string[], cwd: string): number {
    const release = holdJobSignals();
    try {
        const r = spawnSync(file, args, { cwd, stdio: "inherit" });
        return r.status ?? 1;
    } finally {
        release();
    }
}

/** The value of `--stack NAME` (or `-s NAME`) in `args`, else PULUMI_STACK, else the selected stack; "" when none. */
export function stackArgument(args: string[]): string {
    const i = args.findIndex((a) => a === "--stack" || a === "-s");
    if (i >= 0) return args[i + 1] ?? "";
    return process.env.PULUMI_STACK ?? runPulumi(["stack", "--show-name"]).stdout.trim();
}

/** The stack's `l9-deploy:*` settings as Pulumi stores them (secrets decrypted), and which are secret. */
export interface RawStackConfig {
    readonly raw: Record<string, string>;
    readonly secretKeys: Set<string>;
}

/** Reads the stack's configuration through the CLI (decrypting its secrets: the deploy key reaches the host). */
export function readStackConfig(stack: string): RawStackConfig | { error: string } {
    const shown = runPulumi(["config", "--json", "--show-secrets", "--stack", stack]);
    if (shown.code !== 0) return { error: shown.out.slice(-2000) };
    const raw: Record<string, string> = {};
    const secretKeys = new Set<string>();
    for (const [fullKey, v] of Object.entries(JSON.parse(shown.stdout) as Record<string, { value?: unknown; secret?: boolean }>)) {
        if (!fullKey.startsWith(`${CONFIG_NAMESPACE}:`)) continue;
        const key = fullKey.slice(CONFIG_NAMESPACE.length + 1);
        raw[key] = typeof v.value === "string" ? v.value : JSON.stringify(v.value);
        if (v.secret) secretKeys.add(key);
    }
    return { raw, secretKeys };
}

/**
 * Runs `script` on `target` as the program reaches it: the stack's deploy key in an agent of
 * its own (held for `keyLifetimeSeconds`), the pinned host key. `tool` names the agent's owner.
 * `attempts`: how often a connection that could not be made is tried (a script that changes
 * the host passes 1: a lost session looks the same, and its script may still be running).
 */
export async function runOnStackHost(
    config: DeployConfig,
    target: HostTarget,
    tool: string,
    keyLifetimeSeconds: number,
    script: string,
    attempts?: number,
): Promise<ScriptResult> {
    const access = prepareHostAccess({
        stackId: tool,
        host: target.host,
        port: target.sshPort,
        user: config.sshUser,
        hostKey: target.hostKey,
        privateKey: config.sshPrivateKey,
        keyLifetimeSeconds,
    });
    return runProbeScript({ host: target.host, port: target.sshPort, user: config.sshUser, sshOptions: probeSshOptions(access) }, script, attempts);
}
