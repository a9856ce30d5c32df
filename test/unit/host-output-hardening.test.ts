import { expect } from "chai";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { canaryLogDir, hostLayout } from "../../host-scripts/layout";
import { renderNotifyClient } from "../../host-scripts/notify";
import { CANARY_LOG_FUNCTIONS, renderNewCanaryLogLines } from "../../host-scripts/caddy";
import { renderStepLibrary } from "../../host-scripts/step-library";
import { renderCanaryScript } from "../../host-scripts/canary";
import { driftMetricsTempTemplate, renderDriftCheckScript } from "../../host-scripts/drift-check";
import { renderGateScript } from "../../host-scripts/gate";
import { renderReleaseHooksScript } from "../../host-scripts/release-hooks";
import { lines, sh, stripControlChars } from "../../host-scripts/shell";
import { renderSwitchScript } from "../../host-scripts/switch";
import { SAMPLE_NOTIFY, SAMPLE_ROUTING, SAMPLE_SWITCH } from "./fixtures";

/** Control characters a terminal or a chat client acts on (C0 but tab and newline, and DEL). */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;
/** An app log with an OSC title change, a screen clear, colours, a carriage return, BEL, DEL and SOH. */
/** The one stripping stage, as every script renders it. */
const STRIP = "tr -d '\\000-\\010\\013-\\037\\177'";
const HOSTILE_LOG = "start \x1b]0;owned\x07\x1b[2J\x1b[31mTraceback: boom\x1b[0m\r\n\x7fbell\x01 tab\there é\n";

function tmpDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

