import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { createL9Stack, L9TestStack } from "../support/l9-stack";
import { cleanSandboxService, sandboxFacts, sh } from "../support/sandbox";

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
    const appSecret = "e2e-secret-secrets-value";

    before(async () => {
        s = await createL9Stack("secrets", 18800);
        cleanSandboxService(s.serviceName, s.appDir, sandboxFacts().caddyAdmin);
        const run = async (expectOk: boolean) => {
            // --debug: the SDK's and providers' debug lines are scanned too.
            const r = await s.up({ debug: true });
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
    });

    after(async () => {
        if (s) await s.stack.destroy({ onOutput: () => undefined }).catch(() => undefined);
    });

    let secrets: string[] | undefined;
    const secretValues = () => {
        if (!secrets) {
            const key = sandboxFacts().privateKey.split("\n").filter((l) => l.length > 40 && !l.startsWith("-----"));
            secrets = [appSecret, "postgres://l9@127.0.0.1/e2e", ...key];
        }
        return secrets;
    };

    it("the env file on the host holds them, mode 0600 (the only place in clear)", () => {
        expect(sh(`stat -c %a '${s.appDir}/shared/.env'`).trim()).to.equal("600");
        expect(sh(`cat '${s.appDir}/shared/.env'`)).to.contain(appSecret);
    });

    it("no state file, history or Pulumi home file contains a secret value", () => {
        const dirs = [path.dirname(s.envVars.PULUMI_BACKEND_URL.replace("file://", "") + "/x"), s.envVars.PULUMI_HOME];
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

    it("engine events of updates run with --debug never carry the env or the SSH key", () => {
        const exposed: string[] = [];
        const walk = (v: unknown, at: string) => {
            if (typeof v === "string") {
                if (secretValues().some((x) => v.includes(x))) exposed.push(`${at}: ${secretValues().reduce((text, x) => text.split(x).join("<SECRET>"), v).slice(0, 300)}`);
            } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
            else if (v && typeof v === "object") for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, `${at}.${k}`);
        };
        expect(events.length).to.be.greaterThan(50);
        expect(events.some((e) => (e as { diagnosticEvent?: { severity?: string } }).diagnosticEvent?.severity === "debug"), "debug events were recorded").to.equal(true);
        walk(events, "events");
        expect(exposed, exposed.slice(0, 5).join("\n")).to.deep.equal([]);
    });

    it("the SSH private key is in no resource of the state, not even encrypted: resources hold only the agent socket path", async () => {
        const state = JSON.stringify(await s.stack.exportStack());
        expect(state).to.not.match(/"privateKey"/);
        expect(state).to.contain('"agentSocketPath"');
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

    it("the stack config file keeps them encrypted", () => {
        const config = fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.e2e-secrets.yaml"), "utf8");
        for (const secret of secretValues()) expect(config.includes(secret)).to.equal(false);
        expect(config).to.match(/l9-deploy:sshPrivateKey:\s*\n\s*secure:/);
        expect(config).to.match(/l9-deploy:env:\s*\n\s*secure:/);
    });
});
