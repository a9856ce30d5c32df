/**
 * Caddyfile mode (docs/adoption-design.md): l9-deploy's routes live in a snippet file it owns,
 * imported by the API's site block in the operator's Caddyfile, so every reload of that
 * Caddyfile (the operator's `systemctl reload caddy` for their other sites) reads them again.
 * This module renders the one edit of the operator's Caddyfile and the install of the snippet.
 */
import * as crypto from "crypto";
import * as path from "path";
import type { CaddyServerArgs } from "./caddy";
import { MAINTENANCE_RETRY_AFTER_SECONDS, renderAdminAccessLines, renderRoutedSlotLine } from "./caddy";
import { CONFIG_VAR, greenMarkerFile, maintenanceMarkerFile, maintenanceMessageFile, slotDial, UPSTREAM_VAR } from "./routing";
import { lines, prologue, raw, script, sh, ShellText } from "./shell";

/** Where the snippet of a service lives: beside the Caddyfile, in a directory of l9-deploy's own. */
export function caddyfileSnippetPath(caddyfile: string, serviceName: string): string {
    return `${path.posix.dirname(caddyfile)}/l9-deploy/${serviceName}.caddy`;
}

const BACKUP_SUFFIX = ".before-l9-deploy";
const ONE_SITE_FIX = "Fix: name exactly one site $site, or set caddyHosts to the site's name";
const PREVIOUS_SUFFIX = ".l9-deploy-previous";

/** The copy of the operator's Caddyfile as it was before l9-deploy's one edit (kept, never overwritten). */
export function caddyfileBackupPath(caddyfile: string): string {
    return `${caddyfile}${BACKUP_SUFFIX}`;
}

/** This run's copy of the Caddyfile before the edit: what a failed reload puts back. */
export function caddyfilePreviousPath(caddyfile: string): string {
    return `${caddyfile}${PREVIOUS_SUFFIX}`;
}

/**
 * An awk program that replaces, in the one site block whose address line names `host` (any
 * scheme or port), the one direct `reverse_proxy <dial>` line (any one upstream when `dial` is
 * empty) with `import <snippet>`, and
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
    '    else if (dial != "" ? t == "reverse_proxy " dial : t ~ /^reverse_proxy [^ {]+$/) {',
    '      match(line, /^[ \\t]*/); line = substr(line, 1, RLENGTH) "import " snippet; edited++ }',
    "    else if (t ~ /^reverse_proxy( |$)/) other++ }",
    "  depth += opens - closes; if (in_site && depth < site_depth) in_site = 0; print line }",
    "END { if (sites != 1) exit 4; if (already > 0 && edited == 0 && other == 0) exit 3; if (edited != 1 || other > 0 || already > 0) exit 5 }",
].join("\n");

/**
 * The one edit undone: an awk program that replaces the one line `import <snippet>` with
 * `reverse_proxy <dial>` (same indentation) and prints the file; exit 3 when there is not
 * exactly one such line.
 */
export const CADDYFILE_IMPORT_REVERT_AWK = [
    '{ t = $0; gsub(/^[ \\t]+|[ \\t]+$/, "", t)',
    '  if (t == "import " snippet) { match($0, /^[ \\t]*/); print substr($0, 1, RLENGTH) "reverse_proxy " dial; n++ } else print }',
    "END { if (n != 1) exit 3 }",
].join("\n");

/** What the API's site is and where l9-deploy's routes go. */
export interface CaddyfileSiteArgs {
    /** The operator's Caddyfile, e.g. /etc/caddy/Caddyfile. */
    readonly caddyfile: string;
    /** The host name whose site block gets the import (the first of caddyHosts). */
    readonly host: string;
    /** What that site proxies to today (`reverse_proxy <dial>`), e.g. 127.0.0.1:8000; absent: its one single-upstream line. */
    readonly dial?: string;
    /** The snippet file the site imports (caddyfileSnippetPath). */
    readonly snippet: string;
}

