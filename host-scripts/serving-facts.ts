import { COLORS } from "../state/slot-machine";
import { renderRoutedSlotLine } from "./caddy";
import { greenMarkerFile } from "./routing";
import { renderKeptReleasesLines } from "./kept-releases";
import { adminCurl, adminUrl } from "./caddy-admin";
import { caddyMarkerDir, hostLayout } from "./layout";
import { NOT_A_RELEASE_TAG_CASE } from "../config/schema";
import { lines, raw, sh, words } from "./shell";

/** One line per slot container: `/<name> <l9.tag label, or nothing> <network mode>` (none of them holds a space). */
const CONTAINER_FACTS_FORMAT = '{{.Name}} {{with index .Config.Labels "l9.tag"}}{{.}}{{end}} {{.HostConfig.NetworkMode}}';

/**
 * One line per container, running or not: `/<name> <state> <l9.service label or -> <host port>...`
 * (the ports its start would publish).
 */
const PUBLISHED_PORTS_FORMAT = [
    "{{.Name}} {{.State.Status}}",
    ' {{with index .Config.Labels "l9.service"}}{{.}}{{else}}-{{end}}',
    "{{range $p, $b := .HostConfig.PortBindings}}{{range $b}} {{.HostPort}}{{end}}{{end}}",
].join("");

/**
 * What the host says serves, read by the host check before anything is planned (read-only):
 * the slot the routing marker sends traffic to, the journal's record of the live deploy
 * (state/active.json, written at the flip), Caddy's servers (whether one of them is the
 * service's, so that the marker routes, and which listen where the service's would), and the
 * release tag and network mode of each slot's container, and the host ports every container
 * publishes (a stopped one's too: its start would take them), and the releases whose image it
 * keeps (a release among them goes into its slot from that image), and the tags that have a
 * worktree. One read of each source: Caddy's
 * servers once, both containers in one `docker inspect` (a missing one prints nothing).
 * `state/host-record.ts` reads it back.
 */
export function renderServingFactsScript(a: { appDir: string; serviceName: string; caddyAdmin: string }): string {
    const marker = greenMarkerFile(caddyMarkerDir(a.serviceName), a.serviceName);
    return lines(
        renderRoutedSlotLine(marker, "routing"),
        sh`echo "routing=$routing"`,
        sh`printf 'journal=%s\\n' "$(tr -d '\\n' <${hostLayout(a.appDir).activeRecord} 2>/dev/null)"`,
        sh`printf 'servers=%s\\n' "$(${adminCurl(a.caddyAdmin)} -fsS -m 5 ${adminUrl(a.caddyAdmin, "/config/apps/http/servers")} 2>/dev/null | tr -d '\\n')"`,
        sh`docker inspect -f ${CONTAINER_FACTS_FORMAT} ${words(COLORS.map((c) => `${a.serviceName}-${c}`))} 2>/dev/null | sed 's/^/container=/'`,
        sh`docker ps -aq | xargs -r docker inspect -f ${PUBLISHED_PORTS_FORMAT} 2>/dev/null | sed 's/^/published=/'`,
        renderKeptReleasesLines(a),
        // Which tags have a worktree: a release found serving is of the kind the host holds (host-record.ts).
        // A name that is no tag's (a newline in it would forge a line) is not listed.
        sh`for w in ${hostLayout(a.appDir).releases}/*/; do`,
        sh`  [ -d "$w" ] || continue`,
        sh`  w=\${w%/}; w=\${w##*/}`,
        sh`  case "$w" in ${raw(NOT_A_RELEASE_TAG_CASE)}) continue ;; esac`,
        sh`  printf 'worktree=%s\\n' "$w"`,
        sh`done`,
    ).text;
}
