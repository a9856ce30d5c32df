import { expect } from "chai";
import * as zlib from "zlib";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { EngineFigures, judgeGoals, olderRollbackSteps, renderBenchmarkMarkdown, renderStatusChart, ScenarioResult } from "../../tools/bench-report";
import { buildTimeline, slowestSteps, stepDuration, TimedEvent } from "../../tools/timeline";

const scenario = (name: string, failed: number, gap: number, wall: number, switchedSeconds?: number): ScenarioResult => ({
    name,
    wallSeconds: wall,
    total: 100,
    failed,
    retried: 0,
    longestGapMs: gap,
    switchedSeconds,
    samples: [
        { t: 0, status: 200 },
        { t: 500, status: failed ? 0 : 200, error: failed ? "ECONNREFUSED" : undefined },
        { t: 1000, status: 200 },
    ],
});

const figures: EngineFigures = {
    floor: { seconds: 3 },
    floorUnderLoad: { seconds: 4 },
    idleRollback: { seconds: 8.5, switchedSeconds: 5.5, failed: 0 },
    noop: { seconds: 6.5 },
    drift: { seconds: 7.5 },
    releaseBuildSeconds: 4,
};

describe("unit: benchmark report", () => {
    const results = [
        scenario("l9-deploy release", 0, 40, 20, 15),
        scenario("stop-then-start baseline", 37, 2500, 3),
        scenario("l9-deploy rollback", 0, 30, 8, 6.5),
    ];

    it("renders both floors, each figure above its floor and as a ratio, the table and the ratios against the baseline", () => {
        const md = renderBenchmarkMarkdown(results, figures, { date: "2026-11-22", workers: 4, repeats: 3, chart: "c.png" });
        expect(md).to.contain("| engine floor | 3.0 | | | |");
        expect(md).to.contain("| engine floor under load | 4.0 | | | +1.0 |");
        expect(md).to.contain("| no-op `pulumi up` | 6.5 | +3.5 | 2.2× | |");
        expect(md, "figures under load: against the floor under load, then the idle floor").to.contain(
            "| rollback under load: traffic switched (from the start of `up`) | 6.5 | +2.5 | 1.6× | +3.5 |",
        );
        expect(md).to.contain("| rollback without load: traffic switched | 5.5 | +2.5 | 1.8× | |");
        expect(md).to.contain("| rollback without load: whole `up` (0 failed requests of the watcher) | 8.5 | +5.5 | 2.8× | |");
        expect(md).to.contain("| release: outside the image build | 16.0 | +12.0 | 4.0× | +13.0 |");
        expect(md).to.contain("- held: rollback under load: traffic switched 6.5 s ≤ floor under load + 3 s (7.0 s); against the idle floor (6.0 s): missed");
        expect(md).to.contain("- held: no-op `pulumi up` 6.5 s ≤ floor + 4 s (7.0 s)\n");
        expect(md).to.contain("| stop-then-start baseline | 3.0 | 100 | 37 | 0 | 2500 |");
        expect(md).to.contain("failed requests, release: ∞ (l9-deploy: 0)");
        expect(md).to.contain("longest gap, release: 62.5; rollback: 83.3");
        expect(md).to.contain("![status codes over time](c.png)");
    });

    it("judges each goal against the floor of its own conditions + its limit, and the loaded ones against the idle floor too", () => {
        const goals = judgeGoals(results, figures);
        expect(goals.map((g) => [g.what, g.floor, g.held, g.heldAgainstIdleFloor])).to.deep.equal([
            ["no-op `pulumi up`", 3, true, undefined],
            ["`npm run drift`", 3, false, undefined],
            ["rollback without load: traffic switched", 3, true, undefined],
            ["rollback without load: whole `up`", 3, true, undefined],
            ["rollback under load: traffic switched", 4, true, false],
            ["rollback under load: whole `up`", 4, true, true],
            ["release under load: time outside the image build", 4, false, false],
        ]);
        const slowIdle = judgeGoals(results, { ...figures, idleRollback: { seconds: 9.5, switchedSeconds: undefined, failed: 0 } });
        expect(slowIdle[2].held, "a switch the watcher never saw is not a goal held").to.equal(false);
        expect(slowIdle[3].held, "9.5 > 3 + 6").to.equal(false);
        expect(judgeGoals([scenario("r", 0, 0, 10), results[1], scenario("b", 0, 0, 5)], figures)[4].held, "a switch never seen is not a goal held").to.equal(
            false,
        );
    });

    it("reports the rollback to N-2 beside the release and the rollback to the standby, and what it ran for its image", () => {
        const step = (name: string, op: string, start: number, end: number) => ({ name, type: "command:remote:Command", op, start, end });
        const timeline = (steps: ReturnType<typeof step>[]) => ({
            totalMs: 9000,
            engineReadyMs: 500,
            firstStepMs: 600,
            lastStepEndMs: 8000,
            refreshSteps: 1,
            steps,
        });
        const kept = {
            ...scenario("l9-deploy rollback to N-2 (kept image)", 0, 20, 10, 7),
            timeline: timeline([step("image-v0.2.0-l9-build", "refresh", 600, 900), step("kept-v0.1.0-l9-check", "create", 1000, 1400)]),
        };
        const rolling = scenario("l9-deploy rolling release, 3 hosts", 0, 10, 40);
        const md = renderBenchmarkMarkdown([...results, rolling, kept], figures, { date: "2026-12-06", workers: 4, repeats: 3, chart: "c.png" });
        expect(md).to.contain("| rollback to N-2 (kept image) under load: whole `up` | 10.0 | +6.0 | 2.5× | +7.0 |");
        expect(md).to.contain(
            "| rollback to N-2: checkout and image build | none: no checkout or build step ran (its tag and kept image checked in one step: 0.4 s) | | | |",
        );
        expect(md).to.contain("- wall time, rollback to N-2 (kept image) vs release: 0.50; vs rollback to the standby: 1.25");
        expect(md).to.contain("5. **l9-deploy rollback to N-2**");
        expect(md).to.contain("| l9-deploy rollback to N-2 (kept image) | 10.0 | 100 | 0 | 0 | 20 |");
        // A rollback that did build says what it ran.
        const built = {
            ...kept,
            timeline: timeline([step("checkout-v0.1.0-l9-worktree", "create", 600, 900), step("image-v0.1.0-l9-build", "create", 900, 5000)]),
        };
        expect(olderRollbackSteps(built.timeline)?.fetchCheckoutBuild).to.deep.equal([
            "checkout-v0.1.0-l9-worktree (create)",
            "image-v0.1.0-l9-build (create)",
        ]);
        expect(renderBenchmarkMarkdown([...results, rolling, built], figures, { date: "d", workers: 4, repeats: 3, chart: "c.png" })).to.contain(
            "| rollback to N-2: checkout and image build | ran checkout-v0.1.0-l9-worktree (create), image-v0.1.0-l9-build (create) | | | |",
        );
    });

    it("draws a valid PNG with a red mark where requests failed", () => {
        const png = renderStatusChart(results, 100, 10, 2);
        expect(png.subarray(0, 8).toString("hex")).to.equal("89504e470d0a1a0a");
        expect(png.subarray(12, 16).toString("ascii")).to.equal("IHDR");
        expect(png.readUInt32BE(16)).to.equal(100);
        const idat = png.indexOf("IDAT");
        const raw = zlib.inflateSync(png.subarray(idat + 4, idat + 4 + png.readUInt32BE(idat - 4)));
        const pixel = (x: number, y: number) => [...raw.subarray(y * 301 + 1 + x * 3, y * 301 + 1 + x * 3 + 3)];
        const bandTop = (i: number) => 2 + i * 12;
        expect(pixel(49, bandTop(1))).to.deep.equal([220, 30, 30]); // baseline failure at t=500 of 1001
        expect(pixel(49, bandTop(0))).to.deep.equal([40, 170, 70]);
        expect(pixel(20, bandTop(0))).to.deep.equal([200, 200, 200]);
    });
});