/**
 * The Caddyfile's edits (step library, and the old deploy's hand-back):
 * - `l9_caddy_validate FILE`: whether Caddy accepts FILE (its last lines of complaint on stderr
 *   when not). Validation provisions the config: what it stores (an internal CA) goes to a
 *   directory thrown away.
 * - `l9_replace_caddyfile NEW CADDYFILE`: NEW takes CADDYFILE's place, keeping its owner and mode
 *   (Debian: root:caddy); the file it replaces is kept as caddyfilePreviousPath (what a failed
 *   reload puts back). NEW is removed on any failure.
 */
export const CADDYFILE_EDIT_FUNCTIONS = lines(
    sh`l9_caddy_validate() {`,
    sh`  vhome=$(mktemp -d) || return 1`,
    sh`  v_status=0`,
    sh`  XDG_DATA_HOME="$vhome" XDG_CONFIG_HOME="$vhome" caddy validate --config "$1" --adapter caddyfile >"$vhome/validate.log" 2>&1 || v_status=1`,
    sh`  [ "$v_status" = 0 ] || tail -5 "$vhome/validate.log" >&2`,
    sh`  rm -rf "$vhome"`,
    sh`  return "$v_status"`,
    sh`}`,
    sh`l9_replace_caddyfile() {`,
    // A rename would put a file where the operator keeps a link (to a config repository, say).
    sh`  if [ -L "$2" ]; then`,
    sh`    rm -f "$1"`,
    sh`    fail "$2 is a symbolic link, which l9-deploy does not replace." "Fix: set caddyfile to the file it points to, $(readlink -f "$2")"`,
    sh`  fi`,
    sh`  cp -p "$2" "$2${raw(PREVIOUS_SUFFIX)}" || { rm -f "$1"; fail "cannot keep a copy of $2"; }`,
    sh`  { chown --reference="$2" "$1" && chmod --reference="$2" "$1"; } || { rm -f "$1"; fail "cannot give the new $2 the old one's owner and mode"; }`,
    sh`  mv -f "$1" "$2" || { rm -f "$1"; fail "cannot replace $2"; }`,
    sh`}`,
);

/**
 * `l9_install_caddyfile_routes CADDYFILE HOST DIAL SNIPPET SNIPPET_BASE64 SNIPPET_SHA256
 * CONFIG_HASH` (step library): puts l9-deploy's routes into the operator's Caddy.
 * - The snippet is written when its text differs (by its sha256), 0644 in a 0755 directory:
 *   Caddy's user reads it.
 * - The site's one edit (CADDYFILE_IMPORT_AWK), when it is not made yet: the new Caddyfile is
 *   written aside and validated by Caddy with the snippet in place (an import of a missing file
 *   is an error); the original is kept once (caddyfileBackupPath) and this run's copy each time
 *   (caddyfilePreviousPath); the new file keeps the old one's owner and mode (Debian: root:caddy)
 *   and is renamed into place. A Caddyfile that is a symbolic link is refused then (nothing changed). Anything else stops, naming the edit to make by hand, the
 *   Caddyfile unchanged.
 * - A graceful reload, as Debian's caddy.service reloads (its ExecReload), when the snippet or
 *   the Caddyfile changed or Caddy does not run the current snippet (a reload that failed
 *   before). Caddy keeps its config when it refuses a new one; this run's edit and snippet are
 *   then undone, so the operator's next reload does not meet them either.
 * Idempotent: a second run changes nothing and does not reload.
 */
