import * as command from "@pulumi/command";
import * as crypto from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { PreflightScriptArgs, renderPreflightScript } from "../host-scripts/preflight";
import { quote, raw, sh } from "../host-scripts/shell";
import { HostProbeProvider, ProbeTarget } from "../providers/host-fact-probe";
import { dockerSshOptions, probeSshOptions } from "../ssh/openssh-options";
import { HostAccess } from "../ssh/host-access";

export interface HostArgs {
    /** Host name or IP of the VPS. */
    readonly address: pulumi.Input<string>;
    /** SSH port. */
    readonly port: pulumi.Input<number>;
    /** SSH user (needs Docker access and write access to appDir, /etc/cron.d and /var/lib/l9-deploy). */
    readonly user: pulumi.Input<string>;
    /** The host's public key, "<type> <base64>": pinned, never trusted on first use. */
    readonly hostKey: pulumi.Input<string>;
    /** The stack's SSH agent and pinned known_hosts (ssh/host-access.ts, ssh/agent.ts): paths, no key. */
    readonly access: HostAccess;
}

/** What the preflight checks (the script's arguments), and when it runs again. */
export interface PreflightArgs extends PreflightScriptArgs {
    /**
     * Values whose change means this update touches the host. Preflight re-runs when they
     * change, so every changing update is preflighted first and an unchanged stack stays
     * unchanged.
     */
    readonly triggers: pulumi.Input<unknown>[];
    /** Resources preflight waits for (the previous batch's switches of a roll). */
    readonly after: pulumi.Resource[];
}

/**
 * Settings every host command shares. The previous stdout/stderr are not passed as SSH
 * environment variables (that needs AcceptEnv on the host and would only warn).
 */
export const HOST_COMMAND_DEFAULTS = { addPreviousOutputInEnv: false } as const;

/**
 * What a gate-like step (gate, hooks) runs when only its connection or script changed (a new
 * SSH port, another agent socket): nothing. They re-run only through their triggers, so
 * reconnecting is never a release.
 */
export const RECONNECT_ONLY_SCRIPT = "true";

/** A script's sha256 (hex): a trigger that re-runs its command when the text changes. */
export function scriptSha256(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}

/**
 * Host scripts report what should not stop a release (a notification not delivered, a
 * failed optional backup) as stderr lines starting with "warning: ". They become Pulumi
 * warnings on the resource, once: a command's output kept in the state from an earlier
 * update (its last stdout line, the host time it finished, is older than this update) is not
 * repeated.
 */
export function surfaceHostWarnings(cmd: command.remote.Command, resource: pulumi.Resource, startedAt: number): void {
    pulumi.all([cmd.stdout, cmd.stderr]).apply(([stdout, stderr]) => {
        const finished = Date.parse(stdout.trim().split("\n").pop() ?? "");
        if (!(finished >= startedAt)) return;
        for (const line of stderr.split("\n")) {
            if (line.startsWith("warning: ")) pulumi.log.warn(line.slice("warning: ".length), resource);
        }
    });
}

/**
 * A host script as command inputs: the command is `sh -s` named after the step, and the
 * script travels on stdin. @pulumi/command quotes the whole command in its error message, so
 * a failure then reads "running "exec sh -s # gate v1.2.0-l9"" followed by the script's own
 * output (which check failed, the log lines), not by a page of shell. The step name is
 * reduced to characters that are inert in a shell comment.
 */
export function scriptOnStdin(step: string, script: pulumi.Input<string>): { create: string; stdin: pulumi.Input<string> } {
    return { create: stdinScriptCommand(step), stdin: script };
}

/** The command of scriptOnStdin: `exec sh -s # <step>`, or with the script's one argument `exec sh -s '<arg>' # <step>`. */
export function stdinScriptCommand(step: string, argument?: string): string {
    const arg = argument === undefined ? "" : `${quote(argument)} `;
    return sh`exec sh -s ${raw(arg)}# ${raw(step.replace(/[^A-Za-z0-9 ._-]/g, ""))}`.text;
}

/**
 * Starts the command provider's plugin now, while the hosts are checked. The engine starts a
 * provider's plugin for the first resource or call that needs it, and the preflight would
 * wait for it after the check (about 0.2 s under load, docs/performance.md). A local `true`
 * through `local.run` is the least that makes the engine start it: it runs on this machine,
 * touches no host and leaves nothing in the state. A failure here is left to the preflight,
 * which then reports the provider's own error.
 */
export function startCommandPlugin(): void {
    command.local.run({ command: "true" }).catch(() => undefined);
}

/**
 * One VPS: the pinned SSH connection of the host commands, the docker provider that manages
 * its containers over SSH, the probe connection, and the preflight that gates them.
 *
 * The providers register when the host is constructed, before the update is planned, so
 * their plugins start while the hosts are checked; the preflight, which needs the plan, is
 * declared from it (`declarePreflight`). Declared together after the plan, the preflight
 * ran 0.8 to 1.6 s later under load (docs/performance.md, "Fifth round").
 */
export class Host extends pulumi.ComponentResource {
    /** Connection for `command.remote.Command` (pinned host key, key from the stack's agent). */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** Where the fact probes run (OpenSSH with the same pinned key and agent). */
    readonly probe: ProbeTarget;
    /** The Docker daemon on the host, reached with `docker system dial-stdio` over SSH. */
    readonly docker: docker.Provider;
    private readonly name: string;

    constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:Host", name, {}, opts);
        this.name = name;
        this.connection = {
            host: args.address,
            port: args.port,
            user: args.user,
            hostKey: args.hostKey,
            agentSocketPath: args.access.agentSocketPath,
        };
        this.probe = {
            // The probes share the operation's one verified connection (probeSshOptions).
            connection: pulumi.output({ host: args.address, port: args.port, user: args.user, sshOptions: probeSshOptions(args.access) }),
            provider: new HostProbeProvider(`${name}-probes`, { parent: this }),
        };
        this.docker = new docker.Provider(
            `${name}-docker`,
            {
                host: pulumi.interpolate`ssh://${args.user}@${args.address}:${args.port}`,
                sshOpts: dockerSshOptions(args.access),
            },
            { parent: this },
        );
        this.registerOutputs({});
    }

    /** The preflight: host-changing resources depend on it. Declare it once, first of the host's release. */
    declarePreflight(args: PreflightArgs): command.remote.Command {
        const { triggers, after, ...checks } = args;
        return new command.remote.Command(
            `${this.name}-preflight`,
            { ...HOST_COMMAND_DEFAULTS, connection: this.connection, ...scriptOnStdin("preflight", renderPreflightScript(checks)), triggers },
            { parent: this, dependsOn: after },
        );
    }
}
