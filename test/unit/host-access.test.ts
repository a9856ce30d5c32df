import { expect } from "chai";
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseConfig } from "../../config/load";
import { deployKeyLifetimeSeconds, releaseStepLockSeconds } from "../../components/runtime";
import { stepLockWaitSeconds } from "../../host-scripts/step-lock";
import { addKeyArgs, ensureControlDir, keyedControlDir } from "../../ssh/agent";
import { describeSshFailure, verifyHostAccess } from "../../ssh/host-check";
import { dockerSshOptions, openSshOptions, probeSshOptions } from "../../ssh/openssh-options";
import { hostAccessPaths } from "../../ssh/host-access";
import { REPO_ROOT } from "../support/toolchain";
import { SECRETS, validRawConfig } from "./fixtures";

const KEY_A = "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-a\n-----END OPENSSH PRIVATE KEY-----\n";
const KEY_B = "-----BEGIN OPENSSH PRIVATE KEY-----\nkey-b\n-----END OPENSSH PRIVATE KEY-----\n";
const target = { host: "203.0.113.10", port: 22, user: "deploy" };

/** Pairs of an options list: ["-F", "none"] and ["-o", "Key=Value"]. */
function pairs(opts: string[]): [string, string][] {
    expect(opts.length % 2, `an option without its value: ${opts.join(" ")}`).to.equal(0);
    return Array.from({ length: opts.length / 2 }, (_, i) => [opts[2 * i], opts[2 * i + 1]]);
}

