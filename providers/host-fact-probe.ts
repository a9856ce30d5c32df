import * as pulumi from "@pulumi/pulumi";
import { ProbeConnection } from "./ssh";

/**
 * A read-only probe of host facts that only commands touch (a worktree, Caddy's route, the
 * env file, the drift cron file). `command.remote.Command` has no read, so `pulumi refresh`
 * could never notice them change (pulumi-command#432); this is the one thing l9-deploy
 * needs that no package provides. It is served by the project's own provider plugin,
 * providers/l9host (Go), which runs the probe's script over SSH on refresh.
 *
 * The probe is declared BEFORE the command that owns the facts, and that command lists the
 * probe's `generation` among its `triggers`. On refresh the probe runs its script; when a
 * fact differs from what was declared, the refreshed state says so (preview shows
 * `expect: {fact: found => declared}`), the next update issues a new `generation`, and the
 * owning command is re-applied, which heals the host. The probe itself never changes the host.
 */
/** Where probes run: the host's connection and the provider instance serving them. */
export interface ProbeTarget {
    /** How to reach the host. */
    readonly connection: pulumi.Input<ProbeConnection>;
    /** The probes' provider instance (HostProbeProvider). */
    readonly provider: pulumi.ProviderResource;
}

export interface HostFactProbeArgs {
    /** How to reach the host (no key material: the stack's agent holds the key). */
    readonly connection: pulumi.Input<ProbeConnection>;
    /** What the facts are about, for messages, e.g. "worktree v1.2.0-l9". */
    readonly what: pulumi.Input<string>;
    /** Read-only script printing `key=value` lines. */
    readonly script: pulumi.Input<string>;
    /** The facts as declared: what `script` prints when the host is as it should be. */
    readonly expect: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * An instance of the probes' provider plugin (pulumi-resource-l9host). It takes no
 * configuration.
 */
export class HostProbeProvider extends pulumi.ProviderResource {
    constructor(name: string, opts?: pulumi.ResourceOptions) {
        super("l9host", name, {}, opts);
    }
}

/** Read-only host facts for refresh. See HostFactProbeArgs. */
export class HostFactProbe extends pulumi.CustomResource {
    /** Changes when the probe found drift: list it in the owning command's `triggers`. */
    declare readonly generation: pulumi.Output<string>;
    /** What the last refresh found. */
    declare readonly observed: pulumi.Output<Record<string, string> | undefined>;

    constructor(name: string, args: HostFactProbeArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            "l9host:index:FactProbe",
            name,
            { generation: undefined, observed: undefined, declared: undefined, ...args },
            // Probes of stacks deployed before the provider plugin were dynamic resources.
            { ...opts, aliases: [...(opts?.aliases ?? []), { type: "pulumi-nodejs:dynamic/l9-host:FactProbe" }] },
        );
    }
}
