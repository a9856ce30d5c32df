import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { caddyServerConfig } from "../../host-scripts/caddy";
import { renderRemoveCheckoutScript, renderVerifyTagScript, renderWorktreeCheckScript, renderWorktreeScript } from "../../host-scripts/checkout";
import { renderDriftCheckScript } from "../../host-scripts/drift-check";
import { renderBackupJobScript } from "../../host-scripts/backup-job";
import { renderCronFile, renderCronJobCheckScript, renderInstallCronJobScript, renderRemoveCronJobScript } from "../../host-scripts/cron-job";
import { driftInstall } from "../../components/drift-job";
import { renderBackupRestoreScript, renderEndRestoreMaintenanceScript } from "../../host-scripts/backup-restore";
import { renderRestoreDrillScript, renderRunRestoreDrillScript } from "../../host-scripts/restore-drill";
import { renderRemoveBackupCopyKeyScript, renderWriteBackupCopyKeyScript } from "../../host-scripts/backup-copy";
import {
    renderSecretFileFactsScript,
    renderReadEnvFileForImportScript,
    renderRemoveEnvFileScript,
    renderWriteEnvFileScript,
} from "../../host-scripts/env-file";
import { renderPrepareServiceScript, renderRemoveServiceScript } from "../../host-scripts/service-footprint";
import { renderCanaryScript } from "../../host-scripts/canary";
import { caddyfileSnippetPath, renderCaddyfileSnippet, renderInstallCaddyfileRoutesScript } from "../../host-scripts/caddyfile-site";
import { renderGateScript } from "../../host-scripts/gate";
import { renderStepLibrary } from "../../host-scripts/step-library";
import { renderImageBuildScript } from "../../host-scripts/image-build";
import { renderKeptReleaseScript } from "../../host-scripts/kept-releases";
import { renderRollbackFactsScript } from "../../host-scripts/rollback-facts";
import { renderPreflightScript } from "../../host-scripts/preflight";
import { caddyServerArgs } from "../../host-scripts/routing";
import { renderRoutingCheckScript, renderSwitchScript } from "../../host-scripts/switch";
import { renderReleaseHooksScript } from "../../host-scripts/release-hooks";
import { renderSchemaGuardScript } from "../../host-scripts/schema-guard";
import { renderNotifyClient, renderNotifyTargetsFile, renderRemoveNotifyTargetsScript, renderWriteNotifyTargetsScript } from "../../host-scripts/notify";
import { renderMaintenanceScript, renderRemoveMaintenanceScript } from "../../host-scripts/maintenance";
import { renderSlotGuardScript } from "../../host-scripts/slot-guard";
import { renderServingFactsScript } from "../../host-scripts/serving-facts";
import { renderRemoveUnfinishedContainerScript } from "../../host-scripts/unfinished-container";
import { SAMPLE_NOTIFY, SAMPLE_ROUTING, SAMPLE_SWITCH } from "./fixtures";
import { renderHandBackOldDeployScript, renderKeepOldDeployScript, renderRetireOldDeployScript } from "../../host-scripts/old-deploy";

const OLD_DEPLOY = { appDir: "/srv/l9", containers: ["l9-api-blue"], cronFiles: ["/etc/cron.d/l9-health-checks"], caddyAdmin: "127.0.0.1:2019" };
import { controlPaths, dockerSshOptions, openSshOptions, probeSshOptions, renderKnownHosts } from "../../ssh/openssh-options";
import { hostAccessPaths } from "../../ssh/host-access";
import { renderAgentWatcherScript } from "../../ssh/agent";
import { scriptOnStdin } from "../../components/host";

/**
 * Golden files (Kamal's test/commands style): every builder's whole output for one fixed
 * input, compared with a reviewed file under test/unit/golden/. A changed flag, step order or
 * quote shows as a diff of that file. Regenerate after a deliberate change with
 *   L9_UPDATE_GOLDEN=1 npm run test:unit -- --grep golden
 * and review `git diff test/unit/golden`.
 */
