import { EngineEvent, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backupMetricsFile } from "../../host-scripts/backup-job";
import { deployMetricsFile, deployRunMetricsFile } from "../../host-scripts/deploy-metrics";
import { driftMetricsFile } from "../../host-scripts/drift-check";
import { restoreDrillMetricsFile } from "../../host-scripts/restore-drill";
import { cleanSandboxService, sandboxFacts } from "./sandbox";
import { pulumiTestEnv, REPO_ROOT } from "./toolchain";

/** A stack of the real l9-deploy program against the sandbox, isolated by service name and ports. */
export interface L9TestStack {
    stack: Stack;
    /** Where Caddy serves this stack's site. */
    siteUrl: string;
    serviceName: string;
    appDir: string;
    /** The Pulumi environment of the stack (backend, passphrase), for CLI runs. */
    envVars: Record<string, string>;
    ports: { blue: number; green: number; site: number };
    /** Sets config values (secret ones marked) and returns the stack. */
    set(values: Record<string, string>, secret?: boolean): Promise<void>;
    /**
     * `pulumi destroy` through the CLI as an operator runs it (scripts/pulumi.sh: the program
     * runs and loads the deploy key; no refresh first). Returns the exit code and output.
     */
    destroy(): { code: number; out: string };
    /**
     * Removes the service from the sandbox host directly (containers, images, Caddy server,
     * appDir, cron files, metrics files), as a suite's before() does; the stack itself is left in its
     * throwaway backend. For suites whose subject is not destroy (e2e 08, 10, 11, 12, 14 and
     * 16 destroy theirs through Pulumi and check it; e2e 09 too, as its backup copy's key is on host h2): a destroy took about 10 s, and a suite's
     * after() never looked at its result.
     */
    removeFromHost(): void;
    /** The `pulumi` CLI on this stack as an operator runs it (scripts/pulumi.sh), e.g. ["up", "--yes"]. */
    cli(args: string[]): { code: number; out: string };
    /** `pulumi up`, collecting engine events; never throws: returns the error instead. */
    up(opts?: { debug?: boolean }): Promise<{ ok: boolean; error?: string; events: EngineEvent[]; stdout: string }>;
}

/**
 * The stack `e2e-<label>` of the real program, its ports from `base`. `env` overrides the
 * Pulumi environment (another backend: PULUMI_BACKEND_URL and what it needs).
 */
export async function createL9Stack(label: string, base: number, env: Record<string, string> = {}): Promise<L9TestStack> {
    const sb = sandboxFacts();
    const envVars = { ...pulumiTestEnv(label).envVars, ...env };
    const stackName = `e2e-${label}`;
    const metricsDir = `/var/lib/l9-sandbox/metrics-${label}`;
    fs.rmSync(path.join(REPO_ROOT, `Pulumi.${stackName}.yaml`), { force: true });
    const serviceName = `l9${label.replace(/[^a-z0-9]/g, "")}`;
    const appDir = `/srv/l9-e2e-${label}`;
    const ports = { blue: base + 1, green: base + 2, site: base + 80 };
    const stack = await LocalWorkspace.createOrSelectStack({ stackName, workDir: REPO_ROOT }, { envVars });
    const config: Record<string, { value: string; secret?: boolean }> = {
        "l9-deploy:host": { value: sb.host },
        "l9-deploy:sshPort": { value: String(sb.sshPort) },
        "l9-deploy:sshUser": { value: sb.sshUser },
        "l9-deploy:hostKey": { value: sb.hostKey },
        "l9-deploy:sshPrivateKey": { value: sb.privateKey, secret: true },
        "l9-deploy:repoUrl": { value: sb.repoUrl },
        "l9-deploy:releaseTag": { value: "v0.1.0-l9" },
        "l9-deploy:serviceName": { value: serviceName },
        "l9-deploy:appDir": { value: appDir },
        "l9-deploy:bluePort": { value: String(ports.blue) },
        "l9-deploy:greenPort": { value: String(ports.green) },
        "l9-deploy:caddyListen": { value: `127.0.0.1:${ports.site}` },
        "l9-deploy:caddyAdmin": { value: sb.caddyAdmin },
        "l9-deploy:healthTimeoutSeconds": { value: "30" },
        "l9-deploy:smokeRequests": { value: JSON.stringify([{ method: "GET", path: "/api/smoke", expectStatus: 200 }]) },
        "l9-deploy:metricsDir": { value: metricsDir },
        "l9-deploy:minFreeDiskMb": { value: "256" },
        "l9-deploy:env": { value: JSON.stringify({ APP_SECRET: `e2e-secret-${label}-value`, DATABASE_URL: "postgres://l9@127.0.0.1/e2e" }), secret: true },
    };
    await stack.setAllConfig(config);
    const cli = (args: string[]) => {
        const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts/pulumi.sh"), ...args, "--stack", stackName, "--non-interactive", "--color", "never"], {
            cwd: REPO_ROOT,
            encoding: "utf8",
            env: { ...process.env, ...envVars },
            maxBuffer: 64 * 1024 * 1024,
        });
        return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
    };
    return {
        stack,
        siteUrl: `http://127.0.0.1:${ports.site}`,
        serviceName,
        appDir,
        envVars,
        ports,
        async set(values, secret = false) {
            // One `pulumi config set-all` for all of them (a CLI run each took 0.2 s).
            await stack.setAllConfig(Object.fromEntries(Object.entries(values).map(([k, v]) => [`l9-deploy:${k}`, { value: v, secret }])));
        },
        destroy: () => cli(["destroy", "--yes"]),
        removeFromHost: () => {
            cleanSandboxService(serviceName, appDir, sb.caddyAdmin);
            // The service's metrics files: a textfile collector would go on exporting them.
            for (const file of serviceMetricsFiles(metricsDir, serviceName)) fs.rmSync(file, { force: true });
        },
        cli,
        up: (opts = {}) => pulumiUp(stackName, envVars, opts.debug === true),
    };
}

