import { expect } from "chai";
import { judgeStackLock, parseStackLock } from "../../tools/stack-lock";

describe("unit: npm run recover judges a stack's lock", () => {
    const lock = parseStackLock(
        "/b/.pulumi/locks/l9-deploy/prod/1.json",
        JSON.stringify({ pid: 4242, username: "ops", hostname: "laptop", timestamp: "2026-12-04T06:00:00Z" }),
    )!;
    const here = (running: boolean, hostname = "laptop") => ({ hostname, isRunning: (pid: number) => pid === 4242 && running });

    it("removes the lock of a holder on this machine that no longer runs", () => {
        expect(judgeStackLock(lock, here(false))).to.deep.equal({
            action: "remove",
            why: "removed the lock of process 4242 (ops@laptop, since 2026-12-04T06:00:00Z), which no longer runs",
        });
    });

    it("never takes a live holder's lock", () => {
        const v = judgeStackLock(lock, here(true));
        expect(v.action).to.equal("keep");
        expect(v.why).to.contain("still runs and holds the lock");
    });

    it("keeps a lock from another machine, whose process it cannot see, and says how to check there", () => {
        const v = judgeStackLock(lock, here(false, "ci-runner"));
        expect(v.action).to.equal("keep");
        expect(v.why).to.contain("is from another machine").and.contain("ps -p 4242").and.contain("pulumi cancel");
    });

    it("reads only lock files it understands", () => {
        expect(lock).to.include({ pid: 4242, hostname: "laptop" });
        expect(parseStackLock("x", "{garbage")).to.equal(undefined);
        expect(parseStackLock("x", JSON.stringify({ pid: "4242", hostname: "laptop" }))).to.equal(undefined);
    });
});
