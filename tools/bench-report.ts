import { Sample } from "../test/support/load-loop";
import { encodePng } from "./png";
import { slowestSteps, stepDuration, Timeline } from "./timeline";

/** One timed operation, with where its time went when engine events were seen. */
export interface TimedRun {
    seconds: number;
    timeline?: Timeline;
}

/** One measured scenario under load. */
export interface ScenarioResult {
    name: string;
    /** Wall time of the operation, seconds. */
    wallSeconds: number;
    total: number;
    failed: number;
    retried: number;
    longestGapMs: number;
    samples: Sample[];
    /** Seconds from the start of the operation to the first response of the new version. */
    switchedSeconds?: number;
    /** Where the time went (l9-deploy operations). */
    timeline?: Timeline;
}

/** The engine floor and the operations measured against it. */
export interface EngineFigures {
    /** `pulumi up` of an empty TypeScript program (median), on an idle machine. */
    floor: TimedRun;
    /** The same, under the load the release and the rollback run under (median). */
    floorUnderLoad: TimedRun;
    /** A switch to the warm standby (a rollback) without load, watched by one slow client. */
    idleRollback: TimedRun & { switchedSeconds?: number; failed: number };
    /** A no-op `pulumi up` of the sandbox stack (median). */
    noop: TimedRun;
    /** `npm run drift` on the unchanged stack (median). */
    drift: TimedRun;
    /** The release's image build step, seconds (engine events). */
    releaseBuildSeconds: number;
}

/** What a rollback to N-2 ran to get its release's image (pure, from its timeline): the checkout and build steps, and the kept release's one check. */
export function olderRollbackSteps(t: Timeline | undefined): { fetchCheckoutBuild: string[]; keptImageCheckSeconds: number } | undefined {
    if (!t) return undefined;
    const ran = t.steps.filter((x) => x.op !== "refresh" && x.op !== "same" && x.op !== "read");
    return {
        fetchCheckoutBuild: ran.filter((x) => /-(worktree|build)$/.test(x.name)).map((x) => `${x.name} (${x.op})`),
        keptImageCheckSeconds: stepDuration(t, /^kept-.*-check$/) / 1000,
    };
}

/** One goal of issue 12: a figure, its limit above its floor, and whether it held. */
export interface Goal {
    what: string;
    seconds: number;
    limitAboveFloor: number;
    /** The floor measured under the figure's own conditions (idle, or under the load). */
    floor: number;
    held: boolean;
    /** Whether it would also hold against the idle floor (for figures measured under load). */
    heldAgainstIdleFloor?: boolean;
}

const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? "1.0 (both 0)" : "∞ (l9-deploy: 0)") : (a / b).toFixed(1));

/**
 * The goals, judged on one run's figures (pure), each against the floor measured under its
 * own conditions: no-op, drift and the rollback without load against the idle floor; the
 * release and the rollback under load against the floor under that load (and, for the record,
 * the idle floor too).
 */
export function judgeGoals(results: ScenarioResult[], f: EngineFigures): Goal[] {
    const [release, , rollback] = results;
    const within = (seconds: number | undefined, floor: number, limit: number) => seconds !== undefined && seconds <= floor + limit;
    const goal = (what: string, seconds: number | undefined, limitAboveFloor: number, underLoad: boolean): Goal => {
        const floor = underLoad ? f.floorUnderLoad.seconds : f.floor.seconds;
        return {
            what,
            seconds: seconds ?? Number.NaN,
            limitAboveFloor,
            floor,
            held: within(seconds, floor, limitAboveFloor),
            ...(underLoad ? { heldAgainstIdleFloor: within(seconds, f.floor.seconds, limitAboveFloor) } : {}),
        };
    };
    const idle = (what: string, seconds: number | undefined, limit: number) => goal(what, seconds, limit, false);
    const loaded = (what: string, seconds: number | undefined, limit: number) => goal(what, seconds, limit, true);
    return [
        idle("no-op `pulumi up`", f.noop.seconds, 4),
        idle("`npm run drift`", f.drift.seconds, 4),
        idle("rollback without load: traffic switched", f.idleRollback.switchedSeconds, 3),
        idle("rollback without load: whole `up`", f.idleRollback.seconds, 6),
        loaded("rollback under load: traffic switched", rollback.switchedSeconds, 3),
        loaded("rollback under load: whole `up`", rollback.wallSeconds, 6),
        loaded("release under load: time outside the image build", release.wallSeconds - f.releaseBuildSeconds, 10),
    ];
}

