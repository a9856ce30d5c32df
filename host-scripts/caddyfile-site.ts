/**
 * Caddyfile mode (docs/adoption-design.md): l9-deploy's routes live in a snippet file it owns,
 * imported by the API's site block in the operator's Caddyfile, so every reload of that
 * Caddyfile (the operator's `systemctl reload caddy` for their other sites) reads them again.
 * This module renders the one edit of the operator's Caddyfile and the install of the snippet.
 */
import * as crypto from "crypto";
import * as path from "path";
import type { CaddyServerArgs } from "./caddy";
import { MAINTENANCE_RETRY_AFTER_SECONDS, renderRoutedSlotLine } from "./caddy";
import { greenMarkerFile, maintenanceMarkerFile, maintenanceMessageFile, slotDial } from "./routing";
import { renderDropWriteLine, renderWriteFileCommand } from "./install-file";
import { lines, prologue, raw, script, sh, ShellText } from "./shell";

/** Where the snippet of a service lives: beside the Caddyfile, in a directory of l9-deploy's own. */
export function caddyfileSnippetPath(caddyfile: string, serviceName: string): string {
    return `${path.posix.dirname(caddyfile)}/l9-deploy/${serviceName}.caddy`;
}

/** The copy of the operator's Caddyfile as it was before l9-deploy's one edit (kept, never overwritten). */
export function caddyfileBackupPath(caddyfile: string): string {
    return `${caddyfile}.before-l9-deploy`;
}

/**
 * An awk program that replaces, in the one site block whose address line names `host` (any
 * scheme or port), the one direct `reverse_proxy <dial>` line with `import <snippet>`, and
 * prints the file. Braces inside quotes or comments are not counted. Exit status: 0 edited,
 * 3 the site already imports the snippet (nothing to do), 4 no site or several name the host,
 * 5 the site has no such line, several, or a reverse_proxy of another shape.
 */
export const CADDYFILE_IMPORT_AWK = [
    'function norm(t) { sub(/^[a-z]+:\\/\\//, "", t); sub(/:[0-9]+$/, "", t); return t }',
    "function count(s,   i, ch, q) { opens = 0; closes = 0; q = 0",
    "  for (i = 1; i <= length(s); i++) { ch = substr(s, i, 1)",
    '    if (ch == "\\"") q = !q',
    '    else if (!q && ch == "#" && (i == 1 || substr(s, i - 1, 1) ~ /[ \\t]/)) break',
    '    else if (!q && ch == "{") opens++',
    '    else if (!q && ch == "}") closes++ } }',
    '{ line = $0; count(line); t = line; gsub(/[ \\t]+/, " ", t); sub(/^ /, "", t); sub(/ $/, "", t)',
    '  if (depth == 0 && !in_site && opens > 0) { head = line; sub(/\\{.*/, "", head); n = split(head, tok, /[ \\t,]+/)',
    '    for (j = 1; j <= n; j++) if (tok[j] != "" && norm(tok[j]) == host) { in_site = 1; site_depth = opens - closes; sites++ } }',
    "  else if (in_site && depth == site_depth) {",
    '    if (t == "import " snippet) already++',
    '    else if (t == "reverse_proxy " dial) { match(line, /^[ \\t]*/); line = substr(line, 1, RLENGTH) "import " snippet; edited++ }',
    "    else if (t ~ /^reverse_proxy( |$)/) other++ }",
    "  depth += opens - closes; if (in_site && depth < site_depth) in_site = 0; print line }",
    "END { if (sites != 1) exit 4; if (already > 0 && edited == 0 && other == 0) exit 3; if (edited != 1 || other > 0 || already > 0) exit 5 }",
].join("\n");

/** What the API's site is and where l9-deploy's routes go. */
export interface CaddyfileSiteArgs {
    /** The operator's Caddyfile, e.g. /etc/caddy/Caddyfile. */
    readonly caddyfile: string;
    /** The host name whose site block gets the import (the first of caddyHosts). */
    readonly host: string;
    /** What that site proxies to today (`reverse_proxy <dial>`), e.g. 127.0.0.1:8000. */
    readonly dial: string;
    /** The snippet file the site imports (caddyfileSnippetPath). */
    readonly snippet: string;
}

/**
 * The site's one edit, when it is not made yet: the new Caddyfile is written aside, validated
 * by Caddy with the snippet in place (which must exist first: an import of a missing file is an
 * error), the original kept (caddyfileBackupPath), then renamed into place, keeping its mode.
 * Sets `site_edit` to `edited` or `already`. Anything else stops the script naming the edit the
 * operator can make by hand; their Caddyfile is then unchanged.
 */
