/**
 * The locks a DIY (file) backend keeps while an update runs, and which of them `npm run
 * recover` may remove: only a lock whose holder ran on this machine and no longer runs (a
 * `pulumi` killed: a closed laptop, a cancelled CI job). A live holder's lock, or one from
 * another machine (whose process this machine cannot see), is never taken. Pure.
 */

/** A lock file's content (Pulumi's diy backend writes pid, username, hostname, timestamp). */
export interface StackLock {
    file: string;
    pid: number;
    username: string;
    hostname: string;
    timestamp: string;
}

export type LockVerdict = { action: "remove"; why: string } | { action: "keep"; why: string };

export function parseStackLock(file: string, text: string): StackLock | undefined {
    try {
        const j = JSON.parse(text) as Record<string, unknown>;
        if (typeof j.pid !== "number" || typeof j.hostname !== "string") return undefined;
        return { file, pid: j.pid, username: String(j.username ?? "?"), hostname: j.hostname, timestamp: String(j.timestamp ?? "?") };
    } catch {
        return undefined;
    }
}

export function judgeStackLock(lock: StackLock, here: { hostname: string; isRunning(pid: number): boolean }): LockVerdict {
    const holder = `process ${lock.pid} (${lock.username}@${lock.hostname}, since ${lock.timestamp})`;
    if (lock.hostname !== here.hostname) {
        return {
            action: "keep",
            why:
                `the lock of ${holder} is from another machine: ` +
                `if its pulumi is gone for good (check there: ps -p ${lock.pid}), remove the lock with: pulumi cancel --yes`,
        };
    }
    if (here.isRunning(lock.pid))
        return { action: "keep", why: `${holder} still runs and holds the lock: wait for it to end (or stop it), then run this again` };
    return { action: "remove", why: `removed the lock of ${holder}, which no longer runs` };
}
