import { expect } from "chai";
import { createL9Stack, L9TestStack } from "../support/l9-stack";
import { cleanSandboxService, httpGet, sandboxFacts, serviceSnapshot, sh } from "../support/sandbox";
import { caddyServerName } from "../../host-scripts/routing";
import { INJECTION_FIELDS, injectionPayloads } from "../support/injection-canaries";

type Change = {
    set?: Record<string, string>;
    secret?: Record<string, string>;
    plain?: Record<string, string>;
    remove?: string[];
    /**
     * Refused only in an update of its own: a check across settings (the schema runs those
     * only when no field failed a type or enum check, so whether they speak depends on the
     * other fields), or one that reads the host.
     */
    alone?: true;
};

/**
 * Bad config and inputs, table-driven, against a deployed stack: each `pulumi up` is refused
 * with a message naming the field, and the host is left exactly as it was.
 */
describe("e2e: bad input is refused, naming the field, with the host untouched", function () {
    this.timeout(30 * 60 * 1000);
    let s: L9TestStack;
    let baseline: Record<string, { value: string; secret?: boolean }>;
    let initial: string;

    const snapshot = () => serviceSnapshot(s.serviceName, s.appDir);

    before(async () => {
        s = await createL9Stack("badinput", 18600);
        cleanSandboxService(s.serviceName, s.appDir, sandboxFacts().caddyAdmin);
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
        baseline = await s.stack.getAllConfig();
        initial = snapshot();
    });

    /** The keys a test changed: afterEach puts back only those (one CLI call each way, not the whole config). */
    let touched = new Set<string>();
    const setConfig = async (key: string, value: string, secret?: boolean) => {
        touched.add(key);
        await s.stack.setConfig(key, { value, secret });
    };
    afterEach(async () => {
        const keys = [...touched];
        touched = new Set();
        for (const key of keys.filter((k) => !(k in baseline))) await s.stack.removeConfig(key);
        const restore = Object.fromEntries(keys.filter((k) => k in baseline).map((k) => [k, baseline[k]]));
        if (Object.keys(restore).length > 0) await s.stack.setAllConfig(restore);
    });

    after(() => {
        if (s) s.removeFromHost();
    });

    const env = (o: Record<string, string>) => JSON.stringify(o);
    const goodEnv = { APP_SECRET: "e2e-secret-badinput-value", DATABASE_URL: "postgres://l9@127.0.0.1/e2e" };
    const cases: Array<[string, Change, RegExp]> = [
        ["tag with a shell command", { set: { releaseTag: "v1.0.0;rm -rf /" } }, /l9-deploy:releaseTag may only contain/],
        ["tag with command substitution", { set: { releaseTag: "$(id)" } }, /l9-deploy:releaseTag may only contain/],
        ["tag with backticks", { set: { releaseTag: "`id`" } }, /l9-deploy:releaseTag may only contain/],
        ["tag with a newline", { set: { releaseTag: "v0.1.0-l9\nid" } }, /l9-deploy:releaseTag may only contain/],
        ["tag outside the release pattern", { set: { releaseTag: "v1.0-l9" }, alone: true }, /l9-deploy:releaseTag does not match/],
        ["invalid tag pattern", { set: { tagPattern: "([" } }, /l9-deploy:tagPattern/],
        ["relative appDir", { set: { appDir: "srv/l9" } }, /l9-deploy:appDir/],
        ["traversing appDir", { set: { appDir: "/srv/../etc" } }, /l9-deploy:appDir/],
        ["appDir with a semicolon", { set: { appDir: "/srv/l9;rm" } }, /l9-deploy:appDir/],
        ["appDir at the root", { set: { appDir: "/" } }, /l9-deploy:appDir/],
        ["appDir that is a system directory", { set: { appDir: "/var/lib" } }, /l9-deploy:appDir must not be \/var\/lib itself/],
        ["appDir under /etc", { set: { appDir: "/etc/ssh" } }, /l9-deploy:appDir must not be under \/etc/],
        ["duplicate slot ports", { set: { greenPort: "18601" }, alone: true }, /l9-deploy:greenPort must differ from bluePort/],
        ["port zero", { set: { bluePort: "0" } }, /l9-deploy:bluePort/],
        ["port out of range", { set: { greenPort: "65536" } }, /l9-deploy:greenPort/],
        ["port that is not a number", { set: { bluePort: "abc" } }, /l9-deploy:bluePort/],
        ["slot port equal to the site port", { set: { bluePort: "18680" }, alone: true }, /l9-deploy:bluePort collides with caddyListen/],
        ["negative health timeout", { set: { healthTimeoutSeconds: "-5" } }, /l9-deploy:healthTimeoutSeconds/],
        ["keeping one image only", { set: { imagesToKeep: "1" } }, /l9-deploy:imagesToKeep/],
        ["repo URL with a space", { set: { repoUrl: "file:///tmp/x y" } }, /l9-deploy:repoUrl/],
        ["repo URL with a quote", { set: { repoUrl: "https://example.com/r.git';rm -rf /" } }, /l9-deploy:repoUrl/],
        [
            "repo URL with a token",
            { set: { repoUrl: "https://x-access-token:example-token@example.com/team/l9.git" } },
            /l9-deploy:repoUrl must not carry credentials/,
        ],
        ["host key without its key", { set: { hostKey: "ssh-ed25519" } }, /l9-deploy:hostKey/],
        ["Caddy admin on a public address", { set: { caddyAdmin: "0.0.0.0:2019" } }, /l9-deploy:caddyAdmin/],
        ["Caddy admin on a relative socket", { set: { caddyAdmin: "unix/admin.sock" } }, /l9-deploy:caddyAdmin/],
        ["env that is a list", { secret: { env: "[1,2]" } }, /l9-deploy:env/],
        ["env key in lower case", { secret: { env: env({ ...goodEnv, app_mode: "x" }) } }, /l9-deploy:env/],
        ["env value over two lines (malformed .env line)", { secret: { env: env({ ...goodEnv, APP_SECRET: "a\nb" }) } }, /l9-deploy:env\.APP_SECRET/],
        ["env key with a space", { secret: { env: env({ ...goodEnv, "APP MODE": "x" }) } }, /l9-deploy:env/],
        ["env that is not JSON", { secret: { env: "APP_SECRET=x" } }, /l9-deploy:env/],
        ["smoke request path without a slash", { set: { smokeRequests: '[{"path":"api"}]' } }, /l9-deploy:smokeRequests/],
        ["smoke request with an unknown method", { set: { smokeRequests: '[{"method":"BREW","path":"/x"}]' } }, /l9-deploy:smokeRequests/],
        ["unknown standby mode", { set: { standby: "cold" } }, /l9-deploy:standby/],
        ["unknown network mode", { set: { networkMode: "macvlan" } }, /l9-deploy:networkMode/],
        ["drift schedule in words", { set: { driftSchedule: "every hour" } }, /l9-deploy:driftSchedule/],
        ["boolean that is not one", { set: { verifyTagSignature: "maybe" } }, /l9-deploy:verifyTagSignature/],
        ["misspelt key", { set: { relaseTag: "v0.1.0-l9" } }, /l9-deploy:relaseTag is not a setting/],
        ["missing host", { remove: ["l9-deploy:host"], alone: true }, /l9-deploy:host is required/],
        [
            "private key stored in plain text",
            { plain: { sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----" } },
            /l9-deploy:sshPrivateKey is stored in plain text/,
        ],
        ["tag that does not exist", { set: { releaseTag: "v9.9.9-l9" }, alone: true }, /releaseTag: tag v9\.9\.9-l9 does not exist/],
        ["lightweight tag", { set: { releaseTag: "v0.5.0-l9" }, alone: true }, /releaseTag: tag v0\.5\.0-l9 is a lightweight tag/],
        ["tag not on main", { set: { releaseTag: "v0.6.0-l9" }, alone: true }, /releaseTag: tag v0\.6\.0-l9 .* is not reachable from main/],
        [
            "env missing a required key",
            { set: { releaseTag: "v0.2.0-l9" }, secret: { env: env({ APP_SECRET: "x" }) }, alone: true },
            /l9-deploy:env does not satisfy .env.example of v0\.2\.0-l9[\s\S]*DATABASE_URL is declared .* but not set/,
        ],
        [
            "env with an empty required key",
            { set: { releaseTag: "v0.2.0-l9" }, secret: { env: env({ ...goodEnv, APP_SECRET: " " }) }, alone: true },
            /l9-deploy:env does not satisfy[\s\S]*APP_SECRET is required .* but empty/,
        ],
        ["main branch that does not exist", { set: { releaseTag: "v0.2.0-l9", mainBranch: "trunk" }, alone: true }, /mainBranch: branch trunk does not exist/],
    ];

    // Canaries: for every setting that reaches a script on the host, a value that would create
    // CANARY if any shell ran it. The schema refuses them (the unit tier runs every payload in
    // every field); here each field goes through pulumi up once, the payloads taking turns. The
    // scripts quote them anyway (unit: "sh (the rendering rule)", golden files, the gate's
    // failure path).
    const CANARY = "/tmp/l9-canary-badinput";
    const payloads = injectionPayloads(CANARY);
    INJECTION_FIELDS.forEach(([field, change], i) => {
        const payload = payloads[i % payloads.length];
        cases.push([
            `canary ${(i % payloads.length) + 1} in ${field} (${JSON.stringify(payload)})`,
            { set: change(payload), alone: true },
            new RegExp(`l9-deploy:${field}|l9-deploy:releaseTag`),
        ]);
    });
    beforeEach(() => sh(`rm -f ${CANARY}`));
    afterEach(() => expect(sh(`test -e ${CANARY} && echo ran || echo absent`).trim(), "a payload ran on this machine").to.equal("absent"));

    it("canary in logScanPatterns (accepted: any line is a pattern): the gate's failure path prints it literally and runs nothing", async () => {
        // "listening" is in the sample app's log, so the log scan fails and quotes the patterns.
        const patterns = [...payloads.map((p) => p.replace("\n", " ")), "listening"];
        await setConfig("l9-deploy:logScanPatterns", JSON.stringify(patterns));
        const r = await s.up();
        expect(r.ok, "the gate should have failed").to.equal(false);
        expect(r.error).to.contain(`check 'log scan': the logs contain "listening"`);
        expect(snapshot(), "the host changed").to.equal(initial);
    });

    // A field's own checks run whatever the other fields hold, and one refusal names every bad
    // field: those cases go in rounds, one up each, no two changing the same setting. Each case's
    // own message must be in its round's refusal; a check across settings may add its message
    // too (the tag pattern's), so no case's pattern is one that message matches. (One up per case
    // cost a minute more.)
    const keysOf = (c: Change) => [...Object.keys({ ...c.set, ...c.secret, ...c.plain }), ...(c.remove ?? []).map((k) => k.replace(/^l9-deploy:/, ""))];
    const rounds: Array<Array<[string, Change, RegExp]>> = [];
    for (const c of cases) {
        const round = c[1].alone ? undefined : rounds.find((r) => !r[0][1].alone && r.every((o) => keysOf(o[1]).every((k) => !keysOf(c[1]).includes(k))));
        if (round) round.push(c);
        else rounds.push([c]);
    }
    for (const round of rounds) {
        it(`refuses ${round.map(([what]) => what).join("; ")}`, async () => {
            for (const [, change] of round) {
                for (const [k, v] of Object.entries(change.set ?? {})) await setConfig(`l9-deploy:${k}`, v);
                for (const [k, v] of Object.entries(change.secret ?? {})) await setConfig(`l9-deploy:${k}`, v, true);
                for (const [k, v] of Object.entries(change.plain ?? {})) await setConfig(`l9-deploy:${k}`, v, false);
                for (const k of change.remove ?? []) {
                    touched.add(k);
                    await s.stack.removeConfig(k);
                }
            }
            const r = await s.up();
            expect(r.ok, "the update should have been refused").to.equal(false);
            for (const [what, , message] of round) expect(r.error, what).to.match(message);
            expect(snapshot(), "the host changed").to.equal(initial);
        });
    }

    const FOREIGN_SERVERS =
        "never takes over a Caddy server it did not create: " +
        "one of the service's server name is refused before anything runs, a Caddyfile's srv0 of the service's own name is never touched";
    it(FOREIGN_SERVERS, async () => {
        const admin = `http://${sandboxFacts().caddyAdmin}`;
        const site = (port: number) =>
            JSON.stringify({ listen: [`127.0.0.1:${port}`], routes: [{ handle: [{ handler: "static_response", body: "operator site" }] }] });
        sh(`curl -fsS -X POST -H 'Content-Type: application/json' -d '${site(18699)}' '${admin}/config/apps/http/servers/l9-srv0'`);
        sh(`curl -fsS -X POST -H 'Content-Type: application/json' -d '${site(18698)}' '${admin}/config/apps/http/servers/srv0'`);
        try {
            await setConfig("l9-deploy:serviceName", "srv0");
            const r = await s.up();
            expect(r.ok, "the update should have been refused").to.equal(false);
            expect(r.error).to.contain("runs a server named l9-srv0 that l9-deploy did not create");
            expect(r.error).to.contain("nothing ran");
            expect(sh(`curl -s -m 5 http://127.0.0.1:18699/`)).to.equal("operator site");
            expect(sh(`curl -s -m 5 http://127.0.0.1:18698/`)).to.equal("operator site");
            expect(snapshot(), "the host changed").to.equal(initial);
        } finally {
            sh(
                `curl -s -X DELETE '${admin}/config/apps/http/servers/l9-srv0' >/dev/null; ` +
                    `curl -s -X DELETE '${admin}/config/apps/http/servers/srv0' >/dev/null`,
            );
        }
    });

    it("refuses a serviceName rename while the old name's server serves on caddyListen, before anything runs: its containers stay", async () => {
        const renamed = `${s.serviceName}b`;
        await setConfig("l9-deploy:serviceName", renamed);
        const r = await s.up();
        expect(r.ok, "the update should have been refused").to.equal(false);
        expect(r.error).to.contain(
            `Caddy's server ${caddyServerName(s.serviceName)} (l9-deploy's server of service ${s.serviceName}) already listens on 127.0.0.1:${s.ports.site}`,
        );
        expect(r.error).to.contain("nothing ran").and.contain("To rename it: destroy the stack with the old name");
        expect(httpGet(`${s.siteUrl}/version`).status).to.equal(200);
        expect(snapshot(), "the host changed").to.equal(initial);
        expect(sh(`ls -d '/var/lib/l9-deploy/${renamed}' /etc/cron.d/${renamed}-drift 2>/dev/null | wc -l`).trim(), "nothing of the new name").to.equal("0");
    });

    it("and the untouched stack still converges: up with the good config changes nothing", async () => {
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
        expect(snapshot()).to.equal(initial);
    });
});