/**
 * `pulumi up` as the Automation API's `stack.up()` runs it (no preview, exec kind `auto.local`,
 * the engine's events in a log), without the three CLI runs that `stack.up()` makes after
 * every update for results these tests never read (the outputs twice and the last history
 * entry: 0.9 to 1.2 s an update on the sandbox). Never throws: a failed update returns its
 * output as the error, and what the update printed is kept whatever failed.
 */
async function pulumiUp(stackName: string, envVars: Record<string, string>, debug: boolean): ReturnType<L9TestStack["up"]> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-up-"));
    const eventLog = path.join(dir, "events.jsonl");
    const args = [
        "up",
        "--yes",
        "--skip-preview",
        "--exec-kind",
        "auto.local",
        "--event-log",
        eventLog,
        "--color",
        "never",
        "--non-interactive",
        "--stack",
        stackName,
    ];
    if (debug) args.push("--debug");
    let stdout = "";
    let stderr = "";
    try {
        const child = spawn("pulumi", args, {
            cwd: REPO_ROOT,
            env: { ...process.env, PULUMI_AUTOMATION_API: "true", PULUMI_DEBUG_COMMANDS: "true", ...envVars },
            stdio: ["ignore", "pipe", "pipe"],
        });
        child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        const code = await new Promise<number | null>((resolve, reject) => {
            child.on("error", reject);
            child.on("close", resolve);
        });
        const text = fs.existsSync(eventLog) ? fs.readFileSync(eventLog, "utf8") : "";
        const events = text
            .split("\n")
            .filter((line) => line.trim() !== "")
            .map((line) => JSON.parse(line) as EngineEvent);
        if (code === 0) return { ok: true, events, stdout };
        return { ok: false, error: `pulumi up exited with code ${code}\nstdout: ${stdout}\nstderr: ${stderr}`, events, stdout };
    } catch (e) {
        return { ok: false, error: `${String(e)}\nstdout: ${stdout}\nstderr: ${stderr}`, events: [], stdout };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** The resource operations of an update, as "op type name" strings, from its engine events. */
export function resourceSteps(events: EngineEvent[]): string[] {
    return events
        .filter((e) => e.resOutputsEvent)
        .map((e) => {
            const m = e.resOutputsEvent!.metadata;
            return `${m.op} ${m.type} ${m.urn.split("::").pop()}`;
        });
}

/** Every metrics textfile a service's steps and jobs write, named as they name them. */
function serviceMetricsFiles(metricsDir: string, serviceName: string): string[] {
    return [deployMetricsFile, deployRunMetricsFile, driftMetricsFile, backupMetricsFile, restoreDrillMetricsFile].map((f) => f(metricsDir, serviceName));
}
