import { expect } from "chai";
import { ConfigError, parseConfig } from "../../config/load";
import { hostTargets } from "../../config/schema";
import * as fs from "fs";
import * as path from "path";
import { SECRETS, validRawConfig } from "./fixtures";
import { INJECTION_FIELDS, injectionPayloads } from "../support/injection-canaries";

// js-yaml is already installed (a dependency of mocha and @pulumi/pulumi) but ships no types.
const yaml: { load(text: string): unknown } = require("js-yaml");

function problemsOf(raw: Record<string, string | undefined>, secrets: Set<string> = SECRETS): string[] {
    try {
        parseConfig(raw, secrets);
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
    return [];
}

/** What parseConfig says of validRawConfig(overrides): its whole message, "" when it accepts them. */
function messageOf(overrides: Record<string, string | undefined>, secrets: Set<string> = SECRETS): string {
    try {
        parseConfig(validRawConfig(overrides), secrets);
        return "";
    } catch (e) {
        return (e as Error).message;
    }
}

describe("unit: config validation", () => {
    it("accepts a minimal valid config and applies the documented defaults", () => {
        const c = parseConfig(validRawConfig(), SECRETS);
        expect(c.sshUser).to.equal("root");
        expect(c.appDir).to.equal("/opt/l9");
        expect(c.bluePort).to.equal(8001);
        expect(c.greenPort).to.equal(8002);
        expect(c.healthPath).to.equal("/health");
        expect(c.healthTimeoutSeconds).to.equal(60);
        expect(c.drainGraceSeconds).to.equal(30);
        expect(c.imagesToKeep).to.equal(3);
        expect(c.standby).to.equal("warm");
        // Unset: bridge for a new stack, the serving mode for a deployed one (resolveNetworkMode).
        expect(c.networkMode).to.equal(undefined);
        expect(c.caddyAdmin).to.equal("127.0.0.1:2019");
        expect(c.driftSchedule).to.equal("17 * * * *");
        expect(c.env).to.deep.equal({ APP_SECRET: "s3cret", DATABASE_URL: "postgres://db" });
    });

    it("the production stack file is valid and sets the production setup: admin API on a unix socket, bridge network", () => {
        const file = yaml.load(fs.readFileSync(path.join(__dirname, "../../Pulumi.production.yaml"), "utf8")) as { config: Record<string, string> };
        const plain = Object.fromEntries(Object.entries(file.config).map(([k, v]) => [k.replace(/^l9-deploy:/, ""), String(v)]));
        // The secrets are set on the operators' machines, never in the file.
        const c = parseConfig({ ...plain, sshPrivateKey: validRawConfig().sshPrivateKey, env: validRawConfig().env }, SECRETS);
        expect(c.caddyAdmin).to.equal("unix//run/caddy/admin.sock");
        expect(c.networkMode).to.equal("bridge");
    });

    it("accepts an appDir of its own under a system directory, and repository URLs whose user is only SSH's", () => {
        for (const appDir of ["/var/lib/l9", "/srv/l9", "/opt/l9-api", "/home/deploy/l9", "/data/l9"]) {
            expect(parseConfig(validRawConfig({ appDir }), SECRETS).appDir).to.equal(appDir);
        }
        for (const repoUrl of [
            "git@example.com:team/l9.git",
            "ssh://git@example.com/team/l9.git",
            "https://example.com/team/l9.git",
            "file:///srv/git/l9.git",
        ]) {
            expect(parseConfig(validRawConfig({ repoUrl }), SECRETS).repoUrl).to.equal(repoUrl);
        }
        // Caddy's admin API over a unix socket, in Caddy's notation; its port never collides.
        expect(parseConfig(validRawConfig({ caddyAdmin: "unix//run/caddy/admin.sock", bluePort: "2019" }), SECRETS).caddyAdmin).to.equal(
            "unix//run/caddy/admin.sock",
        );
        expect(parseConfig(validRawConfig({ networkMode: "host" }), SECRETS).networkMode).to.equal("host");
    });

    const rejected: Array<[string, Record<string, string | undefined>, RegExp]> = [
        ["a tag with a shell command", { releaseTag: "v1.0.0;rm -rf /" }, /l9-deploy:releaseTag .*letters, digits/],
        ["a tag with command substitution", { releaseTag: "$(id)" }, /l9-deploy:releaseTag/],
        ["a tag with a newline", { releaseTag: "v1.0.0-l9\nid" }, /l9-deploy:releaseTag/],
        ["a tag a command would read as an option", { releaseTag: "--upload-pack=id" }, /l9-deploy:releaseTag .*starting with a letter/],
        ["a tag outside the pattern", { releaseTag: "v1.0-l9" }, /l9-deploy:releaseTag does not match the release tag pattern/],
        ["a relative appDir", { appDir: "opt/l9" }, /l9-deploy:appDir must be an absolute path/],
        ["a traversing appDir", { appDir: "/opt/../etc" }, /l9-deploy:appDir must not contain/],
        ["a root-level appDir", { appDir: "/" }, /l9-deploy:appDir must be at least two levels deep/],
        [
            "/var/lib as appDir",
            { appDir: "/var/lib" },
            /l9-deploy:appDir must not be \/var\/lib itself: l9-deploy owns its appDir entirely .*e\.g\. \/var\/lib\/l9/,
        ],
        ["/var/lib/ as appDir (a trailing slash)", { appDir: "/var/lib/" }, /l9-deploy:appDir must not be \/var\/lib itself/],
        ["a home directory root as appDir", { appDir: "/home" }, /l9-deploy:appDir must be at least two levels deep/],
        ["/usr/local as appDir", { appDir: "/usr/local" }, /l9-deploy:appDir must not be \/usr\/local itself/],
        ["an appDir in /etc", { appDir: "/etc/ssh" }, /l9-deploy:appDir must not be under \/etc, which belongs to the system/],
        ["an appDir in /usr", { appDir: "/usr/bin" }, /l9-deploy:appDir must not be under \/usr/],
        ["an appDir in /lib64", { appDir: "/lib64/l9" }, /l9-deploy:appDir must not be under \/lib64/],
        ["an appDir in /run", { appDir: "/run/l9" }, /l9-deploy:appDir must not be under \/run/],
        [
            "a repo URL with a token",
            { repoUrl: "https://x-access-token:ghp_example@example.com/team/l9.git" },
            /l9-deploy:repoUrl must not carry credentials .*deploy key over SSH/,
        ],
        ["a repo URL with a token as user", { repoUrl: "https://ghp_example@example.com/team/l9.git" }, /l9-deploy:repoUrl must not carry credentials/],
        ["an ssh repo URL with a password", { repoUrl: "ssh://git:secret@example.com/team/l9.git" }, /l9-deploy:repoUrl must not carry credentials/],
        ["equal slot ports", { bluePort: "8001", greenPort: "8001" }, /l9-deploy:greenPort must differ from bluePort/],
        ["an out-of-range port", { bluePort: "70000" }, /l9-deploy:bluePort/],
        ["a non-numeric port", { greenPort: "eighty" }, /l9-deploy:greenPort/],
        ["a repo URL with a space", { repoUrl: "https://example.com/a b.git" }, /l9-deploy:repoUrl/],
        [
            "a public Caddy admin address",
            { caddyAdmin: "0.0.0.0:2019" },
            /l9-deploy:caddyAdmin must be a loopback address with port, e.g. 127.0.0.1:2019, or a unix socket/,
        ],
        ["a relative admin socket", { caddyAdmin: "unix/caddy.sock" }, /l9-deploy:caddyAdmin/],
        ["a traversing admin socket", { caddyAdmin: "unix//run/../etc/caddy.sock" }, /l9-deploy:caddyAdmin/],
        ["an admin socket with a quote", { caddyAdmin: "unix//run/caddy/a'b.sock" }, /l9-deploy:caddyAdmin/],
        ["an unknown network mode", { networkMode: "macvlan" }, /l9-deploy:networkMode must be bridge .* or host/],
        ["a malformed host key", { hostKey: "not-a-key" }, /l9-deploy:hostKey/],
        ["an env key in lower case", { env: JSON.stringify({ app_secret: "x" }) }, /l9-deploy:env/],
        ["an env value with a newline", { env: JSON.stringify({ APP_SECRET: "a\nb" }) }, /l9-deploy:env.APP_SECRET .*single line/],
        ["env that is not JSON", { env: "APP_SECRET=x" }, /l9-deploy:env/],
        ["a bad smoke request path", { smokeRequests: JSON.stringify([{ method: "GET", path: "api" }]) }, /l9-deploy:smokeRequests/],
        ["a health path with a command substitution", { healthPath: "/$(touch${IFS}/tmp/x)" }, /l9-deploy:healthPath must be an absolute URL path/],
        ["a health path with a quote", { healthPath: "/health'x" }, /l9-deploy:healthPath/],
        ["a smoke path with a backtick", { smokeRequests: JSON.stringify([{ method: "GET", path: "/`id`" }]) }, /l9-deploy:smokeRequests/],
        ["an unknown key", { relaseTag: "v1.2.3-l9" }, /l9-deploy:relaseTag is not a setting/],
        ["a missing host", { host: undefined }, /l9-deploy:host is required but not set/],
        [
            "a webhook URL with a quote",
            { notify: JSON.stringify([{ format: "json", url: "https://hooks.example.com/x'$(id)" }]) },
            /l9-deploy:notify.0.url must be an http\(s\) URL/,
        ],
        [
            "a telegram target without chatId",
            { notify: JSON.stringify([{ format: "telegram", url: "https://api.telegram.org/bot1:A/sendMessage" }]) },
            /l9-deploy:notify.0.chatId a telegram target needs chatId/,
        ],
        ["an unknown notify format", { notify: JSON.stringify([{ format: "email", url: "https://example.com/" }]) }, /l9-deploy:notify.0.format/],
        ["a misspelt notify field", { notify: JSON.stringify([{ format: "json", url: "https://example.com/", chatid: "1" }]) }, /l9-deploy:notify.0/],
        ["a migrate command that is a string", { migrate: "alembic upgrade head" }, /l9-deploy:migrate/],
        ["a multi-line backup command", { backup: "pg_dump\nrm -rf /" }, /l9-deploy:backup must be a single-line shell command/],
        ["too few backups kept", { backupsToKeep: "0" }, /l9-deploy:backupsToKeep/],
        [
            "a hook bound below 10 s",
            { hookTimeoutSeconds: "5" },
            /l9-deploy:hookTimeoutSeconds must be at least 10 seconds\. Fix: pulumi config set hookTimeoutSeconds 600/,
        ],
        [
            "a hook bound beyond 2 hours",
            { hookTimeoutSeconds: "7201" },
            /l9-deploy:hookTimeoutSeconds must be at most 7200 seconds \(2 hours\)\. Fix: pulumi config set hookTimeoutSeconds/,
        ],
        ["a hook bound in fractions of a second", { hookTimeoutSeconds: "30.5" }, /l9-deploy:hookTimeoutSeconds must be a whole number of seconds/],
        ["a hook bound that is not a number", { hookTimeoutSeconds: "10m" }, /l9-deploy:hookTimeoutSeconds .*Fix: pulumi config set hookTimeoutSeconds/],
        [
            "a maintenance allow path with a quote",
            { maintenance: JSON.stringify({ enabled: true, allowPaths: ["/health'"] }) },
            /l9-deploy:maintenance.allowPaths.0 must be a URL path/,
        ],
        ["a maintenance key typo", { maintenance: JSON.stringify({ enable: true }) }, /l9-deploy:maintenance/],
        ["a negative watch", { watchSeconds: "-5" }, /l9-deploy:watchSeconds/],
        ["a certificate bound beyond a year", { minCertDays: "400" }, /l9-deploy:minCertDays/],
        [
            "hosts together with host",
            {
                hosts: JSON.stringify([
                    { name: "web-1", host: "203.0.113.10", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAoPGInEcbJwN2hI7YAejotVS71LvclAHUXjDM751wdJ" },
                ]),
            },
            /l9-deploy:host is set together with hosts/,
        ],
        [
            "two hosts of one name",
            {
                host: undefined,
                hostKey: undefined,
                hosts: JSON.stringify([
                    { name: "web", host: "203.0.113.10", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAoPGInEcbJwN2hI7YAejotVS71LvclAHUXjDM751wdJ" },
                    { name: "web", host: "203.0.113.11", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAoPGInEcbJwN2hI7YAejotVS71LvclAHUXjDM751wdJ" },
                ]),
            },
            /l9-deploy:hosts must give every host a different name/,
        ],
        [
            "a host name with a space",
            {
                host: undefined,
                hostKey: undefined,
                hosts: JSON.stringify([
                    { name: "web 1", host: "203.0.113.10", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAoPGInEcbJwN2hI7YAejotVS71LvclAHUXjDM751wdJ" },
                ]),
            },
            /l9-deploy:hosts.0.name must be a short name/,
        ],
        [
            "a host without its key",
            { host: undefined, hostKey: undefined, hosts: JSON.stringify([{ name: "web-1", host: "203.0.113.10" }]) },
            /l9-deploy:hosts.0.hostKey/,
        ],
        ["an empty host list", { host: undefined, hostKey: undefined, hosts: "[]" }, /l9-deploy:hosts/],
        ["a rollout batch of 0", { rollout: JSON.stringify({ batchSize: 0 }) }, /l9-deploy:rollout.batchSize .*Fix: pulumi config set rollout/],
        ["a canary of 0 %", { canary: JSON.stringify({ percent: 0 }) }, /l9-deploy:canary.percent .*Fix: pulumi config set canary/],
        ["a canary of all requests", { canary: JSON.stringify({ percent: 100 }) }, /l9-deploy:canary.percent/],
        ["more canary steps than percent", { canary: JSON.stringify({ percent: 3, steps: 5 }) }, /l9-deploy:canary.steps must not exceed percent/],
        [
            "a canary error rate with three decimals",
            { canary: JSON.stringify({ percent: 20, maxErrorRate: 2.125 }) },
            /l9-deploy:canary.maxErrorRate must be a percentage with at most two decimals/,
        ],
        ["a canary key typo", { canary: JSON.stringify({ percent: 20, stepsSeconds: 30 }) }, /l9-deploy:canary/],
        ["a canary step held for a second", { canary: JSON.stringify({ percent: 20, stepSeconds: 1 }) }, /l9-deploy:canary.stepSeconds/],
    ];
    for (const [what, overrides, message] of rejected) {
        it(`rejects ${what}, naming the field and a fix`, () => {
            const problems = problemsOf(validRawConfig(overrides));
            expect(problems.join("\n")).to.match(message);
            expect(problems.some((p) => p.startsWith("l9-deploy:"))).to.equal(true);
        });
    }

    it("caddyfile: the API's site in the operator's Caddyfile needs its name, and no canary yet; caddyfileReplaces only with it", () => {
        const c = parseConfig(
            validRawConfig({ caddyfile: "/etc/caddy/Caddyfile", caddyHosts: '["api.example.com"]', caddyfileReplaces: "127.0.0.1:8000" }),
            SECRETS,
        );
        expect(c).to.include({ caddyfile: "/etc/caddy/Caddyfile", caddyfileReplaces: "127.0.0.1:8000" });
        expect(problemsOf(validRawConfig({ caddyfile: "/etc/caddy/Caddyfile" }))).to.deep.equal([
            'l9-deploy:caddyHosts is empty: caddyfile needs the API\'s site name, e.g. ["api.example.com"]',
        ]);
        const canary = JSON.stringify({ percent: 20, steps: 2, stepSeconds: 60, maxErrorRate: 10 });
        expect(problemsOf(validRawConfig({ caddyfile: "/etc/caddy/Caddyfile", caddyHosts: '["api.example.com"]', canary })).join("\n")).to.contain(
            "l9-deploy:canary is not available with caddyfile yet",
        );
        expect(problemsOf(validRawConfig({ caddyfileReplaces: "127.0.0.1:8000" })).join("\n")).to.contain(
            "l9-deploy:caddyfileReplaces is set without caddyfile",
        );
        expect(problemsOf(validRawConfig({ caddyfile: "etc/caddy/Caddyfile", caddyHosts: '["api.example.com"]' })).join("\n")).to.contain(
            "l9-deploy:caddyfile must be an absolute path",
        );
        expect(problemsOf(validRawConfig({ caddyfile: "/etc/caddy/../Caddyfile", caddyHosts: '["api.example.com"]' })).join("\n")).to.contain(
            "l9-deploy:caddyfile must not contain",
        );
    });

    it("adopt: the old deploy's containers and cron files in /etc/cron.d, never the service's own slots", () => {
        const adopt = JSON.stringify({ containers: ["l9-api-blue"], cronFiles: ["/etc/cron.d/l9-health-checks"] });
        expect(parseConfig(validRawConfig({ adopt }), SECRETS).adopt).to.deep.equal({
            containers: ["l9-api-blue"],
            cronFiles: ["/etc/cron.d/l9-health-checks"],
            handBackOnDestroy: false,
        });
        expect(parseConfig(validRawConfig({ adopt: "{}" }), SECRETS).adopt).to.deep.equal({ containers: [], cronFiles: [], handBackOnDestroy: false });
        expect(parseConfig(validRawConfig({ adopt: '{"handBackOnDestroy":true}' }), SECRETS).adopt?.handBackOnDestroy).to.equal(true);
        expect(parseConfig(validRawConfig({ adopt: '{"healthPath":"/up"}' }), SECRETS).adopt?.healthPath).to.equal("/up");
        // The hand-back puts back the line caddyfileReplaces names: without it there is none to put back.
        const caddyfile = { caddyfile: "/etc/caddy/Caddyfile", caddyHosts: '["api.example.com"]', adopt: '{"handBackOnDestroy":true}' };
        expect(problemsOf(validRawConfig(caddyfile)).join("\n")).to.contain("l9-deploy:adopt sets handBackOnDestroy without caddyfileReplaces");
        expect(problemsOf(validRawConfig({ ...caddyfile, caddyfileReplaces: "127.0.0.1:8000" }))).to.deep.equal([]);
        for (const [bad, says] of [
            [{ healthPath: "health" }, "must be an absolute URL path"],
            [{ containers: ["l9-blue"] }, "names l9-blue, one of l9-deploy's own slots"],
            [{ containers: ["a b"] }, "must be container names"],
            [{ cronFiles: ["/etc/crontab"] }, "must be files in /etc/cron.d"],
            [{ cronFiles: ["/etc/cron.d/x.disabled"] }, "must be files in /etc/cron.d"],
            [{ volumes: [] }, "adopt"],
        ] as const) {
            expect(problemsOf(validRawConfig({ adopt: JSON.stringify(bad) })).join("\n")).to.contain(says);
        }
    });

    it("runbook settings: off by default, parsed when set", () => {
        const d = parseConfig(validRawConfig(), SECRETS);
        expect(d.notify).to.deep.equal([]);
        expect(d.backup).to.equal(undefined);
        expect(d.migrate).to.equal(undefined);
        expect(d.backupsToKeep).to.equal(7);
        expect(d.backupRequired).to.equal(false);
        expect(d.hookTimeoutSeconds).to.equal(600);
        expect(d.maintenance).to.deep.include({ enabled: false });
        expect(d.watchSeconds).to.equal(0);
        expect(d.minCertDays).to.equal(14);
        const c = parseConfig(
            validRawConfig({
                notify: JSON.stringify([
                    { url: "https://hooks.example.com/a" },
                    { format: "telegram", url: "https://api.telegram.org/bot1:A/sendMessage", chatId: "-100" },
                ]),
                migrate: JSON.stringify(["alembic", "upgrade", "head"]),
                backupRequired: "true",
                hookTimeoutSeconds: "10",
                maintenance: JSON.stringify({ enabled: "true", message: "back soon", allowPaths: ["/health", "/status/*"] }),
            }),
            new Set([...SECRETS, "notify"]),
        );
        expect(c.notify).to.deep.equal([
            { format: "json", url: "https://hooks.example.com/a" },
            { format: "telegram", url: "https://api.telegram.org/bot1:A/sendMessage", chatId: "-100" },
        ]);
        expect(c.migrate).to.deep.equal(["alembic", "upgrade", "head"]);
        expect(c.backupRequired).to.equal(true);
        expect(c.hookTimeoutSeconds).to.equal(10);
        expect(parseConfig(validRawConfig({ hookTimeoutSeconds: "7200" }), SECRETS).hookTimeoutSeconds).to.equal(7200);
        expect(c.maintenance).to.deep.equal({ enabled: true, message: "back soon", allowPaths: ["/health", "/status/*"] });
    });

    it("backupSchedule: off by default; a cron schedule, only with backup", () => {
        expect(parseConfig(validRawConfig(), SECRETS).backupSchedule).to.equal(undefined);
        const c = parseConfig(validRawConfig({ backup: 'pg_dump -Fc "$DATABASE_URL"', backupSchedule: "30 2 * * *" }), SECRETS);
        expect(c.backupSchedule).to.equal("30 2 * * *");
        expect(problemsOf(validRawConfig({ backupSchedule: "30 2 * * *" })).join("\n")).to.contain(
            "l9-deploy:backupSchedule is set without backup: there is no backup command to schedule",
        );
        const bad = problemsOf(validRawConfig({ backup: "true", backupSchedule: "30 2 * * * root id" })).join("\n");
        expect(bad).to.contain("l9-deploy:backupSchedule must be a 5-field cron schedule");
    });

    it("backupCopyTo: a target with its pinned key and a secret key of its own, only with backupSchedule; each mistake named", () => {
        const targetKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAoPGInEcbJwN2hI7YAejotVS71LvclAHUXjDM751wdJ";
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        const scheduled = { backup: "true", backupSchedule: "30 2 * * *" };
        const target = { host: "203.0.113.20", user: "l9-backup", dir: "/srv/backups/l9/", hostKey: targetKey };
        const withKey = SECRETS;
        const c = parseConfig(validRawConfig({ ...scheduled, backupCopyTo: JSON.stringify(target), backupCopyKey: key }), withKey);
        expect(c.backupCopyTo).to.deep.equal({ host: "203.0.113.20", sshPort: 22, user: "l9-backup", dir: "/srv/backups/l9", hostKey: targetKey });
        expect(c.backupCopyKey).to.equal(key);
        const problems = (raw: Record<string, string | undefined>, secrets = withKey) => messageOf(raw, secrets);
        const plainKey = new Set([...SECRETS].filter((k) => k !== "backupCopyKey"));
        expect(problems({ ...scheduled, backupCopyTo: JSON.stringify(target), backupCopyKey: key }, plainKey)).to.contain(
            "l9-deploy:backupCopyKey is stored in plain text",
        );
        expect(problems({ ...scheduled, backupCopyTo: JSON.stringify(target) })).to.contain("l9-deploy:backupCopyKey is required with backupCopyTo");
        expect(problems({ ...scheduled, backupCopyKey: key })).to.contain("l9-deploy:backupCopyKey is set without backupCopyTo");
        expect(problems({ backup: "true", backupCopyTo: JSON.stringify(target), backupCopyKey: key })).to.contain(
            "l9-deploy:backupCopyTo is set without backupSchedule: the scheduled backup job is what copies backups off the host",
        );
        for (const [bad, says] of [
            [{ ...target, dir: "/srv/../etc" }, "must not contain '.' or '..' segments"],
            [{ ...target, dir: "/srv" }, "must be a directory of this service's own"],
            [{ ...target, dir: "/srv/b'; rm -rf /" }, "must be an absolute path"],
            [{ ...target, host: "example.com; id" }, "must be a host name or an IP address"],
            [{ ...target, hostKey: "AAAA" }, "must be the target's public key"],
            [{ ...target, user: "Root$" }, "must be a Unix user name"],
            [{ ...target, pasword: "x" }, "pasword"],
        ] as const) {
            expect(problems({ ...scheduled, backupCopyTo: JSON.stringify(bad), backupCopyKey: key }), JSON.stringify(bad)).to.contain(says);
        }
    });

    it("restoreDrill: daily, SELECT 1 and DATABASE_URL by default; only with backup and a databaseUrlKey the env sets", () => {
        const c = parseConfig(validRawConfig({ backup: "pg_dump -Fc x", restoreDrill: "{}" }), SECRETS);
        expect(c.restoreDrill).to.deep.equal({ schedule: "45 3 * * *", check: "SELECT 1", databaseUrlKey: "DATABASE_URL" });
        expect(messageOf({ restoreDrill: "{}" })).to.contain("l9-deploy:restoreDrill is set without backup: there is no backup to restore");
        expect(messageOf({ backup: "x", restoreDrill: JSON.stringify({ databaseUrlKey: "PG_URL" }) })).to.contain(
            "l9-deploy:restoreDrill names databaseUrlKey PG_URL: env does not set PG_URL",
        );
        // A driver's URL would be quoted whole, password included, in libpq's error.
        const driverUrl = JSON.stringify({ APP_SECRET: "s3cret", DATABASE_URL: "postgresql+psycopg2://app:pw@db/app" });
        expect(messageOf({ backup: "x", restoreDrill: "{}", env: driverUrl })).to.contain(
            "env sets DATABASE_URL to a URL psql cannot use: it must start with postgres:// or postgresql://",
        );
        expect(messageOf({ backup: "x", restoreDrill: JSON.stringify({ check: "SELECT 1\nDROP TABLE users" }) })).to.contain("must be a single-line SQL query");
        expect(messageOf({ backup: "x", restoreDrill: JSON.stringify({ schedule: "* * * * * root id" }) })).to.contain("must be a 5-field cron schedule");
        expect(messageOf({ backup: "x", restoreDrill: JSON.stringify({ databaseUrlKey: "url; id" }) })).to.contain(
            "must be the env key of the app's database URL",
        );
    });

    it("schemaRevisionCommand, rollbackCheck, allowSchemaRollback: argument lists; the check and the override only with a revision command", () => {
        const plain = parseConfig(validRawConfig(), SECRETS);
        expect([plain.schemaRevisionCommand, plain.rollbackCheck, plain.allowSchemaRollback]).to.deep.equal([undefined, undefined, false]);
        const c = parseConfig(
            validRawConfig({
                schemaRevisionCommand: JSON.stringify(["alembic", "current"]),
                rollbackCheck: JSON.stringify(["app", "check"]),
                allowSchemaRollback: "true",
            }),
            SECRETS,
        );
        expect([c.schemaRevisionCommand, c.rollbackCheck, c.allowSchemaRollback]).to.deep.equal([["alembic", "current"], ["app", "check"], true]);
        expect(messageOf({ rollbackCheck: JSON.stringify(["app", "check"]) })).to.contain(
            "l9-deploy:rollbackCheck is set without schemaRevisionCommand: with no revision recorded, no switch-back is checked",
        );
        expect(messageOf({ allowSchemaRollback: "true" })).to.contain(
            "l9-deploy:allowSchemaRollback is set without schemaRevisionCommand: there is no schema check to allow past",
        );
        expect(messageOf({ schemaRevisionCommand: "alembic current" })).to.contain("l9-deploy:schemaRevisionCommand");
        expect(messageOf({ schemaRevisionCommand: "[]" })).to.contain("l9-deploy:schemaRevisionCommand");
        expect(messageOf({ schemaRevisionCommand: JSON.stringify(["a\nb"]) })).to.contain("l9-deploy:schemaRevisionCommand");
    });

    it('hosts: the single-host keys are one host named ""; a list keeps its order; rollout one at a time by default', () => {
        const single = parseConfig(validRawConfig(), SECRETS);
        expect(hostTargets(single)).to.deep.equal([{ name: "", host: single.host, sshPort: 22, hostKey: single.hostKey }]);
        expect(single.rollout).to.deep.equal({ batchSize: 1, pauseSeconds: 0 });
        const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAoPGInEcbJwN2hI7YAejotVS71LvclAHUXjDM751wdJ";
        const many = parseConfig(
            validRawConfig({
                host: undefined,
                hostKey: undefined,
                hosts: JSON.stringify([
                    { name: "web-2", host: "203.0.113.11", sshPort: 2222, hostKey: key },
                    { name: "web-1", host: "203.0.113.10", hostKey: key },
                ]),
            }),
            SECRETS,
        );
        expect(hostTargets(many)).to.deep.equal([
            { name: "web-2", host: "203.0.113.11", sshPort: 2222, hostKey: key },
            { name: "web-1", host: "203.0.113.10", sshPort: 22, hostKey: key },
        ]);
        expect(problemsOf(validRawConfig({ host: undefined, hostKey: undefined })).join("\n")).to.match(
            /l9-deploy:host is required but not set \(or set hosts/,
        );
    });

    it("canary: none by default; when set, its documented defaults", () => {
        expect(parseConfig(validRawConfig(), SECRETS).canary).to.equal(undefined);
        const c = parseConfig(validRawConfig({ canary: JSON.stringify({ percent: 20 }) }), SECRETS);
        expect(c.canary).to.deep.equal({ percent: 20, steps: 1, stepSeconds: 60, maxErrorRate: 10, minRequests: 20, sticky: false });
        const d = parseConfig(
            validRawConfig({ canary: JSON.stringify({ percent: 30, steps: 3, stepSeconds: 120, maxErrorRate: 2.5, sticky: true }) }),
            SECRETS,
        );
        expect(d.canary).to.deep.include({ steps: 3, maxErrorRate: 2.5, sticky: true });
    });

    it("requires the notification targets to be a secret (their URLs carry tokens)", () => {
        const problems = problemsOf(validRawConfig({ notify: JSON.stringify([{ url: "https://hooks.example.com/a" }]) }), new Set(["sshPrivateKey", "env"]));
        expect(problems.join("\n")).to.match(/l9-deploy:notify is stored in plain text\. Fix: pulumi config set --secret notify/);
    });

    it("requires secrets to be stored as secrets", () => {
        const problems = problemsOf(validRawConfig(), new Set(["env"]));
        expect(problems.join("\n")).to.match(/l9-deploy:sshPrivateKey is stored in plain text\. Fix: pulumi config set --secret sshPrivateKey/);
    });

    it("reports every problem at once, and a message that says nothing changed", () => {
        try {
            parseConfig(validRawConfig({ releaseTag: "x;y", appDir: "rel" }), SECRETS);
            expect.fail("should have thrown");
        } catch (e) {
            expect(e).to.be.instanceOf(ConfigError);
            expect((e as ConfigError).problems.length).to.be.greaterThanOrEqual(2);
            expect((e as Error).message).to.contain("nothing was changed on the host");
        }
    });

    describe("every injection canary in every field that reaches the host is refused, naming the field", () => {
        for (const [field, change] of INJECTION_FIELDS) {
            it(field, () => {
                for (const payload of injectionPayloads("/tmp/l9-canary-unit")) {
                    const problems = problemsOf(validRawConfig(change(payload)));
                    expect(problems.join("\n"), JSON.stringify(payload)).to.match(new RegExp(`l9-deploy:${field}\\b`));
                }
            });
        }
    });
});
