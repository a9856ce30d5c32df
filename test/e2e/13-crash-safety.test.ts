import { expect } from "chai";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { createL9Stack, L9TestStack, resourceSteps } from "../support/l9-stack";
import { LoadReport, watchTraffic } from "../support/load-loop";
import { killPulumi as killPulumiTree, pulumiInBackground, runRecover } from "../support/pulumi-process";
import { cleanSandboxService, httpGet, sandboxFacts, sh, waitFor } from "../support/sandbox";

/**
 * Crash safety: an update interrupted after its flip (its host script killed, or the
 * operator's `pulumi` killed) never leads the next one to replace the container that serves.
 * The next release is a tag that listens only 12 s after it starts (v0.4.4-l9), under load:
 * a replaced serving container would show as failed requests that no proxy retry hides.
 * Then a fault matrix: a release interrupted at each step boundary, by either kind of kill.
 */
describe("e2e: crash safety (interrupted after the flip)", function () {
    this.timeout(30 * 60 * 1000);
    let s: L9TestStack;
    const SLOW = "v0.4.4-l9";

    const version = () => {
        const r = httpGet(`${s.siteUrl}/version`);
        return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `status ${r.status}`;
    };
    const containerId = (color: string) => sh(`docker inspect -f '{{.Id}}' '${s.serviceName}-${color}' 2>/dev/null || true`).trim();
    const journal = () =>
        sh(`cat '${s.appDir}/deploys.jsonl' 2>/dev/null || true`)
            .split("\n")
            .filter((l) => l.trim())
            .map((l) => JSON.parse(l) as { id: string; tag: string; slot: string; status: string });
    /** The journal says `tag` was flipped to (its switch is in its watch now). */
    const flipped = (tag: string, since: number) => () =>
        journal()
            .slice(since)
            .some((r) => r.tag === tag && r.status === "switching");
    /** SIGKILL of the host scripts running now (`sh -s`, as the command provider starts them): the switch, in its watch. */
    const killHostScripts = () => sh(`pkill -KILL -f '^sh -s$' && echo killed || echo none`).trim();
    const killPulumi = (child: ChildProcess) => killPulumiTree(child, s.envVars.PULUMI_HOME);
    const upInBackground = (): ChildProcess => pulumiInBackground(["up", "--yes", "--stack", "e2e-crash"], s.envVars);
    /** The recovery step the README names (npm run recover). */
    const recover = () => runRecover("e2e-crash", s.envVars);
    const noFailures = (report: LoadReport) => {
        console.log(`      load: ${report.total} requests, ${report.failed.length} failed`);
        expect(report.total).to.be.greaterThan(100);
        expect(report.failed, JSON.stringify(report.failed.slice(0, 3))).to.have.length(0);
    };

    before(async () => {
        s = await createL9Stack("crash", 19600);
        cleanSandboxService(s.serviceName, s.appDir, sandboxFacts().caddyAdmin);
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
        expect(version()).to.equal("v0.1.0-l9");
    });

    after(() => {
        if (s) s.removeFromHost();
    });

    /** The slot Caddy's routing marker sends traffic to, on the host. */
    const routing = () => sh(`test -e '/var/lib/l9-deploy/${s.serviceName}/caddy/${s.serviceName}-green.active' && echo green || echo blue`).trim();

    it("the switch's script killed during its watch: the next release, slow to start, goes to the other slot under load with 0 failed requests", async () => {
        // v0.1.0 serves from blue. v0.2.0 goes to green, passes its gate, Caddy flips to green,
        // and the switch's script dies in its watch: the update fails, green serves.
        await s.set({ releaseTag: "v0.2.0-l9", watchSeconds: "20" });
        const before = journal().length;
        const update = s.up();
        await waitFor("the flip to v0.2.0", flipped("v0.2.0-l9", before), 180);
        expect(killHostScripts()).to.equal("killed");
        const failed = await update;
        expect(failed.ok, "the interrupted update fails").to.equal(false);
        expect(version()).to.equal("v0.2.0-l9");
        const green = containerId("green");

        // The next release, straight away: the stack's record still says blue serves v0.1.0.
        await s.set({ releaseTag: SLOW, watchSeconds: "0" });
        const loop = watchTraffic(`${s.siteUrl}/version`);
        const r = await s.up();
        noFailures(await loop.stop());
        expect(r.ok, r.error).to.equal(true);
        expect(r.stdout).to.match(/the host serves v0\.2\.0-l9 from green .*the stack's record says v0\.1\.0-l9 serves from blue/);
        expect(version()).to.equal(SLOW);
        expect(containerId("green"), "the container that served was not replaced").to.equal(green);
        expect((await s.stack.outputs()).activeSlot.value).to.equal("blue");
        // Each flip is journaled once: v0.2.0's (switching, never live) and the slow tag's.
        const flips = journal()
            .slice(before)
            .filter((x) => x.status === "switching")
            .map((x) => `${x.tag} ${x.slot}`);
        expect(flips).to.deep.equal(["v0.2.0-l9 green", `${SLOW} blue`]);
    });

    it("`pulumi` itself killed during the watch: the documented recovery, then the same tag converges and a slow release loses no request", async () => {
        // SLOW serves from blue, v0.2.0 is the warm standby in green. v0.1.0 replaces green, from
        // its image kept on the host (no checkout, no build).
        expect(sh(`docker image ls -q '${s.serviceName}-api:v0.1.0-l9'`).trim(), "v0.1.0's image is kept").to.not.equal("");
        const v1Worktree = `${s.appDir}/releases/v0.1.0-l9`;
        expect(sh(`test -e '${v1Worktree}' && echo yes || echo no`).trim(), "v0.1.0 has no worktree").to.equal("no");
        await s.set({ releaseTag: "v0.1.0-l9", watchSeconds: "20" });
        const before = journal().length;
        const child = upInBackground();
        await waitFor("the flip to v0.1.0", flipped("v0.1.0-l9", before), 180);
        // A live holder's lock is never taken.
        const busy = recover();
        expect(busy.code, busy.out).to.equal(1);
        expect(busy.out).to.match(/process \d+ .* still runs and holds the lock/);
        killPulumi(child);
        await new Promise((r) => setTimeout(r, 1000));
        expect(version()).to.equal("v0.1.0-l9");
        const green = containerId("green");

        // The stack is left locked by a process that no longer exists: the error says what to run.
        const locked = s.cli(["up", "--yes"]);
        expect(locked.code).to.not.equal(0);
        expect(locked.out).to.match(/currently locked/);
        expect(locked.out).to.contain("npm run recover -- --stack e2e-crash");
        const recovered = recover();
        expect(recovered.code, recovered.out).to.equal(0);
        expect(recovered.out).to.match(/removed the lock of process \d+ .*which no longer runs/);

        // The same tag converges: no container replaced, each flip journaled once. The host serves
        // v0.1.0 from its kept image (no worktree), and the stack's record does not know it: it
        // stays a kept release, neither checked out nor built.
        const again = await s.up();
        expect(again.ok, again.error).to.equal(true);
        const steps = resourceSteps(again.events);
        expect(
            steps.filter((x) => /(tag|checkout|image|kept)-v0\.1\.0-l9/.test(x) && !/^(same|refresh) /.test(x)),
            steps.join(", "),
        ).to.deep.equal([]);
        expect(steps, "v0.1.0's kept release is declared").to.include("same command:remote:Command kept-v0.1.0-l9-check");
        expect(sh(`test -e '${v1Worktree}' && echo yes || echo no`).trim(), "v0.1.0 has no worktree").to.equal("no");
        expect(version()).to.equal("v0.1.0-l9");
        expect(containerId("green")).to.equal(green);
        const flips = journal()
            .slice(before)
            .filter((x) => x.status === "switching")
            .map((x) => `${x.tag} ${x.slot}`);
        expect(flips).to.deep.equal(["v0.1.0-l9 green"]);
        expect(
            journal()
                .slice(before)
                .filter((x) => x.status === "live")
                .map((x) => x.tag),
        ).to.deep.equal(["v0.1.0-l9"]);

        // A release that starts slowly (SLOW with another env: a new container) goes to blue under load.
        await s.set({ releaseTag: SLOW, watchSeconds: "0" });
        await s.set({ env: JSON.stringify({ APP_SECRET: "e2e-secret-crash-rotated", DATABASE_URL: "postgres://l9@127.0.0.1/e2e" }) }, true);
        const loop = watchTraffic(`${s.siteUrl}/version`);
        const r = await s.up();
        noFailures(await loop.stop());
        expect(r.ok, r.error).to.equal(true);
        expect(version()).to.equal(SLOW);
        expect(containerId("green"), "v0.1.0, which served, is the warm standby").to.equal(green);
    });

    const KILLED_DURING_CREATE =
        "`pulumi` killed while Docker created a slot's container: " +
        "`npm run recover` removes that container (no resource knows it), and the next up converges";
    it(KILLED_DURING_CREATE, async () => {
        const serving = routing();
        const standby = serving === "blue" ? "green" : "blue";
        const servingContainer = containerId(serving);
        expect(containerId(standby), "the warm standby runs").to.not.equal("");
        // The state such a kill leaves, made from this stack's real one (the kill's timing is a
        // race that a test cannot win every time): the standby's container, whose delete came
        // first (deleteBeforeReplace), is no resource, and its create is pending; the container
        // Docker made is on the host. What depends on it goes too (the engine replaces it first).
        // Written to the file backend's checkpoint as the engine writes it (`pulumi stack import` drops pending operations).
        const backendDir = decodeURIComponent(s.envVars.PULUMI_BACKEND_URL.slice("file://".length).split("?")[0]);
        const checkpointFile = path.join(backendDir, ".pulumi", "stacks", "l9-deploy", "e2e-crash.json");
        const checkpoint = JSON.parse(fs.readFileSync(checkpointFile, "utf8")) as {
            checkpoint: { latest: { resources: Array<Record<string, unknown>>; pending_operations?: unknown[] } };
        };
        const d = checkpoint.checkpoint.latest;
        const gone = new Set<string>();
        const target = d.resources.find((r) => String(r.urn).endsWith(`docker:index/container:Container::${standby}-container`));
        expect(target, "the standby's container resource").to.not.equal(undefined);
        gone.add(String(target!.urn));
        const refersToGone = (r: Record<string, unknown>) =>
            [
                ...((r.dependencies as string[] | undefined) ?? []),
                ...Object.values((r.propertyDependencies as Record<string, string[]> | undefined) ?? {}).flat(),
                String(r.parent ?? ""),
                String(r.deletedWith ?? ""),
            ].some((u) => gone.has(u));
        for (let grew = true; grew;) {
            grew = false;
            for (const r of d.resources) if (!gone.has(String(r.urn)) && refersToGone(r)) (gone.add(String(r.urn)), (grew = true));
        }
        d.resources = d.resources.filter((r) => !gone.has(String(r.urn)));
        d.pending_operations = [{ resource: { ...target!, id: undefined, outputs: undefined }, type: "creating" }];
        fs.writeFileSync(checkpointFile, JSON.stringify(checkpoint));

        const recovered = recover();
        expect(recovered.code, recovered.out).to.equal(0);
        expect(recovered.out).to.contain(`removed ${s.serviceName}-${standby}: the interrupted update was creating it`);
        expect(containerId(standby), "the half-made container is gone").to.equal("");
        expect(containerId(serving), "the container Caddy routes to is untouched").to.equal(servingContainer);

        // The release the killed update was making (another env: a new container) converges
        // into the standby under load; what served is the warm standby.
        await s.set({ env: JSON.stringify({ APP_SECRET: "e2e-secret-crash-halfmade", DATABASE_URL: "postgres://l9@127.0.0.1/e2e" }) }, true);
        const loop = watchTraffic(`${s.siteUrl}/version`);
        const again = await s.up();
        noFailures(await loop.stop());
        expect(again.ok, again.error).to.equal(true);
        expect(routing()).to.equal(standby);
        expect(version()).to.equal(SLOW);
        expect(containerId(serving), "what served is the warm standby").to.equal(servingContainer);
    });

    describe("fault matrix: a release interrupted at each step boundary, then the same release, then the next one under load", () => {
        type Kill = "host script" | "pulumi";
        interface Boundary {
            name: string;
            /** The tag released (default: the slow tag, with another env each case). */
            tag?: string;
            /** Config for the release (reset after the case). */
            config?: Record<string, string>;
            /**
             * The config changes Caddy's server config: applied (and reset) by an update of its
             * own, without load. A config reload is a settings change, not the fault under test.
             */
            reloadsCaddy?: boolean;
            /** True once the release reached the boundary; `standby` is the slot being released into. */
            reached(standby: string, before: { container: string; records: number }): boolean;
            /** The kills tried there (default: both). */
            kills?: Kill[];
            /** Extra wait after the boundary is reached, ms. */
            afterMs?: number;
            /** Set up before the release, given the port of the slot that serves. */
            prepare?(servingPort: number): void;
        }
        const newContainer = (standby: string, before: { container: string }) => containerId(standby) !== "" && containerId(standby) !== before.container;
        const imageBuilt = (tag: string) => () => sh(`docker image ls -q '${s.serviceName}-api:${tag}'`).trim() !== "";
        const boundaries: Boundary[] = [
            // A tag's image is built once: the build boundary with two tags, one kill each.
            { name: "after the image build", tag: "v0.4.0-l9", kills: ["host script"], reached: imageBuilt("v0.4.0-l9") },
            { name: "after the image build", tag: "v0.2.0-l9", kills: ["pulumi"], reached: imageBuilt("v0.2.0-l9") },
            // Both leave a new container whose gate has not passed; a host script killed there is
            // the gate's either way, so each kill is tried once between the two.
            { name: "after the standby is replaced", kills: ["pulumi"], reached: newContainer },
            { name: "during the gate", kills: ["host script"], reached: newContainer, afterMs: 4000 },
            {
                name: "during the hooks",
                config: { backup: "sleep 6; echo l9-backup" },
                reached: () => sh(`ls '${s.appDir}/backups' 2>/dev/null || true`).includes(".partial"),
            },
            {
                name: "during a canary step",
                config: { canary: JSON.stringify({ percent: 20, steps: 1, stepSeconds: 8, minRequests: 1000000 }) },
                reloadsCaddy: true,
                reached: () => sh(`ls '/var/lib/l9-deploy/${s.serviceName}/caddy'`).includes("canary"),
            },
            // A short watch keeps the switch running past the flip, where the kill lands (a kill
            // later in the watch is the first two tests').
            {
                name: "right after the flip",
                config: { watchSeconds: "3" },
                reached: (_, b) =>
                    journal()
                        .slice(b.records)
                        .some((r) => r.status === "switching"),
            },
            {
                name: "during drain and prune",
                config: { standby: "stopped", drainGraceSeconds: "10" },
                // A long request in flight on the slot being drained holds its graceful shutdown
                // open, up to the grace: the drain takes that long.
                prepare: (port) => sh(`(curl -s -m 60 -o /dev/null 'http://127.0.0.1:${port}/sleep?s=45' >/dev/null 2>&1 &)`),
                reached: (_, b) =>
                    journal()
                        .slice(b.records)
                        .some((r) => r.status === "live"),
            },
        ];
        const cases = boundaries.flatMap((b) => (b.kills ?? (["host script", "pulumi"] as Kill[])).map((kill): [Boundary, Kill] => [b, kill]));
        let release = 0;

        for (const [index, [boundary, kill]] of cases.entries()) {
            it(`${boundary.name}, ${kill} killed: the next up converges, then a release that starts slowly loses no request`, async () => {
                release++;
                // Caddy's config is loaded for the boundary's first case and unloaded after its last.
                if (boundary.reloadsCaddy && cases[index - 1]?.[0] !== boundary) {
                    await s.set(boundary.config ?? {});
                    const loaded = await s.up();
                    expect(loaded.ok, loaded.error).to.equal(true);
                }
                const tag = boundary.tag ?? SLOW;
                // The tag's image is built in this release: one left from earlier tests is removed (unless a slot runs it).
                if (boundary.tag) sh(`docker image rm '${s.serviceName}-api:${tag}' >/dev/null 2>&1 || true`);
                const serving = routing();
                const standby = serving === "blue" ? "green" : "blue";
                const servingContainer = containerId(serving);
                boundary.prepare?.(serving === "blue" ? s.ports.blue : s.ports.green);
                const before = { container: containerId(standby), records: journal().length };
                // Each case is a new release of the slow tag (another env): a new container in the standby slot.
                await s.set({ releaseTag: tag, watchSeconds: "0", ...boundary.config });
                await s.set({ env: JSON.stringify({ APP_SECRET: `e2e-secret-matrix-${release}`, DATABASE_URL: "postgres://l9@127.0.0.1/e2e" }) }, true);
                const loop = watchTraffic(`${s.siteUrl}/version`);
                try {
                    let killed: string;
                    if (kill === "host script") {
                        const update = s.up();
                        await waitFor(boundary.name, () => boundary.reached(standby, before), 180);
                        await new Promise((r) => setTimeout(r, boundary.afterMs ?? 0));
                        // At a boundary between steps no host script may run: the next one is killed.
                        killed = "none";
                        for (let i = 0; i < 60 && killed === "none"; i++) {
                            killed = killHostScripts();
                            if (killed === "none") await new Promise((r) => setTimeout(r, 250));
                        }
                        expect(killed, "a host script was killed").to.equal("killed");
                        await update;
                    } else {
                        const child = upInBackground();
                        await waitFor(boundary.name, () => boundary.reached(standby, before), 180);
                        await new Promise((r) => setTimeout(r, boundary.afterMs ?? 0));
                        killPulumi(child);
                        killed = "pulumi";
                        await new Promise((r) => setTimeout(r, 500));
                        const recovered = recover();
                        expect(recovered.code, recovered.out).to.equal(0);
                    }
                    console.log(`      killed: ${killed}; Caddy routes to ${routing()}`);
                    // Whatever the kill left, the container that served before the flip is never
                    // replaced while it serves: if traffic did not move, it is still there.
                    if (routing() === serving) expect(containerId(serving), "the serving container").to.equal(servingContainer);

                    // The same release again converges.
                    const again = await s.up();
                    expect(again.ok, again.error).to.equal(true);
                    expect(version()).to.equal(tag);
                    expect(routing()).to.equal(standby);
                    const records = journal().slice(before.records);
                    expect(
                        records.filter((r) => r.status === "switching").map((r) => r.slot),
                        "the flip journaled exactly once",
                    ).to.deep.equal([standby]);
                    expect(
                        records.filter((r) => r.status === "live").map((r) => r.slot),
                        "live exactly once",
                    ).to.deep.equal([standby]);
                    expect(sh(`ls '/var/lib/l9-deploy/${s.serviceName}/caddy'`), "no canary marker left").to.not.contain("canary");
                } finally {
                    noFailures(await loop.stop());
                    // Back to the plain settings for the next case.
                    if (!boundary.reloadsCaddy) for (const key of Object.keys(boundary.config ?? {})) await s.stack.removeConfig(`l9-deploy:${key}`);
                }
                if (boundary.reloadsCaddy && cases[index + 1]?.[0] !== boundary) {
                    for (const key of Object.keys(boundary.config ?? {})) await s.stack.removeConfig(`l9-deploy:${key}`);
                    const unloaded = await s.up();
                    expect(unloaded.ok, unloaded.error).to.equal(true);
                    // No canary logger is left: Caddy would not start (--resume) on a log file removed with the service.
                    expect(sh(`curl -s 'http://127.0.0.1:2019/config/logging/logs/${s.serviceName}-canary'`).trim(), "the canary's logger").to.equal("null");
                }
            });
        }
    });

    it("the guard by construction: a plan made before the host changed never replaces what Caddy routes to", async () => {
        const serving = routing();
        const standby = serving === "blue" ? "green" : "blue";
        expect(sh(`docker inspect -f '{{.State.Running}}' '${s.serviceName}-${standby}'`).trim(), "the warm standby runs").to.equal("true");
        const standbyContainer = containerId(standby);
        const standbyTag = sh(`docker inspect -f '{{index .Config.Labels "l9.tag"}}' '${s.serviceName}-${standby}'`).trim();
        const started = () => sh(`cat '${s.appDir}/state/attempt-started' 2>/dev/null || true`).trim();
        const startedBefore = started();
        // A release step of an interrupted update still runs on the host (it holds the lock)...
        const holder = spawn("flock", [`${s.appDir}/state/switch.lock`, "sleep", "120"], { detached: true, stdio: "ignore" });
        await s.set({ releaseTag: SLOW });
        await s.set({ env: JSON.stringify({ APP_SECRET: "e2e-secret-crash-guard", DATABASE_URL: "postgres://l9@127.0.0.1/e2e" }) }, true);
        const loop = watchTraffic(`${s.siteUrl}/version`);
        try {
            const update = s.up();
            // ...and, once this update has planned the release into the standby (its preflight ran),
            // flips Caddy to the standby, as that interrupted switch would.
            await waitFor("this update's preflight", () => started() !== startedBefore, 180);
            const marker = `/var/lib/l9-deploy/${s.serviceName}/caddy/${s.serviceName}-green.active`;
            sh(standby === "green" ? `date > '${marker}'` : `rm -f '${marker}'`);
            expect(routing()).to.equal(standby);
            process.kill(-holder.pid!, "SIGKILL");
            const r = await update;
            expect(r.ok, "the update is refused").to.equal(false);
            expect(r.error).to.contain(
                `guard ${standby} failed: refusing to replace ${standby} (${s.serviceName}-${standby}, running ${standbyTag}, ` +
                    `bridge network): Caddy routes to it`,
            );
            expect(containerId(standby), "the container Caddy routes to was not replaced").to.equal(standbyContainer);
            expect(version()).to.equal(standbyTag);
        } finally {
            try {
                process.kill(-holder.pid!, "SIGKILL");
            } catch {
                // already gone
            }
            noFailures(await loop.stop());
        }
        // The next up plans from what the host serves: the release goes into the other slot.
        const next = await s.up();
        expect(next.ok, next.error).to.equal(true);
        expect(next.stdout).to.contain(`the host serves ${standbyTag} from ${standby}`);
        expect(version()).to.equal(SLOW);
        expect(routing()).to.equal(serving);
        expect(containerId(standby)).to.equal(standbyContainer);
    });

    const MIGRATION_NEVER_EXITS =
        "a migration that never exits (the image's ENTRYPOINT runs the server) " +
        "fails after hookTimeoutSeconds, leaves no container, and the stack unlocked";
    it(MIGRATION_NEVER_EXITS, async () => {
        const serving = version();
        await s.set({ releaseTag: SLOW, migrate: JSON.stringify(["sh", "-c", "exit 7"]), hookTimeoutSeconds: "10" });
        await s.set({ env: JSON.stringify({ APP_SECRET: "e2e-secret-crash-migrate", DATABASE_URL: "postgres://l9@127.0.0.1/e2e" }) }, true);
        const r = await s.up();
        expect(r.ok).to.equal(false);
        expect(r.error).to.contain("hook 'migrate' did not finish within hookTimeoutSeconds=10 s; its container was stopped and removed");
        expect(sh(`docker ps -a --filter 'name=^${s.serviceName}-migrate$' -q`).trim(), "no migration container left").to.equal("");
        expect(version(), "traffic did not move").to.equal(serving);
        // Nothing holds the stack: the next up runs (and, without the hook, converges).
        await s.stack.removeConfig("l9-deploy:migrate");
        const next = await s.up();
        expect(next.ok, next.error).to.equal(true);
        expect(version()).to.equal(SLOW);
    });
});
