import { expect } from "chai";
import * as fs from "fs";
import * as http from "http";
import { createL9Stack, L9TestStack } from "../support/l9-stack";
import { LoadLoop, Sample } from "../support/load-loop";
import { cleanSandboxService, httpGet, sandboxFacts, sh } from "../support/sandbox";
import { WebhookReceiver } from "../support/webhook-receiver";

/** When a marker file existed, in ms since `origin`, polled every 20 ms while `until` runs. */
async function watchMarkers(dir: string, prefix: string, origin: number, until: Promise<unknown>): Promise<Map<string, { on: number; off: number }>> {
    const seen = new Map<string, { on: number; off: number }>();
    let running = true;
    void until.finally(() => (running = false));
    while (running) {
        const now = Date.now() - origin;
        const present = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith(".on")) : [];
        for (const f of present) {
            const w = seen.get(f);
            if (w) w.off = now;
            else seen.set(f, { on: now, off: now });
        }
        await new Promise((r) => setTimeout(r, 20));
    }
    return seen;
}

/** The samples sent inside a window, with 150 ms trimmed at both ends (a marker poll's lag). */
function inWindow(samples: Sample[], w: { on: number; off: number }): Sample[] {
    return samples.filter((s) => s.t > w.on + 150 && s.t < w.off - 150);
}

/** One client with a cookie jar of one cookie: the versions it saw over `n` requests. */
async function stickyClient(url: string, n: number): Promise<string[]> {
    let cookie = "";
    const versions: string[] = [];
    for (let i = 0; i < n; i++) {
        const { body, setCookie } = await new Promise<{ body: string; setCookie: string[] }>((resolve, reject) => {
            const req = http.get(url, { headers: cookie ? { Cookie: cookie } : {}, agent: false, timeout: 10_000 }, (res) => {
                let b = "";
                res.on("data", (d: Buffer) => (b += d.toString()));
                res.on("end", () => resolve({ body: b, setCookie: res.headers["set-cookie"] ?? [] }));
            });
            req.on("error", reject);
        });
        const bucket = setCookie.find((c) => c.startsWith("l9_canary_bucket="));
        if (bucket && !cookie) cookie = bucket.split(";")[0];
        versions.push((JSON.parse(body) as { version: string }).version);
    }
    return versions;
}

/**
 * Canary on one host, on the sandbox: a release takes its share next to the serving one, is
 * judged on its error rate in Caddy's access log, and is promoted by the plain switch or
 * rolled back to 0 %.
 */
