import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    LegacyHost,
    legacyCaddy,
    legacyCaddyAsync,
    legacyHost,
    legacyHostDown,
    legacySiteGet,
    legacySiteGetAsync,
    onHost,
    onHostAsync,
    sandboxFacts,
} from "../support/sandbox";
import { REPO_ROOT } from "../support/toolchain";
import { LoadLoop, splitReloadResets } from "../support/load-loop";
import { renderAdminAccessLines } from "../../host-scripts/caddy";
import {
    CADDYFILE_ROUTING_FACTS_FUNCTION,
    caddyfileSnippetPath,
    renderCaddyfileSnippet,
    renderInstallCaddyfileRoutesScript,
} from "../../host-scripts/caddyfile-site";
import { renderHandBackOldDeployScript, renderRetireOldDeployScript } from "../../host-scripts/old-deploy";
import { caddyMarkerDir } from "../../host-scripts/layout";
import { caddyServerArgs, greenMarkerFile, maintenanceMarkerFile, maintenanceMessageFile, RoutingArgs } from "../../host-scripts/routing";
import { script, sh } from "../../host-scripts/shell";

/** The legacy host's routing as Caddyfile mode sees it: its two old containers as the slots. */
const LEGACY_ROUTING: RoutingArgs = {
    serviceName: "l9",
    appDir: "/srv/l9",
    caddyAdmin: "localhost:2019",
    caddyListen: ":443",
    caddyHosts: ["api.example.com"],
    bluePort: 8000,
    greenPort: 8001,
    maintenance: { allowPaths: ["/health"] },
};

const SANDBOX_SH = path.join(REPO_ROOT, "scripts/sandbox.sh");

/**
 * The legacy sandbox host (scripts/sandbox/legacy-host.sh): the layout of issue 23, proved by
 * what the host's own daemons, files and sites answer.
 */
