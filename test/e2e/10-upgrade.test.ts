import { expect } from "chai";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createL9Stack, L9TestStack, resourceSteps } from "../support/l9-stack";
import { watchTraffic } from "../support/load-loop";
import { cleanSandboxService, httpGet, sandboxFacts, sh } from "../support/sandbox";
import { REPO_ROOT } from "../support/toolchain";
import { caddyServerName, legacyCaddyServerName } from "../../host-scripts/routing";

/**
 * The last commit whose fact probes were Node.js dynamic resources. A stack deployed by it
 * is upgraded by this code to the project's provider plugin (providers/l9host).
 */
const DYNAMIC_PROBES_COMMIT = "0300c55";

/**
 * Upgrading a deployed stack to this code: the probes move from the Node.js dynamic provider
 * to the l9host plugin in place, and host scripts whose text changed since (checked writes,
 * the journal at the flip) run once more. Nothing of the release is touched: no checkout, no
 * image, no container, no deploy record, no traffic moved.
 */
describe("e2e: a stack deployed with dynamic-provider probes upgrades in place", function () {
    this.timeout(20 * 60 * 1000);
    let s: L9TestStack;
    let oldStack: Stack;
    let oldTree: string;
    const stackFile = "Pulumi.e2e-upgrade.yaml";

    const up = async (stack: Stack) => {
        const events: Parameters<typeof resourceSteps>[0] = [];
        const r = await stack.up({ color: "never", onEvent: (e) => events.push(e) });
        expect(r.summary.result).to.equal("succeeded");
        return resourceSteps(events).filter((x) => !/^(same|read|refresh) /.test(x));
    };

    before(async () => {
        s = await createL9Stack("upgrade", 19400);
        cleanSandboxService(s.serviceName, s.appDir, sandboxFacts().caddyAdmin);
        oldTree = fs.mkdtempSync(path.join(os.tmpdir(), "l9-upgrade-"));
        sh(`git -C '${REPO_ROOT}' worktree add --detach '${oldTree}/main' ${DYNAMIC_PROBES_COMMIT} >/dev/null 2>&1`);
        // The old program runs on this checkout's packages: every package its lock names is here at
        // its version (packages added since, such as the formatter, do not matter to it).
        const lockOf = (text: string) => (JSON.parse(text) as { packages: Record<string, { version?: string }> }).packages;
        const oldLock = lockOf(sh(`git -C '${REPO_ROOT}' show ${DYNAMIC_PROBES_COMMIT}:package-lock.json`));
        const lock = lockOf(fs.readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8"));
        const moved = Object.entries(oldLock).filter(([name, p]) => name !== "" && lock[name]?.version !== p.version);
        expect(Object.keys(oldLock).length).to.be.greaterThan(100);
        expect(moved.map(([name, p]) => `${name} ${p.version} -> ${lock[name]?.version ?? "absent"}`)).to.deep.equal([]);
        fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(oldTree, "main", "node_modules"));
        fs.copyFileSync(path.join(REPO_ROOT, stackFile), path.join(oldTree, "main", stackFile));
        oldStack = await LocalWorkspace.selectStack({ stackName: "e2e-upgrade", workDir: path.join(oldTree, "main") }, { envVars: s.envVars });
    });

    after(async () => {
        if (s) {
            const d = s.destroy();
            if (d.code !== 0) console.log(`      destroy of the upgraded stack failed (exit ${d.code}):\n${d.out.slice(-3000)}`);
        }
        if (oldTree) {
            sh(`git -C '${REPO_ROOT}' worktree remove --force '${oldTree}/main' >/dev/null 2>&1 || true`);
            fs.rmSync(oldTree, { recursive: true, force: true });
        }
    });

    it("the old code deploys and releases, with dynamic-provider probes", async () => {
        await up(oldStack);
        await oldStack.setConfig("l9-deploy:releaseTag", { value: "v0.2.0-l9" });
        await up(oldStack);
        const state = await oldStack.exportStack();
        const types = ((state.deployment as { resources?: Array<{ type: string }> }).resources ?? []).map((x) => x.type);
        expect(types.filter((t) => t === "pulumi-nodejs:dynamic/l9-host:FactProbe").length).to.be.greaterThan(4);
        expect(httpGet(`${s.siteUrl}/version`).body).to.contain("v0.2.0-l9");
    });

    it("this code's first up swaps the probes' provider and touches no release on the host", async () => {
        await s.set({ releaseTag: "v0.2.0-l9" });
        const records = sh(`wc -l < '${s.appDir}/deploys.jsonl'`).trim();
        const containers = () => sh(`docker ps -a --no-trunc --filter 'label=l9.service=${s.serviceName}' --format '{{.ID}} {{.Names}} {{.Image}}' | sort`);
        const before = containers();
        const changed = await up(s.stack);
        expect(changed).to.include("create pulumi:providers:l9host host-probes").and.include("delete pulumi:providers:pulumi-nodejs host-probes");
        // Only host scripts run again (their text changed) and guards are added: no release step.
        // (The read-only probes may update their connection, e.g. new ssh options: no generation.)
        const releaseSteps = changed.filter(
            (x) =>
                !/ (command:remote:Command|l9host:index:FactProbe|pulumi:providers:\S+) /.test(x) || / command:remote:Command (tag|checkout|image)-v/.test(x),
        );
        expect(releaseSteps, changed.join(", ")).to.deep.equal([]);
        expect(containers(), "no container replaced").to.equal(before);
        expect(sh(`wc -l < '${s.appDir}/deploys.jsonl'`).trim(), "no new deploy record: the serving deploy's record is recognised").to.equal(records);
        expect(httpGet(`${s.siteUrl}/version`).body).to.contain("v0.2.0-l9");
        // Caddy's server keeps the name the old code gave it: no second server, no reload.
        const servers = `http://${sandboxFacts().caddyAdmin}/config/apps/http/servers`;
        expect(sh(`curl -s '${servers}/${legacyCaddyServerName(s.serviceName)}'`)).to.contain(`"127.0.0.1:${s.ports.site}"`);
        expect(sh(`curl -s '${servers}/${caddyServerName(s.serviceName)}'`).trim()).to.equal("null");
        const state = await s.stack.exportStack();
        const resources = (state.deployment as { resources?: Array<{ type: string; outputs?: Record<string, unknown> }> }).resources ?? [];
        expect(resources.filter((x) => x.type.startsWith("pulumi-nodejs")).map((x) => x.type)).to.deep.equal([]);
        const probes = resources.filter((x) => x.type === "l9host:index:FactProbe");
        expect(probes.length).to.be.greaterThan(4);
        for (const p of probes) expect(p.outputs).to.not.have.property("__provider");
    });

    it("then the stack is unchanged, its drift check clean, and a hand edit still seen", async () => {
        expect(await up(s.stack)).to.deep.equal([]);
        const clean = await s.stack.preview({ refresh: true, expectNoChanges: true, color: "never" });
        expect(clean.changeSummary.update ?? 0).to.equal(0);
        sh(`echo edited >> '${s.appDir}/releases/v0.2.0-l9/README'`);
        const drifted = await s.stack.preview({ refresh: true, color: "never", diff: true });
        expect(drifted.changeSummary.update ?? 0).to.be.greaterThan(0);
        expect(drifted.stdout).to.match(/checkout-v0\.2\.0-l9-worktree-facts[\s\S]*clean/);
        expect(await up(s.stack)).to.not.deep.equal([]);
        expect(sh(`git -C '${s.appDir}/releases/v0.2.0-l9' status --porcelain`).trim(), "healed").to.equal("");
        const again = await s.stack.preview({ refresh: true, expectNoChanges: true, color: "never" });
        expect(again.changeSummary.update ?? 0).to.equal(0);
    });

    /**
     * What the app's container reaches, from inside its network namespace (the host's curl
     * there, so any image will do): the HTTP status, or 000 when nothing answers.
     */
    const fromContainer = (container: string, url: string) =>
        sh(`nsenter -t "$(docker inspect -f '{{.State.Pid}}' '${container}')" -n curl -s -m 3 -o /dev/null -w '%{http_code}' '${url}' || true`).trim();
    const admin = () => `http://${sandboxFacts().caddyAdmin}/config/`;

    it("a stack that served with host stays host until told (with a warning); in host mode the app reaches Caddy's admin API", async () => {
        const preview = await s.stack.preview({ color: "never", expectNoChanges: true });
        expect(preview.stdout).to.contain("networkMode is not set and this stack serves with host").and.contain("pulumi config set networkMode bridge");
        expect(sh(`docker inspect -f '{{.HostConfig.NetworkMode}}' '${s.serviceName}-green'`).trim()).to.equal("host");
        // The control: the probe below can see an open admin API.
        expect(fromContainer(`${s.serviceName}-green`, admin())).to.equal("200");
    });

    const BRIDGE_UNDER_LOAD =
        "networkMode bridge moves it by normal releases under load (a slow-listening tag): " +
        "0 failed requests, the serving container untouched; the app cannot reach the admin API";
    it(BRIDGE_UNDER_LOAD, async () => {
        const id = (color: string) => sh(`docker inspect -f '{{.Id}} {{.HostConfig.NetworkMode}}' '${s.serviceName}-${color}'`).trim();
        const serving = id("green");
        await s.set({ networkMode: "bridge" });
        for (const [tag, slot] of [
            ["v0.4.4-l9", "blue"],
            ["v0.2.0-l9", "green"],
        ] as const) {
            await s.set({ releaseTag: tag });
            const loop = watchTraffic(`${s.siteUrl}/version`);
            const r = await s.up();
            await new Promise((resolve) => setTimeout(resolve, 1000));
            const report = await loop.stop();
            expect(r.ok, r.error).to.equal(true);
            expect(report.total, "the load loop ran").to.be.greaterThan(50);
            expect(report.failed, `failed requests: ${JSON.stringify(report.failed.slice(0, 5))}`).to.have.length(0);
            console.log(`      ${tag} into ${slot} (bridge): ${report.total} requests, 0 failed, longest gap without a success ${report.longestGapMs} ms`);
            expect(httpGet(`${s.siteUrl}/version`).body).to.contain(tag);
            expect(id(slot)).to.match(/ bridge$/);
            if (slot === "blue") expect(id("green"), "the container that served is untouched").to.equal(serving);
            const container = `${s.serviceName}-${slot}`;
            const gateway = sh(`docker inspect -f '{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}' '${container}'`).trim();
            expect(gateway).to.match(/^\d+\.\d+\.\d+\.\d+$/);
            expect(fromContainer(container, admin()), "the admin API on the container's loopback").to.equal("000");
            expect(
                fromContainer(container, `http://${gateway}:${sandboxFacts().caddyAdmin.split(":").pop()}/config/`),
                "the admin API through the bridge's gateway",
            ).to.equal("000");
            // The app answers on its published loopback port only.
            expect(sh(`docker port '${container}'`).trim()).to.equal(`8000/tcp -> 127.0.0.1:${slot === "blue" ? s.ports.blue : s.ports.green}`);
        }
        const clean = await s.stack.preview({ color: "never", expectNoChanges: true });
        expect(clean.stdout).to.not.contain("networkMode is");
    });
});
