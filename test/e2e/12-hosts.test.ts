import { expect } from "chai";
import { EngineEvent } from "@pulumi/pulumi/automation";
import { L9TestStack, resourceSteps } from "../support/l9-stack";
import { createHostsStack } from "../support/multi-host";
import { watchTraffic } from "../support/load-loop";
import { onHost, SandboxHost } from "../support/sandbox";

/** Where each resource's start and finish fall in an update's engine events (an order, not a time). */
function eventOrder(events: EngineEvent[]): { started: (name: string) => number; finished: (name: string) => number } {
    const name = (urn: string) => urn.split("::").pop()!;
    const timeline = events.map((e) =>
        e.resourcePreEvent ? `start ${name(e.resourcePreEvent.metadata.urn)}` : e.resOutputsEvent ? `end ${name(e.resOutputsEvent.metadata.urn)}` : "",
    );
    const at = (entry: string) => {
        const i = timeline.indexOf(entry);
        if (i < 0) throw new Error(`no engine event "${entry}"`);
        return i;
    };
    return { started: (n) => at(`start ${n}`), finished: (n) => at(`end ${n}`) };
}

/**
 * Several isolated sandbox hosts (own sshd and host key, dockerd, Caddy, filesystem: see
 * scripts/sandbox/hosts.sh) behind an edge Caddy with active health checks: a release rolls
 * host by host through the engine's graph.
 */