describe("e2e: canary releases", function () {
    this.timeout(30 * 60 * 1000);
    let s: L9TestStack;
    let markerDir: string;
    const receiver = new WebhookReceiver();
    const version = () => {
        const r = httpGet(`${s.siteUrl}/version`);
        return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `status ${r.status}`;
    };
    const records = () => Number(sh(`wc -l < '${s.appDir}/deploys.jsonl'`).trim());
    const canary = (c: Record<string, unknown>) => s.set({ canary: JSON.stringify(c) });

    before(async () => {
        const port = await receiver.start();
        s = await createL9Stack("canary", 19500);
        await s.set({ notify: JSON.stringify([{ format: "json", url: `http://127.0.0.1:${port}/hook` }]) }, true);
        cleanSandboxService(s.serviceName, s.appDir, sandboxFacts().caddyAdmin);
        markerDir = `/var/lib/l9-deploy/${s.serviceName}/caddy`;
        // A first deploy has nothing to stand next to: no canary, a plain switch.
        await canary({ percent: 20, steps: 2, stepSeconds: 12, maxErrorRate: 10 });
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
        expect(version()).to.equal("v0.1.0-l9");
    });

    after(() => {
        if (s) {
            const d = s.destroy();
            if (d.code !== 0) console.log(`destroy of the canary stack failed:\n${d.out.slice(-3000)}`);
        }
        receiver.stop();
    });

    const CANARY_STEPS =
        "a release takes 10 % then 20 % of requests next to the serving one (share within 5 points over 2,000+ requests), " +
        "then the switch promotes it; 0 failed requests";
    it(CANARY_STEPS, async () => {
        await s.set({ releaseTag: "v0.2.0-l9" });
        const loop = new LoadLoop(`${s.siteUrl}/version`, 4);
        const update = s.up();
        const markers = await watchMarkers(markerDir, `${s.serviceName}-canary-`, loop.started, update);
        const r = await update;
        const report = await loop.stop();
        expect(r.ok, r.error).to.equal(true);
        expect(report.failed, JSON.stringify(report.failed.slice(0, 3))).to.have.length(0);
        expect([...markers.keys()]).to.deep.equal([`${s.serviceName}-canary-green-10.on`, `${s.serviceName}-canary-green-20.on`]);
        const share = (file: string) => {
            const window = inWindow(report.samples, markers.get(file)!);
            const canaryShare = window.filter((x) => x.version === "v0.2.0-l9").length / window.length;
            return { n: window.length, percent: Math.round(canaryShare * 1000) / 10, others: [...new Set(window.map((x) => x.version))] };
        };
        const step1 = share(`${s.serviceName}-canary-green-10.on`);
        const step2 = share(`${s.serviceName}-canary-green-20.on`);
        console.log(`      step 1: ${step1.percent}% of ${step1.n} requests to the canary; step 2: ${step2.percent}% of ${step2.n}`);
        expect(step2.n).to.be.at.least(2000);
        expect(step2.percent).to.be.within(15, 25);
        expect(step1.percent).to.be.within(5, 15);
        expect(step2.others.sort()).to.deep.equal(["v0.1.0-l9", "v0.2.0-l9"]);
        // Promoted: every request after the canary goes to the new release.
        const after = report.samples.filter((x) => x.t > markers.get(`${s.serviceName}-canary-green-20.on`)!.off + 2000);
        expect(new Set(after.map((x) => x.version))).to.satisfy((v: Set<string>) => v.size === 0 || (v.size === 1 && v.has("v0.2.0-l9")));
        expect(version()).to.equal("v0.2.0-l9");
        expect(fs.readdirSync(markerDir).filter((f) => f.includes("-canary-"))).to.deep.equal([]);
    });

    const CANARY_ROLLED_BACK =
        "a canary answering 500 on 30 % of requests is rolled back automatically in its first step (10 %): " +
        "the update fails naming the rate, failures stay within the canary's share, nothing is recorded";
    it(CANARY_ROLLED_BACK, async () => {
        // The same steps as before: the server config stays as it is (no reload in this test).
        await canary({ percent: 20, steps: 2, stepSeconds: 60, maxErrorRate: 10, minRequests: 50 });
        await s.set({ releaseTag: "v0.4.3-l9" });
        const before = records();
        const loop = new LoadLoop(`${s.siteUrl}/version`, 4);
        const update = s.up();
        const markers = await watchMarkers(markerDir, `${s.serviceName}-canary-`, loop.started, update);
        const r = await update;
        await new Promise((res) => setTimeout(res, 1000));
        const report = await loop.stop();
        expect(r.ok).to.equal(false);
        expect(r.error).to.match(
            new RegExp(
                /canary v0\.4\.3-l9 failed: step 1\/2 \(10%\): error rate (\d+\.\d)% \((\d+) of (\d+) canary requests /.source +
                    /answered 5xx or failed to connect\) is above maxErrorRate 10%; /.source +
                    /the canary was rolled back: 0% of requests to blue, green serves them all/.source,
            ),
        );
        const [, rate, errors, total] = /error rate (\d+\.\d)% \((\d+) of (\d+)/.exec(r.error!)!;
        console.log(`      rolled back at ${rate}% (${errors} of ${total} canary requests)`);
        expect(Number(rate)).to.be.above(10);
        expect([...markers.keys()]).to.deep.equal([`${s.serviceName}-canary-blue-10.on`]);
        const w = markers.get(`${s.serviceName}-canary-blue-10.on`);
        // Failures: only the canary's answers, only while it took requests, and within its share.
        const failed = report.failed;
        expect(failed.length).to.be.above(0);
        expect(
            failed.every((x) => x.status === 500 && x.version === "v0.4.3-l9"),
            JSON.stringify(failed.slice(0, 3)),
        ).to.equal(true);
        const window = report.samples.filter((x) => x.t >= w!.on - 500 && x.t <= w!.off + 500);
        console.log(`      ${failed.length} failed of ${window.length} requests in the canary's window`);
        expect(failed.every((x) => x.t >= w!.on - 500 && x.t <= w!.off + 500)).to.equal(true);
        expect(failed.length / window.length).to.be.at.most(0.15);
        const afterwards = report.samples.filter((x) => x.t > w!.off + 500);
        expect(afterwards.length).to.be.above(0);
        expect(new Set(afterwards.map((x) => x.version))).to.deep.equal(new Set(["v0.2.0-l9"]));
        expect(version()).to.equal("v0.2.0-l9");
        expect(records()).to.equal(before);
        const failure = receiver
            .events("failure")
            .filter((m) => m.body.tag === "v0.4.3-l9")
            .pop();
        expect(failure, JSON.stringify(receiver.messages().map((m) => m.body.event))).to.not.equal(undefined);
        expect(String(failure!.body.check)).to.match(
            /^canary of v0\.4\.3-l9: error rate \d+\.\d% \(\d+ of \d+ requests\) above 10%; traffic returned to green$/,
        );
        expect(fs.readdirSync(markerDir).filter((f) => f.includes("-canary-"))).to.deep.equal([]);
    });

    it("a sticky canary keeps each client on its side; going back to the previous tag is a plain switch, without a canary", async () => {
        await canary({ percent: 50, steps: 1, stepSeconds: 15, maxErrorRate: 10, sticky: true });
        await s.set({ releaseTag: "v0.1.0-l9" });
        const origin = Date.now();
        const update = s.up();
        const markersDone = watchMarkers(markerDir, `${s.serviceName}-canary-`, origin, update);
        const marker = `${markerDir}/${s.serviceName}-canary-blue-50.on`;
        for (let i = 0; i < 600 && !fs.existsSync(marker); i++) await new Promise((res) => setTimeout(res, 100));
        expect(fs.existsSync(marker), "the canary should have started").to.equal(true);
        const clients = await Promise.all(Array.from({ length: 16 }, () => stickyClient(`${s.siteUrl}/version`, 15)));
        const stillOn = fs.existsSync(marker);
        const r = await update;
        await markersDone;
        expect(r.ok, r.error).to.equal(true);
        expect(stillOn, "the canary should still run after the clients' requests").to.equal(true);
        const sides = clients.map((v) => [...new Set(v)]);
        console.log(`      sticky clients: ${sides.map((v) => v.join("/")).join(", ")}`);
        expect(
            sides.every((v) => v.length === 1),
            JSON.stringify(sides),
        ).to.equal(true);
        expect(new Set(sides.map((v) => v[0]))).to.deep.equal(new Set(["v0.1.0-l9", "v0.2.0-l9"]));
        expect(version()).to.equal("v0.1.0-l9");

        // v0.2.0 waits warm in green: the way back is the switch alone.
        await s.set({ releaseTag: "v0.2.0-l9" });
        const loop = new LoadLoop(`${s.siteUrl}/version`, 2);
        const back = s.up();
        const backMarkers = await watchMarkers(markerDir, `${s.serviceName}-canary-`, loop.started, back);
        const rb = await back;
        const report = await loop.stop();
        expect(rb.ok, rb.error).to.equal(true);
        expect([...backMarkers.keys()]).to.deep.equal([]);
        expect(report.failed).to.have.length(0);
        expect(version()).to.equal("v0.2.0-l9");
    });
});
