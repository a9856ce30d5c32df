import { expect } from "chai";
import { spawnSync } from "child_process";
import { isReleaseTagName, NOT_A_RELEASE_TAG_CASE } from "../../config/schema";
import {
    foreignServerRefusal,
    listenerConflict,
    parseServingFacts,
    slotPortConflict,
    reconcileWithHost,
    ServingFacts,
    UNRECORDED_ENV,
} from "../../state/host-record";
import { DeployState, NetworkMode, planRelease } from "../../state/slot-machine";

const r = (tag: string, envFingerprint = "e1e1e1e1e1e1e1e1", networkMode: NetworkMode = "host") => ({ tag, envFingerprint, networkMode });
/** The service l9's Caddy server, as the switch loads it: it routes by l9's marker files. */
const L9_SERVER = { listen: [":443"], routes: [{ match: [{ file: { try_files: ["/var/lib/l9-deploy/l9/caddy/l9-green.active"] } }] }] };
/** A slot container's line, as `docker inspect` prints it in the serving facts. */
const container = (name: string, tag: string, network: string) => `container=/${name} ${tag} ${network}\n`;
/** The facts of service l9 as the host check prints them (renderServingFactsScript). */
const facts = (
    routing: "blue" | "green",
    journal: string,
    blue = "",
    green = "",
    caddyServer = journal !== "",
    networks: { blue?: string; green?: string } = {},
) =>
    parseServingFacts(
        `routing=${routing}\njournal=${journal}\nservers=${caddyServer ? JSON.stringify({ "l9-l9": L9_SERVER }) : ""}\n` +
            (blue || networks.blue ? container("l9-blue", blue, networks.blue ?? "host") : "") +
            (green || networks.green ? container("l9-green", green, networks.green ?? "host") : ""),
        "l9",
    );
const record = (slot: string, tag: string, status = "live", envFingerprint = "e1e1e1e1e1e1e1e1") =>
    JSON.stringify({ id: "abc", tag, slot, status, envFingerprint });

describe("unit: the host check's worktree names (a shell case pattern) and releaseTag's rule agree", () => {
    it("sh keeps exactly the names isReleaseTagName accepts (a directory's name is never empty)", () => {
        const names = [
            "v0.1.0-l9",
            "2026.12.06",
            "_x",
            "a",
            "x".repeat(200),
            "-opt",
            ".hidden",
            "..",
            "a b",
            "x\nrouting=green",
            "v1=2",
            "v1:x",
            "é1",
            "v1$(id)",
            "v1*",
            "[a]",
            "v1\\",
            "v1'",
            "v1\u001b[2J",
        ];
        const script = `for n in "$@"; do case "$n" in ${NOT_A_RELEASE_TAG_CASE}) ;; *) printf '%s\\0' "$n" ;; esac; done`;
        const kept = spawnSync("sh", ["-c", script, "sh", ...names], { encoding: "utf8" });
        expect(kept.status, kept.stderr).to.equal(0);
        expect(kept.stdout.split("\0").slice(0, -1)).to.deep.equal(names.filter(isReleaseTagName));
        expect(names.filter(isReleaseTagName)).to.have.length(5);
    });
});