describe("host: the legacy sandbox host (a VPS the old runbooks deployed)", function () {
    this.timeout(5 * 60 * 1000);
    let legacy: LegacyHost;

    const containerState = (name: string) =>
        onHost("h6", `docker inspect -f '{{.Id}} {{.State.Running}} {{index .Config.Labels "com.docker.compose.project"}}' ${name}`).trim().split(" ");
    const bothSitesAnswer = () => {
        const api = legacySiteGet(legacy, "api.example.com", "/version");
        expect(api.status, api.body).to.equal(200);
        expect(JSON.parse(api.body)).to.deep.include({ version: "v0.1.0-l9" });
        const www = legacySiteGet(legacy, "www.example.com", "/");
        expect(www.status, www.body).to.equal(200);
        expect(www.body).to.equal("www.example.com: the operator's other site");
    };

    before(function () {
        // Fresh: a run before this one may have changed it (the Caddyfile mode tests below do).
        legacyHostDown();
        legacy = legacyHost();
    });

    it("serves the API and the operator's other site on :443 over TLS from its internal CA", function () {
        bothSitesAnswer();
        // Not anywhere else: another name gets no certificate.
        expect(() => legacySiteGet(legacy, "other.example.com", "/")).to.throw();
    });

    it("runs Caddy from the Caddyfile: one server on :443 holding both sites, admin API on localhost:2019", function () {
        const config = JSON.parse(onHost("h6", "curl -fsS http://localhost:2019/config/")) as {
            admin?: { listen?: string };
            apps: { http: { servers: Record<string, { listen: string[]; routes: Array<{ match?: Array<{ host?: string[] }> }> }> } };
        };
        expect(config.admin?.listen).to.equal("localhost:2019");
        const servers = config.apps.http.servers;
        expect(Object.keys(servers)).to.deep.equal(["srv0"]);
        expect(servers.srv0.listen).to.deep.equal([":443"]);
        const hosts = servers.srv0.routes.flatMap((r) => (r.match ?? []).flatMap((m) => m.host ?? []));
        expect(hosts).to.have.members(["api.example.com", "www.example.com"]);
        expect(onHost("h6", "cat /etc/caddy/Caddyfile")).to.include("reverse_proxy 127.0.0.1:8000");
    });

    it("holds the old runbooks' /opt/l9: a clone detached at the release, .env, deploy record, scripts, hourly cron", function () {
        expect(onHost("h6", "git -C /opt/l9 describe --tags --exact-match").trim()).to.equal("v0.1.0-l9");
        expect(onHost("h6", "git -C /opt/l9 symbolic-ref -q HEAD || echo detached").trim()).to.equal("detached");
        expect(onHost("h6", "stat -c %a /opt/l9/.env").trim()).to.equal("600");
        const keys = onHost("h6", "grep -o '^[A-Z_]*=' /opt/l9/.env").trim().split("\n");
        expect(keys).to.deep.equal(["APP_SECRET=", "DATABASE_URL=", "LOG_LEVEL="]);
        const record = JSON.parse(onHost("h6", "cat /opt/l9/.deployed-metadata.json")) as Record<string, string>;
        expect(record).to.include({ deployed_tag: "v0.1.0-l9", status: "success", commit: onHost("h6", "git -C /opt/l9 rev-parse HEAD").trim() });
        expect(Object.keys(record)).to.have.members(["deployed_tag", "deployed_at", "deployed_by", "commit", "status"]);
        for (const script of ["deploy", "rollback", "drift-check"])
            expect(onHost("h6", `test -x /opt/l9/scripts/${script}.sh && echo ok`).trim()).to.equal("ok");
        expect(onHost("h6", "cat /etc/cron.d/l9-health-checks")).to.match(/^17 \* \* \* \* root \/opt\/l9\/scripts\/drift-check\.sh/m);
        // The old drift check agrees with the record: the host is as its runbooks left it.
        expect(onHost("h6", "/opt/l9/scripts/drift-check.sh")).to.match(/ ok: v0\.1\.0-l9$/m);
    });

    it("runs the compose v1 project l9: blue serving on 127.0.0.1:8000, green stopped, another service running", function () {
        const [, blueRunning, blueProject] = containerState("l9-api-blue");
        expect([blueRunning, blueProject]).to.deep.equal(["true", "l9"]);
        expect(onHost("h6", "docker port l9-api-blue 8000/tcp").trim()).to.equal("127.0.0.1:8000");
        const [, greenRunning, greenProject] = containerState("l9-api-green");
        expect([greenRunning, greenProject]).to.deep.equal(["false", "l9"]);
        expect(onHost("h6", "docker inspect -f '{{(index (index .HostConfig.PortBindings \"8000/tcp\") 0).HostPort}}' l9-api-green").trim()).to.equal("8001");
        const [, jobsRunning] = containerState("l9-jobs");
        expect(jobsRunning).to.equal("true");
        expect(onHost("h6", "curl -fsS http://127.0.0.1:8000/version")).to.include("v0.1.0-l9");
    });

    it("runs PostgreSQL on 127.0.0.1:5432, reachable with the .env's DATABASE_URL, holding the service's data", function () {
        const rows = onHost("h6", `set -a; . /opt/l9/.env; psql "$DATABASE_URL" -qtA -c "SELECT item FROM orders ORDER BY id"`).trim();
        expect(rows.split("\n")).to.include("legacy-order-1");
        expect(onHost("h6", "ss -Hltn 'sport = :5432'")).to.include("127.0.0.1:5432");
    });

    it("keeps both sites through `systemctl reload caddy` and `systemctl restart caddy` equivalents", function () {
        const pidBefore = onHost("h6", "cat /run/caddy.pid").trim();
        legacyCaddy("reload");
        expect(onHost("h6", "cat /run/caddy.pid").trim()).to.equal(pidBefore);
        bothSitesAnswer();
        legacyCaddy("restart");
        expect(onHost("h6", "cat /run/caddy.pid").trim()).to.not.equal(pidBefore);
        bothSitesAnswer();
    });

    it("is reached over SSH with its own pinned host key", function () {
        const sb = sandboxFacts();
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "l9-legacy-"));
        try {
            fs.writeFileSync(path.join(tmp, "known_hosts"), `${legacy.host} ${legacy.hostKey}\n`);
            const out = execFileSync(
                "ssh",
                [
                    ...["-i", path.join(path.dirname(sb.knownHostsFile), "operator_ed25519"), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"],
                    ...["-o", `UserKnownHostsFile=${path.join(tmp, "known_hosts")}`, "-o", "StrictHostKeyChecking=yes"],
                    "--",
                    `root@${legacy.host}`,
                    "hostname",
                ],
                { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
            );
            expect(out.trim()).to.equal("h6");
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    it("is idempotent: a second `legacy up` leaves it as it is (same containers, same data)", function () {
        const before = ["l9-api-blue", "l9-api-green", "l9-jobs"].map((c) => containerState(c)[0]);
        const r = spawnSync("bash", [SANDBOX_SH, "legacy", "up"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stderr).to.match(/h6 \(legacy\): answering/);
        expect(r.stderr).to.not.match(/laying out/);
        expect(r.stdout).to.match(/^legacy\s+up \(/m);
        expect(["l9-api-blue", "l9-api-green", "l9-jobs"].map((c) => containerState(c)[0])).to.deep.equal(before);
        expect(onHost("h6", `set -a; . /opt/l9/.env; psql "$DATABASE_URL" -qtA -c "SELECT count(*) FROM orders"`).trim()).to.equal("1");
    });
});

/**
 * Caddyfile mode's pieces on the legacy host, for real: the snippet and the one edit of the
 * operator's Caddyfile (one reload), then flips by marker file, under load on both sites; the
 * routes survive `systemctl reload caddy` and `systemctl restart caddy`; the routing facts read
 * back from Caddy's config. The slots here are the old compose containers (blue on 8000, green
 * on 8001), so nothing else is deployed.
 */
describe("host: l9-deploy's routes inside the operator's Caddy (Caddyfile mode, legacy host)", function () {
    this.timeout(5 * 60 * 1000);
    const serviceName = "l9";
    const markerDir = caddyMarkerDir(serviceName);
    const args = caddyServerArgs({ ...LEGACY_ROUTING, serviceName });
    const snippet = renderCaddyfileSnippet(args);
    const site = {
        caddyfile: "/etc/caddy/Caddyfile",
        host: "api.example.com",
        dial: "127.0.0.1:8000",
        snippet: caddyfileSnippetPath("/etc/caddy/Caddyfile", serviceName),
    };
    const installScript = renderInstallCaddyfileRoutesScript("localhost:2019", { ...site, snippetText: snippet.text, configHash: snippet.configHash });
    const factsScript = script(
        renderAdminAccessLines("localhost:2019"),
        CADDYFILE_ROUTING_FACTS_FUNCTION,
        sh`l9_caddyfile_routing_facts ${greenMarkerFile(markerDir, serviceName)} ${serviceName} ${snippet.configHash}`,
        sh`printf '%s %s %s\\n' "$routing" "$upstream" "$config"`,
    );
    let legacy: LegacyHost;
    let api: LoadLoop | undefined;
    let www: LoadLoop | undefined;
    // Asynchronous throughout: the load loops run in this process, and a synchronous call would stop them.
    const runOnLegacy = (text: string) => onHostAsync("h6", text);
    const on = async (command: string): Promise<string> => {
        const r = await runOnLegacy(command);
        expect(r.status, `${command}: ${r.stderr}`).to.equal(0);
        return r.stdout;
    };
    const caddy = legacyCaddyAsync;
    const get = (site: string, urlPath: string) => legacySiteGetAsync(legacy, site, urlPath);
    const facts = async () => (await on(factsScript)).trim();
    const versionOf = (port: number) => on(`curl -fsS http://127.0.0.1:${port}/version`);

    before(function () {
        // The layout tests above changed nothing: the host is as the old runbooks left it.
        legacy = legacyHost();
        onHost("h6", "docker start l9-api-green >/dev/null");
        onHost("h6", `mkdir -p ${markerDir}`);
        const ca = fs.readFileSync(legacy.caRootFile, "utf8");
        api = new LoadLoop("https://api.example.com/version", 2, 240, 2_000_000, 0, { address: legacy.host, ca });
        www = new LoadLoop("https://www.example.com/", 2, 240, 2_000_000, 0, { address: legacy.host, ca });
    });

    after(async function () {
        await api?.stop();
        await www?.stop();
    });

    it("installs the snippet and the one edit, with one reload: the site now routes by l9-deploy's markers", async function () {
        expect(await versionOf(8000)).to.include("v0.1.0-l9");
        expect(await versionOf(8001)).to.include("v0.1.0-l9");
        const pidBefore = (await on("cat /run/caddy.pid")).trim();
        // Load on both sites for a while before anything changes.
        while (api!.sampleCount() < 100 || www!.sampleCount() < 100) await new Promise((resolve) => setTimeout(resolve, 100));
        const r = await runOnLegacy(installScript);
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stderr).to.include("imports /etc/caddy/l9-deploy/l9.caddy in place of reverse_proxy 127.0.0.1:8000");
        expect(r.stderr).to.include("Caddy reloaded");
        // A reload, not a restart.
        expect((await on("cat /run/caddy.pid")).trim()).to.equal(pidBefore);
        expect(await on("cat /etc/caddy/l9-deploy/l9.caddy")).to.equal(snippet.text);
        // Caddy's own user (Debian runs it as caddy) reads the snippet and the Caddyfile.
        expect((await on("stat -c '%a %U:%G' /etc/caddy/l9-deploy/l9.caddy /etc/caddy/Caddyfile")).trim().split("\n")).to.deep.equal([
            "644 root:root",
            (await on("stat -c '%a %U:%G' /etc/caddy/Caddyfile.before-l9-deploy")).trim(),
        ]);
        expect(await on("diff /etc/caddy/Caddyfile.before-l9-deploy /etc/caddy/Caddyfile || true")).to.include("> \timport /etc/caddy/l9-deploy/l9.caddy");
        expect(await facts()).to.equal('blue [{"dial":"127.0.0.1:8000"}] current');
    });

    it("runs again without a change and without a reload", async function () {
        const r = await runOnLegacy(installScript);
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stderr).to.include("are current: no reload");
    });

    it("flips to green and back by the marker file alone, and the facts follow", async function () {
        await on(`touch ${greenMarkerFile(markerDir, serviceName)}`);
        expect(await facts()).to.equal('green [{"dial":"127.0.0.1:8001"}] current');
        await on(`rm -f ${greenMarkerFile(markerDir, serviceName)}`);
        expect(await facts()).to.equal('blue [{"dial":"127.0.0.1:8000"}] current');
    });

    it("serves the maintenance page from the marker, health still proxied", async function () {
        await on(`printf 'back at 14:00\\n' >${maintenanceMessageFile(markerDir, serviceName)}`);
        await on(`touch ${maintenanceMarkerFile(markerDir, serviceName)}`);
        try {
            const down = await get("api.example.com", "/version");
            expect(down).to.deep.equal({ status: 503, body: "back at 14:00\n" });
            expect((await get("api.example.com", "/health")).status).to.equal(200);
        } finally {
            await on(`rm -f ${maintenanceMarkerFile(markerDir, serviceName)}`);
        }
        expect((await get("api.example.com", "/version")).status).to.equal(200);
    });

    it("keeps its routes through the operator's reload of Caddy, on green", async function () {
        await on(`touch ${greenMarkerFile(markerDir, serviceName)}`);
        await caddy("reload");
        expect(await facts()).to.equal('green [{"dial":"127.0.0.1:8001"}] current');
        // Which container answers is the marker's: with blue stopped, the site still answers.
        await on("docker stop l9-api-blue >/dev/null");
        expect((await get("api.example.com", "/version")).status).to.equal(200);
    });

    it("says stale when Caddy runs a snippet of another hash, current again when it runs this one", async function () {
        await on("cp /etc/caddy/l9-deploy/l9.caddy /tmp/l9.caddy.kept");
        try {
            await on(`sed -i 's/${snippet.configHash}/0000000000000000/' /etc/caddy/l9-deploy/l9.caddy`);
            await caddy("reload");
            expect(await facts()).to.equal('green [{"dial":"127.0.0.1:8001"}] stale');
        } finally {
            await on("cp /tmp/l9.caddy.kept /etc/caddy/l9-deploy/l9.caddy");
            await caddy("reload");
        }
        expect(await facts()).to.equal('green [{"dial":"127.0.0.1:8001"}] current');
    });

    it("lost no request on either site through the install's reload (mocha's root hook stops the load after that test)", async function () {
        const apiReport = await api!.stop();
        const wwwReport = await www!.stop();
        const maintenance503s = apiReport.failed.filter((s) => s.status === 503).length;
        process.stdout.write(
            `      api: ${apiReport.total} requests, ${apiReport.failed.length} failed (${maintenance503s} maintenance 503s), ` +
                `${apiReport.retriedOnStaleConnection} retried on a stale keep-alive connection; ` +
                `www: ${wwwReport.total} requests, ${wwwReport.failed.length} failed, ${wwwReport.retriedOnStaleConnection} retried\n`,
        );
        expect(apiReport.total).to.be.greaterThan(200);
        expect(wwwReport.total).to.be.greaterThan(200);
        // The install's one reload of Caddy may reset a connection before its request was sent (splitReloadResets).
        const apiSplit = splitReloadResets({ ...apiReport, failed: apiReport.failed.filter((s) => s.status !== 503) });
        const wwwSplit = splitReloadResets(wwwReport);
        process.stdout.write(
            `      reset by the reload before the request was sent: api ${apiSplit.resetsBeforeRequest.length}, www ${wwwSplit.resetsBeforeRequest.length}\n`,
        );
        expect(apiSplit.otherFailures, JSON.stringify(apiSplit.otherFailures.slice(0, 3))).to.deep.equal([]);
        expect(wwwSplit.otherFailures, JSON.stringify(wwwSplit.otherFailures.slice(0, 3))).to.deep.equal([]);
        expect(apiSplit.resetsBeforeRequest.length + wwwSplit.resetsBeforeRequest.length).to.be.at.most(3);
    });

    // Not first: mocha's root hook would stop the load the install's test measures.
    it("refuses, before it changes anything, to edit a Caddyfile that is a link (the edit is a rename)", async function () {
        // A link to a Caddyfile that does not import the snippet yet: an edit is pending.
        const snapshot = "sha256sum /etc/caddy/Caddyfile /etc/caddy/Caddyfile.before-l9-deploy /etc/caddy/l9-deploy/l9.caddy";
        const before = await on(snapshot);
        await on("ln -sfn /etc/caddy/Caddyfile.before-l9-deploy /etc/caddy/Caddyfile.link");
        const linked = await runOnLegacy(
            renderInstallCaddyfileRoutesScript("localhost:2019", {
                ...site,
                caddyfile: "/etc/caddy/Caddyfile.link",
                snippetText: snippet.text,
                configHash: snippet.configHash,
            }),
        );
        const stillLink = (await on("test -L /etc/caddy/Caddyfile.link && echo link")).trim();
        await on("rm /etc/caddy/Caddyfile.link");
        expect(linked.status).to.not.equal(0);
        expect(linked.stderr).to.include(
            "/etc/caddy/Caddyfile.link is a symbolic link, which l9-deploy does not replace; nothing was changed. " +
                "Fix: set caddyfile to /etc/caddy/Caddyfile.before-l9-deploy",
        );
        expect(stillLink).to.equal("link");
        expect(await on(snapshot)).to.equal(before);
    });

    it("keeps its routes through a restart of Caddy (a stop, then a start: not under load)", async function () {
        await caddy("restart");
        expect(await facts()).to.equal('green [{"dial":"127.0.0.1:8001"}] current');
        expect((await get("api.example.com", "/version")).status).to.equal(200);
        expect(await get("www.example.com", "/")).to.deep.equal({ status: 200, body: "www.example.com: the operator's other site" });
    });

    it("a reload that fails puts the operator's Caddyfile back as it was; the run after Caddy is back reloads", async function () {
        // As before the one edit, with Caddy down: the reload cannot reach it.
        await on("cp -p /etc/caddy/Caddyfile.before-l9-deploy /etc/caddy/Caddyfile");
        await on("kill $(cat /run/caddy.pid)");
        const failed = await runOnLegacy(installScript);
        expect(failed.status).to.not.equal(0);
        expect(failed.stderr).to.include("Caddy did not reload /etc/caddy/Caddyfile and runs its previous config; traffic was not moved");
        await on("cmp /etc/caddy/Caddyfile.before-l9-deploy /etc/caddy/Caddyfile");
        await caddy("restart");
        expect((await get("www.example.com", "/")).status).to.equal(200);
        const retried = await runOnLegacy(installScript);
        expect(retried.status, retried.stderr).to.equal(0);
        expect(retried.stderr).to.include("Caddy reloaded");
        expect(await facts()).to.equal('green [{"dial":"127.0.0.1:8001"}] current');
        expect((await get("api.example.com", "/version")).status).to.equal(200);
    });

    it("retires the old deploy and hands the host back to it under load on both sites: 0 failed, the Caddyfile as it was", async function () {
        const oldDeploy = {
            appDir: "/srv/l9-host-test",
            containers: ["l9-api-blue"],
            cronFiles: ["/etc/cron.d/l9-health-checks"],
            caddyAdmin: "localhost:2019",
        };
        const handBack = { ...oldDeploy, dial: "127.0.0.1:8000", healthPath: "/health", caddyfile: { path: site.caddyfile, snippet: site.snippet } };
        const policy = (await on("docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' l9-api-blue")).trim();
        // As after a real adoption, Caddy no longer dials the old container's port: both slots on l9-api-green's.
        const greenOnly = renderCaddyfileSnippet(caddyServerArgs({ ...LEGACY_ROUTING, serviceName, bluePort: 8001 }));
        const moved = await runOnLegacy(
            renderInstallCaddyfileRoutesScript("localhost:2019", { ...site, snippetText: greenOnly.text, configHash: greenOnly.configHash }),
        );
        expect(moved.status, moved.stderr).to.equal(0);
        expect(await on("curl -fsS localhost:2019/config/ | grep -c '127.0.0.1:8000' || true")).to.equal("0\n");
        // A second site of the operator's still proxies to the old container (as `localhost`): the
        // retire refuses before it changes anything; once that site is gone, it retires.
        // Running, as the old deploy serves (a test above stopped it): only a running container is checked.
        await on("docker start l9-api-blue >/dev/null");
        await on("cp -p /etc/caddy/Caddyfile /etc/caddy/Caddyfile.host-test");
        await on("printf '\\nold-api.example.com {\\n\\treverse_proxy localhost:8000\\n}\\n' >>/etc/caddy/Caddyfile");
        await caddy("reload");
        const unchanged = "ls /etc/cron.d; docker inspect -f '{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}' l9-api-blue";
        const beforeRefusal = await on(unchanged);
        const refused = await runOnLegacy(renderRetireOldDeployScript(oldDeploy));
        expect(refused.status).to.not.equal(0);
        expect(refused.stderr).to.include(
            "a route of Caddy's still proxies to port 8000, which l9-api-blue publishes: it was not stopped, and nothing was changed.",
        );
        expect(await on(unchanged)).to.equal(beforeRefusal);
        await on("mv /etc/caddy/Caddyfile.host-test /etc/caddy/Caddyfile");
        await caddy("reload");
        const ca = fs.readFileSync(legacy.caRootFile, "utf8");
        const apiLoad = new LoadLoop("https://api.example.com/version", 2, 300, 2_000_000, 0, { address: legacy.host, ca });
        const wwwLoad = new LoadLoop("https://www.example.com/", 2, 300, 2_000_000, 0, { address: legacy.host, ca });
        while (apiLoad.sampleCount() < 50 || wwwLoad.sampleCount() < 50) await new Promise((resolve) => setTimeout(resolve, 100));
        const retired = await runOnLegacy(renderRetireOldDeployScript(oldDeploy));
        expect(retired.status, retired.stderr).to.equal(0);
        expect(retired.stdout.trim().split("\n")).to.deep.equal(["cron /etc/cron.d/l9-health-checks", `container l9-api-blue ${policy}`]);
        expect((await on("docker inspect -f '{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}' l9-api-blue")).trim()).to.equal("exited no");
        expect((await on("ls /etc/cron.d | grep l9-health")).trim()).to.equal("l9-health-checks.disabled-by-l9-deploy");
        const back = await runOnLegacy(renderHandBackOldDeployScript(handBack));
        expect(back.status, back.stderr).to.equal(0);
        expect(back.stderr).to.include("/etc/caddy/Caddyfile: the site proxies to 127.0.0.1:8000 again, and Caddy reloaded it");
        const api = await apiLoad.stop();
        const www = await wwwLoad.stop();
        process.stdout.write(`      api: ${api.total} requests, ${api.failed.length} failed; www: ${www.total} requests, ${www.failed.length} failed\n`);
        // One reload of Caddy: it may reset a connection before its request was sent (splitReloadResets).
        const apiSplit = splitReloadResets(api);
        const wwwSplit = splitReloadResets(www);
        expect(apiSplit.otherFailures, JSON.stringify(apiSplit.otherFailures.slice(0, 3))).to.deep.equal([]);
        expect(wwwSplit.otherFailures, JSON.stringify(wwwSplit.otherFailures.slice(0, 3))).to.deep.equal([]);
        expect(apiSplit.resetsBeforeRequest.length + wwwSplit.resetsBeforeRequest.length).to.be.at.most(3);
        await on("cmp /etc/caddy/Caddyfile.before-l9-deploy /etc/caddy/Caddyfile");
        expect((await on("docker inspect -f '{{.State.Status}} {{.HostConfig.RestartPolicy.Name}}' l9-api-blue")).trim()).to.equal(`running ${policy}`);
        expect((await on("ls /etc/cron.d | grep l9-health")).trim()).to.equal("l9-health-checks");
        expect((await get("api.example.com", "/version")).body).to.include("v0.1.0-l9");
    });
});
