import { expect } from "chai";
import { parseHostStates } from "../../state/previous-state";
import { DeployState, parseDeployState, planRelease } from "../../state/slot-machine";

const r = (tag: string, envFingerprint = "e1") => ({ tag, envFingerprint });

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
