import * as pulumi from "@pulumi/pulumi";
import { imageRef, parseImageBuildOutput, renderImageBuildScript } from "../host-scripts/image-build";
import { quote } from "../host-scripts/shell";
import { RemoteCommand } from "../providers/remote-command";
import { SshConnectionArgs } from "../providers/ssh";

export interface ReleaseImageArgs {
    /** Connection to the host. */
    connection: SshConnectionArgs;
    /** The app directory on the host. */
    appDir: string;
    /** The release tag. */
    tag: string;
    /** The tag's commit (from GitCheckout). */
    commit: pulumi.Input<string>;
    /** Image repository name. */
    imageName: string;
    /** Service name (image label, used by pruning). */
    serviceName: string;
    /** Dockerfile path in the repository. */
    dockerfile: string;
}

/** The release image, built on the host from the release worktree (`<imageName>:<tag>`). */
export class ReleaseImage extends pulumi.ComponentResource {
    /** The image id, sha256:... */
    readonly imageId: pulumi.Output<string>;
    /** The image reference, name:tag. */
    readonly ref: string;

    constructor(name: string, args: ReleaseImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:release:ReleaseImage", name, {}, opts);
        this.ref = imageRef(args.imageName, args.tag);
        const build = new RemoteCommand(
            `${name}-build`,
            {
                connection: args.connection,
                what: `image ${args.tag}`,
                create: pulumi.output(args.commit).apply((commit) => renderImageBuildScript({ ...args, commit })),
                check: `if docker image inspect ${quote(this.ref)} >/dev/null 2>&1; then echo present=yes; else echo present=no; fi`,
                expect: { present: "yes" },
            },
            { parent: this },
        );
        this.imageId = build.stdout.apply(parseImageBuildOutput);
        this.registerOutputs({ imageId: this.imageId });
    }
}
