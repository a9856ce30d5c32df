/**
 * `npm run bench`: side by side, in one run, under the same constant loopback load:
 * an l9-deploy release, a stop-then-start baseline (what the old runbooks did), and an
 * l9-deploy rollback by config. Writes docs/benchmarks.md and docs/benchmark-status.png.
 * Not a pass/fail test: it measures and reports.
 */
import * as fs from "fs";
import * as path from "path";
import { createL9Stack } from "../test/support/l9-stack";
import { LoadLoop } from "../test/support/load-loop";
import { cleanSandboxService, httpGet, sandboxFacts, sh } from "../test/support/sandbox";
import { REPO_ROOT } from "../test/support/toolchain";
import { renderBenchmarkMarkdown, renderStatusChart, ScenarioResult } from "./bench-report";

const WORKERS = 4;
const BASE = { service: "l9benchbase", port: 18901, site: 18980 };

async function measure(name: string, url: string, op: () => Promise<void>): Promise<ScenarioResult> {
    process.stderr.write(`bench: ${name}...\n`);
    const loop = new LoadLoop(url, WORKERS, 600);
    await new Promise((r) => setTimeout(r, 1000)); // steady load before the operation
    const start = Date.now();
    await op();
    const wallSeconds = (Date.now() - start) / 1000;
    await new Promise((r) => setTimeout(r, 1000));
    const report = await loop.stop();
    process.stderr.write(`bench: ${name}: ${wallSeconds.toFixed(1)} s, ${report.total} requests, ${report.failed.length} failed, longest gap ${report.longestGapMs} ms\n`);
    return { name, wallSeconds, total: report.total, failed: report.failed.length, retried: report.retriedOnStaleConnection, longestGapMs: report.longestGapMs, samples: report.samples };
}

async function main(): Promise<void> {
    const admin = sandboxFacts().caddyAdmin;
    const s = await createL9Stack("bench", 18900 + 50);
    cleanSandboxService(s.serviceName, s.appDir, admin);
    cleanSandboxService(BASE.service, "/tmp/l9-bench-base", admin);
    try {
        process.stderr.write("bench: first deploy of v0.1.0-l9 (not measured)\n");
        const first = await s.up();
        if (!first.ok) throw new Error(`first deploy failed: ${first.error}`);
        const out = await s.stack.outputs();
        const image = (tag: string) => {
            const slots = out.slots.value as Record<string, { tag: string; imageId: string } | null>;
            return Object.values(slots).find((x) => x?.tag === tag)?.imageId;
        };
        const v1 = image("v0.1.0-l9")!;

        const release = await measure("l9-deploy release", `${s.siteUrl}/version`, async () => {
            await s.set({ releaseTag: "v0.2.0-l9" });
            const r = await s.up();
            if (!r.ok) throw new Error(`release failed: ${r.error}`);
        });
        const v2 = ((await s.stack.outputs()).imageId.value as string) ?? "";

        // Baseline: one container on a fixed port behind its own Caddy server, replaced in place.
        const run = (img: string) =>
            sh(`docker run -d --name ${BASE.service} --label l9.service=${BASE.service} --network host -e PORT=${BASE.port} -e HOST=127.0.0.1 -e APP_SECRET=bench -e DATABASE_URL=bench '${img}' >/dev/null`);
        run(v1);
        const server = { listen: [`127.0.0.1:${BASE.site}`], automatic_https: { disable: true }, routes: [{ handle: [{ handler: "reverse_proxy", upstreams: [{ dial: `127.0.0.1:${BASE.port}` }] }] }] };
        sh(`curl -fsS -X POST -H 'Content-Type: application/json' -d '${JSON.stringify(server)}' 'http://${admin}/config/apps/http/servers/${BASE.service}'`);
        sh(`for i in $(seq 1 60); do curl -fsS -o /dev/null http://127.0.0.1:${BASE.site}/health && exit 0; sleep 0.5; done; exit 1`);
        const baseline = await measure("stop-then-start baseline", `http://127.0.0.1:${BASE.site}/version`, async () => {
            sh(`docker stop -t 10 ${BASE.service} >/dev/null && docker rm ${BASE.service} >/dev/null`);
            run(v2);
            sh(`for i in $(seq 1 240); do curl -fsS -o /dev/null http://127.0.0.1:${BASE.port}/health && exit 0; sleep 0.25; done; exit 1`);
        });

        const rollback = await measure("l9-deploy rollback", `${s.siteUrl}/version`, async () => {
            await s.set({ releaseTag: "v0.1.0-l9" });
            const r = await s.up();
            if (!r.ok) throw new Error(`rollback failed: ${r.error}`);
        });
        if (httpGet(`${s.siteUrl}/version`).body.indexOf("v0.1.0-l9") < 0) throw new Error("the rollback did not serve v0.1.0-l9");

        const results = [release, baseline, rollback];
        const docs = path.join(REPO_ROOT, "docs");
        fs.mkdirSync(docs, { recursive: true });
        fs.writeFileSync(path.join(docs, "benchmark-status.png"), renderStatusChart(results));
        const md = renderBenchmarkMarkdown(results, { date: new Date().toISOString().slice(0, 10), workers: WORKERS, chart: "benchmark-status.png" });
        fs.writeFileSync(path.join(docs, "benchmarks.md"), md);
        process.stdout.write(md);
    } finally {
        sh(`docker rm -f ${BASE.service} >/dev/null 2>&1 || true`);
        cleanSandboxService(BASE.service, "/tmp/l9-bench-base", admin);
        s.destroy();
    }
}

main().catch((e) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});
