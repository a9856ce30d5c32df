import * as pulumi from "@pulumi/pulumi";
import { parseCheckoutOutput, renderCheckoutScript, renderRemoveCheckoutScript } from "../host-scripts/checkout";
import { worktreePath, hostLayout } from "../host-scripts/layout";
import { quote } from "../host-scripts/shell";
import { RemoteCommand } from "../providers/remote-command";
import { SshConnectionArgs } from "../providers/ssh";

export interface GitCheckoutArgs {
    /** Connection to the host. */
    connection: SshConnectionArgs;
    /** The app directory on the host. */
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
 * A verified worktree of one release tag on the host (releases/<tag>). Exposes the tag's
 * commit and its .env.example. Refresh notices a worktree moved to another commit or edited.
 */
export class GitCheckout extends pulumi.ComponentResource {
    /** The commit the tag points at. */
    readonly commit: pulumi.Output<string>;
    /** The tag's .env.example text, if it has one. */
    readonly envExample: pulumi.Output<string | undefined>;
    /** The underlying host command (dependency anchor). */
    readonly command: RemoteCommand;

    constructor(name: string, args: GitCheckoutArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:release:GitCheckout", name, {}, opts);
        this.command = new RemoteCommand(
            `${name}-worktree`,
            {
                connection: args.connection,
                what: `checkout ${args.tag}`,
                create: renderCheckoutScript(args),
                delete: renderRemoveCheckoutScript(args.appDir, args.tag),
                check: renderWorktreeCheckScript(args.appDir, args.tag),
                expect: { at_tag: "yes", clean: "yes" },
            },
            { parent: this },
        );
        const parsed = this.command.stdout.apply(parseCheckoutOutput);
        this.commit = parsed.commit;
        this.envExample = parsed.envExample;
        this.registerOutputs({ commit: this.commit });
    }
}
