/**
 * A freeze: `pulumi config set freeze "reason"` stops every update of the stack until someone
 * lifts it with `pulumi config set freeze "off <id>"` (the id names the freeze it lifts, so a
 * lift left in a checkout never lifts a later freeze). It is decided before anything runs, from
 * this checkout's config and the stack's history: the newest update that ran with a freeze
 * setting decides, so a teammate's checkout that never heard of the freeze is held by it too.
 */
import { createHash } from "crypto";
import { CONFIG_NAMESPACE } from "../config/load";
import { MessageOnlyError } from "../config/message-error";
import { HistoryEntry, StackHistory } from "../state/stack-history";

const KEY = `${CONFIG_NAMESPACE}:freeze`;
/** A lift: `off` and the id of the freeze it lifts. */
const LIFT = /^off(?:\s+([0-9a-f]{8}))?$/i;

/** A freeze's id: what its lift names. */
export function freezeId(reason: string): string {
    return createHash("sha256").update(reason).digest("hex").slice(0, 8);
}

/** The setting that lifts the freeze of this reason. */
export function liftOf(reason: string): string {
    return `off ${freezeId(reason)}`;
}

/** A setting's meaning: a freeze's reason, or a lift (of the freeze with this id; undefined: none named). */
type Setting = { readonly reason: string } | { readonly lift: string | undefined };

function parseSetting(value: string): Setting {
    const lift = LIFT.exec(value.trim());
    return lift ? { lift: lift[1]?.toLowerCase() } : { reason: value };
}

export type FreezeDecision =
    /** Not frozen: the update goes ahead. */
    | { readonly kind: "open" }
    /** Frozen: an update is refused, a preview says so. */
    | { readonly kind: "frozen"; readonly reason: string; readonly setIn: string; readonly inherited: boolean; readonly recorded: boolean }
    /** This update lifts the freeze. */
    | { readonly kind: "lifting"; readonly reason: string }
    /** A lift that names another freeze than the one in force (or none): it says which to name. */
    | { readonly kind: "wrong-lift"; readonly reason: string; readonly setIn: string }
    /** A lift, and the stack is not frozen: a leftover. */
    | { readonly kind: "stale-lift"; readonly last: string }
    /** This checkout still sets a freeze that was lifted. */
    | { readonly kind: "stale-freeze"; readonly reason: string; readonly liftedIn: string }
    /** Nothing set here, and the history could not be read. */
    | { readonly kind: "unknown"; readonly error: string };

/** The freeze setting an update ran with, as its history entry records it. */
function settingOf(entry: HistoryEntry): string | undefined {
    return entry.config?.[KEY]?.value;
}

