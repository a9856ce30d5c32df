import { expect } from "chai";
import * as zlib from "zlib";
import { renderBenchmarkMarkdown, renderStatusChart, ScenarioResult } from "../../tools/bench-report";

const scenario = (name: string, failed: number, gap: number, wall: number): ScenarioResult => ({
    name,
    wallSeconds: wall,
    total: 100,
    failed,
    retried: 0,
    longestGapMs: gap,
    samples: [
        { t: 0, status: 200 },
        { t: 500, status: failed ? 0 : 200, error: failed ? "ECONNREFUSED" : undefined },
        { t: 1000, status: 200 },
    ],
});

describe("unit: benchmark report", () => {
    const results = [scenario("l9-deploy release", 0, 40, 20), scenario("stop-then-start baseline", 37, 2500, 3), scenario("l9-deploy rollback", 0, 30, 8)];

    it("renders the table and the ratios against the baseline", () => {
        const md = renderBenchmarkMarkdown(results, { date: "2026-11-22", workers: 4, chart: "c.png" });
        expect(md).to.contain("| stop-then-start baseline | 3.0 | 100 | 37 | 0 | 2500 |");
        expect(md).to.contain("failed requests, release: ∞ (l9-deploy: 0)");
        expect(md).to.contain("longest gap, release: 62.5; rollback: 83.3");
        expect(md).to.contain("rollback vs release (l9-deploy): 0.40");
        expect(md).to.contain("![status codes over time](c.png)");
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
