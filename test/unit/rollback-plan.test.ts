import { expect } from "chai";
import type { KeptImage } from "../../host-scripts/kept-releases";
import { isReleaseTagName } from "../../config/schema";
import { JournalRecord } from "../../host-scripts/journal";
import { parseRollbackFacts, renderRollbackFactsScript, RollbackFacts } from "../../host-scripts/rollback-facts";
import { chooseRollbackTag, describeRollback, rollbackRoute, servingTag } from "../../tools/rollback-plan";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const IMAGE = `sha256:0123456789ab${"cd".repeat(26)}`;

function record(tag: string, status: JournalRecord["status"], extra: Partial<JournalRecord> = {}): JournalRecord {
    return { tag, slot: "blue", status, ...extra };
}
const kept = (tag: string, builtAt = "2026-12-01T10:00:00Z"): KeptImage => ({ tag, commit: COMMIT, imageId: IMAGE, builtAt });
function facts(f: Partial<RollbackFacts> = {}): RollbackFacts {
    return { kept: [], journal: [], slots: {}, ...f };
}

const V1_LIVE = record("v0.1.0-l9", "live", { slot: "green", actor: "ana@laptop", time: "2026-12-06T10:00:00Z" });
const V2_LIVE = record("v0.2.0-l9", "live", { actor: "bo@ci", time: "2026-12-07T09:00:00Z" });

