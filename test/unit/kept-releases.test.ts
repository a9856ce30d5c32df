import { expect } from "chai";
import { KeptImage, parseKeptReleases } from "../../host-scripts/kept-releases";
import { describePlan } from "../../plan/rollout";
import { keptAfterUpdate } from "../../plan/releases";
import { parseServingFacts, reconcileWithHost } from "../../state/host-record";
import { DeployState, parseDeployState, planRelease, SlotRelease } from "../../state/slot-machine";
import { buildProgramGraph, mockCommit, mockImageId, ProgramGraph } from "./program-under-mocks";

const kept = (tag: string, builtAt: string): KeptImage => ({ tag, commit: mockCommit(tag), imageId: mockImageId(tag), builtAt });
const release = (tag: string, extra: Partial<SlotRelease> = {}): SlotRelease => ({ tag, envFingerprint: "fp", networkMode: "bridge", ...extra });

describe("unit: a rollback to any kept release, without a checkout or build", function () {
    this.timeout(60_000);
    // v0.3 serves from green, v0.2 is the standby; v0.1's image is still on the host.
    const serving: DeployState = { slots: { blue: release("v0.2.0-l9"), green: release("v0.3.0-l9") }, active: "green" };
    const onHost = [kept("v0.3.0-l9", "2026-12-03T10:00:00Z"), kept("v0.2.0-l9", "2026-12-02T10:00:00Z"), kept("v0.1.0-l9", "2026-12-01T10:00:00Z")];
    const keptTags = new Set(onHost.map((k) => k.tag));

    describe("what the host keeps (host-scripts/kept-releases.ts)", () => {
        it("reads the kept lines among others, newest build first, skipping malformed ones and repeats", () => {
            const line = (k: KeptImage) => `kept=${k.tag} ${k.commit} ${k.imageId} ${k.builtAt}`;
            const text = [
                "routing=green",
                line(onHost[2]),
                line(onHost[0]),
                "kept=v9-l9 nocommit sha256:00 2026-12-01T00:00:00Z",
                `kept=v8-l9 ${mockCommit("v8")} ${mockImageId("v8")}`,
                line(onHost[1]),
                line({ ...onHost[1], builtAt: "2026-01-01T00:00:00Z" }),
            ].join("\n");
            expect(parseKeptReleases(text)).to.deep.equal(onHost);
            expect(parseServingFacts(`routing=blue\n${line(onHost[0])}\n`, "l9")?.kept).to.deep.equal([onHost[0]]);
        });
    });

    describe("the plan (state/slot-machine.ts)", () => {
        it("a kept release goes into the standby slot from its image; a new one is built", () => {
            const back = planRelease(serving, release("v0.1.0-l9"), keptTags);
            expect(back.transition).to.equal("release-to-standby");
            expect(back.next.slots.blue).to.deep.equal(release("v0.1.0-l9", { fromKeptImage: true }));
            expect(describePlan(back, "v0.1.0-l9")).to.equal("release-to-standby (v0.1.0-l9 → blue), from its image kept on the host: no checkout, no build");
            const fresh = planRelease(serving, release("v0.4.0-l9"), keptTags);
            expect(fresh.next.slots.blue).to.deep.equal(release("v0.4.0-l9"));
            expect(describePlan(fresh, "v0.4.0-l9")).to.equal(
                "release-to-standby (v0.4.0-l9 → blue), checked out and built on the host (unless its image is there)",
            );
            expect(describePlan(planRelease(serving, release("v0.2.0-l9"), keptTags), "v0.2.0-l9")).to.equal("switch-to-standby (v0.2.0-l9 → blue)");
        });

        it("the flag is not the release's identity, and stays with the tag while it is in a slot", () => {
            const afterBack = planRelease(serving, release("v0.1.0-l9"), keptTags).next;
            // Unchanged: nothing moves, the slot keeps its flag.
            const again = planRelease(afterBack, release("v0.1.0-l9"), keptTags);
            expect(again.transition).to.equal("unchanged");
            expect(again.next.slots.blue?.fromKeptImage).to.equal(true);
            // An env change of the serving tag keeps that tag's kind (one checkout and image per tag).
            const envChange = planRelease(afterBack, release("v0.1.0-l9", { envFingerprint: "fp2" }), new Set());
            expect(envChange.next.slots.green).to.deep.equal(release("v0.1.0-l9", { envFingerprint: "fp2", fromKeptImage: true }));
            const builtEnvChange = planRelease(serving, release("v0.3.0-l9", { envFingerprint: "fp2" }), keptTags);
            expect(builtEnvChange.next.slots.blue?.fromKeptImage).to.equal(undefined);
            // The standby's tag with another env: it replaces the standby, and keeps its kind (built, its worktree stays).
            const standbyEnvChange = planRelease(serving, release("v0.2.0-l9", { envFingerprint: "fp2" }), keptTags);
            expect(standbyEnvChange.transition).to.equal("release-to-standby");
            expect(standbyEnvChange.next.slots.blue).to.deep.equal(release("v0.2.0-l9", { envFingerprint: "fp2" }));
            // Read back from the stack's output as it was written; anything but true is no flag.
            expect(parseDeployState(JSON.parse(JSON.stringify(afterBack)))).to.deep.equal(afterBack);
            expect(parseDeployState({ active: "blue", slots: { blue: { ...release("v1"), fromKeptImage: "yes" }, green: null } })?.slots.blue).to.deep.equal(
                release("v1"),
            );
        });

        it("a release the host serves keeps the record's kind only for the tag the record names", () => {
            const record: DeployState = { slots: { blue: release("v0.1.0-l9", { fromKeptImage: true }), green: release("v0.3.0-l9") }, active: "green" };
            const facts = (tag: string) =>
                parseServingFacts(`routing=blue\njournal=\nservers={}\ncontainer=/l9-blue ${tag} bridge\ncontainer=/l9-green v0.3.0-l9 bridge\n`, "l9");
            const withJournal = (tag: string) => ({
                ...facts(tag)!,
                journal: { slot: "blue" as const, tag, status: "switching" as const, envFingerprint: "0123456789abcdef" },
            });
            expect(reconcileWithHost(record, withJournal("v0.1.0-l9")).state?.slots.blue?.fromKeptImage).to.equal(true);
            expect(reconcileWithHost(record, withJournal("v0.0.9-l9")).state?.slots.blue?.fromKeptImage).to.equal(undefined);
        });

        it("a release the record does not know takes its kind from the host: a kept image and no worktree is a kept release", () => {
            // The record says v0.3.0 serves from green; the host serves v0.0.9 from blue (an update interrupted after its flip).
            const record: DeployState = { slots: { blue: release("v0.1.0-l9"), green: release("v0.3.0-l9") }, active: "green" };
            const JOURNAL = JSON.stringify({ slot: "blue", tag: "v0.0.9-l9", status: "switching" });
            const kept = `kept=v0.0.9-l9 ${mockCommit("v0.0.9")} ${mockImageId("v0.0.9")} 2026-12-01T00:00:00Z\n`;
            const facts = (extra: string) =>
                parseServingFacts(
                    `routing=blue\njournal=${JOURNAL}\nservers={}\ncontainer=/l9-blue v0.0.9-l9 bridge\ncontainer=/l9-green v0.3.0-l9 bridge\n${extra}`,
                    "l9",
                );
            const reconciled = (extra: string) => reconcileWithHost(record, facts(extra));
            expect(reconciled(kept).disagreement).to.contain("the host serves v0.0.9-l9 from blue");
            expect(reconciled(kept).state?.slots.blue?.fromKeptImage).to.equal(true);
            // Its worktree is there: it was checked out, and stays of that kind.
            expect(facts(`${kept}worktree=v0.0.9-l9\nworktree=v0.3.0-l9\n`)?.worktrees).to.deep.equal(["v0.0.9-l9", "v0.3.0-l9"]);
            expect(reconciled(`${kept}worktree=v0.0.9-l9\n`).state?.slots.blue?.fromKeptImage).to.equal(undefined);
            // No kept image (the mirror does not have its tag at the image's commit): checked out.
            expect(reconciled("").state?.slots.blue?.fromKeptImage).to.equal(undefined);
            // A worktree line that is no tag's name is not read.
            expect(facts("worktree=-x\nworktree=a b\n")?.worktrees).to.deep.equal([]);
        });
    });

    describe("what can be returned to after the update (plan/releases.ts)", () => {
        it("the switch keeps the newest imagesToKeep images and those in the slots; a build is the newest", () => {
            const back = planRelease(serving, release("v0.1.0-l9"), keptTags);
            expect(keptAfterUpdate(onHost, back, 3).map((k) => k.tag)).to.deep.equal(["v0.2.0-l9"]);
            const older = [...onHost, kept("v0.0.9-l9", "2026-11-30T10:00:00Z"), kept("v0.0.8-l9", "2026-11-29T10:00:00Z")];
            // A new build takes one of the three places: v0.3 and v0.2 stay besides it, v0.2 leaves the slots.
            const fresh = planRelease(serving, release("v0.4.0-l9"), keptTags);
            expect(keptAfterUpdate(older, fresh, 3).map((k) => k.tag)).to.deep.equal(["v0.2.0-l9"]);
            expect(keptAfterUpdate(older, fresh, 5).map((k) => k.tag)).to.deep.equal(["v0.2.0-l9", "v0.1.0-l9", "v0.0.9-l9"]);
            // Nothing switches, nothing is pruned.
            const unchanged = planRelease(serving, release("v0.3.0-l9"), keptTags);
            expect(keptAfterUpdate(older, unchanged, 2).map((k) => k.tag)).to.deep.equal(["v0.1.0-l9", "v0.0.9-l9", "v0.0.8-l9"]);
        });
    });

    describe("the declared resources (mocks)", () => {
        let g: ProgramGraph;
        before(async () => {
            g = await buildProgramGraph({ releaseTag: "v0.1.0-l9" }, serving, [...onHost, kept("v0.0.9-l9", "2026-11-30T10:00:00Z")]);
        });

        it("no worktree and no build for the kept release: one step verifies its tag in the mirror without a fetch and checks its image", () => {
            const names = g.registered.map((r) => r.name);
            expect(names.filter((n) => n.includes("v0.1.0-l9"))).to.have.members(["kept-v0.1.0-l9", "kept-v0.1.0-l9-check"]);
            // The release still in the other slot keeps its checkout and build.
            expect(names).to.include.members(["tag-v0.3.0-l9-verify", "checkout-v0.3.0-l9-worktree", "image-v0.3.0-l9-build"]);
            const check = g.byName("kept-v0.1.0-l9-check").inputs.stdin as string;
            expect(check).to.contain("no fetch").and.contain("no checkout, no build").and.not.contain("git clone").and.not.contain("fetch --quiet");
            expect(g.byName("tag-v0.3.0-l9-verify").inputs.stdin).to.contain("fetch --quiet");
            expect(g.byName("blue-container").inputs.image).to.equal(mockImageId("v0.1.0-l9"));
            // The drift job's script goes to the host as base64: no worktree to check for this release.
            const install = JSON.stringify(g.byName("drift-install").inputs);
            const decoded = (install.match(/[A-Za-z0-9+/=]{200,}/g) ?? []).map((b) => Buffer.from(b, "base64").toString("utf8")).join("\n");
            expect(decoded).to.contain('report worktree ok "none: the release returned from its image kept on the host').and.not.contain("releases/v0.1.0-l9");
        });

        it("the releases output: serving, standby, then the kept images the switch leaves", async () => {
            const releases = await new Promise((resolve) => g.outputs.releases.apply(resolve));
            expect(releases).to.deep.equal([
                { tag: "v0.1.0-l9", commit: mockCommit("v0.1.0-l9"), imageId: mockImageId("v0.1.0-l9"), where: "serving" },
                { tag: "v0.3.0-l9", commit: mockCommit("v0.3.0-l9"), imageId: mockImageId("v0.3.0-l9"), where: "standby" },
                { ...onHost[1], where: "kept" },
            ]);
        });
    });
});
