import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { parseCheckoutOutput } from "../host-scripts/checkout";
import { parseImageBuildOutput } from "../host-scripts/image-build";
import { renderKeptReleaseScript } from "../host-scripts/kept-releases";
import { HOST_COMMAND_DEFAULTS, scriptOnStdin } from "./host";
import { VerifiedRelease } from "./release-tag";

export interface KeptReleaseArgs {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** The app directory on the host (the mirror lives there). */
    readonly appDir: string;
    /** Where the app repository comes from (named in messages only: nothing is fetched). */
    readonly repoUrl: string;
    /** The release tag. */
    readonly tag: string;
    /** The branch the tag must be reachable from. */
    readonly mainBranch: string;
    /** Require a verifying tag signature. */
    readonly verifySignature: boolean;
    /** Service name: its images are `<service>-api:<tag>`. */
    readonly serviceName: string;
}

/**
 * A release returning to a slot from its image kept on the host (a rollback further back than
 * the standby): in one step on the host, its tag verified in the host's mirror with no fetch,
 * and its image checked, built from the tag's commit. No worktree and no build. Writes nothing;
 * deleting it removes nothing (old images go by imagesToKeep, like built ones).
 */
export class KeptRelease extends pulumi.ComponentResource implements VerifiedRelease {
    readonly commit: pulumi.Output<string>;
    readonly envExample: pulumi.Output<string | undefined>;
    /** The kept image's id, sha256:... */
    readonly imageId: pulumi.Output<string>;

    constructor(name: string, args: KeptReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:KeptRelease", name, {}, opts);
        const check = new command.remote.Command(
            `${name}-check`,
            { ...HOST_COMMAND_DEFAULTS, connection: args.connection, ...scriptOnStdin(`kept release ${args.tag}`, renderKeptReleaseScript(args)) },
            { parent: this },
        );
        const parsed = check.stdout.apply(parseCheckoutOutput);
        this.commit = parsed.commit;
        this.envExample = parsed.envExample;
        this.imageId = check.stdout.apply(parseImageBuildOutput);
        this.registerOutputs({ commit: this.commit, imageId: this.imageId });
    }
}