function describeGoal(g: Goal, idleFloor: number): string {
    const seconds = Number.isNaN(g.seconds) ? "not measured" : `${g.seconds.toFixed(1)} s`;
    const which = g.heldAgainstIdleFloor === undefined ? "floor" : "floor under load";
    const idle =
        g.heldAgainstIdleFloor === undefined
            ? ""
            : `; against the idle floor (${(idleFloor + g.limitAboveFloor).toFixed(1)} s): ${g.heldAgainstIdleFloor ? "held" : "missed"}`;
    return `- ${g.held ? "held" : "MISSED"}: ${g.what} ${seconds} ≤ ${which} + ${g.limitAboveFloor} s (${(g.floor + g.limitAboveFloor).toFixed(1)} s)${idle}`;
}

function phases(name: string, t: Timeline | undefined): string[] {
    if (!t) return [];
    const s = (ms: number) => (ms / 1000).toFixed(1);
    return [
        `- **${name}** (${s(t.totalMs)} s): engine up at ${s(t.engineReadyMs)} s, ` +
            `first resource step at ${s(t.firstStepMs)} s (language host and program start), ` +
            `last step done at ${s(t.lastStepEndMs)} s, then ${s(t.totalMs - t.lastStepEndMs)} s until the CLI exits; ` +
            `${t.refreshSteps} refreshes; slowest steps: ${slowestSteps(t, 5).join(", ")}`,
    ];
}

