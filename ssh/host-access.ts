import { execFileSync, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { script, sh } from "../host-scripts/shell";
import { runProbeScript, sshRefused } from "../providers/ssh";

/**
 * How this machine reaches the host over SSH without the private key ever becoming a
 * resource input (so it is in no state, not even as ciphertext, and in no engine event):
 * the program loads the key from the `sshPrivateKey` secret into an ssh-agent of its own,
 * on a socket whose path is stable per stack, and hands the resources only paths:
 * `connection.agentSocketPath` to @pulumi/command, and OpenSSH options (agent, pinned
 * known_hosts) to the docker provider and the fact probe. A watcher stops the agent when
 * the Pulumi operation that started it ends.
 */
export interface HostAccess {
    /** The agent socket holding the deploy key while an operation runs. */
    agentSocketPath: string;
    /** known_hosts file with exactly one line: the pinned host key. */
    knownHostsFile: string;
    /** The deploy key's public half: OpenSSH offers only this key from the agent. */
    identityFile: string;
    /**
     * The probes' multiplexing socket: one SSH connection per operation to this host:port,
     * opened by the pre-check (pinned key, deploy key) and closed when the operation ends.
     */
    controlPath: string;
    /**
     * The docker provider's multiplexing socket: a second connection per operation, so the
     * provider's sessions never count against the probes' (sshd's `MaxSessions 10` is per
     * connection). Opened beside the probes' one once the pre-check passed.
     */
    dockerControlPath: string;
}

/** What prepareHostAccess needs to know about the host and the stack. */
export interface HostAccessArgs {
    /** `<org>/<project>/<stack>`: one agent and one known_hosts per stack. */
    stackId: string;
    /** Host name or IP. */
    host: string;
    /** SSH port. */
    port: number;
    /** Remote user. */
    user: string;
    /** The pinned host key, "<type> <base64>". */
    hostKey: string;
    /** The private key text (from the secret config; never written to disk). */
    privateKey: string;
    /** Seconds the agent holds the key (`ssh-add -t`): the longest this operation can need it. */
    keyLifetimeSeconds: number;
}

/**
 * Where a stack's SSH files live: under $L9_SSH_DIR or ~/.cache/l9-deploy/ssh, one directory
 * per stack (a short hash keeps the socket path under the 108-byte limit).
 */
export function hostAccessDir(stackId: string, base = process.env.L9_SSH_DIR ?? path.join(os.homedir(), ".cache", "l9-deploy", "ssh")): string {
    const slug = stackId.replace(/[^A-Za-z0-9_-]+/g, "-").slice(-24);
    const hash = crypto.createHash("sha256").update(stackId).digest("hex").slice(0, 8);
    return path.join(base, `${slug}-${hash}`);
}

/**
 * The paths of a stack's SSH files; the control sockets are per destination, in the stack's
 * private control directory `control` (ensureControlDir). Pure.
 */
export function hostAccessPaths(dir: string, target: { host: string; port: number; user: string }, control: string): HostAccess {
    const destination = crypto.createHash("sha256").update(`${target.user}@${target.host}:${target.port}`).digest("hex").slice(0, 8);
    return {
        agentSocketPath: path.join(dir, "agent.sock"),
        knownHostsFile: path.join(dir, "known_hosts"),
        identityFile: path.join(dir, "deploy-key.pub"),
        // OpenSSH binds the control socket at its path plus 17 characters: a path under $HOME
        // can pass the 108-byte limit, so it lives in a short private directory of its own.
        controlPath: path.join(control, `mux-${destination}`),
        dockerControlPath: path.join(control, `dkr-${destination}`),
    };
}

/** Where the control directories are made (a short path: the sockets' limit is 108 bytes). */
export const CONTROL_BASE = "/tmp";

/**
 * The name of a stack's control directory that nobody without the deploy key can guess:
 * `l9-ssh-` and a MAC of the stack's directory keyed with the deploy key. The same on every
 * run of this machine and on every machine with the same stack directory (a CI runner), so the
 * sockets' paths in the probes' and the docker provider's inputs do not change between runs
 * (a changed path is a change in every preview). Pure.
 */
export function keyedControlDir(dir: string, privateKey: string, base = CONTROL_BASE): string {
    const mac = crypto.createHmac("sha256", privateKey.trim()).update(`l9-deploy control directory\0${dir}`).digest("hex").slice(0, 16);
    return path.join(base, `l9-ssh-${mac}`);
}

/** Claims `p` as this user's private directory: made now (mode 0700), or made so earlier by this user. */
function claimPrivateDir(p: string): boolean {
    try {
        fs.mkdirSync(p, { mode: 0o700 });
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") return false;
    }
    const st = fs.lstatSync(p);
    // Not a directory (a symlink), another user's, or open to others: somebody else's doing.
    return st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o077) === 0;
}

