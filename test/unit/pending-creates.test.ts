import { expect } from "chai";
import { parseDockerSshHost, unfinishedContainers } from "../../tools/pending-creates";

const provider = "urn:pulumi:e2e::l9-deploy::l9:index:L9Runtime$l9:index:Host$pulumi:providers:docker::host-docker";
const containerUrn = "urn:pulumi:e2e::l9-deploy::l9:index:L9Runtime$l9:index:Slot$docker:index/container:Container::green-container";

/** A stack export as `pulumi stack export` prints it after an update killed while Docker created green's container. */
function exported(pending: unknown[]): unknown {
    return {
        version: 3,
        deployment: {
            resources: [
                { urn: provider, id: "54f09115", type: "pulumi:providers:docker", inputs: { host: "ssh://root@203.0.113.10:2222" } },
                { urn: `${provider}-other`, id: "54f09115", type: "pulumi:providers:docker", inputs: { host: "unix:///var/run/docker.sock" } },
            ],
            pending_operations: pending,
        },
    };
}
const creating = (extra: Record<string, unknown> = {}) => ({
    type: "creating",
    resource: { urn: containerUrn, type: "docker:index/container:Container", inputs: { name: "l9-green" }, provider: `${provider}::54f09115`, ...extra },
});

describe("recover: slot containers a killed update left half-made (tools/pending-creates)", () => {
    it("finds a pending container create with where its provider reaches the host", () => {
        expect(unfinishedContainers(exported([creating()]))).to.deep.equal([{ urn: containerUrn, name: "l9-green", host: "203.0.113.10", port: 2222 }]);
    });

    it("ignores pending operations that are not container creates, and a state with none", () => {
        const command = { type: "creating", resource: { urn: "urn:x::gate", type: "command:remote:Command", inputs: {}, provider: `${provider}::54f09115` } };
        const deleting = { ...creating(), type: "deleting" };
        expect(unfinishedContainers(exported([command, deleting]))).to.deep.equal([]);
        expect(unfinishedContainers(exported([]))).to.deep.equal([]);
        expect(unfinishedContainers({ deployment: { resources: [] } })).to.deep.equal([]);
    });

    it("refuses to guess: an unknown or non-SSH provider, a container without a name, no deployment", () => {
        expect(() => unfinishedContainers(exported([creating({ provider: `${provider}::gone` })]))).to.throw(/does not reach a host over SSH/);
        expect(() => unfinishedContainers(exported([creating({ provider: `${provider}-other::54f09115` })]))).to.throw(
            /l9-green .*does not reach a host over SSH/,
        );
        expect(() => unfinishedContainers(exported([creating({ inputs: {} })]))).to.throw(/has no name/);
        expect(() => unfinishedContainers({})).to.throw(/no deployment/);
    });

    it("reads the docker provider's ssh:// host, with and without user and port", () => {
        expect(parseDockerSshHost("ssh://root@203.0.113.10:2222")).to.deep.equal({ host: "203.0.113.10", port: 2222 });
        expect(parseDockerSshHost("ssh://deploy@example.com")).to.deep.equal({ host: "example.com", port: 22 });
        expect(parseDockerSshHost("ssh://[2001:db8::1]:22")).to.deep.equal({ host: "2001:db8::1", port: 22 });
        expect(parseDockerSshHost("tcp://203.0.113.10:2375")).to.equal(undefined);
        expect(parseDockerSshHost(undefined)).to.equal(undefined);
    });
});
