import { z } from "zod";
import { caddyAdminSocket, UNIX_ADMIN_ADDRESS } from "../host-scripts/caddy-admin";
import { CRON_SCHEDULE } from "../host-scripts/cron-job";

/**
 * The stack configuration of l9-deploy, validated once at the edge. Every value that can
 * reach a shell on the host is constrained here to a character set that cannot break out of
 * single quotes or start a new command, and is quoted again where it is rendered.
 */

/** Characters allowed in anything that becomes part of a path or a shell word. */
const SAFE_WORD = /^[A-Za-z0-9._-]+$/;

/** A release tag's first character (no option's leading '-', no hidden name's leading '.'), and its others: as bracket contents. */
const TAG_FIRST_CHARS = "A-Za-z0-9_";
const TAG_CHARS = "A-Za-z0-9._-";

/** A release tag: a safe word that no command reads as an option (a leading '-') or a hidden name (a leading '.'). */
const RELEASE_TAG = new RegExp(`^[${TAG_FIRST_CHARS}][${TAG_CHARS}]*$`);

/**
 * A shell `case` pattern matching every non-empty name that is not a release tag's: a host's
 * listing (a directory's names) drops these before they reach a line the program parses.
 */
export const NOT_A_RELEASE_TAG_CASE = `[!${TAG_FIRST_CHARS}]*|*[!${TAG_CHARS}]*`;

/** What a release tag may contain, for the errors that refuse one. */
export const RELEASE_TAG_CHARS = "letters, digits, '.', '_' and '-', starting with a letter, a digit or '_'";

/** Whether `tag` is a name `releaseTag` accepts: anything else (read back from a host, typed by an operator) is not a release. */
export function isReleaseTagName(tag: string): boolean {
    return RELEASE_TAG.test(tag);
}
const SAFE_PATH = /^\/(?:[A-Za-z0-9._-]+\/?)*$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^\[?[0-9A-Fa-f:]+\]?$/;
const REPO_URL = /^(?:(?:https|ssh|file):\/\/[A-Za-z0-9@._~:/+-]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/+-]+)$/;
const HOST_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) [A-Za-z0-9+/]+={0,3}$/;
const ENV_KEY = /^[A-Z_][A-Z0-9_]*$/;
// A URL path (and query) without the characters a shell gives meaning to ($ ` ' " ( ) ; ! *).
const HTTP_PATH = /^\/[A-Za-z0-9._~+,=:@%/?&-]*$/;
const LOOPBACK_ADDRESS = /^(?:127\.(?:\d{1,3}\.){2}\d{1,3}|localhost|\[::1\]):\d{1,5}$/;
const LISTEN_ADDRESS = /^(?:[A-Za-z0-9.-]*|\[[0-9A-Fa-f:]+\]):\d{1,5}$/;

const port = z.coerce.number().int().min(1).max(65535);
const bool = z.union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")]);
const jsonOf = <T extends z.ZodTypeAny>(schema: T) =>
    z.preprocess((raw) => {
        if (typeof raw !== "string") return raw;
        try {
            return JSON.parse(raw);
        } catch {
            return raw; // the schema below then reports the wrong type
        }
    }, schema);