/**
 * The stack's private directory for the control sockets (mode 0700, owned by this user),
 * under /tmp: a socket path under $HOME can pass the 108-byte limit, as OpenSSH binds it at
 * its path plus 17 characters. Its name cannot be guessed (keyedControlDir), and is claimed
 * with mkdir, so a directory another user made first is never used: then one with a random
 * name is made (mkdtemp). The one in use is remembered in the stack's directory
 * (`control-dir`), so every process of an operation (the program, the docker provider, the
 * probes, which get the paths as inputs) and the next operations use the same one; a reboot
 * that emptied /tmp makes it again under the same name.
 */
export function ensureControlDir(dir: string, privateKey: string, base = CONTROL_BASE): string {
    const rememberedFile = path.join(dir, "control-dir");
    let remembered = "";
    try {
        remembered = fs.readFileSync(rememberedFile, "utf8").trim();
    } catch {
        // none yet
    }
    const ours = path.dirname(remembered) === base && /^l9-ssh-[A-Za-z0-9]{6,16}$/.test(path.basename(remembered));
    const candidates = [...(ours ? [remembered] : []), keyedControlDir(dir, privateKey, base)];
    let control = candidates.find(claimPrivateDir);
    if (!control) {
        control = fs.mkdtempSync(path.join(base, "l9-ssh-"));
        fs.chmodSync(control, 0o700);
    }
    if (control !== remembered) {
        const tmp = `${rememberedFile}.tmp-${process.pid}`;
        fs.writeFileSync(tmp, `${control}\n`, { mode: 0o600 });
        fs.renameSync(tmp, rememberedFile);
    }
    return control;
}

/**
 * The name the pinned key is filed under. OpenSSH looks the key up by this alias instead of
 * host:port, so a refresh that still reads through the previous port (from the state) is
 * checked against the same pinned key after `sshPort` changed.
 */
export const HOST_KEY_ALIAS = "l9-deploy-host";

/** known_hosts pinning `hostKey` under the alias, and under host:port for a plain `ssh` (pure). */
export function renderKnownHosts(host: string, port: number, hostKey: string): string {
    return `${HOST_KEY_ALIAS} ${hostKey.trim()}\n${port === 22 ? host : `[${host}]:${port}`} ${hostKey.trim()}\n`;
}

/**
 * Read no ssh config file (the operator's ~/.ssh/config, /etc/ssh/ssh_config): a
 * KnownHostsCommand, VerifyHostKeyDNS, ProxyCommand or Match there would widen the trust in
 * the host's key or run code. Every `ssh` this program starts passes it.
 */
export const NO_SSH_CONFIG = ["-F", "none"] as const;

/**
 * OpenSSH options for everything that runs the `ssh` binary (the docker provider's
 * `sshOpts`, the fact probe): no config file, the pinned known_hosts only (no command, no
 * DNS), refuse any other key, the deploy key from the stack's agent only, never a prompt.
 * The probes' plugin accepts these forms and no others (providers/l9host/sshoptions.go). Pure.
 */
export function openSshOptions(access: HostAccess): string[] {
    return [
        ...NO_SSH_CONFIG,
        "-o", `UserKnownHostsFile=${access.knownHostsFile}`,
        "-o", `HostKeyAlias=${HOST_KEY_ALIAS}`,
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "KnownHostsCommand=none",
        "-o", "VerifyHostKeyDNS=no",
        "-o", `IdentityAgent=${access.agentSocketPath}`,
        "-o", `IdentityFile=${access.identityFile}`,
        "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes",
        "-o", "ConnectTimeout=15",
        "-o", "ServerAliveInterval=15",
        "-o", "ServerAliveCountMax=4",
        "-o", "LogLevel=ERROR",
    ];
}

/** openSshOptions sharing one connection (ControlMaster) on `controlPath`: a command then costs a session, not a handshake. */
function sharedConnectionOptions(access: HostAccess, controlPath: string): string[] {
    return [...openSshOptions(access), "-o", "ControlMaster=auto", "-o", `ControlPath=${controlPath}`, "-o", "ControlPersist=60"];
}

/**
 * OpenSSH options of the fact probes and the pre-check: one connection per operation, opened
 * by the pre-check. The probes are few and short, far below sshd's default `MaxSessions 10`. Pure.
 */
export function probeSshOptions(access: HostAccess): string[] {
    return sharedConnectionOptions(access, access.controlPath);
}

/**
 * OpenSSH options of the docker provider (`sshOpts`): a shared connection of its own, opened
 * in the background by the pre-check, so reading a container costs a session and not a new
 * handshake (0.12 s instead of 0.35 s, measured on the sandbox). Pure.
 */
