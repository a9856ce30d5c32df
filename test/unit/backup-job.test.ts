import { expect } from "chai";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backupCopyFiles, BackupCopyTarget, renderBackupReceiveScript } from "../../host-scripts/backup-copy";
import { BACKUP_COPY_METRICS, BACKUP_METRICS, backupMetricsFile, renderBackupJobScript } from "../../host-scripts/backup-job";
import { renderCronFile } from "../../host-scripts/cron-job";

/**
 * The scheduled backup job's script, run for real in sh against a scratch appDir: what it
 * stores, keeps and reports, and how it fails.
 */
describe("unit: scheduled backup job (host-scripts/backup-job.ts, run in sh)", function () {
    this.timeout(60_000);
    let root: string;
    let appDir: string;
    let metricsDir: string;
    const render = (command: string, keep = 3, timeoutSeconds = 30) =>
        renderBackupJobScript({ serviceName: "l9", appDir, command, keep, timeoutSeconds, metricsDir });
    const run = (script: string) => spawnSync("sh", ["-c", script], { encoding: "utf8" });
    const backups = () => fs.readdirSync(path.join(appDir, "backups")).sort();
    const metric = (name: string) => {
        const text = fs.readFileSync(backupMetricsFile(metricsDir, "l9"), "utf8");
        const m = new RegExp(`^${name}\\{service="l9"\\} (\\S+)$`, "m").exec(text);
        return m ? Number(m[1]) : undefined;
    };

    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "l9-backup-job-"));
        appDir = path.join(root, "opt", "l9");
        metricsDir = path.join(root, "metrics");
        fs.mkdirSync(path.join(appDir, "shared"), { recursive: true });
        fs.mkdirSync(path.join(appDir, "state"), { recursive: true });
        fs.writeFileSync(path.join(appDir, "shared", ".env"), "DATABASE_URL=postgres://app@localhost/app?x=$HOME\nAPP_SECRET=it's\n", { mode: 0o600 });
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("stores the command's output with the release env, keeps the newest backupsToKeep, and reports the newest backup", () => {
        // The env values arrive literally ($HOME not expanded).
        fs.mkdirSync(path.join(appDir, "backups"), { recursive: true });
        for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(appDir, "backups", `2026010${i}T000000Z-scheduled`), "old");
        // A release's backup, older than all of them: scheduled runs never push it out.
        fs.writeFileSync(path.join(appDir, "backups", "20251231T000000Z-v0.1.0-l9"), "before the migration");
        const r = run(render(`printf '%s|%s' "$DATABASE_URL" "$APP_SECRET"`));
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        const kept = backups();
        expect(kept).to.have.length(4);
        expect(kept[0]).to.equal("20251231T000000Z-v0.1.0-l9");
        const newest = kept[kept.length - 1];
        expect(newest).to.match(/^\d{8}T\d{6}Z-scheduled$/);
        expect(fs.readFileSync(path.join(appDir, "backups", newest), "utf8")).to.equal("postgres://app@localhost/app?x=$HOME|it's");
        expect((fs.statSync(path.join(appDir, "backups")).mode & 0o777).toString(8)).to.equal("700");
        expect(r.stdout)
            .to.match(/l9-backup service=l9 backup: .*-scheduled \(41 bytes\)/)
            .and.contain("backup: removed 20260101T000000Z-scheduled");
        expect(metric("l9_backup_last_run_success")).to.equal(1);
        expect(metric("l9_backup_size_bytes")).to.equal(41);
        expect(metric("l9_backup_last_success_timestamp_seconds")).to.be.closeTo(Date.now() / 1000, 120);
        expect((fs.statSync(backupMetricsFile(metricsDir, "l9")).mode & 0o777).toString(8)).to.equal("644");
        const lint = spawnSync("promtool", ["check", "metrics"], { input: fs.readFileSync(backupMetricsFile(metricsDir, "l9")), encoding: "utf8" });
        expect(lint.status, `${lint.stdout}${lint.stderr}`).to.equal(0);
        for (const name of BACKUP_METRICS) expect(metric(name), name).to.not.equal(undefined);
    });

    it("says which old backup it could not remove, and the run still counts: the new backup was taken", () => {
        fs.mkdirSync(path.join(appDir, "backups"), { recursive: true });
        for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(appDir, "backups", `2026010${i + 1}T000000Z-scheduled`), "old");
        // rm -f fails on a directory: the oldest cannot go.
        fs.mkdirSync(path.join(appDir, "backups", "20260100T000000Z-scheduled"));
        const r = run(render("printf ok"));
        expect(r.status, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).to.contain("backup: could not remove 20260100T000000Z-scheduled").and.not.contain("backup: removed 20260100T000000Z-scheduled");
        expect(r.stdout).to.contain("backup: removed 20260101T000000Z-scheduled");
        expect(metric("l9_backup_last_run_success")).to.equal(1);
    });

    it("a failing or empty backup exits 1, leaves no file, says why, and reports the run failed and the last good backup", () => {
        expect(run(render("printf ok")).status).to.equal(0);
        const good = backups();
        for (const [command, why] of [
            ["echo 'pg_dump: connection refused' >&2; exit 3", "exit 3"],
            ["true", "exit 1"],
        ]) {
            const r = run(render(command));
            expect(r.status, command).to.equal(1);
            expect(r.stdout).to.contain(`backup failed (${why})`);
            expect(backups(), command).to.deep.equal(good);
            expect(metric("l9_backup_last_run_success")).to.equal(0);
            expect(metric("l9_backup_size_bytes")).to.equal(2);
        }
        expect(run(render("echo 'pg_dump: connection refused' >&2; exit 3")).stdout).to.contain("  | pg_dump: connection refused");
        expect(run(render("true")).stdout).to.contain("the backup command wrote nothing");
    });

    it("with no backup at all, reports the newest backup's time as 0 (so L9BackupStale fires); a run that cannot go on still reports itself failed", () => {
        expect(run(render("exit 1")).status).to.equal(1);
        expect(metric("l9_backup_last_success_timestamp_seconds")).to.equal(0);
        expect(metric("l9_backup_size_bytes")).to.equal(0);
        expect(run(render("printf ok")).status).to.equal(0);
        expect(metric("l9_backup_last_run_success")).to.equal(1);
        // The backups directory cannot be made (a file in its place): exit 2, and the metrics say the run failed.
        fs.rmSync(path.join(appDir, "backups"), { recursive: true });
        fs.writeFileSync(path.join(appDir, "backups"), "not a directory");
        const r = run(render("printf ok"));
        expect(r.status, r.stdout).to.equal(2);
        expect(r.stdout).to.contain("failed: cannot create");
        expect(metric("l9_backup_last_run_success")).to.equal(0);
    });

    it("stops a backup that runs past hookTimeoutSeconds, and skips a run while another one holds the lock", () => {
        const slow = run(render("sleep 30", 3, 1));
        expect(slow.status).to.equal(1);
        expect(slow.stdout).to.contain("did not finish within hookTimeoutSeconds=1 s and was stopped");
        expect(fs.existsSync(path.join(appDir, "backups")) ? backups() : []).to.deep.equal([]);
        const holder = spawnSync("sh", ["-c", `flock '${appDir}/state/backup.lock' sh -c 'sh -c "$0"' '${render("printf second").replace(/'/g, "'\\''")}'`], {
            encoding: "utf8",
        });
        expect(holder.status, holder.stdout + holder.stderr).to.equal(0);
        expect(holder.stdout).to.contain("another backup of this service is running: this run is skipped");
    });

    describe("copies off the host (backupCopyTo)", () => {
        // Nothing listens on port 1 of loopback: the target refuses every connection.
        const deadTarget: BackupCopyTarget = {
            host: "127.0.0.1",
            sshPort: 1,
            user: "l9-backup",
            hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDead",
            dir: "/srv/backups/l9",
        };
        const renderCopying = (command: string) =>
            renderBackupJobScript({ serviceName: "l9", appDir, command, keep: 3, timeoutSeconds: 30, metricsDir, copyTo: deadTarget });
        const writeKey = () => fs.writeFileSync(backupCopyFiles(appDir).key, "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n", { mode: 0o600 });

        it("a target that refuses: the backup is kept, the run exits 1 naming the target and the backup, the metrics say what is not copied", () => {
            writeKey();
            fs.mkdirSync(path.join(appDir, "backups"), { recursive: true });
            fs.writeFileSync(path.join(appDir, "backups", "20251231T000000Z-v0.1.0-l9"), "a release's backup");
            const r = run(renderCopying("printf ok"));
            expect(r.status, r.stdout).to.equal(1);
            expect(backups()).to.have.length(2);
            // The newest first (the job's own, just taken); the first failure ends the round.
            expect(r.stdout).to.match(
                /copy of \d{8}T\d{6}Z-scheduled to l9-backup@127\.0\.0\.1:1:\/srv\/backups\/l9 failed \(exit 255\); the next run tries again:/,
            );
            expect(r.stdout)
                .to.contain("  | ")
                .and.match(/Connection refused/);
            expect(r.stdout.match(/copy of /g)).to.have.length(1);
            expect(metric("l9_backup_last_run_success"), "the backup itself worked").to.equal(1);
            expect(metric("l9_backup_copy_last_run_success")).to.equal(0);
            expect(metric("l9_backup_copy_pending")).to.equal(2);
            expect(metric("l9_backup_copy_last_success_timestamp_seconds")).to.equal(0);
            for (const name of [...BACKUP_METRICS, ...BACKUP_COPY_METRICS]) expect(metric(name), name).to.not.equal(undefined);
            const lint = spawnSync("promtool", ["check", "metrics"], { input: fs.readFileSync(backupMetricsFile(metricsDir, "l9")), encoding: "utf8" });
            expect(lint.status, `${lint.stdout}${lint.stderr}`).to.equal(0);
            // The target's key is pinned under the job's alias.
            expect(fs.readFileSync(backupCopyFiles(appDir).knownHosts, "utf8")).to.equal(`l9-backup-copy ${deadTarget.hostKey}\n`);
        });

        it("a missing key fails the copy naming the key file and how to put it back; a backup copied before stays recorded until rotated away", () => {
            fs.mkdirSync(backupCopyFiles(appDir).copied, { recursive: true });
            fs.mkdirSync(path.join(appDir, "backups"), { recursive: true });
            fs.writeFileSync(path.join(appDir, "backups", "20260101T000000Z-scheduled"), "copied before");
            fs.writeFileSync(path.join(backupCopyFiles(appDir).copied, "20260101T000000Z-scheduled"), "");
            fs.writeFileSync(path.join(backupCopyFiles(appDir).copied, "20250101T000000Z-scheduled"), "");
            const r = run(renderCopying("printf ok"));
            expect(r.status, r.stdout).to.equal(1);
            expect(r.stdout).to.contain(`its key ${backupCopyFiles(appDir).key} is missing (pulumi up puts it back)`);
            expect(metric("l9_backup_copy_last_run_success")).to.equal(0);
            expect(metric("l9_backup_copy_pending")).to.equal(1);
            expect(metric("l9_backup_copy_last_success_timestamp_seconds")).to.be.greaterThan(0);
            // The record of a backup no longer on the host is dropped.
            expect(fs.readdirSync(backupCopyFiles(appDir).copied)).to.deep.equal(["20260101T000000Z-scheduled"]);
        });

        it("the target's side: a copy lands whole under the backup's name, a short one is removed, and the target rotates each kind", () => {
            const target = path.join(root, "target", "l9");
            const receive = (name: string, content: string, sum: string) =>
                spawnSync("sh", ["-c", renderBackupReceiveScript(target, 2), "l9-backup-copy", name, sum], { input: content, encoding: "utf8" });
            const sha = (t: string) => crypto.createHash("sha256").update(t).digest("hex");
            const names = ["20260101T000000Z-scheduled", "20260102T000000Z-scheduled", "20251231T000000Z-v0.1.0-l9", "20260103T000000Z-scheduled"];
            for (const name of names) expect(receive(name, `dump ${name}`, sha(`dump ${name}`)).status, name).to.equal(0);
            const listing = () => fs.readdirSync(target).sort();
            expect(listing()).to.deep.equal(["20251231T000000Z-v0.1.0-l9", "20260102T000000Z-scheduled", "20260103T000000Z-scheduled"]);
            expect(fs.readFileSync(path.join(target, "20260103T000000Z-scheduled"), "utf8")).to.equal("dump 20260103T000000Z-scheduled");
            const short = receive("20260104T000000Z-scheduled", "dump 2026010", sha("dump 20260104T000000Z-scheduled"));
            expect(short.status).to.equal(1);
            expect(short.stdout).to.contain("differs from the backup's").and.contain("the copy was removed");
            expect(listing()).to.deep.equal(["20251231T000000Z-v0.1.0-l9", "20260102T000000Z-scheduled", "20260103T000000Z-scheduled"]);
        });
    });

    it("cron file runs the job as the user on the schedule", () => {
        const cron = renderCronFile({
            what: "scheduled backup",
            serviceName: "l9",
            schedule: "30 2 * * *",
            user: "deploy",
            scriptPath: "/opt/l9/bin/backup",
            logFile: "/opt/l9/logs/backup.log",
        });
        expect(cron).to.match(/^30 2 \* \* \* deploy '\/opt\/l9\/bin\/backup' >>'\/opt\/l9\/logs\/backup.log' 2>&1$/m);
        expect(cron).to.contain("# l9-deploy scheduled backup for 'l9': managed by Pulumi, do not edit.");
    });
});
