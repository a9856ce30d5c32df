/**
 * The two-slot state machine. A slot holds one release (a tag built with one env); one slot
 * is active (serves traffic), the other is the standby. Pure: no Pulumi, no I/O.
 */

export type Color = "blue" | "green";
export const COLORS: readonly Color[] = ["blue", "green"];

/** What runs in a slot: the release tag and a fingerprint of the env it was started with. */
export interface SlotRelease {
    tag: string;
    envFingerprint: string;
}

export interface DeployState {
    slots: Record<Color, SlotRelease | null>;
    active: Color;
}

export type Transition =
    /** Nothing deployed yet: the release goes to blue. */
    | "first-deploy"
    /** The release is already serving: nothing changes. */
    | "unchanged"
    /** The release is in the standby slot: gate it and switch traffic back (no rebuild). */
    | "switch-to-standby"
    /** A new release replaces the standby slot, is gated, then takes traffic. */
    | "release-to-standby";

export interface ReleasePlan {
    transition: Transition;
    /** The state after a successful update. */
    next: DeployState;
    /** The slot that serves after the update. */
    target: Color;
    /** The slot whose container is (re)created in this update, if any. */
    replaced: Color | null;
    /** The slot that served before the update, if it changes. */
    previousActive: Color | null;
}

export function otherColor(c: Color): Color {
    return c === "blue" ? "green" : "blue";
}

function sameRelease(a: SlotRelease | null, b: SlotRelease): boolean {
    return a !== null && a.tag === b.tag && a.envFingerprint === b.envFingerprint;
}

export function planRelease(previous: DeployState | undefined, desired: SlotRelease): ReleasePlan {
    if (!previous || !previous.slots[previous.active]) {
        return {
            transition: "first-deploy",
            next: { slots: { blue: desired, green: null }, active: "blue" },
            target: "blue",
            replaced: "blue",
            previousActive: null,
        };
    }
    const active = previous.active;
    const idle = otherColor(active);
    if (sameRelease(previous.slots[active], desired)) {
        return { transition: "unchanged", next: previous, target: active, replaced: null, previousActive: null };
    }
    if (sameRelease(previous.slots[idle], desired)) {
        return {
            transition: "switch-to-standby",
            next: { slots: previous.slots, active: idle },
            target: idle,
            replaced: null,
            previousActive: active,
        };
    }
    return {
        transition: "release-to-standby",
        next: { slots: { ...previous.slots, [idle]: desired }, active: idle },
        target: idle,
        replaced: idle,
        previousActive: active,
    };
}

/** Reads a DeployState back from a stack output, tolerating absence and rejecting garbage. */
export function parseDeployState(value: unknown): DeployState | undefined {
    if (value === undefined || value === null) return undefined;
    const v = value as { slots?: Record<string, unknown>; active?: unknown };
    if ((v.active !== "blue" && v.active !== "green") || typeof v.slots !== "object" || v.slots === null) {
        throw new Error(`the stack's previous deployState output is malformed: ${JSON.stringify(value)}`);
    }
    const slot = (s: unknown): SlotRelease | null => {
        if (s === null || s === undefined) return null;
        const r = s as Partial<SlotRelease>;
        if (typeof r.tag !== "string" || typeof r.envFingerprint !== "string") {
            throw new Error(`the stack's previous deployState has a malformed slot: ${JSON.stringify(s)}`);
        }
        return { tag: r.tag, envFingerprint: r.envFingerprint };
    };
    return { active: v.active, slots: { blue: slot(v.slots.blue), green: slot(v.slots.green) } };
}
