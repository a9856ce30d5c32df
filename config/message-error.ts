import * as pulumi from "@pulumi/pulumi";

/**
 * A RunError that Pulumi reports as its message alone. Its message names the setting and the
 * fix; a stack would only be formatted (source maps cost the language runtime tens of seconds
 * here) and shown.
 */
export class MessageOnlyError extends pulumi.RunError {
    constructor(name: string, message: string) {
        super(message);
        this.name = name;
        this.stack = `${name}: ${message}`;
    }
}
