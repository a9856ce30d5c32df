import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderAdminAccessLines } from "../../host-scripts/caddy";
import { renderRemoveServiceScript } from "../../host-scripts/service-footprint";
import { renderSlotGuardScript } from "../../host-scripts/slot-guard";
import { renderStepLibrary } from "../../host-scripts/step-library";
import { renderRemoveUnfinishedContainerScript } from "../../host-scripts/unfinished-container";

/**
 * A `curl` and a `docker` that record their calls (`METHOD URL`, `docker ARGS`) and answer
 * Caddy's admin GETs as Caddy 2.6 does: from files, `<responses>/<path with / as _>` holding
 * the body (200); a path without a file with 400 "invalid traversal path" (what Caddy answers for
 * a path through a key it does not have). A path matching $CURL_DOWN (grep -E) is not answered
 * at all (curl exits $CURL_DOWN_EXIT); one matching $CURL_FORBIDDEN is answered 403. Like curl,
 * `-w '%{http_code}'` prints the status after the body, and `-f` turns a status of 400 or more
 * into exit 22 with no body.
 */
const FAKE_CURL = `#!/bin/sh
method=GET; url=; status_out=; fail_on_error=
while [ $# -gt 0 ]; do
  case "$1" in
    -X) method=$2; shift ;;
    -w) status_out=$2; shift ;;
    -H | -d | -m | -o) shift ;;
    http*) url=$1 ;;
    -[!-]*f*) fail_on_error=1 ;;
  esac
  shift
done
echo "$method $url" >>"$FAKE_CALLS"
if [ -n "\${CURL_DOWN:-}" ] && printf '%s' "$url" | grep -Eq "$CURL_DOWN"; then exit "\${CURL_DOWN_EXIT:-7}"; fi
[ "$method" = GET ] || exit 0
file="$FAKE_RESPONSES/$(printf '%s' "\${url#*/config/}" | tr / _)"
if [ -n "\${CURL_FORBIDDEN:-}" ] && printf '%s' "$url" | grep -Eq "$CURL_FORBIDDEN"; then status=403; body='{"error":"host not allowed"}'
elif [ -f "$file" ]; then status=200; body=$(cat "$file")
else status=400; body="{\\"error\\":\\"invalid traversal path at: config/\${url#*/config/}\\"}"
fi
if [ -n "$fail_on_error" ] && [ "$status" -ge 400 ]; then exit 22; fi
printf '%s\\n' "$body"
[ -z "$status_out" ] || printf '%s' "$status"
`;
const FAKE_DOCKER = `#!/bin/sh
echo "docker $*" >>"$FAKE_CALLS"
`;

/**
 * Caddy's admin API reads (host-scripts/caddy.ts, ADMIN_GET_FUNCTION): a read Caddy did not
 * answer stops the script before it writes, where it used to pass for "not there": a POST that
 * replaces the whole http app or every logger, a routed container removed, a destroy that
 * leaves Caddy routing to containers it removed. Run with the local sh and fakes of curl and docker.
 */
