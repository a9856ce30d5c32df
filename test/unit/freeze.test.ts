import { expect } from "chai";
import { decideFreeze, describeUpdate, freezeId, freezeRefusal, liftOf, renderFreezeNote } from "../../plan/freeze";
import type { HistoryEntry } from "../../state/stack-history";
import { parseConfig } from "../../config/load";
import { redactUrls } from "../../state/backend-url";
import { operationOf } from "../../state/running-cli";
import { SECRETS, validRawConfig } from "./fixtures";

const REASON = "DB maintenance until 14:00, ask Ana";
const LIFT = liftOf(REASON);
const ANA = { "git.author": "Ana", "git.author.email": "ana@example.com", "git.head": "6e2ef81042a3584f96cee317a3affaa0e20931f2", "git.dirty": "false" };
const FROM_ANA = "run from a checkout at 6e2ef81 (HEAD commit by Ana <ana@example.com>)";

/** A history entry that ran with this freeze setting (undefined: without one). */
function entry(startTime: string, freeze: string | undefined, extra: Partial<HistoryEntry> = {}): HistoryEntry {
    return {
        kind: "update",
        result: "failed",
        startTime,
        config: { "l9-deploy:releaseTag": { value: "v0.2.0-l9" }, ...(freeze === undefined ? {} : { "l9-deploy:freeze": { value: freeze } }) },
        environment: ANA,
        ...extra,
    };
}
const whole = (...entries: HistoryEntry[]) => ({ entries, complete: true });

