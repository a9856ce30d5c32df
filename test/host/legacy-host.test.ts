import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LegacyHost, legacyHost, legacySiteGet, onHost, sandboxFacts } from "../support/sandbox";
import { REPO_ROOT } from "../support/toolchain";

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
        execFileSync("bash", [SANDBOX_SH, "legacy", "caddy", "reload"], { stdio: ["ignore", "pipe", "pipe"] });
        expect(onHost("h6", "cat /run/caddy.pid").trim()).to.equal(pidBefore);
        bothSitesAnswer();
        execFileSync("bash", [SANDBOX_SH, "legacy", "caddy", "restart"], { stdio: ["ignore", "pipe", "pipe"] });
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