describe("unit: the host's record of what serves (the host wins)", () => {
    it("reads a Caddy server of the service's server name that l9-deploy did not create as foreign, and says why nothing runs", () => {
        const f = parseServingFacts(`routing=blue\njournal=\nservers=${JSON.stringify({ "l9-api": { listen: [":443"], routes: [] } })}\n`, "api");
        expect(f).to.include({ caddyServer: false, foreignServer: true });
        expect(foreignServerRefusal("api", "127.0.0.1:2019")).to.equal(
            "Caddy (127.0.0.1:2019) runs a server named l9-api that l9-deploy did not create (no routing marker of api in it); " +
                "it is never taken over, so nothing ran. " +
                "Fix: give the service another name (pulumi config set serviceName ...), or remove that server from Caddy's config if it is not needed",
        );
    });

    it("reads the facts the host check prints, and nothing from garbage", () => {
        expect(facts("green", record("green", "v2", "switching"), "v1", "v2")).to.deep.equal({
            routing: "green",
            journal: { id: "abc", slot: "green", tag: "v2", status: "switching", envFingerprint: "e1e1e1e1e1e1e1e1" },
            caddyServer: true,
            foreignServer: false,
            tags: { blue: "v1", green: "v2" },
            networks: { blue: "host", green: "host" },
            servers: [{ name: "l9-l9", listen: [":443"], service: "l9" }],
            published: [],
            kept: [],
            worktrees: [],
        } satisfies ServingFacts);
        expect(facts("blue", "", "", "")).to.deep.equal({
            routing: "blue",
            journal: undefined,
            caddyServer: false,
            foreignServer: false,
            tags: {},
            networks: {},
            servers: [],
            published: [],
            kept: [],
            worktrees: [],
        });
        // Docker calls a bridge container's mode "bridge", or "default" when none was asked for.
        expect(facts("blue", "", "v1", "v2", false, { blue: "default", green: "bridge" })?.networks).to.deep.equal({ blue: "bridge", green: "bridge" });
        // A mode l9-deploy never sets (moved by hand) is unknown: it corrects nothing.
        expect(facts("blue", "", "v1", "v2", false, { blue: "none", green: "l9-custom-net" })?.networks).to.deep.equal({});
        expect(facts("blue", "{garbage", "v1")?.journal).to.equal(undefined);
        expect(facts("blue", JSON.stringify({ slot: "red", tag: "v1" }), "v1")?.journal).to.equal(undefined);
        // A tag releaseTag would refuse is no record; a fingerprint that is not one is left out.
        expect(facts("blue", JSON.stringify({ slot: "blue", tag: "-v1", status: "live" }), "v1")?.journal).to.equal(undefined);
        expect(facts("blue", JSON.stringify({ slot: "blue", tag: "v1", status: "live", envFingerprint: "x\u001b" }), "v1")?.journal).to.deep.equal({
            slot: "blue",
            tag: "v1",
            status: "live",
        });
        // A journal written by an older version has no env fingerprint.
        expect(facts("blue", JSON.stringify({ slot: "blue", tag: "v1", status: "live" }), "v1")?.journal).to.deep.equal({
            slot: "blue",
            tag: "v1",
            status: "live",
        });
        expect(parseServingFacts("", "l9")).to.equal(undefined);
        expect(parseServingFacts("routing=red\n", "l9")).to.equal(undefined);
        // Another service's containers, and docker's empty line when neither slot exists, say nothing.
        const others = parseServingFacts(
            `routing=blue\njournal=\nservers=\ncontainer=\n${container("l9x-blue", "v9", "host")}${container("l9-green", "", "bridge")}`,
            "l9",
        );
        expect(others).to.include({ caddyServer: false, foreignServer: false });
        expect(others?.tags).to.deep.equal({});
        expect(others?.networks).to.deep.equal({ green: "bridge" });
    });

    it("finds the service's Caddy server in the one read of Caddy's servers: its old name when it routes by the service's markers, else its own", () => {
        const read = (servers: Record<string, unknown>) => parseServingFacts(`routing=blue\njournal=\nservers=${JSON.stringify(servers)}\n`, "l9");
        const foreign = { listen: [":8080"], routes: [] };
        // An earlier version named it after the service (l9); this one l9-<service> (l9-l9).
        expect(read({ l9: L9_SERVER })).to.include({ caddyServer: true, foreignServer: false });
        expect(read({ "l9-l9": L9_SERVER })).to.include({ caddyServer: true, foreignServer: false });
        expect(read({ l9: L9_SERVER, "l9-l9": foreign })).to.include({ caddyServer: true, foreignServer: false });
        // A server of the old name without the markers (a Caddyfile's own) is not the service's, and not in the way.
        expect(read({ l9: foreign })).to.include({ caddyServer: false, foreignServer: false });
        // One of the service's own name without its markers is someone else's: never taken over.
        expect(read({ l9: foreign, "l9-l9": foreign })).to.include({ caddyServer: false, foreignServer: true });
        // Another service's server, and Caddy with no http app, are neither.
        expect(
            read({ "l9-web": { listen: [":80"], routes: [{ match: [{ file: { try_files: ["/var/lib/l9-deploy/web/caddy/web-green.active"] } }] }] } }),
        ).to.include({
            caddyServer: false,
            foreignServer: false,
        });
        expect(parseServingFacts("routing=blue\njournal=\nservers=null\n", "l9")).to.include({ caddyServer: false, foreignServer: false });
    });

    it("a switch killed after its flip: the next release goes to the slot that does not serve", () => {
        // The stack recorded blue serving v1; the interrupted update flipped Caddy to green (v2).
        const recorded: DeployState = { slots: { blue: r("v1"), green: r("v0") }, active: "blue" };
        const { state, disagreement } = reconcileWithHost(recorded, facts("green", record("green", "v2", "switching"), "v1", "v2"));
        expect(state).to.deep.equal({ active: "green", slots: { blue: r("v1"), green: r("v2") } });
        expect(disagreement).to.match(/the host serves v2 from green .*journal status 'switching'.*the stack's record says v1 serves from blue/);
        const next = planRelease(state, r("v3"));
        expect(next.transition).to.equal("release-to-standby");
        expect(next.replaced, "never the serving slot").to.equal("blue");
        // The same tag again converges without a new container.
        const same = planRelease(state, r("v2"));
        expect(same.transition).to.equal("unchanged");
        expect(same.replaced).to.equal(null);
        // The previous tag is the warm standby: a switch, nothing replaced.
        expect(planRelease(state, r("v1")).transition).to.equal("switch-to-standby");
    });

    it("the routing marker decides when the journal and Caddy disagree (killed between journal and flip)", () => {
        const recorded: DeployState = { slots: { blue: r("v1"), green: r("v0") }, active: "blue" };
        // The journal names green, but the marker was never set: blue still serves v1, as recorded.
        expect(reconcileWithHost(recorded, facts("blue", record("green", "v2", "switching"), "v1", "v2"))).to.deep.equal({ state: recorded });
        // With no record at all, blue serves v1 with the record's env unknown to the journal: never "unchanged".
        const fresh = reconcileWithHost(undefined, facts("blue", record("green", "v2", "switching"), "v1", "v2"));
        expect(fresh.state).to.deep.equal({ active: "blue", slots: { blue: { tag: "v1", envFingerprint: UNRECORDED_ENV, networkMode: "host" }, green: null } });
        expect(planRelease(fresh.state, r("v1")).transition).to.equal("release-to-standby");
        expect(planRelease(fresh.state, r("v1")).replaced).to.equal("green");
    });

    it("a roll stopped after this host switched (several hosts): planned from what it serves", () => {
        const recorded: DeployState = { slots: { blue: r("v1"), green: r("v2") }, active: "green" };
        const { state } = reconcileWithHost(recorded, facts("blue", record("blue", "v3", "live", "e3e3e3e3e3e3e3e3"), "v3", "v2"));
        expect(state).to.deep.equal({ active: "blue", slots: { blue: r("v3", "e3e3e3e3e3e3e3e3"), green: r("v2") } });
        expect(planRelease(state, r("v2")).transition).to.equal("switch-to-standby");
        // An older journal without the env: v3 is never taken as unchanged.
        const old = reconcileWithHost(recorded, facts("blue", JSON.stringify({ slot: "blue", tag: "v3", status: "live" }), "v3", "v2")).state;
        expect(old?.slots.blue).to.deep.equal({ tag: "v3", envFingerprint: UNRECORDED_ENV, networkMode: "host" });
        expect(planRelease(old, r("v3")).replaced).to.equal("green");
    });

    it("a journal removed by hand: Caddy still runs the service's server, so its marker still says what serves", () => {
        const recorded: DeployState = { slots: { blue: r("v1"), green: r("v0") }, active: "blue" };
        const { state, disagreement } = reconcileWithHost(recorded, facts("green", "", "v1", "v2", true));
        expect(state).to.deep.equal({ active: "green", slots: { blue: r("v1"), green: { tag: "v2", envFingerprint: UNRECORDED_ENV, networkMode: "host" } } });
        expect(disagreement).to.contain("no journal");
        expect(planRelease(state, r("v3")).replaced).to.equal("blue");
    });

    it("concludes nothing when the host agrees, never flipped, or its routed slot has no container", () => {
        const recorded: DeployState = { slots: { blue: r("v1"), green: r("v2") }, active: "green" };
        expect(reconcileWithHost(recorded, facts("green", record("green", "v2"), "v1", "v2"))).to.deep.equal({ state: recorded });
        expect(reconcileWithHost(recorded, facts("blue", "", "v1", "v2"))).to.deep.equal({ state: recorded });
        expect(reconcileWithHost(recorded, facts("blue", record("blue", "v1"), "", "v2"))).to.deep.equal({ state: recorded });
        expect(reconcileWithHost(recorded, undefined)).to.deep.equal({ state: recorded });
        expect(reconcileWithHost(undefined, facts("blue", "", "", ""))).to.deep.equal({ state: undefined });
    });

    it("an env the host recorded but the stack did not is a disagreement too", () => {
        const recorded: DeployState = { slots: { blue: r("v1"), green: r("v2") }, active: "green" };
        const { state, disagreement } = reconcileWithHost(recorded, facts("green", record("green", "v2", "live", "e9e9e9e9e9e9e9e9"), "v1", "v2"));
        expect(state?.slots.green).to.deep.equal(r("v2", "e9e9e9e9e9e9e9e9"));
        expect(disagreement).to.contain("with another env");
    });

    it("takes each slot's network mode from its container on the host: a state recorded before the mode was is corrected, not released again", () => {
        // A state from before the mode was recorded reads as host; the stack had set bridge.
        const recorded: DeployState = { slots: { blue: r("v1"), green: r("v2") }, active: "green" };
        const bridged = facts("green", record("green", "v2"), "v1", "v2", true, { blue: "bridge", green: "bridge" });
        const { state, disagreement } = reconcileWithHost(recorded, bridged);
        expect(state).to.deep.equal({ active: "green", slots: { blue: r("v1", undefined, "bridge"), green: r("v2", undefined, "bridge") } });
        expect(disagreement).to.equal(undefined);
        expect(planRelease(state, r("v2", undefined, "bridge")).transition).to.equal("unchanged");
        expect(planRelease(state, r("v1", undefined, "bridge")).transition).to.equal("switch-to-standby");
        // A container of another tag than the record's says nothing about the record's slot.
        const other = reconcileWithHost(recorded, facts("green", record("green", "v2"), "v9", "v2", true, { blue: "bridge" }));
        expect(other.state?.slots.blue).to.deep.equal(r("v1"));
        // What serves, found on the host: its mode too.
        const found = reconcileWithHost(undefined, facts("blue", record("blue", "v1"), "v1", "", true, { blue: "bridge" }));
        expect(found.state?.slots.blue).to.deep.equal(r("v1", undefined, "bridge"));
    });

    it("refuses slot ports another container publishes, running or stopped (the old runbooks' green on 8001), naming it and the fix", () => {
        const text = [
            "routing=blue",
            "journal=",
            "servers=",
            "published=/l9-api-blue running - 8000",
            "published=/l9-api-green exited - 8001",
            "published=/l9-blue running l9 8011",
            "published=/postgres running -",
            "published=/l9-jobs exited - 9000 9001",
            "",
        ].join("\n");
        const f = parseServingFacts(text, "l9");
        expect(f?.published).to.deep.include({ name: "l9-api-green", state: "exited", ports: [8001] });
        expect(f?.published).to.deep.include({ name: "postgres", state: "running", ports: [] });
        expect(slotPortConflict(f, "l9", { bluePort: 8001, greenPort: 8002 })).to.equal(
            "port 8001 (bluePort) is published by the container l9-api-green (exited), which is not one of l9's slots: " +
                "one of the two could not start while the other runs, so nothing ran. " +
                "Fix: pulumi config set bluePort <a port nothing publishes>, or remove that container if it is not needed (docker rm l9-api-green)",
        );
        expect(slotPortConflict(f, "l9", { bluePort: 8010, greenPort: 9001 })).to.match(
            /^port 9001 \(greenPort\) is published by the container l9-jobs \(exited\)/,
        );
        expect(slotPortConflict(f, "l9", { bluePort: 8010, greenPort: 8000 })).to.contain(
            "(running), which is not one of l9's slots: the slot's container could not start there",
        );
        // The service's own slots hold their ports; free ports are no conflict.
        expect(slotPortConflict(f, "l9", { bluePort: 8011, greenPort: 8012 })).to.equal(undefined);
        // Another name's slot (a rename) is l9-deploy's to replace, as before: no refusal here.
        expect(slotPortConflict(f, "api", { bluePort: 8011, greenPort: 8012 })).to.equal(undefined);
        expect(f?.published).to.deep.include({ name: "l9-blue", state: "running", service: "l9", ports: [8011] });
        expect(slotPortConflict(undefined, "l9", { bluePort: 8001, greenPort: 8002 })).to.equal(undefined);
    });

    it("reads a Caddyfile server of the operator's that routes the service by l9-deploy's snippet as the service's routes (Caddyfile mode)", () => {
        const slot = (svc: string) => [
            { handler: "vars", l9_upstream: `${svc}-blue` },
            { handler: "reverse_proxy", upstreams: [{ dial: "127.0.0.1:8011" }] },
        ];
        const servers = { srv0: { listen: [":443"], routes: [{ handle: [{ handler: "subroute", routes: [{ handle: slot("l9") }] }] }] } };
        const text = `routing=blue\njournal=\nservers=${JSON.stringify(servers)}\n`;
        expect(parseServingFacts(text, "l9")).to.include({ caddyServer: true, foreignServer: false });
        // Another service's snippet, or a prefix of the name, is not this service's.
        expect(parseServingFacts(text, "l")).to.include({ caddyServer: false });
        expect(parseServingFacts(text, "l9-api")).to.include({ caddyServer: false });
        // A name that another's starts with: l9 is not l9-api's.
        const other = text.replace(/l9-blue/g, "l9-api-blue");
        expect(parseServingFacts(other, "l9")).to.include({ caddyServer: false });
        expect(parseServingFacts(other, "l9-api")).to.include({ caddyServer: true });
    });

    it("refuses a service whose caddyListen another Caddy server holds: a rename's old name, or the operator's own site", () => {
        const servers = {
            l9: { listen: [":443"], routes: [{ match: [{ file: { try_files: ["/var/lib/l9-deploy/l9/caddy/l9-green.active"] } }] }] },
            srv0: { listen: ["127.0.0.1:8080-8090"], routes: [] },
            metrics: { listen: ["unix//run/metrics.sock"] },
            "l9-web": { listen: [":80"], routes: [{ match: [{ file: { try_files: ["/var/lib/l9-deploy/web/caddy/web-green.active"] } }] }] },
            "l9-srv0": { listen: [":81"], routes: [] },
        };
        const f = parseServingFacts(`routing=blue\njournal=\nservers=${JSON.stringify(servers)}\n`, "api");
        expect(f?.servers).to.deep.equal([
            { name: "l9", listen: [":443"], service: "l9" },
            { name: "srv0", listen: ["127.0.0.1:8080-8090"] },
            { name: "metrics", listen: ["unix//run/metrics.sock"] },
            { name: "l9-web", listen: [":80"], service: "web" },
            { name: "l9-srv0", listen: [":81"] },
        ]);
        // The rename l9 -> api on the same address: l9 serves there.
        expect(listenerConflict(f, "api", ":443")).to.match(
            new RegExp(
                /^Caddy's server l9 \(l9-deploy's server of service l9\) already listens on :443: .*/.source +
                    /nothing ran\. Fix: service l9 still serves there. To rename it: destroy/.source,
            ),
        );
        expect(listenerConflict(f, "api", "0.0.0.0:443")).to.contain("server l9 ");
        expect(listenerConflict(f, "api", "tcp/[::]:443")).to.contain("server l9 ");
        // Its own server is no conflict, under the legacy name an earlier version gave it (l9) or
        // its own (l9-web); other addresses neither.
        expect(listenerConflict(f, "l9", ":443")).to.equal(undefined);
        expect(listenerConflict(f, "web", ":80")).to.equal(undefined);
        expect(listenerConflict(f, "api", ":80")).to.match(/^Caddy's server l9-web \(l9-deploy's server of service web\) already listens on :80/);
        // A server of the legacy name that l9-deploy did not create is not the service's: a
        // Caddyfile's srv0 is never taken for the server of a service named srv0.
        expect(listenerConflict(f, "srv0", "127.0.0.1:8085")).to.match(/^Caddy's server srv0 \(a server l9-deploy did not create\)/);
        // One of the service's own server name that l9-deploy did not create is the switch's
        // foreign refusal (it is never taken over), not a listener conflict.
        expect(listenerConflict(f, "srv0", ":81")).to.equal(undefined);
        expect(listenerConflict(f, "api", ":8443")).to.equal(undefined);
        expect(listenerConflict(f, "api", "127.0.0.2:8085")).to.equal(undefined);
        // A port inside another server's range, on its host.
        expect(listenerConflict(f, "api", "127.0.0.1:8085")).to.match(/server srv0 \(a server l9-deploy did not create\).*pulumi config set caddyListen/);
        expect(listenerConflict(f, "api", ":8090")).to.contain("server srv0 ");
        // Facts without servers (an unreadable admin API) conclude nothing here.
        expect(listenerConflict(facts("blue", ""), "api", ":443")).to.equal(undefined);
        expect(listenerConflict(undefined, "api", ":443")).to.equal(undefined);
    });
});
