import { expect } from "chai";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { deployMetricsFile, deployRunMetricsFile, renderDeployOutcomeLine } from "../../host-scripts/deploy-metrics";
import { script } from "../../host-scripts/shell";
import { renderStepLibrary } from "../../host-scripts/step-library";

const MONITORING = path.resolve(__dirname, "../../monitoring");
/** The rules' tests: minute by minute, and the alerts measured in days hour by hour. */
const TEST_FILES = ["alert-rules.test.yml", "alert-rules.days.test.yml"];

/** promtool (Debian's prometheus package, which scripts/setup.sh installs) in `cwd`. */
function promtool(args: string[], cwd: string): { status: number | null; out: string } {
    const r = spawnSync("promtool", args, { cwd, encoding: "utf8" });
    if (r.error) throw new Error(`promtool: ${r.error.message} (scripts/setup.sh installs Debian's prometheus package, which has it)`);
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** promtool run in the background, so that several run at once. */
function promtoolAsync(args: string[], cwd: string): Promise<{ status: number | null; out: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn("promtool", args, { cwd });
        let out = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (out += d.toString()));
        child.on("error", (e) => reject(new Error(`promtool: ${e.message} (scripts/setup.sh installs Debian's prometheus package, which has it)`)));
        child.on("close", (status) => resolve({ status, out }));
    });
}

describe("unit: Prometheus alert rules (monitoring/alert-rules.yml, promtool)", function () {
    // Generous: promtool takes seconds a run, and several minutes on a loaded machine.
    this.timeout(240_000);

    it("are valid rules, and each alert fires when its test says, and only then", () => {
        const check = promtool(["check", "rules", "alert-rules.yml"], MONITORING);
        expect(check.status, check.out).to.equal(0);
        expect(check.out).to.contain("SUCCESS: 8 rules found");
        const test = promtool(["test", "rules", ...TEST_FILES], MONITORING);
        expect(test.status, test.out).to.equal(0);
        expect(test.out).to.contain("SUCCESS");
    });

    it("the tests can fail: each alert with its condition weakened or strengthened fails them", async () => {
        const rules = fs.readFileSync(path.join(MONITORING, "alert-rules.yml"), "utf8");
        const mutants = [
            ["(l9_drift_detected) == 1", "(l9_drift_detected) >= 0"],
            ["> 3 * 3600", "> 4 * 3600"],
            ["> 26 * 3600", "> 27 * 3600"],
            ["(l9_backup_last_run_success) == 0", "(l9_backup_last_run_success) >= 0"],
            ["(l9_deploy_last_run_success) == 0", "(l9_deploy_last_run_success) >= 0"],
            ["(l9_backup_copy_last_run_success) == 0", "(l9_backup_copy_last_run_success) >= 0"],
            ["(l9_backup_drill_last_run_success) == 0", "(l9_backup_drill_last_run_success) >= 0"],
            ["> 8 * 24 * 3600", "> 9 * 24 * 3600"],
        ];
        for (const [from] of mutants) expect(rules, from).to.contain(from);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-alert-rules-"));
        try {
            // Each mutant in a directory of its own, all tested at once (promtool is single-threaded, each run takes seconds).
            const results = await Promise.all(
                mutants.map(([from, to], i) => {
                    const own = path.join(dir, String(i));
                    fs.mkdirSync(own);
                    fs.writeFileSync(path.join(own, "alert-rules.yml"), rules.replace(from, to));
                    for (const f of TEST_FILES) fs.copyFileSync(path.join(MONITORING, f), path.join(own, f));
                    return promtoolAsync(["test", "rules", ...TEST_FILES], own);
                }),
            );
            results.forEach((test, i) => {
                const [from, to] = mutants[i];
                expect(test.status, `${from} -> ${to}: ${test.out}`).to.not.equal(0);
                expect(test.out).to.contain("FAILED");
            });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("read metrics that pass Prometheus's lint: the drift job's textfile as it renders it (golden drift-check.sh)", () => {
        const golden = fs.readFileSync(path.resolve(__dirname, "golden/drift-check.sh"), "utf8");
        const block = /^\{\n([\s\S]*?)\n\} >"\$tmp"/m.exec(golden);
        expect(block, "the textfile block of drift-check.sh").to.not.equal(null);
        const vars = "svc=l9 drift=1 g_worktree=0 g_container=1 g_caddy_upstream=0 g_env_file=0 g_cron_file=0";
        const text = spawnSync("sh", ["-c", `${vars}\n${block![1]}`], { encoding: "utf8" }).stdout;
        expect(text).to.contain('l9_drift_container{service="l9"} 1');
        const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
        expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
    });

    it("read metrics that pass Prometheus's lint: the release steps' deploy textfiles, as the step library writes them", () => {
        const metricsDir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-deploy-metrics-"));
        try {
            const step = script(renderDeployOutcomeLine({ metricsDir, service: "l9", tag: "v1.2.0-l9" }, "live"));
            const r = spawnSync("sh", ["-c", `${renderStepLibrary()}\nset -eu\n${step}`], { encoding: "utf8" });
            expect(r.status, r.stderr).to.equal(0);
            for (const file of [deployMetricsFile(metricsDir, "l9"), deployRunMetricsFile(metricsDir, "l9")]) {
                const text = fs.readFileSync(file, "utf8");
                expect(text).to.match(/^l9_deploy_\w+\{service="l9",tag="v1\.2\.0-l9"\} \d+$/m);
                const lint = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
                expect(lint.status, `${file}: ${lint.stdout}${lint.stderr}`).to.equal(0);
            }
        } finally {
            fs.rmSync(metricsDir, { recursive: true, force: true });
        }
    });
});
