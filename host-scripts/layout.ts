/** Where l9-deploy keeps things on the host, under the configured appDir. */
export interface HostLayout {
    /** The app directory itself, e.g. /opt/l9. */
    appDir: string;
    /** Bare mirror of the app repository. */
    mirror: string;
    /** Parent of the per-tag worktrees. */
    releases: string;
    /** The env file the app runs with (mode 0600). */
    envFile: string;
    /** Deploy records, one JSON object per line. */
    deployLog: string;
    /** State the host-side drift job reads: what is deployed, written at each switch. */
    stateDir: string;
    /** Notification targets, one per line (mode 0600: the URLs carry tokens). */
    notifyTargets: string;
    /** The webhook client the release steps run, installed with the targets. */
    notifyClient: string;
    /** Output of the backup hook, `<UTC timestamp>-<tag>`, the newest `backupsToKeep` kept (0700). */
    backups: string;
    /** When this attempt's preflight passed (epoch seconds): the duration in notifications. */
    attemptStarted: string;
    /** The journal's record of the deploy that serves (written at the flip; what the next plan reads). */
    activeRecord: string;
    /** The record that served before the last flip (a switch-back restores it). */
    previousRecord: string;
    /** Env file and notification targets (0700). */
    sharedDir: string;
    /** The drift job's script. */
    binDir: string;
    /** The drift job's log. */
    logDir: string;
    /**
     * appDir's ownership marker, `<stack> <service>`: the first deploy claims appDir with it,
     * and only its owner changes or removes what the layout holds.
     */
    ownerMarker: string;
}

export function hostLayout(appDir: string): HostLayout {
    return {
        appDir,
        mirror: `${appDir}/repo.git`,
        releases: `${appDir}/releases`,
        envFile: `${appDir}/shared/.env`,
        sharedDir: `${appDir}/shared`,
        binDir: `${appDir}/bin`,
        logDir: `${appDir}/logs`,
        ownerMarker: `${appDir}/.l9-deploy-owner`,
        deployLog: `${appDir}/deploys.jsonl`,
        stateDir: `${appDir}/state`,
        notifyTargets: `${appDir}/shared/notify-targets`,
        notifyClient: `${appDir}/bin/l9-notify`,
        backups: `${appDir}/backups`,
        attemptStarted: `${appDir}/state/attempt-started`,
        activeRecord: `${appDir}/state/active.json`,
        previousRecord: `${appDir}/state/previous.json`,
    };
}

/**
 * What the service's delete removes from appDir: the layout's own entries, nothing else (the
 * deploy log and the backups are kept on purpose; anything an operator put there is theirs).
 */
export function removableEntries(l: HostLayout): string[] {
    return [l.mirror, l.releases, l.sharedDir, l.stateDir, l.binDir, l.logDir];
}

/** The root of what l9-deploy keeps outside appDir (readable by Caddy's user). */
export const L9_STATE_ROOT = "/var/lib/l9-deploy";
/** The subdirectory of a service's, under L9_STATE_ROOT, that holds its Caddy routing marker. */
const MARKER_SUBDIR = "caddy";

/**
 * The directories down to the Caddy routing marker of a service, root first. They live
 * outside appDir, so that appDir can be 0750 and Caddy's user reads these and nothing else.
 */
export function caddyMarkerDirs(serviceName: string): string[] {
    return [L9_STATE_ROOT, `${L9_STATE_ROOT}/${serviceName}`, `${L9_STATE_ROOT}/${serviceName}/${MARKER_SUBDIR}`];
}

/** A service's marker directory named in a text; the service name as the config schema allows it. */
const MARKER_DIR_IN_TEXT = new RegExp(`${L9_STATE_ROOT}/([a-z][a-z0-9-]*)/${MARKER_SUBDIR}/`);

/** The service whose routing marker directory a text names (a Caddy server's config routes by it), if any. */
export function serviceOfMarkerDir(text: string): string | undefined {
    return MARKER_DIR_IN_TEXT.exec(text)?.[1];
}

/** The directory of the Caddy routing marker of a service. */
export function caddyMarkerDir(serviceName: string): string {
    return caddyMarkerDirs(serviceName)[2];
}

/** The worktree of one release tag. */
export function worktreePath(appDir: string, tag: string): string {
    return `${hostLayout(appDir).releases}/${tag}`;
}

/**
 * Where Caddy writes the canary routes' access log (`access-<UTC time>-<random>.log`, JSON lines; only
 * canary requests are logged). Caddy's user creates the file (mode 0644
 * under its umask) in this directory, which is 1733: others may create files in it, but not
 * list it or remove what is not theirs; the deploy user reads the log to judge the canary.
 */
export function canaryLogDir(serviceName: string): string {
    return `${L9_STATE_ROOT}/${serviceName}/canary`;
}
