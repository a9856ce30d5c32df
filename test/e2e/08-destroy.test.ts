import { expect } from "chai";
import { createL9Stack, L9TestStack } from "../support/l9-stack";
import { cleanSandboxService, sandboxFacts, sh } from "../support/sandbox";

/**
 * `pulumi destroy` undoes the whole deployment: after release → rollback → destroy the host
 * is as it was before the first deploy, except the deploy log, which is kept on purpose
 * (README, "Destroy").
 */
describe("e2e: destroy leaves the host as it was, but for the deploy log", function () {
    this.timeout(20 * 60 * 1000);
    let s: L9TestStack;
    let initial = "";
    const metricsDir = "/var/lib/l9-sandbox/metrics-destroy";

    /** Everything the service can leave on the host, as text. */
    const snapshot = () =>
        sh(
            [
                `docker ps -a --filter 'label=l9.service=${s.serviceName}' --format '{{.Names}} {{.Image}}' | sort`,
                `docker image ls --filter 'label=l9.service=${s.serviceName}' --format '{{.Repository}}:{{.Tag}}' | sort`,
                `curl -s 'http://${sandboxFacts().caddyAdmin}/config/apps/http/servers/${s.serviceName}'`,
                `find '${s.appDir}' ! -path '${s.appDir}' ! -name deploys.jsonl 2>/dev/null | sort`,
                `ls /etc/cron.d | grep -F '${s.serviceName}-' || true`,
                `ls -d '/var/lib/l9-deploy/${s.serviceName}' 2>/dev/null || true`,
                `ls '${metricsDir}' 2>/dev/null || true`,
            ].join("; echo ---; "),
        );

    before(async () => {
        s = await createL9Stack("destroy", 19100);
        cleanSandboxService(s.serviceName, s.appDir, sandboxFacts().caddyAdmin);
        sh(`rm -rf '${metricsDir}'`);
        initial = snapshot();
    });

    after(async () => {
        if (s) s.destroy();
    });

    it("release, rollback, destroy: the host snapshot is what it was before the first deploy", async () => {
        for (const tag of ["v0.1.0-l9", "v0.2.0-l9", "v0.1.0-l9"]) {
            await s.set({ releaseTag: tag });
            const r = await s.up();
            expect(r.ok, `${tag}: ${r.error}`).to.equal(true);
        }
        expect(snapshot()).to.not.equal(initial);
        const records = sh(`wc -l < '${s.appDir}/deploys.jsonl'`).trim();

        const d = s.destroy();
        expect(d.code, d.out).to.equal(0);
        expect(snapshot()).to.equal(initial);
        // Kept on purpose: the deploy log, and appDir that holds it.
        expect(sh(`ls -A '${s.appDir}'`).trim()).to.equal("deploys.jsonl");
        expect(sh(`wc -l < '${s.appDir}/deploys.jsonl'`).trim()).to.equal(records);
        expect(Object.keys(await s.stack.outputs())).to.deep.equal([]);
    });
});