export function dockerSshOptions(access: HostAccess): string[] {
    return sharedConnectionOptions(access, access.dockerControlPath);
}

/** Both multiplexing sockets of an operation: retired when it starts, closed when the last one ends. */
export function controlPaths(access: HostAccess): string[] {
    return [access.controlPath, access.dockerControlPath];
}

/**
 * The watcher that stops a stack's agent once every Pulumi operation using it has ended: it
 * waits for `pid` (the language host of this operation; it lives until the engine is done,
 * deletes included), removes its mark, and stops the agent when no other live operation has
 * one. It decides and stops holding the stack's lock (`lock/`, a directory holding its
 * owner's pid; taken over when that process is gone), which an operation also holds while it
 * marks itself and loads the key (withStackLock): so it never stops an agent that an
 * operation starting at the same moment has just loaded. Pure: the script text, run with
 * `sh -c`.
 */
export function renderAgentWatcherScript(dir: string, pid: number, controlPaths: string[]): string {
    return script(
        sh`dir=${dir}; pid=${pid}`,
        sh`while kill -0 "$pid" 2>/dev/null; do sleep 1; done`,
        sh`until mkdir "$dir/lock" 2>/dev/null; do holder=$(cat "$dir/lock/pid" 2>/dev/null); [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null && rm -rf "$dir/lock"; sleep 0.1; done`,
        sh`echo $$ >"$dir/lock/pid"`,
        sh`rm -f "$dir/users/$pid"`,
        sh`for f in "$dir"/users/*; do [ -e "$f" ] || continue; kill -0 "\${f##*/}" 2>/dev/null && { rm -rf "$dir/lock"; exit 0; }; rm -f "$f"; done`,
        ...controlPaths.map((p) => sh`ssh -F none -o ControlPath=${p} -O exit l9-deploy-host >/dev/null 2>&1`),
        sh`SSH_AUTH_SOCK="$dir/agent.sock" ssh-add -D >/dev/null 2>&1`,
        sh`[ -f "$dir/agent.pid" ] && kill "$(cat "$dir/agent.pid")" 2>/dev/null`,
        sh`rm -f "$dir/agent.sock" "$dir/agent.pid"`,
        sh`rm -rf "$dir/lock"`,
    );
}

/**
 * Runs `fn` holding the stack's lock (see renderAgentWatcherScript): `lock/` created
 * atomically, with this process's pid; a lock whose process is gone is taken over.
 */
