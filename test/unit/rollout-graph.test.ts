import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import type { DeployState } from "../../state/slot-machine";
import { buildProgramGraph, ProgramGraph } from "./program-under-mocks";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAoPGInEcbJwN2hI7YAejotVS71LvclAHUXjDM751wdJ";

/** Names of the resources an option's dependsOn lists. */
async function dependencyNames(deps: pulumi.ResourceOptions["dependsOn"]): Promise<string[]> {
    const list = deps === undefined ? [] : Array.isArray(deps) ? deps : [deps];
    const urns = await Promise.all(list.map((d) => new Promise<string>((resolve) => (d as pulumi.Resource).urn.apply(resolve))));
    return urns.map((u) => u.split("::").pop()!);
}

/** Resolves an output of the stack (plain values pass through). */
function resolved<T>(value: unknown): Promise<T> {
    return new Promise((resolve) => pulumi.output(value as pulumi.Input<T>).apply((v) => resolve(v as T)));
}

/**
 * What index.ts declares from a plan of several hosts (components/rollout.ts), with Pulumi's
 * mocks: children named per host, batches chained by their switches, the stack's outputs.
 */
describe("unit: a roll over several hosts, declared from its plan (mocks)", function () {
    this.timeout(60_000);
    let g: ProgramGraph;
    const previous: DeployState = { slots: { blue: { tag: "v0.1.0-l9", envFingerprint: "fp", networkMode: "bridge" }, green: null }, active: "blue" };

    before(async () => {
        const hosts = ["web-1", "web-2", "web-3"].map((name, i) => ({ name, host: `203.0.113.${10 + i}`, hostKey: KEY }));
        g = await buildProgramGraph(
            {
                host: undefined,
                hostKey: undefined,
                hosts: JSON.stringify(hosts),
                rollout: JSON.stringify({ batchSize: 2, pauseSeconds: 30 }),
                releaseTag: "v0.2.0-l9",
            },
            previous,
        );
    });

    it("names each runtime and its children after the host", () => {
        expect(g.runtimes.length).to.equal(3);
        const names = g.registered.map((r) => r.name);
        for (const host of ["web-1", "web-2", "web-3"]) {
            expect(names, host).to.include.members([
                `${host}-host-preflight`,
                `${host}-traffic-gate`,
                `${host}-traffic-caddy`,
                `${host}-green-container`,
                `${host}-drift-install`,
            ]);
        }
        expect(names.filter((n) => n.startsWith("l9")).sort()).to.deep.equal(["l9-web-1", "l9-web-2", "l9-web-3"]);
        // Nothing else is named without its host: two hosts never collide.
        expect(names.filter((n) => !/^(l9-)?web-[123]-?/.test(n) && n !== "root")).to.deep.equal([]);
    });

    it("chains the batches: the second batch's preflight waits for the first batch's switches, after the pause", async () => {
        expect(await dependencyNames(g.options.get("web-1-host-preflight")?.dependsOn)).to.deep.equal([]);
        expect(await dependencyNames(g.options.get("web-2-host-preflight")?.dependsOn)).to.deep.equal([]);
        expect(await dependencyNames(g.options.get("web-3-host-preflight")?.dependsOn)).to.have.members(["web-1-traffic-caddy", "web-2-traffic-caddy"]);
        const pause = (host: string) => String(g.byName(`${host}-host-preflight`).inputs.stdin).includes("sleep 30");
        expect([pause("web-1"), pause("web-2"), pause("web-3")]).to.deep.equal([false, false, true]);
    });

    it("lets the first host answer to its single-host names, and only the first", () => {
        const aliasNames = (name: string) => (g.options.get(name)?.aliases ?? []).map((a) => (a as { name?: string }).name);
        expect(aliasNames("l9-web-1")).to.deep.equal(["l9"]);
        expect(aliasNames("web-1-traffic-gate")).to.deep.equal(["traffic-gate"]);
        expect(aliasNames("web-1-host-preflight")).to.deep.equal(["host-preflight"]);
        // Providers keep their new names: the first host keeps the single-host connections' settings.
        expect(aliasNames("web-1-host-docker")).to.deep.equal([]);
        expect(aliasNames("l9-web-2")).to.deep.equal([]);
        expect(aliasNames("web-2-traffic-gate")).to.deep.equal([]);
    });

    it("outputs each host's release and one deployState of every host", async () => {
        const hosts = await resolved<Record<string, { address: string; transition: string; activeSlot: string }>>(g.stack.hosts);
        expect(Object.keys(hosts)).to.deep.equal(["web-1", "web-2", "web-3"]);
        expect(hosts["web-3"]).to.include({ address: "203.0.113.12:22", transition: "release-to-standby", activeSlot: "green" });
        const state = await resolved<{ hosts: Record<string, DeployState> }>(g.stack.deployState);
        expect(Object.keys(state.hosts)).to.deep.equal(["web-1", "web-2", "web-3"]);
        expect(state.hosts["web-2"].active).to.equal("green");
        expect(await resolved(g.stack.deployedBy)).to.equal("ops@example.com");
    });
});
