import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderRemoveCheckoutScript, renderWorktreeCheckScript, renderWorktreeScript } from "../host-scripts/checkout";
import { HostFactProbe, ProbeTarget } from "../providers/host-fact-probe";
import { HOST_COMMAND_DEFAULTS, scriptOnStdin } from "./host";

export interface GitCheckoutArgs {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** Where its fact probe runs. */
    readonly probe: ProbeTarget;
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
    readonly readyWhen?: pulumi.Output<unknown>;
}

/**
 * A clean worktree of one release at releases/<tag>, the build context of its image.
 * Its probe notices a worktree moved to another commit or edited; the next `up` checks it
 * out again.
 */
export class GitCheckout extends pulumi.ComponentResource {
    constructor(name: string, args: GitCheckoutArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:GitCheckout", name, {}, opts);
        const probe = new HostFactProbe(
            `${name}-worktree-facts`,
            {
                connection: args.probe.connection,
                what: `worktree ${args.tag}`,
                script: renderWorktreeCheckScript(args.appDir, args.tag),
                expect: { at_tag: "yes", clean: "yes" },
            },
            { parent: this, provider: args.probe.provider },
        );
        new command.remote.Command(
            `${name}-worktree`,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                // The script waits for the readiness: if it rejects (bad env), this resource is never
                // created. Readiness is not a trigger: which tag is desired must not re-apply a worktree.
                ...scriptOnStdin(
                    `checkout ${args.tag}`,
                    pulumi
                        .all([args.commit, args.readyWhen ? pulumi.unsecret(args.readyWhen.apply(() => "ready")) : "ready"])
                        .apply(([commit]) => renderWorktreeScript({ appDir: args.appDir, tag: args.tag, commit })),
                ),
                delete: renderRemoveCheckoutScript(args.appDir, args.tag),
                triggers: [probe.generation],
            },
            // Re-applying removes the worktree first: a create-before-delete would remove the new one.
            { parent: this, deleteBeforeReplace: true },
        );
        this.registerOutputs({});
    }
}
