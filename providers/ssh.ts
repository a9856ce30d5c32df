// Node modules are required inside functions: these functions run inside a dynamic provider,
// whose closure Pulumi serializes, and a `require` call survives serialization where a
// module-level import binding does not.

/**
 * How the fact probe reaches the host: OpenSSH with the options of ssh/host-access.ts (the
 * pinned known_hosts, the deploy key from the stack's agent). No key material.
 */
export interface ProbeConnection {
    /** Host name or IP. */
    host: string;
    /** SSH port. */
    port: number;
    /** Remote user. */
    user: string;
    /** OpenSSH `-o` options (openSshOptions in ssh/host-access.ts). */
    sshOptions: string[];
}

export interface ScriptResult {
    stdout: string;
    stderr: string;
    code: number;
}

/**
 * Runs a read-only `script` with `sh` on the host. Retries only when SSH itself could not
 * connect (exit 255 without a host-key or authentication refusal), never a script failure.
 */
export async function runProbeScript(conn: ProbeConnection, script: string, attempts = 4): Promise<ScriptResult> {
    const { spawn }: typeof import("child_process") = require("child_process");
    const quoted = `'${script.replace(/'/g, `'\\''`)}'`;
    const once = () =>
        new Promise<ScriptResult>((resolve, reject) => {
            const child = spawn("ssh", [...conn.sshOptions, "-p", String(conn.port), `${conn.user}@${conn.host}`, `sh -c ${quoted}`], { stdio: ["ignore", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
            child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
            child.on("error", reject);
            child.on("close", (code) => resolve({ stdout, stderr, code: code ?? 255 }));
        });
    let result: ScriptResult = { stdout: "", stderr: "", code: 255 };
    for (let attempt = 1; attempt <= attempts; attempt++) {
        result = await once();
        const refused = /Host key verification failed|IDENTIFICATION HAS CHANGED|Permission denied/i.test(result.stderr);
        if (result.code !== 255 || refused || attempt === attempts) break;
        await new Promise((r) => setTimeout(r, 2000 * attempt));
    }
    return result;
}

/** The error for a failed probe: names the facts, says whether SSH or the script failed. */
export function describeProbeFailure(what: string, conn: ProbeConnection, r: ScriptResult): string {
    const out = r.stderr.trim() || r.stdout.trim() || "(no output)";
    if (/Host key verification failed|IDENTIFICATION HAS CHANGED/i.test(r.stderr)) {
        return `${what}: the host's SSH key does not match the pinned hostKey; refusing to connect.\n${out}`;
    }
    if (r.code === 255 && /agent|Permission denied/i.test(r.stderr)) {
        return `${what}: the stack's SSH agent does not hold the deploy key. Refresh and destroy must run the program, which loads it: set PULUMI_RUN_PROGRAM=true (or pass --run-program).\n${out}`;
    }
    if (r.code === 255) return `${what}: cannot reach ${conn.host}:${conn.port} over SSH (exit 255):\n${out}`;
    return `${what} (exit ${r.code}):\n${out}`;
}
