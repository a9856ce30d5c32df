import { expect } from "chai";
import { parseHostStates } from "../../state/previous-state";
import { DeployState, NetworkMode, parseDeployState, planRelease, resolveNetworkMode } from "../../state/slot-machine";

const r = (tag: string, envFingerprint = "e1", networkMode: NetworkMode = "bridge") => ({ tag, envFingerprint, networkMode });

describe("unit: two-slot state machine", () => {
    it("puts the first release in blue", () => {
        const p = planRelease(undefined, r("v1"));
        expect(p.transition).to.equal("first-deploy");
        expect(p.next).to.deep.equal({ slots: { blue: r("v1"), green: null }, active: "blue" });
        expect(p.replaced).to.equal("blue");
    });

    it("changes nothing when the release is already serving", () => {
        const s: DeployState = { slots: { blue: r("v1"), green: r("v0") }, active: "blue" };
        const p = planRelease(s, r("v1"));
        expect(p.transition).to.equal("unchanged");
        expect(p.next).to.deep.equal(s);
        expect(p.replaced).to.equal(null);
        expect(p.target).to.equal("blue");
    });

    it("switches back to the standby without replacing anything (rollback)", () => {
        const s: DeployState = { slots: { blue: r("v2"), green: r("v1") }, active: "blue" };
        const p = planRelease(s, r("v1"));
        expect(p.transition).to.equal("switch-to-standby");
        expect(p.target).to.equal("green");
        expect(p.replaced).to.equal(null);
        expect(p.next.slots).to.deep.equal(s.slots);
        expect(p.previousActive).to.equal("blue");
    });

    it("releases a new tag into the idle slot and never touches the serving one", () => {
        const s: DeployState = { slots: { blue: r("v1"), green: r("v0") }, active: "blue" };
        const p = planRelease(s, r("v2"));
        expect(p.transition).to.equal("release-to-standby");
        expect(p.target).to.equal("green");
        expect(p.replaced).to.equal("green");
        expect(p.next.slots.blue).to.deep.equal(r("v1"));
        expect(p.next.slots.green).to.deep.equal(r("v2"));
    });

    it("treats an env change of the serving tag as a release", () => {
        const s: DeployState = { slots: { blue: r("v1", "e1"), green: null }, active: "blue" };
        const p = planRelease(s, r("v1", "e2"));
        expect(p.transition).to.equal("release-to-standby");
        expect(p.replaced).to.equal("green");
    });

    it("reads its state back from an output and rejects garbage", () => {
        expect(parseDeployState(undefined)).to.equal(undefined);
        const s = { slots: { blue: r("v1"), green: null }, active: "blue" };
        expect(parseDeployState(s)).to.deep.equal(s);
        expect(() => parseDeployState({ slots: {}, active: "red" })).to.throw(/malformed/);
        expect(() => parseDeployState({ slots: { blue: { tag: 1 } }, active: "blue" })).to.throw(/malformed slot/);
        expect(() => parseDeployState({ slots: { blue: { tag: "v1", envFingerprint: "e1", networkMode: "macvlan" } }, active: "blue" })).to.throw(
            /malformed slot/,
        );
        // A state written before the network mode was recorded: host, the default then.
        expect(parseDeployState({ slots: { blue: { tag: "v1", envFingerprint: "e1" }, green: null }, active: "blue" })?.slots.blue).to.deep.equal(
            r("v1", "e1", "host"),
        );
    });

    it("treats a network mode change of the serving release as a release into the standby, which keeps its own", () => {
        const s: DeployState = { slots: { blue: r("v1", "e1", "host"), green: r("v0", "e1", "host") }, active: "blue" };
        const p = planRelease(s, r("v1", "e1", "bridge"));
        expect(p.transition).to.equal("release-to-standby");
        expect(p.replaced).to.equal("green");
        expect(p.next.slots).to.deep.equal({ blue: r("v1", "e1", "host"), green: r("v1", "e1", "bridge") });
        // Back to the previous tag in the mode it ran with: a switch; in the other mode: a release.
        expect(planRelease(p.next, r("v1", "e1", "host")).transition).to.equal("switch-to-standby");
        expect(planRelease(p.next, r("v2", "e1", "bridge")).replaced).to.equal("blue");
    });

    it("resolves the network mode: configured wins; unset, a deployed stack keeps its serving mode, a new one gets bridge", () => {
        const hostStack: DeployState = { slots: { blue: r("v1", "e1", "host"), green: r("v0", "e1", "bridge") }, active: "blue" };
        const bridgeStack: DeployState = { slots: { blue: r("v1", "e1", "host"), green: r("v0", "e1", "bridge") }, active: "green" };
        expect(resolveNetworkMode(undefined, [undefined])).to.deep.equal({ mode: "bridge" });
        expect(resolveNetworkMode(undefined, [bridgeStack])).to.deep.equal({ mode: "bridge" });
        expect(resolveNetworkMode("bridge", [hostStack])).to.deep.equal({ mode: "bridge" });
        const kept = resolveNetworkMode(undefined, [undefined, hostStack]);
        expect(kept.mode).to.equal("host");
        expect(kept.warning).to.match(/^networkMode is not set and this stack serves with host .*Caddy's admin API.*Fix: pulumi config set networkMode bridge/);
        const chosen = resolveNetworkMode("host", [undefined]);
        expect(chosen.mode).to.equal("host");
        expect(chosen.warning).to.match(/^networkMode is host: the app's containers share the host's network/);
        // Hosts that serve with different modes, networkMode unset: the first host's, said so.
        const mixed = resolveNetworkMode(undefined, [bridgeStack, hostStack]);
        expect(mixed.mode).to.equal("bridge");
        expect(mixed.warning).to.equal(
            "the hosts serve with different network modes (host and bridge) and networkMode is not set, " +
                "so every host gets the first host's, bridge: set networkMode to choose.",
        );
        expect(resolveNetworkMode(undefined, [hostStack, bridgeStack]).warning).to.match(
            new RegExp(
                /^the hosts serve with different .* gets the first host's, host: set networkMode to choose\. /.source +
                    /networkMode is not set and this stack serves with host/.source,
            ),
        );
        expect(resolveNetworkMode("bridge", [hostStack, bridgeStack])).to.deep.equal({ mode: "bridge" });
    });

    it("reads one state per host from a multi-host output, and a single-host output as one state", () => {
        const a = { slots: { blue: r("v1"), green: r("v2") }, active: "green" };
        const b = { slots: { blue: r("v1"), green: null }, active: "blue" };
        expect(parseHostStates({ hosts: { "web-1": a, "web-2": b } })).to.deep.equal({ byName: { "web-1": a, "web-2": b } });
        expect(parseHostStates(a)).to.deep.equal({ single: a, byName: {} });
        expect(parseHostStates(undefined)).to.deep.equal({ single: undefined, byName: {} });
        expect(() => parseHostStates({ hosts: { "web-1": { active: "red", slots: {} } } })).to.throw(/malformed/);
        expect(() => parseHostStates({ hosts: 3 })).to.throw(/malformed/);
    });
});
