import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { caddyConfigId, caddyServerConfig } from "../../host-scripts/caddy";
import { renderCaddyfileSnippet } from "../../host-scripts/caddyfile-site";
import { caddyServerArgs } from "../../host-scripts/routing";
import { parseCheckoutOutput, renderRemoveCheckoutScript, renderVerifyTagScript, renderWorktreeScript } from "../../host-scripts/checkout";
import { renderWriteEnvFileScript } from "../../host-scripts/env-file";
import { renderGateScript } from "../../host-scripts/gate";
import { parseImageBuildOutput, renderImageBuildScript } from "../../host-scripts/image-build";
import { renderPreflightScript } from "../../host-scripts/preflight";
import { renderHandBackOldDeployScript } from "../../host-scripts/old-deploy";
import { quote, sh } from "../../host-scripts/shell";
import { SAMPLE_NOTIFY, SAMPLE_ROUTING, SAMPLE_SWITCH } from "./fixtures";
import { renderSwitchScript } from "../../host-scripts/switch";
import { slotEnvs } from "../../components/slot";

/** `sh -n`: the script parses as POSIX shell. */
function parses(script: string): void {
    execFileSync("sh", ["-n"], { input: script });
}

/** Runs a script with `sh` and returns stdout: for quoting tests. */
function run(script: string): string {
    return execFileSync("sh", ["-c", script], { encoding: "utf8" });
}

const gateArgs = {
    containerName: "l9-green",
    tag: "v1.2.3-l9",
    port: 8002,
    healthPath: "/health",
    timeoutSeconds: 60,
    smokeRequests: [{ method: "GET" as const, path: "/api/smoke", expectStatus: 200 }],
    logScanPatterns: ["Traceback", "it's fatal"],
    notify: SAMPLE_NOTIFY,
};

const switchArgs = SAMPLE_SWITCH;