describe("unit: npm run rollback's plan (tools/rollback-plan.ts)", () => {
    it("without a tag: the newest live record of another tag than the one that serves", () => {
        const f = facts({
            journal: [
                record("v0.1.0-l9", "switching", { slot: "green" }),
                V1_LIVE,
                record("v0.2.0-l9", "switching"),
                V2_LIVE,
                // Never served as a release: skipped.
                record("v0.3.0-l9", "switching", { slot: "green" }),
                record("v0.3.0-l9", "switched-back", { slot: "green" }),
                record("v0.4.0-l9", "failed-after-switch", { slot: "green" }),
                // The serving tag again (an env change): skipped.
                record("v0.2.0-l9", "live", { slot: "green", time: "2026-12-08T09:00:00Z" }),
            ],
            active: record("v0.2.0-l9", "live", { slot: "green" }),
        });
        expect(chooseRollbackTag(f)).to.deep.equal({ kind: "rollback", tag: "v0.1.0-l9", serving: "v0.2.0-l9", lastLive: V1_LIVE });
    });

    it("without an active record, the newest live record's tag counts as serving", () => {
        const f = facts({ journal: [V1_LIVE, V2_LIVE] });
        expect(servingTag(f)).to.equal("v0.2.0-l9");
        expect(chooseRollbackTag(f)).to.deep.equal({ kind: "rollback", tag: "v0.1.0-l9", serving: "v0.2.0-l9", lastLive: V1_LIVE });
    });

    it("an active record switched back (no earlier record kept): the other slot's container serves", () => {
        const f = facts({
            journal: [V1_LIVE, record("v0.2.0-l9", "switched-back")],
            active: record("v0.2.0-l9", "switched-back", { slot: "blue" }),
            slots: { blue: "v0.2.0-l9", green: "v0.1.0-l9" },
        });
        expect(servingTag(f)).to.equal("v0.1.0-l9");
        expect(chooseRollbackTag(f, "v0.1.0-l9")).to.deep.equal({ kind: "already-serves", tag: "v0.1.0-l9" });
    });

    it("none found: refused, naming the command and the kept tags (not the serving one)", () => {
        const f = facts({ journal: [V2_LIVE], active: V2_LIVE, kept: [kept("v0.2.0-l9"), kept("v0.1.0-l9", "2026-11-01T10:00:00Z")] });
        expect(chooseRollbackTag(f)).to.deep.equal({
            kind: "refused",
            message: "no earlier live release in the host's journal; name one: npm run rollback -- <tag> (releases kept on the host: v0.1.0-l9)",
        });
        expect(chooseRollbackTag(facts())).to.deep.equal({
            kind: "refused",
            message: "no earlier live release in the host's journal; name one: npm run rollback -- <tag> (the host keeps no other release's image)",
        });
    });

    it("a requested tag: used as it is, with its last live record when the journal has one", () => {
        const f = facts({ journal: [V1_LIVE, V2_LIVE], active: V2_LIVE });
        expect(chooseRollbackTag(f, "v0.1.0-l9")).to.deep.equal({ kind: "rollback", tag: "v0.1.0-l9", serving: "v0.2.0-l9", lastLive: V1_LIVE });
        expect(chooseRollbackTag(f, "v0.0.9-l9")).to.deep.equal({ kind: "rollback", tag: "v0.0.9-l9", serving: "v0.2.0-l9" });
    });

    it("a requested tag that serves: nothing to do", () => {
        const f = facts({ journal: [V1_LIVE, V2_LIVE], active: V2_LIVE });
        expect(chooseRollbackTag(f, "v0.2.0-l9")).to.deep.equal({ kind: "already-serves", tag: "v0.2.0-l9" });
    });

    it("a requested name that cannot be a tag is refused", () => {
        for (const bad of ["", "--yes", "-v1", ".v1", "v1 2", "v1\u001b[2J", "v1:x", "release/2026-12", "v1$(id)"]) {
            expect(isReleaseTagName(bad), JSON.stringify(bad)).to.equal(false);
            expect(chooseRollbackTag(facts(), bad).kind, JSON.stringify(bad)).to.equal("refused");
        }
        for (const good of ["v0.1.0-l9", "2026.12.06", "x".repeat(200)]) expect(isReleaseTagName(good), good).to.equal(true);
    });

    it("how it goes per host: the standby slot, a kept image, or a build", () => {
        const base = { journal: [V1_LIVE, V2_LIVE], active: V2_LIVE };
        const standby = facts({ ...base, slots: { blue: "v0.2.0-l9", green: "v0.1.0-l9" }, kept: [kept("v0.1.0-l9")] });
        const fromImage = facts({ ...base, slots: { blue: "v0.2.0-l9", green: "v0.3.0-l9" }, kept: [kept("v0.1.0-l9")] });
        const build = facts({ ...base, slots: { blue: "v0.2.0-l9" } });
        expect(rollbackRoute(standby, "v0.1.0-l9")).to.deep.equal({ kind: "standby", slot: "green" });
        expect(rollbackRoute(fromImage, "v0.1.0-l9")).to.deep.equal({ kind: "kept", release: kept("v0.1.0-l9") });
        expect(rollbackRoute(build, "v0.1.0-l9")).to.deep.equal({ kind: "build" });
        expect(rollbackRoute(build, "v0.2.0-l9")).to.deep.equal({ kind: "serves" });

        const choice = chooseRollbackTag(standby);
        if (choice.kind !== "rollback") throw new Error(`expected a rollback, got ${choice.kind}`);
        const alreadyBack = facts({ journal: [V2_LIVE, V1_LIVE], active: V1_LIVE });
        const lines = describeRollback(
            choice,
            [
                { label: "a (203.0.113.10)", facts: standby },
                { label: "b (203.0.113.11)", facts: fromImage },
                { label: "c (203.0.113.12)", facts: build },
                { label: "d (203.0.113.13)", facts: alreadyBack },
            ],
            3,
        );
        expect(lines).to.deep.equal([
            "rollback: v0.2.0-l9 serves; going back to v0.1.0-l9 (live 2026-12-06T10:00:00Z by ana@laptop)",
            "  a (203.0.113.10): its standby slot (green) holds v0.1.0-l9: traffic switches back to it, no new container " +
                "(unless the stack's env or network mode changed since it ran: then its container is made again)",
            "  b (203.0.113.11): from its kept image sha256:0123456789ab (commit 0123456789ab): no checkout, no build",
            "  c (203.0.113.12): not kept on the host: it is checked out and built like a new release (imagesToKeep, 3 now, decides how many stay)",
            "  d (203.0.113.13): serves v0.1.0-l9 already: nothing changes there",
        ]);
    });

    it("the header says when the journal has no live record of the tag, or no serving release", () => {
        const [head] = describeRollback({ kind: "rollback", tag: "v0.0.9-l9" }, [{ label: "203.0.113.10", facts: facts() }], 3);
        expect(head).to.equal(
            "rollback: the host's journal names no release that serves; going back to v0.0.9-l9 (not live in the host journal's last 1000 records)",
        );
    });

    it("another host that serves something else than the first says so", () => {
        const first = facts({ journal: [V1_LIVE, V2_LIVE], active: V2_LIVE });
        const other = facts({ active: record("v0.3.0-l9", "live") });
        const lines = describeRollback({ kind: "rollback", tag: "v0.1.0-l9", serving: "v0.2.0-l9" }, [{ label: "b", facts: other }], 3);
        expect(lines[1]).to.match(/^ {2}b \(it serves v0\.3\.0-l9\): not kept on the host/);
        expect(servingTag(first)).to.equal("v0.2.0-l9");
    });
});

