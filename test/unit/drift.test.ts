import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { driftMetricNames, renderDriftCheckScript } from "../../host-scripts/drift-check";
import { renderCronFile, renderInstallCronJobScript } from "../../host-scripts/cron-job";
import { driftInstall } from "../../components/drift-job";
import { findDrift, formatDriftReport, PreviewJson } from "../../tools/drift-report";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const args = {
    serviceName: "l9",
    worktree: "/opt/l9/releases/v1.2.3-l9",
    commit: "c".repeat(40),
    containerName: "l9-green",
    imageId: `sha256:${"d".repeat(64)}`,
    routing: {
        serviceName: "l9",
        appDir: "/opt/l9",
        caddyAdmin: "127.0.0.1:2019",
        caddyListen: ":443",
        caddyHosts: [],
        bluePort: 8001,
        greenPort: 8002,
        maintenance: { allowPaths: ["/health"] },
    },
    activeSlot: "green" as const,
    envFile: "/opt/l9/shared/.env",
    metricsDir: "/var/lib/prometheus/node-exporter",
    cronFile: "/etc/cron.d/l9-drift",
    cronSha256: "e".repeat(64),
};

describe("unit: drift", () => {
    describe("host drift check script", () => {
        const script = renderDriftCheckScript(args);

        it("parses, and checks the worktree, the container, Caddy, the env file and the cron file", () => {
            execFileSync("sh", ["-n"], { input: script });
            for (const check of ["worktree", "container", "caddy_upstream", "env_file", "cron_file"]) expect(script).to.contain(`report ${check} ok`);
            expect(script).to.contain(`commit='${"c".repeat(40)}'`);
            expect(script).to.contain(`"true healthy $image"`);
            expect(script).to.contain(`[ "$upstream" = '[{"dial":"127.0.0.1:8002"}]' ]`);
            expect(script).to.contain(`[ "$routing" = 'green' ]`);
            expect(script).to.contain("exit $drift");
        });

        it("writes l9_drift_detected and one gauge per check, atomically", () => {
            expect(driftMetricNames()).to.deep.equal([
                "l9_drift_detected",
                "l9_drift_worktree",
                "l9_drift_container",
                "l9_drift_caddy_upstream",
                "l9_drift_env_file",
                "l9_drift_cron_file",
            ]);
            for (const m of driftMetricNames()) expect(script).to.contain(`${m}{service=`);
            expect(script).to.contain("mv -f \"$tmp\" '/var/lib/prometheus/node-exporter/l9_drift_l9.prom'");
        });

        it("reports drift on a host where nothing is deployed, with a log line per check and the metric", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-drift-unit-"));
            const s = renderDriftCheckScript({
                ...args,
                worktree: `${dir}/nope`,
                envFile: `${dir}/.env`,
                metricsDir: dir,
                cronFile: `${dir}/cron`,
                routing: { ...args.routing, caddyAdmin: "127.0.0.1:1" },
                containerName: "l9-unit-no-such-container",
            });
            let code = 0;
            let out = "";
            try {
                out = execFileSync("sh", ["-c", s], { encoding: "utf8" });
            } catch (e) {
                code = (e as { status: number }).status;
                out = (e as { stdout: string }).stdout;
            }
            expect(code).to.equal(1);
            expect(out.trim().split("\n")).to.have.length(5);
            expect(out).to.match(/check=worktree status=drift/);
            expect(out).to.match(/check=cron_file status=drift .*missing/);
            const prom = fs.readFileSync(`${dir}/l9_drift_l9.prom`, "utf8");
            expect(prom).to.match(/^l9_drift_detected\{service="l9"\} 1$/m);
            expect(prom).to.match(/^l9_drift_env_file\{service="l9"\} 1$/m);
            fs.rmSync(dir, { recursive: true, force: true });
        });

        it("cron file runs the script on the schedule as the user; the installer writes both and parses", () => {
            const cron = renderCronFile({
                what: "drift check",
                serviceName: "l9",
                schedule: "17 * * * *",
                user: "root",
                scriptPath: "/opt/l9/bin/drift-check",
                logFile: "/opt/l9/logs/drift.log",
            });
            expect(cron).to.match(/^17 \* \* \* \* root '\/opt\/l9\/bin\/drift-check' >>'\/opt\/l9\/logs\/drift.log' 2>&1$/m);
            expect(() =>
                renderCronFile({ what: "drift check", serviceName: "l9", schedule: "* * * * * root id; #", user: "root", scriptPath: "/x", logFile: "/y" }),
            ).to.throw(/refusing cron schedule/);
            const install = renderInstallCronJobScript({
                ...driftInstall("/opt/l9/bin/drift-check", "/opt/l9/logs/drift.log"),
                scriptPath: "/opt/l9/bin/drift-check",
                cronPath: "/etc/cron.d/l9-drift",
                logFile: "/opt/l9/logs/drift.log",
                script: "x",
                cron,
            });
            execFileSync("sh", ["-n"], { input: install });
            expect(install).to.contain("chmod 700");
            expect(install).to.contain("chmod 644");
        });
    });

    describe("drift summary", () => {
        const PROBE = "l9host:index:FactProbe";
        const CONTAINER = "docker:index/container:Container";
        const step = (op: string, name: string, oldInputs: Record<string, unknown>, newInputs: Record<string, unknown>, type = PROBE) => ({
            op,
            urn: `urn:pulumi:local::l9-deploy::l9:index:L9Runtime$${type}::${name}`,
            oldState: { type, inputs: oldInputs },
            newState: { type, inputs: newInputs },
        });
        const preview: PreviewJson = {
            steps: [
                step("refresh", "traffic-route-facts", {}, {}),
                step("same", "env-file-facts", {}, {}),
                step(
                    "update",
                    "traffic-route-facts",
                    { expect: { upstream: '[{"dial":"127.0.0.1:9"}]' }, script: "x" },
                    { expect: { upstream: '[{"dial":"127.0.0.1:8002"}]' }, script: "x" },
                ),
                {
                    ...step("update", "green-container", { mustRun: true, image: "sha256:a" }, { mustRun: true, image: "sha256:a" }, CONTAINER),
                    oldState: { type: CONTAINER, inputs: { mustRun: true, image: "sha256:a" }, outputs: { mustRun: false, image: "sha256:a", id: "x" } },
                },
                step("create", "blue-container", {}, { name: "l9-blue" }, CONTAINER),
                step("update", "env-file-facts", { expect: "[secret]" }, { expect: "[secret]" }),
                step("replace", "traffic-caddy", { triggers: ["abc", "g1"] }, { triggers: ["abc", UNKNOWN] }, "command:remote:Command"),
            ],
        };

        it("names each drifted resource and property, found versus declared", () => {
            const { findings, consequences } = findDrift(preview);
            expect(findings.map((f) => `${f.resource} ${f.op}`)).to.deep.equal([
                "traffic-route-facts update",
                "green-container update",
                "blue-container create",
                "env-file-facts update",
            ]);
            expect(findings[0].details).to.deep.equal(['upstream: found "[{\\"dial\\":\\"127.0.0.1:9\\"}]", declared "[{\\"dial\\":\\"127.0.0.1:8002\\"}]"']);
            expect(findings[1].details).to.deep.equal(["mustRun: found false, declared true"]);
            expect(findings[2].details).to.deep.equal(["missing on the host: will be created"]);
            expect(findings[3].details[0]).to.match(/secret values, not shown/);
            expect(consequences).to.deep.equal(["traffic-caddy"]);
        });

        it("formats a report with the heal command, and a one-liner when clean", () => {
            const text = formatDriftReport("local", findDrift(preview));
            expect(text).to.match(/^drift: 4 resource\(s\) of stack local differ from the host:/);
            expect(text).to.contain("  green-container (update):\n    - mustRun: found false, declared true");
            expect(text).to.contain("would also re-run, as a consequence: traffic-caddy");
            expect(text).to.contain("pulumi up --stack local");
            expect(formatDriftReport("local", findDrift({ steps: [step("same", "x", {}, {})] }))).to.equal("drift: none. The host matches stack local.\n");
        });
    });
});
