import * as fs from "fs";
import { expect } from "chai";
import { spawnSync } from "child_process";
import { parseCheckoutOutput, renderVerifyTagScript, renderWorktreeScript } from "../../host-scripts/checkout";
import { renderWriteEnvFileScript } from "../../host-scripts/env-file";
import { renderGateScript } from "../../host-scripts/gate";
import { parseImageBuildOutput } from "../../host-scripts/image-build";
import { parseKeptReleases, renderKeptReleaseScript, renderKeptReleasesLines } from "../../host-scripts/kept-releases";
import { renderSwitchScript } from "../../host-scripts/switch";
import { renderSlotGuardScript } from "../../host-scripts/slot-guard";
import { renderPrepareServiceScript, renderRemoveServiceScript } from "../../host-scripts/service-footprint";
import { renderPreflightScript } from "../../host-scripts/preflight";
import { renderServingFactsScript } from "../../host-scripts/serving-facts";
import { parseServingFacts } from "../../state/host-record";
import { LoadLoop } from "../support/load-loop";
import { cleanSandboxService, httpGet, sandboxFacts, sh } from "../support/sandbox";

/** Runs a rendered script with sh on this machine (the sandbox host); never throws. */
function runOnHost(script: string, stdin = ""): { code: number; stdout: string; stderr: string } {
    const r = spawnSync("sh", ["-c", script], { input: stdin, encoding: "utf8" });
    return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/**
 * The rendered host scripts, run for real against the sandbox's git origin, Docker daemon
 * and Caddy, without Pulumi: the same strings the components send over SSH.
 */
describe("host: rendered scripts against real daemons", function () {
    this.timeout(5 * 60 * 1000);
    const sb = sandboxFacts();
    const appDir = "/srv/l9-hosttest";
    const service = "l9hosttest";
    const notify = { stack: "l9-deploy/hosttest", service, tag: "v0.1.0-l9", actor: "host-test", appDir, metricsDir: `${appDir}/metrics` };

    before(() => {
        cleanSandboxService(service, appDir, sb.caddyAdmin);
    });
    after(() => {
        cleanSandboxService(service, appDir, sb.caddyAdmin);
    });

    describe("checkout", () => {
        const verify = (tag: string) => runOnHost(renderVerifyTagScript({ appDir, repoUrl: sb.repoUrl, tag, mainBranch: "main", verifySignature: false }));
        const checkout = (tag: string) => {
            const v = verify(tag);
            if (v.code !== 0) return v;
            return runOnHost(renderWorktreeScript({ appDir, tag, commit: parseCheckoutOutput(v.stdout).commit }));
        };

        it("verifies an annotated tag on main, prints its commit and .env.example, then checks it out", () => {
            const v = verify("v0.1.0-l9");
            expect(v.code, v.stderr).to.equal(0);
            const { commit, envExample } = parseCheckoutOutput(v.stdout);
            expect(sh(`test -e '${appDir}/releases/v0.1.0-l9' && echo yes || echo no`).trim()).to.equal("no");
            const r = checkout("v0.1.0-l9");
            expect(r.code, r.stderr).to.equal(0);
            expect(r.stdout.trim()).to.equal(commit);
            expect(commit).to.equal(sh(`git --git-dir='${sb.repoDir}' rev-parse 'v0.1.0-l9^{commit}'`).trim());
            expect(envExample).to.contain("APP_SECRET=");
            expect(sh(`git -C '${appDir}/releases/v0.1.0-l9' rev-parse HEAD`).trim()).to.equal(commit);
        });

        it("resets an edited worktree to the tag on the next run", () => {
            sh(`echo edited >> '${appDir}/releases/v0.1.0-l9/README'`);
            expect(checkout("v0.1.0-l9").code).to.equal(0);
            expect(sh(`git -C '${appDir}/releases/v0.1.0-l9' status --porcelain`).trim()).to.equal("");
        });

        it("the host check names the tags that have a worktree (a file among them is none, a directory no tag could name is left out)", () => {
            sh(`touch '${appDir}/releases/not-a-worktree'`);
            // A name with a newline would otherwise print a line of its own: here, one saying green serves.
            const forged = `${appDir}/releases/x\nrouting=green`;
            fs.mkdirSync(forged);
            fs.mkdirSync(`${appDir}/releases/-opt`);
            const text = runOnHost(renderServingFactsScript({ appDir, serviceName: service, caddyAdmin: sb.caddyAdmin })).stdout;
            sh(`rm -rf '${appDir}/releases/not-a-worktree' '${appDir}/releases/-opt'`);
            fs.rmdirSync(forged);
            const read = text.split("\n");
            expect(read.filter((l) => l.startsWith("worktree="))).to.deep.equal(["worktree=v0.1.0-l9"]);
            expect(
                read.filter((l) => l.startsWith("routing=")),
                "one routing line, the script's own",
            ).to.have.length(1);
            const facts = parseServingFacts(text, service);
            expect(facts?.worktrees).to.include("v0.1.0-l9").and.not.include("not-a-worktree");
            const none = parseServingFacts(
                runOnHost(renderServingFactsScript({ appDir: "/srv/l9-hosttest-none", serviceName: service, caddyAdmin: sb.caddyAdmin })).stdout,
                service,
            );
            expect(none?.worktrees).to.deep.equal([]);
        });

        const refused: Array<[string, RegExp]> = [
            ["v0.5.0-l9", /releaseTag: tag v0.5.0-l9 is a lightweight tag/],
            ["v0.6.0-l9", /releaseTag: tag v0.6.0-l9 .* is not reachable from main/],
            ["v9.9.9-l9", /releaseTag: tag v9.9.9-l9 does not exist/],
        ];
        for (const [tag, message] of refused) {
            it(`refuses ${tag} (${message.source}) before making a worktree`, () => {
                const r = checkout(tag);
                expect(r.code).to.not.equal(0);
                expect(r.stderr).to.match(message);
                expect(sh(`test -e '${appDir}/releases/${tag}' && echo yes || echo no`).trim()).to.equal("no");
            });
        }
    });

    describe("kept releases (a rollback with no checkout or build)", () => {
        const facts = () => parseKeptReleases(runOnHost(renderKeptReleasesLines({ appDir, serviceName: service }).text).stdout);
        const commitOf = (tag: string) => sh(`git --git-dir='${sb.repoDir}' rev-parse '${tag}^{commit}'`).trim();
        const build = (tag: string, ref: string, labels: Record<string, string>) => {
            const src = sh("mktemp -d").trim();
            sh(`git clone -q --branch ${tag} '${sb.repoUrl}' '${src}/app' 2>/dev/null`);
            const label = Object.entries(labels).map(([k, v]) => `--label '${k}=${v}'`);
            sh(`docker build -q -t '${ref}' --label l9.service=${service} ${label.join(" ")} '${src}/app' >/dev/null && rm -rf '${src}'`);
            return sh(`docker image inspect -f '{{.Id}}' '${ref}'`).trim();
        };

        it("lists only images whose tag label is their reference's tag and whose commit is where the host's mirror has the tag", () => {
            // The mirror holds the tags once a tag was verified (the checkout tests above).
            const v1 = build("v0.1.0-l9", `${service}-api:v0.1.0-l9`, { "l9.tag": "v0.1.0-l9", "l9.commit": commitOf("v0.1.0-l9") });
            build("v0.2.0-l9", `${service}-api:v0.2.0-l9`, { "l9.tag": "v0.2.0-l9", "l9.commit": "c".repeat(40) });
            build("v0.2.0-l9", `${service}-api:v0.4.0-l9`, { "l9.tag": "v0.2.0-l9", "l9.commit": commitOf("v0.2.0-l9") });
            build("v0.2.0-l9", `${service}-api:v9.9.9-l9`, { "l9.tag": "v9.9.9-l9", "l9.commit": commitOf("v0.2.0-l9") });
            const kept = facts();
            expect(kept.map((k) => `${k.tag} ${k.commit} ${k.imageId}`)).to.deep.equal([`v0.1.0-l9 ${commitOf("v0.1.0-l9")} ${v1}`]);
            expect(Date.parse(kept[0].builtAt)).to.be.greaterThan(0);
        });

        it("a kept release: its tag verified in the mirror with no fetch (a repository out of reach does not matter), its image checked, in one step", () => {
            const kept = (tag: string, repoUrl = "/nonexistent/repo.git") =>
                runOnHost(renderKeptReleaseScript({ appDir, repoUrl, tag, mainBranch: "main", verifySignature: false, serviceName: service }));
            const ok = kept("v0.1.0-l9");
            expect(ok.code, ok.stderr).to.equal(0);
            expect(parseCheckoutOutput(ok.stdout).commit).to.equal(commitOf("v0.1.0-l9"));
            expect(parseCheckoutOutput(ok.stdout).envExample).to.contain("APP_SECRET=");
            expect(parseImageBuildOutput(ok.stdout)).to.equal(sh(`docker image inspect -f '{{.Id}}' '${service}-api:v0.1.0-l9'`).trim());
            expect(ok.stderr).to.contain("no fetch: its image is kept on the host").and.contain("is kept on the host, built from");
            // The mirror was not touched: its origin is still the real repository.
            expect(sh(`git -C '${appDir}/repo.git' remote get-url origin`).trim()).to.equal(sb.repoUrl);
            const other = kept("v0.2.0-l9");
            expect(other.code).to.equal(1);
            expect(other.stderr).to.contain(`${service}-api:v0.2.0-l9 was built from ${"c".repeat(40)}, not from ${commitOf("v0.2.0-l9")}`);
            const gone = kept("v0.4.4-l9");
            expect(gone.code).to.equal(1);
            expect(gone.stderr).to.contain(`the image ${service}-api:v0.4.4-l9 is no longer on the host`);
            // The tag's checks hold as in a release: a lightweight tag is refused before its image is looked at.
            const lightweight = kept("v0.5.0-l9");
            expect(lightweight.code).to.equal(1);
            expect(lightweight.stderr).to.contain("releaseTag: tag v0.5.0-l9 is a lightweight tag");
        });
    });

    it("env file: written from stdin, mode 600, content exact", () => {
        const f = `${appDir}/shared/.env`;
        const r = runOnHost(renderWriteEnvFileScript(f), "A=1\nB=two words\n");
        expect(r.code, r.stderr).to.equal(0);
        expect(sh(`stat -c %a '${f}'`).trim()).to.equal("600");
        expect(sh(`cat '${f}'`)).to.equal("A=1\nB=two words\n");
    });

    describe("gate", () => {
        const images: Record<string, string> = {};
        const run = (tag: string, port: number) => {
            sh(`docker rm -f ${service}-${port} >/dev/null 2>&1 || true`);
            sh(
                `docker run -d --name ${service}-${port} --label l9.service=${service} --network host ` +
                    `-e PORT=${port} -e HOST=127.0.0.1 -e APP_SECRET=x -e DATABASE_URL=y --health-interval 1s ${images[tag]} >/dev/null`,
            );
            return `${service}-${port}`;
        };
        const gate = (name: string, port: number, tag: string, timeoutSeconds = 20) =>
            runOnHost(
                renderGateScript({
                    containerName: name,
                    tag,
                    port,
                    healthPath: "/health",
                    timeoutSeconds,
                    smokeRequests: [{ method: "GET", path: "/api/smoke", expectStatus: 200 }],
                    logScanPatterns: ["Traceback", "FATAL"],
                    notify,
                }),
            );

        before(() => {
            const src = sh("mktemp -d").trim();
            for (const tag of ["v0.1.0-l9", "v0.3.0-l9", "v0.3.1-l9", "v0.3.2-l9"]) {
                sh(`git clone -q --branch ${tag} '${sb.repoUrl}' '${src}/${tag}' 2>/dev/null`);
                images[tag] = sh(`docker build -q '${src}/${tag}'`).trim();
            }
            sh(`rm -rf '${src}'`);
        });

        it("passes a good release", () => {
            const r = gate(run("v0.1.0-l9", 18301), 18301, "v0.1.0-l9");
            expect(r.code, r.stderr).to.equal(0);
            expect(r.stdout.trim()).to.equal("passed");
        });

        it("fails a release that never becomes healthy, within the timeout, quoting its logs", () => {
            const r = gate(run("v0.3.0-l9", 18302), 18302, "v0.3.0-l9", 8);
            expect(r.code).to.equal(1);
            expect(r.stderr).to.match(/check 'docker health': not healthy within 8s/);
            expect(r.stderr).to.contain("| l9 sample v0.3.0-l9 (never-healthy)");
        });

        it("fails a release whose smoke request answers 500", () => {
            const r = gate(run("v0.3.1-l9", 18303), 18303, "v0.3.1-l9");
            expect(r.code).to.equal(1);
            expect(r.stderr).to.contain("check 'smoke GET /api/smoke': expected 200, got 500");
        });

        it("fails a release that logs a Traceback", () => {
            const r = gate(run("v0.3.2-l9", 18304), 18304, "v0.3.2-l9");
            expect(r.code).to.equal(1);
            expect(r.stderr).to.match(/check 'log scan': the logs contain "Traceback"/);
        });

        it("fails a container that exited, with its exit code", () => {
            sh(`docker rm -f ${service}-18305 >/dev/null 2>&1 || true`);
            sh(`docker run -d --name ${service}-18305 --label l9.service=${service} --network host -e PORT=18305 ${images["v0.1.0-l9"]} >/dev/null`);
            const r = gate(`${service}-18305`, 18305, "v0.1.0-l9");
            expect(r.code).to.equal(1);
            expect(r.stderr).to.match(/check 'running': the container exited \(exit code 3\)|could not be started/);
            expect(r.stderr).to.contain("APP_SECRET is not set");
        });
    });

    describe("switch", () => {
        const args = (port: number) => ({
            serviceName: service,
            appDir,
            caddyAdmin: sb.caddyAdmin,
            caddyListen: "127.0.0.1:18380",
            caddyHosts: [],
            bluePort: 18301,
            greenPort: 18306,
            slot: (port === 18301 ? "blue" : "green") as "blue" | "green",
            standby: "warm" as const,
            drainGraceSeconds: 5,
            record: { id: "host-test", tag: "v0.1.0-l9", commit: "c".repeat(40), imageId: "sha256:x", actor: "host-test" },
            imageName: `${service}-api`,
            imagesToKeep: 3,
            maintenance: { allowPaths: ["/health"] },
            containerName: `${service}-${port}`,
            watch: { seconds: 0, failures: 3, checks: { port, healthPath: "/health", smokeRequests: [] } },
            notify,
            stepLockWaitSeconds: 60,
        });

        const journal = () =>
            sh(`cat '${appDir}/deploys.jsonl'`)
                .trim()
                .split("\n")
                .map((l) => JSON.parse(l) as Record<string, string>);

        it("creates the Caddy server on first use and routes to the slot, journaling switching then live", () => {
            const r = runOnHost(renderSwitchScript(args(18301)));
            expect(r.code, r.stderr).to.equal(0);
            expect(httpGet("http://127.0.0.1:18380/version").body).to.contain("v0.1.0-l9");
            expect(journal().map((x) => `${x.id} ${x.slot} ${x.status}`)).to.deep.equal(["host-test blue switching", "host-test blue live"]);
            expect(JSON.parse(sh(`cat '${appDir}/state/active.json'`))).to.include({ id: "host-test", slot: "blue", status: "live" });
            // A re-run of the same deploy (a heal) journals nothing new.
            expect(runOnHost(renderSwitchScript(args(18301))).code).to.equal(0);
            expect(journal()).to.have.length(2);
        });

        it("flips between two live upstreams under load with zero failed requests and no retries", async () => {
            // a second good upstream on 18306
            sh(`docker rm -f ${service}-18306 >/dev/null 2>&1 || true`);
            sh(
                `docker run -d --name ${service}-18306 --label l9.service=${service} --network host ` +
                    `-e PORT=18306 -e HOST=127.0.0.1 -e APP_SECRET=x -e DATABASE_URL=y $(docker inspect -f '{{.Image}}' ${service}-18301) >/dev/null`,
            );
            sh("for i in $(seq 1 30); do curl -fsS -o /dev/null http://127.0.0.1:18306/health && exit 0; sleep 0.5; done; exit 1");
            const loop = new LoadLoop("http://127.0.0.1:18380/version", 4, 120);
            for (let i = 0; i < 10; i++) {
                const r = runOnHost(renderSwitchScript(args(i % 2 === 0 ? 18306 : 18301)));
                expect(r.code, r.stderr).to.equal(0);
            }
            await new Promise((resolve) => setTimeout(resolve, 500));
            const report = await loop.stop();
            console.log(
                `      load: ${report.total} requests, ${report.failed.length} failed, ` +
                    `${report.retriedOnStaleConnection} retried once on a stale keep-alive connection`,
            );
            expect(report.total).to.be.greaterThan(100);
            expect(report.failed, JSON.stringify(report.failed.slice(0, 3))).to.have.length(0);
            // no Caddy reload happens at a switch, so no keep-alive connection is ever closed
            expect(report.retriedOnStaleConnection).to.equal(0);
            expect(report.versions).to.have.length(1);
            expect(sh(`test -e '/var/lib/l9-deploy/${service}/caddy/${service}-green.active' && echo green || echo blue`).trim()).to.equal("blue");
        });

        it("journals each flip at the flip: a switch killed right after it leaves a 'switching' record naming the slot that serves", () => {
            const before = journal().length;
            const next = {
                ...args(18306),
                record: { ...args(18306).record, id: "host-test-2" },
                watch: { seconds: 30, failures: 3, checks: { port: 18306, healthPath: "/health", smokeRequests: [] } },
            };
            // The script is killed during its watch (SIGKILL, as a dropped session or an OOM kill).
            sh(
                `f=$(mktemp); cat >"$f" <<'L9EOF'\n${renderSwitchScript(next)}L9EOF\n` +
                    `sh "$f" >/dev/null 2>&1 & pid=$!; for i in $(seq 1 100); do grep -q host-test-2 '${appDir}/deploys.jsonl' && break; sleep 0.1; done; ` +
                    `sleep 1; kill -KILL $pid; rm -f "$f"`,
            );
            expect(
                journal()
                    .slice(before)
                    .map((x) => `${x.id} ${x.slot} ${x.status}`),
            ).to.deep.equal(["host-test-2 green switching"]);
            expect(JSON.parse(sh(`cat '${appDir}/state/active.json'`))).to.include({ id: "host-test-2", slot: "green", status: "switching" });
            expect(sh(`test -e '/var/lib/l9-deploy/${service}/caddy/${service}-green.active' && echo green || echo blue`).trim()).to.equal("green");
            // Run again (the next pulumi up): the flip is not journaled twice; the deploy goes live.
            const again = runOnHost(renderSwitchScript({ ...next, watch: { ...next.watch, seconds: 0 } }));
            expect(again.code, again.stderr).to.equal(0);
            expect(
                journal()
                    .slice(before)
                    .map((x) => `${x.id} ${x.slot} ${x.status}`),
            ).to.deep.equal(["host-test-2 green switching", "host-test-2 green live"]);
            // Back to blue for the tests below.
            expect(runOnHost(renderSwitchScript(args(18301))).code).to.equal(0);
        });

        it("waits for a switch of the service that still runs (an interrupted update's), within its bound", () => {
            const lock = `${appDir}/state/switch.lock`;
            // Another switch holds the lock for 2 s: this one waits, then goes on.
            sh(`(flock 9; sleep 2) 9>>'${lock}' >/dev/null 2>&1 & sleep 0.3`);
            const waited = runOnHost(`exec 2>&1\n${renderSwitchScript(args(18301))}`);
            expect(waited.code, waited.stdout).to.equal(0);
            expect(waited.stdout).to.contain(
                "another release step of this service runs on the host (one an interrupted update left?): waiting for it, up to 60s",
            );
            // One that holds it longer than the bound: refused, nothing changed.
            sh(`(flock 9; sleep 4) 9>>'${lock}' >/dev/null 2>&1 & sleep 0.3`);
            const refused = runOnHost(renderSwitchScript({ ...args(18306), stepLockWaitSeconds: 1 }));
            expect(refused.code).to.equal(1);
            expect(refused.stderr).to.contain("another release step of this service still ran after 1s; nothing was changed");
            expect(sh(`test -e '/var/lib/l9-deploy/${service}/caddy/${service}-green.active' && echo green || echo blue`).trim()).to.equal("blue");
            sh("sleep 3");
        });

        it("keeps the server name an earlier version gave the service: a config change loads into it under load, and no second server appears", async () => {
            const servers = `http://${sb.caddyAdmin}/config/apps/http/servers`;
            const serverNames = () => Object.keys(JSON.parse(sh(`curl -fsS '${servers}'`)) as Record<string, unknown>).filter((n) => n.includes(service));
            expect(serverNames()).to.deep.equal([`l9-${service}`]);
            // The host as an earlier version left it: the same server, named after the service.
            const config = sh(`curl -fsS '${servers}/l9-${service}'`);
            sh(
                `curl -fsS -X DELETE '${servers}/l9-${service}' && ` +
                    `curl -fsS -X POST -H 'Content-Type: application/json' -d '${config}' '${servers}/${service}'`,
            );
            expect(serverNames()).to.deep.equal([service]);
            const loop = new LoadLoop("http://127.0.0.1:18380/version", 4, 120);
            const changed = { ...args(18301), maintenance: { allowPaths: ["/health", "/ready"] } };
            const r = runOnHost(`exec 2>&1\n${renderSwitchScript(changed)}`);
            await new Promise((resolve) => setTimeout(resolve, 500));
            const report = await loop.stop();
            expect(r.code, r.stdout).to.equal(0);
            expect(r.stdout).to.contain(`loading Caddy server ${service} on 127.0.0.1:18380`);
            expect(report.failed, JSON.stringify(report.failed.slice(0, 3))).to.have.length(0);
            expect(serverNames()).to.deep.equal([service]);
            expect(sh(`curl -fsS '${servers}/${service}'`)).to.contain("/ready");
            // Back to the server of today's name for the tests below.
            sh(`curl -fsS -X DELETE '${servers}/${service}'`);
            expect(runOnHost(renderSwitchScript(args(18301))).code).to.equal(0);
            expect(serverNames()).to.deep.equal([`l9-${service}`]);
        });

        it("fails without touching anything when Caddy's admin API is down (wrong address)", () => {
            const r = runOnHost(renderSwitchScript({ ...args(18306), caddyAdmin: "127.0.0.1:1" }));
            expect(r.code).to.not.equal(0);
            expect(r.stderr).to.contain("traffic was not moved");
            expect(sh(`test -e '/var/lib/l9-deploy/${service}/caddy/${service}-green.active' && echo green || echo blue`).trim()).to.equal("blue");
            expect(httpGet("http://127.0.0.1:18380/version").status).to.equal(200);
        });
    });

    describe("slot guard (runs before a slot's container is replaced)", () => {
        // After the switch tests Caddy routes this service to blue. The guarded container
        // stands for the slot's: labelled with its tag, like the program's slots.
        const guarded = `${service}-guarded`;
        const image = () => sh(`docker inspect -f '{{.Image}}' ${guarded}`).trim();
        const guard = (
            color: "blue" | "green",
            imageId: string,
            tag = "v0.1.0-l9",
            dir = appDir,
            name = service,
            envFingerprint?: string,
            networkMode: "host" | "bridge" = "host",
        ) =>
            runOnHost(
                renderSlotGuardScript({
                    serviceName: name,
                    appDir: dir,
                    caddyAdmin: sb.caddyAdmin,
                    color,
                    containerName: guarded,
                    imageId,
                    tag,
                    networkMode,
                    envFingerprint,
                    stepLockWaitSeconds: 60,
                }),
            );
        const markers = `/var/lib/l9-deploy/${service}/caddy`;

        before(() => {
            sh(`docker rm -f ${guarded} >/dev/null 2>&1 || true`);
            sh(
                `docker run -d --name ${guarded} --label l9.service=${service} --label l9.tag=v0.1.0-l9 --network host ` +
                    `-e PORT=18399 -e HOST=127.0.0.1 -e APP_SECRET=x -e DATABASE_URL=y $(docker inspect -f '{{.Image}}' ${service}-18301) >/dev/null`,
            );
            expect(sh(`test -e '${markers}/${service}-green.active' && echo green || echo blue`).trim()).to.equal("blue");
        });
        after(() => sh(`docker rm -f ${guarded} >/dev/null 2>&1 || true`));

        it("refuses to replace the container Caddy routes to, and changes nothing", () => {
            const id = sh(`docker inspect -f '{{.Id}}' ${guarded}`).trim();
            const r = guard("blue", "sha256:" + "0".repeat(64), "v0.2.0-l9");
            expect(r.code).to.equal(1);
            expect(r.stderr).to.contain(
                `guard blue failed: refusing to replace blue (${guarded}, running v0.1.0-l9, host network): Caddy routes to it, ` +
                    `and this update would put v0.2.0-l9 (host network) there. Nothing was changed.`,
            );
            expect(sh(`docker inspect -f '{{.Id}} {{.State.Running}}' ${guarded}`).trim()).to.equal(`${id} true`);
            // A journal removed by hand changes nothing: Caddy runs the service's server.
            sh(`mv '${appDir}/state/active.json' '${appDir}/state/active.json.keep'`);
            try {
                expect(guard("blue", "sha256:" + "0".repeat(64), "v0.2.0-l9").code).to.equal(1);
            } finally {
                sh(`mv '${appDir}/state/active.json.keep' '${appDir}/state/active.json'`);
            }
        });

        it("refuses to give the serving slot another env, even with the same image and tag (an env release into it)", () => {
            const journaled = sh(`cut -c1-16 '${appDir}/shared/.env.sha256'`).trim();
            expect(journaled).to.match(/^[0-9a-f]{16}$/);
            expect(JSON.parse(sh(`cat '${appDir}/state/active.json'`))).to.include({ slot: "blue", envFingerprint: journaled });
            const other = guard("blue", image(), "v0.1.0-l9", appDir, service, "0123456789abcdef");
            expect(other.code).to.equal(1);
            expect(other.stderr).to.contain("refusing to replace blue");
            const same = guard("blue", image(), "v0.1.0-l9", appDir, service, journaled);
            expect(same.code, same.stderr).to.equal(0);
            expect(same.stdout).to.contain("already runs v0.1.0-l9 with this env");
            // The same release in another network mode is a release into it too.
            const bridged = guard("blue", image(), "v0.1.0-l9", appDir, service, journaled, "bridge");
            expect(bridged.code).to.equal(1);
            expect(bridged.stderr).to.contain(
                "running v0.1.0-l9, host network): Caddy routes to it, and this update would put v0.1.0-l9 (bridge network) there",
            );
            // Caddy flipped to blue without the journal (it names green): blue's env is unknown, and
            // the same image and tag do not show that blue runs this env.
            sh(`cp '${appDir}/state/active.json' '${appDir}/state/active.json.keep' && sed -i 's/"slot":"blue"/"slot":"green"/' '${appDir}/state/active.json'`);
            try {
                const unknown = guard("blue", image(), "v0.1.0-l9", appDir, service, journaled);
                expect(unknown.code, "an env the journal does not record for the routed slot").to.equal(1);
                expect(unknown.stderr).to.contain("refusing to replace blue");
            } finally {
                sh(`mv '${appDir}/state/active.json.keep' '${appDir}/state/active.json'`);
            }
        });

        it("lets through what replaces nothing, or a slot Caddy does not route to", () => {
            const same = guard("blue", image());
            expect(same.code, same.stderr).to.equal(0);
            expect(same.stdout).to.contain("already runs v0.1.0-l9");
            const other = guard("green", "sha256:" + "0".repeat(64), "v0.2.0-l9");
            expect(other.code, other.stderr).to.equal(0);
            expect(other.stdout).to.contain("Caddy routes to blue");
        });

        it("removes the marker an interrupted canary left on the slot being replaced", () => {
            sh(`date > '${markers}/${service}-canary-green-10.on'`);
            const r = guard("green", "sha256:" + "0".repeat(64), "v0.2.0-l9");
            expect(r.code, r.stderr).to.equal(0);
            expect(sh(`ls '${markers}'`)).to.not.contain("canary");
        });

        it("lets anything through on a host where nothing was ever switched", () => {
            const r = guard("blue", "sha256:" + "0".repeat(64), "v0.2.0-l9", "/srv/l9-hosttest-never", `${service}never`);
            expect(r.code, r.stderr).to.equal(0);
            expect(r.stdout).to.contain("nothing was switched on this host yet");
        });
    });

    describe("service footprint: appDir is claimed before anything in it changes, and only its owner empties it", () => {
        const dir = "/srv/l9-hosttest-owner";
        const stack = "l9-deploy/hosttest";
        const args = (serviceName: string, owner = stack) => ({ appDir: dir, serviceName, caddyAdmin: sb.caddyAdmin, owner, metricsDir: `${dir}/metrics` });
        const prepare = (serviceName: string, owner = stack) => runOnHost(renderPrepareServiceScript(args(serviceName, owner)));
        const remove = (serviceName: string, owner = stack) => runOnHost(renderRemoveServiceScript(args(serviceName, owner)));
        const exists = (p: string) => sh(`test -e '${p}' && echo yes || echo no`).trim() === "yes";
        const reset = () => sh(`rm -rf '${dir}' /var/lib/l9-deploy/l9own /var/lib/l9-deploy/l9ownb /var/lib/l9-deploy/l9ownc`);
        beforeEach(reset);
        after(reset);

        it("refuses a directory with someone's files in it, changing nothing", () => {
            sh(`mkdir -p '${dir}' && echo mine > '${dir}/notes.txt' && chmod 755 '${dir}'`);
            const r = prepare("l9own");
            expect(r.code).to.equal(1);
            expect(r.stderr).to.contain(`service l9own failed: ${dir} is not empty and no l9-deploy stack owns it; nothing was changed`);
            expect(sh(`stat -c %a '${dir}'`).trim(), "its mode is untouched").to.equal("755");
            expect(exists(`${dir}/.l9-deploy-owner`)).to.equal(false);
            expect(exists(`${dir}/state`)).to.equal(false);
        });

        it("preflight claims a new directory before it writes there; the service's place is then prepared in it", () => {
            const pre = runOnHost(renderPreflightScript({ appDir: dir, serviceName: "l9own", owner: stack, caddyAdmin: sb.caddyAdmin, minFreeDiskMb: 1 }));
            expect(pre.code, pre.stderr).to.equal(0);
            expect(sh(`cat '${dir}/.l9-deploy-owner'`).trim()).to.equal(`${stack} l9own`);
            expect(exists(`${dir}/state/attempt-started`)).to.equal(true);
            const r = prepare("l9own");
            expect(r.code, r.stderr).to.equal(0);
            const other = runOnHost(
                renderPreflightScript({ appDir: dir, serviceName: "l9own", owner: "l9-deploy/other", caddyAdmin: sb.caddyAdmin, minFreeDiskMb: 1 }),
            );
            expect(other.code, "another stack's preflight").to.equal(1);
            expect(other.stderr).to.contain(`preflight failed: ${dir} belongs to another l9-deploy stack`);
        });

        it("claims a new directory, refuses it to another stack, and claims one an earlier version deployed", () => {
            const r = prepare("l9own");
            expect(r.code, r.stderr).to.equal(0);
            expect(sh(`cat '${dir}/.l9-deploy-owner'`).trim()).to.equal(`${stack} l9own`);
            expect(prepare("l9own").code, "its owner prepares it again").to.equal(0);
            const other = prepare("l9own", "l9-deploy/other");
            expect(other.code).to.equal(1);
            expect(other.stderr).to.contain(`${dir} belongs to another l9-deploy stack (${stack} l9own); nothing was changed`);
            // A deploy made before the marker existed: its layout, no marker.
            sh(`rm -f '${dir}/.l9-deploy-owner'`);
            const legacy = prepare("l9own");
            expect(legacy.code, legacy.stderr).to.equal(0);
            expect(legacy.stderr).to.contain(`claiming ${dir}: an earlier l9-deploy version deployed here`);
        });

        it("a rename keeps the new service whole: the old name's delete leaves the files the new one owns", () => {
            expect(prepare("l9own").code).to.equal(0);
            sh(`echo APP_SECRET=x > '${dir}/shared/.env' && mkdir -p '${dir}/repo.git' '${dir}/releases/v0.1.0-l9'`);
            // The new footprint is created first, then the old one's delete runs (create before delete).
            const renamed = prepare("l9ownb");
            expect(renamed.code, renamed.stderr).to.equal(0);
            expect(renamed.stderr).to.contain(`taking over ${dir} from service l9own of this stack (a rename)`);
            const old = remove("l9own");
            expect(old.code, old.stderr).to.equal(0);
            expect(old.stderr).to.contain(`${dir} belongs to ${stack} l9ownb now: its files are left to it`);
            for (const p of ["shared/.env", "repo.git", "releases/v0.1.0-l9", "state", ".l9-deploy-owner"]) expect(exists(`${dir}/${p}`), p).to.equal(true);
        });

        const servers = `http://${sb.caddyAdmin}/config/apps/http/servers`;
        const postServer = (name: string, config: object) =>
            sh(`curl -fsS -X POST -H 'Content-Type: application/json' -d '${JSON.stringify(config)}' '${servers}/${name}'`);

        it("destroy leaves Caddy servers l9-deploy did not create: one of the service's server name, and one of the service's own name", () => {
            const site = (port: number) => ({ listen: [`127.0.0.1:${port}`], routes: [{ handle: [{ handler: "static_response", body: "operator site" }] }] });
            postServer("l9-l9ownc", site(18698));
            postServer("l9ownc", site(18697));
            try {
                expect(prepare("l9ownc").code).to.equal(0);
                const r = remove("l9ownc");
                expect(r.code, r.stderr).to.equal(0);
                expect(r.stderr).to.contain("Caddy's server l9-l9ownc is not one l9-deploy created (no routing marker of l9ownc in it): left as it is");
                expect(sh(`curl -s -m 5 http://127.0.0.1:18698/`)).to.equal("operator site");
                expect(sh(`curl -s -m 5 http://127.0.0.1:18697/`)).to.equal("operator site");
            } finally {
                sh(`curl -s -X DELETE '${servers}/l9-l9ownc' >/dev/null; curl -s -X DELETE '${servers}/l9ownc' >/dev/null`);
            }
        });

        it("destroy removes the service's server under the name an earlier version gave it", () => {
            postServer("l9ownc", {
                listen: ["127.0.0.1:18697"],
                routes: [
                    {
                        match: [{ file: { root: "/", try_files: ["/var/lib/l9-deploy/l9ownc/caddy/l9ownc-green.active"] } }],
                        handle: [{ handler: "static_response", body: "green" }],
                    },
                ],
            });
            try {
                expect(prepare("l9ownc").code).to.equal(0);
                const r = remove("l9ownc");
                expect(r.code, r.stderr).to.equal(0);
                expect(r.stderr).to.contain("Caddy server l9ownc removed");
                expect(sh(`curl -s '${servers}/l9ownc'`).trim()).to.equal("null");
            } finally {
                sh(`curl -s -X DELETE '${servers}/l9ownc' >/dev/null`);
            }
        });

        it("destroy removes only the layout's entries: the deploy log, the backups and an operator's file stay", () => {
            expect(prepare("l9ownc").code).to.equal(0);
            sh(
                `mkdir -p '${dir}/backups' '${dir}/bin' '${dir}/logs' '${dir}/repo.git' && ` +
                    `echo '{}' > '${dir}/deploys.jsonl' && echo keep > '${dir}/notes.txt'`,
            );
            const r = remove("l9ownc");
            expect(r.code, r.stderr).to.equal(0);
            expect(sh(`ls -A '${dir}'`).trim().split("\n").sort()).to.deep.equal(["backups", "deploys.jsonl", "notes.txt"]);
        });
    });
});
