/**
 * The service's routes in Caddy, whichever way they live there: a server of l9-deploy's own
 * (host-scripts/caddy.ts), or, in Caddyfile mode, a snippet that the operator's Caddyfile
 * imports (host-scripts/caddyfile-site.ts). The switch, the canary, the drift check and
 * preflight ask here, so none of them spells either mode.
 */
import { adminCurl, adminUrl } from "./caddy-admin";
import {
    caddyConfigId,
    CaddyfileRouting,
    CaddyServerArgs,
    renderAdminAccessLines,
    renderCaddyFactsLines,
    renderCaddyServerPresentLine,
    renderLoadConfigLines,
    ROUTING_FACTS_FUNCTION,
} from "./caddy";
import { CADDYFILE_ROUTING_FACTS_FUNCTION, caddyfileSnippetPath, renderCaddyfileSnippet, renderInstallCaddyfileRoutesLine } from "./caddyfile-site";
import { CONFIG_VAR, greenMarkerFile } from "./routing";
import { lines, sh, ShellText } from "./shell";

/** The routing facts (`routing`, `upstream`, `config`) in a script that sources the step library. */
export function renderRoutingFactsLines(a: CaddyServerArgs): ShellText[] {
    if (!a.caddyfile) return renderCaddyFactsLines(a);
    return [sh`l9_caddyfile_routing_facts ${greenMarkerFile(a.markerDir, a.serviceName)} ${a.serviceName} ${renderCaddyfileSnippet(a).configHash}`];
}

/** The routing facts in a script that does not source the step library: the admin API, the function, its call. */
export function renderStandaloneRoutingFactsLines(caddyAdmin: string, a: CaddyServerArgs): ShellText {
    return lines(renderAdminAccessLines(caddyAdmin), a.caddyfile ? CADDYFILE_ROUTING_FACTS_FUNCTION : ROUTING_FACTS_FUNCTION, ...renderRoutingFactsLines(a));
}

/**
 * The switch's routes around its flip: `load_config` defined, and run where the mode needs it.
 * - Own server: before the flip, when Caddy does not run the service's current config (a
 *   reload is never part of a routine switch).
 * - Caddyfile mode (CADDYFILE_INSTALL_FUNCTION, which reloads only on a change): once Caddy
 *   runs the service's snippet the marker is live, so the routes are installed before the flip
 *   (a port change reaches Caddy before the flip uses it); before that (the first import, the
 *   adoption) the site still proxies to the old deploy, and the routes' first load, after the
 *   flip, is the switch.
 * Needs renderCaddyAdminLines.
 */
export function renderSwitchRoutesLines(a: CaddyServerArgs): { beforeFlip: ShellText; afterFlip?: ShellText } {
    if (!a.caddyfile) return { beforeFlip: renderLoadConfigLines(a) };
    return {
        beforeFlip: lines(
            renderCaddyfileLoadFunction({ ...a, caddyfile: a.caddyfile }),
            renderCaddyServerPresentLine(a.serviceName),
            sh`routes_live=$caddy_server`,
            sh`if [ "$routes_live" = yes ]; then load_config; fi`,
        ),
        afterFlip: sh`if [ "$routes_live" != yes ]; then load_config; fi`,
    };
}

/** Caddyfile mode's `load_config` (CADDYFILE_INSTALL_FUNCTION for the service's site and snippet), defined, not run. */
function renderCaddyfileLoadFunction(a: CaddyServerArgs & { caddyfile: CaddyfileRouting }): ShellText {
    const { text, configHash } = renderCaddyfileSnippet(a);
    const host = a.hosts[0];
    if (host === undefined) throw new Error("caddyfile needs caddyHosts: the API's site is found by its first name");
    const site = {
        caddyfile: a.caddyfile.path,
        host,
        snippet: caddyfileSnippetPath(a.caddyfile.path, a.serviceName),
        snippetText: text,
        configHash,
        ...(a.caddyfile.replaces ? { dial: a.caddyfile.replaces } : {}),
    };
    return sh`load_config() { ${renderInstallCaddyfileRoutesLine(site)}; }`;
}

/** A condition: Caddy runs the service's current routes (then the site's certificates are Caddy's to serve). */
export function renderConfigCurrentTest(caddyAdmin: string, a: CaddyServerArgs): ShellText {
    if (!a.caddyfile) return sh`${adminCurl(caddyAdmin)} -fsS -m 5 -o /dev/null ${adminUrl(caddyAdmin, `/id/${caddyConfigId(a)}`)} 2>/dev/null`;
    const held = `"${CONFIG_VAR}":"${renderCaddyfileSnippet(a).configHash}"`;
    return sh`${adminCurl(caddyAdmin)} -fsS -m 5 ${adminUrl(caddyAdmin, "/config/apps/http/servers")} 2>/dev/null | grep -qF ${held}`;
}
