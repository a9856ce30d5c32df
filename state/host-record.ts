/**
 * What the host says serves, and how it corrects the stack's record. The host is the truth:
 * Caddy routes by a marker file on the host, and the switch journals each flip there. The
 * stack's outputs only remember the last update that finished, so after an interruption
 * (a switch killed after its flip, a roll stopped half-way) they name the wrong slot, and a
 * plan made from them would replace the container that serves. Pure: no Pulumi, no I/O.
 */
import { FOREIGN_SERVER_FIX } from "../host-scripts/caddy";
import { Color, COLORS, DeployState, SlotRelease } from "./slot-machine";

/** The host's facts, as `renderServingFactsScript` prints them. */
export interface ServingFacts {
    /** The slot Caddy's routing marker sends traffic to. */
    routing: Color;
    /** The journal's record of the live deploy (state/active.json), if any. */
    journal?: { slot: Color; tag: string; status: string; envFingerprint?: string };
    /** Caddy runs the service's server: the routing marker routes. */
    caddyServer: boolean;
    /** Caddy runs a server of the service's name that l9-deploy did not create (a Caddyfile's `srv0`). */
    foreignServer: boolean;
    /** The release tag of each slot's container (absent: no container). */
    tags: Partial<Record<Color, string>>;
}

/** Why an update stops on a host whose Caddy runs a server of the service's name that l9-deploy did not create. */
export function foreignServerRefusal(serviceName: string, caddyAdmin: string): string {
    return `Caddy (${caddyAdmin}) runs a server named ${serviceName} that l9-deploy did not create (no routing marker of ${serviceName} in it, e.g. a Caddyfile's srv0); it is never taken over, so nothing ran. ${FOREIGN_SERVER_FIX}`;
}

/** The env fingerprint of a release found serving on a host but not known to the stack. */
export const UNRECORDED_ENV = "unrecorded";

const isColor = (v: unknown): v is Color => v === "blue" || v === "green";

/** Reads the facts back; undefined when the text is not what the script prints (nothing is concluded then). */
export function parseServingFacts(text: string): ServingFacts | undefined {
    const kv = new Map<string, string>();
    for (const line of text.split("\n")) {
        const at = line.indexOf("=");
        if (at > 0) kv.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
    }
    const routing = kv.get("routing");
    if (!isColor(routing)) return undefined;
    const tags: Partial<Record<Color, string>> = {};
    for (const c of COLORS) {
        const tag = kv.get(c);
        if (tag) tags[c] = tag;
    }
    return { routing, journal: parseJournal(kv.get("journal") ?? ""), caddyServer: kv.get("caddy_server") === "yes", foreignServer: kv.get("caddy_server") === "foreign", tags };
}

function parseJournal(text: string): ServingFacts["journal"] {
    let j: Record<string, unknown>;
    try {
        j = JSON.parse(text) as Record<string, unknown>;
    } catch {
        return undefined;
    }
    if (j === null || typeof j !== "object" || !isColor(j.slot) || typeof j.tag !== "string") return undefined;
    const env = typeof j.envFingerprint === "string" && /^[0-9a-f]{16}$/.test(j.envFingerprint) ? j.envFingerprint : undefined;
    return { slot: j.slot, tag: j.tag, status: typeof j.status === "string" ? j.status : "live", ...(env ? { envFingerprint: env } : {}) };
}

/** The recorded state corrected by the host, and, when they disagreed, a sentence naming both. */
export interface Reconciled {
    state: DeployState | undefined;
    disagreement?: string;
}

/**
 * The state to plan from. Nothing is concluded from a host where nothing was switched (no
 * journal, and Caddy does not run the service's server) or whose routed slot has no
 * container: the record stands. Otherwise the slot Caddy
 * routes to serves the tag its container carries, with the env the journal recorded for it
 * (or, failing that, the record's, if it names the same tag; else an env no config matches,
 * so the release is never taken as unchanged). The other slot keeps the record's release.
 */
export function reconcileWithHost(recorded: DeployState | undefined, facts: ServingFacts | undefined): Reconciled {
    if (!facts || (!facts.journal && !facts.caddyServer)) return { state: recorded };
    const serving = facts.routing;
    const tag = facts.tags[serving];
    if (!tag) return { state: recorded };
    const fromRecord = recorded?.slots[serving];
    const envFingerprint =
        facts.journal?.slot === serving && facts.journal.tag === tag && facts.journal.envFingerprint
            ? facts.journal.envFingerprint
            : fromRecord?.tag === tag
              ? fromRecord.envFingerprint
              : UNRECORDED_ENV;
    const hostRelease: SlotRelease = { tag, envFingerprint };
    if (recorded && recorded.active === serving && fromRecord?.tag === tag && fromRecord.envFingerprint === envFingerprint) return { state: recorded };
    const said = recorded ? `${recorded.slots[recorded.active]?.tag ?? "nothing"} serves from ${recorded.active}` : "nothing is deployed";
    const envNote = envFingerprint === UNRECORDED_ENV ? " (with an env the stack did not record)" : recorded?.active === serving && fromRecord?.tag === tag ? " with another env" : "";
    return {
        state: { active: serving, slots: { blue: recorded?.slots.blue ?? null, green: recorded?.slots.green ?? null, [serving]: hostRelease } },
        disagreement: `the host serves ${tag} from ${serving}${envNote} (Caddy's routing marker, ${facts.journal ? `journal status '${facts.journal.status}'` : "no journal"}); the stack's record says ${said}. Planned from what the host serves (an earlier update was interrupted after its switch, or the stack's state is older than the host).`,
    };
}