export function renderImportIntoSiteLines(a: CaddyfileSiteArgs): ShellText {
    const backup = caddyfileBackupPath(a.caddyfile);
    const byHand = `in the site block of ${a.host} in ${a.caddyfile}, replace the line 'reverse_proxy ${a.dial}' with 'import ${a.snippet}', then reload Caddy`;
    const unchanged = "nothing was changed. Fix:";
    const ownerLost = `cannot give the new ${a.caddyfile} the old one's owner and mode`;
    const noSite = `${a.caddyfile} has no single site block for ${a.host}; ${unchanged} name exactly one site ${a.host}, or set caddyHosts to the site's name`;
    const noProxyLine = `the site of ${a.host} in ${a.caddyfile} does not proxy with exactly one line 'reverse_proxy ${a.dial}'; ${unchanged} ${byHand}`;
    return lines(
        sh`[ -f ${a.caddyfile} ] || fail ${`${a.caddyfile} does not exist (caddyfile names the Caddyfile Caddy runs)`}`,
        sh`[ -f ${a.snippet} ] || fail ${`${a.snippet} must exist before the Caddyfile imports it`}`,
        sh`edited=${a.caddyfile}.l9-deploy.$$`,
        sh`awk_edit() { awk -v host=${a.host} -v dial=${a.dial} -v snippet=${a.snippet} ${CADDYFILE_IMPORT_AWK} ${a.caddyfile}; }`,
        sh`if awk_edit >"$edited"; then site_edit=edited; else site_edit=$?; fi`,
        sh`case "$site_edit" in`,
        sh`  edited) ;;`,
        sh`  3) rm -f "$edited"; site_edit=already ;;`,
        sh`  4) rm -f "$edited"; fail ${noSite} ;;`,
        sh`  5) rm -f "$edited"; fail ${noProxyLine} ;;`,
        sh`  *) rm -f "$edited"; fail ${`awk could not read ${a.caddyfile} (exit `}"$site_edit)" ;;`,
        sh`esac`,
        sh`if [ "$site_edit" = edited ]; then`,
        // Validation provisions the config: whatever it stores (an internal CA) goes to a directory thrown away.
        sh`  vhome=$(mktemp -d) || fail "cannot create a temporary directory"`,
        sh`  if ! XDG_DATA_HOME="$vhome" XDG_CONFIG_HOME="$vhome" caddy validate --config "$edited" --adapter caddyfile >"$vhome/validate.log" 2>&1; then`,
        sh`    tail -5 "$vhome/validate.log" >&2`,
        sh`    rm -rf "$vhome" "$edited"`,
        sh`    fail ${`Caddy does not accept ${a.caddyfile} with the import; nothing was changed. Fix: ${byHand}`}`,
        sh`  fi`,
        sh`  rm -rf "$vhome"`,
        sh`  [ -e ${backup} ] || cp -p ${a.caddyfile} ${backup} || fail ${`cannot keep a copy of ${a.caddyfile}`}`,
        // Caddy's user reads it (Debian: root:caddy): the new file keeps the old one's owner and mode.
        sh`  { chown --reference=${a.caddyfile} "$edited" && chmod --reference=${a.caddyfile} "$edited"; } || fail ${ownerLost}`,
        sh`  mv -f "$edited" ${a.caddyfile} || fail ${`cannot replace ${a.caddyfile}`}`,
        sh`  say ${`${a.caddyfile}: the site of ${a.host} imports ${a.snippet} in place of reverse_proxy ${a.dial} (the original is ${backup})`}`,
        sh`fi`,
    );
}

/**
 * Writes the snippet when its text differs (by its sha256): Caddy's user reads it (0644 in a
 * 0755 directory). Sets `snippet` to `written` or `unchanged`.
 */
export function renderInstallSnippetLines(snippetPath: string, text: string): ShellText {
    const dir = path.posix.dirname(snippetPath);
    const sha256 = crypto.createHash("sha256").update(text).digest("hex");
    return lines(
        sh`{ mkdir -p ${dir} && chmod 755 ${dir}; } || fail ${`cannot create ${dir}`}`,
        sh`if [ -f ${snippetPath} ] && [ "$(sha256sum <${snippetPath} | cut -c1-64)" = ${sha256} ]; then snippet=unchanged; else`,
        sh`  { ${renderWriteFileCommand(snippetPath, text, 644)}; } || { ${renderDropWriteLine(snippetPath)}; fail ${`cannot write ${snippetPath}`}; }`,
        sh`  snippet=written`,
        sh`fi`,
    );
}

/**
 * A graceful reload of the Caddyfile, as Debian's caddy.service reloads (its ExecReload). Caddy
 * keeps running its config when it refuses a new one; the operator's Caddyfile is then put
 * back as it was before the edit, so their next reload does not meet it either.
 */
export function renderReloadCaddyfileLines(caddyfile: string): ShellText[] {
    const backup = caddyfileBackupPath(caddyfile);
    const restoreFailed = `Caddy did not reload ${caddyfile}, and putting back ${backup} failed: do it by hand`;
    const check = `check: caddy validate --config ${caddyfile}; journalctl -u caddy`;
    const refused = `Caddy did not reload ${caddyfile} and runs its previous config; traffic was not moved (${check})`;
    return [
        sh`if ! caddy reload --config ${caddyfile} --adapter caddyfile --force >/dev/null 2>&1; then`,
        sh`  if [ "$site_edit" = edited ]; then cp -p ${backup} ${caddyfile} || fail ${restoreFailed}; fi`,
        sh`  fail ${refused}`,
        sh`fi`,
    ];
}

/**
 * Puts l9-deploy's routes into the operator's Caddy: the snippet, the site's one edit, and a
 * reload when either changed. Idempotent: a second run changes nothing and does not reload.
 */
export function renderInstallCaddyfileRoutesScript(a: CaddyfileSiteArgs & { readonly snippetText: string }): string {
    return script(
        prologue("caddyfile routes"),
        sh`command -v caddy >/dev/null 2>&1 || fail "'caddy' is not installed on the host"`,
        renderInstallSnippetLines(a.snippet, a.snippetText),
        renderImportIntoSiteLines(a),
        sh`if [ "$snippet" = written ] || [ "$site_edit" = edited ]; then`,
        ...renderReloadCaddyfileLines(a.caddyfile).map((l) => sh`  ${l}`),
        sh`  say ${`Caddy reloaded ${a.caddyfile}`}`,
        sh`else`,
        sh`  say ${`${a.snippet} and ${a.caddyfile} are current: no reload`}`,
        sh`fi`,
    );
}

/** The `vars` key whose value names a slot's handler in the snippet (`<service>-<color>`): Caddyfile has no `@id`. */
export const UPSTREAM_VAR = "l9_upstream";

/** The `vars` key whose value is the snippet's hash: Caddy runs the current snippet when its config holds it. */
export const CONFIG_VAR = "l9_config";

/**
 * `l9_caddyfile_routing_facts GREEN_MARKER SERVICE CONFIG_HASH`: the routing facts of the
 * Caddyfile mode, as l9_routing_facts sets them for the own-server mode: `routing` (the slot
 * the marker sends traffic to), `upstream` (the upstreams JSON of that slot's handler, the one
 * after `vars l9_upstream SERVICE-SLOT`), `config` (`current` when Caddy's config holds the
 * snippet's hash, `stale` when it answers without it, `unreachable`). Caddy prints its config
 * from a map, keys sorted, so the handler's text is fixed: `{"handler":"vars","l9_upstream":...}`
 * then `{"handler":"reverse_proxy","load_balancing":...,"upstreams":[...]}`.
 */
export const CADDYFILE_ROUTING_FACTS_FUNCTION = lines(
    sh`l9_caddyfile_routing_facts() {`,
    sh`  ${renderRoutedSlotLine(raw('"$1"'), "routing")}`,
    sh`  servers=$(admin_curl -fsS -m 5 "$admin/config/apps/http/servers" 2>/dev/null) || servers=`,
    sh`  servers=$(printf '%s' "$servers" | tr -d '\\n')`,
    sh`  case "$servers" in`,
    sh`    *"\\"${raw(CONFIG_VAR)}\\":\\"$3\\""*) config=current ;;`,
    sh`    "{"*) config=stale ;;`,
    sh`    *) config=unreachable ;;`,
    sh`  esac`,
    sh`  if [ "$config" = unreachable ]; then upstream=unreachable; return 0; fi`,
    sh`  handler="\\"${raw(UPSTREAM_VAR)}\\":\\"$2-$routing\\"},{\\"handler\\":\\"reverse_proxy\\","`,
    sh`  upstream=$(printf '%s' "$servers" | sed -n "s/.*$handler[^]]*\\"upstreams\\":\\(\\[[^]]*\\]\\).*/\\1/p")`,
    sh`}`,
);

/**
 * A Caddyfile token: quoted, and refused when quoting cannot make it one literal token (a
 * quote, a backslash, a placeholder's brace or a line break in it). The schema admits none of
 * these in the values that reach here; this is the construction that keeps it so.
 */
export function caddyfileToken(value: string | number): string {
    const v = String(value);
    if (/["\\{}\r\n]/.test(v) || v === "") throw new Error(`cannot be a Caddyfile token: ${JSON.stringify(v)}`);
    return `"${v}"`;
}

/** A slot's handler: named by `vars` (UPSTREAM_VAR), a dial error retried for a while (as the own-server routes do). */
function slotHandle(serviceName: string, color: "blue" | "green", dial: string): string[] {
    return [
        `\t\tvars ${UPSTREAM_VAR} ${caddyfileToken(`${serviceName}-${color}`)}`,
        `\t\treverse_proxy ${caddyfileToken(dial)} {`,
        "\t\t\tlb_try_duration 5s",
        "\t\t\tlb_try_interval 100ms",
        "\t\t}",
    ];
}

/**
 * l9-deploy's routes as Caddyfile directives, for the snippet the API's site imports: what the
 * own-server routes do (host-scripts/caddy.ts serverBody), in the site's server. In a `route`
 * block, so they run in the order written: maintenance while its marker exists (a 503 whose
 * body is the message file), green while its marker exists, else blue. Each ends in a handler
 * that answers (file_server, reverse_proxy), so the first that matches is the last that runs.
 * The first line carries the hash of the rest (CONFIG_VAR): in Caddy's config, it says the
 * current snippet is loaded. A canary is not rendered here: its access log would be a logger
 * in Caddy's config, which a reload of the Caddyfile drops.
 */
export function renderCaddyfileSnippet(a: CaddyServerArgs): { text: string; configHash: string } {
    if (a.canary) throw new Error("a canary is not available in Caddyfile mode yet (its access log would not survive a Caddyfile reload)");
    const svc = a.serviceName;
    const matcher = (what: string) => `@l9-${svc}-${what}`;
    const maintenanceMessage = maintenanceMessageFile(a.markerDir, svc).split("/").pop() as string;
    const body = [
        "route {",
        `\t${matcher("maintenance")} {`,
        "\t\tfile {",
        "\t\t\troot /",
        `\t\t\ttry_files ${caddyfileToken(maintenanceMarkerFile(a.markerDir, svc))}`,
        "\t\t}",
        ...(a.maintenance.allowPaths.length > 0 ? [`\t\tnot path ${a.maintenance.allowPaths.map(caddyfileToken).join(" ")}`] : []),
        "\t}",
        `\thandle ${matcher("maintenance")} {`,
        // file_server answers only GET/HEAD, and 304 or 206 to conditional or range requests:
        // every request becomes a plain GET of the message file.
        ...["If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range"].map((h) => `\t\trequest_header -${h}`),
        `\t\theader Retry-After ${caddyfileToken(MAINTENANCE_RETRY_AFTER_SECONDS)}`,
        "\t\theader Cache-Control no-store",
        "\t\tmethod GET",
        `\t\trewrite * ${caddyfileToken(`/${maintenanceMessage}`)}`,
        `\t\troot * ${caddyfileToken(a.markerDir)}`,
        "\t\tfile_server {",
        "\t\t\tstatus 503",
        "\t\t}",
        "\t}",
        `\t${matcher("green")} file {`,
        "\t\troot /",
        `\t\ttry_files ${caddyfileToken(greenMarkerFile(a.markerDir, svc))}`,
        "\t}",
        `\thandle ${matcher("green")} {`,
        ...slotHandle(svc, "green", slotDial(a, "green")),
        "\t}",
        "\thandle {",
        ...slotHandle(svc, "blue", slotDial(a, "blue")),
        "\t}",
        "}",
    ].join("\n");
    const configHash = crypto.createHash("sha256").update(body).digest("hex").slice(0, 16);
    const text = [
        `# l9-deploy's routes of service ${svc}: written by l9-deploy, which overwrites any edit.`,
        `vars ${CONFIG_VAR} ${caddyfileToken(configHash)}`,
        body,
        "",
    ].join("\n");
    return { text, configHash };
}
