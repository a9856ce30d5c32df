import { expect } from "chai";
import { createL9Stack, L9TestStack } from "../support/l9-stack";
import { watchTraffic } from "../support/load-loop";
import { cleanSandboxService, httpGet, sandboxFacts, sh, waitFor } from "../support/sandbox";

/**
 * Faults during updates, on the sandbox: each ends with the serving slot serving, a clear
 * error when the update could not finish, and a following `pulumi up` converging.
 */
describe("e2e: faults during updates", function () {
    this.timeout(30 * 60 * 1000);
    let s: L9TestStack;
    const SB = "/var/lib/l9-sandbox";

    const version = () => {
        const r = httpGet(`${s.siteUrl}/version`);
        return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `status ${r.status}`;
    };
    const snapshot = () =>
        sh(
            [
                `docker ps -a --filter 'label=l9.service=${s.serviceName}' --format '{{.ID}} {{.Names}} {{.Image}}' | sort`,
                `ls '${s.appDir}/releases'`,
                `wc -l < '${s.appDir}/deploys.jsonl'`,
                `ls '/var/lib/l9-deploy/${s.serviceName}/caddy'`,
            ].join("; echo ---; "),
        );
    const sandboxUp = () => sh("bash scripts/sandbox.sh up >/dev/null 2>&1");
    const converges = async (tag: string) => {
        const r = await s.up();
        expect(r.ok, `the next up should converge: ${r.error}`).to.equal(true);
        expect(version()).to.equal(tag);
    };

    before(async () => {
        s = await createL9Stack("faults", 18700);
        cleanSandboxService(s.serviceName, s.appDir, sandboxFacts().caddyAdmin);
        const r = await s.up();
        expect(r.ok, r.error).to.equal(true);
    });

    after(async () => {
        sandboxUp();
        if (s) s.removeFromHost();
    });

    it("sshd stopped for a few seconds mid-update: serving continues; the update retries or fails clearly; the next up converges", async () => {
        await s.set({ releaseTag: "v0.2.0-l9" });
        const loop = watchTraffic(`${s.siteUrl}/version`);
        const update = s.up();
        await new Promise((r) => setTimeout(r, 2500));
        sh(`kill $(cat ${SB}/ssh/sshd.pid)`);
        await new Promise((r) => setTimeout(r, 4000));
        sandboxUp();
        const r = await update;
        const report = await loop.stop();
        expect(report.failed, JSON.stringify(report.failed.slice(0, 3))).to.have.length(0);
        if (!r.ok) expect(r.error).to.match(/cannot reach the host over SSH|Connection refused|connect/i);
        await converges("v0.2.0-l9");
    });

    it("Caddy's admin API down at switch time: no switch happens, the error says so, the next up converges", async () => {
        await s.set({ releaseTag: "v0.4.0-l9" });
        const update = s.up();
        const admin = sandboxFacts().caddyAdmin;
        try {
            // v0.4.0 is healthy only after ~8 s: move the admin API away while the gate waits.
            await waitFor(
                "the v0.4.0 container",
                () => sh(`docker ps --filter 'label=l9.service=${s.serviceName}' --filter 'label=l9.tag=v0.4.0-l9' -q`).trim() !== "",
            );
            sh(`curl -fsS -X PATCH -H 'Content-Type: application/json' -d '"127.0.0.1:2999"' 'http://${admin}/config/admin/listen' >/dev/null`);
            const r = await update;
            expect(r.ok).to.equal(false);
            expect(r.error).to.match(/Caddy's admin API does not answer at .*; traffic was not moved/);
            expect(version()).to.equal("v0.2.0-l9");
        } finally {
            sh(`curl -fsS -X PATCH -H 'Content-Type: application/json' -d '"${admin}"' 'http://127.0.0.1:2999/config/admin/listen' >/dev/null 2>&1 || true`);
            await waitFor("the admin API back", () => httpGet(`http://${admin}/config/`).status === 200);
        }
        await converges("v0.4.0-l9");
    });

    it("dockerd restarted during a deploy: containers come back; the update finishes or fails clearly; the next up converges", async () => {
        await s.set({ releaseTag: "v0.2.0-l9" });
        const update = s.up();
        await new Promise((r) => setTimeout(r, 1500));
        // The machine's dockerd only (its pid file): the isolated sandbox hosts run their own.
        sh('pid=$(cat /var/run/docker.pid); kill "$pid"; for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.5; done; exit 1');
        sandboxUp();
        const r = await update;
        if (!r.ok) expect(r.error).to.match(/docker|container|gate|exit/i);
        await waitFor("the site to answer again", () => httpGet(`${s.siteUrl}/version`).status === 200);
        await converges("v0.2.0-l9");
    });

    it("the disk-space preflight trips: refused before anything changes, naming minFreeDiskMb", async () => {
        const before = snapshot();
        await s.set({ minFreeDiskMb: "100000000", releaseTag: "v0.4.0-l9" });
        const r = await s.up();
        expect(r.ok).to.equal(false);
        expect(r.error).to.match(/preflight failed: only \d+ MiB free .* below minFreeDiskMb=100000000/);
        expect(snapshot()).to.equal(before);
        expect(version()).to.equal("v0.2.0-l9");
        await s.set({ minFreeDiskMb: "256", releaseTag: "v0.2.0-l9" });
    });

    it("two `pulumi up` at once: the second is refused by the backend's lock, and the state stays intact", async () => {
        await s.set({ releaseTag: "v0.4.0-l9" });
        const [a, b] = await Promise.all([s.up(), new Promise((r) => setTimeout(r, 300)).then(() => s.up())]);
        const refused = [a, b].filter((x) => !x.ok);
        expect(refused, "exactly one update is refused").to.have.length(1);
        expect(refused[0].error).to.match(/locked|currently (being )?updat|concurrent/i);
        expect([a, b].filter((x) => x.ok)).to.have.length(1);
        const state = await s.stack.exportStack();
        expect((state.deployment as { resources?: unknown[] }).resources?.length ?? 0).to.be.greaterThan(10);
        expect(version()).to.equal("v0.4.0-l9");
        const again = await s.up();
        expect(again.ok, again.error).to.equal(true);
    });

    it("the host key changed: the connection is refused before anything runs", async () => {
        const before = snapshot();
        sh(`cp ${SB}/ssh/host_ed25519 ${SB}/ssh/host_ed25519.keep && cp ${SB}/ssh/host_ed25519.pub ${SB}/ssh/host_ed25519.pub.keep`);
        try {
            sh(
                `rm -f ${SB}/ssh/host_ed25519 ${SB}/ssh/host_ed25519.pub && ` +
                    `ssh-keygen -q -t ed25519 -N '' -f ${SB}/ssh/host_ed25519 && kill $(cat ${SB}/ssh/sshd.pid) && sleep 0.5`,
            );
            sandboxUp();
            await s.set({ releaseTag: "v0.2.0-l9" });
            const r = await s.up();
            expect(r.ok).to.equal(false);
            expect(r.error).to.contain("does not match the pinned hostKey; refusing to connect (nothing ran)");
            expect(snapshot()).to.equal(before);
        } finally {
            sh(
                `mv -f ${SB}/ssh/host_ed25519.keep ${SB}/ssh/host_ed25519 && ` +
                    `mv -f ${SB}/ssh/host_ed25519.pub.keep ${SB}/ssh/host_ed25519.pub && kill $(cat ${SB}/ssh/sshd.pid); sleep 0.5`,
            );
            sandboxUp();
        }
        await converges("v0.2.0-l9");
    });

    const FAILURE_AFTER_SWITCH =
        "a failure after the switch (the drift job cannot be installed): the stack has recorded the switch, " +
        "so the next release goes into the other slot, never the serving one";
    it(FAILURE_AFTER_SWITCH, async () => {
        // Serving v0.2.0, v0.4.0 the warm standby (the tests above). The switch to the standby
        // goes through; installing the drift job, after it, fails (a file where its log's
        // directory goes: nothing else uses it) and the update fails. The stack's deploy state
        // resolves with the switch, not with the update: it is recorded all the same.
        const logs = `${s.appDir}/logs`;
        await s.set({ releaseTag: "v0.4.0-l9" });
        sh(`mv '${logs}' '${logs}.keep' && touch '${logs}'`);
        let failed: Awaited<ReturnType<L9TestStack["up"]>>;
        try {
            failed = await s.up();
        } finally {
            sh(`rm -f '${logs}' && mv '${logs}.keep' '${logs}'`);
        }
        expect(failed.ok).to.equal(false);
        expect(failed.error).to.contain("drift-install");
        expect(version()).to.equal("v0.4.0-l9");
        const serving = () =>
            sh(
                `docker ps --no-trunc --filter 'label=l9.service=${s.serviceName}' --filter 'label=l9.tag=v0.4.0-l9' --format '{{.ID}} {{.Label "l9.slot"}}'`,
            ).trim();
        const servingBefore = serving();
        expect(servingBefore).to.match(/^[0-9a-f]{64} (blue|green)$/);
        expect((await s.stack.outputs()).activeSlot.value, "the outputs name the slot that serves").to.equal(servingBefore.split(" ")[1]);

        // A new release goes into the slot that does not serve, under load.
        await s.set({ releaseTag: "v0.1.0-l9" });
        const loop = watchTraffic(`${s.siteUrl}/version`);
        const r = await s.up();
        const report = await loop.stop();
        expect(r.ok, r.error).to.equal(true);
        expect(report.failed, JSON.stringify(report.failed.slice(0, 3))).to.have.length(0);
        expect(version()).to.equal("v0.1.0-l9");
        // v0.4.0's container was never replaced: it is the warm standby now.
        expect(serving()).to.equal(servingBefore);
    });
});