describe("unit: a freeze (plan/freeze.ts)", () => {
    it("nothing set and no freeze in the history: the update goes ahead, and nothing is said", () => {
        const d = decideFreeze(undefined, whole(entry("2026-12-06T12:00:00Z", undefined)), "ops@laptop");
        expect(d).to.deep.equal({ kind: "open" });
        expect(freezeRefusal(d)).to.equal(undefined);
        expect(renderFreezeNote(d)).to.equal(undefined);
        expect(decideFreeze(undefined, whole(), "ops@laptop").kind, "a stack without history").to.equal("open");
    });

    it("set here for the first time: refused naming this operator; the lift names the freeze by its id", () => {
        const d = decideFreeze(REASON, whole(entry("2026-12-06T12:00:00Z", undefined)), "ana@laptop");
        expect(d).to.deep.equal({ kind: "frozen", reason: REASON, setIn: "this update, by ana@laptop", inherited: false, recorded: false });
        expect(LIFT)
            .to.equal(`off ${freezeId(REASON)}`)
            .and.to.match(/^off [0-9a-f]{8}$/);
        expect(freezeRefusal(d)!.message).to.equal(
            [
                `the stack is frozen: "${REASON}"`,
                "  Set in this update, by ana@laptop.",
                "  No update runs while the stack is frozen, this one included: nothing was changed on any host. The drift job keeps checking and reporting.",
                `  To lift it: pulumi config set freeze "${LIFT}", then pulumi up (and then pulumi config rm freeze).`,
            ].join("\n"),
        );
        // A preview says how to record it for everyone.
        expect(renderFreezeNote(d)).to.contain("Not in the stack history yet: pulumi up --yes --skip-preview records it");
    });

    it("the setter is the first update of the newest run with that reason, as its history entry names it", () => {
        const history = whole(
            entry("2026-12-06T13:30:00Z", REASON, { environment: { "git.author": "Bo" } }),
            entry("2026-12-06T13:02:09Z", REASON, { config: { "l9-deploy:freeze": { value: REASON }, "l9-deploy:deployedBy": { value: "ana" } } }),
            entry("2026-12-06T12:30:00Z", undefined),
            entry("2026-12-06T12:00:00Z", liftOf("Black Friday")),
            entry("2026-12-05T09:00:00Z", "Black Friday", { environment: { "git.author": "Cy" } }),
        );
        expect(decideFreeze(REASON, history, "bo@laptop")).to.deep.include({
            kind: "frozen",
            setIn: `the update of 2026-12-06 13:02 UTC by ana, ${FROM_ANA}`,
            recorded: true,
        });
        const e = entry("2026-12-06T13:02:09Z", REASON, { environment: { ...ANA, "git.dirty": "true", "ci.system": "GitHub" } });
        expect(describeUpdate(e)).to.equal(`the update of 2026-12-06 13:02 UTC, ${FROM_ANA}, with uncommitted changes, in CI (GitHub)`);
        expect(describeUpdate({ kind: "update", result: "failed", startTime: "soon" })).to.equal("the update of soon");
    });

    it("a checkout without the setting is held by the freeze in the history, and says why", () => {
        const d = decideFreeze(undefined, whole(entry("2026-12-06T13:02:09Z", REASON), entry("2026-12-06T12:00:00Z", undefined)), "bo@laptop");
        expect(d).to.deep.include({ kind: "frozen", reason: REASON, inherited: true });
        const message = freezeRefusal(d)!.message;
        expect(message).to.contain(`Set in the update of 2026-12-06 13:02 UTC, ${FROM_ANA} (pulumi stack history).`);
        expect(message).to.contain("This checkout's config does not set freeze; the stack's history does, so it holds here too.");
        expect(renderFreezeNote(d)).to.match(
            /^the stack is frozen: "DB maintenance until 14:00, ask Ana" \(set in the update of .*\); pulumi up will be refused/,
        );
    });

    it("an update without the setting neither keeps nor lifts it: a teammate's refused update, a refresh, one still running", () => {
        const history = whole(
            entry("2026-12-06T13:25:00Z", LIFT, { result: "in-progress" }),
            entry("2026-12-06T13:20:00Z", undefined, { kind: "destroy" }),
            entry("2026-12-06T13:15:00Z", LIFT, { kind: "refresh" }),
            entry("2026-12-06T13:10:00Z", undefined),
            entry("2026-12-06T13:02:09Z", REASON),
        );
        expect(decideFreeze(undefined, history, "cy@laptop")).to.deep.include({ kind: "frozen", reason: REASON, inherited: true });
        expect(decideFreeze(LIFT, history, "ana@laptop")).to.deep.equal({ kind: "lifting", reason: REASON });
    });

    it("a run that fills the page read names its oldest update 'or earlier'", () => {
        const page = { entries: [entry("2026-12-06T13:30:00Z", REASON), entry("2026-12-06T13:02:09Z", REASON)], complete: false };
        expect((decideFreeze(REASON, page, "x") as { setIn: string }).setIn).to.match(/^the update of 2026-12-06 13:02 UTC.* or earlier$/);
        expect((decideFreeze(REASON, { ...page, complete: true }, "x") as { setIn: string }).setIn).to.not.contain("or earlier");
    });

    it("the lift that names the freeze in force lifts it; after it, a checkout without the setting is not frozen", () => {
        const d = decideFreeze(LIFT.toUpperCase(), whole(entry("2026-12-06T13:02:09Z", REASON)), "ana@laptop");
        expect(d).to.deep.equal({ kind: "lifting", reason: REASON });
        expect(freezeRefusal(d)).to.equal(undefined);
        expect(renderFreezeNote(d)).to.equal(`this update lifts the freeze "${REASON}"; once it has run: pulumi config rm freeze`);
        const lifted = whole(
            entry("2026-12-06T13:50:00Z", undefined),
            entry("2026-12-06T13:40:00Z", LIFT, { result: "succeeded" }),
            entry("2026-12-06T13:02:09Z", REASON),
        );
        expect(decideFreeze(undefined, lifted, "x").kind).to.equal("open");
    });

    it("a lift left in a checkout never lifts a later freeze: it names another one, and is refused saying which to name", () => {
        const later = whole(entry("2026-12-07T09:00:00Z", "Black Friday"), entry("2026-12-06T13:40:00Z", LIFT, { result: "succeeded" }));
        const d = decideFreeze(LIFT, later, "ana@laptop");
        expect(d.kind).to.equal("wrong-lift");
        expect(freezeRefusal(d)!.message).to.equal(
            `l9-deploy:freeze lifts another freeze than the one in force: "Black Friday" (set in the update of 2026-12-07 09:00 UTC, ${FROM_ANA}). ` +
                `To lift it: pulumi config set freeze "${liftOf("Black Friday")}", then pulumi up ` +
                "(and then pulumi config rm freeze) (nothing was changed on any host)",
        );
        expect(decideFreeze("off", later, "ana@laptop").kind, "a bare off names no freeze").to.equal("wrong-lift");
    });

    it("a lift when nothing is frozen is a leftover, refused, even after a lift that failed after its check", () => {
        const done = whole(entry("2026-12-06T13:40:00Z", LIFT, { result: "succeeded" }), entry("2026-12-06T13:02:09Z", REASON));
        const d = decideFreeze(LIFT, done, "ana@laptop");
        expect(d.kind).to.equal("stale-lift");
        expect(freezeRefusal(d)!.message).to.equal(
            "l9-deploy:freeze is a lift, but the stack is not frozen " +
                `(the last update with a freeze setting: the update of 2026-12-06 13:40 UTC, ${FROM_ANA}). ` +
                "Fix: pulumi config rm freeze (nothing was changed on any host)",
        );
        expect(decideFreeze(LIFT, whole(), "x")).to.deep.equal({ kind: "stale-lift", last: "none" });
        const failed = whole(entry("2026-12-06T13:40:00Z", LIFT, { result: "failed" }), entry("2026-12-06T13:02:09Z", REASON));
        expect(decideFreeze(LIFT, failed, "ana@laptop").kind).to.equal("stale-lift");
        expect(decideFreeze(undefined, failed, "bo@laptop").kind, "its lift took effect").to.equal("open");
    });

    it("a refused lift or a refused lifted freeze in the history changes nothing: the freeze still holds, or stays lifted", () => {
        const refusedLift = whole(entry("2026-12-06T13:30:00Z", "off"), entry("2026-12-06T13:20:00Z", "off 00000000"), entry("2026-12-06T13:02:09Z", REASON));
        expect(decideFreeze(undefined, refusedLift, "cy@laptop")).to.deep.include({ kind: "frozen", reason: REASON });
        expect(decideFreeze(LIFT, refusedLift, "ana@laptop")).to.deep.equal({ kind: "lifting", reason: REASON });
        const refusedStale = whole(
            entry("2026-12-06T14:00:00Z", REASON),
            entry("2026-12-06T13:40:00Z", LIFT, { result: "succeeded" }),
            entry("2026-12-06T13:02:09Z", REASON),
        );
        expect(decideFreeze(undefined, refusedStale, "cy@laptop").kind).to.equal("open");
        expect(decideFreeze(REASON, refusedStale, "bo@laptop").kind).to.equal("stale-freeze");
    });

    it("a checkout that still sets a lifted freeze is refused, not frozen again", () => {
        const done = whole(entry("2026-12-06T13:40:00Z", LIFT, { result: "succeeded" }), entry("2026-12-06T13:02:09Z", REASON));
        const d = decideFreeze(REASON, done, "bo@laptop");
        expect(d.kind).to.equal("stale-freeze");
        expect(freezeRefusal(d)!.message).to.contain(`is the freeze "${REASON}", which the update of 2026-12-06 13:40 UTC`);
        expect(freezeRefusal(d)!.message).to.contain("Fix: pulumi config rm freeze (to freeze again, give a new reason)");
    });

    it("an unreadable history: a freeze set here still holds; nothing set here warns and goes ahead", () => {
        const error = new Error("pulumi stack history failed: no such stack");
        expect(decideFreeze(REASON, error, "ana@laptop")).to.deep.include({ kind: "frozen", setIn: "unknown (pulumi stack history failed: no such stack)" });
        const elsewhere = decideFreeze(undefined, error, "ana@laptop");
        expect(elsewhere.kind).to.equal("unknown");
        expect(freezeRefusal(elsewhere)).to.equal(undefined);
        expect(renderFreezeNote(elsewhere)).to.contain("a freeze set elsewhere is not enforced by this run");
    });

    it("a reason is printed quoted and escaped", () => {
        const d = decideFreeze('say "no"\\ok', whole(), "x");
        expect(freezeRefusal(d)!.message.split("\n")[0]).to.equal('the stack is frozen: "say \\"no\\"\\\\ok"');
    });

    it("config: one line of text of at most 300 characters, never a secret", () => {
        expect(parseConfig(validRawConfig({ freeze: REASON }), SECRETS).freeze).to.equal(REASON);
        expect(parseConfig(validRawConfig({}), SECRETS).freeze).to.equal(undefined);
        for (const bad of ["", "two\nlines", "bell\u0007", "esc\u001b[31m", "x".repeat(301)]) {
            expect(() => parseConfig(validRawConfig({ freeze: bad }), SECRETS)).to.throw(/l9-deploy:freeze .*Fix: pulumi config set freeze "DB maintenance/);
        }
        expect(() => parseConfig(validRawConfig({ freeze: REASON }), new Set([...SECRETS, "freeze"]))).to.throw(/freeze is stored as a secret/);
    });

    it("reads the operation from the pulumi command line, skipping the values of flags", () => {
        expect(operationOf(["/usr/bin/pulumi", "refresh", "--yes", "--stack", "prod"].join("\0"))).to.equal("refresh");
        expect(operationOf(["pulumi", "--cwd", "/srv/deploy", "up", "--yes"].join("\0"))).to.equal("up");
        expect(operationOf(["pulumi", "-s", "refresh", "up"].join("\0")), "a stack named refresh").to.equal("up");
        expect(operationOf(["pulumi", "stack", "history"].join("\0"))).to.equal(undefined);
    });

    it("messages never show a backend's password", () => {
        expect(redactUrls("open postgres://ops:s3cret@db.example.com/state?sslmode=disable: refused")).to.equal(
            "open postgres://ops:***@db.example.com/state?sslmode=disable: refused",
        );
        expect(redactUrls("postgres://ops:p@ss@db.example.com/state")).to.equal("postgres://ops:***@db.example.com/state");
        expect(redactUrls("postgres://db.example.com/state?password=s3cret&x=1")).to.equal("postgres://db.example.com/state?password=***&x=1");
        expect(redactUrls("postgres://ops@db.example.com/state")).to.equal("postgres://ops@db.example.com/state");
    });
});
