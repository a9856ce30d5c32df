import { expect } from "chai";
import { spawnSync } from "child_process";
import * as path from "path";
import { createL9Stack, L9TestStack } from "../support/l9-stack";
import { cleanSandboxService, sandboxFacts, sh } from "../support/sandbox";
import { REPO_ROOT } from "../support/toolchain";

/**
 * The policy pack in `pulumi up`/`preview`, through the CLI as an operator or CI runs it:
 * a compliant stack passes; a config that violates a mandatory policy blocks the update and
 * the host is left exactly as it was.
 */
describe("e2e: policy pack guards updates", function () {
    this.timeout(15 * 60 * 1000);
    let s: L9TestStack;

    const cli = (...args: string[]) => {
        const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts/pulumi.sh"), ...args, "--stack", "e2e-policy", "--non-interactive", "--color", "never"], {
            cwd: REPO_ROOT,
            encoding: "utf8",
            env: { ...process.env, ...s.envVars },
            maxBuffer: 64 * 1024 * 1024,
        });
        return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
    };
    const hostSnapshot = () =>
        sh(
            [
                `docker ps -a --filter 'label=l9.service=${s.serviceName}' --format '{{.ID}} {{.Names}} {{.Status}}' | sed 's/Up [^(]*/Up/' | sort`,
                `ls '${s.appDir}/releases'`,
                `wc -l < '${s.appDir}/deploys.jsonl'`,
                `sha256sum '${s.appDir}/shared/.env' | cut -d' ' -f1`,
            ].join("; "),
        );

    before(async () => {
        s = await createL9Stack("policy", 18500);
        cleanSandboxService(s.serviceName, s.appDir, sandboxFacts().caddyAdmin);
    });

    after(() => {
        if (s) s.removeFromHost();
    });

    it("a compliant stack passes the pack in `pulumi up --policy-pack policies`", () => {
        const r = cli("up", "--yes", "--policy-pack", "policies");
        expect(r.code, r.out).to.equal(0);
        expect(r.out).to.match(/l9-guardrails@v0\.1\.0/);
        expect(r.out).to.not.contain("mandatory");
    });

    it("a mandatory violation (restartPolicy no) blocks the update; nothing on the host changes", async () => {
        const before = hostSnapshot();
        await s.set({ restartPolicy: "no", releaseTag: "v0.2.0-l9" });
        const r = cli("up", "--yes", "--policy-pack", "policies");
        expect(r.code).to.not.equal(0);
        expect(r.out).to.match(/\[mandatory\]\s+container-restart-policy/);
        expect(r.out).to.contain('restart policy "no"');
        expect(hostSnapshot()).to.equal(before);
        expect(sh(`ls '${s.appDir}/releases'`)).to.not.contain("v0.2.0-l9");
    });

    it("the same preview without the violation passes (the block was the policy, not the release)", async () => {
        await s.set({ restartPolicy: "unless-stopped" });
        const r = cli("preview", "--policy-pack", "policies");
        expect(r.code, r.out).to.equal(0);
    });
});
