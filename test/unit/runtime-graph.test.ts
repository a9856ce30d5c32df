import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import type { DeployState } from "../../state/slot-machine";
import { SECRETS, validRawConfig } from "./fixtures";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

/**
 * The resource graph of a release, with Pulumi's mocks: which resources exist, what each
 * slot runs, which options protect the serving slot, and that secrets stay secret.
 */
describe("unit: resource graph of a release (mocks)", function () {
    this.timeout(60_000);
    const registered: Registered[] = [];
    const options = new Map<string, pulumi.ResourceOptions>();
    const sha = (tag: string) => `sha256:${Buffer.from(tag).toString("hex").padEnd(64, "0").slice(0, 64)}`;
    const commit = (tag: string) => Buffer.from(tag).toString("hex").padEnd(40, "0").slice(0, 40);
    let mod: typeof import("../../components/runtime");
    let runtime: import("../../components/runtime").L9Runtime;

    before(async () => {
        pulumi.runtime.setMocks(
            {
                newResource(args) {
                    registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                    const state: Record<string, any> = { ...args.inputs };
                    const tag = /(?:tag|checkout|image)-(v[0-9.]+-l9)/.exec(args.name)?.[1] ?? "";
                    if (args.name.endsWith("-verify")) {
                        state.stdout = `l9.commit=${commit(tag)}\nl9.envExample=${Buffer.from("APP_SECRET=\nDATABASE_URL=\n").toString("base64")}\n`;
                    } else if (args.name.endsWith("-worktree")) {
                        state.stdout = `${commit(tag)}\n`;
                    } else if (args.name.endsWith("-build")) {
                        state.stdout = `l9.imageId=${sha(tag)}\n`;
                    } else if (args.name === "traffic-caddy") {
                        state.stdout = "2026-01-01T00:00:00Z\n";
                    } else if (args.type.includes("Container")) {
                        state.containerId = `id-${args.name}`;
                    } else if (args.type.includes("RandomId")) {
                        state.hex = "0123456789ab";
                    } else {
                        state.stdout = "ok\n";
                    }
                    return { id: `${args.name}-id`, state };
                },
                call: (args) => args.inputs,
            },
            "l9-deploy",
            "unit",
            false,
        );
        // Resource options never reach the mocks: a transformation on a parent records them.
        const root = new pulumi.ComponentResource("test:index:Root", "root", {}, {
            transformations: [
                (args) => {
                    options.set(args.name, args.opts);
                    return undefined;
                },
            ],
        });
        const { parseConfig } = await import("../../config/load");
        const { planRelease } = await import("../../state/slot-machine");
        mod = await import("../../components/runtime");
        const config = parseConfig(validRawConfig({ releaseTag: "v0.2.0-l9" }), SECRETS);
        const previous: DeployState = { slots: { blue: { tag: "v0.1.0-l9", envFingerprint: "fp" }, green: { tag: "v0.0.9-l9", envFingerprint: "fp" } }, active: "blue" };
        const plan = planRelease(previous, { tag: "v0.2.0-l9", envFingerprint: "fp" });
        runtime = new mod.L9Runtime("l9", { config, plan, envFingerprint: "fp", actor: "ops@example.com" }, { parent: root });
        await new Promise<void>((resolve) => runtime.deployedAt.apply(() => resolve()));
    });

    const byName = (name: string) => {
        const r = registered.find((x) => x.name === name);
        if (!r) throw new Error(`no resource ${name}; registered: ${registered.map((x) => x.name).join(", ")}`);
        return r;
    };

    it("declares one checkout and image per release in a slot, none for the release that left", () => {
        const names = registered.map((r) => r.name);
        expect(names).to.include.members(["tag-v0.1.0-l9-verify", "tag-v0.2.0-l9-verify", "checkout-v0.1.0-l9-worktree", "checkout-v0.2.0-l9-worktree", "image-v0.1.0-l9-build", "image-v0.2.0-l9-build"]);
        expect(names.filter((n) => n.includes("v0.0.9"))).to.deep.equal([]);
    });

    it("puts the new release in the idle slot and keeps the serving slot's release", () => {
        const green = byName("green-container").inputs;
        const blue = byName("blue-container").inputs;
        expect(green.image).to.equal(sha("v0.2.0-l9"));
        expect(green.labels["l9.tag"]).to.equal("v0.2.0-l9");
        expect(blue.image).to.equal(sha("v0.1.0-l9"));
        expect(blue.labels["l9.tag"]).to.equal("v0.1.0-l9");
        expect(runtime.activeSlot).to.equal("green");
    });

    it("protects the slots: delete-before-replace (fixed names), serving slot keeps its env", () => {
        expect((options.get("green-container") as pulumi.CustomResourceOptions | undefined)?.deleteBeforeReplace).to.equal(true);
        expect((options.get("blue-container") as pulumi.CustomResourceOptions | undefined)?.deleteBeforeReplace).to.equal(true);
        expect(options.get("blue-container")?.ignoreChanges).to.deep.equal(["env"]);
        expect(options.get("green-container")?.ignoreChanges).to.deep.equal([]);
    });

    const urnsOf = (deps: pulumi.ResourceOptions["dependsOn"]) =>
        Promise.all(((deps ?? []) as pulumi.Resource[]).map((d) => new Promise<string>((resolve) => d.urn.apply(resolve))));

    it("gates before switching, and switches only after every slot exists", async () => {
        expect((await urnsOf(options.get("traffic-caddy")?.dependsOn)).map((u) => u.split("::").pop())).to.deep.equal(["traffic-gate"]);
        expect((await urnsOf(options.get("traffic")?.dependsOn)).map((u) => u.split("::").pop())).to.have.members(["blue", "green"]);
        const gate = byName("traffic-gate").inputs;
        expect(gate.create).to.contain("'l9-green'");
        expect(gate.create).to.contain("http://127.0.0.1:8002/health");
        const caddy = byName("traffic-caddy").inputs;
        expect(caddy.create).to.contain("l9-green.active");
        expect(caddy.create).to.contain('[{"dial":"127.0.0.1:8002"}]');
        expect(caddy.create).to.contain("keeping l9-blue running as warm standby");
        expect(caddy.create).to.contain('"actor":"ops@example.com"');
    });

    it("runs preflight first: the tag verifications (the first host access) depend on it", async () => {
        expect(byName("host-preflight").inputs.create).to.contain("docker info");
        for (const name of ["tag-v0.1.0-l9", "tag-v0.2.0-l9"]) {
            expect((await urnsOf(options.get(name)?.dependsOn)).map((u) => u.split("::").pop())).to.deep.equal(["host-preflight"]);
        }
    });

    it("lands the new release only after its env is validated: the worktree waits for it", () => {
        expect(byName("checkout-v0.2.0-l9-worktree").inputs.triggers).to.deep.equal(["ready"]);
        expect(byName("checkout-v0.1.0-l9-worktree").inputs.triggers).to.deep.equal([]);
    });

    it("keeps secrets secret: the private key, the env, and no secret in any script text", async () => {
        // Secret inputs reach the engine wrapped in Pulumi's secret envelope, never as plain values.
        const env = byName("green-container").inputs.env;
        expect(env).to.have.property("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270");
        expect(env.value.APP_SECRET).to.equal("s3cret");
        expect(await pulumi.isSecret(pulumi.output(runtime.host.connection.privateKey))).to.equal(true);
        expect(await pulumi.isSecret(runtime.envFile.validatedEnv)).to.equal(true);
        const envWrite = byName("env-write").inputs;
        expect(envWrite.create).to.not.contain("s3cret");
        for (const r of registered) {
            for (const key of ["create", "update", "delete", "check"]) {
                if (typeof r.inputs[key] === "string") expect(r.inputs[key], `${r.name}.${key}`).to.not.contain("s3cret");
            }
            expect(JSON.stringify(r.inputs.labels ?? {})).to.not.contain("s3cret");
        }
    });
});