describe("unit: rendered host scripts", () => {
    describe("quote", () => {
        const nasty = ["plain", "it's", "$(id)", "`id`", "a b", "x;rm -rf /", "new\nline", "'", "\\", "*"];
        for (const value of nasty) {
            it(`keeps ${JSON.stringify(value)} one literal word`, () => {
                expect(run(`printf '%s' ${quote(value)}`)).to.equal(value);
            });
        }
        it("refuses NUL bytes", () => expect(() => quote("a\0b")).to.throw(/NUL/));
    });

    describe("sh (the rendering rule)", () => {
        it("quotes every interpolated string, puts integers as digits and rendered text as it is", () => {
            const payload = "$(touch /tmp/x); `id` 'q' \"d\"";
            expect(sh`echo ${payload} ${42} ${sh`"$HOME"`}`.text).to.equal(`echo ${quote(payload)} 42 "$HOME"`);
            expect(run(sh`printf '%s' ${payload}`.text)).to.equal(payload);
        });
        it("refuses numbers that are not integers, and other types", () => {
            expect(() => sh`sleep ${1.5}`).to.throw(/only integers/);
            expect(() => sh`x ${NaN}`).to.throw(/only integers/);
            expect(() => sh`x ${{} as unknown as string}`).to.throw(/refusing to put a object/);
        });
    });

    it("preflight checks docker, Caddy's admin API and disk space, and writes only appDir's claim and the attempt's start time", () => {
        const s = renderPreflightScript({
            appDir: "/opt/l9",
            serviceName: "l9",
            owner: "l9-deploy/production",
            caddyAdmin: "127.0.0.1:2019",
            minFreeDiskMb: 2048,
        });
        parses(s);
        expect(s).to.contain("docker info");
        expect(s).to.contain("'http://127.0.0.1:2019/config/'");
        expect(s).to.contain("-ge 2048");
        expect(s).to.match(/minFreeDiskMb=2048/);
        expect(s).to.not.match(/rm |docker (run|rm|stop)|openssl/);
        expect(s.match(/(mkdir|>)[^\n]*/g)?.filter((w) => !w.includes("/dev/null") && !w.startsWith(">&2"))).to.deep.equal([
            "mkdir -p '/opt/l9' || fail 'cannot create /opt/l9'",
            ">'/opt/l9/.l9-deploy-owner' || fail 'cannot write /opt/l9/.l9-deploy-owner'",
            "mkdir -p '/opt/l9/state' || fail 'cannot create /opt/l9/state'",
            ">'/opt/l9/state/attempt-started' || fail 'cannot write /opt/l9/state/attempt-started'",
        ]);
    });

    it("preflight checks each host's certificate once Caddy runs the site's config, with SNI on the site's address", () => {
        const routes = caddyServerArgs({ ...SAMPLE_ROUTING, caddyHosts: ["api.example.com", "www.example.com"] });
        const certificates = { hosts: ["api.example.com", "www.example.com"], listen: ":443", minDays: 14, routes };
        const s = renderPreflightScript({
            appDir: "/opt/l9",
            serviceName: "l9",
            owner: "l9-deploy/production",
            caddyAdmin: "127.0.0.1:2019",
            minFreeDiskMb: 1,
            certificates,
        });
        parses(s);
        expect(s).to.contain(`if curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:2019/id/${caddyConfigId(routes)}'`);
        // Caddyfile mode: "current" is the snippet's hash in the operator's servers.
        const caddyfileRoutes = { ...routes, caddyfile: { path: "/etc/caddy/Caddyfile" } };
        const inCaddyfileMode = renderPreflightScript({
            appDir: "/srv/l9",
            serviceName: "l9",
            owner: "l9-deploy/production",
            caddyAdmin: "127.0.0.1:2019",
            minFreeDiskMb: 1,
            certificates: { ...certificates, routes: caddyfileRoutes },
        });
        parses(inCaddyfileMode);
        const held = `'"l9_config":"${renderCaddyfileSnippet(caddyfileRoutes).configHash}"'`;
        expect(inCaddyfileMode).to.contain(`if curl -fsS -m 5 'http://127.0.0.1:2019/config/apps/http/servers' 2>/dev/null | grep -qF ${held}`);
        for (const host of certificates.hosts) expect(s).to.contain(`openssl s_client -connect '127.0.0.1:443' -servername '${host}'`);
        expect(s).to.contain("-checkend 1209600");
        const local = renderPreflightScript({
            appDir: "/opt/l9",
            serviceName: "l9",
            owner: "l9-deploy/production",
            caddyAdmin: "127.0.0.1:2019",
            minFreeDiskMb: 1,
            certificates: { ...certificates, listen: "[::1]:8443" },
        });
        expect(local).to.contain("-connect '[::1]:8443'");
        for (const off of [
            { ...certificates, minDays: 0 },
            { ...certificates, hosts: [] },
        ]) {
            expect(
                renderPreflightScript({
                    appDir: "/opt/l9",
                    serviceName: "l9",
                    owner: "l9-deploy/production",
                    caddyAdmin: "127.0.0.1:2019",
                    minFreeDiskMb: 1,
                    certificates: off,
                }),
            ).to.not.contain("openssl");
        }
    });

    it("tag verification: annotated, on main, signature; reads .env.example from git; no worktree", () => {
        const s = renderVerifyTagScript({
            appDir: "/opt/l9",
            repoUrl: "git@example.com:e/l9.git",
            tag: "v1.2.3-l9",
            mainBranch: "main",
            verifySignature: true,
        });
        parses(s);
        expect(s).to.contain("tag=" + quote("v1.2.3-l9"));
        expect(s).to.contain("releaseTag: tag $tag is a lightweight tag");
        expect(s).to.contain("merge-base --is-ancestor");
        expect(s).to.contain("verify-tag");
        expect(s).to.contain('show "$commit:.env.example"');
        expect(s).to.not.contain("worktree");
        expect(renderVerifyTagScript({ appDir: "/opt/l9", repoUrl: "x@y:z", tag: "v1", mainBranch: "main", verifySignature: false })).to.not.contain(
            "verify-tag",
        );
    });

    it("worktree: a clean checkout of the verified commit, removable", () => {
        const s = renderWorktreeScript({ appDir: "/opt/l9", tag: "v1.2.3-l9", commit: "c".repeat(40) });
        parses(s);
        expect(s).to.contain("wt='/opt/l9/releases/v1.2.3-l9'");
        expect(s).to.contain("clean --quiet -fdx");
        parses(renderRemoveCheckoutScript("/opt/l9", "v1.2.3-l9"));
    });

    it("parses the checkout's commit and .env.example, and rejects output without a commit", () => {
        const out = `l9.commit=${"c".repeat(40)}\nl9.envExample=${Buffer.from("A=\nB=x\n").toString("base64")}\n`;
        expect(parseCheckoutOutput(out)).to.deep.equal({ commit: "c".repeat(40), envExample: "A=\nB=x\n" });
        expect(parseCheckoutOutput(`l9.commit=${"c".repeat(40)}\nl9.envExample=\n`).envExample).to.equal(undefined);
        expect(() => parseCheckoutOutput("garbage")).to.throw(/no commit/);
    });

    it("image build reuses an image built from the same commit and labels what it builds", () => {
        const s = renderImageBuildScript({
            appDir: "/opt/l9",
            tag: "v1.2.3-l9",
            commit: "c".repeat(40),
            imageName: "l9-api",
            serviceName: "l9",
            dockerfile: "docker/Dockerfile",
        });
        parses(s);
        expect(s).to.contain("ref='l9-api:v1.2.3-l9'");
        expect(s).to.contain("already built");
        expect(s).to.contain("'l9.service=l9'");
        expect(s).to.contain("'docker/Dockerfile'");
        expect(parseImageBuildOutput(`noise\nl9.imageId=sha256:${"d".repeat(64)}\n`)).to.equal(`sha256:${"d".repeat(64)}`);
        expect(() => parseImageBuildOutput("nothing")).to.throw(/no image id/);
    });

    it("env file is written from stdin with mode 600, never from the script text", () => {
        const s = renderWriteEnvFileScript("/opt/l9/shared/.env");
        parses(s);
        expect(s).to.contain("umask 077");
        expect(s).to.contain("chmod 600");
        expect(s).to.contain('cat >"$tmp"');
    });

    it("gate checks docker health, the health endpoint, each smoke request and each log pattern, in that order", () => {
        const s = renderGateScript(gateArgs);
        parses(s);
        const order = ["check 'docker health'", "until check_health", "check_smoke || gate_fail", "log scan'\\''"].map((x) => s.indexOf(x));
        expect(s).to.contain("check_smoke() { l9_check_smoke 'GET' 'http://127.0.0.1:8002/api/smoke' '/api/smoke' 200 || return 1; }");
        expect(order.every((i) => i > 0)).to.equal(true);
        expect([...order].sort((a, b) => a - b)).to.deep.equal(order);
        expect(s).to.contain("'http://127.0.0.1:8002/health'");
        expect(s).to.contain("grep -F -q -- 'Traceback'");
        expect(s).to.contain(`grep -F -q -- 'it'\\''s fatal'`);
        expect(s).to.contain("last 30 log lines");
        expect(s).to.contain("traffic was not moved");
        expect(s).to.not.contain("/config/");
    });

    it("switch flips the marker file (no Caddy reload), verifies, records the deploy, drains the old slot and prunes", () => {
        const s = renderSwitchScript(switchArgs);
        parses(s);
        expect(s).to.contain("mv -f \"$tmp\" '/var/lib/l9-deploy/l9/caddy/l9-green.active'");
        expect(s).to.not.contain("PATCH");
        // the server config is loaded only when its versioned id is missing
        expect(s).to.match(/admin_curl -fsS -m 5 -o \/dev\/null "\$admin"'\/id\/l9-config-[0-9a-f]{12}' 2>\/dev\/null \|\| load_config/);
        expect(s).to.contain(`[ "$upstream" = '[{"dial":"127.0.0.1:8002"}]' ]`);
        expect(s).to.contain("does not route to green");
        expect(s).to.contain("'/opt/l9/deploys.jsonl'");
        expect(s).to.contain(`"tag":"v1.2.3-l9"`);
        expect(s).to.contain("docker stop -t 30 'l9-blue'");
        expect(s).to.contain("l9_prune_images 'label=l9.service=l9' 3");
        expect(s.indexOf("l9-green.active")).to.be.lessThan(s.indexOf("docker stop"));
        const toBlue = renderSwitchScript({ ...switchArgs, slot: "blue" });
        expect(toBlue).to.contain("rm -f '/var/lib/l9-deploy/l9/caddy/l9-green.active'");
        const warm = renderSwitchScript({ ...switchArgs, retire: { ...switchArgs.retire!, standby: "warm" } });
        expect(warm).to.not.contain("docker stop");
        expect(warm).to.contain("warm standby");
        expect(renderSwitchScript({ ...switchArgs, previousContainer: undefined })).to.not.contain("l9-blue'");
        // Run with `retire` (the switch's update), it drains and prunes only: it checks that Caddy
        // does not route to the slot it stops, and exits before any journal line or flip.
        const retireOnly = s.slice(s.indexOf(`if [ "$#" -gt 0 ] && [ "$1" = 'retire' ]; then`), s.indexOf("\nfi\n") + 4);
        expect(retireOnly).to.contain(`[ "$routing" != 'blue' ] || fail`).and.contain("docker stop -t 30 'l9-blue'").and.contain("exit 0");
        expect(retireOnly.indexOf(`"$routing" != 'blue'`)).to.be.lessThan(retireOnly.indexOf("docker stop"));
        expect(retireOnly).to.not.contain("l9_journal").and.not.contain("mv -f").and.not.contain("notify");
        expect(s.indexOf("exit 0")).to.be.lessThan(s.indexOf("l9_journal_open"));
        // The cutover alone (the switch's trigger) has no retire part.
        expect(renderSwitchScript({ ...switchArgs, retire: undefined }))
            .to.not.contain("'retire'")
            .and.not.contain("docker stop")
            .and.not.contain("l9_prune_images");
    });

    it("Caddy server config: green route on the marker file, blue fallback, loopback dials, hosts, versioned id", () => {
        const base = { serviceName: "l9", bluePort: 8001, greenPort: 8002, markerDir: "/opt/l9/state/caddy", maintenance: { allowPaths: ["/health"] } };
        const withHosts = caddyServerConfig({ ...base, listen: ":443", hosts: ["api.example.com"] }) as any;
        expect(withHosts.routes[0].match).to.deep.equal([
            { host: ["api.example.com"], file: { root: "/", try_files: ["/opt/l9/state/caddy/l9-maintenance.on"] }, not: [{ path: ["/health"] }] },
        ]);
        expect(withHosts.routes[0].handle.map((h: { handler: string }) => h.handler)).to.deep.equal(["headers", "rewrite", "file_server"]);
        expect(withHosts.routes[0].handle[2]).to.deep.equal({ handler: "file_server", root: "/opt/l9/state/caddy", status_code: 503 });
        expect(withHosts.routes[1].match).to.deep.equal([
            { host: ["api.example.com"], file: { root: "/", try_files: ["/opt/l9/state/caddy/l9-green.active"] } },
        ]);
        expect(withHosts.routes[1].handle[0]).to.include({ handler: "reverse_proxy", "@id": "l9-green-upstream" });
        expect(withHosts.routes[1].handle[0].upstreams).to.deep.equal([{ dial: "127.0.0.1:8002" }]);
        expect(withHosts.routes[2].match).to.deep.equal([{ host: ["api.example.com"] }]);
        expect(withHosts.routes[2].handle[0].upstreams).to.deep.equal([{ dial: "127.0.0.1:8001" }]);
        expect(withHosts.routes[2]["@id"]).to.equal(caddyConfigId({ ...base, listen: ":443", hosts: ["api.example.com"] }));
        expect(withHosts).to.not.have.property("automatic_https");
        const local = caddyServerConfig({ ...base, listen: "127.0.0.1:8080", hosts: [] }) as any;
        expect(local.automatic_https).to.deep.equal({ disable: true });
        expect(local.routes[2]).to.not.have.property("match");
        const noAllowed = caddyServerConfig({ ...base, listen: "127.0.0.1:8080", hosts: [], maintenance: { allowPaths: [] } }) as any;
        expect(noAllowed.routes[0].match[0]).to.not.have.property("not");
        expect(caddyConfigId({ ...base, listen: "127.0.0.1:8080", hosts: [] })).to.not.equal(
            caddyConfigId({ ...base, greenPort: 9002, listen: "127.0.0.1:8080", hosts: [] }),
        );
    });

    it("slot env: host mode listens on its slot port on 127.0.0.1; bridge mode on the container port, on the container's own interfaces", () => {
        expect(slotEnvs({ APP_SECRET: "x" }, "host", 8001, 8000)).to.deep.equal(["APP_SECRET=x", "HOST=127.0.0.1", "PORT=8001"]);
        expect(slotEnvs({ APP_SECRET: "x", PORT: "1", HOST: "127.0.0.1" }, "bridge", 8001, 8000)).to.deep.equal(["APP_SECRET=x", "HOST=0.0.0.0", "PORT=8000"]);
    });

    it("gate failure path: a health path full of shell syntax is printed literally and runs nothing", () => {
        // Stub docker (running, healthy) and curl (always 500), so the gate times out on the
        // health endpoint and takes the failure branch that quotes the configured path.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-gate-canary-"));
        const canary = path.join(dir, "canary");
        fs.writeFileSync(
            path.join(dir, "docker"),
            `#!/bin/sh\ncase "$1 $2" in "inspect -f") ` +
                `case "$3" in *Health*) echo healthy;; *ExitCode*) echo 0;; *) echo true;; esac;; inspect*) exit 0;; logs*) echo a-log-line;; esac\n`,
            { mode: 0o755 },
        );
        fs.writeFileSync(path.join(dir, "curl"), "#!/bin/sh\nprintf 'down\\n500'\n", { mode: 0o755 });
        const payloads = [
            `/$(touch ${canary})`,
            `/\`touch ${canary}\``,
            `/x;touch ${canary}`,
            `/x'; touch ${canary}; '`,
            `/x"; touch ${canary}; "`,
            `/x\ntouch ${canary}`,
        ];
        try {
            for (const healthPath of payloads) {
                const script = renderGateScript({
                    containerName: "l9-blue",
                    tag: "v1.0.0-l9",
                    port: 8001,
                    healthPath,
                    timeoutSeconds: 0,
                    smokeRequests: [],
                    logScanPatterns: [],
                    notify: SAMPLE_NOTIFY,
                });
                const r = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
                expect(r.status, r.stderr).to.equal(1);
                expect(r.stderr).to.contain(`check 'health endpoint': GET ${healthPath} answered 500`);
                expect(fs.existsSync(canary), `payload ${JSON.stringify(healthPath)} ran`).to.equal(false);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the old deploy's hand-back with a Caddyfile and no line to put back refuses before anything moves", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-hand-back-"));
        const cron = path.join(dir, "l9-health-checks");
        fs.writeFileSync(`${cron}.disabled-by-l9-deploy`, "17 * * * * root true\n");
        const text = renderHandBackOldDeployScript({
            appDir: dir,
            containers: [],
            cronFiles: [cron],
            caddyAdmin: "127.0.0.1:2019",
            healthPath: "/health",
            caddyfile: { path: path.join(dir, "Caddyfile"), snippet: path.join(dir, "l9-deploy/l9.caddy") },
        });
        parses(text);
        const r = spawnSync("sh", ["-c", text], { encoding: "utf8" });
        expect(r.status).to.equal(1);
        expect(r.stderr).to.contain("imports l9-deploy's routes and caddyfileReplaces is not set: there is no line to put back; nothing was changed.");
        expect(r.stderr).to.contain("Fix: pulumi config set caddyfileReplaces <the address of the reverse_proxy line in");
        // The cron file is still renamed aside: nothing ran before the refusal.
        expect(fs.existsSync(cron)).to.equal(false);
        fs.rmSync(dir, { recursive: true, force: true });
    });
});
