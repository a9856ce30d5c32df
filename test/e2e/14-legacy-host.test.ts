import { expect } from "chai";
import { execFile, execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { createL9Stack, L9TestStack, resourceSteps } from "../support/l9-stack";
import { LoadReport, splitReloadResets, watchTraffic } from "../support/load-loop";
import { LegacyHost, legacyCaddy, legacyHost, legacyHostDown, legacySiteGet, onHost, onHostAsync } from "../support/sandbox";
import { REPO_ROOT } from "../support/toolchain";

const execFileAsync = promisify(execFile);

/**
 * What the host says about everything the old runbooks and the operator own there: the
 * containers (ids and states), the Caddyfile, Caddy's running config, /opt/l9, the cron file,
 * the images, PostgreSQL's rows, and whether l9-deploy left anything of its own.
 */
function legacySnapshot(): string {
    return onHost(
        "h6",
        [
            "docker ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.State}}' | sort",
            "docker images -q --no-trunc | sort",
            "sha256sum /etc/caddy/Caddyfile /opt/l9/.env /opt/l9/.deployed-metadata.json /etc/cron.d/l9-health-checks",
            "ls -A /opt/l9 /etc/caddy /etc/cron.d",
            "curl -fsS http://localhost:2019/config/ | sha256sum",
            "git -C /opt/l9 describe --tags --exact-match",
            "runuser -u postgres -- psql -qtA -h /run/postgresql -d l9 -c 'SELECT id, item FROM orders ORDER BY id'",
            "ls -A /var/lib/l9-deploy 2>/dev/null || echo 'no /var/lib/l9-deploy'",
        ].join("; "),
    );
}

/**
 * l9-deploy pointed at a host the old runbooks deployed (the legacy sandbox host): the env is
 * imported from the old `.env` over the stack's pinned connection, and an `up` that would
 * collide with what serves there stops before anything runs, leaving the host as it was.
 */
describe("e2e: a host the old runbooks deployed (legacy sandbox host)", function () {
    this.timeout(15 * 60 * 1000);
    let s: L9TestStack;
    let legacy: LegacyHost;
    let untouched = "";

    before(async () => {
        legacyHostDown();
        legacy = legacyHost();
        s = await createL9Stack("legacy", 19100);
        await s.set({
            host: legacy.host,
            sshPort: "22",
            hostKey: legacy.hostKey,
            serviceName: "l9",
            appDir: "/opt/l9",
            bluePort: "8001",
            greenPort: "8002",
            caddyAdmin: "localhost:2019",
            caddyListen: ":443",
            caddyHosts: JSON.stringify(["api.example.com"]),
        });
        await s.stack.removeConfig("l9-deploy:env");
        await s.stack.removeConfig("l9-deploy:metricsDir");
        untouched = legacySnapshot();
    });

    it("imports the old .env over the pinned connection: key names printed, values stored as the secret env only", async () => {
        const fileValues = Object.fromEntries(
            onHost("h6", "grep -v '^#' /opt/l9/.env")
                .trim()
                .split("\n")
                .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
        ) as Record<string, string>;
        const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts/node.sh"), "tools/env-import.ts", "--stack", "e2e-legacy", "--from-host", "/opt/l9/.env"], {
            cwd: REPO_ROOT,
            encoding: "utf8",
            env: { ...process.env, ...s.envVars },
        });
        const out = `${r.stdout}${r.stderr}`;
        expect(r.status, out).to.equal(0);
        for (const key of ["APP_SECRET", "DATABASE_URL", "LOG_LEVEL"]) expect(out).to.include(key);
        for (const value of [fileValues.APP_SECRET, fileValues.DATABASE_URL]) expect(out).to.not.include(value);
        const stored = await s.stack.getConfig("l9-deploy:env");
        expect(stored.secret).to.equal(true);
        expect(JSON.parse(stored.value)).to.deep.equal(fileValues);
        expect(legacySnapshot()).to.equal(untouched);
    });

    it("refuses an up whose server would sit beside the operator's on :443, before anything runs: the host is as it was", async () => {
        const r = await s.up();
        expect(r.ok, r.stdout.slice(-2000)).to.equal(false);
        expect(`${r.error}${r.stdout}`).to.include("Caddy's server srv0 (a server l9-deploy did not create) already listens on :443");
        // Providers and components only: no resource that runs anything on the host.
        const onTheHost = resourceSteps(r.events).filter((step) => /^create (command:|docker:index:|l9host:)/.test(step));
        expect(onTheHost).to.deep.equal([]);
        expect(legacySnapshot()).to.equal(untouched);
    });

    it("refuses an up into the old runbooks' /opt/l9, naming another directory: the host is as it was", async () => {
        // Ports nothing publishes: this up meets /opt/l9 first.
        await s.set({ caddyListen: "127.0.0.1:19180", bluePort: "8011", greenPort: "8012" });
        const r = await s.up();
        expect(r.ok, r.stdout.slice(-2000)).to.equal(false);
        expect(`${r.error}${r.stdout}`, `${r.error}`.slice(0, 3000)).to.include("/opt/l9 is not empty and no l9-deploy stack owns it; nothing was changed");
        expect(`${r.error}${r.stdout}`).to.include("pulumi config set appDir /srv/l9");
        expect(legacySnapshot()).to.equal(untouched);
        // The other site never noticed.
        expect(legacySiteGet(legacy, "www.example.com", "/")).to.deep.equal({ status: 200, body: "www.example.com: the operator's other site" });
    });

    /** Load through the TLS sites on :443 (the API's, the operator's other one) around `during`; each must lose no request. */
    async function underLoad(sites: Array<"api" | "www">, during: () => Promise<void>, reloads = 0): Promise<Record<string, LoadReport>> {
        const ca = fs.readFileSync(legacy.caRootFile, "utf8");
        const urls = { api: "https://api.example.com/version", www: "https://www.example.com/" };
        const loops = sites.map((site) => [site, watchTraffic(urls[site], { address: legacy.host, ca }, 600)] as const);
        while (loops.some(([, l]) => l.sampleCount() < 50)) await new Promise((resolve) => setTimeout(resolve, 100));
        await during();
        const reports: Record<string, LoadReport> = {};
        for (const [site, l] of loops) reports[site] = await l.stop();
        for (const [site, r] of Object.entries(reports)) {
            const { resetsBeforeRequest, otherFailures } = splitReloadResets(r);
            process.stdout.write(
                `      ${site}: ${r.total} requests, ${r.failed.length} failed ` +
                    `(${resetsBeforeRequest.length} reset by Caddy's reload before the request was sent), ` +
                    `versions ${r.versions.join(" ")}\n`,
            );
            expect(otherFailures, `${site}: ${JSON.stringify(otherFailures.slice(0, 3))}`).to.deep.equal([]);
            // Only a step with a reload of Caddy may show them, and then rarely (splitReloadResets).
            expect(resetsBeforeRequest.length, `${site}: ${JSON.stringify(resetsBeforeRequest)}`).to.be.at.most(reloads * 3);
        }
        return reports;
    }
    const underLoadOnBothSites = (during: () => Promise<void>, reloads = 0) => underLoad(["api", "www"], during, reloads);
    /** A command on the legacy host, asynchronous (load loops run in this process meanwhile). */
    const onLegacy = async (command: string) => {
        const r = await onHostAsync("h6", command);
        expect(r.status, `${command}: ${r.stderr}`).to.equal(0);
        return r.stdout;
    };
    const operatorState = () =>
        onHost(
            "h6",
            [
                "docker ps -a --no-trunc --filter name=l9-jobs --format '{{.ID}} {{.Names}} {{.State}}'",
                "docker inspect -f '{{.Id}}' l9-api-blue",
                "sha256sum /opt/l9/.env /opt/l9/.deployed-metadata.json",
                "git -C /opt/l9 describe --tags --exact-match",
                "runuser -u postgres -- psql -qtA -h /run/postgresql -d l9 -c 'SELECT id, item FROM orders ORDER BY id'",
            ].join("; "),
        );
    let operatorBefore = "";
    let policyBefore = "";

    it("refuses slot ports the old runbooks' containers publish (l9-api-green, stopped, on 8001), before anything runs", async () => {
        await s.set({
            appDir: "/srv/l9",
            caddyListen: ":443",
            caddyfile: "/etc/caddy/Caddyfile",
            caddyfileReplaces: "127.0.0.1:8000",
            bluePort: "8001",
            greenPort: "8002",
        });
        const r = await s.up();
        expect(r.ok, r.stdout.slice(-2000)).to.equal(false);
        expect(`${r.error}${r.stdout}`, `${r.error}`.slice(0, 3000)).to.include(
            "port 8001 (bluePort) is published by the container l9-api-green (created), which is not one of l9's slots",
        );
        expect(resourceSteps(r.events).filter((step) => /^create (command:|docker:index:|l9host:)/.test(step))).to.deep.equal([]);
        expect(legacySnapshot()).to.equal(untouched);
    });

    it("deploys into the operator's Caddy (caddyfile): the one reload moves the API to the new slot, 0 failed on both sites", async () => {
        operatorBefore = operatorState();
        policyBefore = onHost("h6", "docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' l9-api-blue").trim();
        await s.set({
            adopt: JSON.stringify({ containers: ["l9-api-blue"], cronFiles: ["/etc/cron.d/l9-health-checks"] }),
            bluePort: "8011",
            greenPort: "8012",
            releaseTag: "v0.2.0-l9",
            // The sandbox's internal CA issues 12-hour certificates.
            minCertDays: "0",
        });
        const pidBefore = onHost("h6", "cat /run/caddy.pid").trim();
        let up: Awaited<ReturnType<L9TestStack["up"]>> | undefined;
        // The adoption's switch is one reload of the operator's Caddy.
        const { api } = await underLoadOnBothSites(async () => {
            up = await s.up();
        }, 1);
        expect(up!.ok, `${up!.error}\n${up!.stdout.slice(-3000)}`).to.equal(true);
        // Served by the old container (v0.1.0-l9), then by the new slot (v0.2.0-l9), and nothing else.
        expect(api.versions).to.have.members(["v0.1.0-l9", "v0.2.0-l9"]);
        expect(legacySiteGet(legacy, "api.example.com", "/version").body).to.include("v0.2.0-l9");
        // One edit of the operator's Caddyfile: the API's proxy line became the import; a reload, not a restart.
        const diff = onHost("h6", "diff /etc/caddy/Caddyfile.before-l9-deploy /etc/caddy/Caddyfile || true");
        expect(diff).to.match(/^\d+c\d+\n< \treverse_proxy 127\.0\.0\.1:8000\n---\n> \timport \/etc\/caddy\/l9-deploy\/l9\.caddy\n$/);
        expect(onHost("h6", "cat /run/caddy.pid").trim()).to.equal(pidBefore);
        // The old deploy, retired once l9-deploy served: its container stopped (kept, no restart
        // policy), its cron file renamed aside; the stack output says how to bring each back.
        expect(onHost("h6", "docker inspect -f '{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}' l9-api-blue").trim()).to.equal("exited no");
        expect(onHost("h6", "ls /etc/cron.d | grep l9-health").trim()).to.equal("l9-health-checks.disabled-by-l9-deploy");
        const retired = (await s.stack.outputs()).retired?.value;
        expect(retired).to.deep.equal([
            { container: "l9-api-blue", restore: `docker update --restart=${policyBefore} l9-api-blue && docker start l9-api-blue` },
            { cronFile: "/etc/cron.d/l9-health-checks", restore: "mv /etc/cron.d/l9-health-checks.disabled-by-l9-deploy /etc/cron.d/l9-health-checks" },
        ]);
        expect(operatorState()).to.equal(operatorBefore);
    });

    it("releases the next tag by the marker file alone (no reload), 0 failed on both sites", async () => {
        await s.set({ releaseTag: "v0.1.0-l9" });
        const configBefore = await onLegacy("curl -fsS http://localhost:2019/config/ | sha256sum");
        const { api } = await underLoadOnBothSites(async () => {
            const r = await s.up();
            expect(r.ok, `${r.error}\n${r.stdout.slice(-3000)}`).to.equal(true);
        });
        expect(api.versions).to.have.members(["v0.1.0-l9", "v0.2.0-l9"]);
        expect(legacySiteGet(legacy, "api.example.com", "/version").body).to.include("v0.1.0-l9");
        // Caddy's config is the same: the switch was the marker file.
        expect(await onLegacy("curl -fsS http://localhost:2019/config/ | sha256sum")).to.equal(configBefore);
        const slots = onHost("h6", "docker ps --format '{{.Names}} {{.Ports}}' | grep -E '^l9-(blue|green) ' | sort");
        expect(slots).to.include("127.0.0.1:8011->").and.to.include("127.0.0.1:8012->");
    });

    it("rolls back to the previous tag (the warm standby, no build), 0 failed on both sites", async () => {
        await s.set({ releaseTag: "v0.2.0-l9" });
        const { api } = await underLoadOnBothSites(async () => {
            const r = await s.up();
            expect(r.ok, `${r.error}\n${r.stdout.slice(-3000)}`).to.equal(true);
            const created = resourceSteps(r.events).filter((x) => /^(create|replace|create-replacement)\s/.test(x));
            expect(created.filter((x) => /docker:index\/container:Container|-build$|checkout-/.test(x))).to.deep.equal([]);
        });
        expect(api.versions).to.have.members(["v0.1.0-l9", "v0.2.0-l9"]);
        expect(legacySiteGet(legacy, "api.example.com", "/version").body).to.include("v0.2.0-l9");
    });

    it("keeps the routes through a restart of the operator's Caddy; a second run of the adopting up changes nothing", () => {
        legacyCaddy("restart");
        expect(legacySiteGet(legacy, "api.example.com", "/version").body).to.include("v0.2.0-l9");
        expect(legacySiteGet(legacy, "www.example.com", "/")).to.deep.equal({ status: 200, body: "www.example.com: the operator's other site" });
        const again = s.cli(["up", "--yes", "--expect-no-changes"]);
        expect(again.code, again.out.slice(-3000)).to.equal(0);
        expect(onHost("h6", "docker inspect -f '{{.State.Status}}' l9-api-blue").trim()).to.equal("exited");
        expect(operatorState()).to.equal(operatorBefore);
    });

    it("the switch killed after its flip (Caddyfile mode): the next release, slow to listen, spares the slot that serves, 0 failed on both sites", async () => {
        // v0.2.0 serves from blue, v0.1.0 is the warm standby in green. The rollback's switch
        // flips to green and dies in its watch: the update fails, green serves, and the stack's
        // record still says blue.
        await s.set({ releaseTag: "v0.1.0-l9", watchSeconds: "20" });
        const journal = () => onHost("h6", "cat /srv/l9/deploys.jsonl").trim().split("\n");
        const before = journal().length;
        const flipped = () =>
            journal()
                .slice(before)
                .some((l) => l.includes('"tag":"v0.1.0-l9"') && l.includes('"status":"switching"'));
        const update = s.up();
        for (let i = 0; i < 720 && !flipped(); i++) await new Promise((r) => setTimeout(r, 250));
        expect(flipped(), "the switch journaled its flip within 180 s").to.equal(true);
        // The switch's script, as the command provider runs it on the host (its sshd is this machine's pid namespace's child).
        expect(execFileSync("bash", ["-c", "pkill -KILL -f '^sh -s$' && echo killed || echo none"], { encoding: "utf8" }).trim()).to.equal("killed");
        const failed = await update;
        expect(failed.ok, "the interrupted update fails").to.equal(false);
        expect(legacySiteGet(legacy, "api.example.com", "/version").body).to.include("v0.1.0-l9");
        const green = onHost("h6", "docker inspect -f '{{.Id}}' l9-green").trim();
        // Straight away, the next release, whose container listens only 12 s after it starts:
        // replacing the one Caddy routes to would fail requests past Caddy's 5 s retry window.
        await s.set({ releaseTag: "v0.4.4-l9", watchSeconds: "0" });
        let r: Awaited<ReturnType<L9TestStack["up"]>> | undefined;
        const { api } = await underLoadOnBothSites(async () => {
            r = await s.up();
        });
        expect(r!.ok, `${r!.error}\n${r!.stdout.slice(-3000)}`).to.equal(true);
        expect(r!.stdout).to.match(/the host serves v0\.1\.0-l9 from green .*the stack's record says v0\.2\.0-l9 serves from blue/);
        expect(api.versions).to.have.members(["v0.1.0-l9", "v0.4.4-l9"]);
        expect(onHost("h6", "docker inspect -f '{{.Id}}' l9-green").trim(), "the container that served was not replaced").to.equal(green);
        expect((await s.stack.outputs()).activeSlot.value).to.equal("blue");
        expect(operatorState()).to.equal(operatorBefore);
    });

    it("destroy leaves the old files and the stopped old container in place, keeps the import the Caddyfile needs; the other site loses nothing", async () => {
        let out = "";
        await underLoad(["www"], async () => {
            // As an operator runs it (scripts/pulumi.sh: the program loads the deploy key, no refresh), asynchronously.
            const r = await execFileAsync(
                "bash",
                [path.join(REPO_ROOT, "scripts/pulumi.sh"), "destroy", "--yes", "--stack", "e2e-legacy", "--non-interactive", "--color", "never"],
                {
                    cwd: REPO_ROOT,
                    encoding: "utf8",
                    env: { ...process.env, ...s.envVars },
                    maxBuffer: 64 * 1024 * 1024,
                },
            );
            out = `${r.stdout}${r.stderr}`;
        });
        expect(out).to.include("left as they are: l9-api-blue (stopped), /etc/cron.d/l9-health-checks.disabled-by-l9-deploy");
        expect(out).to.include("the snippet and the import are kept");
        expect(onHost("h6", "docker inspect -f '{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}' l9-api-blue").trim()).to.equal("exited no");
        expect(onHost("h6", "ls /etc/cron.d | grep l9-health").trim()).to.equal("l9-health-checks.disabled-by-l9-deploy");
        expect(onHost("h6", "docker ps -a --format '{{.Names}}' | grep -cE '^l9-(blue|green)$' || true").trim()).to.equal("0");
        onHost("h6", "test -f /etc/caddy/l9-deploy/l9.caddy && grep -q 'import /etc/caddy/l9-deploy/l9.caddy' /etc/caddy/Caddyfile");
        legacyCaddy("reload");
        expect(legacySiteGet(legacy, "www.example.com", "/")).to.deep.equal({ status: 200, body: "www.example.com: the operator's other site" });
        expect(operatorState()).to.equal(operatorBefore);
    });

    after(() => {
        if (s) s.destroy();
    });
});
