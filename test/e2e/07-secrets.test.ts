import { expect } from "chai";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { createL9Stack, L9TestStack } from "../support/l9-stack";
import { cleanSandboxService, sandboxFacts, sh } from "../support/sandbox";
import { REPO_ROOT } from "../support/toolchain";
import { renderEnvFileContent } from "../../config/env-contract";

function filesUnder(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        if (e.isSymbolicLink()) return [];
        return e.isDirectory() ? filesUnder(p) : [p];
    });
}

/**
 * After a full run (deploy, release, a failing gate, drift and heal), no secret value is in
 * the state, the backend's history, the Pulumi home, or anything the updates printed.
 */
describe("e2e: secrets never leave their encryption", function () {
    this.timeout(20 * 60 * 1000);
    let s: L9TestStack;
    let logs = "";
    const events: unknown[] = [];
    let debugRun: { events: unknown[]; output: string } = { events: [], output: "" };
    const appSecret = "e2e-secret-secrets-value";
    /** `npm run env:import` runs: the refused file, then the old runbooks' file. */
    const imports: { refused?: { code: number; out: string }; stored?: { code: number; out: string }; envBefore?: unknown; envAfterRefusal?: boolean } = {};

    before(async () => {
        s = await createL9Stack("secrets", 18800);
        cleanSandboxService(s.serviceName, s.appDir, sandboxFacts().caddyAdmin);
        // The env comes from the host's old env file (npm run env:import), as on a host the old
        // runbooks deployed: written there in their style, and the stack's env removed first.
        const env = JSON.parse((await s.stack.getConfig("l9-deploy:env")).value) as Record<string, string>;
        imports.envBefore = env;
        const legacyDir = `${s.appDir}-legacy`;
        fs.rmSync(legacyDir, { recursive: true, force: true });
        fs.mkdirSync(legacyDir, { mode: 0o700 });
        fs.writeFileSync(
            `${legacyDir}/.env`,
            `# the old runbooks' env\r\nexport APP_SECRET="${env.APP_SECRET}"\r\nDATABASE_URL='${env.DATABASE_URL}'  # the database\r\n`,
            { mode: 0o600 },
        );
        fs.writeFileSync(`${legacyDir}/refused.env`, `APP_SECRET=${appSecret}\nDATABASE_URL=\${DB_URL}\n`, { mode: 0o600 });
        await s.stack.removeConfig("l9-deploy:env");
        const envImport = (file: string) => {
            const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts/node.sh"), "tools/env-import.ts", "--stack", "e2e-secrets", "--from-host", file], {
                cwd: REPO_ROOT,
                encoding: "utf8",
                env: { ...process.env, ...s.envVars },
            });
            const out = `${r.stdout}${r.stderr}`;
            logs += out;
            return { code: r.status ?? -1, out };
        };
        imports.refused = envImport(`${legacyDir}/refused.env`);
        imports.envAfterRefusal = (await s.stack.getAllConfig())["l9-deploy:env"] !== undefined;
        imports.stored = envImport(`${legacyDir}/.env`);
        const run = async (expectOk: boolean) => {
            const r = await s.up();
            logs += r.stdout + (r.error ?? "");
            events.push(...r.events);
            expect(r.ok, r.error).to.equal(expectOk);
        };
        await run(true);
        await s.set({ releaseTag: "v0.2.0-l9" });
        await run(true);
        await s.set({ releaseTag: "v0.3.1-l9" });
        await run(false);
        sh(`echo 'X=1' >> '${s.appDir}/shared/.env'`);
        await s.set({ releaseTag: "v0.2.0-l9" });
        await run(true);
        const preview = await s.stack.preview({ refresh: true, diff: true, onOutput: (o) => (logs += o) });
        logs += JSON.stringify(preview);
        const history = await s.stack.history(undefined, undefined, false);
        logs += JSON.stringify(history);
        logs += JSON.stringify(await s.stack.outputs());
        // One more release with --debug: every debug line of the SDK and the providers.
        await s.set({ releaseTag: "v0.1.0-l9" });
        const debug = await s.up({ debug: true });
        expect(debug.ok, debug.error).to.equal(true);
        debugRun = { events: debug.events, output: debug.stdout };
    });

    after(async () => {
        if (s) s.removeFromHost();
        if (s) fs.rmSync(`${s.appDir}-legacy`, { recursive: true, force: true });
    });

    /** The stack's state as the CLI exports it (the Automation API's exportStack always decrypts). */
    const exportState = (showSecrets: boolean): string => {
        const r = spawnSync(
            "bash",
            [path.join(REPO_ROOT, "scripts/pulumi.sh"), "stack", "export", ...(showSecrets ? ["--show-secrets"] : []), "--stack", "e2e-secrets"],
            {
                cwd: REPO_ROOT,
                encoding: "utf8",
                env: { ...process.env, ...s.envVars },
                maxBuffer: 64 * 1024 * 1024,
            },
        );
        expect(r.status, r.stderr).to.equal(0);
        return r.stdout;
    };

    let secrets: string[] | undefined;
    const secretValues = () => {
        if (!secrets) {
            const key = sandboxFacts()
                .privateKey.split("\n")
                .filter((l) => l.length > 40 && !l.startsWith("-----"));
            secrets = [appSecret, "postgres://l9@127.0.0.1/e2e", ...key];
        }
        return secrets;
    };

    it("npm run env:import: a file with a line compose filled in is refused, naming the line, storing nothing", () => {
        expect(imports.refused?.code, imports.refused?.out).to.equal(1);
        expect(imports.refused?.out).to.contain("line 2: DATABASE_URL refers to another variable");
        expect(imports.refused?.out).to.contain("nothing was stored");
        expect(imports.envAfterRefusal).to.equal(false);
    });

    it("npm run env:import: the old runbooks' env file becomes the secret env (key names printed, values not), and the ups ran with it", async () => {
        expect(imports.stored?.code, imports.stored?.out).to.equal(0);
        expect(imports.stored?.out).to.contain("stored 2 keys from 127.0.0.1:");
        expect(imports.stored?.out).to.contain("  new: APP_SECRET, DATABASE_URL\n");
        const config = await s.stack.getAllConfig();
        expect(config["l9-deploy:env"].secret).to.equal(true);
        expect(JSON.parse(config["l9-deploy:env"].value)).to.deep.equal(imports.envBefore);
    });

    it("the env file on the host holds them, mode 0600 (the only place in clear)", () => {
        expect(sh(`stat -c %a '${s.appDir}/shared/.env'`).trim()).to.equal("600");
        expect(sh(`cat '${s.appDir}/shared/.env'`)).to.contain(appSecret);
    });

    it("no state file, history or Pulumi home file contains a secret value", () => {
        const dirs = [s.envVars.PULUMI_BACKEND_URL.replace(/^file:\/\//, "").split("?")[0], s.envVars.PULUMI_HOME];
        const files = dirs.flatMap(filesUnder);
        expect(files.length).to.be.greaterThan(3);
        let checkpoints = 0;
        for (const f of files) {
            const text = fs.readFileSync(f).toString("utf8");
            if (text.includes('"ciphertext"')) checkpoints++;
            for (const secret of secretValues()) expect(text.includes(secret), `${f} contains a secret`).to.equal(false);
        }
        expect(checkpoints, "the secrets are in state, encrypted").to.be.greaterThan(0);
    });

    /** Where `values` occur in `v` (strings at any depth), each with the value cut out. */
    const occurrences = (v: unknown, values: string[], at = "events"): string[] => {
        if (typeof v === "string")
            return values.some((x) => v.includes(x)) ? [`${at}: ${values.reduce((text, x) => text.split(x).join("<SECRET>"), v).slice(0, 300)}`] : [];
        if (Array.isArray(v)) return v.flatMap((x, i) => occurrences(x, values, `${at}[${i}]`));
        if (v && typeof v === "object") return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => occurrences(x, values, `${at}.${k}`));
        return [];
    };

    const isDebug = (e: unknown) => (e as { diagnosticEvent?: { severity?: string } }).diagnosticEvent?.severity === "debug";

    it("engine events: the SSH key in none; the env in none but the debug-level dumps of the SDK and the docker provider (README, Secrets)", () => {
        expect(events.length).to.be.greaterThan(50);
        const keyExposed = occurrences(events, secretValues().slice(2));
        expect(keyExposed, keyExposed.slice(0, 5).join("\n")).to.deep.equal([]);
        const envExposed = occurrences(
            events.filter((e) => !isDebug(e)),
            secretValues().slice(0, 2),
        );
        expect(envExposed, envExposed.slice(0, 5).join("\n")).to.deep.equal([]);
    });

    it("`up --debug`: the SSH key is in none of its events and none of its output", () => {
        expect(debugRun.events.some(isDebug), "debug events were recorded").to.equal(true);
        const keyLines = secretValues().slice(2);
        const exposed = occurrences(debugRun.events, keyLines);
        expect(exposed, exposed.slice(0, 5).join("\n")).to.deep.equal([]);
        expect(keyLines.some((x) => debugRun.output.includes(x))).to.equal(false);
    });

    it("the SSH private key is in no resource of the decrypted state: resources hold only the agent socket path", () => {
        const state = exportState(true);
        expect(state).to.contain("APP_SECRET"); // decrypted: the env is there, so a key would be too
        // Secret values are JSON strings inside the export: match the names without quotes.
        expect(state).to.not.match(/privateKey|PRIVATE KEY/);
        expect(state).to.contain("agentSocketPath");
        for (const line of secretValues().slice(2)) expect(state.includes(line)).to.equal(false);
    });

    it("no update output, error, preview diff, history or stack output contains a secret value", () => {
        expect(logs.length).to.be.greaterThan(10_000);
        for (const secret of secretValues()) {
            const at = logs.indexOf(secret);
            // On failure, show where (with the value itself cut out).
            const context = at < 0 ? "" : `${logs.slice(Math.max(0, at - 300), at)}<SECRET>${logs.slice(at + secret.length, at + secret.length + 100)}`;
            expect(at, `the logs contain a secret value: ${context}`).to.equal(-1);
        }
    });

    it("the env fingerprint (sha256 of the env file) is not in the plain state: it cannot be recomputed and compared from it", async () => {
        const env = JSON.parse((await s.stack.getConfig("l9-deploy:env")).value) as Record<string, string>;
        const fullSha = crypto.createHash("sha256").update(renderEnvFileContent(env)).digest("hex");
        const state = exportState(false);
        expect(state.length).to.be.greaterThan(10_000);
        expect(state).to.contain('"ciphertext"');
        for (const digest of [fullSha.slice(0, 16), fullSha]) {
            const at = state.indexOf(digest);
            expect(at, `the plain state holds the env digest: ${state.slice(Math.max(0, at - 400), at)}<DIGEST>`).to.equal(-1);
        }
    });

    it("the stack config file keeps them encrypted", () => {
        const config = fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.e2e-secrets.yaml"), "utf8");
        for (const secret of secretValues()) expect(config.includes(secret)).to.equal(false);
        expect(config).to.match(/l9-deploy:sshPrivateKey:\s*\n\s*secure:/);
        expect(config).to.match(/l9-deploy:env:\s*\n\s*secure:/);
    });
});
