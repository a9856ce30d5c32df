import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderRestoreDrillScript, restoreDrillMetricsFile, RESTORE_DRILL_METRICS } from "../../host-scripts/restore-drill";

/**
 * The restore drill's script, run for real in sh against a scratch appDir: how it fails before
 * any database is reached, and when the database refuses. Restores into a real PostgreSQL run
 * in e2e 09 (the sandbox VPS's PostgreSQL).
 */
describe("unit: restore drill (host-scripts/restore-drill.ts, run in sh)", function () {
    this.timeout(60_000);
    let root: string;
    let appDir: string;
    let metricsDir: string;
    const run = () =>
        spawnSync(
            "sh",
            [
                "-c",
                renderRestoreDrillScript({
                    serviceName: "l9-api",
                    hostName: "web-1",
                    appDir,
                    databaseUrlKey: "DATABASE_URL",
                    check: "SELECT 1",
                    timeoutSeconds: 30,
                    metricsDir,
                }),
            ],
            { encoding: "utf8" },
        );
    const metric = (name: string) => {
        const m = new RegExp(`^${name}\\{service="l9-api"\\} (\\S+)$`, "m").exec(fs.readFileSync(restoreDrillMetricsFile(metricsDir, "l9-api"), "utf8"));
        return m ? Number(m[1]) : undefined;
    };
    const backup = (name: string, content: string) => fs.writeFileSync(path.join(appDir, "backups", name), content);

    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "l9-restore-drill-"));
        appDir = path.join(root, "opt", "l9");
        metricsDir = path.join(root, "metrics");
        for (const d of ["shared", "state", "backups"]) fs.mkdirSync(path.join(appDir, d), { recursive: true });
        // Nothing listens on port 1 of loopback: the database refuses.
        fs.writeFileSync(path.join(appDir, "shared", ".env"), "DATABASE_URL=postgres://l9:pw@127.0.0.1:1/l9\n", { mode: 0o600 });
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("an empty newest backup fails the drill naming the file; the metrics say failed and never verified", () => {
        backup("20260101T000000Z-scheduled", "PGDMP an older, good one");
        backup("20260102T000000Z-v1.2.0-l9", "");
        const r = run();
        expect(r.status, r.stdout + r.stderr).to.equal(1);
        expect(r.stdout).to.contain(`drill failed: ${appDir}/backups/20260102T000000Z-v1.2.0-l9 is empty`);
        expect(metric("l9_backup_drill_last_run_success")).to.equal(0);
        expect(metric("l9_backup_last_verified_timestamp_seconds")).to.equal(0);
        for (const name of RESTORE_DRILL_METRICS) expect(metric(name), name).to.not.equal(undefined);
        const lint = spawnSync("promtool", ["check", "metrics"], { input: fs.readFileSync(restoreDrillMetricsFile(metricsDir, "l9-api")), encoding: "utf8" });
        expect(lint.status, `${lint.stdout}${lint.stderr}`).to.equal(0);
    });

    it("no backup, or no database URL in the env file: the drill fails saying which", () => {
        const none = run();
        expect(none.status).to.equal(1);
        expect(none.stdout).to.contain(`drill failed: no backup in ${appDir}/backups to restore`);
        fs.writeFileSync(path.join(appDir, "shared", ".env"), "APP_SECRET=x\n");
        backup("20260101T000000Z-scheduled", "PGDMP");
        const noUrl = run();
        expect(noUrl.status).to.equal(1);
        expect(noUrl.stdout).to.contain(`has no DATABASE_URL: the drill restores into a scratch database beside the app's`);
    });

    it("a database that refuses: the drill fails before restoring, quoting psql, and keeps the time of the last drill that passed", () => {
        backup("20260101T000000Z-scheduled", "PGDMP");
        fs.writeFileSync(path.join(appDir, "state", "backup-verified"), "");
        const passedAt = new Date("2026-01-01T00:00:00Z");
        fs.utimesSync(path.join(appDir, "state", "backup-verified"), passedAt, passedAt);
        const r = run();
        expect(r.status, r.stdout + r.stderr).to.equal(1);
        expect(r.stdout).to.contain(
            "drill failed: cannot create the scratch database l9_drill_l9_api_web_1 (is the database up, and may the app's role create databases: CREATEDB?):",
        );
        expect(r.stdout).to.match(/ {2}\| psql: error: .*(Connection refused|connection to server)/);
        expect(r.stdout, "the URL's password is masked").to.not.contain("pw@");
        expect(metric("l9_backup_drill_last_run_success")).to.equal(0);
        expect(metric("l9_backup_last_verified_timestamp_seconds")).to.equal(passedAt.getTime() / 1000);
    });
});
