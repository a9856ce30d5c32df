import { expect } from "chai";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { sandboxFacts, sh, shStatus } from "../support/sandbox";
import { pulumiTestEnv, REPO_ROOT } from "../support/toolchain";

/**
 * The toolchain end to end: the real CLI, the Node language host, the command, docker and
 * random plugins and the project's host probes' plugin (providers/l9host) drive one of each
 * l9-deploy resource kind against the sandbox VPS.
 */
describe("e2e: toolchain smoke against the sandbox", function () {
    this.timeout(10 * 60 * 1000);
    let stack: Stack;
    const port = 18990;
    const workDir = "/tmp/l9-smoke-e2e";

    before(async () => {
        const sb = sandboxFacts();
        const { envVars } = pulumiTestEnv("smoke");
        const src = sh("mktemp -d").trim();
        sh(
            `git clone -q --branch v0.1.0-l9 '${sb.repoUrl}' '${src}/app' 2>/dev/null && ` +
                `docker build -q -t l9-smoke:e2e '${src}/app' >/dev/null && rm -rf '${src}'`,
        );
        const image = sh("docker image inspect -f '{{.Id}}' l9-smoke:e2e").trim();
        sh(`rm -f '${path.join(REPO_ROOT, "test/e2e/smoke-program/Pulumi.smoke.yaml")}'`); // from an earlier run
        stack = await LocalWorkspace.createOrSelectStack({ stackName: "smoke", workDir: path.join(REPO_ROOT, "test/e2e/smoke-program") }, { envVars });
        await stack.setAllConfig({
            host: { value: sb.host },
            port: { value: String(sb.sshPort) },
            user: { value: sb.sshUser },
            hostKey: { value: sb.hostKey },
            privateKey: { value: sb.privateKey, secret: true },
            workDir: { value: workDir },
            image: { value: image },
            containerPort: { value: String(port) },
        });
    });

    after(async () => {
        if (stack) await stack.destroy({ onOutput: () => undefined }).catch(() => undefined);
    });

    it("creates a remote command, a container and a random id with `up`", async () => {
        const up = await stack.up({ onOutput: () => undefined });
        expect(up.summary.result).to.equal("succeeded");
        const hex = up.outputs.randomHex.value as string;
        expect(hex).to.match(/^[0-9a-f]{8}$/);
        expect(up.outputs.kernel.value).to.equal("Linux");
        expect(sh(`cat ${workDir}/marker`).trim()).to.equal(hex);
        const name = up.outputs.containerName.value as string;
        expect(sh(`docker inspect -f '{{.State.Running}}' '${name}'`).trim()).to.equal("true");
        // The container answers on loopback (host network, PORT from the secret env).
        sh(`for i in $(seq 1 30); do curl -fsS http://127.0.0.1:${port}/health && exit 0; sleep 1; done; exit 1`);
    });

    it("reports no changes on `preview --refresh --expect-no-changes` right after", async () => {
        const preview = await stack.preview({ refresh: true, expectNoChanges: true, onOutput: () => undefined });
        expect(preview.changeSummary.update ?? 0).to.equal(0);
        expect(preview.changeSummary.create ?? 0).to.equal(0);
    });

    it("sees a stopped container and an edited file on refresh, and heals both with `up`", async () => {
        const name = (await stack.outputs()).containerName.value as string;
        sh(`docker stop -t 1 '${name}' >/dev/null && echo tampered > ${workDir}/marker`);
        let failure = "";
        try {
            await stack.preview({ refresh: true, expectNoChanges: true, diff: true, onOutput: () => undefined });
        } catch (e) {
            failure = String(e);
        }
        expect(failure).to.contain("no changes were expected");
        expect(failure).to.contain("smoke-container");
        expect(failure).to.contain("smoke-marker");
        await stack.up({ refresh: true, onOutput: () => undefined });
        expect(sh(`docker inspect -f '{{.State.Running}}' '${name}'`).trim()).to.equal("true");
        expect(sh(`cat ${workDir}/marker`).trim()).to.not.equal("tampered");
        await stack.preview({ refresh: true, expectNoChanges: true, onOutput: () => undefined });
    });

    it("removes everything with `destroy`", async () => {
        const name = (await stack.outputs()).containerName.value as string;
        await stack.destroy({ onOutput: () => undefined });
        expect(shStatus(`docker inspect '${name}'`)).to.not.equal(0);
        expect(shStatus(`test -e ${workDir}`)).to.not.equal(0);
    });
});
