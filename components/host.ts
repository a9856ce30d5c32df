import * as pulumi from "@pulumi/pulumi";
import { renderPreflightScript } from "../host-scripts/preflight";
import { RemoteCommand } from "../providers/remote-command";
import { SshConnectionArgs } from "../providers/ssh";

export interface HostArgs {
    /** Host name or IP of the VPS. */
    address: string;
    /** SSH port. */
    port: number;
    /** SSH user (needs Docker access and write access to appDir and /etc/cron.d). */
    user: string;
    /** The host's public key, "<type> <base64>": pinned, never trusted on first use. */
    hostKey: string;
    /** The SSH private key (secret). */
    privateKey: pulumi.Input<string>;
    /** The app directory (for the disk space check). */
    appDir: string;
    /** Caddy's admin API address, checked by preflight. */
    caddyAdmin: string;
    /** Minimum free disk space in MiB. */
    minFreeDiskMb: number;
    /**
     * Values whose change means this update touches the host. Preflight re-runs when they
     * change, so every changing update is preflighted first and an unchanged stack stays
     * unchanged.
     */
    preflightTriggers: pulumi.Input<unknown>[];
}

/** One VPS: the pinned SSH connection every resource uses, and the preflight that gates them. */
export class Host extends pulumi.ComponentResource {
    /** Connection for the host resources (pinned host key, secret private key). */
    readonly connection: SshConnectionArgs;
    /** Completes when the host passed preflight; host-changing resources depend on it. */
    readonly preflight: RemoteCommand;

    constructor(name: string, args: HostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:host:Host", name, {}, opts);
        this.connection = {
            host: args.address,
            port: args.port,
            user: args.user,
            privateKey: pulumi.secret(args.privateKey),
            hostKey: args.hostKey,
        };
        this.preflight = new RemoteCommand(
            `${name}-preflight`,
            {
                connection: this.connection,
                what: "preflight",
                create: renderPreflightScript({ appDir: args.appDir, caddyAdmin: args.caddyAdmin, minFreeDiskMb: args.minFreeDiskMb }),
                triggers: args.preflightTriggers,
            },
            { parent: this },
        );
        this.registerOutputs({ preflight: this.preflight.stdout });
    }
}
