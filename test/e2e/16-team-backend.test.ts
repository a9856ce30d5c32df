import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createL9Stack, L9TestStack } from "../support/l9-stack";
import { killPulumi, pulumiInBackground, runRecover } from "../support/pulumi-process";
import { cleanSandboxService, httpGet, sandboxFacts, sandboxPsql, sh, waitFor } from "../support/sandbox";
import { pulumiTestEnv, REPO_ROOT } from "../support/toolchain";

/**
 * The team's state in the team's PostgreSQL (the sandbox's): two operators' checkouts, each
 * with its own pulumi login home and its own copy of the stack's config file (as pulled from
 * git), run the real program against one `postgres://` backend. The password reaches Pulumi
 * only through PGPASSWORD, never a URL or a command line.
 */
describe("e2e: the team's state in PostgreSQL (two checkouts, one postgres:// backend)", function () {
    this.timeout(20 * 60 * 1000);
    const STACK = "e2e-team";
    const database = "l9_e2e_state";
    const server = () => new URL(sandboxFacts().databaseUrl);
    const psql = sandboxPsql;
    const backendUrl = () => `postgres://${server().username}@${server().hostname}:${server().port || 5432}/${database}?sslmode=disable`;
    let a: L9TestStack;
    /** Operator B: another login home, another copy of the config file. */
    let b: { env: Record<string, string>; configFile: string };

    const version = () => {
        const r = httpGet(`${a.siteUrl}/version`);
        return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `status ${r.status}`;
    };
    /** `pulumi <args>` from B's checkout (scripts/pulumi.sh, B's home and, for the commands that read it, B's config file). */
    const cliB = (args: string[]) => {
        const config = ["up", "preview", "refresh", "destroy", "config"].includes(args[0]) ? ["--config-file", b.configFile] : [];
        const r = spawnSync(
            "bash",
            [path.join(REPO_ROOT, "scripts/pulumi.sh"), ...args, "--stack", STACK, ...config, "--non-interactive", "--color", "never"],
            { cwd: REPO_ROOT, encoding: "utf8", env: { ...process.env, ...b.env }, maxBuffer: 64 * 1024 * 1024 },
        );
        return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
    };
    /** B pulls the config file A committed (the stack's encryption salt and settings). */
    const pullConfig = () => fs.copyFileSync(path.join(REPO_ROOT, `Pulumi.${STACK}.yaml`), b.configFile);
    const lockRows = () => psql(`SELECT key FROM pulumi_state WHERE key LIKE '${database}/.pulumi/locks/organization/l9-deploy/${STACK}/%'`, database).trim();
    const history = (out: string) => JSON.parse(out.slice(out.indexOf("["))) as Array<{ startTime: string; result: string; kind: string }>;

    before(async () => {
        psql(`DROP DATABASE IF EXISTS ${database}`);
        psql(`CREATE DATABASE ${database}`);
        const pg = { PULUMI_BACKEND_URL: backendUrl(), PGPASSWORD: decodeURIComponent(server().password) };
        a = await createL9Stack("team", 20000, pg);
        cleanSandboxService(a.serviceName, a.appDir, sandboxFacts().caddyAdmin);
        const homeB = pulumiTestEnv("team-b").home;
        const dirB = fs.mkdtempSync(path.join(os.tmpdir(), "l9-team-b-checkout-"));
        b = { env: { ...a.envVars, PULUMI_HOME: homeB }, configFile: path.join(dirB, `Pulumi.${STACK}.yaml`) };
    });

    after(async () => {
        if (a) a.destroy();
        psql(`DROP DATABASE IF EXISTS ${database}`);
    });

    it("A deploys; B's checkout sees the same outputs and history, kept as rows of the team's database", async () => {
        const r = await a.up();
        expect(r.ok, r.error).to.equal(true);
        expect(version()).to.equal("v0.1.0-l9");
        pullConfig();
        const outputsA = await a.stack.outputs();
        const outputsB = cliB(["stack", "output", "--json"]);
        expect(outputsB.code, outputsB.out).to.equal(0);
        const seen = JSON.parse(outputsB.out.slice(outputsB.out.indexOf("{"))) as Record<string, unknown>;
        expect(seen.releaseTag).to.equal(outputsA.releaseTag.value);
        expect(seen.url).to.equal(outputsA.url.value);
        const historyA = history(a.cli(["stack", "history", "--json"]).out);
        const historyB = history(cliB(["stack", "history", "--json"]).out);
        expect(historyB).to.deep.equal(historyA);
        expect(historyA.map((h) => h.result)).to.deep.equal(["succeeded"]);
        // The state is the database's: a checkpoint and a history entry of the stack.
        const keys = psql(`SELECT key FROM pulumi_state ORDER BY key`, database);
        expect(keys).to.match(new RegExp(`^${database}/\\.pulumi/stacks/l9-deploy/${STACK}\\.json`, "m"));
        expect(keys).to.match(new RegExp(`^${database}/\\.pulumi/history/l9-deploy/${STACK}/${STACK}-\\d+\\.history\\.json`, "m"));
        // The password is in no file Pulumi keeps (it came from PGPASSWORD).
        const password = decodeURIComponent(server().password);
        expect(sh(`grep -rl -F '${password}' '${a.envVars.PULUMI_HOME}' '${b.env.PULUMI_HOME}' '${REPO_ROOT}/Pulumi.${STACK}.yaml' || true`).trim()).to.equal(
            "",
        );
    });

    it("two updates at once: the second is refused by the lock, the first completes, nothing is lost; recover never takes a live holder's lock", async () => {
        const before = history(a.cli(["stack", "history", "--json"]).out).length;
        await a.set({ releaseTag: "v0.2.0-l9" });
        const first = a.up();
        await waitFor("A's lock in the database", () => lockRows() !== "");
        const second = cliB(["up", "--yes"]);
        expect(second.code, "B's update is refused").to.not.equal(0);
        expect(second.out).to.contain("the stack is currently locked by 1 lock(s)");
        expect(second.out).to.match(/created by \S+@\S+ \(pid \d+\)/);
        // The password never shows in the lock's message either.
        expect(second.out).to.not.contain(decodeURIComponent(server().password));
        const busy = runRecover(STACK, a.envVars);
        expect(busy.code, busy.out).to.equal(1);
        expect(busy.out).to.match(/process \d+ .* still runs and holds the lock/);
        const done = await first;
        expect(done.ok, done.error).to.equal(true);
        expect(version()).to.equal("v0.2.0-l9");
        expect(lockRows(), "no lock left").to.equal("");
        const after = history(cliB(["stack", "history", "--json"]).out);
        expect(after.length, "A's update is in the history, B's refused one is not").to.equal(before + 1);
        expect(after[0].result).to.equal("succeeded");
    });

    it("a holder killed mid-update (a closed laptop): the other checkout is refused; npm run recover clears the lock; the update then converges", async () => {
        pullConfig();
        const set = cliB(["config", "set", "releaseTag", "v0.1.0-l9"]);
        expect(set.code, set.out).to.equal(0);
        const holder = pulumiInBackground(["up", "--yes", "--stack", STACK, "--config-file", b.configFile], b.env);
        await waitFor("B's lock in the database", () => lockRows() !== "");
        // Well into the update: the standby slot is being replaced.
        await new Promise((r) => setTimeout(r, 6000));
        killPulumi(holder, b.env.PULUMI_HOME);
        await new Promise((r) => setTimeout(r, 500));
        expect(lockRows(), "the killed holder's lock stays").to.not.equal("");

        const refused = a.cli(["up", "--yes"]);
        expect(refused.code).to.not.equal(0);
        expect(refused.out).to.contain("the stack is currently locked");
        const recovered = runRecover(STACK, b.env);
        console.log(
            recovered.out
                .split("\n")
                .map((l) => `      ${l}`)
                .join("\n"),
        );
        expect(recovered.code, recovered.out).to.equal(0);
        expect(recovered.out).to.match(/removed the lock of process \d+ .*which no longer runs/);
        expect(recovered.out).to.contain(`lock in the PostgreSQL backend postgres://${server().username}@`);
        expect(lockRows()).to.equal("");

        const again = cliB(["up", "--yes"]);
        expect(again.code, again.out.slice(-3000)).to.equal(0);
        expect(version()).to.equal("v0.1.0-l9");
        expect(history(a.cli(["stack", "history", "--json"]).out)[0].result).to.equal("succeeded");
        // A's checkout follows: git pull, and its update has nothing to change.
        fs.copyFileSync(b.configFile, path.join(REPO_ROOT, `Pulumi.${STACK}.yaml`));
        const followed = await a.up();
        expect(followed.ok, followed.error).to.equal(true);
        expect(version()).to.equal("v0.1.0-l9");
    });
});
