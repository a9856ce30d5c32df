import * as pulumi from "@pulumi/pulumi";
import { renderRemoveCheckoutScript, renderWorktreeScript } from "../host-scripts/checkout";
import { hostLayout, worktreePath } from "../host-scripts/layout";
import { quote } from "../host-scripts/shell";
import { RemoteCommand } from "../providers/remote-command";
import { SshConnectionArgs } from "../providers/ssh";

export interface GitCheckoutArgs {
    /** Connection to the host. */
    connection: SshConnectionArgs;
    /** The app directory on the host. */
    appDir: string;
    /** The release tag (names the worktree). */
    tag: string;
    /** The verified commit of the tag (from ReleaseTag). */
    commit: pulumi.Input<string>;
    /**
     * Resolves once the release may land on the host (its env validated); a rejected value
     * means the worktree is never created.
     */
    readyWhen?: pulumi.Input<unknown>;
}

/** Read-only facts about a release worktree, for refresh: at the tag's commit, and clean. */
export function renderWorktreeCheckScript(appDir: string, tag: string): string {
    const wt = quote(worktreePath(appDir, tag));
    const mirror = quote(hostLayout(appDir).mirror);
    return [
        `want=$(git -C ${mirror} rev-parse -q --verify ${quote(`refs/tags/${tag}^{commit}`)} 2>/dev/null || echo none)`,
        `head=$(git -C ${wt} rev-parse HEAD 2>/dev/null || echo missing)`,
        `if [ "$head" = "$want" ]; then echo at_tag=yes; else echo "at_tag=no (HEAD $head)"; fi`,
        `if [ "$head" = missing ]; then echo clean=missing; elif [ -z "$(git -C ${wt} status --porcelain --untracked-files=no 2>/dev/null)" ]; then echo clean=yes; else echo "clean=no ($(git -C ${wt} status --porcelain --untracked-files=no | wc -l) tracked files modified)"; fi`,
    ].join("\n");
}

/**
 * A clean worktree of one release at releases/<tag>, the build context of its image.
 * Refresh notices a worktree moved to another commit or edited.
 */
export class GitCheckout extends pulumi.ComponentResource {
    /** The commit checked out. */
    readonly commit: pulumi.Output<string>;

    constructor(name: string, args: GitCheckoutArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:release:GitCheckout", name, {}, opts);
        const worktree = new RemoteCommand(
            `${name}-worktree`,
            {
                connection: args.connection,
                what: `checkout ${args.tag}`,
                create: pulumi.output(args.commit).apply((commit) => renderWorktreeScript({ appDir: args.appDir, tag: args.tag, commit })),
                delete: renderRemoveCheckoutScript(args.appDir, args.tag),
                check: renderWorktreeCheckScript(args.appDir, args.tag),
                expect: { at_tag: "yes", clean: "yes" },
                // Carries the readiness: if it rejects (bad env), this resource is never created.
                triggers: args.readyWhen === undefined ? [] : [pulumi.unsecret(pulumi.output(args.readyWhen).apply(() => "ready"))],
            },
            { parent: this },
        );
        this.commit = worktree.stdout.apply((s) => s.trim().split("\n").pop() ?? "");
        this.registerOutputs({ commit: this.commit });
    }
}