// A webhook URL: http(s), no whitespace, quotes or characters a shell gives meaning to.
const WEBHOOK_URL = /^https?:\/\/[A-Za-z0-9._~:/?#@!&+,;=%\[\]-]+$/;

const isTraversing = (p: string) => p.split("/").some((part) => part === ".." || part === ".");

/** Directories appDir may be inside of but never be: every deploy chmods appDir, and destroy empties it. */
const SYSTEM_DIRS = new Set([
    "/root",
    "/home",
    "/var",
    "/var/lib",
    "/var/log",
    "/var/tmp",
    "/var/cache",
    "/var/spool",
    "/var/backups",
    "/var/opt",
    "/tmp",
    "/srv",
    "/opt",
    "/mnt",
    "/media",
    "/usr/local",
]);
/** Trees that belong to the system: appDir is never inside them. */
const SYSTEM_TREES = /^\/(?:etc|usr|bin|sbin|lib[^/]*|boot|dev|proc|sys|run)(?:\/|$)/;

/** Why `p` (trailing slashes removed) is a system path, or undefined. */
export function systemPathProblem(p: string): string | undefined {
    if (SYSTEM_DIRS.has(p))
        return (
            `must not be ${p} itself: l9-deploy owns its appDir entirely (it sets its mode, and destroy empties it). ` +
            `Use a directory of its own, e.g. ${p === "/opt" ? "/opt/l9" : `${p}/l9`}`
        );
    if (SYSTEM_TREES.test(p)) return `must not be under /${p.split("/")[1]}, which belongs to the system. Use a directory of its own, e.g. /opt/l9`;
    return undefined;
}

/** The userinfo of a URL (`https://user:token@host/...`): credentials have no place in config text. */
const URL_CREDENTIALS = /^(?:https|ssh|file):\/\/([^@/]*)@/;
const URL_CREDENTIALS_MESSAGE =
    "must not carry credentials (user:token@). " +
    "Use a deploy key over SSH (git@host:team/l9.git, the key in the host user's ~/.ssh), or a git credential helper on the host";

const smokeRequest = z.object({
    method: z.enum(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]).default("GET"),
    path: z.string().regex(HTTP_PATH, "must be an absolute URL path such as /api/smoke, without spaces or quotes"),
    expectStatus: z.coerce.number().int().min(100).max(599).default(200),
});

const singleLine = (what: string) =>
    z
        .string()
        .min(1)
        .regex(/^[^\n\r\0]+$/, `must be a single-line ${what}`);

const notifyTarget = z
    .object({
        format: z.enum(["json", "telegram"]).default("json"),
        url: z
            .string()
            .regex(
                WEBHOOK_URL,
                "must be an http(s) URL without spaces or quotes, e.g. https://hooks.slack.com/services/... or https://api.telegram.org/bot<token>/sendMessage",
            ),
        chatId: z
            .string()
            .regex(/^-?[0-9]+$|^@[A-Za-z0-9_]{5,}$/, "must be a Telegram chat id (digits) or @channelname")
            .optional(),
    })
    .strict()
    .refine((t) => t.format !== "telegram" || t.chatId !== undefined, { message: "a telegram target needs chatId", path: ["chatId"] });

