import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import {
    HandBackArgs,
    renderHandBackOldDeployScript,
    renderKeepOldDeployScript,
    renderRetireOldDeployScript,
    restoreContainerCommand,
    CRON_DISABLED_SUFFIX,
} from "../host-scripts/old-deploy";
import { HOST_COMMAND_DEFAULTS, scriptOnStdin } from "./host";

export interface OldDeployArgs {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** What the old runbooks left, and how to hand the host back (host-scripts/old-deploy.ts). */
    readonly handBack: HandBackArgs;
    /** Whether the delete hands the host back (else it leaves the old deploy retired). */
    readonly handBackOnDestroy: boolean;
}

/** What was retired, and the one command that brings each back (a stack output). */
export interface RetiredItem {
    readonly container?: string;
    readonly cronFile?: string;
    readonly restore: string;
}

/**
 * The deploy the old runbooks left on an adopted host, retired once l9-deploy serves: its
 * containers stopped (kept), its cron files renamed aside (kept). Its delete leaves them so, or,
 * with handBackOnDestroy, hands the host back (README, "Adopting a host that runs the old scripts").
 */
export class OldDeploy extends pulumi.ComponentResource {
    /** Each retired container and cron file with its restore command. */
    readonly retired: pulumi.Output<RetiredItem[]>;

    constructor(name: string, args: OldDeployArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:OldDeploy", name, {}, opts);
        const retire = new command.remote.Command(
            `${name}-retire`,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                ...scriptOnStdin("retire the old deploy", renderRetireOldDeployScript(args.handBack)),
                delete: args.handBackOnDestroy ? renderHandBackOldDeployScript(args.handBack) : renderKeepOldDeployScript(args.handBack),
            },
            // Explicitly: a component's dependsOn does not order its children's creates.
            { parent: this, dependsOn: opts?.dependsOn },
        );
        this.retired = retire.stdout.apply(retiredItems);
        this.registerOutputs({ retired: this.retired });
    }
}

/** The retire script's `container <name> <policy>` and `cron <file>` lines (what it found), with their restore commands. */
export function retiredItems(stdout: string): RetiredItem[] {
    const found = stdout.split("\n").map((l) => l.trim().split(" "));
    return [
        ...found.filter((w) => w.length === 3 && w[0] === "container").map(([, c, policy]) => ({ container: c, restore: restoreContainerCommand(c, policy) })),
        ...found.filter((w) => w.length === 2 && w[0] === "cron").map(([, f]) => ({ cronFile: f, restore: `mv ${f}${CRON_DISABLED_SUFFIX} ${f}` })),
    ];
}
