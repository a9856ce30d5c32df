import { execFileSync, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { script, sh } from "../host-scripts/shell";
import { HostAccess, HostAccessArgs, hostAccessDir, hostAccessPaths } from "./host-access";
import { controlPaths, renderKnownHosts } from "./openssh-options";

/**
 * The stack's ssh-agent on this machine: started once per stack on a stable socket, holding
 * the deploy key (only) for as long as the operation can need it, and stopped with the
 * operation's multiplexed connections by a watcher when the Pulumi process that started it
 * ends. Also the private directory of those connections' control sockets.
 */

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
    // A lock whose holder is gone is removed, so the next mkdir takes it over.
    const clearStaleLock = sh`holder=$(cat "$dir/lock/pid" 2>/dev/null); [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null && rm -rf "$dir/lock"`;
    return script(
        sh`dir=${dir}; pid=${pid}`,
        sh`while kill -0 "$pid" 2>/dev/null; do sleep 1; done`,
        sh`until mkdir "$dir/lock" 2>/dev/null; do ${clearStaleLock}; sleep 0.1; done`,
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
        if (Date.now() > deadline)
            throw new Error(`${lock} is held by process ${holder || "(unknown)"} for over a minute; if no Pulumi operation of this stack runs, remove it`);
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
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds <= 0)
        throw new Error(`the deploy key's lifetime in the agent must be a positive number of seconds, got ${lifetimeSeconds}`);
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
        throw new Error(
            `l9-deploy:sshPrivateKey could not be loaded into the SSH agent (${(add.stderr || "").trim() || `exit ${add.status}`}). ` +
                `Fix: pulumi config set --secret sshPrivateKey < ~/.ssh/deploy_key (an unencrypted OpenSSH or PEM key)`,
        );
    }
    const pub = spawnSync("ssh-add", ["-L"], { env, encoding: "utf8", timeout: 10_000 });
    const line = pub.status === 0 ? pub.stdout.split("\n")[0].trim() : "";
    if (!line)
        throw new Error(
            `the stack's SSH agent (${access.agentSocketPath}) lost the deploy key right after loading it ` +
                `(ssh-add -L: ${(pub.stderr || "").trim() || `exit ${pub.status}`}); run the command again`,
        );
    fs.writeFileSync(access.identityFile, `${line}\n`, { mode: 0o600 });
}
