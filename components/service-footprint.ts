import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderPrepareServiceScript, renderRemoveServiceScript, ServiceFootprintArgs as FootprintScriptArgs } from "../host-scripts/service-footprint";
import { HOST_COMMAND_DEFAULTS, scriptOnStdin } from "./host";

export interface ServiceFootprintArgs {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** The app directory. */
    readonly appDir: string;
    /** The service name. */
    readonly serviceName: string;
    /** Caddy's admin API address (its server and the canary's logger are removed on destroy). */
    readonly caddyAdmin: string;
    /** The stack deploying the service (`<org>/<project>/<stack>`): it claims appDir. */
    readonly owner: string;
    /** Directory of node_exporter's textfile collector (the service's deploy metrics are removed on destroy). */
    readonly metricsDir: string;
}

/**
 * The service's place on the host: appDir (0750) and the routing marker directory. Every
 * other host resource depends on it, so `pulumi destroy` deletes it last, and its delete
 * takes away what no single resource owns: Caddy's server for the service, its images, its
 * deploy metrics, and appDir except the deploy log (kept on purpose). A new appDir or service
 * name replaces it: the new place is prepared, then the old one removed.
 */
export class ServiceFootprint extends pulumi.ComponentResource {
    /** The command; host resources depend on it. */
    readonly command: command.remote.Command;

    constructor(name: string, args: ServiceFootprintArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:ServiceFootprint", name, {}, opts);
        const footprint: FootprintScriptArgs = {
            appDir: args.appDir,
            serviceName: args.serviceName,
            caddyAdmin: args.caddyAdmin,
            owner: args.owner,
            metricsDir: args.metricsDir,
        };
        this.command = new command.remote.Command(
            `${name}-place`,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                ...scriptOnStdin(`service ${args.serviceName}`, renderPrepareServiceScript(footprint)),
                // The delete gets the create's stdin too: it is a whole script of its own.
                delete: renderRemoveServiceScript(footprint),
                triggers: [args.appDir, args.serviceName],
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
