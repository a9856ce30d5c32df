import { adminCurl, adminUrl } from "./caddy-admin";
import * as crypto from "crypto";
import { caddyMarkerDir, canaryLogDir } from "./layout";
import { lines, raw, sh, ShellText } from "./shell";
import {
    CANARY_MARKER_SUFFIX,
    caddyServerName,
    caddyUpstreamId,
    caddyUpstreamIdParts,
    canaryMarkerFile,
    canaryMarkerPrefix,
    greenMarkerFile,
    legacyCaddyServerName,
    maintenanceMarkerFile,
    maintenanceMessageFile,
    slotUpstreams,
    UPSTREAM_VAR,
} from "./routing";
import { Color } from "../state/slot-machine";

/**
 * Caddy's config for the service: one server of our own with two routes, one per slot.
 * Which slot serves is decided per request by Caddy's `file` matcher on a marker file: the
 * green route matches while `<markerDir>/<service>-green.active` exists, otherwise the blue
 * route serves. A switch is therefore an atomic file create/unlink on the host and never a
 * Caddy config reload: a reload re-binds listeners (SO_REUSEPORT) and can reset connections
 * queued on the old socket, which a traffic switch must not do. The config itself is loaded
 * only when missing or different (first deploy, a heal, or a port change).
 */

export interface CaddyServerArgs {
    /** Service name: names the server, the routes and the ids. */
    serviceName: string;
    /** Listen address of the public site, e.g. ":443" or "127.0.0.1:8080". */
    listen: string;
    /** Host names to match; empty matches any host and disables automatic HTTPS. */
    hosts: string[];
    /** Loopback ports of the two slots. */
    bluePort: number;
    greenPort: number;
    /** Directory of the marker file (readable by Caddy's user). */
    markerDir: string;
    /** How the maintenance route answers while its marker exists. */
    maintenance: MaintenanceRouting;
    /** Canary routes (absent: none, and the config is exactly the plain two-slot one). */
    canary?: CanaryRouting;
    /** Caddyfile mode (host-scripts/caddyfile-site.ts): the routes are a snippet the operator's Caddyfile imports. */
    caddyfile?: CaddyfileRouting;
}

/** Where l9-deploy's routes go in Caddyfile mode: the site of `hosts[0]` in this Caddyfile. */
export interface CaddyfileRouting {
    /** The Caddyfile Caddy runs, e.g. /etc/caddy/Caddyfile. */
    readonly path: string;
    /** The dial of the site's `reverse_proxy` line the import replaces (absent: the site's one single-upstream line). */
    readonly replaces?: string;
}

/**
 * The canary's fixed part: one route per slot and step percentage, each on while its marker
 * file exists, so ramping is renaming files (no reload). Only canary requests are logged
 * (every other route skips the access log): the log is the canary's error count.
 */
export interface CanaryRouting {
    /** The steps' percentages of requests, ascending. */
    percents: number[];
    /** Keep each client on its side (a cookie with the client's bucket), else random per request. */
    sticky: boolean;
}

/** The maintenance route's fixed part (the on/off marker and the message are files). */
export interface MaintenanceRouting {
    /** Paths still proxied during maintenance (health stays reachable). */
    allowPaths: string[];
}

/**
 * The Retry-After of the maintenance 503. Fixed: anything configurable in the route would
 * make turning maintenance on a config reload (Caddy 2.6 has no placeholder that reads a file).
 */
export const MAINTENANCE_RETRY_AFTER_SECONDS = 300;

/**
 * Sets a marker file that a Caddy `file` matcher reads on every request: written aside, then
 * renamed (atomic), world-readable (Caddy's user). Removing it is a plain `rm -f`.
 */
export function renderSetMarkerLine(marker: string): ShellText {
    return sh`{ tmp=${marker}.$$ && date -u +%Y-%m-%dT%H:%M:%SZ >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" ${marker}; } || fail ${`cannot write ${marker}`}`;
}

/** The logger of the canary routes' access log. */
export function canaryLoggerName(serviceName: string): string {
    return `${serviceName}-canary`;
}