function withStackLock<T>(dir: string, fn: () => T): T {
    const lock = path.join(dir, "lock");
    const deadline = Date.now() + 60_000;
    for (;;) {
        try {
            fs.mkdirSync(lock, { mode: 0o700 });
            break;
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        }
        let holder = 0;
        try {
            holder = Number(fs.readFileSync(path.join(lock, "pid"), "utf8").trim());
        } catch {
            // just created, its pid not written yet
        }
        if (holder > 0 && !processAlive(holder)) {
            fs.rmSync(lock, { recursive: true, force: true });
            continue;
        }
        if (Date.now() > deadline) throw new Error(`${lock} is held by process ${holder || "(unknown)"} for over a minute; if no Pulumi operation of this stack runs, remove it`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
    fs.writeFileSync(path.join(lock, "pid"), `${process.pid}\n`, { mode: 0o600 });
    try {
        return fn();
    } finally {
        fs.rmSync(lock, { recursive: true, force: true });
    }
}

/** Whether a process of this machine runs (one of another user counts: EPERM). */
export function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

function agentAnswers(socket: string): boolean {
    // ssh-add -l: 0 = keys listed, 1 = no keys, 2 = no agent on the socket.
    const r = spawnSync("ssh-add", ["-l"], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: "ignore", timeout: 10_000 });
    return r.status === 0 || r.status === 1;
}

function ensurePrivateDir(dir: string): void {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(dir);
    if (!st.isDirectory() || st.uid !== process.getuid?.()) {
        throw new Error(`${dir} is not a directory owned by this user: refusing to keep an SSH agent there (set L9_SSH_DIR)`);
    }
    fs.chmodSync(dir, 0o700);
}

function startAgent(dir: string, socket: string): void {
    fs.rmSync(socket, { force: true });
    const out = execFileSync("ssh-agent", ["-s", "-a", socket], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
    const pid = /SSH_AGENT_PID=(\d+)/.exec(out)?.[1];
    if (!pid) throw new Error(`ssh-agent did not start: ${out}`);
    fs.writeFileSync(path.join(dir, "agent.pid"), `${pid}\n`, { mode: 0o600 });
}

/**
 * Prepares SSH access for this operation: writes the pinned known_hosts, claims the private
 * control directory, starts (or reuses) the stack's agent, loads the deploy key into it for
 * `keyLifetimeSeconds` at most, and starts the watcher that stops the agent when the
 * operation ends. Throws an error naming the setting when the key is refused.
 */
export function prepareHostAccess(a: HostAccessArgs): HostAccess {
    const dir = hostAccessDir(a.stackId);
    ensurePrivateDir(dir);
    ensurePrivateDir(path.join(dir, "users"));
    const operation = process.ppid;
    const access = withStackLock(dir, () => {
        // Under the lock: two operations starting at once settle on one control directory.
        const access = hostAccessPaths(dir, a, ensureControlDir(dir, a.privateKey));
        fs.writeFileSync(access.knownHostsFile, renderKnownHosts(a.host, a.port, a.hostKey), { mode: 0o600 });
        // Marked before the agent is touched: a watcher that takes the lock next sees this operation.
        fs.writeFileSync(path.join(dir, "users", String(operation)), "", { mode: 0o600 });
        loadDeployKey(dir, access, a.privateKey, a.keyLifetimeSeconds);
        return access;
    });
    spawn("sh", ["-c", renderAgentWatcherScript(dir, operation, controlPaths(access))], { detached: true, stdio: "ignore" }).unref();
    return access;
}

/**
 * `ssh-add` arguments that load a key from stdin, held for `lifetimeSeconds` at most: a
 * watcher that never runs (its machine slept, it was killed) does not leave the key in the
 * agent for good. Pure.
 */
export function addKeyArgs(lifetimeSeconds: number): string[] {
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds <= 0) throw new Error(`the deploy key's lifetime in the agent must be a positive number of seconds, got ${lifetimeSeconds}`);
    return ["-q", "-t", String(lifetimeSeconds), "-"];
}

/** Starts the stack's agent if it does not answer, and puts the deploy key (only) in it, for `lifetimeSeconds`. */
function loadDeployKey(dir: string, access: HostAccess, privateKey: string, lifetimeSeconds: number): void {
    if (!agentAnswers(access.agentSocketPath)) startAgent(dir, access.agentSocketPath);
    const env = { ...process.env, SSH_AUTH_SOCK: access.agentSocketPath };
    const key = privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`;
    // The previous key goes first, so a rotated key replaces it. The key travels on stdin only.
    spawnSync("ssh-add", ["-D"], { env, stdio: "ignore", timeout: 10_000 });
    const add = spawnSync("ssh-add", addKeyArgs(lifetimeSeconds), { env, input: key, encoding: "utf8", timeout: 10_000 });
    if (add.status !== 0) {
        throw new Error(`l9-deploy:sshPrivateKey could not be loaded into the SSH agent (${(add.stderr || "").trim() || `exit ${add.status}`}). Fix: pulumi config set --secret sshPrivateKey < ~/.ssh/deploy_key (an unencrypted OpenSSH or PEM key)`);
    }
    const pub = spawnSync("ssh-add", ["-L"], { env, encoding: "utf8", timeout: 10_000 });
    const line = pub.status === 0 ? pub.stdout.split("\n")[0].trim() : "";
    if (!line) throw new Error(`the stack's SSH agent (${access.agentSocketPath}) lost the deploy key right after loading it (ssh-add -L: ${(pub.stderr || "").trim() || `exit ${pub.status}`}); run the command again`);
    fs.writeFileSync(access.identityFile, `${line}\n`, { mode: 0o600 });
}

/** Why `ssh` failed, in the words an operator acts on (pure). */
export function describeSshFailure(host: string, port: number, stderr: string, code: number | null): string {
    const out = stderr.trim() || "(no output)";
    if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed/i.test(stderr)) {
        return `${host}:${port}: the host's SSH key does not match the pinned hostKey; refusing to connect (nothing ran). If the host was rebuilt, verify its new key out of band and update hostKey.\n${out}`;
    }
    if (/Bad configuration option|Unsupported option/i.test(stderr)) {
        return `${host}:${port}: this machine's OpenSSH client does not know an option l9-deploy passes (KnownHostsCommand needs OpenSSH 8.5 or newer; ssh -V shows yours); nothing ran.\n${out}`;
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
    return `the host's clock is ${Math.round(skew)} s ${direction} this machine's, beyond maxClockSkewSeconds=${maxSkewSeconds}; nothing ran. Deploy times, certificate checks and TLS depend on it: fix the host's time sync (timedatectl status; chronyc tracking), or this machine's`;
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
            if (!Number.isFinite(hostSeconds)) throw new Error(`preflight failed: ${a.host}:${a.port}: 'date +%s' on the host printed ${JSON.stringify(clock.trim())}; nothing ran`);
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
