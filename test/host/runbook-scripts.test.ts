import { expect } from "chai";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { maintenanceMarkerFile, maintenanceMessageFile } from "../../host-scripts/routing";
import { caddyMarkerDir } from "../../host-scripts/layout";
import { renderMaintenanceScript, renderRemoveMaintenanceScript } from "../../host-scripts/maintenance";
import {
    NotifyTarget,
    renderNotifyLines,
    renderNotifyTargetsFile,
    renderRemoveNotifyTargetsScript,
    renderWriteNotifyTargetsScript,
} from "../../host-scripts/notify";
import { renderSchemaGuardScript, SchemaGuardScriptArgs } from "../../host-scripts/schema-guard";
import { renderReleaseHooksScript } from "../../host-scripts/release-hooks";
import { script, sh } from "../../host-scripts/shell";
import { renderStepPrologue } from "../../host-scripts/step-library";
import { sandboxFacts } from "../support/sandbox";
import { WebhookReceiver } from "../support/webhook-receiver";

interface ScriptResult {
    code: number;
    stdout: string;
    stderr: string;
    /** Seconds from start to exit. */
    seconds: number;
}

/** Starts a script with sh; `process` is the shell running it (to signal it), `done` its end. */
function startScript(text: string): { process: ChildProcess; done: Promise<ScriptResult> } {
    const started = Date.now();
    const p = spawn("sh", ["-c", text]);
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const done = new Promise<ScriptResult>((resolve) =>
        p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr, seconds: (Date.now() - started) / 1000 })),
    );
    return { process: p, done };
}

/** Runs a script with sh without blocking this process (a receiver here must answer it). */
function runAsync(text: string): Promise<ScriptResult> {
    return startScript(text).done;
}