/** The cookie that keeps a client's bucket when the canary is sticky. */
export const CANARY_BUCKET_COOKIE = "l9_canary_bucket";

/**
 * The bucket of a request, two hex digits (00-ff): from a valid sticky cookie, else from the
 * request's random UUID (Caddy 2.6 has no weighted load balancing: a random prefix compared
 * against a threshold is the split). A missing cookie is null in CEL, and an invalid one is
 * ignored: a matcher error would fail every request.
 */
function canaryBucketExpression(sticky: boolean): string {
    const uuid = "string({http.request.uuid})";
    if (!sticky) return `${uuid}.substring(0, 2)`;
    return `(${validBucketCookie()} ? string(${BUCKET_COOKIE_PLACEHOLDER}) : ${uuid}).substring(0, 2)`;
}

const BUCKET_COOKIE_PLACEHOLDER = `{http.request.cookie.${CANARY_BUCKET_COOKIE}}`;

function validBucketCookie(): string {
    return `(${BUCKET_COOKIE_PLACEHOLDER} != null && string(${BUCKET_COOKIE_PLACEHOLDER}).matches("^[0-9a-f]{2}"))`;
}

/** Requests whose bucket is below this (two hex digits) go to a `percent` % canary. */
export function canaryThreshold(percent: number): string {
    const t = Math.min(255, Math.max(1, Math.round((percent * 256) / 100)));
    return t.toString(16).padStart(2, "0");
}

/**
 * The canary access log's Caddy logger config, with `%s` for the file (a plain file: see
 * canaryLogDir). Caddy 2.6 keeps a file writer open after its logger is removed, and reuses it
 * for the same name: a log whose file was deleted would be written nowhere. So a new log gets
 * a new name (its creation time and a random part), and the current one is read back from Caddy.
 */
function canaryLogConfigTemplate(serviceName: string): string {
    return JSON.stringify({
        writer: { output: "file", filename: "@FILE@", roll: false },
        encoder: { format: "json" },
        include: [`http.log.access.${canaryLoggerName(serviceName)}`],
    }).replace("@FILE@", "%s");
}

function proxy(a: CaddyServerArgs, color: Color, canary = false) {
    return {
        handler: "reverse_proxy",
        ...(canary ? {} : { "@id": caddyUpstreamId(a.serviceName, color) }),
        upstreams: slotUpstreams(a, color),
        // A dial error (a slot restarting) is retried for a while instead of failing the client.
        load_balancing: { try_duration: "5s", try_interval: "100ms" },
    };
}

/** The server config without its version id. */
function serverBody(a: CaddyServerArgs) {
    const hostMatch = a.hosts.length > 0 ? { host: a.hosts } : {};
    const marker = greenMarkerFile(a.markerDir, a.serviceName);
    // With a canary, only its routes write the access log.
    const skipLog = a.canary ? [{ handler: "vars", skip_log: true }] : [];
    return {
        listen: [a.listen],
        ...(a.hosts.length === 0 ? { automatic_https: { disable: true } } : {}),
        ...(a.canary ? { logs: { default_logger_name: canaryLoggerName(a.serviceName) } } : {}),
        routes: [
            // Maintenance: while its marker exists, everything but allowPaths gets a 503 whose
            // body is the message file. On/off and the message are files: no config reload.
            {
                match: [
                    {
                        ...hostMatch,
                        file: { root: "/", try_files: [maintenanceMarkerFile(a.markerDir, a.serviceName)] },
                        ...(a.maintenance.allowPaths.length > 0 ? { not: [{ path: a.maintenance.allowPaths }] } : {}),
                    },
                ],
                handle: [
                    ...skipLog,
                    // file_server answers only GET/HEAD, and 304 or 206 to conditional or range
                    // requests: every request becomes a plain GET of the message file.
                    {
                        handler: "headers",
                        request: { delete: ["If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range"] },
                        response: { set: { "Retry-After": [String(MAINTENANCE_RETRY_AFTER_SECONDS)], "Cache-Control": ["no-store"] } },
                    },
                    { handler: "rewrite", method: "GET", uri: `/${maintenanceMessageFile(a.markerDir, a.serviceName).split("/").pop()}` },
                    { handler: "file_server", root: a.markerDir, status_code: 503 },
                ],
                terminal: true,
            },
            ...(a.canary ? canaryRoutes(a, a.canary, hostMatch) : []),
            {
                match: [{ ...hostMatch, file: { root: "/", try_files: [marker] } }],
                handle: [...skipLog, proxy(a, "green")],
                terminal: true,
            },
            {
                ...(a.hosts.length > 0 ? { match: [hostMatch] } : {}),
                handle: [...skipLog, proxy(a, "blue")],
                terminal: true,
            },
        ],
    };
}

