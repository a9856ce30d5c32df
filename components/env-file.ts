import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import { checkEnvAgainstExample, parseEnvExample, renderEnvFileContent } from "../config/env-contract";
import { renderWriteEnvFileScript } from "../host-scripts/env-file";
import { quote } from "../host-scripts/shell";
import { RemoteCommand } from "../providers/remote-command";
import { SshConnectionArgs } from "../providers/ssh";

export interface EnvFileArgs {
    /** Connection to the host. */
    connection: SshConnectionArgs;
    /** Path of the env file on the host. */
    path: string;
    /** The env values (secret). */
    env: Record<string, string>;
    /** The release tag whose .env.example the values must satisfy. */
    tag: string;
    /** That tag's .env.example text (from GitCheckout). */
    envExample: pulumi.Input<string | undefined>;
}

/** Error raised when the env does not satisfy the release's .env.example (a RunError: see ConfigError). */
export class EnvContractError extends pulumi.RunError {
    constructor(tag: string, problems: string[]) {
        super(
            `l9-deploy:env does not satisfy .env.example of ${tag} (nothing of ${tag} was put on the host, traffic was not moved):\n` +
                problems.map((p) => `  - ${p}`).join("\n") +
                `\n  Fix: pulumi config set --secret env '{"KEY":"value",...}' with every required key set`,
        );
        this.name = "EnvContractError";
        this.stack = `${this.name}: ${this.message}`;
    }
}

/** sha256 of the env file text: how drift on the host file is recognised. */
export function envFileSha256(env: Record<string, string>): string {
    return crypto.createHash("sha256").update(renderEnvFileContent(env)).digest("hex");
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
    readonly command: RemoteCommand;

    constructor(name: string, args: EnvFileArgs, opts?: pulumi.ComponentResourceOptions) {
        super("l9:release:EnvFile", name, {}, opts);
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
        this.command = new RemoteCommand(
            `${name}-write`,
            {
                connection: args.connection,
                what: "env file",
                create: renderWriteEnvFileScript(args.path),
                stdin: this.validatedEnv.apply(renderEnvFileContent),
                check: `f=${quote(args.path)}; if [ -f "$f" ]; then echo "sha256=$(sha256sum "$f" | cut -d' ' -f1)"; echo "mode=$(stat -c %a "$f")"; else echo sha256=missing; echo mode=missing; fi`,
                expect: pulumi.secret({ sha256: envFileSha256(args.env), mode: "600" }),
            },
            { parent: this, additionalSecretOutputs: ["stdout", "expect", "observed"] },
        );
        this.registerOutputs({});
    }
}
