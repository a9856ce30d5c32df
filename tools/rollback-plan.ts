/**
 * Which release `npm run rollback` goes back to, and how it will go on each host, from the
 * hosts' facts (host-scripts/rollback-facts.ts). Pure: tools/rollback.ts does the I/O.
 */
import type { KeptImage } from "../host-scripts/kept-releases";
import { isReleaseTagName, RELEASE_TAG_CHARS } from "../config/schema";
import type { JournalRecord } from "../host-scripts/journal";
import { JOURNAL_LINES_READ, RollbackFacts } from "../host-scripts/rollback-facts";
import { Color, COLORS, otherColor } from "../state/slot-machine";

/** What the rollback does, or why it does nothing. */
export type RollbackChoice =
    /** Go to `tag`; `serving` is the tag that serves now (if known), `lastLive` the journal's newest `live` record of `tag` (if any). */
    | { kind: "rollback"; tag: string; serving?: string; lastLive?: JournalRecord }
    /** The requested tag serves already: nothing to do. */
    | { kind: "already-serves"; tag: string }
    /** No tag can be chosen (none given and none found, or not a tag's name): the message says why. */
    | { kind: "refused"; message: string };

/** How the release reaches one host. */
export type RollbackRoute =
    /** The host serves it already. */
    | { kind: "serves" }
    /** The standby slot's container holds it: a switch only. */
    | { kind: "standby"; slot: Color }
    /** Its image is kept: a new container in the standby slot from that image, no checkout or build. */
    | { kind: "kept"; release: KeptImage }
    /** Not on the host any more: checked out and built like a new release. */
    | { kind: "build" };

/** The journal's `live` records, newest first (the journal is appended to: its last line is the newest). */
function liveRecords(facts: RollbackFacts): JournalRecord[] {
    return facts.journal.filter((r) => r.status === "live").reverse();
}

/**
 * The slot that serves: the active record's, unless that record says it was switched back
 * (journaled so when no earlier record was kept: traffic went to the other slot).
 */
function servingSlot(facts: RollbackFacts): Color | undefined {
    const a = facts.active;
    if (a) return a.status === "switched-back" ? otherColor(a.slot) : a.slot;
    const serving = liveRecords(facts)[0]?.tag;
    const holding = COLORS.filter((c) => serving !== undefined && facts.slots[c] === serving);
    return holding.length === 1 ? holding[0] : undefined;
}

/** The tag that serves on a host: the active record's (see servingSlot); without one, the newest `live` record's. */
export function servingTag(facts: RollbackFacts): string | undefined {
    const a = facts.active;
    if (a && a.status !== "switched-back") return a.tag;
    if (a) {
        const standing = facts.slots[otherColor(a.slot)];
        if (standing) return standing;
    }
    return liveRecords(facts)[0]?.tag;
}

/**
 * The release to go back to: `requested`, or else the newest `live` record in the journal
 * whose tag is not the one that serves (records that were switched back, failed after their
 * switch or never finished switching never served as a release: they are skipped).
 */
export function chooseRollbackTag(facts: RollbackFacts, requested?: string): RollbackChoice {
    const serving = servingTag(facts);
    const servingPart = serving !== undefined ? { serving } : {};
    const lastLiveOf = (tag: string) => {
        const r = liveRecords(facts).find((x) => x.tag === tag);
        return r ? { lastLive: r } : {};
    };
    if (requested !== undefined) {
        if (!isReleaseTagName(requested)) {
            return { kind: "refused", message: `${JSON.stringify(requested)} is not a release tag's name (${RELEASE_TAG_CHARS})` };
        }
        if (requested === serving) return { kind: "already-serves", tag: requested };
        return { kind: "rollback", tag: requested, ...servingPart, ...lastLiveOf(requested) };
    }
    const previous = liveRecords(facts).find((r) => r.tag !== serving);
    if (!previous) {
        const kept = facts.kept.map((k) => k.tag).filter((t) => t !== serving);
        const keptPart = kept.length > 0 ? `releases kept on the host: ${kept.join(", ")}` : "the host keeps no other release's image";
        return { kind: "refused", message: `no earlier live release in the host's journal; name one: npm run rollback -- <tag> (${keptPart})` };
    }
    return { kind: "rollback", tag: previous.tag, ...servingPart, lastLive: previous };
}

/** How `tag` reaches the host whose facts these are. */
export function rollbackRoute(facts: RollbackFacts, tag: string): RollbackRoute {
    if (servingTag(facts) === tag) return { kind: "serves" };
    const active = servingSlot(facts);
    const standby = COLORS.find((c) => c !== active && facts.slots[c] === tag);
    if (standby) return { kind: "standby", slot: standby };
    const kept = facts.kept.find((k) => k.tag === tag);
    if (kept) return { kind: "kept", release: kept };
    return { kind: "build" };
}

/** When a record went live and who deployed it, as far as the journal says. */
function liveSince(r: JournalRecord | undefined): string {
    if (!r) return `not live in the host journal's last ${JOURNAL_LINES_READ} records`;
    if (r.time && r.actor) return `live ${r.time} by ${r.actor}`;
    if (r.time) return `live ${r.time}`;
    return r.actor ? `live, deployed by ${r.actor}` : "live earlier";
}

/** One host's line of the plan. */
function describeRoute(route: RollbackRoute, tag: string, imagesToKeep: number): string {
    switch (route.kind) {
        case "serves":
            return `serves ${tag} already: nothing changes there`;
        case "standby":
            return (
                `its standby slot (${route.slot}) holds ${tag}: traffic switches back to it, no new container ` +
                "(unless the stack's env or network mode changed since it ran: then its container is made again)"
            );
        case "kept":
            return `from its kept image ${route.release.imageId.slice(0, 19)} (commit ${route.release.commit.slice(0, 12)}): no checkout, no build`;
        case "build":
            return `not kept on the host: it is checked out and built like a new release (imagesToKeep, ${imagesToKeep} now, decides how many stay)`;
    }
}

/**
 * The plan, as the operator reads it before pulumi's own preview: what serves and where it
 * goes back to (when it was last live, by whom), then one line per host, in rollout order.
 */
export function describeRollback(
    choice: Extract<RollbackChoice, { kind: "rollback" }>,
    hosts: { label: string; facts: RollbackFacts }[],
    imagesToKeep: number,
): string[] {
    const from = choice.serving !== undefined ? `${choice.serving} serves` : "the host's journal names no release that serves";
    const head = `rollback: ${from}; going back to ${choice.tag} (${liveSince(choice.lastLive)})`;
    return [
        head,
        ...hosts.map((h) => {
            const serving = servingTag(h.facts);
            const route = rollbackRoute(h.facts, choice.tag);
            // The first host's facts chose the tag: another host that serves something else says so.
            const differs = route.kind !== "serves" && serving !== choice.serving ? ` (it serves ${serving ?? "no release its journal names"})` : "";
            return `  ${h.label}${differs}: ${describeRoute(route, choice.tag, imagesToKeep)}`;
        }),
    ];
}