describe("unit: operation timeline from engine events", () => {
    type StepMetadata = NonNullable<EngineEvent["resourcePreEvent"]>["metadata"];
    const meta = (op: string, name: string) => ({ op, urn: `urn:pulumi:s::l9-deploy::t::${name}`, type: "command:remote:Command" }) as unknown as StepMetadata;
    const at = (ms: number, event: Partial<EngineEvent>): TimedEvent => ({ at: ms, event: event as EngineEvent });
    const events: TimedEvent[] = [
        at(900, { preludeEvent: { config: {} } } as Partial<EngineEvent>),
        at(950, { resourcePreEvent: { metadata: { ...meta("same", "l9"), type: "l9:index:L9Runtime" } } }),
        at(1000, { resourcePreEvent: { metadata: meta("refresh", "a") } }),
        at(1100, { resourcePreEvent: { metadata: meta("refresh", "b") } }),
        at(1800, { resOutputsEvent: { metadata: meta("refresh", "b") } }),
        at(2500, { resOutputsEvent: { metadata: meta("refresh", "a") } }),
        at(4000, { resourcePreEvent: { metadata: meta("same", "a") } }),
        at(4010, { resOutputsEvent: { metadata: meta("same", "a") } }),
        at(4100, { resourcePreEvent: { metadata: meta("update", "image-v2-build") } }),
        at(9100, { resOutputsEvent: { metadata: meta("update", "image-v2-build") } }),
    ];

    it("times each resource step (components left out) from engine start to the last step", () => {
        const t = buildTimeline(events, 10_000);
        expect(t).to.include({ totalMs: 10_000, engineReadyMs: 900, firstStepMs: 1000, lastStepEndMs: 9100, refreshSteps: 2 });
        expect(t.steps.map((s) => `${s.op} ${s.name} ${s.end - s.start}`)).to.deep.equal([
            "refresh a 1500",
            "refresh b 700",
            "same a 10",
            "update image-v2-build 5000",
        ]);
        expect(stepDuration(t, /^image-v2-build$/)).to.equal(5000);
        expect(stepDuration(t, /^a$/), "the refresh of a step is not its run").to.equal(10);
        expect(slowestSteps(t, 2)).to.deep.equal(["image-v2-build (update) 5.0 s", "a (refresh) 1.5 s"]);
    });

    it("copes with an operation without a refresh or any step", () => {
        expect(buildTimeline([], 3000)).to.include({ engineReadyMs: 3000, firstStepMs: 3000, lastStepEndMs: 3000, refreshSteps: 0 });
    });
});