describe("unit: how this machine reaches the host (ssh/)", function () {
    this.timeout(60_000);
    let tmp: string;
    beforeEach(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "l9-host-access-"));
    });
    afterEach(() => {
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    describe("OpenSSH options", () => {
        const access = hostAccessPaths("/home/ops/.cache/l9-deploy/ssh/unit", target, "/tmp/l9-ssh-0123456789abcdef");

        it("read no ssh config file and trust the pinned key only: no KnownHostsCommand, no host keys from DNS", () => {
            for (const opts of [openSshOptions(access), probeSshOptions(access), dockerSshOptions(access)]) {
                const p = pairs(opts);
                expect(p[0], "the operator's ~/.ssh/config is not read").to.deep.equal(["-F", "none"]);
                expect(p).to.deep.include(["-o", "KnownHostsCommand=none"]);
                expect(p).to.deep.include(["-o", "VerifyHostKeyDNS=no"]);
                expect(p).to.deep.include(["-o", "StrictHostKeyChecking=yes"]);
                for (const [flag, value] of p.slice(1)) {
                    expect(flag).to.equal("-o");
                    expect(value).to.match(/^[A-Za-z]+=\S+$/);
                }
            }
        });

        it("says when this machine's OpenSSH is too old for them", () => {
            const msg = describeSshFailure("203.0.113.10", 22, "command-line line 0: Bad configuration option: knownhostscommand\n", 255);
            expect(msg).to.contain("OpenSSH 8.5 or newer").and.contain("nothing ran").and.contain("knownhostscommand");
        });

        it("every ssh the host check starts reads no config file, and names the host after --", async () => {
            // A stand-in ssh: records its arguments, prints the host's clock for the check's script.
            const bin = path.join(tmp, "bin");
            const log = path.join(tmp, "ssh.log");
            fs.mkdirSync(bin);
            fs.writeFileSync(
                path.join(bin, "ssh"),
                `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n` +
                    `case " $* " in *" -O "*) exit 0;; esac\nfor a; do last=$a; done\n[ "$last" = true ] && exit 0\ndate +%s\n`,
                { mode: 0o755 },
            );
            const savedPath = process.env.PATH;
            process.env.PATH = `${bin}${path.delimiter}${savedPath}`;
            try {
                const checked = hostAccessPaths(path.join(tmp, "stack"), target, path.join(tmp, "control"));
                await verifyHostAccess(checked, target, 30, { attempts: 1 });
                // The docker provider's connection opens in the background.
                const end = Date.now() + 5000;
                while (Date.now() < end && (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").length : 0) < 4)
                    await new Promise((r) => setTimeout(r, 50));
            } finally {
                process.env.PATH = savedPath;
            }
            const calls = fs.readFileSync(log, "utf8").trim().split("\n");
            expect(calls, calls.join("\n")).to.have.length(4);
            for (const call of calls) expect(call, call).to.match(/^-F none /);
            expect(
                calls.filter((c) => / -O stop l9-deploy-host$/.test(c)),
                "the kept connections are retired",
            ).to.have.length(2);
            for (const call of calls.filter((c) => !c.includes(" -O "))) expect(call, call).to.contain(" -p 22 -- deploy@203.0.113.10 ");
        });
    });

    describe("the deploy key's lifetime in the agent", () => {
        it("is passed to ssh-add -t, and must be a positive whole number of seconds", () => {
            expect(addKeyArgs(9000)).to.deep.equal(["-q", "-t", "9000", "-"]);
            for (const bad of [0, -5, 1.5, NaN]) expect(() => addKeyArgs(bad)).to.throw(/positive number of seconds/);
        });

        it("is bounded by what an update can take: its release steps per batch of hosts, two hours for the rest, the pauses", () => {
            const plain = parseConfig(validRawConfig(), SECRETS);
            expect(releaseStepLockSeconds(plain)).to.equal(stepLockWaitSeconds({ watchSeconds: 0, drainGraceSeconds: 30, hookTimeoutSeconds: 0 }));
            expect(deployKeyLifetimeSeconds(plain, 1)).to.equal(30 + 300 + 7200);

            const full = parseConfig(
                validRawConfig({
                    migrate: JSON.stringify(["npm", "run", "migrate"]),
                    hookTimeoutSeconds: "900",
                    watchSeconds: "120",
                    drainGraceSeconds: "45",
                    canary: JSON.stringify({ percent: 20, steps: 3, stepSeconds: 60, maxErrorRate: 10 }),
                    rollout: JSON.stringify({ batchSize: 2, pauseSeconds: 30 }),
                }),
                SECRETS,
            );
            // One bounded hook run: the migration.
            const perBatch = 900 + 120 + 45 + 3 * 60 + 300 + 7200;
            expect(deployKeyLifetimeSeconds(full, 1)).to.equal(perBatch);
            // 5 hosts, 2 at a time: 3 batches, 2 pauses.
            expect(deployKeyLifetimeSeconds(full, 5)).to.equal(3 * perBatch + 2 * 30);

            // The backup, the migration, then the schema guard's revision and rollbackCheck (an old tag's image released again runs all four).
            const schema = parseConfig(
                validRawConfig({
                    backup: "pg_dump -Fc",
                    migrate: JSON.stringify(["migrate"]),
                    schemaRevisionCommand: JSON.stringify(["schema-revision"]),
                    rollbackCheck: JSON.stringify(["rollback-check"]),
                }),
                SECRETS,
            );
            expect(releaseStepLockSeconds(schema)).to.equal(4 * 600 + 30 + 300);
        });

        it("the agent forgets the key after it (a real ssh-agent, loaded by prepareHostAccess in another process)", async function () {
            this.timeout(120_000);
            const keyFile = path.join(tmp, "deploy_key");
            const gen = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "l9-unit", "-f", keyFile], { encoding: "utf8" });
            expect(gen.status, gen.stderr).to.equal(0);
            const args = {
                stackId: "org/l9-deploy/unit-lifetime",
                ...target,
                hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAoPGInEcbJwN2hI7YAejotVS71LvclAHUXjDM751wdJ",
                privateKey: fs.readFileSync(keyFile, "utf8"),
                keyLifetimeSeconds: 2,
            };
            // The "operation" is a shell that lives until its stdin closes: prepareHostAccess's
            // watcher waits for it, then stops the agent, as it does for a Pulumi operation.
            const code = `process.stdout.write(JSON.stringify(require("./ssh/agent").prepareHostAccess(JSON.parse(process.env.L9_ARGS))) + "\\n")`;
            const operation = spawn("sh", ["-c", `"$0" -r ts-node/register -e "$L9_CODE" && read _`, process.execPath], {
                cwd: REPO_ROOT,
                env: { ...process.env, L9_SSH_DIR: path.join(tmp, "ssh"), L9_ARGS: JSON.stringify(args), L9_CODE: code, TS_NODE_TRANSPILE_ONLY: "true" },
                stdio: ["pipe", "pipe", "pipe"],
            });
            let out = "";
            let err = "";
            operation.stdout.on("data", (d: Buffer) => (out += d.toString()));
            operation.stderr.on("data", (d: Buffer) => (err += d.toString()));
            const ended = new Promise<void>((resolve) => operation.on("close", () => resolve()));
            const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
            for (let i = 0; i < 1200 && !out.endsWith("\n") && operation.exitCode === null; i++) await sleep(50);
            expect(out, err).to.match(/\n$/);
            const access = JSON.parse(out) as { agentSocketPath: string; controlPath: string };
            const stackDir = path.dirname(access.agentSocketPath);
            const control = path.dirname(access.controlPath);
            const agentPid = Number(fs.readFileSync(path.join(stackDir, "agent.pid"), "utf8").trim());
            try {
                const list = () => spawnSync("ssh-add", ["-l"], { env: { ...process.env, SSH_AUTH_SOCK: access.agentSocketPath }, encoding: "utf8" }).status;
                expect(list(), "the key is loaded").to.equal(0);
                // The control directory: private, named from the key, remembered for the other processes.
                expect(control).to.equal(keyedControlDir(stackDir, args.privateKey));
                expect(fs.statSync(control).mode & 0o777).to.equal(0o700);
                expect(fs.readFileSync(path.join(stackDir, "control-dir"), "utf8").trim()).to.equal(control);
                expect(ensureControlDir(stackDir, args.privateKey), "another process of the operation finds the same one").to.equal(control);
                await sleep(3500);
                expect(list(), "ssh-add -l: the agent holds no key once its lifetime passed").to.equal(1);
            } finally {
                operation.stdin.end();
                await ended;
                // The watcher stops the agent once the operation ended (it looks every second).
                for (let i = 0; i < 100 && fs.existsSync(path.join(stackDir, "agent.pid")); i++) await sleep(100);
                for (let i = 0; i < 20 && fs.existsSync(path.join(stackDir, "lock")); i++) await sleep(100);
                if (fs.existsSync(path.join(stackDir, "agent.pid")) && agentPid > 0) process.kill(agentPid);
                fs.rmSync(control, { recursive: true, force: true });
            }
            expect(fs.existsSync(path.join(stackDir, "agent.pid")), "the watcher stopped the agent").to.equal(false);
        });
    });

    describe("the control sockets' directory", () => {
        const mode = (p: string) => fs.lstatSync(p).mode & 0o777;

        it("has a name nobody without the deploy key can derive from the stack, short enough for a socket", () => {
            const dir = "/home/ops/.cache/l9-deploy/ssh/org-l9-deploy-production-0badcafe";
            const name = keyedControlDir(dir, KEY_A);
            expect(name).to.match(/^\/tmp\/l9-ssh-[0-9a-f]{16}$/);
            // The old name was a hash of the stack's directory alone.
            expect(name).not.to.contain(crypto.createHash("sha256").update(dir).digest("hex").slice(0, 8));
            expect(keyedControlDir(dir, KEY_B)).not.to.equal(name);
            expect(keyedControlDir(`${dir}x`, KEY_A)).not.to.equal(name);
            expect(keyedControlDir(dir, KEY_A.trimEnd()), "a trailing newline does not matter").to.equal(name);
            const socket = hostAccessPaths(dir, target, name).dockerControlPath;
            expect(Buffer.byteLength(socket) + 17, "OpenSSH binds at the path plus 17 characters").to.be.lessThan(108);
        });

        it("is made private (0700), remembered, the same on the next run, and made again after a reboot emptied /tmp", () => {
            const stack = path.join(tmp, "stack");
            fs.mkdirSync(stack, { mode: 0o700 });
            const base = path.join(tmp, "tmpfs");
            fs.mkdirSync(base, { mode: 0o1777 });
            const control = ensureControlDir(stack, KEY_A, base);
            expect(control).to.equal(keyedControlDir(stack, KEY_A, base));
            expect(mode(control)).to.equal(0o700);
            expect(fs.readFileSync(path.join(stack, "control-dir"), "utf8")).to.equal(`${control}\n`);
            expect(mode(path.join(stack, "control-dir"))).to.equal(0o600);
            expect(ensureControlDir(stack, KEY_A, base)).to.equal(control);
            fs.rmSync(control, { recursive: true });
            expect(ensureControlDir(stack, KEY_A, base)).to.equal(control);
            expect(mode(control)).to.equal(0o700);
        });

        it("never uses a directory somebody else put at its name: a random one is made (mkdtemp) and remembered", () => {
            const base = path.join(tmp, "tmpfs");
            fs.mkdirSync(base, { mode: 0o1777 });
            const squatted: { why: string; squat: (p: string) => void }[] = [
                { why: "a symlink", squat: (p) => fs.symlinkSync(path.join(tmp, "elsewhere"), p) },
                { why: "a directory open to others", squat: (p) => (fs.mkdirSync(p), fs.chmodSync(p, 0o777)) },
                ...(process.getuid?.() === 0
                    ? [{ why: "another user's directory", squat: (p: string) => (fs.mkdirSync(p, { mode: 0o700 }), fs.chownSync(p, 65534, 65534)) }]
                    : []),
            ];
            for (const { why, squat } of squatted) {
                const stack = path.join(tmp, `stack-${squatted.findIndex((s) => s.why === why)}`);
                fs.mkdirSync(stack, { mode: 0o700 });
                const keyed = keyedControlDir(stack, KEY_A, base);
                squat(keyed);
                const control = ensureControlDir(stack, KEY_A, base);
                expect(control, why).not.to.equal(keyed);
                expect(path.dirname(control), why).to.equal(base);
                expect(path.basename(control), why).to.match(/^l9-ssh-[A-Za-z0-9]{6}$/);
                expect(mode(control), why).to.equal(0o700);
                expect(fs.lstatSync(control).uid, why).to.equal(process.getuid?.());
                expect(fs.readFileSync(path.join(stack, "control-dir"), "utf8").trim(), why).to.equal(control);
                expect(ensureControlDir(stack, KEY_A, base), `${why}: the next run`).to.equal(control);
            }
        });

        it("ignores a remembered path that is not one of its directories", () => {
            const base = path.join(tmp, "tmpfs");
            fs.mkdirSync(base, { mode: 0o1777 });
            const stack = path.join(tmp, "stack");
            fs.mkdirSync(stack, { mode: 0o700 });
            for (const remembered of ["/home/ops", path.join(base, "other"), path.join(base, "l9-ssh-abc/../../x")]) {
                fs.writeFileSync(path.join(stack, "control-dir"), `${remembered}\n`);
                expect(ensureControlDir(stack, KEY_A, base), remembered).to.equal(keyedControlDir(stack, KEY_A, base));
            }
        });
    });
});
