import { expect } from "chai";
import { spawnSync } from "child_process";
import * as path from "path";
import { createL9Stack, L9TestStack } from "../support/l9-stack";
import { cleanSandboxService, httpGet, sandboxFacts, serviceSnapshot, sh, shStatus } from "../support/sandbox";
import { REPO_ROOT } from "../support/toolchain";
import { liftOf } from "../../plan/freeze";

/**
 * Drift, both ways: `npm run drift` (pulumi preview --refresh) names each hand change to the
 * host, the host's own drift job sees it and says so in its metric, and `pulumi up` heals it.
 */
describe("e2e: drift is seen by refresh and by the host job, and healed by up", function () {
    this.timeout(20 * 60 * 1000);
    let s: L9TestStack;
    let metricsFile: string;
    let tag = "v0.1.0-l9";

    const npmDrift = () => {
        const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts/node.sh"), "tools/drift.ts", "--stack", "e2e-drift"], {
            cwd: REPO_ROOT,
            encoding: "utf8",
            env: { ...process.env, ...s.envVars },
        });
        return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
    };
    const hostCheck = () => shStatus(`'${s.appDir}/bin/drift-check' >/dev/null 2>&1`);
    const metric = (name: string) => {
        const m = new RegExp(`^${name}\\{[^}]*\\} (\\d)$`, "m").exec(sh(`cat '${metricsFile}'`));
        return m ? Number(m[1]) : undefined;
    };

    before(async () => {
        s = await createL9Stack("drift", 18200);
        cleanSandboxService(s.serviceName, s.appDir, sandboxFacts().caddyAdmin);
        metricsFile = `/var/lib/l9-sandbox/metrics-drift/l9_drift_${s.serviceName}.prom`;
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
        tag = (await s.stack.outputs()).releaseTag.value as string;
    });

    after(async () => {
        if (s) s.removeFromHost();
    });

    it("starts clean: npm run drift exits 0, the host job exits 0 and reports 0", () => {
        const d = npmDrift();
        expect(d.code, d.out).to.equal(0);
        expect(d.out).to.contain("drift: none");
        expect(hostCheck()).to.equal(0);
        expect(metric("l9_drift_detected")).to.equal(0);
        expect(sh("cat /etc/cron.d/" + s.serviceName + "-drift")).to.match(/^17 \* \* \* \* root .*drift-check/m);
        // What node_exporter serves from it passes Prometheus's own lint (monitoring/alert-rules.yml reads it).
        expect(sh(`promtool check metrics <'${metricsFile}' 2>&1; echo "rc $?"`).trim()).to.equal("rc 0");
    });

    /** A hand change; `round` is the round it is made in (below), each change of a round in its own place. */
    type DriftCase = { name: string; round: 1 | 2; tamper: () => void; resource: RegExp; detail: RegExp; gauge: string };
    const cases: DriftCase[] = [
        {
            name: "stop the active container",
            round: 1,
            tamper: () => sh(`docker stop -t 1 ${s.serviceName}-blue`),
            resource: /blue-container \(update\)/,
            detail: /mustRun: found false, declared true/,
            gauge: "l9_drift_container",
        },
        {
            name: "remove the active container",
            round: 2,
            tamper: () => sh(`docker rm -f ${s.serviceName}-blue`),
            resource: /blue-container \(create\)/,
            detail: /missing on the host/,
            gauge: "l9_drift_container",
        },
        {
            name: "edit a tracked file in the worktree",
            round: 1,
            tamper: () => sh(`echo edited >> '${s.appDir}/releases/${tag}/README'`),
            resource: new RegExp(`checkout-${tag}-worktree-facts \\(update\\)`),
            detail: /clean: found "no \(1 tracked files modified\)", declared "yes"/,
            gauge: "l9_drift_worktree",
        },
        {
            name: "check out another tag on the host",
            round: 2,
            tamper: () => sh(`git -C '${s.appDir}/releases/${tag}' checkout -q --detach v0.2.0-l9`),
            resource: new RegExp(`checkout-${tag}-worktree-facts \\(update\\)`),
            detail: /at_tag: found "no \(HEAD [0-9a-f]{40}\)", declared "yes"/,
            gauge: "l9_drift_worktree",
        },
        {
            name: "point Caddy at another upstream through its admin API",
            round: 1,
            tamper: () =>
                sh(
                    `curl -fsS -X PATCH -H 'Content-Type: application/json' -d '[{"dial":"127.0.0.1:9"}]' ` +
                        `'http://${sandboxFacts().caddyAdmin}/id/${s.serviceName}-blue-upstream/upstreams'`,
                ),
            resource: /traffic-route-facts \(update\)/,
            detail: /upstream: found "\[\{\\"dial\\":\\"127\.0\.0\.1:9\\"\}\]"/,
            gauge: "l9_drift_caddy_upstream",
        },
        {
            name: "delete the cron file",
            round: 1,
            tamper: () => sh(`rm -f /etc/cron.d/${s.serviceName}-drift`),
            resource: /drift-job-facts \(update\)/,
            detail: /cron_file: found "missing"/,
            gauge: "l9_drift_cron_file",
        },
        {
            name: "edit the env file",
            round: 2,
            tamper: () => sh(`echo 'APP_SECRET=changed-by-hand' >> '${s.appDir}/shared/.env'`),
            resource: /env-file-facts \(update\)/,
            detail: /differs from the declared state/,
            gauge: "l9_drift_env_file",
        },
    ];

    // The hand changes in two rounds, each change in its own place (a container, the worktree,
    // Caddy, cron, the env file): each detector must name every one of them by its own resource,
    // detail and gauge, and one up heals them all. (One up per change cost a minute more.)
    const rounds = [1, 2].map((n) => cases.filter((c) => c.round === n));

    for (const round of rounds) {
        it(`${round.map((c) => c.name).join("; ")}: both detectors name each, up heals them, both are clean again`, async () => {
            for (const c of round) c.tamper();
            const d = npmDrift();
            expect(d.code, d.out).to.equal(1);
            expect(hostCheck()).to.equal(1);
            expect(metric("l9_drift_detected")).to.equal(1);
            for (const c of round) {
                expect(d.out, c.name).to.match(c.resource);
                expect(d.out, c.name).to.match(c.detail);
                expect(metric(c.gauge), c.name).to.equal(1);
            }

            const r = await s.up();
            expect(r.ok, r.error).to.equal(true);

            const after = npmDrift();
            expect(after.code, after.out).to.equal(0);
            expect(hostCheck()).to.equal(0);
            expect(metric("l9_drift_detected")).to.equal(0);
            for (const c of round) expect(metric(c.gauge), c.name).to.equal(0);
        });
    }

    const FREEZE =
        "a freeze refuses every update before anything runs, with its reason, who set it and how to lift it; preview shows it; the drift job keeps reporting";
    it(FREEZE, async () => {
        const reason = "DB maintenance until 14:00, ask Ana";
        const version = () => httpGet(`${s.siteUrl}/version`).body;
        const serving = version();
        // A release is asked for while frozen: the update would change the host.
        // A refresh reads the host and changes nothing on it: it runs, saying the stack is frozen
        // (before the release is asked for: a refresh that runs the program cannot declare new resources).
        await s.set({ freeze: reason });
        const unfrozenHost = serviceSnapshot(s.serviceName, s.appDir);
        const refreshed = s.cli(["refresh", "--yes"]);
        expect(refreshed.code, refreshed.out).to.equal(0);
        expect(refreshed.out).to.contain(`the stack is frozen: "${reason}"`);
        expect(serviceSnapshot(s.serviceName, s.appDir), "the host").to.equal(unfrozenHost);
        await s.set({ releaseTag: "v0.2.0-l9" });
        const preview = s.cli(["preview"]);
        expect(preview.code, preview.out).to.equal(0);
        expect(preview.out).to.contain(`the stack is frozen: "${reason}"`);
        expect(preview.out).to.contain("pulumi up will be refused until it is lifted");

        // A hand change while frozen: the drift job reports it, and no update heals it.
        sh(`echo 'APP_SECRET=changed-during-the-freeze' >> '${s.appDir}/shared/.env'`);
        const frozenHost = serviceSnapshot(s.serviceName, s.appDir);
        const refusedHere = await s.up();
        expect(refusedHere.ok, "the update is refused").to.equal(false);
        expect(refusedHere.error).to.contain(`the stack is frozen: "${reason}"`);
        expect(refusedHere.error).to.match(/Set in this update, by \S+\./);
        expect(refusedHere.error).to.contain("nothing was changed on any host");
        expect(refusedHere.error).to.contain(`To lift it: pulumi config set freeze "${liftOf(reason)}", then pulumi up`);
        expect(serviceSnapshot(s.serviceName, s.appDir), "the host").to.equal(frozenHost);
        expect(version()).to.equal(serving);
        expect(hostCheck(), "the drift job reports the hand change").to.equal(1);
        expect(metric("l9_drift_detected")).to.equal(1);
        expect(metric("l9_drift_env_file")).to.equal(1);

        // The refused update is in the stack's history, with the freeze it ran with.
        const history = s.cli(["stack", "history", "--json", "--page-size", "1"]);
        const [newest] = JSON.parse(history.out.slice(history.out.indexOf("["))) as Array<{ result: string; config: Record<string, { value?: string }> }>;
        expect(newest.result).to.equal("failed");
        expect(newest.config["l9-deploy:freeze"].value).to.equal(reason);

        // A teammate's checkout, whose config never heard of the freeze: held by it too, naming who set it.
        await s.stack.removeConfig("l9-deploy:freeze");
        const refusedThere = await s.up();
        expect(refusedThere.ok, "the teammate's update is refused").to.equal(false);
        expect(refusedThere.error).to.contain(`the stack is frozen: "${reason}"`);
        expect(refusedThere.error).to.match(
            /Set in the update of \d{4}-\d\d-\d\d \d\d:\d\d UTC, run from a checkout at [0-9a-f]{7} \(HEAD commit by .+\) \(pulumi stack history\)\./,
        );
        expect(refusedThere.error).to.contain("This checkout's config does not set freeze");
        // What the teammate reads, in the test's log.
        const said = refusedThere.error!.split("\n").filter((l) => /frozen:|Set in|This checkout|To lift/.test(l));
        console.log(said.map((l) => `      ${l.trim()}`).join("\n"));
        expect(serviceSnapshot(s.serviceName, s.appDir), "the host").to.equal(frozenHost);
        expect(npmDrift().code, "npm run drift still reports the hand change").to.equal(1);

        // Lifted: the update runs, releases and heals.
        // A lift naming another freeze is refused, saying which to name.
        await s.set({ freeze: "off" });
        const bare = await s.up();
        expect(bare.ok).to.equal(false);
        expect(bare.error).to.contain(`lifts another freeze than the one in force: "${reason}"`);
        await s.set({ freeze: liftOf(reason) });
        const lifted = await s.up();
        expect(lifted.ok, lifted.error).to.equal(true);
        expect(lifted.stdout).to.contain(`this update lifts the freeze "${reason}"`);
        expect(version()).to.contain("v0.2.0-l9");
        expect(hostCheck()).to.equal(0);

        // The lift left in a checkout: refused until it is removed.
        const leftover = await s.up();
        expect(leftover.ok).to.equal(false);
        expect(leftover.error).to.contain("l9-deploy:freeze is a lift, but the stack is not frozen");
        expect(leftover.error).to.contain("Fix: pulumi config rm freeze");
        await s.stack.removeConfig("l9-deploy:freeze");
    });
});
