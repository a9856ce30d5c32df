/**
 * What the host says serves, and how it corrects the stack's record. The host is the truth:
 * Caddy routes by a marker file on the host, and the switch journals each flip there. The
 * stack's outputs only remember the last update that finished, so after an interruption
 * (a switch killed after its flip, a roll stopped half-way) they name the wrong slot, and a
 * plan made from them would replace the container that serves. Pure: no Pulumi, no I/O.
 */
import { FOREIGN_SERVER_FIX } from "../host-scripts/caddy";
import { caddyServerName, legacyCaddyServerName, UPSTREAM_VAR } from "../host-scripts/routing";
import { isReleaseTagName } from "../config/schema";
import { JournalRecord, parseJournalRecord } from "../host-scripts/journal";
import { KeptImage, parseKeptReleases } from "../host-scripts/kept-releases";
import { caddyMarkerDir, serviceOfMarkerDir } from "../host-scripts/layout";
import { Color, COLORS, DeployState, LEGACY_NETWORK_MODE, NetworkMode, SlotRelease } from "./slot-machine";

/** The host's facts, as `renderServingFactsScript` prints them. */
export interface ServingFacts {
    /** The slot Caddy's routing marker sends traffic to. */
    routing: Color;
    /** The journal's record of the live deploy (state/active.json), if any. */
    journal?: JournalRecord;
    /** Caddy runs the service's server: the routing marker routes. */
    caddyServer: boolean;
    /** Caddy runs a server of the service's server name (caddyServerName) that l9-deploy did not create. */
    foreignServer: boolean;
    /** The release tag of each slot's container (absent: no container). */
    tags: Partial<Record<Color, string>>;
    /** The network mode of each slot's container (absent: no container). */
    networks: Partial<Record<Color, NetworkMode>>;
    /** Caddy's HTTP servers: name, listen addresses, and the l9-deploy service whose markers it routes by, if any. */
    servers: CaddyServerFact[];
    /** Every container's host ports, running or stopped (a stopped one takes them again when started). */
    published: PublishedPorts[];
    /** The releases whose image the host keeps, newest first (host-scripts/kept-releases.ts). */
    kept: KeptImage[];
    /** The tags that have a worktree under appDir/releases. */
    worktrees: string[];
}

export interface PublishedPorts {
    /** The container's name. */
    name: string;
    /** Docker's state of it: running, exited, created... */
    state: string;
    /** The l9-deploy service whose slot it is (its `l9.service` label), if it is one. */
    service?: string;
    /** The host ports it publishes. */
    ports: number[];
}

export interface CaddyServerFact {
    name: string;
    listen: string[];
    /** The l9-deploy service the server routes for (its marker directory), if it is one of ours. */
    service?: string;
}

/** Why an update stops on a host whose Caddy runs a server of the service's name that l9-deploy did not create. */
export function foreignServerRefusal(serviceName: string, caddyAdmin: string): string {
    return (
        `Caddy (${caddyAdmin}) runs a server named ${caddyServerName(serviceName)} that l9-deploy did not create ` +
        `(no routing marker of ${serviceName} in it); it is never taken over, so nothing ran. ${FOREIGN_SERVER_FIX}`
    );
}

/** The env fingerprint of a release found serving on a host but not known to the stack. */
export const UNRECORDED_ENV = "unrecorded";

const isColor = (v: unknown): v is Color => v === "blue" || v === "green";

/**
 * Reads the facts of `serviceName` back; undefined when the text is not what the script prints
 * (nothing is concluded then).
 */
