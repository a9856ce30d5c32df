import { spawn } from "child_process";

/**
 * How the fact probes and the host check reach the host: OpenSSH with the options of
 * ssh/openssh-options.ts (the pinned known_hosts, the deploy key from the stack's agent). No key
 * material. The probes' plugin (providers/l9host/ssh.go) reads the same fields.
 */
export interface ProbeConnection {
    /** Host name or IP. */
    host: string;
    /** SSH port. */
    port: number;
    /** Remote user. */
    user: string;
    /** OpenSSH options (probeSshOptions in ssh/openssh-options.ts; the probes' plugin accepts no others). */
    sshOptions: string[];
}

export interface ScriptResult {
    stdout: string;
    stderr: string;
    code: number;
}

/** Whether ssh's stderr says the host refused us (its key changed, or ours was not accepted): never worth a retry. */
export function sshRefused(stderr: string): boolean {
    return /Host key verification failed|IDENTIFICATION HAS CHANGED|Permission denied/i.test(stderr);
}

/**
 * Runs a read-only `script` with `sh` on the host. Retries only when SSH itself could not
 * connect (exit 255 without a host-key or authentication refusal), never a script failure.
 * (The probes' plugin runs its scripts the same way, in Go: providers/l9host/ssh.go.)
 */
export async function runProbeScript(conn: ProbeConnection, script: string, attempts = 4): Promise<ScriptResult> {
    const quoted = `'${script.replace(/'/g, `'\\''`)}'`;
    const once = () =>
        new Promise<ScriptResult>((resolve, reject) => {
            // The destination follows "--": ssh never reads it as an option.
            const child = spawn("ssh", [...conn.sshOptions, "-p", String(conn.port), "--", `${conn.user}@${conn.host}`, `sh -c ${quoted}`], {
                stdio: ["ignore", "pipe", "pipe"],
            });
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
        if (result.code !== 255 || sshRefused(result.stderr) || attempt === attempts) break;
        await new Promise((r) => setTimeout(r, 2000 * attempt));
    }
    return result;
}
