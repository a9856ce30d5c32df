import { expect } from "chai";
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs } from "@pulumi/policy";
import * as rules from "../../policies/rules";

/** A hand-built ResourceValidationArgs (@pulumi/policy ships no test helpers). */
function resourceArgs(type: string, name: string, props: Record<string, unknown>, additionalSecretOutputs: string[] = []): ResourceValidationArgs {
    return {
        type,
        name,
        urn: `urn:pulumi:unit::l9-deploy::${type}::${name}`,
        props,
        opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs, parent: undefined, dependencies: [] } as never,
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: () => ({}) as never,
        notApplicable: (reason?: string): never => {
            throw new Error(`not applicable: ${reason}`);
        },
    } as unknown as ResourceValidationArgs;
}

function violations(policy: ResourceValidationPolicy, args: ResourceValidationArgs): string[] {
    const found: string[] = [];
    const validate = policy.validateResource as (a: ResourceValidationArgs, report: (m: string) => void) => void;
    validate(args, (m) => found.push(m));
    return found;
}

const connection = { host: "203.0.113.10", port: 22, user: "root", privateKey: "k", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAoPGInEcbJwN2hI7YAejotVS71LvclAHUXjDM751wdJ" };
const goodContainer = {
    connection,
    name: "l9-blue",
    image: `sha256:${"a".repeat(64)}`,
    env: { APP_SECRET: "x", PORT: "8001", HOST: "127.0.0.1" },
    networkMode: "host",
    restart: "unless-stopped",
    healthcheck: { command: "image", intervalSeconds: 2, timeoutSeconds: 3, retries: 3, startPeriodSeconds: 30 },
    labels: { "l9.tag": "v1.2.3-l9" },
    running: true,
};
const container = (overrides: Record<string, unknown> = {}, secrets = ["connection", "env"]) =>
    resourceArgs(rules.CONTAINER_TYPE, "blue-container", { ...goodContainer, ...overrides }, secrets);

describe("unit: policy pack rules", () => {
    const cases: Array<[ResourceValidationPolicy, Record<string, unknown>, RegExp]> = [
        [rules.containerHealthcheck, { healthcheck: undefined }, /no health check/],
        [rules.containerRestartPolicy, { restart: "no" }, /restart policy "no"/],
        [rules.containerNotPrivileged, { privileged: true }, /is privileged/],
        [rules.containerLoopbackOnly, { networkMode: "bridge", ports: [{ ip: "0.0.0.0", internal: 8000, external: 8001 }] }, /on 0\.0\.0\.0, not 127\.0\.0\.1/],
        [rules.containerLoopbackOnly, { env: { HOST: "0.0.0.0" } }, /HOST=0\.0\.0\.0/],
        [rules.containerReleaseImage, { labels: { "l9.tag": "latest" } }, /"latest", which is not a release tag/],
        [rules.containerReleaseImage, { image: "l9-api:latest" }, /by name/],
        [rules.sshHostKeyPinned, { connection: { ...connection, hostKey: undefined } }, /without a pinned host key/],
    ];
    for (const [policy, overrides, message] of cases) {
        it(`${policy.name}: passes a good container, reports ${message.source}`, () => {
            expect(violations(policy, container())).to.deep.equal([]);
            expect(violations(policy, container(overrides)).join("\n")).to.match(message);
        });
    }

    it("secrets-stay-secret: private keys, env and stdin must be secret outputs", () => {
        expect(violations(rules.secretsStaySecret, container())).to.deep.equal([]);
        expect(violations(rules.secretsStaySecret, container({}, ["connection"]))).to.deep.equal(["blue-container.env holds a secret but is not stored as one."]);
        const cmd = resourceArgs(rules.COMMAND_TYPE, "env-write", { connection, stdin: "A=1", create: "x" }, ["connection"]);
        expect(violations(rules.secretsStaySecret, cmd)).to.deep.equal(["env-write.stdin holds a secret but is not stored as one."]);
    });

    it("rules about containers ignore other resources", () => {
        const cmd = resourceArgs(rules.COMMAND_TYPE, "host-preflight", { connection, create: "docker info" }, ["connection"]);
        for (const p of rules.resourcePolicies) expect(violations(p, cmd), p.name).to.deep.equal([]);
    });

    it("old-images-pruned (advisory): the switch must prune, keeping at most 10", () => {
        const sw = (create: string) => resourceArgs(rules.COMMAND_TYPE, "traffic-caddy", { connection, what: "switch to blue", create }, ["connection"]);
        expect(violations(rules.oldImagesPruned, sw("... | tail -n +4 | ... docker image rm -f ..."))).to.deep.equal([]);
        expect(violations(rules.oldImagesPruned, sw("no pruning"))).to.have.length(1);
        expect(violations(rules.oldImagesPruned, sw("tail -n +31 docker image rm"))[0]).to.match(/keeps 30 images/);
        expect(rules.oldImagesPruned.enforcementLevel).to.equal("advisory");
    });

    it("warm-standby-kept (advisory): both slots kept running", () => {
        const stack = (blueRunning: boolean | undefined) =>
            ({
                resources: [
                    { type: rules.CONTAINER_TYPE, name: "blue-container", props: { running: blueRunning } },
                    { type: rules.CONTAINER_TYPE, name: "green-container", props: { running: true } },
                ] as unknown as PolicyResource[],
                stackTags: new Map(),
                getConfig: () => ({}),
                notApplicable: () => undefined as never,
            }) as unknown as StackValidationArgs;
        const run = (a: StackValidationArgs) => {
            const found: string[] = [];
            (rules.warmStandbyKept.validateStack as (a: StackValidationArgs, r: (m: string) => void) => void)(a, (m) => found.push(m));
            return found;
        };
        expect(run(stack(true))).to.deep.equal([]);
        expect(run(stack(undefined))[0]).to.match(/only 1 of 2 slots/);
        expect(rules.warmStandbyKept.enforcementLevel).to.equal("advisory");
    });

    it("every mandatory rule of the brief is mandatory", () => {
        const mandatory = rules.resourcePolicies.filter((p) => p.enforcementLevel === "mandatory").map((p) => p.name);
        expect(mandatory).to.include.members([
            "container-healthcheck",
            "container-restart-policy",
            "container-not-privileged",
            "container-loopback-only",
            "container-release-image",
            "ssh-host-key-pinned",
            "secrets-stay-secret",
        ]);
    });
});