export function parseServingFacts(text: string, serviceName: string): ServingFacts | undefined {
    const kv = new Map<string, string>();
    const tags: Partial<Record<Color, string>> = {};
    const networks: Partial<Record<Color, NetworkMode>> = {};
    const published: PublishedPorts[] = [];
    const worktrees: string[] = [];
    for (const line of text.split("\n")) {
        const at = line.indexOf("=");
        if (at <= 0) continue;
        const key = line.slice(0, at).trim();
        const value = line.slice(at + 1).trim();
        if (key === "published") {
            const [name, state, service, ...ports] = value.split(" ");
            if (name && state && service) {
                const numbers = ports.map(Number).filter((p) => Number.isInteger(p) && p > 0);
                published.push({ name: name.replace(/^\//, ""), state, ...(service !== "-" ? { service } : {}), ports: numbers });
            }
            continue;
        }
        if (key === "worktree") {
            if (isReleaseTagName(value)) worktrees.push(value);
            continue;
        }
        if (key !== "container") {
            kv.set(key, value);
            continue;
        }
        const [name, tag, network] = value.split(" ");
        const color = COLORS.find((c) => name === `/${serviceName}-${c}`);
        if (!color) continue;
        if (tag) tags[color] = tag;
        // Docker names a bridge container's mode "bridge", or "default" when none was asked for;
        // any other (none, a user network, container:<id>) is not one l9-deploy set: unknown.
        if (network === "host") networks[color] = "host";
        else if (network === "bridge" || network === "default") networks[color] = "bridge";
    }
    const routing = kv.get("routing");
    if (!isColor(routing)) return undefined;
    const servers = serversOf(kv.get("servers") ?? "");
    // The service's server: the name an earlier version gave it, when it routes by the service's
    // markers, else its own name (as the switch picks it: renderCaddyServerPresentLine).
    const routesForService = (name: string) => name in servers && JSON.stringify(servers[name]).includes(`${caddyMarkerDir(serviceName)}/`);
    // Or, in Caddyfile mode, an operator's server routes it by l9-deploy's snippet (its UPSTREAM_VAR handlers).
    const bySnippet = Object.values(servers).some((s) => COLORS.some((c) => JSON.stringify(s).includes(`"${UPSTREAM_VAR}":"${serviceName}-${c}"`)));
    const caddyServer = routesForService(legacyCaddyServerName(serviceName)) || routesForService(caddyServerName(serviceName)) || bySnippet;
    const ownName = servers[caddyServerName(serviceName)];
    return {
        routing,
        journal: parseJournalRecord(kv.get("journal") ?? ""),
        caddyServer,
        foreignServer: !caddyServer && ownName !== null && typeof ownName === "object",
        tags,
        networks,
        published,
        kept: parseKeptReleases(text),
        worktrees,
        servers: Object.entries(servers).map(([name, server]) => {
            const listen = (server as { listen?: unknown })?.listen;
            const service = serviceOfMarkerDir(JSON.stringify(server));
            return { name, listen: Array.isArray(listen) ? listen.filter((l): l is string => typeof l === "string") : [], ...(service ? { service } : {}) };
        }),
    };
}

/** Caddy's `apps/http/servers` object by name; empty from anything else (Caddy not answering, no http app). */
function serversOf(text: string): Record<string, unknown> {
    let servers: unknown;
    try {
        servers = JSON.parse(text);
    } catch {
        return {};
    }
    return servers !== null && typeof servers === "object" && !Array.isArray(servers) ? (servers as Record<string, unknown>) : {};
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
export function reconcileWithHost(recordedState: DeployState | undefined, facts: ServingFacts | undefined): Reconciled {
    const recorded = withHostNetworks(recordedState, facts);
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
    const hostRelease: SlotRelease = {
        tag,
        envFingerprint,
        networkMode: facts.networks[serving] ?? fromRecord?.networkMode ?? LEGACY_NETWORK_MODE,
        ...(servedFromKeptImage(fromRecord, tag, facts) ? { fromKeptImage: true as const } : {}),
    };
    if (
        recorded &&
        recorded.active === serving &&
        fromRecord?.tag === tag &&
        fromRecord.envFingerprint === envFingerprint &&
        fromRecord.networkMode === hostRelease.networkMode
    )
        return { state: recorded };
    const said = recorded ? `${recorded.slots[recorded.active]?.tag ?? "nothing"} serves from ${recorded.active}` : "nothing is deployed";
    const envNote =
        envFingerprint === UNRECORDED_ENV
            ? " (with an env the stack did not record)"
            : recorded?.active === serving && fromRecord?.tag === tag
              ? " with another env"
              : "";
    return {
        state: { active: serving, slots: { blue: recorded?.slots.blue ?? null, green: recorded?.slots.green ?? null, [serving]: hostRelease } },
        disagreement:
            `the host serves ${tag} from ${serving}${envNote} ` +
            `(Caddy's routing marker, ${facts.journal ? `journal status '${facts.journal.status}'` : "no journal"}); ` +
            `the stack's record says ${said}. ` +
            `Planned from what the host serves (an earlier update was interrupted after its switch, or the stack's state is older than the host).`,
    };
}

/**
 * Whether the release `tag` that serves keeps its resources of the kept-image kind: as the
 * record declared them when it names that tag; else as the host holds it, a kept image and no
 * worktree (a release from its kept image whose update was interrupted after the flip: its
 * next update must not check it out, and the repository may be out of reach). Any other tag
 * is checked out, which the host's mirror always allows.
 */
function servedFromKeptImage(fromRecord: SlotRelease | null | undefined, tag: string, facts: ServingFacts): boolean {
    if (fromRecord?.tag === tag) return fromRecord.fromKeptImage === true;
    return facts.kept.some((k) => k.tag === tag) && !facts.worktrees.includes(tag);
}

/**
 * The record with each slot's network mode as its container on the host has it, where that
 * container runs the recorded tag: a state from before the mode was recorded says `host`
 * for a stack that may have run `bridge`.
 */
function withHostNetworks(recorded: DeployState | undefined, facts: ServingFacts | undefined): DeployState | undefined {
    if (!recorded || !facts) return recorded;
    const slot = (c: Color): SlotRelease | null => {
        const r = recorded.slots[c];
        const onHost = facts.networks[c];
        return r && onHost && facts.tags[c] === r.tag && onHost !== r.networkMode ? { ...r, networkMode: onHost } : r;
    };
    return { active: recorded.active, slots: { blue: slot("blue"), green: slot("green") } };
}

/** host and port range of a Caddy listen address (`:443`, `127.0.0.1:8080`, `tcp/[::1]:80-81`); undefined for a socket. */
function listenRange(address: string): { host: string; from: number; to: number } | undefined {
    const m = /^(?:tcp[46]?\/)?(.*):(\d+)(?:-(\d+))?$/.exec(address);
    if (!m) return undefined;
    const host = m[1].replace(/^\[|\]$/g, "");
    return { host: host === "0.0.0.0" || host === "::" ? "" : host, from: Number(m[2]), to: Number(m[3] ?? m[2]) };
}

function listensOnSameAddress(a: string, b: string): boolean {
    const x = listenRange(a);
    const y = listenRange(b);
    if (!x || !y) return false;
    const sameHost = x.host === "" || y.host === "" || x.host === y.host;
    return sameHost && x.from <= y.to && y.from <= x.to;
}

/**
 * Why the update stops before anything runs when a container that l9-deploy did not create
 * publishes a slot's port: the slot's container could not start there (or, when that
 * container is stopped, it could not start again: the old runbooks' stopped green on 8001).
 */
export function slotPortConflict(facts: ServingFacts | undefined, serviceName: string, ports: { bluePort: number; greenPort: number }): string | undefined {
    const slots = new Set(COLORS.map((c) => `${serviceName}-${c}`));
    for (const [field, port] of [
        ["bluePort", ports.bluePort],
        ["greenPort", ports.greenPort],
    ] as const) {
        // l9-deploy's own slots (another name's: a rename) are the plan's to replace, as before.
        const other = facts?.published.find((c) => !slots.has(c.name) && c.service === undefined && c.ports.includes(port));
        if (!other) continue;
        const why = other.state === "running" ? "the slot's container could not start there" : "one of the two could not start while the other runs";
        const fix = `Fix: pulumi config set ${field} <a port nothing publishes>, or remove that container if it is not needed (docker rm ${other.name})`;
        const whose = `the container ${other.name} (${other.state}), which is not one of ${serviceName}'s slots`;
        return `port ${port} (${field}) is published by ${whose}: ${why}, so nothing ran. ${fix}`;
    }
    return undefined;
}

/**
 * Why the update stops before anything runs when another Caddy server listens on
 * `caddyListen`: Caddy refuses two servers on one address, so the switch could never load
 * this service's server, and by then the update would have replaced containers. For a server
 * of another l9-deploy service that is a rename (or two stacks on one address): that service
 * serves there, and replacing its containers would take its site down.
 */
export function listenerConflict(facts: ServingFacts | undefined, serviceName: string, caddyListen: string): string | undefined {
    const ours = (s: CaddyServerFact) =>
        s.name === caddyServerName(serviceName) || (s.name === legacyCaddyServerName(serviceName) && s.service === serviceName);
    const other = facts?.servers.find((s) => !ours(s) && s.listen.some((l) => listensOnSameAddress(l, caddyListen)));
    if (!other) return undefined;
    const whose = other.service ? `l9-deploy's server of service ${other.service}` : `a server l9-deploy did not create`;
    const fix = other.service
        ? `Fix: service ${other.service} still serves there. ` +
          `To rename it: destroy the stack with the old name and deploy the new one (an outage of one deploy), ` +
          `or deploy ${serviceName} as another stack with its own caddyListen, ports and appDir, ` +
          `move the traffic in front of Caddy (DNS or load balancer), then destroy the old one`
        : `Fix: give this service another address (pulumi config set caddyListen ...), or remove that server from Caddy's config if it is not needed`;
    return (
        `Caddy's server ${other.name} (${whose}) already listens on ${caddyListen}: ` +
        `Caddy cannot run ${serviceName}'s server there beside it, so nothing ran. ${fix}`
    );
}
