import { expect } from "chai";
import { spawnSync } from "child_process";
import * as path from "path";
import { REPO_ROOT } from "../support/toolchain";

/**
 * The host probes' provider plugin is Go (providers/l9host): its own tests (facts parsed,
 * drift found, the probe's create/refresh/update cycle, the script quoted for the remote
 * shell, retries only on a failure to connect, only the ssh options ssh/openssh-options.ts writes
 * accepted: its golden probe options, never ProxyCommand and the like) run with `go test`;
 * `go vet` and `gofmt` check it.
 */
describe("unit: the host probes' provider plugin (providers/l9host)", function () {
    this.timeout(10 * 60 * 1000);
    const dir = path.join(REPO_ROOT, "providers/l9host");
    const go = (...args: string[]) =>
        spawnSync("go", args, { cwd: dir, encoding: "utf8", env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-mod=readonly -buildvcs=false" } });

    it("passes its Go tests", () => {
        const r = go("test", "-count=1", "-v", "./...");
        expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
        // Every test ran and passed (none skipped).
        const passed = r.stdout.match(/^--- PASS: \w+/gm) ?? [];
        expect(passed.length, r.stdout).to.be.greaterThanOrEqual(11);
        expect(r.stdout).not.to.match(/--- (FAIL|SKIP)/);
    });

    it("passes go vet and is gofmt-formatted", () => {
        const vet = go("vet", "./...");
        expect(vet.status, `${vet.stdout}${vet.stderr}`).to.equal(0);
        const fmt = spawnSync("gofmt", ["-l", "."], { cwd: dir, encoding: "utf8" });
        expect(fmt.status, fmt.stderr).to.equal(0);
        expect(fmt.stdout.trim(), "files gofmt would change").to.equal("");
    });
});
