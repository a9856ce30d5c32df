import { expect } from "chai";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "../support/toolchain";

/**
 * `npm run rollback` runs pulumi on the terminal and acts on its exit (it sets releaseTag back
 * when the update did not complete). A signal that ends the job (Ctrl-C, a closed terminal, a
 * CI job's timeout) must not end the tool before the child it waits for.
 */
describe("unit: operator tools outlive the signals that end a terminal's job", function () {
    this.timeout(60_000);
    for (const signal of ["SIGINT", "SIGHUP", "SIGTERM"] as const) {
        it(`${signal} while pulumi runs: the tool waits for it, then acts on its exit code`, async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-signals-"));
            const release = path.join(dir, "release");
            const child = spawn("bash", [path.join(REPO_ROOT, "scripts/node.sh"), "test/fixtures/tools/outlive-signals.ts", release], {
                stdio: ["ignore", "pipe", "pipe"],
                // Its own process group: whatever is left of it is ended after the test.
                detached: true,
            });
            let out = "";
            child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
            const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
                child.on("close", (code, sig) => resolve({ code, signal: sig })),
            );
            try {
                await new Promise<void>((resolve, reject) => {
                    child.stdout!.on("data", (d: Buffer) => {
                        out += d.toString();
                        if (out.includes("started")) resolve();
                    });
                    child.on("exit", () => reject(new Error(`exited before its child started: ${out}`)));
                });
                // To the tool alone: its child, still waiting, must be waited for.
                child.kill(signal);
                // Left time to act on the signal, the tool is then checked to still be there.
                await new Promise((r) => setTimeout(r, 300));
                fs.writeFileSync(release, "");
                const end = await exited;
                expect(end, out).to.deep.equal({ code: 0, signal: null });
                expect(out).to.contain("after: the child exited 3");
            } finally {
                try {
                    process.kill(-child.pid!, "SIGKILL");
                } catch {
                    // Already gone.
                }
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    }
});
