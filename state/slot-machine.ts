/**
 * The two-slot state machine. A slot holds one release (a tag built with one env); one slot
 * is active (serves traffic), the other is the standby. Pure: no Pulumi, no I/O.
 */

export type Color = "blue" | "green";
export const COLORS: readonly Color[] = ["blue", "green"];

/**
 * How a slot's container is networked: `bridge`, its own network namespace with the app's
 * port published on 127.0.0.1 (the host's loopback services, Caddy's admin API among them,
 * are out of its reach); `host`, the host's network, as the old runbooks ran it.
 */
export type NetworkMode = "host" | "bridge";

/**
 * A slot's network mode in a state recorded before l9-deploy recorded it: `host`, the
 * default then (a stack that had set `bridge` gets one more release into its standby).
 */
export const LEGACY_NETWORK_MODE: NetworkMode = "host";

/**
 * What runs in a slot: the release tag, a fingerprint of the env it was started with, and
 * its network mode. A change of any of them is a release: it goes to the standby slot.
 */
export interface SlotRelease {
    tag: string;
    envFingerprint: string;
    networkMode: NetworkMode;
    /**
     * Went into its slot from its image kept on the host, with no checkout or build (a rollback
     * to an older release). Kept while the tag stays in a slot, so its resources never change
     * kind; not part of the release's identity.
     */
    fromKeptImage?: true;
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
    return a !== null && a.tag === b.tag && a.envFingerprint === b.envFingerprint && a.networkMode === b.networkMode;
}

/**
 * The plan from the previous state to the desired release. `keptTags`: releases whose image the
 * host keeps (host-scripts/kept-releases.ts): one of them goes into its slot from that image.
 */
export function planRelease(previous: DeployState | undefined, desired: SlotRelease, keptTags: ReadonlySet<string> = new Set()): ReleasePlan {
    // A release of a tag a slot holds (another env) keeps that tag's kind of resources (one checkout and image, or one kept release, per tag).
    const sameTag = previous ? [previous.active, otherColor(previous.active)].map((c) => previous.slots[c]).find((r) => r?.tag === desired.tag) : undefined;
    const fromKeptImage = sameTag ? sameTag.fromKeptImage : keptTags.has(desired.tag) || undefined;
    const incoming: SlotRelease = {
        tag: desired.tag,
        envFingerprint: desired.envFingerprint,
        networkMode: desired.networkMode,
        ...(fromKeptImage ? { fromKeptImage } : {}),
    };
    if (!previous || !previous.slots[previous.active]) {
        return {
            transition: "first-deploy",
            next: { slots: { blue: incoming, green: null }, active: "blue" },
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
        next: { slots: { ...previous.slots, [idle]: incoming }, active: idle },
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
        if (
            typeof r.tag !== "string" ||
            typeof r.envFingerprint !== "string" ||
            (r.networkMode !== undefined && r.networkMode !== "host" && r.networkMode !== "bridge")
        ) {
            throw new Error(`the stack's previous deployState has a malformed slot: ${JSON.stringify(s)}`);
        }
        return {
            tag: r.tag,
            envFingerprint: r.envFingerprint,
            networkMode: r.networkMode ?? LEGACY_NETWORK_MODE,
            ...(r.fromKeptImage === true ? { fromKeptImage: true as const } : {}),
        };
    };
    return { active: v.active, slots: { blue: slot(v.slots.blue), green: slot(v.slots.green) } };
}

/**
 * The network mode of the release to deploy: the configured one; unset, the one the stack
 * serves with (a stack keeps its mode until the operator changes it: a change is a release),
 * and `bridge` for a new stack. `warning` says what host mode exposes, when it is chosen.
 */
export function resolveNetworkMode(configured: NetworkMode | undefined, previous: (DeployState | undefined)[]): { mode: NetworkMode; warning?: string } {
    const serving = previous.map((s) => s?.slots[s.active]).filter((r): r is SlotRelease => !!r);
    const mode = configured ?? serving[0]?.networkMode ?? "bridge";
    const modes = new Set(serving.map((r) => r.networkMode));
    const mixed =
        configured === undefined && modes.size > 1
            ? `the hosts serve with different network modes (host and bridge) and networkMode is not set, ` +
              `so every host gets the first host's, ${mode}: set networkMode to choose. `
            : "";
    if (mode === "bridge") return mixed ? { mode, warning: mixed.trim() } : { mode };
    const why = configured ? "networkMode is host" : "networkMode is not set and this stack serves with host (the default before bridge), so it stays host";
    return {
        mode,
        warning:
            `${mixed}${why}: the app's containers share the host's network, ` +
            `so they reach every service on the host's loopback (Caddy's admin API, unless caddyAdmin is a unix socket) ` +
            `and can listen on any port of the host, past Caddy. ` +
            `Fix: pulumi config set networkMode bridge ` +
            `(the app then listens on containerPort, HOST=0.0.0.0 inside its container; the change is a normal release into the standby slot)`,
    };
}