/** Runs a command on this machine and returns its stdout. */
function run(file: string, args: string[]): string {
    return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Writes targets as NotifyTargets does: its script, the targets on stdin (the webhook client is installed with them). */
function writeNotifyTargets(dir: string, targets: NotifyTarget[]): void {
    execFileSync("sh", ["-c", renderWriteNotifyTargetsScript(dir)], {
        input: renderNotifyTargetsFile(targets),
        encoding: "utf8",
        stdio: ["pipe", "pipe", "pipe"],
    });
}

/** The processes whose command line contains `pattern`. */
function processesMatching(pattern: string): string {
    try {
        return run("pgrep", ["-af", pattern]).trim();
    } catch {
        return ""; // pgrep exits 1 when none match
    }
}

/** Payloads that leave a file behind if a shell ever runs them. */
const traps = (canary: string) => [`$(touch ${canary})`, `\`touch ${canary}\``, `'; touch ${canary}; '`, `"; touch ${canary}; "`, `\\"$(touch ${canary})`];

/**
 * The runbook scripts run for real with sh on this machine: notifications against a local
 * receiver, the backup hook, the migrate hook against the local dockerd, and maintenance
 * mode's files, each fed values that would leave a trace if the shell ever interpreted them.
 */
describe("host: runbook scripts (notify, backup, migrate, maintenance)", function () {
    this.timeout(60_000);
    let dir: string;
    let canary: string;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-runbooks-"));
        canary = path.join(dir, "canary");
        fs.mkdirSync(path.join(dir, "shared"));
        fs.mkdirSync(path.join(dir, "state"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    describe("notify", () => {
        const receiver = new WebhookReceiver();
        let port = 0;
        before(async () => {
            port = await receiver.start();
        });
        after(() => receiver.stop());
        beforeEach(() => (receiver.received.length = 0));

        it("posts valid JSON in both formats, whatever the check and log lines contain; a 500 and a dead target only warn", async () => {
            writeNotifyTargets(dir, [
                { format: "json", url: `http://127.0.0.1:${port}/hook` },
                { format: "telegram", url: `http://127.0.0.1:${port}/bot1:A/sendMessage`, chatId: "-100" },
                { format: "json", url: `http://127.0.0.1:${port}/fail` },
                { format: "json", url: "http://127.0.0.1:9/dead" },
            ]);
            fs.writeFileSync(path.join(dir, "state/attempt-started"), `${Math.floor(Date.now() / 1000) - 5}\n`);
            const [t1, t2, t3, t4, t5] = traps(canary);
            const check = `check 'smoke': got ${t1} and ${t2}`;
            const tail = `line "one" ${t3}\n\ttabbed \\ line ${t4}\n\u001b[31mcolour\r\nlast ${t5}`;
            const text = script(
                renderStepPrologue(dir, "notify test"),
                renderNotifyLines({
                    stack: `l9-deploy/${t1}`,
                    service: "l9",
                    tag: "v1.2.0-l9",
                    previousTag: "v1.1.0-l9",
                    actor: `ops ${t2}`,
                    appDir: dir,
                    metricsDir: path.join(dir, "metrics"),
                }),
                sh`notify failure ${check} ${tail}`,
                sh`echo after`,
            );
            const r = await runAsync(text);
            expect(r.code, r.stderr).to.equal(0);
            expect(r.stdout.trim()).to.equal("after");
            expect(fs.existsSync(canary), "a payload ran").to.equal(false);
            expect(r.stderr).to.match(/warning: notification failure to target 3 \(json\) was not delivered \(HTTP 500\)/);
            expect(r.stderr).to.match(/warning: notification failure to target 4 \(json\) was not delivered \(HTTP 000\)/);

            const json = JSON.parse(receiver.received.find((m) => m.path === "/hook")!.raw);
            expect(json).to.include({
                event: "failure",
                service: "l9",
                tag: "v1.2.0-l9",
                previousTag: "v1.1.0-l9",
                actor: `ops ${t2}`,
                stack: `l9-deploy/${t1}`,
                check,
            });
            expect(json.durationSeconds).to.be.within(4, 60);
            // Control characters dropped, tabs as spaces, lines kept.
            expect(json.logTail).to.equal(`line "one" ${t3}\n tabbed \\ line ${t4}\n[31mcolour\nlast ${t5}`);
            expect(json.text).to.contain("[l9-deploy/");
            expect(json.text).to.contain(`check: ${check}`);
            const telegram = JSON.parse(receiver.received.find((m) => m.path.endsWith("/sendMessage"))!.raw);
            expect(Object.keys(telegram).sort()).to.deep.equal(["chat_id", "text"]);
            expect(telegram.chat_id).to.equal("-100");
            expect(telegram.text).to.equal(json.text);
            expect(receiver.received.map((m) => m.path).sort()).to.deep.equal(["/bot1:A/sendMessage", "/fail", "/hook"]);
        });

        it("installs one webhook client with the targets (0700, targets 0600); removing the targets removes both", async () => {
            writeNotifyTargets(dir, [{ format: "json", url: `http://127.0.0.1:${port}/hook` }]);
            const mode = (f: string) => (fs.statSync(path.join(dir, f)).mode & 0o777).toString(8);
            expect([mode("shared/notify-targets"), mode("bin/l9-notify")]).to.deep.equal(["600", "700"]);
            const r = await runAsync(
                script(
                    renderStepPrologue(dir, "t"),
                    renderNotifyLines({ stack: "s", service: "l9", tag: "v1", actor: "a", appDir: dir, metricsDir: path.join(dir, "metrics") }),
                    sh`notify success`,
                    sh`echo ok`,
                ),
            );
            expect(r.code, r.stderr).to.equal(0);
            expect(receiver.received.map((m) => JSON.parse(m.raw).event)).to.deep.equal(["success"]);
            execFileSync("sh", ["-c", renderRemoveNotifyTargetsScript(dir)]);
            expect(["shared/notify-targets", "bin/l9-notify"].filter((f) => fs.existsSync(path.join(dir, f)))).to.deep.equal([]);
        });

        it("targets without the client (removed by hand): the step warns that nothing was sent and goes on", async () => {
            writeNotifyTargets(dir, [{ format: "json", url: `http://127.0.0.1:${port}/hook` }]);
            fs.rmSync(path.join(dir, "bin/l9-notify"));
            const r = await runAsync(
                script(
                    renderStepPrologue(dir, "t"),
                    renderNotifyLines({ stack: "s", service: "l9", tag: "v1", actor: "a", appDir: dir, metricsDir: path.join(dir, "metrics") }),
                    sh`notify failure 'gate: x'`,
                    sh`echo ok`,
                ),
            );
            expect(r.code, r.stderr).to.equal(0);
            expect(r.stdout.trim()).to.equal("ok");
            expect(r.stderr).to.contain(`warning: notification failure not sent (no ${dir}/bin/l9-notify); the release goes on`);
            expect(receiver.received).to.have.length(0);
        });

        it("sends nothing and succeeds when no targets are configured", async () => {
            const r = await runAsync(
                script(
                    renderStepPrologue(dir, "t"),
                    renderNotifyLines({ stack: "s", service: "l9", tag: "v1", actor: "a", appDir: dir, metricsDir: path.join(dir, "metrics") }),
                    sh`notify success`,
                    sh`echo ok`,
                ),
            );
            expect(r.code, r.stderr).to.equal(0);
            expect(receiver.received).to.have.length(0);
        });
    });

    describe("backup hook", () => {
        const hooks = (tag: string, command: string, required = false, hookTimeoutSeconds = 600) =>
            renderReleaseHooksScript({
                appDir: dir,
                serviceName: "l9",
                tag,
                backup: { command, keep: 2, required },
                notify: { stack: "s", service: "l9", tag, actor: "a", appDir: dir, metricsDir: path.join(dir, "metrics") },
                hookTimeoutSeconds,
                stepLockWaitSeconds: 60,
            });

        it("runs with the env file's values taken literally, stores stdout as <time>-<tag>, keeps the newest two", async () => {
            fs.writeFileSync(path.join(dir, "shared/.env"), `DATABASE_URL=postgres://l9@db/${traps(canary)[0]}\nAPP_SECRET=a b 'c'\n`);
            for (const tag of ["v1.0.0-l9", "v1.1.0-l9", "v1.2.0-l9"]) {
                const r = await runAsync(hooks(tag, `printf '%s|%s\\n' "$DATABASE_URL" "$APP_SECRET"`));
                expect(r.code, r.stderr).to.equal(0);
                await new Promise((resolve) => setTimeout(resolve, 1100));
            }
            const files = fs.readdirSync(path.join(dir, "backups")).sort();
            expect(files).to.have.length(2);
            expect(files[0]).to.match(/^\d{8}T\d{6}Z-v1\.1\.0-l9$/);
            expect(files[1]).to.match(/-v1\.2\.0-l9$/);
            expect(fs.readFileSync(path.join(dir, "backups", files[1]), "utf8")).to.equal(`postgres://l9@db/${traps(canary)[0]}|a b 'c'\n`);
            expect(fs.existsSync(canary)).to.equal(false);
            expect((fs.statSync(path.join(dir, "backups")).mode & 0o777).toString(8)).to.equal("700");
        });

        it("a failed backup warns and the release goes on; with backupRequired it stops the release naming the hook", async () => {
            fs.writeFileSync(path.join(dir, "shared/.env"), "DATABASE_URL=x\n");
            const optional = await runAsync(hooks("v1.0.0-l9", "echo 'pg_dump: connection refused' >&2; exit 4"));
            expect(optional.code, optional.stderr).to.equal(0);
            expect(optional.stderr).to.contain("warning: backup hook failed (exit 4); the release goes on (backupRequired=false)");
            expect(optional.stderr).to.contain("| pg_dump: connection refused");
            const required = await runAsync(hooks("v1.0.0-l9", "echo 'pg_dump: connection refused' >&2; exit 4", true));
            expect(required.code).to.equal(1);
            expect(required.stderr).to.contain("hook 'backup' failed (exit 4; backupRequired=true); traffic was not moved");
            expect(fs.readdirSync(path.join(dir, "backups")).filter((f) => !f.endsWith(".partial"))).to.have.length(0);
        });

        it("an empty backup is a failed one (a pipe would hide its first command's failure)", async () => {
            fs.writeFileSync(path.join(dir, "shared/.env"), "DATABASE_URL=x\n");
            const r = await runAsync(hooks("v1.0.0-l9", "pg_dump_missing 2>/dev/null | cat", true));
            expect(r.code).to.equal(1);
            expect(r.stderr).to.contain("the backup command wrote nothing");
            expect(r.stderr).to.contain("hook 'backup' failed");
            expect(fs.readdirSync(path.join(dir, "backups"))).to.deep.equal([]);
        });

        const BACKUP_NEVER_ENDS =
            "a backup that never ends is stopped after hookTimeoutSeconds with its children: required stops the release naming the bound, optional warns";
        it(BACKUP_NEVER_ENDS, async () => {
            fs.writeFileSync(path.join(dir, "shared/.env"), "DATABASE_URL=x\n");
            // A child of the command's shell, with an argument no other process has.
            const sleeper = `sleep 1000.${process.pid}`;
            const command = `echo 'dumping' >&2; ${sleeper}; echo late`;
            const required = await runAsync(hooks("v1.0.0-l9", command, true, 3));
            expect(required.code, required.stderr).to.equal(1);
            expect(required.seconds).to.be.within(3, 20);
            expect(required.stderr).to.contain(
                "hook 'backup' did not finish within hookTimeoutSeconds=3 s and was stopped (backupRequired=true); traffic was not moved",
            );
            expect(required.stderr).to.contain("| dumping");
            expect(processesMatching(sleeper)).to.equal("");
            expect(fs.readdirSync(path.join(dir, "backups"))).to.deep.equal([]);

            const optional = await runAsync(hooks("v1.0.0-l9", command, false, 3));
            expect(optional.code, optional.stderr).to.equal(0);
            expect(optional.seconds).to.be.within(3, 20);
            expect(optional.stderr).to.contain(
                "warning: backup hook did not finish within hookTimeoutSeconds=3 s and was stopped; the release goes on (backupRequired=false)",
            );
            expect(processesMatching(sleeper)).to.equal("");
        });
    });

    describe("migrate hook (the sample image, real dockerd)", function () {
        this.timeout(180_000);
        const service = "l9runbookhooks";
        const migrateContainer = `${service}-migrate`;
        const slotContainer = `${service}-green`;
        const images: Record<string, string> = {};
        const databaseUrl = "postgres://l9@db/hooks";
        const receiver = new WebhookReceiver();
        let port = 0;
        /** The container of that name: "" when there is none, else its state. */
        const containerState = (name: string) => run("docker", ["ps", "-a", "--filter", `name=^/${name}$`, "--format", "{{.State}}"]).trim();
        const hooks = (tag: string, args: string[], hookTimeoutSeconds: number) =>
            renderReleaseHooksScript({
                appDir: dir,
                serviceName: service,
                tag,
                migrate: { args, imageId: images[tag], networkMode: "bridge", containerName: slotContainer },
                notify: { stack: "s", service, tag, actor: "a", appDir: dir, metricsDir: path.join(dir, "metrics") },
                hookTimeoutSeconds,
                stepLockWaitSeconds: 60,
            });

        before(async () => {
            port = await receiver.start();
            const src = fs.mkdtempSync(path.join(os.tmpdir(), "l9-hooks-src-"));
            try {
                for (const tag of ["v0.1.0-l9", "v0.4.2-l9"]) {
                    run("git", ["clone", "-q", "--branch", tag, sandboxFacts().repoUrl, path.join(src, tag)]);
                    images[tag] = run("docker", ["build", "-q", path.join(src, tag)]).trim();
                }
            } finally {
                fs.rmSync(src, { recursive: true, force: true });
            }
            // The slot the migration is for: created now, so it counts as new in this attempt.
            run("docker", ["rm", "-f", slotContainer]);
            run("docker", ["create", "--name", slotContainer, "--network", "bridge", images["v0.1.0-l9"]]);
        });
        beforeEach(() => {
            receiver.received.length = 0;
            fs.writeFileSync(path.join(dir, "shared/.env"), `APP_SECRET=s\nDATABASE_URL=${databaseUrl}\n`);
            writeNotifyTargets(dir, [{ format: "json", url: `http://127.0.0.1:${port}/hook` }]);
        });
        afterEach(() => run("docker", ["rm", "-f", migrateContainer]));
        after(() => {
            receiver.stop();
            run("docker", ["rm", "-f", slotContainer, migrateContainer]);
        });

        const MIGRATION_NEVER_EXITS =
            "a migration that never exits (arguments the image's ENTRYPOINT takes as its own: the server starts) " +
            "is stopped after hookTimeoutSeconds and removed";
        it(MIGRATION_NEVER_EXITS, async () => {
            const r = await runAsync(hooks("v0.1.0-l9", ["sh", "-c", "exit 7"], 3));
            expect(r.code, r.stderr).to.equal(1);
            expect(r.seconds, r.stderr).to.be.within(3, 30);
            expect(r.stderr).to.contain(
                "hook 'migrate' did not finish within hookTimeoutSeconds=3 s; its container was stopped and removed; traffic was not moved",
            );
            // Its last lines are quoted: the server it started instead of a migration.
            expect(r.stderr).to.match(/\| l9 sample v0\.1\.0-l9 \(good\) listening on/);
            expect(containerState(migrateContainer)).to.equal("");
            const failure = receiver.events("failure").pop();
            expect(failure, JSON.stringify(receiver.received)).to.not.equal(undefined);
            expect(String(failure!.body.check)).to.contain("hook 'migrate': did not finish within hookTimeoutSeconds=3 s");
        });

        it("a migration that fails keeps its exit code, quotes its last lines and is removed", async () => {
            const r = await runAsync(hooks("v0.4.2-l9", ["migrate"], 60));
            expect(r.code).to.equal(1);
            expect(r.stderr).to.contain("hook 'migrate' failed (exit 1); traffic was not moved");
            expect(r.stderr).to.contain("| alembic.util.exc.CommandError: Can't locate revision");
            expect(containerState(migrateContainer)).to.equal("");
            expect(receiver.events("failure")).to.have.length(1);
        });

        it("a container of the same name left by a killed attempt is replaced; a migration that finishes prints its output and is removed", async () => {
            run("docker", ["run", "-d", "--name", migrateContainer, "--network", "bridge", "-e", "APP_SECRET=s", "-e", "DATABASE_URL=x", images["v0.1.0-l9"]]);
            expect(containerState(migrateContainer)).to.equal("running");
            const r = await runAsync(hooks("v0.1.0-l9", ["migrate"], 60));
            expect(r.code, r.stderr).to.equal(0);
            expect(r.stderr).to.contain(`| migrate: connecting to the database (DATABASE_URL set, ${databaseUrl.length} characters)`);
            expect(r.stderr).to.contain("| migrate: schema upgraded to v0.1.0-l9");
            expect(r.stderr).to.contain("migrate: done");
            expect(containerState(migrateContainer)).to.equal("");
            expect(receiver.events("failure")).to.have.length(0);
        });

        it("a signal to the script while it waits removes the running migration container at once, not after the bound", async () => {
            const { process: shell, done } = startScript(hooks("v0.1.0-l9", ["sh", "-c", "exit 7"], 120));
            const deadline = Date.now() + 30_000;
            while (containerState(migrateContainer) !== "running" && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
            expect(containerState(migrateContainer)).to.equal("running");
            shell.kill("SIGTERM");
            const r = await done;
            expect(r.code, r.stderr).to.equal(1);
            expect(r.seconds, r.stderr).to.be.below(30);
            expect(containerState(migrateContainer)).to.equal("");
        });

        const schemaArgs = (tag: string): SchemaGuardScriptArgs => ({
            appDir: dir,
            serviceName: service,
            tag,
            revisionArgs: ["schema-revision"],
            allowRollback: false,
            networkMode: "bridge",
            containerName: slotContainer,
            liveContainerName: `${service}-blue`,
            backups: false,
            notify: { stack: "s", service, tag, actor: "a", appDir: dir, metricsDir: path.join(dir, "metrics") },
            hookTimeoutSeconds: 60,
            stepLockWaitSeconds: 60,
        });
        const schemaHooks = (tag: string) => renderSchemaGuardScript(schemaArgs(tag));
        const record = () => path.join(dir, `state/schema-revision.${images["v0.1.0-l9"].replace(/^sha256:/, "")}`);

        it("a new release whose schemaRevisionCommand fails (its database unreachable) stops before traffic moves, records nothing, quotes why", async () => {
            fs.rmSync(record(), { force: true });
            const r = await runAsync(schemaHooks("v0.1.0-l9"));
            expect(r.code, r.stderr).to.equal(1);
            expect(r.stderr).to.contain("hook 'schema-revision' failed (exit 2); traffic was not moved");
            expect(r.stderr).to.match(/\| schema-revision: cannot connect to the database/);
            expect(fs.existsSync(record())).to.equal(false);
            expect(containerState(`${service}-schema`)).to.equal("");
            expect(receiver.events("failure")).to.have.length(1);
        });

        /** Runs the guard as a switch back: the slot's container predates this attempt. */
        const asSwitchBack = async (script: string) => {
            const started = path.join(dir, "state/attempt-started");
            const attempt = fs.existsSync(started) ? fs.readFileSync(started, "utf8") : undefined;
            fs.writeFileSync(started, `${Math.floor(Date.now() / 1000) + 60}\n`);
            try {
                return await runAsync(script);
            } finally {
                if (attempt === undefined) fs.rmSync(started, { force: true });
                else fs.writeFileSync(started, attempt);
                fs.rmSync(record(), { force: true });
            }
        };

        it("a switch back to a standby whose image has no recorded revision goes ahead with a warning, running nothing", async () => {
            fs.rmSync(record(), { force: true });
            const r = await asSwitchBack(schemaHooks("v0.1.0-l9"));
            expect(r.code, r.stderr).to.equal(0);
            expect(r.stderr).to.contain(
                "warning: schema: v0.1.0-l9 has no recorded schema revision (released before schemaRevisionCommand was set): this switch-back is not checked",
            );
            expect(r.stderr).to.not.contain("reading the database's revision");
            expect(receiver.events("failure")).to.have.length(0);
        });

        const GONE = "a recorded standby: with its serving container gone the switch back is refused; with allowSchemaRollback it goes ahead reading nothing";
        it(GONE, async () => {
            fs.writeFileSync(record(), "7\n");
            const refused = await asSwitchBack(schemaHooks("v0.1.0-l9"));
            expect(refused.code, refused.stderr).to.equal(1);
            expect(refused.stderr).to.contain(`hook 'schema' cannot read the image of ${service}-blue; traffic was not moved`);
            fs.writeFileSync(record(), "7\n");
            const allowed = await asSwitchBack(renderSchemaGuardScript({ ...schemaArgs("v0.1.0-l9"), allowRollback: true }));
            expect(allowed.code, allowed.stderr).to.equal(0);
            expect(allowed.stderr).to.contain("warning: schema: v0.1.0-l9 takes traffic back unchecked (allowSchemaRollback=true)");
            expect(allowed.stderr).to.not.contain("reading the database's revision");
        });
    });

    describe("maintenance mode", () => {
        const service = "l9runbookunit";
        const markerDir = caddyMarkerDir(service);
        before(() => fs.mkdirSync(markerDir, { recursive: true }));
        after(() => fs.rmSync(path.dirname(markerDir), { recursive: true, force: true }));

        it("on writes the message literally (world-readable) and the marker; off removes the marker; delete removes both", async () => {
            const message = `Back at 04:00 UTC. ${traps(canary).join(" ")}`;
            const on = await runAsync(renderMaintenanceScript({ serviceName: service, enabled: true, message }));
            expect(on.code, on.stderr).to.equal(0);
            expect(fs.readFileSync(maintenanceMessageFile(markerDir, service), "utf8")).to.equal(`${message}\n`);
            expect((fs.statSync(maintenanceMessageFile(markerDir, service)).mode & 0o777).toString(8)).to.equal("644");
            expect(fs.existsSync(maintenanceMarkerFile(markerDir, service))).to.equal(true);
            expect(fs.existsSync(canary)).to.equal(false);
            const off = await runAsync(renderMaintenanceScript({ serviceName: service, enabled: false, message }));
            expect(off.code, off.stderr).to.equal(0);
            expect(fs.existsSync(maintenanceMarkerFile(markerDir, service))).to.equal(false);
            await runAsync(renderRemoveMaintenanceScript(service));
            expect(fs.existsSync(maintenanceMessageFile(markerDir, service))).to.equal(false);
        });
    });
});
