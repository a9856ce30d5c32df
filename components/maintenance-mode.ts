import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { renderMaintenanceScript, renderRemoveMaintenanceScript } from "../host-scripts/maintenance";
import { HOST_COMMAND_DEFAULTS, scriptOnStdin } from "./host";

export interface MaintenanceModeArgs {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** Service name (its marker directory holds the switch and the message). */
    readonly serviceName: string;
    /** Whether requests outside the allowed paths get 503. */
    readonly enabled: boolean;
    /** The body of the 503. */
    readonly message: string;
}

/**
 * Maintenance mode: Caddy's maintenance route (part of the service's server config) answers
 * 503 with Retry-After and the message while a marker file exists. This resource writes the
 * message and sets or clears the marker: no container changes and no Caddy reload, and both
 * files outlive a Caddy restart.
 */
export class MaintenanceMode extends pulumi.ComponentResource {
    /** The marker's write. */
    readonly command: command.remote.Command;

    constructor(name: string, args: MaintenanceModeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:MaintenanceMode", name, {}, opts);
        this.command = new command.remote.Command(
            `${name}-marker`,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                ...scriptOnStdin(`maintenance ${args.enabled ? "on" : "off"}`, renderMaintenanceScript(args)),
                delete: renderRemoveMaintenanceScript(args.serviceName),
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