describe("unit: the rollback facts (host-scripts/rollback-facts.ts)", () => {
    it("parses what the script prints, skipping junk lines", () => {
        const v1 = {
            id: "a1",
            tag: "v0.1.0-l9",
            commit: COMMIT,
            imageId: IMAGE,
            slot: "green",
            status: "live",
            release: "yes",
            envFingerprint: "0123456789abcdef",
        };
        const text = [
            `kept=v0.1.0-l9 ${COMMIT} ${IMAGE} 2026-12-01T10:00:00Z`,
            "kept=broken",
            `journal=${JSON.stringify({ ...v1, actor: "ana@laptop", time: "2026-12-06T10:00:00Z" })}`,
            "journal={torn write",
            `journal=${JSON.stringify({ tag: "v0.2.0-l9", slot: "purple", status: "live" })}`,
            `journal=${JSON.stringify({ tag: "v0.2.0-l9", slot: "blue", status: "unknown" })}`,
            `journal=${JSON.stringify({ tag: "-rf", slot: "blue", status: "live" })}`,
            `journal=${JSON.stringify({ tag: "v0.2.0-l9", slot: "blue", status: "live", actor: "evil\u001b]0;x\u0007", time: 5 })}`,
            "journal=[]",
            "garbage line",
            "=no key",
            `active=${JSON.stringify({ tag: "v0.2.0-l9", slot: "blue", status: "live", time: "2026-12-07T09:00:00Z" })}`,
            "slot=blue v0.2.0-l9",
            "slot=green <no value>",
            "slot=purple v0.9.0-l9",
            "slot=green",
            "",
        ].join("\n");
        expect(parseRollbackFacts(text)).to.deep.equal({
            kept: [{ tag: "v0.1.0-l9", commit: COMMIT, imageId: IMAGE, builtAt: "2026-12-01T10:00:00Z" }],
            journal: [
                { ...v1, actor: "ana@laptop", time: "2026-12-06T10:00:00Z" },
                // The actor with control characters and the numeric time are dropped, the record kept.
                { tag: "v0.2.0-l9", slot: "blue", status: "live" },
            ],
            active: { tag: "v0.2.0-l9", slot: "blue", status: "live", time: "2026-12-07T09:00:00Z" },
            slots: { blue: "v0.2.0-l9" },
        });
    });

    it("nothing on the host: empty facts, no active record", () => {
        expect(parseRollbackFacts("active=\n")).to.deep.equal({ kept: [], journal: [], slots: {} });
    });

    it("quotes the configured values as single shell words", () => {
        const text = renderRollbackFactsScript({ appDir: "/opt/it's here", serviceName: "l9" });
        expect(text).to.contain(`tail -n 1000 '/opt/it'\\''s here/deploys.jsonl'`);
        expect(text).to.contain(`<'/opt/it'\\''s here/state/active.json'`);
    });
});