/**
 * The canary's routes: a sticky client without a valid bucket cookie gets one (its request's
 * UUID, whose first two digits decided this request), then one route per slot and step, on
 * while its marker exists.
 */
function canaryRoutes(a: CaddyServerArgs, canary: CanaryRouting, hostMatch: { host?: string[] }) {
    const sticky = canary.sticky
        ? [
              {
                  match: [{ ...hostMatch, expression: `!${validBucketCookie()}` }],
                  handle: [
                      {
                          handler: "headers",
                          response: { add: { "Set-Cookie": [`${CANARY_BUCKET_COOKIE}={http.request.uuid}; Path=/; Max-Age=604800; HttpOnly; SameSite=Lax`] } },
                      },
                  ],
              },
          ]
        : [];
    const routes = (["green", "blue"] as const).flatMap((color) =>
        canary.percents.map((percent) => ({
            match: [
                {
                    ...hostMatch,
                    file: { root: "/", try_files: [canaryMarkerFile(a.markerDir, a.serviceName, color, percent)] },
                    expression: `${canaryBucketExpression(canary.sticky)} < "${canaryThreshold(percent)}"`,
                },
            ],
            handle: [proxy(a, color, true)],
            terminal: true,
        })),
    );
    return [...sticky, ...routes];
}

/** The `@id` that names this exact server config: present in Caddy means the config is current. */
export function caddyConfigId(a: CaddyServerArgs): string {
    const hash = crypto
        .createHash("sha256")
        .update(JSON.stringify(serverBody(a)))
        .digest("hex")
        .slice(0, 12);
    return `${a.serviceName}-config-${hash}`;
}

export function caddyServerConfig(a: CaddyServerArgs): Record<string, unknown> {
    const body = serverBody(a);
    const last = body.routes.length - 1;
    body.routes[last] = { ...body.routes[last], ...{ "@id": caddyConfigId(a) } };
    return body;
}

/**
 * `admin` (the admin API's base URL) and `admin_curl` (curl reaching it: over TCP, or over
 * Caddy's unix socket) for the functions below. Every script that asks Caddy starts with these.
 */
export function renderAdminAccessLines(caddyAdmin: string): ShellText {
    return lines(sh`admin=${adminUrl(caddyAdmin, "")}`, sh`admin_curl() { ${adminCurl(caddyAdmin)} "$@"; }`);
}

// Parts of ROUTING_FACTS_FUNCTION's lines, apart only for the source's line limit.
const HAS_CONFIG = sh`admin_curl -fsS -m 5 -o /dev/null "$admin/id/$4" 2>/dev/null`;
const ANSWERS = sh`admin_curl -fsS -m 5 -o /dev/null "$admin/config/" 2>/dev/null`;

/**
 * `l9_routing_facts GREEN_MARKER UPSTREAM_ID_PREFIX UPSTREAM_ID_SUFFIX CONFIG_ID` (step library):
 * sets `routing` (the slot the marker sends traffic to), `upstream` (the upstreams JSON of that
 * slot's handler) and `config` (`current` when Caddy has the config of that id, `stale` when
 * it answers without it, `unreachable`).
 */
export const ROUTING_FACTS_FUNCTION = lines(
    sh`l9_routing_facts() {`,
    sh`  ${renderRoutedSlotLine(raw('"$1"'), "routing")}`,
    sh`  upstream=$(admin_curl -fsS -m 5 "$admin/id/$2$routing$3/upstreams" 2>/dev/null | tr -d ' \\n') || upstream=unreachable`,
    sh`  if ${HAS_CONFIG}; then config=current; elif ${ANSWERS}; then config=stale; else config=unreachable; fi`,
    sh`}`,
);