describe("e2e: rolling releases over several hosts", function () {
    this.timeout(40 * 60 * 1000);
    let s: L9TestStack;
    let hosts: SandboxHost[];
    const edgePort = 19690;
    let edgeUrl: string;
    let removeEdge: (() => void) | undefined;
    const sitePort = () => s.ports.site;

    const versionOn = (h: SandboxHost) => {
        const out = onHost(h.name, `curl -s -m 5 http://127.0.0.1:${sitePort()}/version || true`);
        try {
            return (JSON.parse(out) as { version: string }).version;
        } catch {
            return `no answer (${out.slice(0, 80)})`;
        }
    };
    /** What a host holds for this service: containers, worktrees, deploy records, markers. */
    const snapshot = (h: SandboxHost) =>
        onHost(
            h.name,
            [
                `docker ps -a --filter 'label=l9.service=${s.serviceName}' --format '{{.ID}} {{.Names}} {{.Image}} {{.State}}' | sort`,
                `ls '${s.appDir}/releases' 2>/dev/null || true`,
                `wc -l < '${s.appDir}/deploys.jsonl' 2>/dev/null || echo 0`,
                `ls '/var/lib/l9-deploy/${s.serviceName}/caddy' 2>/dev/null || true`,
                `docker image ls --filter 'label=l9.service=${s.serviceName}' -q | sort -u`,
            ].join("; echo ---; "),
        );
    const hostOutputs = async () =>
        (await s.stack.outputs()).hosts.value as Record<string, { activeSlot: string; tag: string; slots: Record<string, { tag: string } | null> }>;
    const servingTag = (o: { activeSlot: string; slots: Record<string, { tag: string } | null> }) => o.slots[o.activeSlot]?.tag;
    /** Each host's switch (from host `from` on) finished before the next host's preflight started. */
    const expectRolledInOrder = (events: EngineEvent[], from = 0) => {
        const order = eventOrder(events);
        for (let i = from + 1; i < hosts.length; i++) {
            expect(order.finished(`${hosts[i - 1].name}-traffic-caddy`), `${hosts[i - 1].name} switched before ${hosts[i].name} started`).to.be.below(
                order.started(`${hosts[i].name}-host-preflight`),
            );
        }
    };

    /** `pulumi up` under load through the edge: it succeeds and no request fails. */
    const upUnderLoad = async () => {
        const loop = watchTraffic(`${edgeUrl}/version`);
        const r = await s.up();
        await new Promise((res) => setTimeout(res, 1500));
        const report = await loop.stop();
        expect(r.ok, r.error).to.equal(true);
        console.log(`      ${report.total} requests through the edge, ${report.failed.length} failed, versions ${report.versions.join(", ")}`);
        expect(report.failed, JSON.stringify(report.failed.slice(0, 3))).to.have.length(0);
        return { r, report };
    };

    before(async () => {
        const made = await createHostsStack("hosts", 19600, edgePort, { batchSize: 1, pauseSeconds: 1 });
        ({ s, hosts, edgeUrl } = made);
        removeEdge = made.removeEdge;
        expect(hosts.length).to.be.at.least(3);
    });

    const GROWS_INTO_HOSTS =
        "a single-host stack grows into hosts: the first host keeps every resource as it is, the others get their first deploy, one after the other";
    it(GROWS_INTO_HOSTS, async () => {
        const [first] = hosts;
        const hostsConfig = (await s.stack.getConfig("l9-deploy:hosts")).value;
        await s.stack.removeConfig("l9-deploy:hosts");
        await s.set({ host: first.host, sshPort: String(first.sshPort), hostKey: first.hostKey });
        const single = await s.up();
        expect(single.ok, single.error).to.equal(true);
        expect(versionOn(first)).to.equal("v0.1.0-l9");
        const before = snapshot(first);

        for (const key of ["host", "hostKey", "sshPort"]) await s.stack.removeConfig(`l9-deploy:${key}`);
        await s.set({ hosts: hostsConfig });
        // As the README's runbook says: this one update without the refresh (a Pulumi engine
        // assertion fails on refreshing a resource found by its alias).
        const grown = s.cli(["up", "--yes", "--skip-preview", "--refresh=false"]);
        expect(grown.code, grown.out.slice(-4000)).to.equal(0);
        expect(grown.out).to.match(/growing from one host to several/);
        // The first host: nothing is created, replaced, updated or deleted on it (its two
        // providers are renamed, which the display does not list), and it runs the same containers.
        const changed = grown.out.split("\n").filter((l) => /^ *(\+|-|~|\+-|-\+|\+\+|--) +\S+ +\S+ +(created|deleted|updated|replaced)/.test(l));
        const onFirst = changed.filter((l) => !hosts.slice(1).some((h) => l.includes(` ${h.name}-`) || l.includes(` l9-${h.name} `)));
        expect(changed.length, "the other hosts' first deploys are listed").to.be.above(20);
        expect(onFirst, grown.out.slice(-4000)).to.deep.equal([]);
        expect(snapshot(first)).to.equal(before);
        for (const h of hosts) expect(versionOn(h), h.name).to.equal("v0.1.0-l9");
        const again = await s.up();
        expect(resourceSteps(again.events).filter((step) => !/^(same|refresh|read) /.test(step))).to.deep.equal([]);
    });

    after(() => {
        removeEdge?.();
        if (s) {
            const d = s.destroy();
            if (d.code !== 0) console.log(`destroy of the hosts stack failed:\n${d.out.slice(-3000)}`);
        }
    });

    const ROLLING_UNDER_LOAD =
        "rolls a release host by host under load through the edge: 0 failed requests, each host switched before the next started, outputs per host";
    it(ROLLING_UNDER_LOAD, async () => {
        await s.set({ releaseTag: "v0.2.0-l9" });
        const { r, report } = await upUnderLoad();
        // rollout.pauseSeconds: every host after the first waits after the previous one switched.
        const paused = (h: SandboxHost) =>
            new RegExp(`${h.name}-host-preflight .*rollout: the previous batch switched; waiting 1s before this host`).test(r.stdout);
        expect(hosts.map(paused)).to.deep.equal(hosts.map((_, i) => i > 0));
        expect(report.versions.sort()).to.deep.equal(["v0.1.0-l9", "v0.2.0-l9"]);
        expectRolledInOrder(r.events);
        const out = await hostOutputs();
        expect(Object.keys(out)).to.deep.equal(hosts.map((h) => h.name));
        for (const h of hosts) {
            expect(out[h.name].activeSlot, h.name).to.equal("green");
            expect(servingTag(out[h.name]), h.name).to.equal("v0.2.0-l9");
            expect(out[h.name].tag, h.name).to.equal("v0.2.0-l9");
            expect(versionOn(h), h.name).to.equal("v0.2.0-l9");
        }
    });

    it("on each host the app cannot reach Caddy's admin API: a socket outside its filesystem, and nothing on TCP from its network", () => {
        for (const h of hosts) {
            const container = `${s.serviceName}-green`;
            const pid = onHost(h.name, `docker inspect -f '{{.State.Pid}}' '${container}'`).trim();
            expect(onHost(h.name, `docker inspect -f '{{.HostConfig.NetworkMode}}' '${container}'`).trim(), `${h.name}: a new stack's mode`).to.equal("bridge");
            const gateway = onHost(h.name, `docker inspect -f '{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}' '${container}'`).trim();
            const fromApp = (url: string) => onHost(h.name, `nsenter -t ${pid} -n curl -s -m 3 -o /dev/null -w '%{http_code}' '${url}' || true`).trim();
            expect(fromApp(`http://127.0.0.1:${sitePort()}/version`), `${h.name}: the host's loopback (Caddy's site) from the app`).to.equal("000");
            for (const url of ["http://127.0.0.1:2019/config/", `http://${gateway}:2019/config/`]) expect(fromApp(url), `${h.name}: ${url}`).to.equal("000");
            expect(
                onHost(h.name, `test -S /proc/${pid}/root/run/caddy/admin.sock && echo reachable || echo absent`).trim(),
                `${h.name}: the socket in the app's filesystem`,
            ).to.equal("absent");
            // The control: the socket is there for the host's root.
            expect(onHost(h.name, "test -S /run/caddy/admin.sock && echo present").trim()).to.equal("present");
        }
    });

    it("a host whose preflight fails stops the roll: hosts before it serve the new release, it and the hosts after it are untouched", async () => {
        const [first, broken, last] = hosts;
        const before = { broken: snapshot(broken), last: snapshot(last) };
        // Only this host lacks git (its own filesystem): its preflight fails, the others' pass.
        onHost(broken.name, "mv /usr/bin/git /usr/bin/git.l9-test-off");
        try {
            await s.set({ releaseTag: "v0.4.0-l9" });
            const r = await s.up();
            expect(r.ok).to.equal(false);
            expect(r.error).to.match(new RegExp(`${broken.name}-host-preflight`));
            expect(r.error).to.match(/preflight failed: 'git' is not installed on the host/);
            expect(versionOn(first)).to.equal("v0.4.0-l9");
            expect(versionOn(broken)).to.equal("v0.2.0-l9");
            expect(versionOn(last)).to.equal("v0.2.0-l9");
            expect(snapshot(broken)).to.equal(before.broken);
            expect(snapshot(last)).to.equal(before.last);
            // Nothing that acts on a host ran for the last one (a fact probe's create only records
            // what is declared, on this machine).
            const acted = resourceSteps(r.events).filter(
                (step) => / (command:remote:Command|docker:index:\w+) /.test(step) && step.includes(` ${last.name}-`) && !/^(same|refresh) /.test(step),
            );
            expect(acted).to.deep.equal([]);
        } finally {
            onHost(broken.name, "mv /usr/bin/git.l9-test-off /usr/bin/git");
        }
    });

    it("the previous tag brings every host back by a switch only (no build), under load with 0 failed requests", async () => {
        await s.set({ releaseTag: "v0.2.0-l9" });
        const { r, report } = await upUnderLoad();
        // The first host serves v0.4.0 from the slot the stack recorded as its standby: it is
        // planned from what it serves, so that slot is not replaced under traffic.
        expect(report.versions.sort()).to.deep.equal(["v0.2.0-l9", "v0.4.0-l9"]);
        expect(r.stdout).to.match(
            new RegExp(`${hosts[0].name}: the host serves v0\\.4\\.0-l9 from blue .*the stack's record says v0\\.2\\.0-l9 serves from green`),
        );
        const steps = resourceSteps(r.events);
        const replaced = steps.filter((step) => / docker:index:Container /.test(step) && !/^(same|refresh) /.test(step));
        expect(replaced, steps.join("\n")).to.deep.equal([]);
        expect(
            steps.filter((step) => /-image-/.test(step) && /^(create|replace|create-replacement|update) /.test(step)),
            steps.join("\n"),
        ).to.deep.equal([]);
        // The host that had switched switches back; the others had nothing to do.
        const switched = (h: SandboxHost) => steps.some((step) => step.endsWith(` ${h.name}-traffic-caddy`) && !/^(same|refresh) /.test(step));
        expect(hosts.map(switched)).to.deep.equal([true, false, false]);
        for (const h of hosts) expect(versionOn(h), h.name).to.equal("v0.2.0-l9");
        const out = await hostOutputs();
        for (const h of hosts) expect(servingTag(out[h.name]), h.name).to.equal("v0.2.0-l9");
    });

    it("a host key mismatch on one host refuses it before anything runs on any host", async () => {
        const [first, , last] = hosts;
        const before = hosts.map(snapshot);
        const wrong = hosts.map((h) => ({ name: h.name, host: h.host, sshPort: h.sshPort, hostKey: h.name === last.name ? first.hostKey : h.hostKey }));
        await s.set({ hosts: JSON.stringify(wrong), releaseTag: "v0.1.0-l9" });
        try {
            const r = await s.up();
            expect(r.ok).to.equal(false);
            expect(r.error).to.match(
                new RegExp(
                    `host ${last.name}: preflight failed: ` +
                        `${last.host.replace(/\./g, "\\.")}:${last.sshPort}: ` +
                        `the host's SSH key does not match the pinned hostKey; refusing to connect \\(nothing ran\\)`,
                ),
            );
            expect(r.error).to.not.match(new RegExp(`host ${first.name}:`));
            expect(hosts.map(snapshot)).to.deep.equal(before);
            const ran = resourceSteps(r.events).filter(
                (step) => !/^(same|refresh) /.test(step) && !/ (pulumi:providers|l9:index):/.test(step) && !step.includes("pulumi:pulumi:"),
            );
            expect(ran, ran.join("\n")).to.deep.equal([]);
        } finally {
            await s.set({
                hosts: JSON.stringify(hosts.map((h) => ({ name: h.name, host: h.host, sshPort: h.sshPort, hostKey: h.hostKey }))),
                releaseTag: "v0.2.0-l9",
            });
        }
        const again = await s.up();
        expect(again.ok, again.error).to.equal(true);
    });
});
