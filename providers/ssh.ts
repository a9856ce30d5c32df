import type * as pulumi from "@pulumi/pulumi";
// Node modules are required inside functions: these functions run inside dynamic providers,
// whose closures Pulumi serializes, and a `require` call survives serialization where a
// module-level import binding does not.

/** How a dynamic provider reaches the host: OpenSSH with a pinned host key. */
export interface SshConnection {
    /** Host name or IP. */
    host: string;
    /** SSH port. */
    port: number;
    /** Remote user. */
    user: string;
    /** Private key text (secret). */
    privateKey: string;
    /** The host's public key, "<type> <base64>". Connections to any other key are refused. */
    hostKey: string;
}

/** SshConnection as resource inputs (the private key is usually a secret Output). */
export type SshConnectionArgs = { [K in keyof SshConnection]: pulumi.Input<SshConnection[K]> };

export interface ScriptResult {
    stdout: string;
    stderr: string;
    code: number;
}

/**
 * The error for a failed host script: names the step, says whether SSH or the script failed,
 * and quotes the script's output. A plain Error: provider code is closure-serialized, and
 * custom Error subclasses lose their message on the way.
 */
export function describeScriptFailure(what: string, r: ScriptResult): string {
    const out = r.stderr.trim() || r.stdout.trim() || "(no output)";
    if (r.code === 255 && /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed/i.test(r.stderr)) {
        return `${what}: the host's SSH key does not match the pinned hostKey; refusing to connect (nothing ran). If the host was rebuilt, verify its new key out of band and update hostKey.\n${out}`;
    }
    if (r.code === 255) return `${what}: cannot reach the host over SSH (exit 255):\n${out}`;
    return `${what} (exit ${r.code}):\n${out}`;
}

/** The known_hosts line that pins `hostKey` for `host:port`. */
export function knownHostsEntry(host: string, port: number, hostKey: string): string {
    return `${port === 22 ? host : `[${host}]:${port}`} ${hostKey.trim()}\n`;
}

/** OpenSSH arguments: pinned host key, only this key, never a prompt. */
export function sshArgs(conn: SshConnection, keyFile: string, knownHostsFile: string): string[] {
    return [
        "-p", String(conn.port),
        "-i", keyFile,
        "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none",
        "-o", "BatchMode=yes",
        "-o", `UserKnownHostsFile=${knownHostsFile}`,
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "ConnectTimeout=15",
        "-o", "ServerAliveInterval=15",
        "-o", "ServerAliveCountMax=4",
        "-o", "LogLevel=ERROR",
        `${conn.user}@${conn.host}`,
    ];
}

/** Quotes a string as one POSIX shell word. */
function shellWord(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs `script` with `sh` on the host, feeding `stdin` (secrets travel here, never in the
 * command line). Retries only when SSH itself could not connect, never a script failure.
 */
export async function runScript(conn: SshConnection, script: string, stdin = "", attempts = 4): Promise<ScriptResult> {
    const fs: typeof import("fs") = require("fs");
    const os: typeof import("os") = require("os");
    const path: typeof import("path") = require("path");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-ssh-"));
    try {
        const keyFile = path.join(dir, "id");
        const knownHosts = path.join(dir, "known_hosts");
        fs.writeFileSync(keyFile, conn.privateKey.endsWith("\n") ? conn.privateKey : `${conn.privateKey}\n`, { mode: 0o600 });
        fs.writeFileSync(knownHosts, knownHostsEntry(conn.host, conn.port, conn.hostKey), { mode: 0o600 });
        let result: ScriptResult = { stdout: "", stderr: "", code: 255 };
        for (let attempt = 1; attempt <= attempts; attempt++) {
            result = await spawnSsh(sshArgs(conn, keyFile, knownHosts), `sh -c ${shellWord(script)}`, stdin);
            const connectFailure = result.code === 255 && !/Host key verification failed|IDENTIFICATION HAS CHANGED/i.test(result.stderr);
            if (!connectFailure || attempt === attempts) break;
            await new Promise((r) => setTimeout(r, 2000 * attempt));
        }
        return result;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function spawnSsh(args: string[], remoteCommand: string, stdin: string): Promise<ScriptResult> {
    const { spawn }: typeof import("child_process") = require("child_process");
    return new Promise((resolve, reject) => {
        const child = spawn("ssh", [...args, remoteCommand], { stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ stdout, stderr, code: code ?? 255 }));
        child.stdin.on("error", () => undefined); // the script may exit before reading stdin
        child.stdin.end(stdin);
    });
}

/** Runs a script and throws an error naming `what` unless it exits 0. */
export async function runScriptOrThrow(conn: SshConnection, what: string, script: string, stdin = ""): Promise<ScriptResult> {
    const r = await runScript(conn, script, stdin);
    if (r.code !== 0) throw new Error(describeScriptFailure(what, r));
    return r;
}
