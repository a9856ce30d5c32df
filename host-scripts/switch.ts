import { caddyServerConfig, caddyServerName, caddyUpstreamId, caddyUpstreams } from "./caddy";
import { hostLayout } from "./layout";
import { lines, prologue, quote } from "./shell";

export interface SwitchScriptArgs {
    /** Service name (Caddy server and ids, image labels). */
    serviceName: string;
    /** The app directory on the host (state and deploy records). */
    appDir: string;
    /** Caddy's admin API address. */
    caddyAdmin: string;
    /** Caddy listen address of the site. */
    caddyListen: string;
    /** Host names the site matches. */
    caddyHosts: string[];
    /** The slot that becomes active. */
    slot: "blue" | "green";
    /** Its loopback port. */
    port: number;
    /** Container of the slot that was serving, to drain (absent on a first deploy). */
    previousContainer?: string;
    /** Keep the previous slot running ("warm") or stop it ("stopped"). */
    standby: "warm" | "stopped";
    /** SIGTERM grace period for a drained slot. */
    drainGraceSeconds: number;
    /** What went live, for the deploy record and the host's state file. */
    record: DeployRecordFields;
    /** Image repository name; images of it beyond the newest N are pruned. */
    imageName: string;
    /** How many release images to keep. */
    imagesToKeep: number;
}

export interface DeployRecordFields {
    /** Unique id of this deploy (a RandomId, so re-applying a tag is a new record). */
    id: string;
    tag: string;
    commit: string;
    imageId: string;
    actor: string;
}

/** The deploy record as one JSON line; the time is filled in on the host. */
export function deployRecordJson(slot: string, r: DeployRecordFields, status: string): string {
    return JSON.stringify({ id: r.id, tag: r.tag, commit: r.commit, imageId: r.imageId, slot, actor: r.actor, status, time: "@TIME@" });
}

/**
 * Points Caddy at the new slot (creating the service's server on first deploy), verifies
 * Caddy now dials it, records the deploy on the host, then drains or keeps warm the old
 * slot and prunes old images. Prints the deploy time.
 */
export function renderSwitchScript(a: SwitchScriptArgs): string {
    const dial = `127.0.0.1:${a.port}`;
    const admin = `http://${a.caddyAdmin}`;
    const id = caddyUpstreamId(a.serviceName);
    const l = hostLayout(a.appDir);
    const server = caddyServerConfig({ serviceName: a.serviceName, listen: a.caddyListen, hosts: a.caddyHosts, dial });
    return lines(
        prologue(`switch to ${a.slot}`),
        `admin=${quote(admin)}; id=${quote(id)}; dial=${quote(dial)}`,
        `api() { curl -sS -m 10 -H 'Content-Type: application/json' "$@"; }`,
        `if curl -fsS -m 5 -o /dev/null "$admin/id/$id" 2>/dev/null; then`,
        `  api -f -X PATCH -d ${quote(JSON.stringify(caddyUpstreams(dial)))} "$admin/id/$id/upstreams" >&2 || fail "Caddy refused the upstream change (admin API $admin)"`,
        `else`,
        `  say "creating Caddy server ${caddyServerName(a.serviceName)} on ${a.caddyListen}"`,
        `  servers=$(curl -fsS -m 5 "$admin/config/apps/http/servers" 2>/dev/null || true)`,
        `  case "$servers" in`,
        `    "{"*) ;;`,
        `    *) apps=$(curl -fsS -m 5 "$admin/config/apps" 2>/dev/null || true)`,
        `       case "$apps" in "{"*) api -f -X POST -d '{"servers":{}}' "$admin/config/apps/http" >&2 ;; *) api -f -X POST -d '{"http":{"servers":{}}}' "$admin/config/apps" >&2 ;; esac || fail "cannot create Caddy's http app" ;;`,
        `  esac`,
        `  api -f -X POST -d ${quote(JSON.stringify(server))} "$admin/config/apps/http/servers/${caddyServerName(a.serviceName)}" >&2 || fail "Caddy refused the server config"`,
        `fi`,
        `now=$(curl -fsS -m 5 "$admin/id/$id/upstreams" 2>/dev/null || true)`,
        `case "$now" in *"\\"$dial\\""*) ;; *) fail "Caddy does not dial $dial after the switch (upstreams: $now)";; esac`,
        `say "Caddy now routes to ${a.slot} ($dial)"`,
        `time=$(date -u +%Y-%m-%dT%H:%M:%SZ)`,
        `mkdir -p ${quote(l.stateDir)}`,
        `printf '%s\\n' ${quote(deployRecordJson(a.slot, a.record, "live"))} | sed "s/@TIME@/$time/" >>${quote(l.deployLog)}`,
        `printf '%s\\n' ${quote(deployRecordJson(a.slot, a.record, "live"))} | sed "s/@TIME@/$time/" >${quote(`${l.stateDir}/active.json`)}`,
        a.previousContainer &&
            (a.standby === "stopped"
                ? `if docker inspect ${quote(a.previousContainer)} >/dev/null 2>&1; then say "draining ${a.previousContainer} (SIGTERM, ${a.drainGraceSeconds}s grace)"; docker stop -t ${a.drainGraceSeconds} ${quote(a.previousContainer)} >/dev/null || say "could not stop ${a.previousContainer}"; fi`
                : `say "keeping ${a.previousContainer} running as warm standby"`),
        // Prune: keep the newest N images of this service and anything a container uses.
        `in_use=$(docker ps -a --format '{{.Image}}' | xargs -r docker image inspect -f '{{.Id}}' 2>/dev/null || true)`,
        `docker image ls --filter ${quote(`label=l9.service=${a.serviceName}`)} --format '{{.CreatedAt}}\\t{{.ID}}' | sort -r | cut -f2 | awk '!seen[$0]++' | tail -n +${a.imagesToKeep + 1} | while read -r img; do`,
        `  full=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null) || continue`,
        `  case "$in_use" in *"$full"*) continue;; esac`,
        `  say "pruning image $img"; docker image rm -f "$img" >/dev/null 2>&1 || true`,
        `done`,
        `echo "$time"`,
    );
}