/** The routing facts of the service (ROUTING_FACTS_FUNCTION): sets `routing`, `upstream` and `config`. */
export function renderCaddyFactsLines(a: CaddyServerArgs): ShellText[] {
    const upstreamId = caddyUpstreamIdParts(a.serviceName);
    return [sh`l9_routing_facts ${greenMarkerFile(a.markerDir, a.serviceName)} ${upstreamId.prefix} ${upstreamId.suffix} ${caddyConfigId(a)}`];
}

/** The routing facts in a script that does not source the step library: the admin API, the function, its call. */
export function renderStandaloneCaddyFactsLines(caddyAdmin: string, a: CaddyServerArgs): ShellText {
    return lines(renderAdminAccessLines(caddyAdmin), ROUTING_FACTS_FUNCTION, ...renderCaddyFactsLines(a));
}

/** Sets `variable` to the slot the routing marker sends traffic to (green while the marker exists). */
export function renderRoutedSlotLine(greenMarker: string | ShellText, variable: "routing" | "routed"): ShellText {
    return sh`if [ -e ${greenMarker} ]; then ${raw(variable)}=green; else ${raw(variable)}=blue; fi`;
}

/**
 * `l9_admin_get PATH`: sets `$admin_got` to Caddy's config at `/config/PATH`: its JSON, `null`
 * (a last key it does not have), or empty when Caddy refused the path as one through a key it
 * does not have (HTTP 400, "invalid traversal path": Caddy 2.6 to 2.11). Stops the step on any
 * other outcome: no answer (curl's exit), or another status (403: the admin API refused the
 * request's origin; 404: `caddyAdmin` is not Caddy's admin API). A read that failed must never
 * pass for "not there", which would create, replace or skip what is there (a POST of
 * `{"servers":{}}` replaces every server of the http app).
 */
export const ADMIN_GET_FUNCTION = lines(
    sh`l9_admin_get() {`,
    sh`  admin_get_exit=0`,
    sh`  admin_got=$(admin_curl -sS -m 5 -w '%{http_code}' "$admin/config/$1" 2>/dev/null) || admin_get_exit=$?`,
    sh`  [ "$admin_get_exit" -eq 0 ] || fail "Caddy's admin API did not answer GET /config/$1 (curl exit $admin_get_exit)"`,
    sh`  admin_get_status=\${admin_got#"\${admin_got%???}"}`,
    sh`  admin_got=\${admin_got%???}`,
    sh`  case "$admin_get_status:$admin_got" in`,
    sh`    200:*) ;;`,
    sh`    400:*"invalid traversal path"*) admin_got= ;;`,
    sh`    *) fail "Caddy's admin API answered GET /config/$1 with HTTP $admin_get_status, not with its config" ;;`,
    sh`  esac`,
    sh`}`,
);

// Parts of CADDY_SERVER_PRESENT_FUNCTION's lines, apart only for the source's line limit.
const SERVER_KIND = sh`"{"*"$3"*) caddy_server=yes ;; "{"*) caddy_server=foreign ;; *) caddy_server=no ;;`;

/**
 * `l9_caddy_server_present LEGACY_NAME NAME MARKER_DIR/ SERVICE` (step library): sets
 * `caddy_server_name` to the service's server: the legacy name (legacyCaddyServerName) when
 * Caddy runs a server of that name that l9-deploy made (ours all route by the service's marker
 * files), else caddyServerName. Sets `caddy_server` to `yes` when Caddy runs it, `foreign` when
 * a server of that name is not one l9-deploy made (someone else's), `no` when there is none
 * (Caddy answers a path it does not have with "null"); it stops the step when Caddy does not
 * answer (ADMIN_GET_FUNCTION). When there is none but a server of the
 * operator's routes the service by l9-deploy's Caddyfile snippet (its UPSTREAM_VAR handlers),
 * `caddy_server` is `yes` and `caddy_server_name` empty: that server is not l9-deploy's.
 */
