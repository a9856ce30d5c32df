import { spawn, spawnSync } from "child_process";
import { runProbeScript, sshRefused } from "../providers/ssh";
import { HostAccess, HostAccessArgs } from "./host-access";
import { dockerSshOptions, NO_SSH_CONFIG, probeSshOptions, controlPaths } from "./openssh-options";

/**
 * The check before anything runs on a host: it answers with the pinned host key and takes the
 * deploy key, its clock is within the allowed skew, and (when asked) it prints what serves.
 * Failures are worded for the operator, naming what to fix.
 */

/** Why `ssh` failed, in the words an operator acts on (pure). */
export function describeSshFailure(host: string, port: number, stderr: string, code: number | null): string {
    const out = stderr.trim() || "(no output)";
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed/i.test(stderr)) {
        return (
            `${host}:${port}: the host's SSH key does not match the pinned hostKey; refusing to connect (nothing ran). ` +
            `If the host was rebuilt, verify its new key out of band and update hostKey.\n${out}`
        );
    }
    if (/Bad configuration option|Unsupported option/i.test(stderr)) {
        return (
            `${host}:${port}: this machine's OpenSSH client does not know an option l9-deploy passes ` +
            `(KnownHostsCommand needs OpenSSH 8.5 or newer; ssh -V shows yours); nothing ran.\n${out}`
        );
    }
    if (/Permission denied/i.test(stderr)) {
        return `${host}:${port}: the host refused the deploy key (l9-deploy:sshPrivateKey) for this user (l9-deploy:sshUser); nothing ran.\n${out}`;
    }
    return `${host}:${port}: cannot reach the host over SSH (exit ${code ?? "killed"}); nothing ran.\n${out}`;
}

/**
 * The host's clock compared with this machine's: `null` when within `maxSkewSeconds`, else
 * the error. The host's reading lies between `before` and `after` (the SSH round trip), so
 * only a difference beyond that window counts. Pure.
 */
export function describeClockSkew(hostEpochSeconds: number, before: number, after: number, maxSkewSeconds: number): string | null {
    const hostMs = hostEpochSeconds * 1000;
    // The host's seconds are truncated: its reading is somewhere in [hostMs, hostMs + 1 s).
    const skew = hostMs + 1000 < before ? (before - hostMs - 1000) / 1000 : hostMs > after ? (hostMs - after) / 1000 : 0;
    if (skew <= maxSkewSeconds) return null;
    const direction = hostMs < before ? "behind" : "ahead of";
    return (
        `the host's clock is ${Math.round(skew)} s ${direction} this machine's, beyond maxClockSkewSeconds=${maxSkewSeconds}; nothing ran. ` +
        `Deploy times, certificate checks and TLS depend on it: fix the host's time sync (timedatectl status; chronyc tracking), or this machine's`
    );
}

/** The host check's script: the host's clock on the first line, then (when asked) a read-only script's output. */
export function renderHostCheckScript(alsoRun?: string): string {
    return alsoRun === undefined ? "date +%s" : `date +%s\n${alsoRun}`;
}

/**
 * Checks, before any resource is registered, that the host answers with the pinned key,
 * accepts the deploy key, and keeps time within `maxClockSkewSeconds` of this machine: a
 * changed host key, a refused key or a wrong clock is one clear error and no resource
 * operation starts. Retries only a failure to connect. Asynchronous, so the program reads
 * its previous state meanwhile. Returns what `alsoRun` printed on the host.
 */
export async function verifyHostAccess(
    access: HostAccess,
    a: Pick<HostAccessArgs, "host" | "port" | "user">,
    maxClockSkewSeconds: number,
    { attempts = 4, alsoRun }: { attempts?: number; alsoRun?: string } = {},
): Promise<{ read: string }> {
    // Connections kept from an earlier operation are retired: this one is verified afresh
    // (host key, deploy key), and becomes the connection the probes share.
    for (const controlPath of controlPaths(access)) {
        spawnSync("ssh", [...NO_SSH_CONFIG, "-o", `ControlPath=${controlPath}`, "-O", "stop", "l9-deploy-host"], { stdio: "ignore", timeout: 10_000 });
    }
    let last = { stderr: "", code: 255 as number | null };
    for (let attempt = 1; attempt <= attempts; attempt++) {
        const before = Date.now();
        // One attempt at a time: the clock is judged against this attempt's round trip only.
        const r = await runProbeScript({ host: a.host, port: a.port, user: a.user, sshOptions: probeSshOptions(access) }, renderHostCheckScript(alsoRun), 1);
        const after = Date.now();
        if (r.code === 0) {
            const [clock, ...rest] = r.stdout.split("\n");
            const hostSeconds = Number(clock.trim());
            if (!Number.isFinite(hostSeconds))
                throw new Error(`preflight failed: ${a.host}:${a.port}: 'date +%s' on the host printed ${JSON.stringify(clock.trim())}; nothing ran`);
            const skew = describeClockSkew(hostSeconds, before, after, maxClockSkewSeconds);
            if (skew) throw new Error(`preflight failed: ${a.host}:${a.port}: ${skew}`);
            // The docker provider's connection opens now, in the background, with the same
            // pinned key: the provider finds it ready. If it is not, the provider connects itself.
            spawn("ssh", [...dockerSshOptions(access), "-p", String(a.port), "--", `${a.user}@${a.host}`, "true"], { detached: true, stdio: "ignore" })
                .on("error", () => undefined)
                .unref();
            return { read: rest.join("\n").trim() };
        }
        last = { stderr: r.stderr, code: r.code };
        if (sshRefused(last.stderr)) break;
        if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, 2000 * attempt));
    }
    throw new Error(`preflight failed: ${describeSshFailure(a.host, a.port, last.stderr, last.code)}`);
}
