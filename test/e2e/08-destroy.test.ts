import { expect } from "chai";
import { createL9Stack, L9TestStack } from "../support/l9-stack";
import { cleanSandboxService, sandboxFacts, sh } from "../support/sandbox";
import { caddyServerName } from "../../host-scripts/routing";

/**
 * `pulumi destroy` undoes the whole deployment: after release → rollback → a serviceName
 * rename → destroy the host is as it was before the first deploy, except the deploy log,
 * which is kept on purpose (README, "Destroy").
 */
describe("e2e: destroy leaves the host as it was, but for the deploy log", function () {
    this.timeout(20 * 60 * 1000);
    let s: L9TestStack;
    let initial = "";
    const metricsDir = "/var/lib/l9-sandbox/metrics-destroy";

    /** Everything the service (and the name it is renamed to) can leave on the host, as text. */
    const snapshot = () =>
        sh(
            [
                ...[s.serviceName, renamed()].flatMap((name) => [
                    `docker ps -a --filter 'label=l9.service=${name}' --format '{{.Names}} {{.Image}}' | sort`,
                    `docker image ls --filter 'label=l9.service=${name}' --format '{{.Repository}}:{{.Tag}}' | sort`,
                    `curl -s 'http://${sandboxFacts().caddyAdmin}/config/apps/http/servers/${caddyServerName(name)}'`,
                    `ls /etc/cron.d | grep -F '${name}-' || true`,
                    `ls -d '/var/lib/l9-deploy/${name}' 2>/dev/null || true`,
                ]),
                `find '${s.appDir}' ! -path '${s.appDir}' ! -name deploys.jsonl 2>/dev/null | sort`,
                `ls '${metricsDir}' 2>/dev/null || true`,
            ].join("; echo ---; "),
        );
    const renamed = () => `${s.serviceName}r`;

    before(async () => {
        s = await createL9Stack("destroy", 19100);
        cleanSandboxService(s.serviceName, s.appDir, sandboxFacts().caddyAdmin);
        cleanSandboxService(renamed(), s.appDir, sandboxFacts().caddyAdmin);
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
        // The service's Caddy server carries l9-deploy's prefix (never a name someone else chose).
        expect(sh(`curl -s 'http://${sandboxFacts().caddyAdmin}/config/apps/http/servers/${caddyServerName(s.serviceName)}'`)).to.contain(
            `"127.0.0.1:${s.ports.site}"`,
        );

        // A rename in the same stack and appDir, on its own address (on the old one it is
        // refused: e2e 05): the new name serves, and the old name's cleanup leaves its files.
        const oldName = s.serviceName;
        const newSite = `127.0.0.1:${s.ports.site + 1}`;
        await s.set({ serviceName: renamed(), caddyListen: newSite });
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
        expect(sh(`curl -s -m 5 http://${newSite}/version`)).to.contain("v0.1.0-l9");
        expect(sh(`cat '${s.appDir}/.l9-deploy-owner'`).trim()).to.match(new RegExp(` ${renamed()}$`));
        for (const kept of ["shared/.env", "repo.git", "releases/v0.1.0-l9", "releases/v0.2.0-l9", "state/active.json", "bin/drift-check"]) {
            expect(sh(`test -e '${s.appDir}/${kept}' && echo kept || echo gone`).trim(), kept).to.equal("kept");
        }
        expect(sh(`docker ps -a --filter 'label=l9.service=${oldName}' -q | wc -l`).trim(), "the old name's containers").to.equal("0");
        expect(
            sh(`curl -s 'http://${sandboxFacts().caddyAdmin}/config/apps/http/servers/${caddyServerName(oldName)}'`).trim(),
            "the old name's Caddy server",
        ).to.equal("null");
        const again = await s.stack.preview({ color: "never", expectNoChanges: true });
        expect(again.changeSummary.update ?? 0).to.equal(0);

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