function when(iso: string): string {
    const t = new Date(iso);
    return Number.isNaN(t.getTime()) ? iso : `${t.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** An update, as far as its history entry says who ran it and from where. */
export function describeUpdate(entry: HistoryEntry): string {
    const env = entry.environment ?? {};
    const by = entry.config?.[`${CONFIG_NAMESPACE}:deployedBy`]?.value;
    const author = env["git.author"] ? `${env["git.author"]}${env["git.author.email"] ? ` <${env["git.author.email"]}>` : ""}` : undefined;
    const dirty = env["git.dirty"] === "true" ? ", with uncommitted changes" : "";
    const from = env["git.head"] ? `, run from a checkout at ${env["git.head"].slice(0, 7)}${author ? ` (HEAD commit by ${author})` : ""}${dirty}` : "";
    const ci = env["ci.system"] ? `, in CI (${env["ci.system"]})` : "";
    return `the update of ${when(entry.startTime)}${by ? ` by ${by}` : ""}${from}${ci}`;
}

/**
 * The updates that said something about a freeze (set it, kept it, lifted it), newest first.
 * An update run from a checkout without the setting says nothing: a teammate's refused update
 * neither keeps nor lifts the freeze. A refresh's config does not count; nor does an update
 * still running (this one, in a backend that lists it).
 */
function settingUpdates(history: HistoryEntry[]): HistoryEntry[] {
    return history.filter((e) => (e.kind === "update" || e.kind === "destroy") && e.result !== "in-progress" && settingOf(e) !== undefined);
}

/**
 * The freeze in force after the history's updates, replayed oldest first as each was decided:
 * a reason freezes (unless it is one that was lifted, still set: that update was refused); a
 * lift ends the freeze it names, and any other lift changes nothing (it was refused).
 */
function replay(said: HistoryEntry[]): { inForce?: { reason: string; since: HistoryEntry }; lifted?: { id: string; by: HistoryEntry } } {
    let inForce: { reason: string; since: HistoryEntry } | undefined;
    let lifted: { id: string; by: HistoryEntry } | undefined;
    for (const entry of [...said].reverse()) {
        const setting = parseSetting(settingOf(entry)!);
        if ("reason" in setting) {
            if (inForce?.reason === setting.reason) continue;
            if (!inForce && lifted?.id === freezeId(setting.reason)) continue;
            inForce = { reason: setting.reason, since: entry };
        } else if (inForce && setting.lift === freezeId(inForce.reason)) {
            lifted = { id: setting.lift, by: entry };
            inForce = undefined;
        } else if (!inForce && lifted && setting.lift === lifted.id) {
            lifted = { id: lifted.id, by: entry };
        }
    }
    return { inForce, lifted };
}

/**
 * Decides from the configured value (undefined: not set in this checkout) and the stack's
 * history (an Error: it could not be read). `here` names this operator.
 */
export function decideFreeze(configured: string | undefined, history: StackHistory | Error, here: string): FreezeDecision {
    if (history instanceof Error) {
        if (configured === undefined) return { kind: "unknown", error: history.message };
        const setting = parseSetting(configured);
        if ("lift" in setting) return { kind: "lifting", reason: `(the stack history could not be read: ${history.message})` };
        return { kind: "frozen", reason: setting.reason, setIn: `unknown (${history.message})`, inherited: false, recorded: false };
    }
    const said = settingUpdates(history.entries);
    const { inForce, lifted } = replay(said);
    // The oldest update read may not be where the freeze started: the history goes on.
    const setIn = (since: HistoryEntry) => `${describeUpdate(since)}${since === said[said.length - 1] && !history.complete ? " or earlier" : ""}`;
    if (configured === undefined) {
        return inForce ? { kind: "frozen", reason: inForce.reason, setIn: setIn(inForce.since), inherited: true, recorded: true } : { kind: "open" };
    }
    const setting = parseSetting(configured);
    if ("reason" in setting) {
        if (!inForce && lifted?.id === freezeId(setting.reason)) return { kind: "stale-freeze", reason: setting.reason, liftedIn: describeUpdate(lifted.by) };
        if (inForce?.reason === setting.reason)
            return { kind: "frozen", reason: setting.reason, setIn: setIn(inForce.since), inherited: false, recorded: true };
        return { kind: "frozen", reason: setting.reason, setIn: `this update, by ${here}`, inherited: false, recorded: false };
    }
    if (inForce) {
        return setting.lift === freezeId(inForce.reason)
            ? { kind: "lifting", reason: inForce.reason }
            : { kind: "wrong-lift", reason: inForce.reason, setIn: setIn(inForce.since) };
    }
    return { kind: "stale-lift", last: said.length ? describeUpdate(said[0]) : "none" };
}

const quoted = (reason: string) => JSON.stringify(reason);
const liftHow = (reason: string) => `pulumi config set freeze "${liftOf(reason)}", then pulumi up (and then pulumi config rm freeze)`;
const RM = "pulumi config rm freeze";

/** The refusal of an update while frozen: the reason, who set it, how to lift it. */
export function renderFreezeRefusal(d: Extract<FreezeDecision, { kind: "frozen" }>): string {
    return [
        `the stack is frozen: ${quoted(d.reason)}`,
        `  Set in ${d.setIn}${d.recorded ? " (pulumi stack history)" : ""}.`,
        ...(d.inherited ? ["  This checkout's config does not set freeze; the stack's history does, so it holds here too."] : []),
        "  No update runs while the stack is frozen, this one included: nothing was changed on any host. The drift job keeps checking and reporting.",
        `  To lift it: ${liftHow(d.reason)}.`,
    ].join("\n");
}

/** What a preview (or a refresh) says about the freeze (undefined: nothing to say). */
export function renderFreezeNote(d: FreezeDecision): string | undefined {
    switch (d.kind) {
        case "frozen":
            return (
                `the stack is frozen: ${quoted(d.reason)} (set in ${d.setIn}); pulumi up will be refused until it is lifted: ${liftHow(d.reason)}` +
                (d.recorded ? "" : ". Not in the stack history yet: pulumi up --yes --skip-preview records it (refused, like every update while frozen)")
            );
        case "lifting":
            return `this update lifts the freeze ${quoted(d.reason)}; once it has run: ${RM}`;
        case "open":
            return undefined;
        default:
            return renderProblem(d);
    }
}

function renderProblem(d: Extract<FreezeDecision, { kind: "wrong-lift" | "stale-lift" | "stale-freeze" | "unknown" }>): string {
    switch (d.kind) {
        case "wrong-lift":
            return `${KEY} lifts another freeze than the one in force: ${quoted(d.reason)} (set in ${d.setIn}). To lift it: ${liftHow(d.reason)}`;
        case "stale-lift":
            return `${KEY} is a lift, but the stack is not frozen (the last update with a freeze setting: ${d.last}). Fix: ${RM}`;
        case "stale-freeze":
            return `${KEY} is the freeze ${quoted(d.reason)}, which ${d.liftedIn} lifted. Fix: ${RM} (to freeze again, give a new reason)`;
        case "unknown":
            return (
                `could not read the stack history to see whether another checkout froze the stack (${d.error}); ` +
                "a freeze set elsewhere is not enforced by this run"
            );
    }
}

/** The error that stops an update (undefined: the update goes ahead). */
export function freezeRefusal(d: FreezeDecision): MessageOnlyError | undefined {
    if (d.kind === "frozen") return new MessageOnlyError("FreezeError", renderFreezeRefusal(d));
    if (d.kind === "wrong-lift" || d.kind === "stale-lift" || d.kind === "stale-freeze") {
        return new MessageOnlyError("FreezeError", `${renderProblem(d)} (nothing was changed on any host)`);
    }
    return undefined;
}