describe("unit: a Caddy admin read that got no answer stops the script before it writes", () => {
    let dir: string;
    let responses: string;
    let calls: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-admin-reads-"));
        responses = path.join(dir, "responses");
        calls = path.join(dir, "calls");
        fs.mkdirSync(path.join(dir, "bin"));
        fs.mkdirSync(responses);
        fs.writeFileSync(path.join(dir, "bin/curl"), FAKE_CURL, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "bin/docker"), FAKE_DOCKER, { mode: 0o755 });
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const answer = (configPath: string, body: string) => fs.writeFileSync(path.join(responses, configPath.replace(/\//g, "_")), body);
    const run = (text: string, down?: { paths: string; exit: number }, forbidden?: string) => {
        const r = spawnSync("sh", ["-c", text], {
            encoding: "utf8",
            env: {
                ...process.env,
                PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
                FAKE_CALLS: calls,
                FAKE_RESPONSES: responses,
                ...(down ? { CURL_DOWN: down.paths, CURL_DOWN_EXIT: String(down.exit) } : {}),
                ...(forbidden ? { CURL_FORBIDDEN: forbidden } : {}),
            },
        });
        const made = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [];
        return { status: r.status, stderr: r.stderr, calls: made, writes: made.filter((c) => !c.startsWith("GET ")) };
    };
    /** A library function called as a step calls it. */
    const library = (call: string) => ["set -eu", "L9_STEP=t", renderStepLibrary(), renderAdminAccessLines("127.0.0.1:2019"), call].join("\n");
    const loadServer = library(`l9_load_server l9 l9-l9 /m/ :443 '{"listen":[":443"]}' 'foreign' l9`);

    it("loading the service's server: the servers' read timing out creates no http app over Caddy's (a POST would replace every site)", () => {
        answer("apps", '{"http":{"servers":{"operator":{}}},"tls":{}}');
        const r = run(loadServer, { paths: "/config/apps/http/servers$", exit: 28 });
        expect(r.status).to.equal(1);
        expect(r.stderr).to.contain("t failed: Caddy's admin API did not answer GET /config/apps/http/servers (curl exit 28)");
        expect(r.writes).to.deep.equal([]);
    });

    it("loading the service's server: Caddy down at once, no write", () => {
        const r = run(loadServer, { paths: ".", exit: 7 });
        expect(r.status).to.equal(1);
        expect(r.stderr).to.contain("did not answer GET /config/apps/http/servers (curl exit 7)");
        expect(r.writes).to.deep.equal([]);
    });

    it("loading the service's server: an answer that is not Caddy's config (403: the admin API refused the origin) stops it too", () => {
        answer("apps", '{"http":{"servers":{"operator":{}}},"tls":{}}');
        const r = run(loadServer, undefined, "/config/apps/http/servers$");
        expect(r.status).to.equal(1);
        expect(r.stderr).to.contain("t failed: Caddy's admin API answered GET /config/apps/http/servers with HTTP 403, not with its config");
        expect(r.writes).to.deep.equal([]);
    });

    it("loading the service's server: a Caddy without an http app (it answers 400 and null) gets one, then the server", () => {
        answer("apps", "null");
        const r = run(loadServer);
        expect(r.status, r.stderr).to.equal(0);
        expect(r.writes).to.deep.equal(["POST http://127.0.0.1:2019/config/apps", "POST http://127.0.0.1:2019/config/apps/http/servers/l9-l9"]);
    });

    it("the canary's logger: the loggers' read failing replaces no logger of the operator's", () => {
        answer("logging", '{"logs":{"operator":{}}}');
        const call = library(`l9_load_canary_logger ${path.join(dir, "canary")} l9-canary '{"writer":{"output":"file","filename":"%s"}}' '{}'`);
        const r = run(call, { paths: "/config/logging/logs$", exit: 28 });
        expect(r.status).to.equal(1);
        expect(r.stderr).to.contain("did not answer GET /config/logging/logs (curl exit 28)");
        expect(r.writes).to.deep.equal([]);
    });

    it("removing the canary's logger: a read that got no answer stops; one that did removes it", () => {
        const call = library("l9_remove_canary_logger l9-canary");
        const down = run(call, { paths: ".", exit: 7 });
        expect(down.status).to.equal(1);
        expect(down.stderr).to.contain("did not answer GET /config/logging/logs/l9-canary (curl exit 7)");
        expect(down.writes).to.deep.equal([]);
        fs.rmSync(calls);
        answer("logging/logs/l9-canary", '{"writer":{}}');
        const up = run(call);
        expect(up.status, up.stderr).to.equal(0);
        expect(up.writes).to.deep.equal(["DELETE http://127.0.0.1:2019/config/logging/logs/l9-canary"]);
    });

    it("npm run recover: Caddy not answering never lets the routed slot's container go (blue, routed without a marker)", () => {
        const text = renderRemoveUnfinishedContainerScript({ serviceName: `l9-unit-${process.pid}`, caddyAdmin: "127.0.0.1:2019", color: "blue" });
        const r = run(text, { paths: ".", exit: 7 });
        expect(r.status).to.equal(1);
        expect(r.stderr).to.contain("did not answer GET /config/apps/http/servers/");
        expect(r.calls.filter((c) => c.startsWith("docker"))).to.deep.equal([]);
    });

    it("the slot guard: Caddy not answering is not 'nothing was switched on this host yet'", () => {
        const appDir = path.join(dir, "app");
        fs.mkdirSync(appDir);
        const text = renderSlotGuardScript({
            serviceName: `l9-unit-${process.pid}`,
            appDir,
            caddyAdmin: "127.0.0.1:2019",
            color: "green",
            containerName: `l9-unit-${process.pid}-green`,
            imageId: "sha256:" + "ab".repeat(32),
            tag: "v1.2.0-l9",
            networkMode: "bridge",
            stepLockWaitSeconds: 1,
        });
        const r = run(text, { paths: ".", exit: 7 });
        expect(r.status).to.equal(1);
        expect(r.stderr).to.contain("did not answer GET /config/apps/http/servers/");
        expect(r.stderr).to.not.contain("nothing was switched");
    });

    it("destroy (the service's removal): Caddy not answering stops it before anything is removed", () => {
        const appDir = path.join(dir, "app");
        fs.mkdirSync(path.join(appDir, "state"), { recursive: true });
        fs.writeFileSync(path.join(appDir, "state/active.json"), "{}\n");
        const text = renderRemoveServiceScript({
            appDir,
            serviceName: `l9-unit-${process.pid}`,
            caddyAdmin: "127.0.0.1:2019",
            owner: "l9-deploy/production",
            metricsDir: path.join(dir, "metrics"),
        });
        const r = run(text, { paths: ".", exit: 7 });
        expect(r.status).to.equal(1);
        expect(r.stderr).to.contain("did not answer GET /config/apps/http/servers/");
        expect(r.writes).to.deep.equal([]);
        expect(fs.existsSync(path.join(appDir, "state/active.json"))).to.equal(true);
    });
});
