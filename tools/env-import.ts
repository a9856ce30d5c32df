/**
 * `npm run env:import -- --from-host PATH [--host NAME] [--stack NAME]`: reads the env file a
 * host already has (the old runbooks' `/opt/l9/.env`) over the stack's pinned SSH connection
 * and stores it as the stack's secret `env`. Values never reach a log, argv or the terminal:
 * the file travels over SSH into this process, and from it into `pulumi config set --secret`
 * on stdin; only key names are printed. A file with a line that cannot be imported as is
 * stores nothing. Exit 0 when stored, 1 when refused, 2 on bad arguments or configuration.
 */
import { ConfigError, parseConfig } from "../config/load";
import { hostTargets, isMultiHost } from "../config/schema";
import { parseEnvFileForImport } from "../config/env-import";
import { renderReadEnvFileForImportScript } from "../host-scripts/env-file";
import { describeSshFailure } from "../ssh/host-check";
import { readStackConfig, runOnStackHost, runPulumi, stackArgument } from "./stack-cli";
import { describeEnvChange } from "./env-import-report";

/** How long the agent holds the deploy key for the import's one read. */
const IMPORT_KEY_LIFETIME_SECONDS = 600;
const USAGE = "usage: npm run env:import -- --from-host /opt/l9/.env [--host NAME] [--stack NAME]";

function option(args: string[], name: string): string | undefined {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
}

function fail(code: number, message: string): number {
    process.stderr.write(`env:import: ${message}\n`);
    return code;
}

async function main(): Promise<number> {
    const args = process.argv.slice(2);
    const file = option(args, "--from-host");
    if (!file || !file.startsWith("/")) return fail(2, `--from-host takes the env file's absolute path on the host. ${USAGE}`);
    const stack = stackArgument(args);
    if (!stack) return fail(2, `no stack selected: pass --stack NAME. ${USAGE}`);
    const read = readStackConfig(stack);
    if ("error" in read) return fail(2, `cannot read the configuration of stack ${stack}:\n${read.error}`);
    // The connection is all the read needs: the stack's own env (absent or about to be
    // replaced) stands aside while the other settings are validated.
    const secretKeys = new Set([...read.secretKeys, "env"]);
    let config;
    try {
        config = parseConfig({ ...read.raw, env: JSON.stringify({ L9_ENV_IMPORT: "pending" }) }, secretKeys);
    } catch (e) {
        if (e instanceof ConfigError) return fail(2, `set the stack's other settings first (the import reaches the host with them):\n${e.message}`);
        throw e;
    }
    const targets = hostTargets(config);
    const hostName = option(args, "--host");
    const target = hostName === undefined && !isMultiHost(config) ? targets[0] : targets.find((t) => t.name === hostName);
    if (!target) return fail(2, `--host must name one of the stack's hosts: ${targets.map((t) => t.name).join(", ")} (the host whose file to read). ${USAGE}`);

    const where = `${target.host}:${file}`;
    process.stdout.write(`env:import: reading ${where} over SSH (pinned host key)\n`);
    const r = await runOnStackHost(
        config,
        target,
        `env-import/${stack}${target.name ? `/${target.name}` : ""}`,
        IMPORT_KEY_LIFETIME_SECONDS,
        renderReadEnvFileForImportScript(file),
    );
    if (r.code === 255) return fail(1, describeSshFailure(target.host, target.sshPort, r.stderr, r.code));
    if (r.code !== 0) return fail(1, `${r.stderr.trim() || `reading ${where} failed (exit ${r.code})`}\nNothing was stored.`);

    const imported = parseEnvFileForImport(r.stdout);
    if (imported.problems.length > 0) {
        return fail(1, `${where} has lines that cannot be imported as they are; nothing was stored:\n${imported.problems.map((p) => `  - ${p}`).join("\n")}`);
    }
    const keys = Object.keys(imported.env);
    if (keys.length === 0) return fail(1, `${where} sets no variable; nothing was stored.`);
    try {
        parseConfig({ ...read.raw, env: JSON.stringify(imported.env) }, secretKeys);
    } catch (e) {
        if (e instanceof ConfigError) return fail(1, `the imported env is not a valid env setting; nothing was stored:\n${e.message}`);
        throw e;
    }
    const previous = read.raw.env === undefined ? undefined : (JSON.parse(read.raw.env) as Record<string, string>);
    const stored = runPulumi(["config", "set", "--secret", "env", "--stack", stack], JSON.stringify(imported.env));
    if (stored.code !== 0) return fail(1, `pulumi config set --secret env failed; the stack's env is unchanged:\n${stored.out.slice(-2000)}`);
    for (const key of imported.repeated) process.stdout.write(`env:import: ${key} is set more than once in ${file}: the last line counts, as in compose\n`);
    process.stdout.write(describeEnvChange(stack, where, imported.env, previous));
    return 0;
}

main().then(
    (code) => process.exit(code),
    (e: unknown) => {
        process.stderr.write(`env:import: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
    },
);