/** The markdown report: floor and goals, the load table, ratios, where the time went. */
export function renderBenchmarkMarkdown(
    results: ScenarioResult[],
    f: EngineFigures,
    meta: { date: string; workers: number; repeats: number; chart: string },
): string {
    const [release, baseline, rollback, rolling, older] = results;
    const floor = f.floor.seconds;
    const loadedFloor = f.floorUnderLoad.seconds;
    const above = (x: number, base = floor) => `${x.toFixed(1)} | +${(x - base).toFixed(1)} | ${(x / base).toFixed(1)}×`;
    // Figures measured under load, against the floor under the same load (then the idle floor).
    const aboveLoaded = (x: number) => `${above(x, loadedFloor)} | +${(x - floor).toFixed(1)} |`;
    const rows = results.map((r) => `| ${r.name} | ${r.wallSeconds.toFixed(1)} | ${r.total} | ${r.failed} | ${r.retried} | ${r.longestGapMs} |`);
    const goals = judgeGoals(results, f);
    return [
        "# Deploy benchmark",
        "",
        `Measured by \`npm run bench\` on ${meta.date}, in one run, side by side, on one toolchain and file backend. ` +
            `Timings come from this noisy 2-core machine: read the differences and ratios, not the absolute numbers.`,
        "",
        "## Against the engine floor",
        "",
        `The floor is \`pulumi up\` of an empty TypeScript program (median of ${meta.repeats}), measured twice: ` +
            `on the idle machine, and under the same load as the release and the rollback (the load takes CPU from the engine too). ` +
            `No-op and drift are medians of ${meta.repeats} on the idle machine, against the idle floor, ` +
            `as is one more switch to the warm standby (a rollback) without load; ` +
            `release and rollback run once under load, against the floor under load (the last column gives them against the idle floor).`,
        "",
        "| figure | seconds | above its floor | ratio to its floor | above the idle floor |",
        "|---|---:|---:|---:|---:|",
        `| engine floor | ${floor.toFixed(1)} | | | |`,
        `| engine floor under load | ${loadedFloor.toFixed(1)} | | | +${(loadedFloor - floor).toFixed(1)} |`,
        `| no-op \`pulumi up\` | ${above(f.noop.seconds)} | |`,
        `| \`npm run drift\` | ${above(f.drift.seconds)} | |`,
        `| rollback without load: traffic switched | ` +
            `${f.idleRollback.switchedSeconds !== undefined ? above(f.idleRollback.switchedSeconds) : "not seen | |"} | |`,
        `| rollback without load: whole \`up\` (${f.idleRollback.failed} failed requests of the watcher) | ${above(f.idleRollback.seconds)} | |`,
        `| rollback under load: traffic switched (from the start of \`up\`) | ` +
            `${rollback.switchedSeconds !== undefined ? aboveLoaded(rollback.switchedSeconds) : "not seen | | | |"}`,
        `| rollback under load: whole \`up\` | ${aboveLoaded(rollback.wallSeconds)}`,
        `| release: traffic switched (from the start of \`up\`) | ` +
            `${release.switchedSeconds !== undefined ? aboveLoaded(release.switchedSeconds) : "not seen | | | |"}`,
        `| release: whole \`up\` | ${aboveLoaded(release.wallSeconds)}`,
        `| release: image build step | ${f.releaseBuildSeconds.toFixed(1)} | | | |`,
        `| release: outside the image build | ${aboveLoaded(release.wallSeconds - f.releaseBuildSeconds)}`,
        ...(older ? olderRollbackRows(older, aboveLoaded) : []),
        "",
        "Goals (issue 12), judged on this run:",
        "",
        ...goals.map((g) => describeGoal(g, floor)),
        "",
        "Where the time went (engine events, timed on arrival):",
        "",
        ...phases("no-op `pulumi up`", f.noop.timeline),
        ...phases("release", release.timeline),
        ...phases("rollback under load", rollback.timeline),
        ...phases("rollback without load", f.idleRollback.timeline),
        ...(older ? phases("rollback to N-2 under load", older.timeline) : []),
        ...phases("engine floor", f.floor.timeline),
        ...phases("engine floor under load", f.floorUnderLoad.timeline),
        "",
        "## Under load",
        "",
        `Each scenario under the same constant loopback load (${meta.workers} clients requesting \`GET /version\` through Caddy back to back; ` +
            `half keep connections alive, half open one per request).`,
        "",
        "| scenario | wall time (s) | requests | failed | retried once (stale keep-alive) | longest gap without a success (ms) |",
        "|---|---:|---:|---:|---:|---:|",
        ...rows,
        "",
        "Ratios (baseline ÷ l9-deploy):",
        "",
        `- failed requests, release: ${ratio(baseline.failed, release.failed)}; rollback: ${ratio(baseline.failed, rollback.failed)}`,
        `- longest gap, release: ${ratio(baseline.longestGapMs, release.longestGapMs)}; rollback: ${ratio(baseline.longestGapMs, rollback.longestGapMs)}`,
        `- wall time, rollback vs release (l9-deploy): ${(rollback.wallSeconds / release.wallSeconds).toFixed(2)} (a rollback is a switch, no build)`,
        ...(older
            ? [
                  `- wall time, rollback to N-2 (kept image) vs release: ${(older.wallSeconds / release.wallSeconds).toFixed(2)}; ` +
                      `vs rollback to the standby: ${(older.wallSeconds / rollback.wallSeconds).toFixed(2)} (a new container from a kept image, no build)`,
              ]
            : []),
        ...(rolling
            ? [
                  `- wall time, ${rolling.name} vs the one-host release: ${(rolling.wallSeconds / release.wallSeconds).toFixed(2)} ` +
                      `(${rolling.failed} failed of ${rolling.total} requests through the edge, against ${release.failed} of ${release.total} on one host)`,
              ]
            : []),
        "",
        "Scenarios:",
        "",
        "1. **l9-deploy release**: `releaseTag` v0.1.0-l9 → v0.2.0-l9, `pulumi up` (verify tag, worktree, build, standby slot, gate, switch).",
        "2. **stop-then-start baseline**: what the old runbooks did: " +
            "`docker stop` the serving container, `docker rm`, `docker run` the new image on the same port, wait until `/health` answers.",
        "3. **l9-deploy rollback**: `releaseTag` back to v0.1.0-l9, `pulumi up`: the warm standby is gated and traffic switched.",
        ...(rolling
            ? [
                  "4. **l9-deploy rolling release**: the same release on the sandbox's isolated hosts (each its own sshd, dockerd, Caddy and filesystem), " +
                      "one at a time (each host's preflight waits for the previous host's switch), " +
                      "the load going through an edge Caddy that balances across the hosts with active health checks.",
              ]
            : []),
        ...(older
            ? [
                  `${rolling ? 5 : 4}. **l9-deploy rollback to N-2**: after an env change of v0.2.0-l9 (not measured) left v0.1.0-l9 in no slot, ` +
                      "`releaseTag` v0.1.0-l9 and `pulumi up`: its image, kept on the host, goes into the standby slot " +
                      "(its tag verified in the host's mirror, no fetch, no checkout, no build), gated, switched.",
              ]
            : []),
        "",
        "After them, without load: `releaseTag` v0.2.0-l9 again, now the warm standby (the same switch as a rollback), " +
            "watched by one client requesting every 50 ms; it is not in the chart.",
        "",
        `![status codes over time](${meta.chart})`,
        "",
        "The chart has one band per scenario, top to bottom as in the table, on one time scale (1 px = the same time in every band): " +
            "green = a success in that instant, red = a failed request, grey = no request completed.",
        "",
    ].join("\n");
}

