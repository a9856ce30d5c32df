import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { NotifyTarget, renderNotifyTargetsFile, renderRemoveNotifyTargetsScript, renderWriteNotifyTargetsScript } from "../host-scripts/notify";
import { HOST_COMMAND_DEFAULTS } from "./host";

export interface NotifyTargetsArgs {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** The app directory (the targets file lives in its shared directory). */
    readonly appDir: string;
    /** The webhook targets (secret: their URLs carry tokens). */
    readonly targets: pulumi.Input<NotifyTarget[]>;
}

/**
 * The notification targets on the host: a 0600 file the release scripts read, written from
 * secret config through stdin (never in a script or its output). Its delete removes it, so
 * turning notifications off is removing the setting.
 */
export class NotifyTargets extends pulumi.ComponentResource {
    /** The file's write; scripts that notify run after it. */
    readonly command: command.remote.Command;

    constructor(name: string, args: NotifyTargetsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:NotifyTargets", name, {}, opts);
        this.command = new command.remote.Command(
            `${name}-file`,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                create: renderWriteNotifyTargetsScript(args.appDir),
                stdin: pulumi.secret(pulumi.output(args.targets).apply(renderNotifyTargetsFile)),
                delete: renderRemoveNotifyTargetsScript(args.appDir),
            },
            { parent: this, deleteBeforeReplace: true },
        );
        this.registerOutputs({});
    }
}
