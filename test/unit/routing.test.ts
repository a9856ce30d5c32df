import { expect } from "chai";
import {
    caddyServerArgs,
    caddyServerName,
    caddyUpstreamId,
    canaryMarkerFile,
    greenMarkerFile,
    legacyCaddyServerName,
    slotCanaryMarkerPrefix,
    slotDial,
    slotPort,
    slotUpstreamsJson,
} from "../../host-scripts/routing";
import { caddyServerConfig } from "../../host-scripts/caddy";
import { SAMPLE_ROUTING } from "./fixtures";

describe("unit: routing names and addresses (host-scripts/routing.ts)", () => {
    const ports = { bluePort: 8001, greenPort: 8002 };

    it("maps each colour to its port, dial and upstreams as Caddy prints them", () => {
        expect([slotPort(ports, "blue"), slotPort(ports, "green")]).to.deep.equal([8001, 8002]);
        expect(slotDial(ports, "green")).to.equal("127.0.0.1:8002");
        expect(slotUpstreamsJson(ports, "blue")).to.equal('[{"dial":"127.0.0.1:8001"}]');
    });

    it("the Caddy config's handlers carry exactly those ids and upstreams", () => {
        const config = JSON.stringify(caddyServerConfig(caddyServerArgs(SAMPLE_ROUTING)));
        for (const color of ["blue", "green"] as const) {
            const handler = `"@id":"${caddyUpstreamId(SAMPLE_ROUTING.serviceName, color)}","upstreams":${slotUpstreamsJson(SAMPLE_ROUTING, color)}`;
            expect(config).to.contain(handler);
        }
        expect(config).to.contain(greenMarkerFile(caddyServerArgs(SAMPLE_ROUTING).markerDir, SAMPLE_ROUTING.serviceName));
    });

    it("names the server with l9-deploy's prefix, and knows the name earlier versions used", () => {
        expect(caddyServerName("api")).to.equal("l9-api");
        expect(legacyCaddyServerName("api")).to.equal("api");
    });

    it("a canary marker starts with its slot's prefix, so a glob on the prefix finds every step's", () => {
        const m = canaryMarkerFile("/m", "api", "green", 25);
        expect(m).to.equal("/m/api-canary-green-25.on");
        expect(m.startsWith(slotCanaryMarkerPrefix("/m", "api", "green"))).to.equal(true);
        expect(m.startsWith(slotCanaryMarkerPrefix("/m", "api", "blue"))).to.equal(false);
    });
});