export const CADDY_SERVER_PRESENT_FUNCTION = lines(
    sh`l9_caddy_server_present() {`,
    sh`  l9_admin_get "apps/http/servers/$1"`,
    sh`  case "$admin_got" in`,
    sh`    "{"*"$3"*) caddy_server_name=$1; caddy_server=yes ;;`,
    sh`    *) caddy_server_name=$2`,
    sh`       l9_admin_get "apps/http/servers/$2"`,
    sh`       case "$admin_got" in ${SERVER_KIND} esac ;;`,
    sh`  esac`,
    sh`  if [ "$caddy_server" = no ]; then`,
    sh`    l9_admin_get apps/http/servers`,
    sh`    case "$admin_got" in`,
    sh`      *"\\"${raw(UPSTREAM_VAR)}\\":\\"$4-blue\\""* | *"\\"${raw(UPSTREAM_VAR)}\\":\\"$4-green\\""*) caddy_server_name=; caddy_server=yes ;;`,
    sh`    esac`,
    sh`  fi`,
    sh`}`,
);

/** Which of the service's servers Caddy runs (CADDY_SERVER_PRESENT_FUNCTION). */
export function renderCaddyServerPresentLine(serviceName: string): ShellText {
    const markerDir = `${caddyMarkerDir(serviceName)}/`;
    return sh`l9_caddy_server_present ${legacyCaddyServerName(serviceName)} ${caddyServerName(serviceName)} ${markerDir} ${serviceName}`;
}

/** Which of the service's servers Caddy runs, in a script that does not source the step library. */
export function renderStandaloneServerPresentLines(caddyAdmin: string, serviceName: string): ShellText {
    return lines(renderAdminAccessLines(caddyAdmin), ADMIN_GET_FUNCTION, CADDY_SERVER_PRESENT_FUNCTION, renderCaddyServerPresentLine(serviceName));
}

/** What to do about a Caddy server of the service's name that l9-deploy did not create. */
export const FOREIGN_SERVER_FIX =
    "Fix: give the service another name (pulumi config set serviceName ...), or remove that server from Caddy's config if it is not needed";

const SET_CADDYFILE_FIX = "Fix: set caddyfile to that Caddyfile (pulumi config set caddyfile /etc/caddy/Caddyfile)";

/**
 * `api` (a JSON request to the admin API) and `l9_caddy_admin ADDRESS` (step library): stops
 * the step, naming the address, when the admin API does not answer (then nothing moved).
 */
export const CADDY_ADMIN_FUNCTIONS = lines(
    sh`api() { admin_curl -sS -m 10 -H 'Content-Type: application/json' "$@"; }`,
    sh`l9_caddy_admin() { admin_curl -fsS -m 5 -o /dev/null "$admin/config/" || fail "Caddy's admin API does not answer at $1; traffic was not moved"; }`,
);

/** The admin API for a step (CADDY_ADMIN_FUNCTIONS), checked to answer. */
export function renderCaddyAdminLines(a: { caddyAdmin: string }): ShellText {
    return lines(renderAdminAccessLines(a.caddyAdmin), sh`l9_caddy_admin ${a.caddyAdmin}`);
}

// Parts of LOAD_SERVER_FUNCTION's lines, apart only for the source's line limit.
const ADD_SERVERS = sh`api -f -X POST -d '{"servers":{}}' "$admin/config/apps/http" >&2`;
const ADD_HTTP_APP = sh`api -f -X POST -d '{"http":{"servers":{}}}' "$admin/config/apps" >&2`;

/**
 * `l9_load_server LEGACY_NAME NAME MARKER_DIR/ LISTEN CONFIG FOREIGN_MESSAGE SERVICE` (step
 * library): loads the service's server config into Caddy (creating the http app if Caddy has
 * none), under the name l9_caddy_server_present finds; a server of that name that l9-deploy
 * did not make stops the step with FOREIGN_MESSAGE, and is left as it is. So does a Caddyfile
 * site that imports the service's routes: a server of our own could not listen beside it.
 */
