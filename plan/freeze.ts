/**
 * A freeze: `pulumi config set freeze "reason"` stops every update of the stack until someone
 * lifts it (`pulumi config set freeze off`). It is decided before anything runs, from this
 * checkout's config and the stack's history: a teammate's checkout that never heard of the
 * freeze is held by it too, because an update in the stack's history ran with it.
 */
import { CONFIG_NAMESPACE } from "../config/load";
import { MessageOnlyError } from "../config/message-error";
import { HistoryEntry } from "../state/stack-history";

/** The value that lifts a freeze. */
export const LIFT_FREEZE = "off";
const KEY = `${CONFIG_NAMESPACE}:freeze`;

export type FreezeDecision =
    /** Not frozen: the update goes ahead. */
    | { readonly kind: "open" }
    /** Frozen: an update is refused, a preview says so. */
    | { readonly kind: "frozen"; readonly reason: string; readonly setBy: string; readonly inherited: boolean }
    /** This update lifts the freeze the stack's last update ran with. */
    | { readonly kind: "lifting"; readonly reason: string }
    /** `off` is set, and the stack is not frozen: a leftover that would lift a later freeze. */
    | { readonly kind: "stale-lift"; readonly last: string }
    /** Nothing set here, and the history could not be read. */
    | { readonly kind: "unknown"; readonly error: string };

/** The freeze an update ran with, as its history entry records it. */
function freezeOf(entry: HistoryEntry): string | undefined {
    return entry.config?.[KEY]?.value;
}

const frozenBy = (value: string | undefined): value is string => value !== undefined && value !== LIFT_FREEZE;

function when(iso: string): string {
    const t = new Date(iso);
    return Number.isNaN(t.getTime()) ? iso : `${t.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Who ran an update, and from where, as far as its history entry says. */
export function describeUpdate(entry: HistoryEntry): string {
    const env = entry.environment ?? {};
    const author = env["git.author"] ? `${env["git.author"]}${env["git.author.email"] ? ` <${env["git.author.email"]}>` : ""}` : undefined;
    const by = entry.config?.[`${CONFIG_NAMESPACE}:deployedBy`]?.value ?? author ?? "an operator the history does not name";
    const commit = author ? ` (commit by ${author})` : "";
    const dirty = env["git.dirty"] === "true" ? " with uncommitted changes" : "";
    const from = env["git.head"] ? `, from a checkout at ${env["git.head"].slice(0, 7)}${commit}${dirty}` : "";
    const ci = env["ci.system"] ? `, in CI (${env["ci.system"]})` : "";
    return `${by}, in the update of ${when(entry.startTime)}${from}${ci}`;
}

/**
 * The updates that said something about a freeze (set it, kept it, lifted it), newest first.
 * An update run from a checkout without the setting says nothing: a teammate's refused update
 * neither keeps nor lifts the freeze. A refresh's config does not count either.
 */
function freezeUpdates(history: HistoryEntry[]): HistoryEntry[] {
    return history.filter((e) => (e.kind === "update" || e.kind === "destroy") && freezeOf(e) !== undefined);
}

/**
 * Enough history read: it holds an update that ran with a freeze setting other than the
 * newest one's (where the newest run of that setting starts), or it ended (fewer than a page).
 */
export function historyDecides(history: HistoryEntry[]): boolean {
    const said = freezeUpdates(history);
    return said.some((e) => freezeOf(e) !== freezeOf(said[0]));
}

/**
 * The first update of the newest run that ran with this freeze: who set it. None yet: this
 * update is the first to carry it into the history.
 */
function setterOf(said: HistoryEntry[], reason: string, here: string, complete: boolean): string {
    let first: HistoryEntry | undefined;
    for (const entry of said) {
        if (freezeOf(entry) !== reason) break;
        first = entry;
    }
    if (!first) return `${here}, in this update (the first in the stack history with it)`;
    const setter = describeUpdate(first);
    return first === said[said.length - 1] && !complete ? `${setter} or earlier` : setter;
}

/**
 * Decides from the configured value (undefined: not set in this checkout) and the stack's
 * history, newest first (an Error: it could not be read; `complete`: it goes back to the
 * stack's first update). `here` names this operator.
 */
export function decideFreeze(configured: string | undefined, history: HistoryEntry[] | Error, here: string, complete = true): FreezeDecision {
    const said = history instanceof Error ? [] : freezeUpdates(history);
    const last = said.length ? freezeOf(said[0]) : undefined;
    const finished = complete || historyDecides(said);
    if (configured === LIFT_FREEZE) {
        if (history instanceof Error) return { kind: "lifting", reason: "(the stack history could not be read)" };
        return frozenBy(last) ? { kind: "lifting", reason: last } : { kind: "stale-lift", last: said.length ? describeUpdate(said[0]) : "none" };
    }
    if (configured !== undefined) {
        const setBy = history instanceof Error ? `unknown (${history.message})` : setterOf(said, configured, here, finished);
        return { kind: "frozen", reason: configured, setBy, inherited: false };
    }
    if (history instanceof Error) return { kind: "unknown", error: history.message };
    return frozenBy(last) ? { kind: "frozen", reason: last, setBy: setterOf(said, last, here, finished), inherited: true } : { kind: "open" };
}

const LIFT_HOW = `pulumi config set freeze ${LIFT_FREEZE}, then pulumi up (and then pulumi config rm freeze)`;

/** The refusal of an update while frozen: the reason, who set it, how to lift it. */
export function renderFreezeRefusal(d: Extract<FreezeDecision, { kind: "frozen" }>): string {
    return [
        `the stack is frozen: "${d.reason}"`,
        `  Set by ${d.setBy} (pulumi stack history).`,
        ...(d.inherited ? ["  This checkout's config does not set freeze; the stack's history does, so it holds here too."] : []),
        "  No update runs while the stack is frozen, this one included: nothing was changed on any host. The drift job keeps checking and reporting.",
        `  To lift it: ${LIFT_HOW}.`,
    ].join("\n");
}

/** What a preview says about the freeze (undefined: nothing to say). */
export function renderFreezeNote(d: FreezeDecision): string | undefined {
    switch (d.kind) {
        case "frozen":
            return `the stack is frozen: "${d.reason}" (set by ${d.setBy}); pulumi up will be refused until it is lifted: ${LIFT_HOW}`;
        case "lifting":
            return `this update lifts the freeze "${d.reason}"; once it has run: pulumi config rm freeze`;
        case "stale-lift":
            return renderStaleLift(d);
        case "unknown":
            return (
                `could not read the stack history to see whether another checkout froze the stack (${d.error}); ` +
                "a freeze set elsewhere is not enforced by this run"
            );
        case "open":
            return undefined;
    }
}

function renderStaleLift(d: Extract<FreezeDecision, { kind: "stale-lift" }>): string {
    return (
        `${KEY} is "${LIFT_FREEZE}", but the stack is not frozen (the last update with a freeze setting: ${d.last}). ` +
        "Left set, it would lift the next freeze a teammate sets. Fix: pulumi config rm freeze"
    );
}

/** The error that stops an update (undefined: the update goes ahead). */
export function freezeRefusal(d: FreezeDecision): MessageOnlyError | undefined {
    if (d.kind === "frozen") return new MessageOnlyError("FreezeError", renderFreezeRefusal(d));
    if (d.kind === "stale-lift") return new MessageOnlyError("FreezeError", `${renderStaleLift(d)} (nothing was changed on any host)`);
    return undefined;
}
