/**
 * `npm run bench`: in one run, on one toolchain and backend:
 *   - the engine floor: `pulumi up` of an empty TypeScript program;
 *   - a no-op `pulumi up` and `npm run drift` of the sandbox stack;
 *   - under the same constant loopback load: an l9-deploy release, a stop-then-start baseline
 *     (what the old runbooks did), an l9-deploy rollback to the warm standby, and one to N-2
 *     (a release in no slot, whose image the host keeps: no checkout, no build);
 *   - a release rolled over the sandbox's 3 isolated hosts, one at a time, under load through
 *     an edge balancer, next to the one-host release.
 * Every l9-deploy figure is reported as absolute seconds, seconds above the floor and a ratio
 * to it, with where the time went (engine events). Writes docs/benchmarks.md and
 * docs/benchmark-status.png. Not a pass/fail test: it measures and reports.
 */
import { EngineEvent, LocalWorkspace } from "@pulumi/pulumi/automation";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createL9Stack, L9TestStack } from "../test/support/l9-stack";
import { LoadLoop, LoadReport } from "../test/support/load-loop";
import { createHostsStack } from "../test/support/multi-host";
import { cleanSandboxService, httpGet, sandboxFacts, sh } from "../test/support/sandbox";
import { pulumiTestEnv, REPO_ROOT } from "../test/support/toolchain";
import { EngineFigures, renderBenchmarkMarkdown, renderStatusChart, ScenarioResult, TimedRun } from "./bench-report";
import { buildTimeline, stepDuration, TimedEvent } from "./timeline";

const WORKERS = 4;
const REPEATS = 3;
const BASE = { service: "l9benchbase", port: 18901, site: 18980 };

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const median = (runs: TimedRun[]): TimedRun => [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];

/** `pulumi up` through the Automation API, with every engine event timed on arrival. */
async function timedUp(up: (onEvent: (e: EngineEvent) => void) => Promise<unknown>): Promise<TimedRun> {
    const events: TimedEvent[] = [];
    const start = Date.now();
    await up((event) => events.push({ at: Date.now() - start, event }));
    const totalMs = Date.now() - start;
    return { seconds: totalMs / 1000, timeline: buildTimeline(events, totalMs) };
}

interface FloorProgram {
    measure(): Promise<TimedRun>;
    dispose(): void;
}

/**
 * The engine floor: an empty TypeScript program, same toolchain, backend and settings. Its
 * stack is created once; `measure` times REPEATS runs (median), idle or under a load.
 */
async function prepareFloor(): Promise<FloorProgram> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-floor-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: l9-floor\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
    fs.writeFileSync(path.join(dir, "index.ts"), "export {};\n");
    fs.writeFileSync(
        path.join(dir, "tsconfig.json"),
        JSON.stringify({
            compilerOptions: { strict: true, target: "ES2022", module: "commonjs", moduleResolution: "node", esModuleInterop: true, skipLibCheck: true },
            files: ["index.ts"],
        }),
    );
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "l9-floor", private: true }));
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
    const { envVars } = pulumiTestEnv("floor");
    const stack = await LocalWorkspace.createOrSelectStack({ stackName: "floor", workDir: dir }, { envVars });
    await stack.up({ color: "never" }); // warm-up: first run creates the stack resource
    return {
        async measure() {
            const runs: TimedRun[] = [];
            for (let i = 0; i < REPEATS; i++) runs.push(await timedUp((onEvent) => stack.up({ onEvent, color: "never" })));
            return median(runs);
        },
        dispose: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
}

/** `npm run drift` as an operator runs it (tools/drift.ts through scripts/node.sh). */
function timedDrift(s: L9TestStack): TimedRun {
    const start = Date.now();
    const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts/node.sh"), "tools/drift.ts", "--stack", "e2e-bench"], {
        cwd: REPO_ROOT,
        encoding: "utf8",
        env: { ...process.env, ...s.envVars },
    });
    if (r.status !== 0) throw new Error(`drift reported ${r.status}: ${r.stdout}${r.stderr}`);
    return { seconds: (Date.now() - start) / 1000 };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `op` while `loop` runs, `settleMs` after the loop started and before it stops, and
 * stops the loop even when `op` throws. `opStart` is in the loop's sample time.
 */
async function whileLooping<T>(
    loop: LoadLoop,
    settleMs: number,
    op: () => Promise<T>,
): Promise<{ result: T; report: LoadReport; opStart: number; wallSeconds: number }> {
    try {
        await pause(settleMs);
        const start = Date.now();
        const result = await op();
        const wallSeconds = (Date.now() - start) / 1000;
        await pause(settleMs);
        return { result, report: await loop.stop(), opStart: start - loop.started, wallSeconds };
    } catch (e) {
        await loop.stop();
        throw e;
    }
}