/** The rollback to N-2's rows of the figures table: its switch and whole `up` under load, and what it ran for its image. */
function olderRollbackRows(older: ScenarioResult, aboveLoaded: (x: number) => string): string[] {
    const ran = olderRollbackSteps(older.timeline);
    const image = !ran
        ? "not timed"
        : ran.fetchCheckoutBuild.length === 0
          ? `none: no checkout or build step ran (its tag and kept image checked in one step: ${ran.keptImageCheckSeconds.toFixed(1)} s)`
          : `ran ${ran.fetchCheckoutBuild.join(", ")}`;
    return [
        `| rollback to N-2 (kept image) under load: traffic switched | ` +
            `${older.switchedSeconds !== undefined ? aboveLoaded(older.switchedSeconds) : "not seen | | | |"}`,
        `| rollback to N-2 (kept image) under load: whole \`up\` | ${aboveLoaded(older.wallSeconds)}`,
        `| rollback to N-2: checkout and image build | ${image} | | | |`,
    ];
}

/** The status chart: one band per scenario, time on x (same scale for all), green ok, red failed. */
export function renderStatusChart(results: ScenarioResult[], width = 900, band = 40, gap = 8): Buffer {
    const height = results.length * (band + gap) + gap;
    const rgb = new Uint8Array(width * height * 3).fill(255);
    const maxMs = Math.max(...results.map((r) => Math.max(1, ...r.samples.map((s) => s.t)))) + 1;
    const put = (x: number, y: number, c: [number, number, number]) => rgb.set(c, (y * width + x) * 3);
    results.forEach((r, i) => {
        const top = gap + i * (band + gap);
        const cols: Array<"none" | "ok" | "fail"> = new Array(width).fill("none");
        for (const s of r.samples) {
            const x = Math.min(width - 1, Math.floor((s.t / maxMs) * width));
            const ok = s.status >= 200 && s.status < 400;
            if (!ok) cols[x] = "fail";
            else if (cols[x] === "none") cols[x] = "ok";
        }
        cols.forEach((c, x) => {
            const colour: [number, number, number] = c === "fail" ? [220, 30, 30] : c === "ok" ? [40, 170, 70] : [200, 200, 200];
            for (let y = top; y < top + band; y++) put(x, y, colour);
        });
    });
    return encodePng(width, height, rgb);
}
