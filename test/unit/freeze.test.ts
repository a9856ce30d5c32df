import { expect } from "chai";
import { decideFreeze, describeUpdate, freezeRefusal, historyDecides, renderFreezeNote } from "../../plan/freeze";
import type { HistoryEntry } from "../../state/stack-history";
import { parseConfig } from "../../config/load";
import { operationOf } from "../../state/running-cli";
import { SECRETS, validRawConfig } from "./fixtures";

const REASON = "DB maintenance until 14:00, ask Ana";

/** A history entry of `kind` that ran with `freeze` (undefined: without one). */
function entry(startTime: string, freeze: string | undefined, extra: Partial<HistoryEntry> = {}): HistoryEntry {
    return {
        kind: "update",
        result: "failed",
        startTime,
        config: { "l9-deploy:releaseTag": { value: "v0.2.0-l9" }, ...(freeze === undefined ? {} : { "l9-deploy:freeze": { value: freeze } }) },
        environment: {
            "git.author": "Ana",
            "git.author.email": "ana@example.com",
            "git.head": "6e2ef81042a3584f96cee317a3affaa0e20931f2",
            "git.dirty": "false",
        },
        ...extra,
    };
}

describe("unit: a freeze (plan/freeze.ts)", () => {
    it("nothing set and no freeze in the history: the update goes ahead, and nothing is said", () => {
        const d = decideFreeze(undefined, [entry("2026-12-06T12:00:00Z", undefined)], "ops@laptop");
        expect(d).to.deep.equal({ kind: "open" });
        expect(freezeRefusal(d)).to.equal(undefined);
        expect(renderFreezeNote(d)).to.equal(undefined);
        expect(decideFreeze(undefined, [], "ops@laptop").kind, "a stack without history").to.equal("open");
    });

    it("set in this checkout for the first time: refused, the setter is this operator, in this update", () => {
        const d = decideFreeze(REASON, [entry("2026-12-06T12:00:00Z", undefined)], "ana@laptop");
        expect(d).to.deep.equal({
            kind: "frozen",
            reason: REASON,
            setBy: "ana@laptop, in this update (the first in the stack history with it)",
            inherited: false,
        });
        expect(freezeRefusal(d)!.message).to.equal(
            [
                `the stack is frozen: "${REASON}"`,
                "  Set by ana@laptop, in this update (the first in the stack history with it) (pulumi stack history).",
                "  No update runs while the stack is frozen, this one included: nothing was changed on any host. The drift job keeps checking and reporting.",
                "  To lift it: pulumi config set freeze off, then pulumi up (and then pulumi config rm freeze).",
            ].join("\n"),
        );
    });

    it("the setter is the first update of the newest run with the same reason, as its history entry names it", () => {
        const history = [
            entry("2026-12-06T13:30:00Z", REASON, { environment: { "git.author": "Bo" } }),
            entry("2026-12-06T13:02:09Z", REASON, { config: { "l9-deploy:freeze": { value: REASON }, "l9-deploy:deployedBy": { value: "ana" } } }),
            entry("2026-12-06T12:30:00Z", undefined),
            entry("2026-12-06T12:00:00Z", "off"),
            entry("2026-12-05T09:00:00Z", REASON, { environment: { "git.author": "Cy" } }),
        ];
        const d = decideFreeze(REASON, history, "bo@laptop");
        expect(d.kind).to.equal("frozen");
        expect((d as { setBy: string }).setBy).to.equal(
            "ana, in the update of 2026-12-06 13:02 UTC, from a checkout at 6e2ef81 (commit by Ana <ana@example.com>)",
        );
        // Without deployedBy, the checkout's commit names its author.
        expect(
            describeUpdate(
                entry("2026-12-06T13:02:09Z", REASON, { environment: { ...entry("", "").environment, "git.dirty": "true", "ci.system": "GitHub" } }),
            ),
        ).to.equal(
            "Ana <ana@example.com>, in the update of 2026-12-06 13:02 UTC, " +
                "from a checkout at 6e2ef81 (commit by Ana <ana@example.com>) with uncommitted changes, in CI (GitHub)",
        );
        expect(describeUpdate({ kind: "update", result: "failed", startTime: "soon" })).to.equal(
            "an operator the history does not name, in the update of soon",
        );
    });

    it("a checkout without the setting is held by the freeze the stack's last update ran with, and says why", () => {
        const history = [entry("2026-12-06T13:02:09Z", REASON), entry("2026-12-06T12:00:00Z", undefined)];
        const d = decideFreeze(undefined, history, "bo@laptop");
        expect(d).to.deep.include({ kind: "frozen", reason: REASON, inherited: true });
        const message = freezeRefusal(d)!.message;
        expect(message).to.contain("Set by Ana <ana@example.com>, in the update of 2026-12-06 13:02 UTC, from a checkout at 6e2ef81");
        expect(message).to.contain("This checkout's config does not set freeze; the stack's history does, so it holds here too.");
        expect(renderFreezeNote(d)).to.match(/^the stack is frozen: "DB maintenance until 14:00, ask Ana" \(set by Ana .*\); pulumi up will be refused/);
    });

    it("an update without the setting neither keeps nor lifts it: a teammate's refused update, a refresh, a destroy", () => {
        const history = [
            entry("2026-12-06T13:20:00Z", undefined, { kind: "destroy" }),
            entry("2026-12-06T13:15:00Z", undefined, { kind: "refresh" }),
            entry("2026-12-06T13:10:00Z", undefined),
            entry("2026-12-06T13:02:09Z", REASON),
            entry("2026-12-06T12:00:00Z", undefined),
        ];
        expect(decideFreeze(undefined, history, "cy@laptop")).to.deep.include({ kind: "frozen", reason: REASON, inherited: true });
        // The setter who lifts it, after those refusals, lifts it.
        expect(decideFreeze("off", history, "ana@laptop")).to.deep.equal({ kind: "lifting", reason: REASON });
        // A refresh that ran with `off` does not lift it.
        expect(decideFreeze(undefined, [entry("2026-12-06T13:30:00Z", "off", { kind: "refresh" }), ...history], "cy@laptop").kind).to.equal("frozen");
    });

    it("a run of the same reason that fills the page read names its oldest update 'or earlier'", () => {
        const history = [entry("2026-12-06T13:30:00Z", REASON), entry("2026-12-06T13:02:09Z", REASON)];
        expect((decideFreeze(REASON, history, "x", false) as { setBy: string }).setBy).to.match(/in the update of 2026-12-06 13:02 UTC.* or earlier$/);
        expect((decideFreeze(REASON, history, "x", true) as { setBy: string }).setBy, "the whole history").to.not.contain("or earlier");
        // A page that holds where the run starts is enough, read in full or not.
        expect(historyDecides(history)).to.equal(false);
        expect(historyDecides([...history, entry("2026-12-06T12:00:00Z", "off")])).to.equal(true);
        expect((decideFreeze(REASON, [...history, entry("2026-12-06T12:00:00Z", "off")], "x", false) as { setBy: string }).setBy).to.not.contain("or earlier");
    });

    it("a new reason is a new freeze: set by this update, even right after another", () => {
        const d = decideFreeze("Black Friday", [entry("2026-12-06T13:02:09Z", REASON)], "bo@laptop");
        expect(d).to.deep.include({ reason: "Black Friday", setBy: "bo@laptop, in this update (the first in the stack history with it)" });
    });

    it("off lifts the freeze the last update ran with: the update goes ahead, saying so", () => {
        const d = decideFreeze("off", [entry("2026-12-06T13:02:09Z", REASON)], "ana@laptop");
        expect(d).to.deep.equal({ kind: "lifting", reason: REASON });
        expect(freezeRefusal(d)).to.equal(undefined);
        expect(renderFreezeNote(d)).to.equal(`this update lifts the freeze "${REASON}"; once it has run: pulumi config rm freeze`);
        // After the lift, a checkout without the setting is not frozen.
        const lifted = [entry("2026-12-06T13:50:00Z", undefined), entry("2026-12-06T13:40:00Z", "off"), entry("2026-12-06T13:02:09Z", REASON)];
        expect(decideFreeze(undefined, lifted, "x").kind).to.equal("open");
    });

    it("off when the stack is not frozen is refused: left set, it would lift the next freeze", () => {
        const d = decideFreeze("off", [entry("2026-12-06T13:40:00Z", "off", { result: "succeeded" })], "ana@laptop");
        expect(d.kind).to.equal("stale-lift");
        expect(freezeRefusal(d)!.message).to.equal(
            'l9-deploy:freeze is "off", but the stack is not frozen ' +
                "(the last update with a freeze setting: Ana <ana@example.com>, in the update of 2026-12-06 13:40 UTC, " +
                "from a checkout at 6e2ef81 (commit by Ana <ana@example.com>)). Left set, it would lift the next freeze a teammate sets. " +
                "Fix: pulumi config rm freeze (nothing was changed on any host)",
        );
        expect(decideFreeze("off", [], "x")).to.deep.equal({ kind: "stale-lift", last: "none" });
    });

    it("an unreadable history: a freeze set here still holds (setter unknown); nothing set here warns and goes ahead", () => {
        const error = new Error("pulumi stack history failed: no such stack");
        const here = decideFreeze(REASON, error, "ana@laptop");
        expect(here).to.deep.equal({ kind: "frozen", reason: REASON, setBy: "unknown (pulumi stack history failed: no such stack)", inherited: false });
        expect(freezeRefusal(here)).to.not.equal(undefined);
        const elsewhere = decideFreeze(undefined, error, "ana@laptop");
        expect(elsewhere.kind).to.equal("unknown");
        expect(freezeRefusal(elsewhere)).to.equal(undefined);
        expect(renderFreezeNote(elsewhere)).to.contain("a freeze set elsewhere is not enforced by this run");
        expect(decideFreeze("off", error, "x").kind, "off with no history to read").to.equal("lifting");
    });

    it("config: a reason is one line of at most 300 characters, named with the fix when it is not", () => {
        expect(parseConfig(validRawConfig({ freeze: REASON }), SECRETS).freeze).to.equal(REASON);
        expect(parseConfig(validRawConfig({}), SECRETS).freeze).to.equal(undefined);
        for (const bad of ["", "two\nlines", "x".repeat(301)]) {
            expect(() => parseConfig(validRawConfig({ freeze: bad }), SECRETS)).to.throw(/l9-deploy:freeze .*Fix: pulumi config set freeze "DB maintenance/);
        }
    });

    it("reads the operation from the pulumi command line (a refresh, which reads the hosts only, is not refused)", () => {
        expect(operationOf(["/usr/bin/pulumi", "refresh", "--yes", "--stack", "prod"].join("\0"))).to.equal("refresh");
        expect(operationOf(["pulumi", "--cwd", "/srv/deploy", "up", "--yes"].join("\0"))).to.equal("up");
        expect(operationOf(["pulumi", "--color", "never", "destroy"].join("\0"))).to.equal("destroy");
        expect(operationOf(["pulumi", "stack", "history"].join("\0"))).to.equal(undefined);
    });
});
