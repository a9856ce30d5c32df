import { expect } from "chai";
import type { PolicyResource, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import * as rules from "../../policies/rules";
import type { DeployState } from "../../state/slot-machine";
import { buildProgramGraph, Registered } from "./program-under-mocks";

/**
 * The policy rules, judged on resources the program really declares for configurations the
 * schema accepts (built under Pulumi's mocks): each rule passes the default release and
 * refuses a real one.
 */

/** The ResourceValidationArgs the engine would hand a policy for a registered resource. */
function resourceArgs(r: Registered): ResourceValidationArgs {
    const props = JSON.parse(JSON.stringify(r.inputs, (_k, v) => (v && typeof v === "object" && "4dabf18193072939515e22adb298388d" in v ? v.value : v)));
    return {
        type: r.type,
        name: r.name,
        urn: `urn:pulumi:unit::l9-deploy::${r.type}::${r.name}`,
        props,
        opts: {
            protect: false,
            ignoreChanges: [],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
            parent: undefined,
            dependencies: [],
        } as never,
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: () => ({}) as never,
        notApplicable: (reason?: string): never => {
            throw new Error(`not applicable: ${reason}`);
        },
    } as unknown as ResourceValidationArgs;
}

/** Every report of the pack's rules over a program's resources. */
async function judge(raw: Record<string, string | undefined>, previous?: DeployState): Promise<string[]> {
    const g = await buildProgramGraph(raw, previous);
    const found: string[] = [];
    for (const r of g.registered) {
        for (const policy of rules.resourcePolicies) {
            (policy.validateResource as (a: ResourceValidationArgs, report: (m: string) => void) => void)(resourceArgs(r), (m) =>
                found.push(`${policy.name}: ${m}`),
            );
        }
    }
    const stackArgs = {
        resources: g.registered.map((r) => ({ type: r.type, name: r.name, props: resourceArgs(r).props })) as unknown as PolicyResource[],
        stackTags: new Map(),
        getConfig: () => ({}),
        notApplicable: () => undefined as never,
    } as unknown as StackValidationArgs;
    for (const policy of rules.stackPolicies) {
        (policy.validateStack as (a: StackValidationArgs, report: (m: string) => void) => void)(stackArgs, (m) => found.push(`${policy.name}: ${m}`));
    }
    return found;
}

const twoSlots: DeployState = { slots: { blue: { tag: "v1.2.2-l9", envFingerprint: "fp", networkMode: "bridge" }, green: null }, active: "blue" };

describe("unit: policy pack rules on the program's own resources", function () {
    this.timeout(60_000);

    it("the default configuration passes every rule", async () => {
        expect(await judge({}, twoSlots)).to.deep.equal([]);
    });

    it("container-restart-policy (mandatory) refuses restartPolicy=no", async () => {
        const found = await judge({ restartPolicy: "no" });
        expect(found).to.deep.equal([
            'container-restart-policy: blue-container has restart policy "no": use unless-stopped (pulumi config set restartPolicy unless-stopped).',
        ]);
        expect(rules.containerRestartPolicy.enforcementLevel).to.equal("mandatory");
    });

    it("container-release-image (mandatory) refuses a tag the schema's tagPattern allows but that is not semantic", async () => {
        const found = await judge({ tagPattern: "^release-\\d+$", releaseTag: "release-7" });
        expect(found.join("\n")).to.match(/^container-release-image: blue-container runs release "release-7", which is not a semantic release tag/);
        expect(rules.containerReleaseImage.enforcementLevel).to.equal("mandatory");
    });

    it("old-images-pruned (advisory) reports keeping more than 10 images", async () => {
        expect(await judge({ imagesToKeep: "20" })).to.deep.equal([
            "old-images-pruned: traffic-caddy keeps 20 images: more than 10 fills disks (pulumi config set imagesToKeep 3).",
        ]);
        expect(rules.oldImagesPruned.enforcementLevel).to.equal("advisory");
    });

    it("warm-standby-kept (advisory) reports standby=stopped", async () => {
        expect(await judge({ standby: "stopped" }, twoSlots)).to.deep.equal([
            "warm-standby-kept: only 1 of 2 slots are kept running: a rollback will need a restart (standby=warm keeps one ready).",
        ]);
        expect(rules.warmStandbyKept.enforcementLevel).to.equal("advisory");
    });

    it("container-network-isolated (advisory) reports a slot in host network mode, also one that keeps it until its next release", async () => {
        const advice = (color: string) =>
            `container-network-isolated: ${color}-container shares the host's network: ` +
            `the app can reach Caddy's admin API on 127.0.0.1 and listen on any host port ` +
            `(pulumi config set networkMode bridge; a slot that receives no release keeps its mode until its next one).`;
        // The release goes to green in host mode; blue keeps bridge.
        expect(await judge({ networkMode: "host" }, twoSlots)).to.deep.equal([advice("green")]);
        const hostStack: DeployState = { slots: { blue: { ...twoSlots.slots.blue!, networkMode: "host" }, green: null }, active: "blue" };
        expect(await judge({ networkMode: "bridge" }, hostStack)).to.deep.equal([advice("blue")]);
        expect(rules.containerNetworkIsolated.enforcementLevel).to.equal("advisory");
    });
});