export const CADDYFILE_INSTALL_FUNCTION = lines(
    // A refusal leaves what Caddy runs and what the operator's next reload reads alike: the snippet as it was.
    sh`l9_caddyfile_abandon() {`,
    sh`  rm -f "$edited"`,
    sh`  if [ "$snippet_state" = written ] && [ -f "$snippet${raw(PREVIOUS_SUFFIX)}" ]; then`,
    sh`    cp -p "$snippet${raw(PREVIOUS_SUFFIX)}" "$snippet" || fail "$1; and putting back $snippet${raw(PREVIOUS_SUFFIX)} failed: do it by hand"`,
    sh`  fi`,
    sh`  fail "$1"`,
    sh`}`,
    sh`l9_install_caddyfile_routes() {`,
    sh`  cf=$1; site=$2; dial=$3; snippet=$4; snippet_dir=$(dirname "$4"); edited=$cf.l9-deploy.$$; snippet_state=unchanged`,
    sh`  command -v caddy >/dev/null 2>&1 || fail "'caddy' is not installed on the host"`,
    sh`  { mkdir -p "$snippet_dir" && chmod 755 "$snippet_dir"; } || fail "cannot create $snippet_dir"`,
    sh`  if [ -f "$snippet" ] && [ "$(sha256sum <"$snippet" | cut -c1-64)" = "$6" ]; then snippet_state=unchanged; else`,
    sh`    if [ -f "$snippet" ]; then cp -p "$snippet" "$snippet${raw(PREVIOUS_SUFFIX)}" || fail "cannot keep a copy of $snippet"`,
    sh`    else rm -f "$snippet${raw(PREVIOUS_SUFFIX)}" || fail "cannot remove $snippet${raw(PREVIOUS_SUFFIX)}"; fi`,
    sh`    { printf '%s' "$5" | base64 -d >"$snippet.$$" && chmod 644 "$snippet.$$" && mv -f "$snippet.$$" "$snippet"; } ||`,
    sh`      { rm -f "$snippet.$$"; fail "cannot write $snippet"; }`,
    sh`    snippet_state=written`,
    sh`  fi`,
    sh`  [ -f "$cf" ] || l9_caddyfile_abandon "$cf does not exist (caddyfile names the Caddyfile Caddy runs)"`,
    sh`  proxy_line="reverse_proxy \${dial:-<upstream>}"`,
    sh`  by_hand="in the site block of $site in $cf, replace the line '$proxy_line' with 'import $snippet', then reload Caddy"`,
    sh`  if awk -v host="$site" -v dial="$dial" -v snippet="$snippet" ${CADDYFILE_IMPORT_AWK} "$cf" >"$edited"; then site_edit=edited; else site_edit=$?; fi`,
    sh`  case "$site_edit" in`,
    // Only an edit renames a file into the Caddyfile's place: a link there is refused then, and only then.
    sh`    edited)`,
    sh`      if [ -L "$cf" ]; then`,
    sh`        link_target=$(readlink -f "$cf") || link_target="the file it points to"`,
    sh`        l9_caddyfile_abandon "$cf is a symbolic link, which l9-deploy does not replace; nothing was changed. Fix: set caddyfile to $link_target"`,
    sh`      fi ;;`,
    sh`    3) rm -f "$edited"; site_edit=already ;;`,
    sh`    4) l9_caddyfile_abandon "$cf has no single site block for $site; nothing was changed. ${raw(ONE_SITE_FIX)}" ;;`,
    sh`    5) l9_caddyfile_abandon "the site of $site in $cf does not proxy with exactly one line '$proxy_line'; nothing was changed. Fix: $by_hand" ;;`,
    sh`    *) l9_caddyfile_abandon "awk could not read $cf (exit $site_edit)" ;;`,
    sh`  esac`,
    sh`  if [ "$site_edit" = edited ]; then`,
    sh`    l9_caddy_validate "$edited" || l9_caddyfile_abandon "Caddy does not accept $cf with the import; nothing was changed. Fix: $by_hand"`,
    sh`    { [ -e "$cf${raw(BACKUP_SUFFIX)}" ] || cp -p "$cf" "$cf${raw(BACKUP_SUFFIX)}"; } || { rm -f "$edited"; fail "cannot keep a copy of $cf"; }`,
    sh`    l9_replace_caddyfile "$edited" "$cf"`,
    sh`    say "$cf: the site of $site imports $snippet in place of $proxy_line (the original is $cf${raw(BACKUP_SUFFIX)})"`,
    sh`  fi`,
    sh`  l9_caddyfile_config "$7"`,
    sh`  if [ "$snippet_state" = unchanged ] && [ "$site_edit" = already ] && [ "$config" = current ]; then`,
    sh`    say "$snippet and $cf are current: no reload"`,
    sh`    return 0`,
    sh`  fi`,
    sh`  if ! reload_out=$(caddy reload --config "$cf" --adapter caddyfile --force 2>&1); then`,
    sh`    printf '%s\\n' "$reload_out" | tail -5 >&2`,
    sh`    if [ "$site_edit" = edited ]; then`,
    sh`      cp -p "$cf${raw(PREVIOUS_SUFFIX)}" "$cf" || fail "Caddy did not reload $cf, and putting back $cf${raw(PREVIOUS_SUFFIX)} failed: do it by hand"`,
    sh`    fi`,
    // The operator's next reload must meet what Caddy runs, not the snippet it refused.
    sh`    if [ "$snippet_state" = written ] && [ -f "$snippet${raw(PREVIOUS_SUFFIX)}" ]; then`,
    sh`      cp -p "$snippet${raw(PREVIOUS_SUFFIX)}" "$snippet" ||`,
    sh`        fail "Caddy did not reload $cf, and putting back $snippet${raw(PREVIOUS_SUFFIX)} failed: do it by hand"`,
    sh`    fi`,
    sh`    fail "Caddy did not reload $cf and runs its previous config; traffic was not moved (check: caddy validate --config $cf; journalctl -u caddy)"`,
    sh`  fi`,
    sh`  say "Caddy reloaded $cf"`,
    sh`}`,
);

