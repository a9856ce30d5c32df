import * as crypto from "crypto";
import * as os from "os";
import * as path from "path";

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