export const LOAD_SERVER_FUNCTION = lines(
    sh`l9_load_server() {`,
    sh`  l9_admin_get apps/http/servers`,
    sh`  case "$admin_got" in`,
    sh`    "{"*) ;;`,
    sh`    *) l9_admin_get apps`,
    sh`       case "$admin_got" in "{"*) ${ADD_SERVERS} ;; *) ${ADD_HTTP_APP} ;; esac || fail "cannot create Caddy's http app" ;;`,
    sh`  esac`,
    sh`  l9_caddy_server_present "$1" "$2" "$3" "$7"`,
    sh`  [ "$caddy_server" != foreign ] || fail "$6"`,
    sh`  [ -n "$caddy_server_name" ] || fail "a Caddyfile site routes $7 by l9-deploy's snippet; traffic was not moved. ${raw(SET_CADDYFILE_FIX)}"`,
    sh`  say "loading Caddy server $caddy_server_name on $4"`,
    sh`  api -f -X POST -d "$5" "$admin/config/apps/http/servers/$caddy_server_name" >&2 || fail "Caddy refused the server config"`,
    sh`}`,
);

/**
 * `load_config`, and its call when the service's server config is missing or different (and,
 * with a canary, when its access log is not configured): a reload is never part of a routine
 * switch or canary step. Needs renderCaddyAdminLines.
 */
export function renderLoadConfigLines(a: CaddyServerArgs): ShellText {
    const logger = canaryLoggerName(a.serviceName);
    const dir = canaryLogDir(a.serviceName);
    const configCurrent = sh`admin_curl -fsS -m 5 -o /dev/null "$admin"${`/id/${caddyConfigId(a)}`} 2>/dev/null`;
    const names = sh`${legacyCaddyServerName(a.serviceName)} ${caddyServerName(a.serviceName)}`;
    const foreign =
        `Caddy runs a server named ${caddyServerName(a.serviceName)} that l9-deploy did not create (no routing marker of ${a.serviceName} in it): ` +
        `it is left as it is, and traffic was not moved. ${FOREIGN_SERVER_FIX}`;
    return lines(
        sh`load_config() {`,
        a.canary
            ? sh`  l9_load_canary_logger ${dir} ${logger} ${canaryLogConfigTemplate(a.serviceName)} ${JSON.stringify({
                  exclude: [`http.log.access.${logger}`],
              })}`
            : // Without a canary, no logger of the canary is left behind: its file may go (the marker
              // directory is the service's), and Caddy does not start on a log it cannot open.
              sh`  l9_remove_canary_logger ${logger}`,
        sh`  l9_load_server ${names} ${`${caddyMarkerDir(a.serviceName)}/`} ${a.listen} ${JSON.stringify(caddyServerConfig(a))} ${foreign} ${a.serviceName}`,
        sh`}`,
        a.canary ? sh`{ ${configCurrent} && l9_canary_log_current ${dir} ${logger}; } || load_config` : sh`${configCurrent} || load_config`,
    );
}

// Parts of REMOVE_CANARY_LOGGER_FUNCTION's line, apart only for the source's line limit.
const GET_LOGGER = sh`l9_admin_get "logging/logs/$1"`;
const DELETE_LOGGER = sh`admin_curl -fsS -m 10 -X DELETE "$admin/config/logging/logs/$1" >/dev/null || fail "Caddy refused to remove the canary's access log"`;

/**
 * `l9_remove_canary_logger LOGGER` (step library): removes the service's canary logger from
 * Caddy's config when it is there: Caddy would not start on a logger whose file was removed
 * with the service's marker directory. Needs ADMIN_GET_FUNCTION.
 */
export const REMOVE_CANARY_LOGGER_FUNCTION = sh`l9_remove_canary_logger() { ${GET_LOGGER}; case "$admin_got" in "{"*) ${DELETE_LOGGER} ;; esac; }`;

/**
 * Sets `$canary_log` to the name of a new canary access log in `dir`,
 * `access-<UTC time>-<random>.log` (the `access-*.log` of CANARY_LOG_FUNCTIONS). New each
 * time: Caddy 2.6 reuses a writer by name (see canaryLogConfigTemplate), and two loads can fall
 * in the same second. Unguessable: the directory is 1733, so another user could create a file
 * of a predictable name first (Caddy would then fail to open it, or log into that user's file,
 * which the canary trusts). 16 hex digits from /dev/urandom; a short read fails rather than
 * falling back to a guessable name. Caddy creates the file itself, as its own user.
 */
