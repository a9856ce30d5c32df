import { COLORS } from "../state/slot-machine";
import { renderCaddyServerPresentLine, renderRoutedSlotLine } from "./caddy";
import { greenMarkerFile } from "./routing";
import { adminCurl, adminUrl } from "./caddy-admin";
import { caddyMarkerDir, hostLayout } from "./layout";
import { lines, sh } from "./shell";

/**
 * What the host says serves, read by the host check before anything is planned (read-only,
 * one line each): the slot the routing marker sends traffic to, the journal's record of the
 * live deploy (state/active.json, written at the flip), whether Caddy runs the service's
 * server (the marker routes only then), the release tag and network mode of each slot's
 * container, and Caddy's servers (which of them listen where this service's server would).
 * `state/host-record.ts` reads it back.
 */
export function renderServingFactsScript(a: { appDir: string; serviceName: string; caddyAdmin: string }): string {
    const marker = greenMarkerFile(caddyMarkerDir(a.serviceName), a.serviceName);
    return lines(
        renderRoutedSlotLine(marker, "routing"),
        sh`echo "routing=$routing"`,
        sh`printf 'journal=%s\\n' "$(tr -d '\\n' <${hostLayout(a.appDir).activeRecord} 2>/dev/null)"`,
        renderCaddyServerPresentLine(a.caddyAdmin, a.serviceName),
        sh`echo "caddy_server=$caddy_server"`,
        sh`printf 'servers=%s\\n' "$(${adminCurl(a.caddyAdmin)} -fsS -m 5 ${adminUrl(a.caddyAdmin, "/config/apps/http/servers")} 2>/dev/null | tr -d '\\n')"`,
        ...COLORS.map((c) => sh`printf '%s=%s\\n' ${c} "$(docker inspect -f '{{index .Config.Labels "l9.tag"}}' ${`${a.serviceName}-${c}`} 2>/dev/null)"`),
        ...COLORS.map(
            (c) => sh`printf '%s=%s\\n' ${`${c}_network`} "$(docker inspect -f '{{.HostConfig.NetworkMode}}' ${`${a.serviceName}-${c}`} 2>/dev/null)"`,
        ),
    ).text;
}