/** The call of CADDYFILE_INSTALL_FUNCTION for this site and snippet. */
export function renderInstallCaddyfileRoutesLine(a: CaddyfileSiteArgs & { readonly snippetText: string; readonly configHash: string }): ShellText {
    const sha256 = crypto.createHash("sha256").update(a.snippetText).digest("hex");
    const base64 = Buffer.from(a.snippetText).toString("base64");
    return sh`l9_install_caddyfile_routes ${a.caddyfile} ${a.host} ${a.dial ?? ""} ${a.snippet} ${base64} ${sha256} ${a.configHash}`;
}

/** The install as a script of its own (a test's, or a runbook's): the admin API, the functions, the call. */
export function renderInstallCaddyfileRoutesScript(
    caddyAdmin: string,
    a: CaddyfileSiteArgs & { readonly snippetText: string; readonly configHash: string },
): string {
    return script(
        prologue("caddyfile routes"),
        renderAdminAccessLines(caddyAdmin),
        CADDYFILE_ROUTING_FACTS_FUNCTION,
        CADDYFILE_EDIT_FUNCTIONS,
        CADDYFILE_INSTALL_FUNCTION,
        renderInstallCaddyfileRoutesLine(a),
    );
}

/**
 * `l9_caddyfile_config CONFIG_HASH` sets `config` (below) and `servers` (Caddy's servers, one line).
 * `l9_caddyfile_routing_facts GREEN_MARKER SERVICE CONFIG_HASH`: the routing facts of the
 * Caddyfile mode, as l9_routing_facts sets them for the own-server mode: `routing` (the slot
 * the marker sends traffic to), `upstream` (the upstreams JSON of that slot's handler, the one
 * after `vars l9_upstream SERVICE-SLOT`), `config` (`current` when Caddy's config holds the
 * snippet's hash, `stale` when it answers without it, `unreachable`). Caddy prints its config
 * from a map, keys sorted, so the handler's text is fixed: `{"handler":"vars","l9_upstream":...}`
 * then `{"handler":"reverse_proxy","load_balancing":...,"upstreams":[...]}`.
 */
export const CADDYFILE_ROUTING_FACTS_FUNCTION = lines(
    sh`l9_caddyfile_config() {`,
    sh`  servers=$(admin_curl -fsS -m 5 "$admin/config/apps/http/servers" 2>/dev/null) || servers=`,
    sh`  servers=$(printf '%s' "$servers" | tr -d '\\n')`,
    sh`  case "$servers" in`,
    sh`    *"\\"${raw(CONFIG_VAR)}\\":\\"$1\\""*) config=current ;;`,
    sh`    "{"*) config=stale ;;`,
    sh`    *) config=unreachable ;;`,
    sh`  esac`,
    sh`}`,
    sh`l9_caddyfile_routing_facts() {`,
    sh`  ${renderRoutedSlotLine(raw('"$1"'), "routing")}`,
    sh`  l9_caddyfile_config "$3"`,
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