export function renderNewCanaryLogLines(dir: string | ShellText): ShellText[] {
    return [
        sh`canary_id=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')`,
        sh`[ \${#canary_id} -eq 16 ] || fail "cannot read 8 random bytes from /dev/urandom for the canary access log's name"`,
        sh`canary_log=${dir}/access-$(date -u +%Y%m%dT%H%M%SZ)-$canary_id.log`,
    ];
}

// Parts of CANARY_LOG_FUNCTIONS' lines, apart only for the source's line limit.
const CANARY_LOG_FILE = sh`admin_curl -fsS -m 5 "$admin/config/logging/logs/$2/writer/filename" 2>/dev/null | tr -d '"\\n' || true`;
const ADD_LOGS = sh`api -f -X POST -d '{}' "$admin/config/logging/logs" >&2`;
const ADD_LOGGING = sh`api -f -X POST -d '{"logs":{}}' "$admin/config/logging" >&2`;
const ADD_CANARY_LOGGER = sh`api -f -X POST -d "$(printf "$3" "$canary_log")" "$admin/config/logging/logs/$2" >&2`;
const ADD_DEFAULT_EXCLUDE = sh`api -f -X POST -d "$4" "$admin/config/logging/logs/default" >&2`;
const DEFAULT_EXCLUDE_REFUSED = "Caddy refused to keep the canary's requests out of its default log: they are logged there too";

/**
 * The canary's access log (step library):
 * - `l9_canary_log_current DIR LOGGER` sets `$canary_log` to the file Caddy writes LOGGER's log
 *   to, and succeeds when that is one of ours (in DIR) and exists (else the log is configured anew).
 * - `l9_load_canary_logger DIR LOGGER CONFIG_TEMPLATE DEFAULT_EXCLUDE` configures LOGGER in
 *   Caddy (a new file in DIR unless the current one is fine), and keeps Caddy's own log from
 *   repeating every canary request (DEFAULT_EXCLUDE), unless the operator configured that log.
 */
export const CANARY_LOG_FUNCTIONS = lines(
    sh`l9_canary_log_current() { canary_log=$(${CANARY_LOG_FILE}); case "$canary_log" in "$1"/access-*.log) [ -f "$canary_log" ] ;; *) return 1 ;; esac; }`,
    sh`l9_load_canary_logger() {`,
    // Caddy's user creates the log: 1733 lets it, and nobody else lists or removes it.
    sh`  { mkdir -p "$1" && chmod 1733 "$1"; } || fail "cannot create $1 with mode 1733"`,
    sh`  if ! l9_canary_log_current "$1" "$2"; then`,
    ...renderNewCanaryLogLines(raw('"$1"')).map((l) => sh`    ${l}`),
    sh`  fi`,
    // Every read before the first write: a read that stops the step leaves nothing half done.
    sh`  l9_admin_get logging/logs/default`,
    sh`  default_log=$admin_got`,
    sh`  l9_admin_get logging/logs`,
    sh`  case "$admin_got" in`,
    sh`    "{"*) ;;`,
    sh`    *) l9_admin_get logging`,
    sh`       case "$admin_got" in "{"*) ${ADD_LOGS} ;; *) ${ADD_LOGGING} ;; esac || fail "cannot create Caddy's logging config" ;;`,
    sh`  esac`,
    sh`  ${ADD_CANARY_LOGGER} || fail "Caddy refused the canary access log $canary_log (may Caddy's user write $1?)"`,
    sh`  case "$default_log" in "{"*) ;; *) ${ADD_DEFAULT_EXCLUDE} || say "${raw(DEFAULT_EXCLUDE_REFUSED)}" ;; esac`,
    sh`}`,
);

/** Ends any canary of the service: its markers removed, 0 % of requests to the canary. */
export function renderClearCanaryLine(a: CaddyServerArgs): ShellText {
    return sh`rm -f ${canaryMarkerPrefix(a.markerDir, a.serviceName)}*${raw(CANARY_MARKER_SUFFIX)}`;
}