describe("unit: host scripts keep app output and shared directories harmless (issue 22, item 7)", () => {
    describe("control characters in app output", () => {
        it("the one stripping stage drops C0 controls but tab and newline, and DEL, and keeps UTF-8", () => {
            expect(stripControlChars().text).to.equal(STRIP);
            const out = execFileSync("sh", ["-c", STRIP], { input: Buffer.from(HOSTILE_LOG, "utf8") }).toString("utf8");
            expect(out).to.equal("start ]0;owned[2J[31mTraceback: boom[0m\nbell tab\there é\n");
            expect(out).to.not.match(CONTROL);
        });

        it("a failing gate prints and sends the container's log lines without escape sequences", () => {
            // Stubs: docker (running, healthy, hostile logs), curl (health 200; a webhook POST is saved).
            const dir = tmpDir("l9-gate-ctl-");
            try {
                const logFile = path.join(dir, "app.log");
                fs.writeFileSync(logFile, HOSTILE_LOG);
                fs.writeFileSync(
                    path.join(dir, "docker"),
                    `#!/bin/sh\ncase "$1 $2" in "inspect -f") ` +
                        `case "$3" in *Health*) echo healthy;; *ExitCode*) echo 0;; *) echo true;; esac;; inspect*) exit 0;; logs*) cat '${logFile}';; esac\n`,
                    { mode: 0o755 },
                );
                fs.writeFileSync(
                    path.join(dir, "curl"),
                    `#!/bin/sh\nfor a in "$@"; do case "$a" in @*) cp "\${a#@}" '${dir}/body'; printf 200; exit 0;; esac; done\n` +
                        `printf '{"status":"healthy"}\\n200'\n`,
                    { mode: 0o755 },
                );
                fs.mkdirSync(path.join(dir, "app/shared"), { recursive: true });
                fs.writeFileSync(path.join(dir, "app/shared/notify-targets"), "json\thttps://hooks.example.com/x\t\n");
                fs.mkdirSync(path.join(dir, "app/bin"));
                fs.writeFileSync(path.join(dir, "app/bin/l9-notify"), renderNotifyClient(path.join(dir, "app")), { mode: 0o700 });
                const script = renderGateScript({
                    containerName: "l9-green",
                    tag: "v1.2.0-l9",
                    port: 8002,
                    healthPath: "/health",
                    timeoutSeconds: 5,
                    smokeRequests: [],
                    logScanPatterns: ["Traceback"],
                    notify: { ...SAMPLE_NOTIFY, appDir: path.join(dir, "app") },
                });
                const r = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
                expect(r.status, r.stderr).to.equal(1);
                expect(r.stderr).to.contain("check 'log scan': the logs contain \"Traceback\":");
                expect(r.stderr).to.contain("[31mTraceback: boom[0m");
                expect(r.stderr).to.contain("  | bell tab\there é");
                expect(r.stderr).to.not.match(CONTROL);
                const body = fs.readFileSync(path.join(dir, "body"), "utf8");
                expect(JSON.parse(body).logTail).to.contain("Traceback: boom");
                expect(body).to.not.match(CONTROL);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("every script that quotes container logs or hook output strips them first", () => {
            const strip = STRIP;
            const notify = SAMPLE_NOTIFY;
            const scripts: Record<string, string> = {
                gate: renderGateScript({
                    containerName: "l9-green",
                    tag: "v1",
                    port: 8002,
                    healthPath: "/health",
                    timeoutSeconds: 5,
                    smokeRequests: [],
                    logScanPatterns: ["FATAL"],
                    notify,
                }),
                switch: renderSwitchScript({ ...SAMPLE_SWITCH, watch: { ...SAMPLE_SWITCH.watch, seconds: 60 }, notify }),
                canary: renderCanaryScript({
                    ...SAMPLE_ROUTING,
                    slot: "green",
                    tag: "v1",
                    containerName: "l9-green",
                    plan: { percents: [10], stepSeconds: 60, maxErrorRateBasisPoints: 500, minRequests: 10, sticky: false },
                    notify,
                    stepLockWaitSeconds: 420,
                }),
                hooks: renderReleaseHooksScript({
                    appDir: "/opt/l9",
                    serviceName: "l9",
                    tag: "v1",
                    hookTimeoutSeconds: 600,
                    backup: { command: "pg_dump", keep: 3, required: false },
                    migrate: { containerName: "l9-green", imageId: `sha256:${"b".repeat(64)}`, args: ["migrate"], networkMode: "bridge" },
                    notify,
                    stepLockWaitSeconds: 420,
                }),
                // The steps' shared functions: the log tail, the hooks' failure, the health check.
                library: renderStepLibrary(),
            };
            for (const [name, s] of Object.entries(scripts)) {
                // Container logs go through the stage (the library's l9_log_tail), or into the hooks'
                // output file, read only through it.
                const dockerLogs = s.split("\n").filter((l) => /docker logs /.test(l));
                expect([...dockerLogs, ...s.split("\n").filter((l) => /l9_log_tail |one_off /.test(l))], name).to.not.deep.equal([]);
                // The gate scans its logs as they are (a pattern is matched on what the app wrote),
                // and strips the line it quotes.
                for (const l of dockerLogs) {
                    if (l.startsWith("logs=$(docker logs --since ")) continue;
                    if (!l.includes(strip)) expect(l, `${name}: ${l}`).to.match(/>"\$out" 2>&1 \|\| true$/);
                }
                for (const l of s.split("\n").filter((x) => x.includes("grep -F -m 1")))
                    expect(l, `${name}: ${l}`).to.contain(`grep -F -m 1 -- 'FATAL' | ${strip})"`);
                // The hooks' output file: its tail (failure) and its whole text (a backup's warning, a migration's output).
                const hookOutput = s.split("\n").filter((x) => x.includes("out_tail=$(") || (x.includes('"$out"') && x.includes("sed 's/^/  | /'")));
                if (name === "hooks" || name === "library") expect(hookOutput, name).to.not.deep.equal([]);
                for (const l of hookOutput) expect(l, `${name}: ${l}`).to.contain(strip);
                // What webhooks get goes through the host's one webhook client (its json_str is checked below).
                expect(
                    s.split("\n").filter((l) => l.startsWith("json_str()")),
                    name,
                ).to.deep.equal([]);
                if (name !== "library") expect(s, name).to.contain(`'${hostLayout(SAMPLE_NOTIFY.appDir).notifyClient}' "$1"`);
                // A health answer's status, quoted in failure messages.
                for (const l of s.split("\n").filter((x) => x.includes("status_field=$("))) expect(l, `${name}: ${l}`).to.contain(strip);
            }
            // The webhook client: json_str strips with the same stage.
            expect(
                renderNotifyClient("/opt/l9")
                    .split("\n")
                    .find((l) => l.startsWith("json_str()")),
            ).to.contain(strip);
        });
    });

    describe("drift metrics temporary file", () => {
        const driftArgs = {
            serviceName: "l9",
            worktree: "/opt/l9/releases/v1.2.3-l9",
            commit: "c".repeat(40),
            containerName: "l9-green",
            imageId: `sha256:${"d".repeat(64)}`,
            routing: { ...SAMPLE_ROUTING, caddyHosts: [] },
            activeSlot: "green" as const,
            envFile: "/opt/l9/shared/.env",
            metricsDir: "/var/lib/prometheus/node-exporter",
            cronFile: "/etc/cron.d/l9-drift",
            cronSha256: "e".repeat(64),
        };

        it("comes from mktemp in the metrics directory, never a predictable $$ name, and each write is checked", () => {
            const s = renderDriftCheckScript(driftArgs);
            expect(s).to.contain("tmp=$(mktemp '/var/lib/prometheus/node-exporter/.l9_drift_l9.prom.XXXXXX') || fail ");
            expect(s).to.not.contain("$$");
            expect(s).to.contain('} >"$tmp" || fail ');
            expect(s).to.contain('chmod 644 "$tmp" || fail ');
            expect(s).to.contain(`mv -f "$tmp" '/var/lib/prometheus/node-exporter/l9_drift_l9.prom' || fail `);
            expect(s).to.contain("mkdir -p '/var/lib/prometheus/node-exporter' || fail ");
            expect(driftMetricsTempTemplate(driftArgs.metricsDir, "l9")).to.equal("/var/lib/prometheus/node-exporter/.l9_drift_l9.prom.XXXXXX");
        });

        it("leaves a 0644 textfile and no temporary file; a directory it cannot write is exit 2, not a silent skip", () => {
            const dir = tmpDir("l9-drift-tmp-");
            try {
                const run = (metricsDir: string) =>
                    spawnSync(
                        "sh",
                        [
                            "-c",
                            renderDriftCheckScript({
                                ...driftArgs,
                                worktree: `${dir}/nope`,
                                envFile: `${dir}/.env`,
                                cronFile: `${dir}/cron`,
                                metricsDir,
                                routing: { ...driftArgs.routing, caddyAdmin: "127.0.0.1:1" },
                                containerName: "l9-unit-no-such-container",
                            }),
                        ],
                        { encoding: "utf8" },
                    );
                const metrics = path.join(dir, "metrics");
                const r = run(metrics);
                expect(r.status, r.stderr).to.equal(1);
                expect(fs.readdirSync(metrics)).to.deep.equal(["l9_drift_l9.prom"]);
                expect(fs.statSync(path.join(metrics, "l9_drift_l9.prom")).mode & 0o777).to.equal(0o644);
                if (process.getuid && process.getuid() !== 0) {
                    fs.chmodSync(metrics, 0o555);
                    const denied = run(metrics);
                    fs.chmodSync(metrics, 0o755);
                    expect(denied.status).to.equal(2);
                    expect(denied.stderr).to.contain(`drift check: cannot create a temporary file in ${metrics}`);
                }
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    describe("canary access log name", () => {
        const caddy = {
            serviceName: "l9",
            listen: ":443",
            hosts: [],
            bluePort: 8001,
            greenPort: 8002,
            markerDir: "/var/lib/l9-deploy/l9/caddy",
            maintenance: { allowPaths: [] },
            canary: { percents: [10], sticky: false },
            caddyAdmin: "127.0.0.1:2019",
        };
        const newName = (env: NodeJS.ProcessEnv = process.env) =>
            spawnSync(
                "sh",
                [
                    "-c",
                    lines(
                        sh`set -eu`,
                        sh`fail() { echo "failed: $*" >&2; exit 1; }`,
                        ...renderNewCanaryLogLines(canaryLogDir("l9")),
                        sh`printf '%s' "$canary_log"`,
                    ).text,
                ],
                { encoding: "utf8", env },
            );

        it("has a random part besides its time, so no other user can create it first in the 1733 directory", () => {
            const script = renderCanaryScript({
                ...SAMPLE_ROUTING,
                canary: { percents: [10], sticky: false },
                slot: "green",
                tag: "v1",
                containerName: "l9-green",
                plan: { percents: [10], stepSeconds: 60, maxErrorRateBasisPoints: 500, minRequests: 10, sticky: false },
                notify: SAMPLE_NOTIFY,
                stepLockWaitSeconds: 420,
            });
            // The canary's step loads its logger through the step library's function.
            expect(script).to.contain(`l9_load_canary_logger '${canaryLogDir("l9")}' 'l9-canary'`);
            const library = renderStepLibrary();
            expect(library).to.not.contain("access-$(date -u +%Y%m%dT%H%M%SZ).log");
            expect(library).to.contain("canary_id=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')");
            expect(library).to.contain(
                renderNewCanaryLogLines(sh`"$1"`)
                    .map((l) => `    ${l.text}\n`)
                    .join(""),
            );
            const names = [newName(), newName()].map((r) => {
                expect(r.status, r.stderr).to.equal(0);
                return r.stdout;
            });
            const dir = canaryLogDir("l9");
            for (const n of names) expect(n).to.match(new RegExp(`^${dir}/access-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{16}\\.log$`));
            expect(names[0]).to.not.equal(names[1]);
        });

        it("fails rather than fall back to a guessable name when /dev/urandom gives nothing", () => {
            const dir = tmpDir("l9-canary-od-");
            try {
                fs.writeFileSync(path.join(dir, "od"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
                const r = newName({ ...process.env, PATH: `${dir}:${process.env.PATH}` });
                expect(r.status).to.equal(1);
                expect(r.stderr).to.contain("cannot read 8 random bytes from /dev/urandom");
                expect(r.stdout).to.equal("");
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("is still recognised as the service's canary log when read back from Caddy", () => {
            const dir = tmpDir("l9-canary-name-");
            try {
                const name = newName().stdout;
                fs.writeFileSync(path.join(dir, "curl"), `#!/bin/sh\nprintf '"%s"\\n' '${name}'\n`, { mode: 0o755 });
                // The file itself exists only on a host: the pattern is what is checked here.
                const check = lines(sh`admin=${`http://${caddy.caddyAdmin}`}`, sh`admin_curl() { curl "$@"; }`, CANARY_LOG_FUNCTIONS).text;
                const patched = check.replace('[ -f "$canary_log" ]', "true");
                expect(patched).to.not.equal(check);
                const call = sh`l9_canary_log_current ${canaryLogDir("l9")} 'l9-canary' && printf '%s' "$canary_log"`;
                const r = spawnSync("sh", ["-c", `${patched}\n${call.text}`], {
                    encoding: "utf8",
                    env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
                });
                expect(r.status, r.stderr).to.equal(0);
                expect(r.stdout).to.equal(name);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });
});
