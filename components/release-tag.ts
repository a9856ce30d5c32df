import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { parseCheckoutOutput, renderVerifyTagScript } from "../host-scripts/checkout";
import { HOST_COMMAND_DEFAULTS, scriptOnStdin } from "./host";

export interface ReleaseTagArgs {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** The app directory on the host (the mirror lives there). */
    readonly appDir: string;
    /** Where the host clones the app repository from. */
    readonly repoUrl: string;
    /** The release tag. */
    readonly tag: string;
    /** The branch the tag must be reachable from. */
    readonly mainBranch: string;
    /** Require a verifying tag signature. */
    readonly verifySignature: boolean;
}

/** What a release's image and env are made from: the tag's verified commit and its .env.example. */
export interface VerifiedRelease {
    /** The commit the tag points at. */
    readonly commit: pulumi.Output<string>;
    /** The tag's .env.example text, if it has one. */
    readonly envExample: pulumi.Output<string | undefined>;
}

/**
 * A verified release tag: fetched into the host's mirror, annotated, reachable from the main
 * branch, optionally signed. Exposes its commit and .env.example; writes nothing but the mirror.
 */
export class ReleaseTag extends pulumi.ComponentResource implements VerifiedRelease {
    /** The commit the tag points at. */
    readonly commit: pulumi.Output<string>;
    /** The tag's .env.example text, if it has one. */
    readonly envExample: pulumi.Output<string | undefined>;
    /** The verification command (dependency anchor). */
    readonly verification: command.remote.Command;

    constructor(name: string, args: ReleaseTagArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:ReleaseTag", name, {}, opts);
        this.verification = new command.remote.Command(
            `${name}-verify`,
            { ...HOST_COMMAND_DEFAULTS, connection: args.connection, ...scriptOnStdin(`releaseTag ${args.tag}`, renderVerifyTagScript(args)) },
            { parent: this },
        );
        const parsed = this.verification.stdout.apply(parseCheckoutOutput);
        this.commit = parsed.commit;
        this.envExample = parsed.envExample;
        this.registerOutputs({ commit: this.commit });
    }
}
