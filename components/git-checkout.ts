import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderRemoveCheckoutScript, renderWorktreeCheckScript, renderWorktreeScript } from "../host-scripts/checkout";
import { HostFactProbe } from "../providers/host-fact-probe";
import { ProbeConnection } from "../providers/ssh";
import { HOST_COMMAND_DEFAULTS, scriptOnStdin } from "./host";

export interface GitCheckoutArgs {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** Connection of the fact probe. */
    readonly probeConnection: pulumi.Input<ProbeConnection>;
    /** The app directory on the host. */
    readonly appDir: string;
    /** The release tag (names the worktree). */
    readonly tag: string;
    /** The verified commit of the tag (from ReleaseTag). */
    readonly commit: pulumi.Input<string>;
    /**
     * Resolves once the release may land on the host (its env validated); a rejected value
     * means the worktree is never created.
     */
    readonly readyWhen?: pulumi.Input<unknown>;
}

/**
 * A clean worktree of one release at releases/<tag>, the build context of its image.
 * Its probe notices a worktree moved to another commit or edited; the next `up` checks it
 * out again.
 */
export class GitCheckout extends pulumi.ComponentResource {
    /** The commit checked out. */
    readonly commit: pulumi.Output<string>;

    constructor(name: string, args: GitCheckoutArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:GitCheckout", name, {}, opts);
        const probe = new HostFactProbe(
            `${name}-worktree-facts`,
            {
                connection: args.probeConnection,
                what: `worktree ${args.tag}`,
                script: renderWorktreeCheckScript(args.appDir, args.tag),
                expect: { at_tag: "yes", clean: "yes" },
            },
            { parent: this },
        );
        const worktree = new command.remote.Command(
            `${name}-worktree`,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                ...scriptOnStdin(`checkout ${args.tag}`, pulumi.output(args.commit).apply((commit) => renderWorktreeScript({ appDir: args.appDir, tag: args.tag, commit }))),
                delete: renderRemoveCheckoutScript(args.appDir, args.tag),
                // The readiness: if it rejects (bad env), this resource is never created.
                triggers: [probe.generation, ...(args.readyWhen === undefined ? [] : [pulumi.unsecret(pulumi.output(args.readyWhen).apply(() => "ready"))])],
            },
            // Re-applying removes the worktree first: a create-before-delete would remove the new one.
            { parent: this, deleteBeforeReplace: true },
        );
        this.commit = worktree.stdout.apply((s) => s.trim().split("\n").pop() ?? "");
        this.registerOutputs({ commit: this.commit });
    }
}
