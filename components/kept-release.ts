import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { parseCheckoutOutput } from "../host-scripts/checkout";
import { parseImageBuildOutput } from "../host-scripts/image-build";
import { renderKeptReleaseScript } from "../host-scripts/kept-releases";
import { HOST_COMMAND_DEFAULTS, scriptOnStdin } from "./host";
import { ReleaseTagArgs, VerifiedRelease } from "./release-tag";

/** The tag's settings (its repoUrl is named in messages only: nothing is fetched) and the service whose image it is. */
export interface KeptReleaseArgs extends ReleaseTagArgs {
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
