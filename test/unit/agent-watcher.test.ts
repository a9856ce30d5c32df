import { expect } from "chai";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderAgentWatcherScript } from "../../ssh/agent";

const sleepUntil = async (cond: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    return cond();
};

/**
 * The agent watcher (ssh/host-access.ts) run for real with `sh`, against a stack directory
 * of stand-ins: sleeping processes play the agent and a live operation.
 */
describe("unit: the stack's agent watcher and the stack lock", function () {
    this.timeout(20_000);
    let dir: string;
    const live: ChildProcess[] = [];
    const sleeper = () => {
        const p = spawn("sleep", ["30"], { stdio: "ignore" });
        live.push(p);
        return p.pid!;
    };
    const deadPid = () => spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-watcher-"));
        fs.mkdirSync(path.join(dir, "users"));
    });
    afterEach(() => {
        for (const p of live.splice(0)) p.kill();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("waits for an operation holding the lock, then leaves the agent to it when it marked itself", async () => {
        const agent = sleeper();
        fs.writeFileSync(path.join(dir, "agent.pid"), `${agent}\n`);
        const ended = deadPid(); // the operation this watcher waited for has ended
        fs.writeFileSync(path.join(dir, "users", ended), "");
        // Another operation is starting: it holds the lock while it marks itself and loads the key.
        fs.mkdirSync(path.join(dir, "lock"));
        fs.writeFileSync(path.join(dir, "lock", "pid"), `${process.pid}\n`);
        const watcher = spawn("sh", ["-c", renderAgentWatcherScript(dir, Number(ended), [])], { stdio: "ignore" });
        live.push(watcher);
        await new Promise((r) => setTimeout(r, 600));
        expect(fs.existsSync(path.join(dir, "users", ended)), "the watcher waits for the lock before deciding").to.equal(true);
        fs.writeFileSync(path.join(dir, "users", String(sleeper())), "");
        fs.rmSync(path.join(dir, "lock"), { recursive: true });
        expect(await sleepUntil(() => watcher.exitCode !== null, 5000)).to.equal(true);
        expect(fs.existsSync(path.join(dir, "users", ended))).to.equal(false);
        expect(fs.existsSync(path.join(dir, "agent.pid")), "the agent of the live operation is kept").to.equal(true);
        expect(() => process.kill(agent, 0)).to.not.throw();
        expect(fs.existsSync(path.join(dir, "lock")), "the lock is released").to.equal(false);
    });

    it("stops the agent when no live operation is left, taking over a lock whose process is gone", async () => {
        const agent = sleeper();
        fs.writeFileSync(path.join(dir, "agent.pid"), `${agent}\n`);
        fs.writeFileSync(path.join(dir, "agent.sock"), "");
        const ended = deadPid();
        fs.writeFileSync(path.join(dir, "users", ended), "");
        fs.mkdirSync(path.join(dir, "lock"));
        fs.writeFileSync(path.join(dir, "lock", "pid"), `${deadPid()}\n`);
        const watcher = spawn("sh", ["-c", renderAgentWatcherScript(dir, Number(ended), [])], { stdio: "ignore" });
        live.push(watcher);
        expect(await sleepUntil(() => watcher.exitCode !== null, 5000)).to.equal(true);
        expect(fs.existsSync(path.join(dir, "agent.pid"))).to.equal(false);
        expect(fs.existsSync(path.join(dir, "agent.sock"))).to.equal(false);
        expect(await sleepUntil(() => live[0].exitCode !== null || live[0].signalCode !== null, 2000), "the agent was stopped").to.equal(true);
        expect(fs.existsSync(path.join(dir, "lock"))).to.equal(false);
    });
});