const maintenance = z
    .object({
        enabled: bool.default(false),
        message: z
            .string()
            .min(1)
            .max(4000)
            .regex(/^[^\0]*$/, "must not contain NUL bytes")
            .default("The service is down for maintenance. Please retry in a few minutes."),
        allowPaths: z
            .array(z.string().regex(/^\/[A-Za-z0-9._~+,=:@%/*-]*$/, "must be a URL path such as /health or /status/*"))
            .max(50)
            .optional(),
    })
    .strict();

/**
 * A canary: the new release takes `percent` of requests next to the serving one, ramped in
 * `steps` equal steps each held `stepSeconds`, and judged on its error rate in Caddy's access
 * log. Promotion is the plain switch.
 */
const canary = z
    .object({
        percent: z.coerce.number().int().min(1).max(99),
        steps: z.coerce.number().int().min(1).max(10).default(1),
        stepSeconds: z.coerce.number().int().min(5).max(3600).default(60),
        maxErrorRate: z.coerce
            .number()
            .min(0)
            .max(100)
            .refine(
                (r) => Number.isInteger(Math.round(r * 100)) && Math.abs(r * 100 - Math.round(r * 100)) < 1e-9,
                "must be a percentage with at most two decimals, e.g. 10 or 2.5",
            )
            .default(10),
        minRequests: z.coerce.number().int().min(1).max(1_000_000).default(20),
        sticky: bool.default(false),
    })
    .strict()
    .refine((c) => c.steps <= c.percent, { message: "must not exceed percent (each step adds at least 1%)", path: ["steps"] });

/** One VPS of a multi-host stack: its name names its resources and outputs. */
const hostEntry = z
    .object({
        name: z.string().regex(/^[a-z][a-z0-9-]{0,23}$/, "must be a short name of lower-case letters, digits and '-', e.g. web-1"),
        host: z.string().regex(HOST, "must be a host name or an IP address"),
        sshPort: port.default(22),
        hostKey: z.string().trim().regex(HOST_KEY, "must be the host's public key as '<type> <base64>'"),
    })
    .strict();

/** A second machine that keeps a copy of every backup (`backupCopyTo`): reached over SSH with its own key. */
const backupCopyTarget = z
    .object({
        host: z.string().regex(HOST, "must be a host name or an IP address"),
        sshPort: port.default(22),
        user: z
            .string()
            .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name")
            .default("root"),
        hostKey: z.string().trim().regex(HOST_KEY, "must be the target's public key as '<type> <base64>'"),
        dir: z
            .string()
            .regex(SAFE_PATH, "must be an absolute path of letters, digits, '.', '_', '-' and '/'")
            .refine((p) => !isTraversing(p), "must not contain '.' or '..' segments")
            .transform((p) => p.replace(/\/+$/, ""))
            .refine(
                (p) => p.split("/").length >= 3,
                "must be a directory of this service's own, at least two levels deep, e.g. /srv/backups/l9 (it is rotated)",
            ),
    })
    .strict();

/** The restore drill (`restoreDrill`): the newest backup restored into a scratch database, checked, dropped. */
const restoreDrill = z
    .object({
        schedule: z.string().regex(CRON_SCHEDULE, "must be a 5-field cron schedule such as '45 3 * * *' or @daily").default("45 3 * * *"),
        check: singleLine("SQL query whose first value is true when the restored data is sound, e.g. SELECT count(*) > 0 FROM users").default("SELECT 1"),
        databaseUrlKey: z.string().regex(ENV_KEY, "must be the env key of the app's database URL, e.g. DATABASE_URL").default("DATABASE_URL"),
    })
    .strict();

/** How a release rolls over several hosts: `batchSize` at a time, `pauseSeconds` between batches. */
const rollout = z
    .object({
        batchSize: z.coerce.number().int().min(1).max(20).default(1),
        pauseSeconds: z.coerce.number().int().min(0).max(3600).default(0),
    })
    .strict();

export const configSchema = z
    .object({
        host: z.string().regex(HOST, "must be a host name or an IP address").optional(),
        sshPort: port.default(22),
        sshUser: z
            .string()
            .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a Unix user name")
            .default("root"),
        hostKey: z
            .string()
            .trim()
            .regex(HOST_KEY, "must be the host's public key as '<type> <base64>', e.g. the output of `ssh-keyscan -t ed25519 HOST | cut -d' ' -f2,3`")
            .optional(),
        sshPrivateKey: z.string().includes("PRIVATE KEY", { message: "must be an OpenSSH or PEM private key" }),
        releaseTag: z.string().regex(RELEASE_TAG, `may only contain ${RELEASE_TAG_CHARS}`),
        tagPattern: z
            .string()
            .default("^v\\d+\\.\\d+\\.\\d+-l9$")
            .refine((p) => {
                try {
                    new RegExp(p);
                    return true;
                } catch {
                    return false;
                }
            }, "must be a valid regular expression"),
        repoUrl: z
            .string()
            .regex(REPO_URL, "must be an https://, ssh://, file:/// or git@host:path URL without spaces or quotes")
            // A token in the URL would sit in plain config, in "cloning ..." lines and in `ps` on
            // the host. An SSH user name (ssh://git@host) is not a credential; a password is.
            .refine((u) => {
                const userinfo = URL_CREDENTIALS.exec(u)?.[1];
                return userinfo === undefined || (u.startsWith("ssh://") && !userinfo.includes(":"));
            }, URL_CREDENTIALS_MESSAGE),
        mainBranch: z.string().regex(SAFE_WORD, "must be a branch name of letters, digits, '.', '_' and '-'").default("main"),
        verifyTagSignature: bool.default(false),
        serviceName: z
            .string()
            .regex(/^[a-z][a-z0-9-]{0,30}$/, "must be lower-case letters, digits and '-', starting with a letter")
            .default("l9"),
        appDir: z
            .string()
            .regex(SAFE_PATH, "must be an absolute path of letters, digits, '.', '_', '-' and '/'")
            .refine((p) => !isTraversing(p), "must not contain '.' or '..' segments")
            .refine((p) => p.replace(/\/+$/, "").split("/").length >= 3, "must be at least two levels deep, e.g. /opt/l9 (it is owned entirely by l9-deploy)")
            .transform((p) => p.replace(/\/+$/, ""))
            .superRefine((p, ctx) => {
                const problem = systemPathProblem(p);
                if (problem) ctx.addIssue({ code: "custom", message: problem });
            })
            .default("/opt/l9"),
        dockerfile: z
            .string()
            .regex(/^[A-Za-z0-9._/-]+$/, "must be a relative path of letters, digits, '.', '_', '-' and '/'")
            .refine((p) => !p.startsWith("/") && !isTraversing(p), "must be relative to the repository root, without '..'")
            .default("Dockerfile"),
        // Unset: bridge for a new stack, and the mode it serves with for a deployed one (resolveNetworkMode).
        networkMode: z.enum(["host", "bridge"], { error: "must be bridge (the default: the app in its own network namespace) or host" }).optional(),
        containerPort: port.default(8000),
        bluePort: port.default(8001),
        greenPort: port.default(8002),
        healthPath: z.string().regex(HTTP_PATH, "must be an absolute URL path such as /health").default("/health"),
        healthTimeoutSeconds: z.coerce.number().int().min(5).max(900).default(60),
        healthcheckCommand: z
            .string()
            .min(1)
            .regex(/^[^\n\r\0]+$/, "must be a single-line shell command run inside the container, e.g. curl -fsS http://127.0.0.1:$PORT/health")
            .optional(),
        smokeRequests: jsonOf(z.array(smokeRequest).max(50)).default([]),
        logScanPatterns: jsonOf(
            z.array(
                z
                    .string()
                    .min(1)
                    .regex(/^[^\n\r\0]+$/, "must be a single line"),
            ),
        ).default(["Traceback", "FATAL", "panic:"]),
        standby: z.enum(["warm", "stopped"]).default("warm"),
        restartPolicy: z.enum(["unless-stopped", "always", "on-failure", "no"]).default("unless-stopped"),
        drainGraceSeconds: z.coerce.number().int().min(0).max(600).default(30),
        imagesToKeep: z.coerce.number().int().min(2).max(50).default(3),
        env: jsonOf(
            z.record(
                z.string().regex(ENV_KEY, "env keys must be upper-case letters, digits and '_'"),
                z.string().regex(/^[^\n\r\0]*$/, "env values must be a single line (no newlines)"),
            ),
        ),
        caddyAdmin: z
            .string()
            .refine(
                (a) => LOOPBACK_ADDRESS.test(a) || (UNIX_ADMIN_ADDRESS.test(a) && !isTraversing(a.slice("unix/".length))),
                "must be a loopback address with port, e.g. 127.0.0.1:2019, " +
                    "or a unix socket, e.g. unix//run/caddy/admin.sock (the admin API never leaves the host)",
            )
            .default("127.0.0.1:2019"),
        caddyListen: z.string().regex(LISTEN_ADDRESS, "must be a listen address such as :443 or 127.0.0.1:8080").default(":443"),
        caddyHosts: jsonOf(z.array(z.string().regex(HOST, "must be a host name"))).default([]),
        // Caddyfile mode (docs/adoption-design.md): the routes go into this Caddyfile's site of caddyHosts[0].
        caddyfile: z
            .string()
            .regex(SAFE_PATH, "must be an absolute path, e.g. /etc/caddy/Caddyfile")
            .refine((p) => !isTraversing(p), "must not contain '.' or '..' segments")
            .optional(),
        // Adoption: what the old runbooks' deploy left, retired once l9-deploy serves (host-scripts/old-deploy.ts).
        adopt: jsonOf(
            z
                .object({
                    containers: z
                        .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, "must be container names"))
                        .max(20)
                        .default([]),
                    cronFiles: z
                        .array(z.string().regex(/^\/etc\/cron\.d\/[A-Za-z0-9_-]+$/, "must be files in /etc/cron.d (cron ignores names with a dot there)"))
                        .max(20)
                        .default([]),
                    // Destroy (or removing adopt) hands the host back; by default it leaves the retired deploy as it is.
                    handBackOnDestroy: bool.default(false),
                    // Where the old deploy answers 200 once it is back (hand-back waits for it); absent: healthPath.
                    healthPath: z.string().regex(HTTP_PATH, "must be an absolute URL path such as /health").optional(),
                })
                .strict(),
        ).optional(),
        caddyfileReplaces: z.string().regex(LOOPBACK_ADDRESS, "must be the loopback address the site proxies to today, e.g. 127.0.0.1:8000").optional(),
        driftSchedule: z.string().regex(CRON_SCHEDULE, "must be a 5-field cron schedule such as '17 * * * *' or @hourly").default("17 * * * *"),
        metricsDir: z
            .string()
            .regex(SAFE_PATH, "must be an absolute path")
            .refine((p) => !isTraversing(p), "must not contain '.' or '..' segments")
            .default("/var/lib/prometheus/node-exporter"),
        minFreeDiskMb: z.coerce.number().int().min(0).default(2048),
        backup: singleLine('shell command run on the host (its stdout is the backup), e.g. pg_dump -Fc "$DATABASE_URL"').optional(),
        backupsToKeep: z.coerce.number().int().min(1).max(365).default(7),
        backupRequired: bool.default(false),
        // Backups on a schedule too, independent of releases (cron on the host).
        backupSchedule: z.string().regex(CRON_SCHEDULE, "must be a 5-field cron schedule such as '30 2 * * *' or @daily").optional(),
        // Off the host: the scheduled job copies every backup there, with its own key (secret).
        backupCopyTo: jsonOf(backupCopyTarget).optional(),
        backupCopyKey: z.string().includes("PRIVATE KEY", { message: "must be an OpenSSH or PEM private key" }).optional(),
        // Proven restorable: a scheduled drill (and npm run backup:drill) restores the newest backup.
        restoreDrill: jsonOf(restoreDrill).optional(),
        migrate: jsonOf(z.array(singleLine("argument")).min(1).max(50)).optional(),
        // A rollback that knows the schema: each release records the revision it left the database at.
        schemaRevisionCommand: jsonOf(z.array(singleLine("argument")).min(1).max(50)).optional(),
        rollbackCheck: jsonOf(z.array(singleLine("argument")).min(1).max(50)).optional(),
        allowSchemaRollback: bool.default(false),
        // Each of backup and migrate: one that never exits (a server started as the migration) is stopped.
        hookTimeoutSeconds: z.coerce
            .number()
            .int("must be a whole number of seconds")
            .min(10, "must be at least 10 seconds")
            .max(7200, "must be at most 7200 seconds (2 hours)")
            .default(600),
        notify: jsonOf(z.array(notifyTarget).max(20)).default([]),
        maintenance: jsonOf(maintenance).default({ enabled: false, message: "The service is down for maintenance. Please retry in a few minutes." }),
        canary: jsonOf(canary).optional(),
        hosts: jsonOf(
            z
                .array(hostEntry)
                .min(1)
                .max(20)
                .refine((hs) => new Set(hs.map((h) => h.name)).size === hs.length, "must give every host a different name"),
        ).optional(),
        rollout: jsonOf(rollout).default({ batchSize: 1, pauseSeconds: 0 }),
        watchSeconds: z.coerce.number().int().min(0).max(3600).default(0),
        watchFailures: z.coerce.number().int().min(1).max(100).default(3),
        minCertDays: z.coerce.number().int().min(0).max(365).default(14),
        maxClockSkewSeconds: z.coerce.number().int().min(1).max(3600).default(30),
        // A freeze: every update is refused, with this reason, until its lift (`off <id>`) lifts it (plan/freeze.ts).
        freeze: z
            .string()
            .min(1)
            .max(300, "must be at most 300 characters")
            .regex(/^[^\x00-\x1f\x7f]+$/, 'must be one line of text, e.g. "DB maintenance until 14:00, ask Ana"')
            .optional(),
        deployedBy: z
            .string()
            .regex(/^[A-Za-z0-9@._ -]{1,64}$/, "must be a short name (letters, digits, '@', '.', '_', '-', spaces)")
            .optional(),
    })
    .superRefine((c, ctx) => {
        if (c.hosts) {
            for (const key of ["host", "hostKey"] as const) {
                if (c[key] !== undefined)
                    ctx.addIssue({
                        code: "custom",
                        path: [key],
                        message: "is set together with hosts: set either host, hostKey and sshPort (one VPS) or hosts (a list), not both",
                    });
            }
        } else {
            if (c.host === undefined) ctx.addIssue({ code: "custom", path: ["host"], message: "is required but not set (or set hosts: a list of VPSes)" });
            if (c.hostKey === undefined)
                ctx.addIssue({ code: "custom", path: ["hostKey"], message: "is required but not set (the host's public key, pinned)" });
        }
        let pattern: RegExp | undefined;
        try {
            pattern = new RegExp(c.tagPattern);
        } catch {
            pattern = undefined;
        }
        if (pattern && !pattern.test(c.releaseTag)) {
            ctx.addIssue({ code: "custom", path: ["releaseTag"], message: `does not match the release tag pattern ${c.tagPattern}` });
        }
        if (c.bluePort === c.greenPort) {
            ctx.addIssue({ code: "custom", path: ["greenPort"], message: `must differ from bluePort (both are ${c.bluePort})` });
        }
        const listenPort = Number(c.caddyListen.split(":").pop());
        const adminPort = caddyAdminSocket(c.caddyAdmin) ? undefined : Number(c.caddyAdmin.split(":").pop());
        for (const [field, value] of [
            ["bluePort", c.bluePort],
            ["greenPort", c.greenPort],
        ] as const) {
            if (value === listenPort) ctx.addIssue({ code: "custom", path: [field], message: `collides with caddyListen's port ${listenPort}` });
            if (value === adminPort) ctx.addIssue({ code: "custom", path: [field], message: `collides with caddyAdmin's port ${adminPort}` });
        }
        if (c.backupSchedule !== undefined && c.backup === undefined) {
            ctx.addIssue({ code: "custom", path: ["backupSchedule"], message: "is set without backup: there is no backup command to schedule" });
        }
        if (c.backupCopyTo !== undefined && c.backupSchedule === undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["backupCopyTo"],
                message: "is set without backupSchedule: the scheduled backup job is what copies backups off the host",
            });
        }
        if (c.backupCopyTo !== undefined && c.backupCopyKey === undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["backupCopyKey"],
                message: "is required with backupCopyTo (the private key the copies log in to the target with)",
            });
        }
        if (c.backupCopyKey !== undefined && c.backupCopyTo === undefined) {
            ctx.addIssue({ code: "custom", path: ["backupCopyKey"], message: "is set without backupCopyTo: there is no target to copy backups to" });
        }
        if (c.restoreDrill !== undefined && c.backup === undefined) {
            ctx.addIssue({ code: "custom", path: ["restoreDrill"], message: "is set without backup: there is no backup to restore" });
        }
        if (c.rollbackCheck && !c.schemaRevisionCommand) {
            ctx.addIssue({
                code: "custom",
                path: ["rollbackCheck"],
                message: "is set without schemaRevisionCommand: with no revision recorded, no switch-back is checked",
            });
        }
        if (c.allowSchemaRollback && !c.schemaRevisionCommand) {
            ctx.addIssue({
                code: "custom",
                path: ["allowSchemaRollback"],
                message: "is set without schemaRevisionCommand: there is no schema check to allow past",
            });
        }
        if (c.restoreDrill !== undefined) {
            const problem = databaseUrlProblem(c.restoreDrill.databaseUrlKey, c.env[c.restoreDrill.databaseUrlKey]);
            if (problem)
                ctx.addIssue({ code: "custom", path: ["restoreDrill"], message: `names databaseUrlKey ${c.restoreDrill.databaseUrlKey}: env ${problem}` });
        }
        if (c.caddyfile !== undefined) {
            if (c.caddyHosts.length === 0)
                ctx.addIssue({ code: "custom", path: ["caddyHosts"], message: 'is empty: caddyfile needs the API\'s site name, e.g. ["api.example.com"]' });
            if (c.canary)
                ctx.addIssue({
                    code: "custom",
                    path: ["canary"],
                    message: "is not available with caddyfile yet: its access log would not survive a reload of the Caddyfile (unset one of them)",
                });
        } else if (c.caddyfileReplaces !== undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["caddyfileReplaces"],
                message: "is set without caddyfile: it names the Caddyfile site's reverse_proxy line to replace",
            });
        }
        if (c.adopt?.handBackOnDestroy && c.caddyfile !== undefined && c.caddyfileReplaces === undefined)
            ctx.addIssue({
                code: "custom",
                path: ["adopt"],
                message:
                    "sets handBackOnDestroy without caddyfileReplaces: the hand-back puts back the site's line 'reverse_proxy <caddyfileReplaces>'. " +
                    "Fix: pulumi config set caddyfileReplaces 127.0.0.1:8000",
            });
        for (const container of c.adopt?.containers ?? []) {
            if (container === `${c.serviceName}-blue` || container === `${c.serviceName}-green`)
                ctx.addIssue({
                    code: "custom",
                    path: ["adopt"],
                    message: `names ${container}, one of l9-deploy's own slots: adopt names the old deploy's containers`,
                });
        }
        if (Object.keys(c.env).length === 0) {
            ctx.addIssue({ code: "custom", path: ["env"], message: "is empty: set the keys your app's .env.example declares" });
        }
    });

