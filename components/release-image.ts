import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { imageRef, parseImageBuildOutput, renderImageBuildScript } from "../host-scripts/image-build";
import { HOST_COMMAND_DEFAULTS, scriptOnStdin } from "./host";

export interface ReleaseImageArgs {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** The app directory on the host. */
    readonly appDir: string;
    /** The release tag. */
    readonly tag: string;
    /** The tag's commit (from GitCheckout). */
    readonly commit: pulumi.Input<string>;
    /** Image repository name. */
    readonly imageName: string;
    /** Service name (image label, used by pruning). */
    readonly serviceName: string;
    /** Dockerfile path in the repository. */
    readonly dockerfile: string;
}

/**
 * The release image, built on the host from the release worktree (`<imageName>:<tag>`).
 * Built where the code is: the host has the worktree, and no registry is needed.
 */
export class ReleaseImage extends pulumi.ComponentResource {
    /** The image id, sha256:... */
    readonly imageId: pulumi.Output<string>;
    /** The image reference, name:tag. */
    readonly ref: string;

    constructor(name: string, args: ReleaseImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:ReleaseImage", name, {}, opts);
        this.ref = imageRef(args.imageName, args.tag);
        const build = new command.remote.Command(
            `${name}-build`,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                ...scriptOnStdin(
                    `image ${args.tag}`,
                    pulumi.output(args.commit).apply((commit) => renderImageBuildScript({ ...args, commit })),
                ),
            },
            { parent: this },
        );
        this.imageId = build.stdout.apply(parseImageBuildOutput);
        this.registerOutputs({ imageId: this.imageId });
    }
}
