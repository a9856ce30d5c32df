import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEPLOY_METRICS, DeployMetricsContext, deployMetricsFile, deployRunMetricsFile, renderDeployOutcomeLine } from "../../host-scripts/deploy-metrics";
import { renderNotifyLines } from "../../host-scripts/notify";
import { deployRecordTemplate, renderJournalLines, renderJournalLiveLines, renderLiveSinceWord } from "../../host-scripts/journal";
import { hostLayout } from "../../host-scripts/layout";
import { raw, renderRecordedTimeCommand, scriptStart, script, sh, ShellText } from "../../host-scripts/shell";
import { renderStepLibrary } from "../../host-scripts/step-library";
import { renderSwitchScript } from "../../host-scripts/switch";
import { SAMPLE_NOTIFY, SAMPLE_SWITCH } from "./fixtures";

/**
 * The deploy metrics (host-scripts/deploy-metrics.ts), written by the step library's
 * l9_deploy_outcome: run for real in sh, as a release step runs it (strict mode, umask 027),
 * in a temporary metrics directory.
 */
describe("unit: deploy metrics (host-scripts/deploy-metrics.ts, run in sh)", () => {
    let root: string;
    let metricsDir: string;
    const context = (tag: string): DeployMetricsContext => ({ metricsDir, service: "l9", tag });
    /** A release step: the library, then `body`, then a line that shows the step went on. */
    const step = (...body: ShellText[]) => {
        const text = script(scriptStart("step t"), ...body, sh`echo after`);
        return spawnSync("sh", ["-c", `${renderStepLibrary()}\n${text}`], { encoding: "utf8" });
    };
    const read = (file: string) => fs.readFileSync(file, "utf8");
    const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);
    const gauge = (text: string, name: string) => new RegExp(`^${name}\\{service="l9",tag="([^"]+)"\\} (\\d+)$`, "m").exec(text);

    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "l9-deploy-metrics-"));
        metricsDir = path.join(root, "node-exporter");
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("a deploy gone live writes both textfiles whole, readable by node_exporter (0644 under umask 027), labelled with the service and tag", () => {
        const r = step(renderDeployOutcomeLine(context("v1.2.0-l9"), "live"));
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout).to.equal("after\n");
        expect(r.stderr).to.equal("");
        const now = Date.now() / 1000;
        const success = read(deployMetricsFile(metricsDir, "l9"));
        expect(success).to.match(/^# HELP l9_deploy_last_success_timestamp_seconds .+\n# TYPE l9_deploy_last_success_timestamp_seconds gauge\n/);
        expect(gauge(success, "l9_deploy_last_success_timestamp_seconds")?.[1]).to.equal("v1.2.0-l9");
        expect(Number(gauge(success, "l9_deploy_last_success_timestamp_seconds")?.[2])).to.be.closeTo(now, 120);
        const run = read(deployRunMetricsFile(metricsDir, "l9"));
        expect(run).to.contain("# TYPE l9_deploy_last_run_success gauge\n").and.contain("# TYPE l9_deploy_last_run_timestamp_seconds gauge\n");
        expect(gauge(run, "l9_deploy_last_run_success")?.slice(1)).to.deep.equal(["v1.2.0-l9", "1"]);
        expect(Number(gauge(run, "l9_deploy_last_run_timestamp_seconds")?.[2])).to.be.closeTo(now, 120);
        expect(run.split("\n").filter((l) => l && !l.startsWith("#"))).to.have.length(2);
        for (const name of DEPLOY_METRICS) expect(success + run, name).to.contain(`# TYPE ${name} gauge\n`);
        expect([mode(deployMetricsFile(metricsDir, "l9")), mode(deployRunMetricsFile(metricsDir, "l9")), mode(metricsDir)]).to.deep.equal([
            "644",
            "644",
            "755",
        ]);
        // Nothing else in the directory: the temporary copies were renamed into place.
        expect(fs.readdirSync(metricsDir).sort()).to.deep.equal(["l9_deploy_l9.prom", "l9_deploy_run_l9.prom"]);
    });

    it("a failed deploy writes the run file with 0 and its own tag, and leaves the last success as it was", () => {
        expect(step(renderDeployOutcomeLine(context("v1.2.0-l9"), "live")).status).to.equal(0);
        const success = read(deployMetricsFile(metricsDir, "l9"));
        const r = step(renderDeployOutcomeLine(context("v1.3.0-l9"), "failed"));
        expect(r.status, r.stderr).to.equal(0);
        expect(read(deployMetricsFile(metricsDir, "l9"))).to.equal(success);
        const run = read(deployRunMetricsFile(metricsDir, "l9"));
        expect(gauge(run, "l9_deploy_last_run_success")?.slice(1)).to.deep.equal(["v1.3.0-l9", "0"]);
        expect(gauge(run, "l9_deploy_last_run_timestamp_seconds")?.[1]).to.equal("v1.3.0-l9");
        // The next deploy that goes live sets it back.
        expect(step(renderDeployOutcomeLine(context("v1.3.1-l9"), "live")).status).to.equal(0);
        expect(gauge(read(deployRunMetricsFile(metricsDir, "l9")), "l9_deploy_last_run_success")?.slice(1)).to.deep.equal(["v1.3.1-l9", "1"]);
    });

    it("a deploy gone live at a given time (LIVE_SINCE): the last success says that time, the run gauges now", () => {
        // 2024-05-01T12:00:00Z, as the host's deploy records write times.
        const r = step(renderDeployOutcomeLine(context("v1.2.0-l9"), "live", sh`'2024-05-01T12:00:00Z'`));
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout).to.equal("after\n");
        expect(r.stderr).to.equal("");
        const success = gauge(read(deployMetricsFile(metricsDir, "l9")), "l9_deploy_last_success_timestamp_seconds");
        expect(success?.slice(1)).to.deep.equal(["v1.2.0-l9", "1714564800"]);
        const run = read(deployRunMetricsFile(metricsDir, "l9"));
        expect(gauge(run, "l9_deploy_last_run_success")?.slice(1)).to.deep.equal(["v1.2.0-l9", "1"]);
        expect(Number(gauge(run, "l9_deploy_last_run_timestamp_seconds")?.[2])).to.be.closeTo(Date.now() / 1000, 120);
        // `now` is now, without a word.
        const now = step(renderDeployOutcomeLine(context("v1.2.0-l9"), "live", sh`now`));
        expect([now.status, now.stderr]).to.deep.equal([0, ""]);
        const written = gauge(read(deployMetricsFile(metricsDir, "l9")), "l9_deploy_last_success_timestamp_seconds")?.[2];
        expect(Number(written)).to.be.closeTo(Date.now() / 1000, 120);
    });

    it("a LIVE_SINCE that is no time (or empty: the record could not be read) warns, and now is written: the step goes on", () => {
        for (const since of ["", "yesterday-ish 25:99", "2024-05-01T12:00:00Z; echo injected"]) {
            const r = step(renderDeployOutcomeLine(context("v1.2.0-l9"), "live", sh`${since}`));
            expect(r.status, r.stderr).to.equal(0);
            expect(r.stdout).to.equal("after\n");
            expect(r.stderr.split("\n").filter((l) => l)).to.deep.equal([
                `warning: deploy metrics: when the deploy went live is unknown (recorded: "${since}"): ${deployMetricsFile(metricsDir, "l9")} says now`,
            ]);
            const success = gauge(read(deployMetricsFile(metricsDir, "l9")), "l9_deploy_last_success_timestamp_seconds");
            expect(Number(success?.[2]), since).to.be.closeTo(Date.now() / 1000, 120);
            expect(gauge(read(deployRunMetricsFile(metricsDir, "l9")), "l9_deploy_last_run_success")?.slice(1)).to.deep.equal(["v1.2.0-l9", "1"]);
        }
    });

    describe("the switch: a re-run of a deploy already live keeps the time it went live (run in sh, with the journal)", () => {
        const wentLive = "2024-05-01T12:00:00Z";
        let appDir: string;
        /**
         * The switch's journal and deploy outcome around a flip that happened: the journal's
         * opening (which reads the record's time), its `live`, then the switch's outcome line as
         * rendered. The host's state file holds `active` (a record, or nothing: a first run).
         */
        const rerun = (active: string | undefined) => {
            const sw = { ...SAMPLE_SWITCH, appDir, notify: { ...SAMPLE_SWITCH.notify, appDir, metricsDir } };
            const l = hostLayout(appDir);
            fs.mkdirSync(l.stateDir, { recursive: true });
            if (active !== undefined) fs.writeFileSync(l.activeRecord, `${active}\n`);
            const outcome = renderSwitchScript(sw)
                .split("\n")
                .filter((line) => line.startsWith("l9_deploy_outcome 1"));
            expect(outcome).to.have.length(1);
            const r = step(
                sh`release=yes`,
                renderJournalLines({ appDir, slot: sw.slot, record: sw.record }),
                sh`time=$(${renderRecordedTimeCommand()})`,
                renderJournalLiveLines(),
                raw(outcome[0]),
            );
            expect(r.status, r.stderr).to.equal(0);
            expect(r.stdout).to.equal("after\n");
            return { r, success: Number(gauge(read(deployMetricsFile(metricsDir, "l9")), "l9_deploy_last_success_timestamp_seconds")?.[2]), l };
        };
        /** This deploy's record as the journal fills it. */
        const record = (status: string, time: string) =>
            deployRecordTemplate(SAMPLE_SWITCH.slot, SAMPLE_SWITCH.record)
                .replace("@STATUS@", status)
                .replace("@RELEASE@", "yes")
                .replace("@ENV@", "unknown")
                .replace("@TIME@", time);

        beforeEach(() => {
            appDir = path.join(root, "app");
        });

        it("settled (a heal of a deploy live for days): the last success is its record's time, not now", () => {
            const { r, success, l } = rerun(record("live", wentLive));
            expect(r.stderr).to.equal("");
            expect(success).to.equal(1714564800);
            expect(read(l.activeRecord)).to.equal(`${record("live", wentLive)}\n`);
            // The run gauges say this run.
            expect(Number(gauge(read(deployRunMetricsFile(metricsDir, "l9")), "l9_deploy_last_run_timestamp_seconds")?.[2])).to.be.closeTo(
                Date.now() / 1000,
                120,
            );
        });

        it("interrupted after its flip (`switching`): the time of its flip, read before l9_journal_live rewrites the record", () => {
            const { r, success, l } = rerun(record("switching", wentLive));
            expect(r.stderr).to.equal("");
            expect(success).to.equal(1714564800);
            expect(read(l.activeRecord)).to.contain('"status":"live"').and.not.contain(wentLive);
        });

        it("a first run, a record of another deploy, or this deploy switched back: now", () => {
            const other = record("live", wentLive).replace('"id":"abc123"', '"id":"other1"');
            for (const active of [undefined, other, record("switched-back", wentLive)]) {
                const { r, success } = rerun(active);
                expect(r.stderr, String(active)).to.equal("");
                expect(success, String(active)).to.be.closeTo(Date.now() / 1000, 120);
            }
        });

        it("a record whose time cannot be read or converted: a warning, and now", () => {
            for (const active of [record("live", ""), record("live", "not a time"), record("live", wentLive).replace(/,"time":"[^"]*"/, "")]) {
                const { r, success } = rerun(active);
                expect(r.stderr, active).to.match(/^warning: deploy metrics: when the deploy went live is unknown \(recorded: "[^"]*"\): .+ says now$/m);
                expect(success, active).to.be.closeTo(Date.now() / 1000, 120);
            }
        });
    });

    it("a failure notified by a step is recorded as the run's outcome; the other events leave the files alone", () => {
        const notify = { ...SAMPLE_NOTIFY, appDir: path.join(root, "app"), metricsDir, tag: "v1.3.0-l9" };
        const quiet = step(renderNotifyLines(notify), sh`notify success`, sh`notify rollback`);
        expect(quiet.status, quiet.stderr).to.equal(0);
        expect(fs.existsSync(metricsDir)).to.equal(false);
        const failed = step(renderNotifyLines(notify), sh`notify failure 'gate: check' 'log'`);
        expect(failed.status, failed.stderr).to.equal(0);
        expect(gauge(read(deployRunMetricsFile(metricsDir, "l9")), "l9_deploy_last_run_success")?.slice(1)).to.deep.equal(["v1.3.0-l9", "0"]);
        expect(fs.existsSync(deployMetricsFile(metricsDir, "l9"))).to.equal(false);
    });

    it("a metrics directory it cannot write: a warning naming the file, and the step goes on", () => {
        // A file where the directory should be: no user can create the directory or write in it.
        fs.writeFileSync(metricsDir, "");
        const r = step(renderDeployOutcomeLine(context("v1.2.0-l9"), "live"));
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout).to.equal("after\n");
        const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning: "));
        expect(warnings).to.deep.equal([
            `warning: deploy metrics not written to ${deployMetricsFile(metricsDir, "l9")} (cannot create ${metricsDir})`,
            `warning: deploy metrics not written to ${deployRunMetricsFile(metricsDir, "l9")} (cannot create ${metricsDir})`,
        ]);
        // No temporary file (as in a directory without write permission, which root writes anyway): nothing is left either.
        fs.rmSync(metricsDir);
        fs.mkdirSync(metricsDir);
        const ro = step(sh`mktemp() { return 1; }`, renderDeployOutcomeLine(context("v1.2.0-l9"), "failed"));
        expect(ro.status, ro.stderr).to.equal(0);
        expect(ro.stdout).to.equal("after\n");
        expect(ro.stderr).to.contain(
            `warning: deploy metrics not written to ${deployRunMetricsFile(metricsDir, "l9")} (cannot create a temporary file in ${metricsDir})`,
        );
        expect(fs.readdirSync(metricsDir)).to.deep.equal([]);
    });

    it("a write that fails half-way (here: the rename) warns and leaves no temporary file behind", () => {
        const runFile = deployRunMetricsFile(metricsDir, "l9");
        // A rename that fails, whoever runs the test (root writes anywhere).
        const r = step(sh`mv() { return 1; }`, renderDeployOutcomeLine(context("v1.2.0-l9"), "failed"));
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout).to.equal("after\n");
        expect(r.stderr).to.match(
            new RegExp(`^warning: deploy metrics not written to ${runFile} \\(cannot rename ${metricsDir}/\\.l9_deploy_run_l9\\.prom\\.\\w+\\)$`, "m"),
        );
        expect(fs.readdirSync(metricsDir)).to.deep.equal([]);
    });

    it("the switch records its deploy live on every run that gets there, and the automatic switch-back as failed before traffic moves back", () => {
        const watch = { ...SAMPLE_SWITCH.watch, seconds: 60 };
        const lines = renderSwitchScript({ ...SAMPLE_SWITCH, watch }).split("\n");
        const live = renderDeployOutcomeLine(SAMPLE_NOTIFY, "live", renderLiveSinceWord()).text;
        const failed = `  ${renderDeployOutcomeLine(SAMPLE_NOTIFY, "failed").text}`;
        // A line of its own right after the journal's live record: a re-run of a deploy already live (which notifies nobody) records it too.
        expect(lines.filter((l) => l.includes("l9_deploy_outcome 1"))).to.deep.equal([live]);
        expect(lines.indexOf(live)).to.equal(lines.indexOf('l9_journal_live "$time"') + 1);
        expect(lines.indexOf(live)).to.be.lessThan(lines.findIndex((l) => l.startsWith('if [ "$already_live" = no ]')));
        // In switch_back, once the standby is known to answer, before the flip back and its rollback notification.
        const switchBack = lines.slice(lines.indexOf("switch_back() {"), lines.indexOf("}", lines.indexOf("switch_back() {")));
        expect(switchBack.filter((l) => l.includes("l9_deploy_outcome"))).to.deep.equal([failed]);
        const at = switchBack.indexOf(failed);
        expect(switchBack[at - 1]).to.contain("curl -fsS -m 5 -o /dev/null 'http://127.0.0.1:8001/health'");
        expect(switchBack[at + 1]).to.match(/^  say 'switching traffic back to blue/);
        // The retire-only run (the switch's update) is no deploy: it records nothing.
        const retireStart = lines.findIndex((l) => l.includes(`[ "$1" = 'retire' ]`));
        const retireOnly = lines.slice(retireStart, lines.indexOf("fi", retireStart));
        expect(retireOnly).to.include("  exit 0");
        expect(retireOnly.filter((l) => l.includes("l9_deploy_outcome") || l.includes("notify"))).to.deep.equal([]);
    });
});