/**
 * Why the env's database URL (`key`: restoreDrill.databaseUrlKey) cannot be handed to psql and
 * pg_restore, or undefined: it must be set and be a libpq URL (postgres:// or postgresql://). A
 * driver's URL (postgresql+psycopg2://) would be quoted whole, password included, in libpq's error.
 */
export function databaseUrlProblem(key: string, url: string | undefined): string | undefined {
    if (url === undefined) return `does not set ${key}: the drill and the restore reach the app's database with it`;
    if (!/^postgres(?:ql)?:\/\//.test(url)) return `sets ${key} to a URL psql cannot use: it must start with postgres:// or postgresql://`;
    return undefined;
}

/** The validated configuration, with defaults applied. */
export type DeployConfig = z.output<typeof configSchema>;

/** One smoke request of the gate. */
export type SmokeRequest = z.output<typeof smokeRequest>;

/** Keys that hold secrets: they must be stored with `pulumi config set --secret`. */
export const SECRET_KEYS = ["sshPrivateKey", "env", "notify", "backupCopyKey"] as const;

/** How to fix each field, appended to its error. */
export const FIX_HINTS: Record<string, string> = {
    host: "pulumi config set host 203.0.113.10",
    hostKey: "pulumi config set hostKey \"$(ssh-keyscan -t ed25519 HOST 2>/dev/null | cut -d' ' -f2,3)\" (check the fingerprint out of band)",
    sshPrivateKey: "pulumi config set --secret sshPrivateKey < ~/.ssh/deploy_key",
    releaseTag: "pulumi config set releaseTag v1.2.3-l9 (an annotated tag on the main branch)",
    tagPattern: "pulumi config set tagPattern '^v\\d+\\.\\d+\\.\\d+-l9$'",
    repoUrl: "pulumi config set repoUrl git@example.com:team/l9.git",
    appDir: "pulumi config set appDir /opt/l9",
    env: 'pulumi config set --secret env \'{"APP_SECRET":"...","DATABASE_URL":"..."}\'',
    bluePort: "pulumi config set bluePort 8001",
    greenPort: "pulumi config set greenPort 8002",
    smokeRequests: 'pulumi config set smokeRequests \'[{"method":"GET","path":"/api/smoke","expectStatus":200}]\'',
    caddyAdmin: "pulumi config set caddyAdmin unix//run/caddy/admin.sock (Caddy's admin listen address; or 127.0.0.1:2019)",
    networkMode: "pulumi config set networkMode bridge",
    caddyListen: "pulumi config set caddyListen :443",
    caddyfile: "pulumi config set caddyfile /etc/caddy/Caddyfile (the Caddyfile Caddy runs; its site of caddyHosts[0] imports l9-deploy's routes)",
    adopt: 'pulumi config set adopt \'{"containers":["l9-api-blue"],"cronFiles":["/etc/cron.d/l9-health-checks"]}\'',
    caddyfileReplaces: "pulumi config set caddyfileReplaces 127.0.0.1:8000 (the site's line 'reverse_proxy 127.0.0.1:8000' becomes the import)",
    backup: "pulumi config set backup 'pg_dump -Fc \"$DATABASE_URL\"' (stdout is stored under <appDir>/backups; avoid pipes: sh has no pipefail)",
    backupSchedule: "pulumi config set backupSchedule '30 2 * * *' (cron, on the host; needs backup)",
    backupCopyTo:
        'pulumi config set backupCopyTo \'{"host":"203.0.113.20","user":"l9-backup","dir":"/srv/backups/l9","hostKey":"ssh-ed25519 AAAA..."}\' ' +
        "(needs backupSchedule and backupCopyKey)",
    backupCopyKey: "pulumi config set --secret backupCopyKey < backup_copy_key (its public half in the target user's ~/.ssh/authorized_keys)",
    restoreDrill:
        'pulumi config set restoreDrill \'{"schedule":"45 3 * * *","check":"SELECT count(*) > 0 FROM users","databaseUrlKey":"DATABASE_URL"}\' ' +
        "(needs backup; the app's role needs CREATEDB)",
    migrate: 'pulumi config set migrate \'["alembic","upgrade","head"]\' (arguments after the image, as in docker run IMAGE ...)',
    schemaRevisionCommand: 'pulumi config set schemaRevisionCommand \'["alembic","current"]\' (arguments after the image; it prints the revision)',
    rollbackCheck: 'pulumi config set rollbackCheck \'["app","can-run-on-current-schema"]\' (arguments after the image; exit 0: it runs on the schema)',
    allowSchemaRollback: "pulumi config set allowSchemaRollback true (for one update; then pulumi config rm allowSchemaRollback)",
    hookTimeoutSeconds: "pulumi config set hookTimeoutSeconds 600 (seconds each of backup, migrate and the schema commands may run, 10 to 7200)",
    notify:
        'pulumi config set --secret notify \'[{"format":"json","url":"https://hooks.example.com/l9"},' +
        '{"format":"telegram","url":"https://api.telegram.org/bot<token>/sendMessage","chatId":"-100123"}]\'',
    maintenance: 'pulumi config set maintenance \'{"enabled":true,"message":"Back at 04:00 UTC","allowPaths":["/health"]}\'',
    canary:
        'pulumi config set canary \'{"percent":20,"steps":2,"stepSeconds":60,"maxErrorRate":10}\' ' +
        "(percent 1-99 of requests; maxErrorRate in percent of the canary's requests)",
    hosts:
        'pulumi config set hosts \'[{"name":"web-1","host":"203.0.113.10","hostKey":"ssh-ed25519 AAAA..."},' +
        '{"name":"web-2","host":"203.0.113.11","sshPort":22,"hostKey":"ssh-ed25519 AAAA..."}]\'',
    rollout: 'pulumi config set rollout \'{"batchSize":1,"pauseSeconds":30}\'',
    watchSeconds: "pulumi config set watchSeconds 60",
    freeze: 'pulumi config set freeze "DB maintenance until 14:00, ask Ana" (a refused update prints the setting that lifts it)',
    minCertDays: "pulumi config set minCertDays 14",
};

/** One VPS the stack deploys to, from `hosts` or from the single-host keys. */
export interface HostTarget {
    /** Its name ("" for a single-host stack, whose resources keep their unprefixed names). */
    readonly name: string;
    /** Host name or IP. */
    readonly host: string;
    /** SSH port. */
    readonly sshPort: number;
    /** The pinned host key. */
    readonly hostKey: string;
}

/** The config lists `hosts`: resources are named per host (a single `host` keeps the plain names). */
export function isMultiHost(c: DeployConfig): boolean {
    return c.hosts !== undefined;
}

/** The stack's hosts, in rollout order: `hosts`, or the one of `host`/`hostKey`/`sshPort`. */
export function hostTargets(c: DeployConfig): HostTarget[] {
    if (c.hosts) return c.hosts.map((h) => ({ name: h.name, host: h.host, sshPort: h.sshPort, hostKey: h.hostKey }));
    return [{ name: "", host: c.host!, sshPort: c.sshPort, hostKey: c.hostKey! }];
}
