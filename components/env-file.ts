import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import { MessageOnlyError } from "../config/message-error";
import { checkEnvAgainstExample, parseEnvExample, renderEnvFileContent } from "../config/env-contract";
import { renderSecretFileFactsScript, renderRemoveEnvFileScript, renderWriteEnvFileScript } from "../host-scripts/env-file";
import { HostFactProbe, ProbeTarget } from "../providers/host-fact-probe";
import { HOST_COMMAND_DEFAULTS } from "./host";

export interface EnvFileArgs {
    /** Connection to the host. */
    readonly connection: command.types.input.remote.ConnectionArgs;
    /** Where its fact probe runs. */
    readonly probe: ProbeTarget;
    /** Path of the env file on the host. */
    readonly path: string;
    /** The env values (secret). */
    readonly env: Record<string, string>;
    /** The release tag whose .env.example the values must satisfy. */
    readonly tag: string;
    /** That tag's .env.example text (from ReleaseTag). */
    readonly envExample: pulumi.Input<string | undefined>;
}

/** Error raised when the env does not satisfy the release's .env.example (a RunError: see ConfigError). */
export class EnvContractError extends MessageOnlyError {
    constructor(tag: string, problems: string[]) {
        super(
            "EnvContractError",
            `l9-deploy:env does not satisfy .env.example of ${tag} (nothing of ${tag} was put on the host, traffic was not moved):\n` +
                problems.map((p) => `  - ${p}`).join("\n") +
                `\n  Fix: pulumi config set --secret env '{"KEY":"value",...}' with every required key set`,
        );
    }
}

/** sha256 of the env file text: how drift on the host file is recognised. */
export function envFileSha256(env: Record<string, string>): string {
    return crypto.createHash("sha256").update(renderEnvFileContent(env)).digest("hex");
}

/** The env a release runs with, as its deploy record and the journal name it: envFileSha256's first 16 digits. */
export function envFingerprint(env: Record<string, string>): string {
    return envFileSha256(env).slice(0, 16);
}

/**
 * The app's env file on the host (mode 0600), written from secret config after the values
 * were validated against the release's .env.example. `validatedEnv` resolves only when
 * validation passed: containers take their env from it, so none starts with a bad env.
 */
export class EnvFile extends pulumi.ComponentResource {
    /** The env values, available only once validated against the release (secret). */
    readonly validatedEnv: pulumi.Output<Record<string, string>>;
    /** The file's write on the host. */
    readonly command: command.remote.Command;

    constructor(name: string, args: EnvFileArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:index:EnvFile", name, {}, opts);
        this.validatedEnv = pulumi.secret(
            pulumi.output(args.envExample).apply((example) => {
                if (example === undefined) {
                    throw new EnvContractError(args.tag, [`the repository has no .env.example at ${args.tag}: it must list the keys the app needs`]);
                }
                const problems = checkEnvAgainstExample(parseEnvExample(example), args.env, args.tag);
                if (problems.length > 0) throw new EnvContractError(args.tag, problems);
                return args.env;
            }),
        );
        const probe = new HostFactProbe(
            `${name}-file-facts`,
            {
                connection: args.probe.connection,
                what: "env file",
                script: renderSecretFileFactsScript(args.path),
                expect: pulumi.secret({ sha256: envFileSha256(args.env), mode: "600" }),
            },
            { parent: this, provider: args.probe.provider, additionalSecretOutputs: ["expect", "declared", "observed"] },
        );
        this.command = new command.remote.Command(
            `${name}-write`,
            {
                ...HOST_COMMAND_DEFAULTS,
                connection: args.connection,
                create: renderWriteEnvFileScript(args.path),
                stdin: this.validatedEnv.apply(renderEnvFileContent),
                delete: renderRemoveEnvFileScript(args.path),
                triggers: [probe.generation],
            },
            { parent: this, deleteBeforeReplace: true, additionalSecretOutputs: ["stdout"] },
        );
        this.registerOutputs({});
    }
}
