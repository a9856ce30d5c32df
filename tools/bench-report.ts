import { Sample } from "../test/support/load-loop";
import { encodePng } from "./png";

/** One measured scenario of the benchmark. */
export interface ScenarioResult {
    name: string;
    /** Wall time of the operation, seconds. */
    wallSeconds: number;
    total: number;
    failed: number;
    retried: number;
    longestGapMs: number;
    samples: Sample[];
}

const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? "1.0 (both 0)" : "∞ (l9-deploy: 0)") : (a / b).toFixed(1));

/** The markdown report: table, ratios, how it was measured. */
export function renderBenchmarkMarkdown(results: ScenarioResult[], meta: { date: string; workers: number; chart: string }): string {
    const [release, baseline, rollback] = results;
    const rows = results.map(
        (r) => `| ${r.name} | ${r.wallSeconds.toFixed(1)} | ${r.total} | ${r.failed} | ${r.retried} | ${r.longestGapMs} |`,
    );
    return [
        "# Deploy benchmark",
        "",
        `Measured by \`npm run bench\` on ${meta.date}, in one run, side by side, each under the same constant loopback load (${meta.workers} clients requesting \`GET /version\` through Caddy back to back; half keep connections alive, half open one per request).`,
        "Timings come from this noisy 2-core machine: read the ratios, not the absolute numbers.",
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
        "",
        "Scenarios:",
        "",
        "1. **l9-deploy release**: `releaseTag` v0.1.0-l9 → v0.2.0-l9, `pulumi up` (verify tag, worktree, build, standby slot, gate, switch).",
        "2. **stop-then-start baseline**: what the old runbooks did: `docker stop` the serving container, `docker rm`, `docker run` the new image on the same port, wait until `/health` answers.",
        "3. **l9-deploy rollback**: `releaseTag` back to v0.1.0-l9, `pulumi up`: the warm standby is gated and traffic switched.",
        "",
        `![status codes over time](${meta.chart})`,
        "",
        "The chart has one band per scenario, top to bottom as in the table, on one time scale (1 px = the same time in every band): green = a success in that instant, red = a failed request, grey = no request completed.",
        "",
    ].join("\n");
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
