import { expect } from "chai";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { freezeId } from "../../plan/freeze";
import { createL9Stack, L9TestStack, resourceSteps } from "../support/l9-stack";
import { LoadLoop, LoadReport, watchTraffic } from "../support/load-loop";
import { cleanSandboxService, httpGet, sandboxFacts, sh } from "../support/sandbox";
import { REPO_ROOT } from "../support/toolchain";

/**
 * Release convergence against the sandbox VPS, in the order an operator lives it: first
 * deploy, release under load, broken releases, slow start, rollback by config, no-op,
 * history, Caddy restart.
 */
describe("e2e: release convergence (blue/green, gate, switch, rollback)", function () {
    this.timeout(30 * 60 * 1000);
    let s: L9TestStack;

    const version = () => {
        const r = httpGet(`${s.siteUrl}/version`);
        return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `status ${r.status}`;
    };
    const containerId = (color: string) => sh(`docker inspect -f '{{.Id}}' '${s.serviceName}-${color}'`).trim();
    /** Four clients back to back through Caddy: the release test's load. */
    const fullLoad = (url: string) => new LoadLoop(url, 4);
    /**
     * `pulumi up` while a load loop runs through Caddy, for the whole update and a second after:
     * the full load, or a traffic watcher where what is shown is that traffic never moved.
     */
    const upUnderLoad = async (load = fullLoad): Promise<{ r: Awaited<ReturnType<L9TestStack["up"]>>; report: LoadReport }> => {
        const loop = load(`${s.siteUrl}/version`);
        const r = await s.up();
        await new Promise((resolve) => setTimeout(resolve, 1000));
        return { r, report: await loop.stop() };
    };
    const expectNoFailures = (report: LoadReport) => {
        expect(report.total, "the load loop ran").to.be.greaterThan(50);
        expect(report.failed, `failed requests: ${JSON.stringify(report.failed.slice(0, 5))}`).to.have.length(0);
        console.log(
            `      load: ${report.total} requests, ${report.failed.length} failed, ` +
                `${report.retriedOnStaleConnection} retried once on a stale keep-alive connection, ` +
                `longest gap without a success ${report.longestGapMs} ms`,
        );
    };

    before(async () => {
        s = await createL9Stack("release", 18100);
        // Every image of this suite stays (3, the default, would prune v0.1.0-l9 before 5b returns to it).
        await s.set({ imagesToKeep: "10" });
        cleanSandboxService(s.serviceName, s.appDir, sandboxFacts().caddyAdmin);
    });

    after(() => {
        if (s) s.removeFromHost();
    });

    it("1. first deploy of v0.1.0-l9 answers through Caddy", async () => {
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
        expect(version()).to.equal("v0.1.0-l9");
        const out = await s.stack.outputs();
        expect(out.activeSlot.value).to.equal("blue");
        expect(out.releaseTag.value).to.equal("v0.1.0-l9");
        expect(out.commit.value).to.match(/^[0-9a-f]{40}$/);
        expect(out.imageId.value).to.match(/^sha256:/);
        for (const k of ["slots", "url", "deployedAt", "deployedBy"]) expect(out, k).to.have.property(k);
        // env file: 0600, and the deploy record names the release
        expect(sh(`stat -c %a '${s.appDir}/shared/.env'`).trim()).to.equal("600");
        const record = JSON.parse(sh(`tail -n 1 '${s.appDir}/deploys.jsonl'`));
        expect(record).to.include({ tag: "v0.1.0-l9", slot: "blue", status: "live" });
        expect(record.commit).to.equal(out.commit.value);
        expect(record.imageId).to.equal(out.imageId.value);
        expect(record.actor).to.be.a("string").and.not.equal("");
        expect(record.time).to.match(/^\d{4}-\d\d-\d\dT/);
    });

    it("1b. least privilege on the host: appDir 0750, env 0600, deploy log 0640; only the marker directory is open to Caddy's user", () => {
        const mode = (p: string) => sh(`stat -c %a '${p}'`).trim();
        expect(mode(s.appDir)).to.equal("750");
        expect(mode(`${s.appDir}/state`)).to.equal("750");
        expect(mode(`${s.appDir}/shared/.env`)).to.equal("600");
        expect(mode(`${s.appDir}/deploys.jsonl`)).to.equal("640");
        expect(mode(`${s.appDir}/releases`)).to.equal("750");
        // Nothing under appDir is reachable by other users: no directory on the way is o+x.
        expect(sh(`stat -c %A '${s.appDir}'`).trim()).to.match(/---$/);
        for (const d of ["/var/lib/l9-deploy", `/var/lib/l9-deploy/${s.serviceName}`, `/var/lib/l9-deploy/${s.serviceName}/caddy`])
            expect(mode(d), d).to.equal("755");
        // As another user: the marker directory is readable, appDir is not.
        expect(
            sh(
                `setpriv --reuid=65534 --regid=65534 --clear-groups ls '/var/lib/l9-deploy/${s.serviceName}/caddy' >/dev/null 2>&1 && echo ok || echo denied`,
            ).trim(),
        ).to.equal("ok");
        expect(sh(`setpriv --reuid=65534 --regid=65534 --clear-groups ls '${s.appDir}/releases' >/dev/null 2>&1 && echo ok || echo denied`).trim()).to.equal(
            "denied",
        );
    });

    it("2. release v0.2.0-l9 under load: zero failed requests, then every response names v0.2.0", async () => {
        const blueBefore = containerId("blue");
        await s.set({ releaseTag: "v0.2.0-l9" });
        const { r, report } = await upUnderLoad();
        expect(r.ok, r.error).to.equal(true);
        expectNoFailures(report);
        expect(report.versions).to.include("v0.2.0-l9");
        for (let i = 0; i < 10; i++) expect(version()).to.equal("v0.2.0-l9");
        expect(containerId("blue"), "the previously serving slot was not touched").to.equal(blueBefore);
        expect((await s.stack.outputs()).activeSlot.value).to.equal("green");
    });

    const broken: Array<[string, RegExp, RegExp]> = [
        ["v0.3.0-l9", /check 'docker health'|check 'health endpoint'/, /listening on 0\.0\.0\.0:8000/],
        ["v0.3.1-l9", /check 'smoke GET \/api\/smoke': expected 200, got 500/, /smoke-fails/],
        ["v0.3.2-l9", /check 'log scan': the logs contain "Traceback"/, /Traceback \(most recent call last\)/],
    ];
    for (const [tag, check, logLine] of broken) {
        it(`3. broken ${tag}: up fails naming the check and quoting the logs; traffic stays on v0.2.0`, async () => {
            const green = containerId("green");
            // A tag that never gets healthy fails at the gate's bound: 10 s is plenty for the others to start.
            await s.set({ releaseTag: tag, healthTimeoutSeconds: "10" });
            const { r, report } = await upUnderLoad(watchTraffic);
            expect(r.ok).to.equal(false);
            expect(r.error).to.match(check);
            expect(r.error).to.contain("last 30 log lines");
            expect(r.error).to.match(logLine);
            expect(r.error).to.contain("traffic was not moved");
            expectNoFailures(report);
            expect(report.versions).to.deep.equal(["v0.2.0-l9"]);
            expect(version()).to.equal("v0.2.0-l9");
            expect(containerId("green"), "the serving slot was not touched").to.equal(green);
        });
    }

    it("4. slow-starting v0.4.0-l9 passes within the health timeout, zero failures", async () => {
        await s.set({ releaseTag: "v0.4.0-l9", healthTimeoutSeconds: "30" });
        const { r, report } = await upUnderLoad();
        expect(r.ok, r.error).to.equal(true);
        expectNoFailures(report);
        expect(version()).to.equal("v0.4.0-l9");
        expect((await s.stack.outputs()).activeSlot.value).to.equal("blue");
    });

    it("5. rollback to v0.2.0-l9 by config: a switch only (no build, no container created), zero failures", async () => {
        const green = containerId("green");
        await s.set({ releaseTag: "v0.2.0-l9" });
        const { r, report } = await upUnderLoad();
        expect(r.ok, r.error).to.equal(true);
        const steps = resourceSteps(r.events);
        const created = steps.filter((x) => /^(create|replace|create-replacement)\s/.test(x));
        expect(
            created.filter((x) => /docker:index\/container:Container/.test(x)),
            `steps: ${steps.join(", ")}`,
        ).to.deep.equal([]);
        expect(
            created.filter((x) => /-build$|checkout-/.test(x)),
            `steps: ${steps.join(", ")}`,
        ).to.deep.equal([]);
        expect(
            steps.some((x) => /^(replace|create-replacement) .*traffic-caddy$/.test(x)),
            `steps: ${steps.join(", ")}`,
        ).to.equal(true);
        expectNoFailures(report);
        expect(version()).to.equal("v0.2.0-l9");
        expect(containerId("green")).to.equal(green);
        expect((await s.stack.outputs()).activeSlot.value).to.equal("green");
    });

    /** `npm run rollback` on this stack, as an operator runs it (no terminal: --yes); asynchronous, so a load loop keeps running. */
    const rollback = (...args: string[]): Promise<{ code: number | null; out: string }> =>
        new Promise((resolve) => {
            const child = spawn("bash", [path.join(REPO_ROOT, "scripts/node.sh"), "tools/rollback.ts", ...args, "--stack", "e2e-release"], {
                cwd: REPO_ROOT,
                env: { ...process.env, ...s.envVars },
                stdio: ["ignore", "pipe", "pipe"],
            });
            let out = "";
            child.stdout.on("data", (d: Buffer) => (out += d.toString()));
            child.stderr.on("data", (d: Buffer) => (out += d.toString()));
            child.on("close", (code) => resolve({ code, out }));
        });
    const releasesOutput = async () => (await s.stack.outputs()).releases.value as Array<{ tag: string; imageId: string; where: string }>;

    const N_MINUS_2 =
        "5b. npm run rollback -- v0.1.0-l9 (N-2, in no slot): into the standby slot from its kept image, no checkout, no build, zero failures under load";
    it(N_MINUS_2, async () => {
        const before = await releasesOutput();
        expect(before.slice(0, 2).map((x) => `${x.tag} ${x.where}`)).to.deep.equal(["v0.2.0-l9 serving", "v0.4.0-l9 standby"]);
        const v1 = before.find((x) => x.tag === "v0.1.0-l9");
        expect(v1?.where, JSON.stringify(before)).to.equal("kept");
        // Without a terminal and without --yes, nothing changes.
        const unconfirmed = await rollback("v0.1.0-l9");
        expect(unconfirmed.code, unconfirmed.out).to.equal(2);
        expect((await s.stack.getConfig("l9-deploy:releaseTag")).value).to.equal("v0.2.0-l9");
        // An update that does not complete (refused: the stack is frozen) sets releaseTag back.
        const reason = "DB maintenance until 14:00, ask Ana";
        await s.set({ freeze: reason });
        const frozen = await rollback("v0.1.0-l9", "--yes");
        expect(frozen.code, frozen.out).to.not.equal(0);
        expect(frozen.out).to.contain(`the stack is frozen: "${reason}"`);
        expect(frozen.out).to.contain("the rollback did not complete; the stack's releaseTag is back at v0.2.0-l9 (what serves)");
        expect((await s.stack.getConfig("l9-deploy:releaseTag")).value).to.equal("v0.2.0-l9");
        expect(version()).to.equal("v0.2.0-l9");
        // The rollback below lifts the freeze (its update records the lift).
        await s.set({ freeze: `off ${freezeId(reason)}` });

        const loop = new LoadLoop(`${s.siteUrl}/version`, 4);
        const r = await rollback("v0.1.0-l9", "--yes");
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const report = await loop.stop();
        expect(r.code, r.out).to.equal(0);
        expect(r.out)
            .to.contain("going back to v0.1.0-l9")
            .and.contain(`from its kept image ${v1!.imageId.slice(0, 19)}`);
        expect(r.out).to.contain("release plan: release-to-standby (v0.1.0-l9 → blue), from its image kept on the host: no checkout, no build");
        expect(r.out).to.contain("no fetch: its image is kept on the host").and.contain("is kept on the host, built from");
        expect(r.out).to.not.contain("building ").and.not.contain("checked out at");
        expectNoFailures(report);
        expect(version()).to.equal("v0.1.0-l9");
        expect(sh(`test -e '${s.appDir}/releases/v0.1.0-l9' && echo yes || echo no`).trim()).to.equal("no");
        expect(sh(`docker inspect -f '{{.Image}}' '${s.serviceName}-blue'`).trim()).to.equal(v1!.imageId);
        expect((await s.stack.getConfig("l9-deploy:releaseTag")).value).to.equal("v0.1.0-l9");
        await s.stack.removeConfig("l9-deploy:freeze");
        const after = await releasesOutput();
        expect(after.slice(0, 2).map((x) => `${x.tag} ${x.where}`)).to.deep.equal(["v0.1.0-l9 serving", "v0.2.0-l9 standby"]);
        expect(after.find((x) => x.tag === "v0.4.0-l9")?.where).to.equal("kept");
        // The drift job has no worktree to check for it, and finds nothing drifted.
        expect(sh(`'${s.appDir}/bin/drift-check' 2>&1; echo "exit $?"`))
            .to.contain("check=worktree status=ok none: the release returned")
            .and.contain("exit 0");
    });

    it("5c. npm run rollback with no argument: the previous live release in the host's journal (v0.2.0-l9, the standby), a switch only", async () => {
        const green = containerId("green");
        const r = await rollback("--yes");
        expect(r.code, r.out).to.equal(0);
        expect(r.out).to.contain("going back to v0.2.0-l9").and.contain("release plan: switch-to-standby (v0.2.0-l9 → green)");
        expect(version()).to.equal("v0.2.0-l9");
        expect(containerId("green")).to.equal(green);
        // Asked for what already serves, it changes nothing.
        const again = await rollback("v0.2.0-l9", "--yes");
        expect(again.code, again.out).to.equal(0);
        expect(again.out).to.contain("v0.2.0-l9 serves already");
    });

    it("6. unchanged config: up reports no changes; history lists each update with its tag and result", async () => {
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
        // refresh steps (Pulumi.yaml: refresh always) only read the host; anything else is a change
        const changed = resourceSteps(r.events).filter((x) => !/^(same|read|refresh) /.test(x));
        expect(changed, changed.join(", ")).to.deep.equal([]);
        const history = await s.stack.history(undefined, undefined, false);
        const tags = history.map((h) => h.config["l9-deploy:releaseTag"]?.value);
        expect(history.length).to.be.greaterThanOrEqual(8);
        expect(tags).to.include.members(["v0.1.0-l9", "v0.2.0-l9", "v0.3.0-l9", "v0.3.1-l9", "v0.3.2-l9", "v0.4.0-l9"]);
        const results = history.map((h) => `${h.config["l9-deploy:releaseTag"]?.value}:${h.result}`);
        expect(results).to.include.members(["v0.3.0-l9:failed", "v0.4.0-l9:succeeded", "v0.1.0-l9:succeeded"]);
    });

    const FRESH_CLONE =
        "6b. the compiled program and the probes' provider removed (a fresh clone): the next up builds both and refreshes the probes from the state";
    it(FRESH_CLONE, async () => {
        // The probes are the project's own plugin's resources: the state holds their facts,
        // no code (the Node.js dynamic provider they replaced stored its code there).
        const state = await s.stack.exportStack();
        const resources =
            (state.deployment as { resources?: Array<{ type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }> }).resources ?? [];
        expect(resources.filter((x) => x.type.startsWith("pulumi-nodejs")).map((x) => x.type)).to.deep.equal([]);
        const probes = resources.filter((x) => x.type === "l9host:index:FactProbe");
        expect(probes.length).to.be.at.least(4);
        for (const p of probes) expect({ ...p.inputs, ...p.outputs }).to.not.have.property("__provider");
        // As a fresh clone has them: no compiled program; the plugin's folder without the plugin.
        fs.rmSync(path.join(REPO_ROOT, ".l9-program"), { recursive: true, force: true });
        for (const built of ["pulumi-resource-l9host", "digest"]) fs.rmSync(path.join(REPO_ROOT, ".l9-provider", built), { force: true });
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
        expect(fs.existsSync(path.join(REPO_ROOT, ".l9-program", "current.json"))).to.equal(true);
        expect(fs.existsSync(path.join(REPO_ROOT, ".l9-provider", "pulumi-resource-l9host"))).to.equal(true);
        expect(r.stdout).to.contain("building the host probes' provider");
        const changed = resourceSteps(r.events).filter((x) => !/^(same|read|refresh) /.test(x));
        expect(changed, changed.join(", ")).to.deep.equal([]);
    });

    it("7. Caddy restarted on the host still routes to the active slot", async () => {
        sh("kill $(cat /var/lib/l9-sandbox/caddy/caddy.pid) && sleep 1");
        expect(httpGet(`${s.siteUrl}/version`).status).to.equal(0);
        sh("bash scripts/sandbox.sh up >/dev/null 2>&1");
        expect(version()).to.equal("v0.2.0-l9");
    });

    const deployRecords = () => sh(`wc -l < '${s.appDir}/deploys.jsonl'`).trim();
    /** Steps that would make an update a release: anything created or replaced (a new deploy id, gate run or switch). */
    const releaseSteps = (steps: string[]) => steps.filter((x) => /^(create|replace|create-replacement|delete-replaced) /.test(x));

    it("8. a new SSH port is a connection change, not a release: no gate, no switch, no deploy record, no container", async () => {
        const records = deployRecords();
        const green = containerId("green");
        await s.set({ sshPort: String(sandboxFacts().sshAltPort) });
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
        const steps = resourceSteps(r.events);
        expect(releaseSteps(steps), `steps: ${steps.join(", ")}`).to.deep.equal([]);
        expect(steps.filter((x) => /^update /.test(x)).length, `steps: ${steps.join(", ")}`).to.be.greaterThan(0);
        // The gate and the switch were updated to the new connection without running.
        expect(r.stdout).to.not.contain("waiting up to").and.not.contain("Caddy now routes");
        expect(deployRecords()).to.equal(records);
        expect(containerId("green")).to.equal(green);
        expect(version()).to.equal("v0.2.0-l9");
    });

    const RETIRE_ONLY =
        "8b. imagesToKeep, drainGraceSeconds and standby changed alone: the switch's retire part runs (drain, prune), no gate, no switch, no deploy record";
    it(RETIRE_ONLY, async () => {
        const records = deployRecords();
        const serving = containerId("green");
        await s.set({ imagesToKeep: "2", drainGraceSeconds: "5", standby: "stopped" });
        const { r, report } = await upUnderLoad(watchTraffic);
        expect(r.ok, r.error).to.equal(true);
        const steps = resourceSteps(r.events);
        expect(releaseSteps(steps), `steps: ${steps.join(", ")}`).to.deep.equal([]);
        expect(
            steps.filter((x) => /^update .*traffic-caddy$/.test(x)),
            `steps: ${steps.join(", ")}`,
        ).to.have.length(1);
        expect(r.stdout).to.contain(`draining ${s.serviceName}-blue (SIGTERM, 5s grace)`);
        expect(r.stdout).to.not.contain("Caddy now routes").and.not.contain("watching").and.not.contain("waiting up to");
        expectNoFailures(report);
        expect(deployRecords()).to.equal(records);
        expect(containerId("green")).to.equal(serving);
        expect(sh(`docker inspect -f '{{.State.Running}}' '${s.serviceName}-blue'`).trim()).to.equal("false");
        // Beyond the newest two, only images a container uses are left.
        const inUse = sh(`docker ps -a --format '{{.Image}}' | xargs -r docker image inspect -f '{{.Id}}'`).trim().split("\n");
        const images = sh(
            `docker image ls --filter 'label=l9.service=${s.serviceName}' --format '{{.CreatedAt}}\t{{.ID}}' | sort -r | cut -f2 | awk '!seen[$0]++'`,
        )
            .trim()
            .split("\n")
            .filter(Boolean);
        const full = (id: string) => sh(`docker image inspect -f '{{.Id}}' '${id}'`).trim();
        expect(
            images.slice(2).filter((id) => !inUse.includes(full(id))),
            `images: ${images.join(", ")}`,
        ).to.deep.equal([]);
        expect(version()).to.equal("v0.2.0-l9");
    });

    it("9. a rotated deploy key changes no resource at all (the key lives only in the stack's agent)", async () => {
        const records = deployRecords();
        const dir = sh("mktemp -d").trim();
        sh(`ssh-keygen -q -t ed25519 -N '' -C rotated -f '${dir}/key' && cat '${dir}/key.pub' >> /var/lib/l9-sandbox/ssh/authorized_keys`);
        await s.set({ sshPrivateKey: sh(`cat '${dir}/key'`) }, true);
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
        const changed = resourceSteps(r.events).filter((x) => !/^(same|read|refresh) /.test(x));
        expect(changed, changed.join(", ")).to.deep.equal([]);
        expect(deployRecords()).to.equal(records);
        await s.set({ sshPort: String(sandboxFacts().sshPort) });
        await s.set({ sshPrivateKey: sandboxFacts().privateKey }, true);
    });
});