const GOLDEN_DIR = path.join(__dirname, "golden");
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const IMAGE = `sha256:${"ab".repeat(32)}`;
const routing = SAMPLE_ROUTING;
const UNIX_ADMIN = "unix//run/caddy/admin.sock";
const CANARY_ROUTING = { ...SAMPLE_ROUTING, canary: { percents: [10, 20], sticky: true } };
const access = hostAccessPaths(
    "/home/ops/.cache/l9-deploy/ssh/org-l9-deploy-production-0badcafe",
    { host: "203.0.113.10", port: 22, user: "deploy" },
    "/tmp/l9-ssh-3f1c2a9be04d7e65",
);

/** The drift check of a green deploy of v1.2.0-l9 (with or without its worktree). */
const driftCheckArgs = {
    serviceName: "l9",
    commit: COMMIT,
    containerName: "l9-green",
    imageId: IMAGE,
    routing,
    activeSlot: "green" as const,
    envFile: "/opt/l9/shared/.env",
    metricsDir: "/var/lib/prometheus/node-exporter",
    cronFile: "/etc/cron.d/l9-drift",
    cronSha256: "c".repeat(64),
};
const builders: Record<string, () => string> = {
    "preflight.sh": () =>
        renderPreflightScript({
            appDir: "/opt/l9",
            serviceName: "l9",
            owner: "l9-deploy/production",
            caddyAdmin: "127.0.0.1:2019",
            minFreeDiskMb: 2048,
            certificates: { hosts: ["api.example.com", "www.example.com"], listen: ":443", minDays: 14, routes: caddyServerArgs(routing) },
        }),
    "verify-tag.sh": () =>
        renderVerifyTagScript({ appDir: "/opt/l9", repoUrl: "git@example.com:team/l9-api.git", tag: "v1.2.0-l9", mainBranch: "main", verifySignature: true }),
    "rollback-facts.sh": () => renderRollbackFactsScript({ appDir: "/opt/l9", serviceName: "l9" }),
    "kept-release.sh": () =>
        renderKeptReleaseScript({
            appDir: "/opt/l9",
            repoUrl: "git@example.com:team/l9-api.git",
            tag: "v1.2.0-l9",
            mainBranch: "main",
            verifySignature: true,
            serviceName: "l9",
        }),
    "worktree.sh": () => renderWorktreeScript({ appDir: "/opt/l9", tag: "v1.2.0-l9", commit: COMMIT }),
    "remove-worktree.sh": () => renderRemoveCheckoutScript("/opt/l9", "v1.2.0-l9"),
    "worktree-facts.sh": () => renderWorktreeCheckScript("/opt/l9", "v1.2.0-l9"),
    "write-env-file.sh": () => renderWriteEnvFileScript("/opt/l9/shared/.env"),
    "env-file-facts.sh": () => renderSecretFileFactsScript("/opt/l9/shared/.env"),
    "read-env-file-for-import.sh": () => renderReadEnvFileForImportScript("/opt/l9/.env"),
    "caddyfile-snippet.caddy": () => renderCaddyfileSnippet(caddyServerArgs(routing)).text,
    "install-caddyfile-routes.sh": () =>
        renderInstallCaddyfileRoutesScript("127.0.0.1:2019", {
            caddyfile: "/etc/caddy/Caddyfile",
            host: "api.example.com",
            dial: "127.0.0.1:8000",
            snippet: caddyfileSnippetPath("/etc/caddy/Caddyfile", "l9"),
            snippetText: renderCaddyfileSnippet(caddyServerArgs(routing)).text,
            configHash: renderCaddyfileSnippet(caddyServerArgs(routing)).configHash,
        }),
    "retire-old-deploy.sh": () => renderRetireOldDeployScript(OLD_DEPLOY),
    "keep-old-deploy.sh": () => renderKeepOldDeployScript(OLD_DEPLOY),
    "hand-back-old-deploy.sh": () =>
        renderHandBackOldDeployScript({
            ...OLD_DEPLOY,
            dial: "127.0.0.1:8000",
            healthPath: "/health",
            caddyfile: { path: "/etc/caddy/Caddyfile", snippet: caddyfileSnippetPath("/etc/caddy/Caddyfile", "l9") },
        }),
    "switch-caddyfile.sh": () => renderSwitchScript({ ...SAMPLE_SWITCH, caddyfile: { path: "/etc/caddy/Caddyfile", replaces: "127.0.0.1:8000" } }),
    "preflight-caddyfile.sh": () =>
        renderPreflightScript({
            appDir: "/srv/l9",
            serviceName: "l9",
            owner: "l9-deploy/production",
            caddyAdmin: "127.0.0.1:2019",
            minFreeDiskMb: 2048,
            certificates: {
                hosts: ["api.example.com"],
                listen: ":443",
                minDays: 14,
                routes: caddyServerArgs({ ...routing, caddyfile: { path: "/etc/caddy/Caddyfile" } }),
            },
        }),
    "image-build.sh": () =>
        renderImageBuildScript({
            appDir: "/opt/l9",
            tag: "v1.2.0-l9",
            commit: COMMIT,
            imageName: "l9-api",
            serviceName: "l9",
            dockerfile: "deploy/Dockerfile",
        }),
    "gate.sh": () =>
        renderGateScript({
            containerName: "l9-green",
            tag: "v1.2.0-l9",
            port: 8002,
            healthPath: "/health?deep=1",
            timeoutSeconds: 60,
            smokeRequests: [
                { method: "GET", path: "/api/smoke", expectStatus: 200 },
                { method: "HEAD", path: "/", expectStatus: 204 },
            ],
            logScanPatterns: ["Traceback", "it's fatal"],
            notify: SAMPLE_NOTIFY,
        }),
    "switch.sh": () =>
        renderSwitchScript({
            ...routing,
            slot: "green",
            previousContainer: "l9-blue",
            retire: { standby: "stopped", drainGraceSeconds: 30, imagesToKeep: 3 },
            record: { id: "0123456789ab", tag: "v1.2.0-l9", commit: COMMIT, imageId: IMAGE, actor: "ops@example.com" },
            containerName: "l9-green",
            watch: {
                seconds: 60,
                failures: 3,
                checks: { port: 8002, healthPath: "/health?deep=1", smokeRequests: [{ method: "GET", path: "/api/smoke", expectStatus: 200 }] },
            },
            notify: SAMPLE_NOTIFY,
            stepLockWaitSeconds: 420,
        }),
    "release-hooks.sh": () =>
        renderReleaseHooksScript({
            appDir: "/opt/l9",
            serviceName: "l9",
            tag: "v1.2.0-l9",
            backup: { command: 'pg_dump -Fc "$DATABASE_URL"', keep: 7, required: false },
            migrate: { args: ["alembic", "upgrade", "head"], imageId: IMAGE, networkMode: "host", containerName: "l9-green" },
            notify: SAMPLE_NOTIFY,
            hookTimeoutSeconds: 600,
            stepLockWaitSeconds: 1500,
        }),
    "schema-check.sh": () =>
        renderSchemaGuardScript({
            appDir: "/opt/l9",
            serviceName: "l9",
            tag: "v1.2.0-l9",
            revisionArgs: ["alembic", "current"],
            rollbackCheckArgs: ["app", "can-run-on", "current schema"],
            allowRollback: false,
            networkMode: "bridge",
            containerName: "l9-green",
            liveContainerName: "l9-blue",
            backups: true,
            notify: SAMPLE_NOTIFY,
            hookTimeoutSeconds: 600,
            stepLockWaitSeconds: 1500,
        }),
    "schema-refuse.sh": () =>
        renderSchemaGuardScript({
            appDir: "/opt/l9",
            serviceName: "l9",
            tag: "v1.2.0-l9",
            revisionArgs: ["alembic", "current"],
            allowRollback: false,
            networkMode: "host",
            containerName: "l9-green",
            liveContainerName: "l9-blue",
            backups: false,
            notify: SAMPLE_NOTIFY,
            hookTimeoutSeconds: 600,
            stepLockWaitSeconds: 1500,
        }),
    "schema-allowed.sh": () =>
        renderSchemaGuardScript({
            appDir: "/opt/l9",
            serviceName: "l9",
            tag: "v1.2.0-l9",
            revisionArgs: ["alembic", "current"],
            rollbackCheckArgs: ["app", "check"],
            allowRollback: true,
            networkMode: "host",
            containerName: "l9-green",
            liveContainerName: "l9-blue",
            backups: false,
            notify: SAMPLE_NOTIFY,
            hookTimeoutSeconds: 600,
            stepLockWaitSeconds: 1500,
        }),
    "release-hooks-backup-required.sh": () =>
        renderReleaseHooksScript({
            appDir: "/opt/l9",
            serviceName: "l9",
            tag: "v1.2.0-l9",
            backup: { command: "backup_db.sh -", keep: 3, required: true },
            notify: SAMPLE_NOTIFY,
            hookTimeoutSeconds: 600,
            stepLockWaitSeconds: 1500,
        }),
    "notify-targets.txt": () =>
        renderNotifyTargetsFile([
            { format: "json", url: "https://hooks.example.com/services/T000/B000/XXXX" },
            { format: "telegram", url: "https://api.telegram.org/bot123:ABC/sendMessage", chatId: "-1001234567890" },
        ]),
    "write-notify-targets.sh": () => renderWriteNotifyTargetsScript("/opt/l9"),
    "remove-notify-targets.sh": () => renderRemoveNotifyTargetsScript("/opt/l9"),
    "notify-client.sh": () => renderNotifyClient("/opt/l9"),
    "step-library.sh": () => renderStepLibrary(),
    "maintenance-on.sh": () => renderMaintenanceScript({ serviceName: "l9", enabled: true, message: "Back at 04:00 UTC; it's a 'planned' $(upgrade)" }),
    "maintenance-off.sh": () => renderMaintenanceScript({ serviceName: "l9", enabled: false, message: "Back soon" }),
    "remove-maintenance.sh": () => renderRemoveMaintenanceScript("l9"),
    "route-facts.sh": () => renderRoutingCheckScript(routing),
    // Caddy's admin API on a unix socket: every call of every script goes through it.
    "route-facts-unix-admin.sh": () => renderRoutingCheckScript({ ...routing, caddyAdmin: UNIX_ADMIN }),
    "preflight-unix-admin.sh": () =>
        renderPreflightScript({ appDir: "/opt/l9", serviceName: "l9", owner: "l9-deploy/production", caddyAdmin: UNIX_ADMIN, minFreeDiskMb: 2048 }),
    "remove-service-unix-admin.sh": () =>
        renderRemoveServiceScript({
            appDir: "/opt/l9",
            serviceName: "l9",
            caddyAdmin: UNIX_ADMIN,
            owner: "l9-deploy/production",
            metricsDir: "/var/lib/prometheus/node-exporter",
        }),
    "switch-unix-admin.sh": () =>
        renderSwitchScript({
            ...CANARY_ROUTING,
            caddyAdmin: UNIX_ADMIN,
            slot: "blue",
            previousContainer: "l9-green",
            retire: { standby: "warm", drainGraceSeconds: 30, imagesToKeep: 3 },
            record: { id: "0123456789ab", tag: "v1.2.0-l9", commit: COMMIT, imageId: IMAGE, actor: "ops@example.com" },
            containerName: "l9-blue",
            watch: { seconds: 0, failures: 3, checks: { port: 8001, healthPath: "/health", smokeRequests: [] } },
            notify: SAMPLE_NOTIFY,
            stepLockWaitSeconds: 420,
        }),
    "slot-guard.sh": () =>
        renderSlotGuardScript({
            serviceName: "l9",
            appDir: "/opt/l9",
            caddyAdmin: "127.0.0.1:2019",
            color: "green",
            containerName: "l9-green",
            imageId: IMAGE,
            tag: "v1.2.0-l9",
            networkMode: "bridge",
            stepLockWaitSeconds: 420,
        }),
    "slot-guard-with-env.sh": () =>
        renderSlotGuardScript({
            serviceName: "l9",
            appDir: "/opt/l9",
            caddyAdmin: "127.0.0.1:2019",
            color: "blue",
            containerName: "l9-blue",
            imageId: IMAGE,
            tag: "v1.2.0-l9",
            networkMode: "host",
            envFingerprint: "0123456789abcdef",
            stepLockWaitSeconds: 420,
        }),
    "serving-facts.sh": () => renderServingFactsScript({ appDir: "/opt/l9", serviceName: "l9", caddyAdmin: "127.0.0.1:2019" }),
    "caddy-server.json": () => JSON.stringify(caddyServerConfig(caddyServerArgs(SAMPLE_ROUTING)), null, 2) + "\n",
    "caddy-server-canary.json": () => JSON.stringify(caddyServerConfig(caddyServerArgs(CANARY_ROUTING)), null, 2) + "\n",
    "canary.sh": () =>
        renderCanaryScript({
            ...CANARY_ROUTING,
            slot: "green",
            tag: "v1.2.0-l9",
            containerName: "l9-green",
            plan: { percents: [10, 20], stepSeconds: 60, maxErrorRateBasisPoints: 250, minRequests: 20, sticky: true },
            notify: SAMPLE_NOTIFY,
            stepLockWaitSeconds: 480,
        }),
    "switch-with-canary.sh": () =>
        renderSwitchScript({
            ...CANARY_ROUTING,
            slot: "blue",
            previousContainer: "l9-green",
            retire: { standby: "warm", drainGraceSeconds: 30, imagesToKeep: 3 },
            record: { id: "0123456789ab", tag: "v1.2.0-l9", commit: COMMIT, imageId: IMAGE, actor: "ops@example.com" },
            containerName: "l9-blue",
            watch: { seconds: 0, failures: 3, checks: { port: 8001, healthPath: "/health", smokeRequests: [] } },
            notify: SAMPLE_NOTIFY,
            stepLockWaitSeconds: 480,
        }),
    "drift-check.sh": () => renderDriftCheckScript({ ...driftCheckArgs, worktree: "/opt/l9/releases/v1.2.0-l9" }),
    // A release that returned from its kept image has no worktree.
    "drift-check-kept-image.sh": () => renderDriftCheckScript(driftCheckArgs),
    "backup-job.sh": () =>
        renderBackupJobScript({
            serviceName: "l9",
            appDir: "/opt/l9",
            command: 'pg_dump -Fc "$DATABASE_URL"',
            keep: 7,
            timeoutSeconds: 600,
            metricsDir: "/var/lib/prometheus/node-exporter",
        }),
    "backup-job-with-copy.sh": () =>
        renderBackupJobScript({
            serviceName: "l9",
            appDir: "/opt/l9",
            command: 'pg_dump -Fc "$DATABASE_URL"',
            keep: 7,
            timeoutSeconds: 600,
            metricsDir: "/var/lib/prometheus/node-exporter",
            copyTo: {
                host: "203.0.113.20",
                sshPort: 2222,
                user: "l9-backup",
                hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleTargetKey",
                dir: "/srv/backups/l9",
            },
        }),
    "write-backup-copy-key.sh": () => renderWriteBackupCopyKeyScript("/opt/l9"),
    "restore-drill.sh": () =>
        renderRestoreDrillScript({
            serviceName: "l9-api",
            hostName: "",
            appDir: "/opt/l9",
            databaseUrlKey: "DATABASE_URL",
            check: "SELECT count(*) > 0 FROM users",
            timeoutSeconds: 600,
            metricsDir: "/var/lib/prometheus/node-exporter",
        }),
    "run-restore-drill.sh": () => renderRunRestoreDrillScript("/opt/l9/bin/backup-drill", "/opt/l9/logs/backup-drill.log"),
    "backup-restore.sh": () =>
        renderBackupRestoreScript({
            serviceName: "l9",
            appDir: "/opt/l9",
            backupName: "20260101T023000Z-scheduled",
            backupCommand: 'pg_dump -Fc "$DATABASE_URL"',
            databaseUrlKey: "DATABASE_URL",
            check: "SELECT count(*) > 0 FROM users",
            timeoutSeconds: 600,
            maintenanceConfigured: false,
            logFile: "/opt/l9/logs/backup-restore.log",
            stepLockWaitSeconds: 1500,
        }),
    "end-restore-maintenance.sh": () => renderEndRestoreMaintenanceScript("l9"),
    "remove-backup-copy-key.sh": () => renderRemoveBackupCopyKeyScript("/opt/l9"),
    "drift-cron": () =>
        renderCronFile({
            what: "drift check",
            serviceName: "l9",
            schedule: "17 * * * *",
            user: "root",
            scriptPath: "/opt/l9/bin/drift-check",
            logFile: "/opt/l9/logs/drift.log",
        }),
    "install-drift-job.sh": () =>
        renderInstallCronJobScript({
            ...driftInstall("/opt/l9/bin/drift-check", "/opt/l9/logs/drift.log"),
            scriptPath: "/opt/l9/bin/drift-check",
            cronPath: "/etc/cron.d/l9-drift",
            logFile: "/opt/l9/logs/drift.log",
            script: "#!/bin/sh\necho check\n",
            cron: "17 * * * * root /opt/l9/bin/drift-check\n",
        }),
    "drift-job-facts.sh": () => renderCronJobCheckScript({ cronPath: "/etc/cron.d/l9-drift", scriptPath: "/opt/l9/bin/drift-check" }),
    "remove-drift-job.sh": () =>
        renderRemoveCronJobScript({
            cronPath: "/etc/cron.d/l9-drift",
            scriptPath: "/opt/l9/bin/drift-check",
            metricsFile: "/var/lib/prometheus/node-exporter/l9_drift_l9.prom",
        }),
    "remove-env-file.sh": () => renderRemoveEnvFileScript("/opt/l9/shared/.env"),
    "prepare-service.sh": () =>
        renderPrepareServiceScript({
            appDir: "/opt/l9",
            serviceName: "l9",
            caddyAdmin: "127.0.0.1:2019",
            owner: "l9-deploy/production",
            metricsDir: "/var/lib/prometheus/node-exporter",
        }),
    "remove-unfinished-container.sh": () => renderRemoveUnfinishedContainerScript({ serviceName: "l9", caddyAdmin: "127.0.0.1:2019", color: "green" }),
    "remove-service.sh": () =>
        renderRemoveServiceScript({
            appDir: "/opt/l9",
            serviceName: "l9",
            caddyAdmin: "127.0.0.1:2019",
            owner: "l9-deploy/production",
            metricsDir: "/var/lib/prometheus/node-exporter",
        }),
    "command-on-stdin.txt": () => scriptOnStdin("gate v1.2.0-l9; $(rm -rf /)", "").create + "\n",
    known_hosts: () => renderKnownHosts("203.0.113.10", 2222, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAoPGInEcbJwN2hI7YAejotVS71LvclAHUXjDM751wdJ"),
    "openssh-options.txt": () => openSshOptions(access).join("\n") + "\n",
    "probe-ssh-options.txt": () => probeSshOptions(access).join("\n") + "\n",
    "docker-ssh-options.txt": () => dockerSshOptions(access).join("\n") + "\n",
    "agent-watcher.sh": () => renderAgentWatcherScript("/home/ops/.cache/l9-deploy/ssh/org-l9-deploy-production-0badcafe", 4242, controlPaths(access)),
};

describe("unit: golden host scripts (whole text, reviewed files)", () => {
    const update = process.env.L9_UPDATE_GOLDEN === "1";

    for (const [file, render] of Object.entries(builders)) {
        it(`${file} matches test/unit/golden/${file}`, () => {
            const goldenPath = path.join(GOLDEN_DIR, file);
            const text = render();
            if (update) fs.writeFileSync(goldenPath, text);
            expect(fs.existsSync(goldenPath), `no golden file ${goldenPath}: run L9_UPDATE_GOLDEN=1 npm run test:unit -- --grep golden and review it`).to.equal(
                true,
            );
            expect(text).to.equal(fs.readFileSync(goldenPath, "utf8"));
        });
    }

    it("has a golden file for every builder and none left over", () => {
        expect(fs.readdirSync(GOLDEN_DIR).sort()).to.deep.equal(Object.keys(builders).sort());
    });
});