/** Seconds from the operation's start to the first response naming `version`. */
function switchedAfter(report: LoadReport, opStart: number, version: string): number | undefined {
    const first = report.samples.find((x) => x.t >= opStart && x.version === version);
    return first ? (first.t - opStart) / 1000 : undefined;
}

/** An operation under load: wall time, load report, and when the load first saw `version`. */
async function underLoad(name: string, url: string, version: string | undefined, op: () => Promise<TimedRun | void>): Promise<ScenarioResult> {
    log(`${name}...`);
    // A second of steady load before the operation, and one after.
    const { result: run, report, opStart, wallSeconds } = await whileLooping(new LoadLoop(url, WORKERS, 600), 1000, op);
    log(`${name}: ${wallSeconds.toFixed(1)} s, ${report.total} requests, ${report.failed.length} failed, longest gap ${report.longestGapMs} ms`);
    return {
        name,
        wallSeconds,
        total: report.total,
        failed: report.failed.length,
        retried: report.retriedOnStaleConnection,
        longestGapMs: report.longestGapMs,
        samples: report.samples,
        switchedSeconds: version ? switchedAfter(report, opStart, version) : undefined,
        timeline: run ? run.timeline : undefined,
    };
}

async function main(): Promise<void> {
    const admin = sandboxFacts().caddyAdmin;
    log("engine floor: `pulumi up` of an empty TypeScript program...");
    const floorProgram = await prepareFloor();
    try {
        await measureAll(floorProgram, admin);
    } finally {
        floorProgram.dispose();
    }
}

