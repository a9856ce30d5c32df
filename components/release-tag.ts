import * as pulumi from "@pulumi/pulumi";
import { parseCheckoutOutput, renderVerifyTagScript } from "../host-scripts/checkout";
import { RemoteCommand } from "../providers/remote-command";
import { SshConnectionArgs } from "../providers/ssh";

export interface ReleaseTagArgs {
    /** Connection to the host. */
    connection: SshConnectionArgs;
    /** The app directory on the host (the mirror lives there). */
    appDir: string;
    /** Where the host clones the app repository from. */
    repoUrl: string;
    /** The release tag. */
    tag: string;
    /** The branch the tag must be reachable from. */
    mainBranch: string;
    /** Require a verifying tag signature. */
    verifySignature: boolean;
}

/**
 * A verified release tag: fetched into the host's mirror, annotated, reachable from the main
 * branch, optionally signed. Exposes its commit and .env.example; writes nothing but the mirror.
 */
export class ReleaseTag extends pulumi.ComponentResource {
    /** The commit the tag points at. */
    readonly commit: pulumi.Output<string>;
    /** The tag's .env.example text, if it has one. */
    readonly envExample: pulumi.Output<string | undefined>;
    /** The verification command (dependency anchor). */
    readonly verification: RemoteCommand;

    constructor(name: string, args: ReleaseTagArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:release:ReleaseTag", name, {}, opts);
        this.verification = new RemoteCommand(
            `${name}-verify`,
            { connection: args.connection, what: `releaseTag ${args.tag}`, create: renderVerifyTagScript(args) },
            { parent: this },
        );
        const parsed = this.verification.stdout.apply(parseCheckoutOutput);
        this.commit = parsed.commit;
        this.envExample = parsed.envExample;
        this.registerOutputs({ commit: this.commit });
    }
}
