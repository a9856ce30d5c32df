import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { createL9Stack, L9TestStack, resourceSteps } from "../support/l9-stack";
import { LoadReport, watchTraffic } from "../support/load-loop";
import { cleanSandboxService, httpGet, onHost, sandboxFacts, sandboxHosts, sh } from "../support/sandbox";
import { BACKUP_COPY_METRICS, BACKUP_METRICS } from "../../host-scripts/backup-job";
import { DEPLOY_METRICS } from "../../host-scripts/deploy-metrics";
import { DRIFT_CHECKS } from "../../host-scripts/drift-check";
import { RESTORE_DRILL_METRICS } from "../../host-scripts/restore-drill";
import { startPrometheus } from "../support/prometheus";
import { REPO_ROOT } from "../support/toolchain";
import { WebhookReceiver } from "../support/webhook-receiver";

/**
 * The runbooks around a release, against the sandbox VPS: backups and their rotation,
 * migrations (and a failing one), notifications in both formats with a failing and a dead
 * target, maintenance mode under load and across a Caddy restart, the post-switch watch
 * switching a late-breaking release back, and the certificate preflight.
 */
describe("e2e: runbooks (hooks, notifications, maintenance, watch, certificates)", function () {
    this.timeout(30 * 60 * 1000);
    let s: L9TestStack;
    const receiver = new WebhookReceiver();

    const version = () => {
        const r = httpGet(`${s.siteUrl}/version`);
        return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `status ${r.status}`;
    };
    const containerId = (color: string) => sh(`docker inspect -f '{{.Id}}' '${s.serviceName}-${color}' 2>/dev/null || true`).trim();
    const backups = () => sh(`ls -1 '${s.appDir}/backups' 2>/dev/null || true`).trim().split("\n").filter(Boolean);
    /** A deploy gauge's sample from the metrics the release steps wrote: "<tag> <value>". */
    const deployGauge = (file: "l9_deploy" | "l9_deploy_run", name: string) => {
        const text = sh(`cat '/var/lib/l9-sandbox/metrics-runbooks/${file}_${s.serviceName}.prom' 2>/dev/null || true`);
        const m = new RegExp(`^${name}\\{service="${s.serviceName}",tag="([^"]+)"\\} (\\d+)$`, "m").exec(text);
        return m ? `${m[1]} ${name.endsWith("_success") ? m[2] : "time"}` : `no ${name} in: ${text}`;
    };
    /** A runbook command of tools/ (npm run backup:drill, backup:restore) on this stack. */
    const runTool = (tool: string, ...args: string[]) => {
        const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts/node.sh"), `tools/${tool}.ts`, ...args, "--stack", "e2e-runbooks"], {
            cwd: REPO_ROOT,
            encoding: "utf8",
            env: { ...process.env, ...s.envVars },
        });
        return { code: r.status, out: `${r.stdout}${r.stderr}` };
    };
    /** What 2b leaves for 2d to undo once it has scraped the copy's gauges. */
    const afterCopies: (() => void)[] = [];
    const warnings = (r: Awaited<ReturnType<L9TestStack["up"]>>) =>
        r.events.filter((e) => e.diagnosticEvent?.severity === "warning").map((e) => e.diagnosticEvent!.message);
    const expectNoFailures = (report: LoadReport, what: string) => {
        expect(report.total, `the load loop ran (${what})`).to.be.greaterThan(50);
        expect(report.failed, `failed requests (${what}): ${JSON.stringify(report.failed.slice(0, 5))}`).to.have.length(0);
        console.log(`      load (${what}): ${report.total} requests, ${report.failed.length} failed`);
    };

    before(async () => {
        const port = await receiver.start();
        s = await createL9Stack("runbooks", 18600);
        cleanSandboxService(s.serviceName, s.appDir, sandboxFacts().caddyAdmin);
        // The app's database: the sandbox VPS's PostgreSQL (2c dumps, drills and restores it).
        const env = JSON.parse((await s.stack.getConfig("l9-deploy:env")).value) as Record<string, string>;
        await s.set({ env: JSON.stringify({ ...env, DATABASE_URL: sandboxFacts().databaseUrl }) }, true);
        await s.set({
            backup: `printf 'dump of %s at %s\\n' "$DATABASE_URL" "$(date -u +%s)"`,
            backupsToKeep: "2",
            migrate: JSON.stringify(["migrate"]),
        });
        await s.set(
            {
                notify: JSON.stringify([
                    { format: "json", url: `http://127.0.0.1:${port}/hook` },
                    { format: "telegram", url: `http://127.0.0.1:${port}/bot123:TOKEN/sendMessage`, chatId: "-1001234" },
                    { format: "json", url: `http://127.0.0.1:${port}/fail` },
                    // Nothing listens on port 9 of loopback: a dead target.
                    { format: "json", url: "http://127.0.0.1:9/dead" },
                ]),
            },
            true,
        );
    });

    after(async () => {
        for (const undo of afterCopies.splice(0)) undo();
        if (s) s.destroy();
        receiver.stop();
    });

    it("1. first deploy: backup stored, migration run with the release env, success sent in both formats; a 500 and a dead target only warn", async () => {
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
        expect(version()).to.equal("v0.1.0-l9");
        expect(r.stdout).to.contain("migrate: schema upgraded to v0.1.0-l9");
        expect(backups()).to.have.length(1);
        expect(backups()[0]).to.match(/^\d{8}T\d{6}Z-v0\.1\.0-l9$/);
        expect(sh(`cat '${s.appDir}/backups/${backups()[0]}'`)).to.contain(`dump of ${sandboxFacts().databaseUrl}`);
        expect(sh(`stat -c %a '${s.appDir}/backups' '${s.appDir}/shared/notify-targets'`).trim().split("\n")).to.deep.equal(["700", "600"]);
        expect(deployGauge("l9_deploy_run", "l9_deploy_last_run_success")).to.equal("v0.1.0-l9 1");
        expect(deployGauge("l9_deploy", "l9_deploy_last_success_timestamp_seconds")).to.equal("v0.1.0-l9 time");

        const json = receiver.events("success").find((m) => m.path === "/hook")!;
        expect(json, JSON.stringify(receiver.received)).to.not.equal(undefined);
        expect(json.body).to.include({ event: "success", service: s.serviceName, tag: "v0.1.0-l9", previousTag: null });
        expect(json.body.stack).to.match(/e2e-runbooks$/);
        expect(json.body.commit).to.match(/^[0-9a-f]{40}$/);
        expect(json.body.durationSeconds).to.be.a("number");
        expect(json.body.actor).to.be.a("string").and.not.equal("");
        expect(String(json.body.text)).to.contain("v0.1.0-l9: success");
        const telegram = receiver.events("success").find((m) => m.path.endsWith("/sendMessage"))!;
        expect(telegram.body).to.have.keys(["chat_id", "text"]);
        expect(telegram.body.chat_id).to.equal("-1001234");
        expect(String(telegram.body.text)).to.contain("v0.1.0-l9: success");
        expect(receiver.received.filter((m) => m.path === "/fail")).to.have.length(1);

        const warned = warnings(r).join("\n");
        expect(warned).to.match(/notification success to target 3 \(json\) was not delivered \(HTTP 500\)/);
        expect(warned).to.match(/notification success to target 4 \(json\) was not delivered \(HTTP 000\)/);
        // The URLs carry tokens: they are in no message and no output.
        expect(r.stdout).to.not.contain("TOKEN");
        expect(warned).to.not.contain("TOKEN");
    });

    it("2. release, then rollback: backups rotate to the newest two, the rollback runs no migration and is sent as a rollback", async () => {
        await s.set({ releaseTag: "v0.2.0-l9" });
        const release = await s.up();
        expect(release.ok, release.error).to.equal(true);
        expect(release.stdout).to.contain("migrate: schema upgraded to v0.2.0-l9");
        expect(version()).to.equal("v0.2.0-l9");
        const success = receiver
            .events("success")
            .filter((m) => m.path === "/hook")
            .pop()!;
        expect(success.body).to.include({ tag: "v0.2.0-l9", previousTag: "v0.1.0-l9" });

        await s.set({ releaseTag: "v0.1.0-l9" });
        const rollback = await s.up();
        expect(rollback.ok, rollback.error).to.equal(true);
        expect(version()).to.equal("v0.1.0-l9");
        expect(rollback.stdout).to.contain("migrate: skipped");
        expect(rollback.stdout).to.not.contain("schema upgraded");
        const files = backups();
        expect(files, files.join(", ")).to.have.length(2);
        expect(files[0]).to.match(/-v0\.2\.0-l9$/);
        expect(files[1]).to.match(/-v0\.1\.0-l9$/);
        const back = receiver
            .events("rollback")
            .filter((m) => m.path === "/hook")
            .pop()!;
        expect(back, JSON.stringify(receiver.messages().map((m) => m.body.event))).to.not.equal(undefined);
        expect(back.body).to.include({ tag: "v0.1.0-l9", previousTag: "v0.2.0-l9" });
    });

    const SCHEDULED_BACKUPS =
        "2b. scheduled backups: backupSchedule installs the job; run as cron runs it, it stores and rotates a backup, copies every backup " +
        "to the isolated host h2 (backupCopyTo), and writes its metrics; a copy the target refuses fails the run and is retried by the next; " +
        "a removed cron file comes back";
    it(SCHEDULED_BACKUPS, async () => {
        const cronPath = `/etc/cron.d/${s.serviceName}-backup`;
        const metrics = `/var/lib/l9-sandbox/metrics-runbooks/l9_backup_${s.serviceName}.prom`;
        // The copy's target: the isolated sandbox host h2, with a key of the copy's own among root's authorized keys there
        // (its sshd's AuthorizedKeysFile, which scripts/sandbox/hosts.sh writes from this machine).
        const h2 = sandboxHosts().find((h) => h.name === "h2")!;
        const keyDir = fs.mkdtempSync("/tmp/l9-e2e-copy-key-");
        sh(`ssh-keygen -q -t ed25519 -N '' -C l9-e2e-backup-copy -f '${keyDir}/key'`);
        const publicKey = fs.readFileSync(`${keyDir}/key.pub`, "utf8").trim();
        const targetDir = `/srv/l9-backup-copies/${s.serviceName}`;
        const authorizedKeys = "/var/lib/l9-sandbox/hosts/h2/ssh/authorized_keys";
        const authorize = () => fs.appendFileSync(authorizedKeys, `${publicKey}\n`);
        const unauthorize = () => sh(`sed -i '/l9-e2e-backup-copy$/d' '${authorizedKeys}'`);
        const onTarget = () => onHost("h2", `cd '${targetDir}' 2>/dev/null && sha256sum * | sort -k2 || true`);
        const onVps = () => sh(`cd '${s.appDir}/backups' && sha256sum * | sort -k2`);
        const gauge = (name: string) => new RegExp(`^${name}\\{service="[^"]+"\\} (\\S+)$`, "m").exec(fs.readFileSync(metrics, "utf8"))?.[1];
        onHost("h2", `rm -rf '${targetDir}'`);
        authorize();
        await s.set({
            backupSchedule: "30 2 * * *",
            backupCopyTo: JSON.stringify({ host: h2.host, sshPort: h2.sshPort, hostKey: h2.hostKey, dir: targetDir }),
        });
        await s.set({ backupCopyKey: fs.readFileSync(`${keyDir}/key`, "utf8") }, true);
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
        const changed = resourceSteps(r.events).filter((x) => !/^(same|read|refresh) /.test(x));
        expect(
            changed.filter((x) => /traffic-|container|checkout-/.test(x)),
            changed.join(", "),
        ).to.deep.equal([]);
        expect(fs.readFileSync(cronPath, "utf8")).to.match(
            new RegExp(`^30 2 \\* \\* \\* ${sandboxFacts().sshUser} '${s.appDir}/bin/backup' >>'${s.appDir}/logs/backup.log' 2>&1$`, "m"),
        );
        // What cron runs, as cron runs it: three runs (a second apart: a backup's name has the
        // second) with backupsToKeep 2. Each kind keeps its own: the release's two stay.
        const releases = backups();
        const runJob = () => sh(`sleep 1; sh -c "'${s.appDir}/bin/backup' >>'${s.appDir}/logs/backup.log' 2>&1"`);
        runJob();
        const first = backups().filter((f) => f.endsWith("-scheduled"));
        runJob();
        runJob();
        const files = backups();
        expect(files, files.join(", ")).to.have.length(4);
        expect(files).to.not.include(first[0]);
        expect(sh(`cat '${s.appDir}/logs/backup.log'`)).to.contain(`backup: removed ${first[0]}`);
        expect(releases).to.have.length(2);
        expect(files.slice(0, 2)).to.deep.equal(releases);
        expect(files[3]).to.match(/^\d{8}T\d{6}Z-scheduled$/);
        expect(sh(`cat '${s.appDir}/backups/${files[3]}'`)).to.contain(`dump of ${sandboxFacts().databaseUrl}`);
        expect(sh(`cat '${s.appDir}/logs/backup.log'`)).to.match(/l9-backup service=\S+ backup: .*-scheduled \(\d+ bytes\)/);
        const text = fs.readFileSync(metrics, "utf8");
        expect(text).to.match(/^l9_backup_last_run_success\{service="[^"]+"\} 1$/m);
        expect(text).to.match(/^l9_backup_size_bytes\{service="[^"]+"\} [1-9]\d*$/m);
        expect(sh(`promtool check metrics <'${metrics}' && echo lint-ok`)).to.contain("lint-ok");
        // Off the host: h2 holds what the VPS holds, byte for byte (the rotated-away backup went from both).
        expect(onTarget()).to.equal(onVps());
        expect([gauge("l9_backup_copy_last_run_success"), gauge("l9_backup_copy_pending")]).to.deep.equal(["1", "0"]);
        expect(Number(gauge("l9_backup_copy_last_success_timestamp_seconds"))).to.be.closeTo(Date.now() / 1000, 300);
        expect(sh(`cat '${s.appDir}/logs/backup.log'`)).to.contain(`copy: ${files[3]} to root@${h2.host}:${h2.sshPort}:${targetDir}`);
        expect(fs.statSync(`${s.appDir}/shared/backup-copy-key`).mode & 0o777).to.equal(0o600);

        // The target refuses the key: the run fails naming the backup and the target, the gauges say so, the backup is kept.
        unauthorize();
        const refused = sh(`sleep 1; '${s.appDir}/bin/backup' 2>&1; echo "exit $?"`).trim();
        const newest = backups()[backups().length - 1];
        expect(refused).to.contain(`copy of ${newest} to root@${h2.host}:${h2.sshPort}:${targetDir} failed (exit 255)`);
        expect(refused)
            .to.match(/Permission denied/)
            .and.match(/exit 1$/);
        expect([gauge("l9_backup_last_run_success"), gauge("l9_backup_copy_last_run_success"), gauge("l9_backup_copy_pending")]).to.deep.equal(["1", "0", "1"]);
        expect(onTarget()).to.not.contain(newest);
        // Access back: the next run copies what the failed one left, and its own.
        authorize();
        const retried = sh(`sleep 1; '${s.appDir}/bin/backup' 2>&1; echo "exit $?"`).trim();
        expect(retried)
            .to.contain(`copy: ${newest} to`)
            .and.match(/exit 0$/);
        expect(onTarget()).to.equal(onVps());
        expect([gauge("l9_backup_copy_last_run_success"), gauge("l9_backup_copy_pending")]).to.deep.equal(["1", "0"]);
        const filesNow = backups();

        fs.rmSync(cronPath);
        const healed = await s.up();
        expect(healed.ok, healed.error).to.equal(true);
        expect(fs.existsSync(cronPath), "the removed cron file is back").to.equal(true);

        // 2d scrapes the gauges, then unsets the job; the copy's target is put back as it was after that.
        afterCopies.push(() => {
            unauthorize();
            onHost("h2", `rm -rf '${targetDir}'`);
            fs.rmSync(keyDir, { recursive: true, force: true });
        });
        expect(backups().length).to.equal(filesNow.length);
    });

    const RESTORE_DRILL =
        "2c. restore drill and restore: with a real pg_dump of the sandbox's PostgreSQL, npm run backup:drill restores the newest backup into " +
        "a scratch database, the check passes on the backup's data (not the live data), the scratch database is dropped; a truncated or empty " +
        "newest backup fails the drill naming the file and the gauges say so; npm run backup:restore of a backup that fails midway " +
        "changes nothing (one transaction) and leaves the API in maintenance until --end-maintenance; of the good one, the rows written " +
        "after it are gone and a safety backup holds them";
    it(RESTORE_DRILL, async () => {
        const db = sandboxFacts().databaseUrl;
        const table = `e2e_drill_${s.serviceName.replace(/-/g, "_")}`;
        const psql = (sql: string) =>
            execFileSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA", db, "-c", sql], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
        const metrics = `/var/lib/l9-sandbox/metrics-runbooks/l9_backup_drill_${s.serviceName}.prom`;
        const gauge = (name: string) => new RegExp(`^${name}\\{service="[^"]+"\\} (\\S+)$`, "m").exec(fs.readFileSync(metrics, "utf8"))?.[1];
        const drillNow = () => runTool("backup-drill");
        const restoreNow = (...args: string[]) => runTool("backup-restore", ...args);
        const rows = () => psql(`SELECT string_agg(id::text, ',' ORDER BY id) FROM ${table}`);
        psql(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id int PRIMARY KEY, name text); INSERT INTO ${table} VALUES (1, 'a'), (2, 'b')`);
        // A real dump as the backup (no release: the tag and the env stay), and the drill.
        await s.set({ backup: 'pg_dump -Fc "$DATABASE_URL"', restoreDrill: JSON.stringify({ check: `SELECT count(*) = 2 FROM ${table}` }) });
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
        const changed = resourceSteps(r.events).filter((x) => !/^(same|read|refresh) /.test(x));
        expect(
            changed.filter((x) => /container|checkout-/.test(x)),
            changed.join(", "),
        ).to.deep.equal([]);
        expect(fs.readFileSync(`/etc/cron.d/${s.serviceName}-backup-drill`, "utf8")).to.contain(
            `45 3 * * * ${sandboxFacts().sshUser} '${s.appDir}/bin/backup-drill'`,
        );
        // A backup now, as cron takes it (2b's job).
        sh(`sleep 1; '${s.appDir}/bin/backup' >/dev/null 2>&1`);
        const newest = backups()[backups().length - 1];
        expect(newest).to.match(/-scheduled$/);
        expect(sh(`head -c 5 '${s.appDir}/backups/${newest}'`), "pg_dump's custom format").to.equal("PGDMP");
        // Data written after the backup: the drill checks the backup's rows, not the live ones.
        psql(`INSERT INTO ${table} VALUES (3, 'after the backup')`);
        const passed = drillNow();
        expect(passed.code, passed.out).to.equal(0);
        expect(passed.out).to.contain(`drill passed: ${s.appDir}/backups/${newest} restored (pg_restore, then psql) and restoreCheck returned t`);
        expect([gauge("l9_backup_drill_last_run_success")]).to.deep.equal(["1"]);
        const verified = Number(gauge("l9_backup_last_verified_timestamp_seconds"));
        expect(verified).to.be.closeTo(Date.now() / 1000, 300);
        expect(psql(`SELECT count(*) FROM pg_database WHERE datname LIKE 'l9_drill_%'`), "the scratch database is dropped").to.equal("0");
        expect(sh(`cat '${s.appDir}/logs/backup-drill.log'`)).to.contain("drill passed");

        // A truncated newest backup (cut as a full disk or a killed copy cuts it), then an empty one: as cron runs the drill.
        const truncated = `${s.appDir}/backups/29991231T000000Z-scheduled`;
        sh(`head -c 300 '${s.appDir}/backups/${newest}' >'${truncated}'`);
        const cut = sh(`sleep 1; '${s.appDir}/bin/backup-drill' 2>&1; echo "exit $?"`).trim();
        expect(cut)
            .to.contain(`drill failed: ${truncated} does not restore (pg_restore, then psql, exit 1):`)
            .and.match(/exit 1$/);
        expect(cut).to.match(/\| pg_restore: error: /);
        expect([gauge("l9_backup_drill_last_run_success"), gauge("l9_backup_last_verified_timestamp_seconds")]).to.deep.equal(["0", String(verified)]);

        // Restoring the truncated backup: the safety backup is taken, the restore fails in its one transaction (the
        // live rows stay), and the API stays in maintenance until the operator ends it.
        // A backup that fails after it changed the database: the backup's own SQL, then an error. The restore drops the
        // schema, loads the backup's rows, then fails, in one transaction: the live rows stay as they were.
        const failing = `${s.appDir}/backups/29991231T000001Z-scheduled`;
        fs.writeFileSync(
            failing,
            `${execFileSync("pg_restore", ["--no-owner", "-f", "-", `${s.appDir}/backups/${newest}`], { encoding: "utf8" })}\nSELECT 1/0;\n`,
        );
        const failedRestore = restoreNow("29991231T000001Z-scheduled");
        expect(failedRestore.code, failedRestore.out).to.equal(1);
        expect(failedRestore.out)
            .to.contain("maintenance on")
            .and.contain(`${failing} did not restore (psql (SQL), exit 3); the database is as it was (one transaction)`)
            .and.contain("division by zero")
            .and.contain("The API stays in maintenance (503). Once the database is right: npm run backup:restore -- --end-maintenance");
        expect(sh(`cat '${s.appDir}/logs/backup-restore.log'`), "the restore's lines are on the host too").to.contain("did not restore");
        fs.rmSync(failing);
        expect(rows()).to.equal("1,2,3");
        expect(version()).to.equal("status 503");
        const ended = restoreNow("--end-maintenance");
        expect(ended.code, ended.out).to.equal(0);
        expect(ended.out).to.contain("maintenance off: traffic is served");
        expect(version()).to.equal("v0.1.0-l9");

        fs.writeFileSync(truncated, "");
        const empty = drillNow();
        expect(empty.code).to.equal(1);
        expect(empty.out).to.contain(`drill failed: ${truncated} is empty`).and.contain("the drill on 127.0.0.1 failed");
        expect(psql(`SELECT count(*) FROM pg_database WHERE datname LIKE 'l9_drill_%'`)).to.equal("0");
        fs.rmSync(truncated);
        for (const f of backups().filter((b) => b.endsWith("-before-restore"))) fs.rmSync(`${s.appDir}/backups/${f}`);

        // The good backup: the row written after it is gone, the ones before it are there, the safety backup holds all three.
        const restored = restoreNow(newest);
        expect(restored.code, restored.out).to.equal(0);
        expect(restored.out)
            .to.contain(`restored ${s.appDir}/backups/${newest} (pg_restore, then psql); restoreCheck returned t`)
            .and.contain("maintenance off");
        expect(rows()).to.equal("1,2");
        expect(version()).to.equal("v0.1.0-l9");
        const safety = backups().filter((b) => b.endsWith("-before-restore"));
        expect(safety).to.have.length(1);
        const safetyRows = execFileSync("pg_restore", ["-a", "-t", table, "-f", "-", `${s.appDir}/backups/${safety[0]}`], { encoding: "utf8" });
        expect(safetyRows).to.contain("after the backup");
        fs.rmSync(`${s.appDir}/backups/${safety[0]}`);

        psql(`DROP TABLE ${table}`);
    });

    const METRICS =
        "2d. metrics: a real Prometheus, with the shipped alert rules, scrapes node_exporter's textfile collector on the stack's metricsDir " +
        "and sees every gauge the host writes (deploy, drift, backup, copy, drill); a drill that fails fires L9BackupDrillFailed; " +
        "unset, the backup job, its copy and the drill go, the backups stay";
    it(METRICS, async () => {
        const metricsDir = "/var/lib/l9-sandbox/metrics-runbooks";
        const names = [
            ...DEPLOY_METRICS,
            "l9_drift_detected",
            ...DRIFT_CHECKS.map((c) => `l9_drift_${c}`),
            "l9_drift_last_run_timestamp_seconds",
            ...BACKUP_METRICS,
            ...BACKUP_COPY_METRICS,
            ...RESTORE_DRILL_METRICS,
        ];
        const scrape = await startPrometheus(metricsDir, path.join(REPO_ROOT, "monitoring/alert-rules.yml"));
        try {
            const seen = await scrape.waitFor(names.map((n) => `${n}{service="${s.serviceName}"}`));
            expect(seen.missing, `not scraped: ${seen.missing.join(", ")}`).to.deep.equal([]);
            expect(await scrape.value(`l9_deploy_last_run_success{service="${s.serviceName}"}`)).to.equal("1");
            expect(await scrape.value(`l9_backup_copy_pending{service="${s.serviceName}"}`)).to.equal("0");
            expect(
                (await scrape.rules()).filter((r) => r.health !== "ok"),
                "every shipped rule evaluates",
            ).to.deep.equal([]);
            // A drill that fails (an empty newest backup): the alert fires in the real Prometheus.
            const empty = `${s.appDir}/backups/29991231T000000Z-scheduled`;
            fs.writeFileSync(empty, "");
            expect(sh(`'${s.appDir}/bin/backup-drill' >/dev/null 2>&1; echo $?`).trim()).to.equal("1");
            fs.rmSync(empty);
            const firing = await scrape.waitFor([`ALERTS{alertname="L9BackupDrillFailed",service="${s.serviceName}",alertstate="firing"}`]);
            expect(firing.missing, "L9BackupDrillFailed fires").to.deep.equal([]);
        } finally {
            scrape.stop();
        }

        const files = backups();
        for (const key of ["backupSchedule", "backupCopyTo", "backupCopyKey", "restoreDrill"]) await s.stack.removeConfig(`l9-deploy:${key}`);
        const removed = await s.up();
        expect(removed.ok, removed.error).to.equal(true);
        const jobFiles = [
            `/etc/cron.d/${s.serviceName}-backup`,
            `${s.appDir}/bin/backup`,
            `${metricsDir}/l9_backup_${s.serviceName}.prom`,
            `${s.appDir}/shared/backup-copy-key`,
            `${s.appDir}/state/backup-copy-known-hosts`,
            `${s.appDir}/state/backup-copied`,
            `/etc/cron.d/${s.serviceName}-backup-drill`,
            `${s.appDir}/bin/backup-drill`,
            `${metricsDir}/l9_backup_drill_${s.serviceName}.prom`,
        ];
        expect(jobFiles.filter((f) => fs.existsSync(f))).to.deep.equal([]);
        expect(backups()).to.deep.equal(files);
        const notInstalled = runTool("backup-drill");
        expect(notInstalled.code).to.equal(2);
        expect(notInstalled.out).to.contain("has no restoreDrill");
        for (const undo of afterCopies.splice(0)) undo();
    });

    it("3. a failing migration stops the release before traffic moves: the serving container and Caddy are untouched, the failure is sent", async () => {
        const serving = containerId("blue");
        const records = sh(`wc -l < '${s.appDir}/deploys.jsonl'`).trim();
        await s.set({ releaseTag: "v0.4.2-l9" });
        const r = await s.up();
        expect(r.ok).to.equal(false);
        expect(r.error).to.contain("hook 'migrate' failed");
        expect(r.error).to.contain("Can't locate revision");
        expect(r.error).to.contain("traffic was not moved");
        expect(version()).to.equal("v0.1.0-l9");
        expect(containerId("blue")).to.equal(serving);
        expect(sh(`wc -l < '${s.appDir}/deploys.jsonl'`).trim()).to.equal(records);
        const failure = receiver
            .events("failure")
            .filter((m) => m.path === "/hook")
            .pop()!;
        expect(failure.body).to.include({ tag: "v0.4.2-l9" });
        expect(String(failure.body.check)).to.contain("hook 'migrate'");
        expect(String(failure.body.logTail)).to.contain("Can't locate revision");
        expect(deployGauge("l9_deploy_run", "l9_deploy_last_run_success"), "L9DeployFailed's gauge").to.equal("v0.4.2-l9 0");
        expect(deployGauge("l9_deploy", "l9_deploy_last_success_timestamp_seconds"), "the last deploy that went live").to.equal("v0.1.0-l9 time");
        // The failed release went into the standby slot (as a failed gate does); the next `up` puts the standby back.
        await s.set({ releaseTag: "v0.1.0-l9" });
        const again = await s.up();
        expect(again.ok, again.error).to.equal(true);
        expect(sh(`docker inspect -f '{{index .Config.Labels "l9.tag"}}' '${s.serviceName}-green'`).trim()).to.equal("v0.2.0-l9");
        expect(containerId("blue")).to.equal(serving);
    });

    it("4. maintenance mode: one `up` turns it on and off, health stays reachable (0 failed), no container changes, it survives a Caddy restart", async () => {
        const ids = [containerId("blue"), containerId("green")];
        const duringOn = watchTraffic(`${s.siteUrl}/health`);
        await s.set({ maintenance: JSON.stringify({ enabled: true, message: "Planned maintenance: back at 04:00 UTC" }) });
        const on = await s.up();
        expect(on.ok, on.error).to.equal(true);
        const page = sh(`curl -s -i '${s.siteUrl}/version'`);
        expect(page).to.match(/^HTTP\/1\.1 503/);
        expect(page).to.match(/Retry-After: 300/i);
        expect(page).to.contain("Planned maintenance: back at 04:00 UTC");
        // Every method gets the 503 (not file_server's 405), conditional requests included.
        expect(sh(`curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' '${s.siteUrl}/api/orders'`)).to.equal("503");
        expect(sh(`curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: *' '${s.siteUrl}/version'`)).to.equal("503");
        expect(httpGet(`${s.siteUrl}/health`).status).to.equal(200);
        expect((await s.stack.outputs()).maintenance.value).to.deep.include({ enabled: true, allowPaths: ["/health"] });
        expectNoFailures(await duringOn.stop(), "health while maintenance went on");

        sh("kill $(cat /var/lib/l9-sandbox/caddy/caddy.pid) && sleep 1");
        sh("bash scripts/sandbox.sh up >/dev/null 2>&1");
        expect(httpGet(`${s.siteUrl}/version`).status, "still in maintenance after a Caddy restart").to.equal(503);

        const duringOff = watchTraffic(`${s.siteUrl}/health`);
        await s.set({ maintenance: JSON.stringify({ enabled: false }) });
        const off = await s.up();
        expect(off.ok, off.error).to.equal(true);
        expect(version()).to.equal("v0.1.0-l9");
        await new Promise((resolve) => setTimeout(resolve, 500));
        expectNoFailures(await duringOff.stop(), "health while maintenance went off");
        expect((await s.stack.outputs()).maintenance.value).to.deep.include({ enabled: false });
        expect([containerId("blue"), containerId("green")]).to.deep.equal(ids);
    });

    it("5. post-switch watch: a release that breaks after its gate is switched back automatically, the update fails naming the check", async () => {
        await s.set({ watchSeconds: "30", watchFailures: "3", releaseTag: "v0.4.1-l9" });
        const loop = watchTraffic(`${s.siteUrl}/version`);
        const r = await s.up();
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const report = await loop.stop();
        expect(r.ok).to.equal(false);
        expect(r.error).to.contain("post-switch watch");
        expect(r.error).to.match(/check 'health endpoint'|check 'smoke/);
        expect(r.error).to.contain("traffic was switched back to blue (v0.1.0-l9)");
        expect(version()).to.equal("v0.1.0-l9");
        expect(report.versions, "the broken release did serve").to.include("v0.4.1-l9");
        // Failed requests: only those the broken release itself answered (503 naming it), none from the switch-back.
        const notFromBroken = report.failed.filter((f) => !(f.status === 503 && f.version === "v0.4.1-l9"));
        expect(notFromBroken, JSON.stringify(notFromBroken.slice(0, 5))).to.have.length(0);
        console.log(`      load: ${report.total} requests, ${report.failed.length} answered 503 by the broken release, ${notFromBroken.length} other failures`);
        const record = JSON.parse(sh(`tail -n 1 '${s.appDir}/deploys.jsonl'`));
        expect(record).to.include({ tag: "v0.4.1-l9", status: "switched-back" });
        const back = receiver
            .events("rollback")
            .filter((m) => m.path === "/hook")
            .pop()!;
        expect(back.body).to.include({ tag: "v0.4.1-l9" });
        expect(String(back.body.check)).to.contain("automatic switch-back");
        expect(deployGauge("l9_deploy_run", "l9_deploy_last_run_success"), "a switched-back release failed").to.equal("v0.4.1-l9 0");
        await s.set({ watchSeconds: "0", releaseTag: "v0.1.0-l9" });
    });

    it("5b. preflight: Caddy's admin API not answering refuses the update before anything changes", async () => {
        const ids = [containerId("blue"), containerId("green")];
        await s.set({ releaseTag: "v0.2.0-l9" });
        sh("kill $(cat /var/lib/l9-sandbox/caddy/caddy.pid) && sleep 1");
        let r;
        try {
            r = await s.up();
        } finally {
            sh("bash scripts/sandbox.sh up >/dev/null 2>&1");
        }
        expect(r.ok).to.equal(false);
        expect(r.error).to.contain("preflight failed: Caddy's admin API does not answer at 127.0.0.1:2019");
        expect([containerId("blue"), containerId("green")]).to.deep.equal(ids);
        expect(version()).to.equal("v0.1.0-l9");
        await s.set({ releaseTag: "v0.1.0-l9" });
    });

    it("6. certificate preflight: a certificate that expires within minCertDays is refused before anything changes", async () => {
        const host = `${s.serviceName}.localhost`;
        await s.set({ caddyHosts: JSON.stringify([host]), minCertDays: "1" });
        // The first `up` with the host loads the site; Caddy's internal CA then issues a 12-hour certificate.
        const load = await s.up();
        expect(load.ok, load.error).to.equal(true);
        expect(load.stdout).to.contain("certificates: Caddy does not run the site's current config yet");
        const served = () =>
            sh(
                `openssl s_client -connect 127.0.0.1:${s.ports.site} -servername ${host} </dev/null 2>/dev/null | ` +
                    `openssl x509 -noout -enddate 2>/dev/null || true`,
            );
        for (let i = 0; i < 30 && !served().includes("notAfter"); i++) await new Promise((resolve) => setTimeout(resolve, 1000));
        expect(served()).to.contain("notAfter");

        const ids = [containerId("blue"), containerId("green")];
        const records = sh(`wc -l < '${s.appDir}/deploys.jsonl'`).trim();
        await s.set({ releaseTag: "v0.2.0-l9" });
        const r = await s.up();
        expect(r.ok).to.equal(false);
        expect(r.error).to.contain(`the certificate Caddy serves for ${host} expires`);
        expect(r.error).to.contain("within minCertDays=1 days");
        expect([containerId("blue"), containerId("green")]).to.deep.equal(ids);
        expect(sh(`wc -l < '${s.appDir}/deploys.jsonl'`).trim()).to.equal(records);

        await s.set({ minCertDays: "0" });
        const ok = await s.up();
        expect(ok.ok, ok.error).to.equal(true);
    });
});