/** Everything after the floor's program is ready. */
async function measureAll(floorProgram: FloorProgram, admin: string): Promise<void> {
    const floor = await floorProgram.measure();
    log(`floor: ${floor.seconds.toFixed(1)} s`);

    const s = await createL9Stack("bench", 18900 + 50);
    cleanSandboxService(s.serviceName, s.appDir, admin);
    cleanSandboxService(BASE.service, "/tmp/l9-bench-base", admin);
    const up = (onEvent: (e: EngineEvent) => void) => s.stack.up({ onEvent, color: "never" });
    try {
        log("first deploy of v0.1.0-l9 (not measured)");
        const first = await s.up();
        if (!first.ok) throw new Error(`first deploy failed: ${first.error}`);
        const out = await s.stack.outputs();
        const image = (tag: string) =>
            Object.values(out.slots.value as Record<string, { tag: string; imageId: string } | null>).find((x) => x?.tag === tag)?.imageId;
        const v1 = image("v0.1.0-l9")!;

        log("no-op `pulumi up`...");
        const noops: TimedRun[] = [];
        for (let i = 0; i < REPEATS; i++) noops.push(await timedUp(up));
        log("`npm run drift`...");
        const drifts: TimedRun[] = [];
        for (let i = 0; i < REPEATS; i++) drifts.push(timedDrift(s));

        await s.set({ releaseTag: "v0.2.0-l9" });
        const release = await underLoad("l9-deploy release", `${s.siteUrl}/version`, "v0.2.0-l9", () => timedUp(up));
        const v2 = ((await s.stack.outputs()).imageId.value as string) ?? "";

        // Baseline: one container on a fixed port behind its own Caddy server, replaced in place.
        const run = (img: string) =>
            sh(
                `docker run -d --name ${BASE.service} --label l9.service=${BASE.service} --network host ` +
                    `-e PORT=${BASE.port} -e HOST=127.0.0.1 -e APP_SECRET=bench -e DATABASE_URL=bench '${img}' >/dev/null`,
            );
        run(v1);
        const server = {
            listen: [`127.0.0.1:${BASE.site}`],
            automatic_https: { disable: true },
            routes: [{ handle: [{ handler: "reverse_proxy", upstreams: [{ dial: `127.0.0.1:${BASE.port}` }] }] }],
        };
        sh(`curl -fsS -X POST -H 'Content-Type: application/json' -d '${JSON.stringify(server)}' 'http://${admin}/config/apps/http/servers/${BASE.service}'`);
        sh(`for i in $(seq 1 60); do curl -fsS -o /dev/null http://127.0.0.1:${BASE.site}/health && exit 0; sleep 0.5; done; exit 1`);
        const baseline = await underLoad("stop-then-start baseline", `http://127.0.0.1:${BASE.site}/version`, undefined, async () => {
            sh(`docker stop -t 10 ${BASE.service} >/dev/null && docker rm ${BASE.service} >/dev/null`);
            run(v2);
            sh(`for i in $(seq 1 240); do curl -fsS -o /dev/null http://127.0.0.1:${BASE.port}/health && exit 0; sleep 0.25; done; exit 1`);
        });

        await s.set({ releaseTag: "v0.1.0-l9" });
        const rollback = await underLoad("l9-deploy rollback", `${s.siteUrl}/version`, "v0.1.0-l9", () => timedUp(up));
        if (httpGet(`${s.siteUrl}/version`).body.indexOf("v0.1.0-l9") < 0) throw new Error("the rollback did not serve v0.1.0-l9");

        // The same switch to the warm standby without load (v0.2.0-l9 is the standby now), timed
        // against the idle floor. A watcher (one request every 50 ms) sees when traffic moved.
        log("switch to the warm standby without load...");
        await s.set({ releaseTag: "v0.2.0-l9" });
        const watcher = new LoadLoop(`${s.siteUrl}/version`, 1, 600, 2_000_000, 50);
        const { result: idleRun, report: watched, opStart } = await whileLooping(watcher, 500, () => timedUp(up));
        const idleRollback = { ...idleRun, switchedSeconds: switchedAfter(watched, opStart, "v0.2.0-l9"), failed: watched.failed.length };
        log(
            `idle rollback: switched at ${idleRollback.switchedSeconds ?? "?"} s, done at ${idleRun.seconds.toFixed(1)} s, ` +
                `${watched.failed.length} failed of ${watched.total}`,
        );

        // A rollback to N-2: an env change of v0.2.0-l9 (a release of the same tag, not measured)
        // takes v0.1.0-l9's slot; v0.1.0-l9 then returns from its image, which the host keeps.
        log("an env change of v0.2.0-l9 (not measured): v0.1.0-l9 leaves the slots, its image stays");
        await s.set({ env: JSON.stringify({ APP_SECRET: "e2e-secret-bench-rotated", DATABASE_URL: "postgres://l9@127.0.0.1/e2e" }) }, true);
        const envChange = await s.up();
        if (!envChange.ok) throw new Error(`the env change failed: ${envChange.error}`);
        await s.set({ releaseTag: "v0.1.0-l9" });
        const older = await underLoad("l9-deploy rollback to N-2 (kept image)", `${s.siteUrl}/version`, "v0.1.0-l9", () => timedUp(up));
        if (httpGet(`${s.siteUrl}/version`).body.indexOf("v0.1.0-l9") < 0) throw new Error("the rollback to N-2 did not serve v0.1.0-l9");

        // The release and the rollback run under load, which takes CPU from the engine too: the
        // floor is measured again under the same load, to judge them on equal terms.
        log("engine floor under the same load...");
        const loaded = new LoadLoop(`${s.siteUrl}/version`, WORKERS, 600);
        const { result: floorUnderLoad, report: floorLoad } = await whileLooping(loaded, 1000, () => floorProgram.measure());
        log(`floor under load: ${floorUnderLoad.seconds.toFixed(1)} s (${floorLoad.total} requests, ${floorLoad.failed.length} failed)`);

        const figures: EngineFigures = {
            floor,
            floorUnderLoad,
            idleRollback,
            noop: median(noops),
            drift: median(drifts),
            releaseBuildSeconds: release.timeline ? stepDuration(release.timeline, /^image-v0\.2\.0-l9-build$/) / 1000 : 0,
        };
        const rolling = await rollingRelease();
        const results = [release, baseline, rollback, rolling, older];
        // The raw timelines, for a closer look (docs/performance.md was written from them).
        if (process.env.L9_BENCH_TIMELINES)
            fs.writeFileSync(
                process.env.L9_BENCH_TIMELINES,
                JSON.stringify(
                    { figures, release: release.timeline, rollback: rollback.timeline, idleRollback: idleRun.timeline, olderRollback: older.timeline },
                    null,
                    1,
                ),
            );
        const docs = path.join(REPO_ROOT, "docs");
        fs.mkdirSync(docs, { recursive: true });
        fs.writeFileSync(path.join(docs, "benchmark-status.png"), renderStatusChart(results));
        const md = renderBenchmarkMarkdown(results, figures, {
            date: new Date().toISOString().slice(0, 10),
            workers: WORKERS,
            repeats: REPEATS,
            chart: "benchmark-status.png",
        });
        fs.writeFileSync(path.join(docs, "benchmarks.md"), md);
        process.stdout.write(md);
    } finally {
        sh(`docker rm -f ${BASE.service} >/dev/null 2>&1 || true`);
        cleanSandboxService(BASE.service, "/tmp/l9-bench-base", admin);
        s.destroy();
    }
}

/** A release rolled over the 3 sandbox hosts (one at a time) under load through the edge. */
async function rollingRelease(): Promise<ScenarioResult> {
    const m = await createHostsStack("benchhosts", 19700, 19790);
    try {
        log("3 hosts: first deploy of v0.1.0-l9 (not measured)");
        const first = await m.s.up();
        if (!first.ok) throw new Error(`first deploy on the hosts failed: ${first.error}`);
        await m.s.set({ releaseTag: "v0.2.0-l9" });
        const up = (onEvent: (e: EngineEvent) => void) => m.s.stack.up({ onEvent, color: "never" });
        return await underLoad(`l9-deploy rolling release, ${m.hosts.length} hosts`, `${m.edgeUrl}/version`, undefined, () => timedUp(up));
    } finally {
        m.removeEdge();
        m.s.destroy();
    }
}

main().catch((e) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});
