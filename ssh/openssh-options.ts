import { HostAccess } from "./host-access";

/**
 * The OpenSSH options of every connection to the host, pure: the operator's ~/.ssh/config
 * ignored, the pinned known_hosts only, the deploy key from the stack's agent, and one
 * shared connection per operation for the probes and another for the docker provider.
 */

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
        "-o",
        `UserKnownHostsFile=${access.knownHostsFile}`,
        "-o",
        `HostKeyAlias=${HOST_KEY_ALIAS}`,
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "KnownHostsCommand=none",
        "-o",
        "VerifyHostKeyDNS=no",
        "-o",
        `IdentityAgent=${access.agentSocketPath}`,
        "-o",
        `IdentityFile=${access.identityFile}`,
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=15",
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "ServerAliveCountMax=4",
        "-o",
        "LogLevel=ERROR",
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
