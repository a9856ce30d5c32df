import { expect } from "chai";
import { caddyServerConfig, canaryThreshold } from "../../host-scripts/caddy";
import { canaryPercents } from "../../host-scripts/canary";
import { caddyServerArgs } from "../../host-scripts/routing";
import { SAMPLE_ROUTING } from "./fixtures";

describe("unit: canary routing", () => {
    it("ramps in equal steps up to the configured percent, never below 1 % and without repeats", () => {
        expect(canaryPercents(20, 1)).to.deep.equal([20]);
        expect(canaryPercents(20, 2)).to.deep.equal([10, 20]);
        expect(canaryPercents(50, 4)).to.deep.equal([13, 25, 38, 50]);
        expect(canaryPercents(3, 3)).to.deep.equal([1, 2, 3]);
    });

    it("splits by the first two hex digits of a request's bucket: the threshold is the share of 256", () => {
        expect(canaryThreshold(20)).to.equal("33"); // 51/256 = 19.9 %
        expect(canaryThreshold(10)).to.equal("1a"); // 26/256 = 10.2 %
        expect(canaryThreshold(50)).to.equal("80");
        expect(canaryThreshold(1)).to.equal("03");
        expect(canaryThreshold(99)).to.equal("fd");
        // Every threshold is within half a bucket of the percent.
        for (let p = 1; p <= 99; p++) expect(Math.abs((parseInt(canaryThreshold(p), 16) / 256) * 100 - p)).to.be.at.most(0.2);
    });

    it("without a canary the server config has no canary route and no access log (existing stacks keep their config id)", () => {
        const plain = JSON.stringify(caddyServerConfig(caddyServerArgs(SAMPLE_ROUTING)));
        expect(plain).to.not.include("canary");
        expect(plain).to.not.include("skip_log");
        expect(plain).to.not.include('"logs"');
    });

    it("with a canary, only the canary routes are logged, and they come before the slots' routes", () => {
        const config = caddyServerConfig(caddyServerArgs({ ...SAMPLE_ROUTING, canary: { percents: [10, 20], sticky: false } })) as {
            routes: Array<{ match?: Array<{ expression?: string; file?: { try_files: string[] } }>; handle: Array<{ handler: string; skip_log?: boolean }> }>;
            logs: { default_logger_name: string };
        };
        expect(config.logs.default_logger_name).to.equal("l9-canary");
        const canaryRoutes = config.routes.filter((r) => r.match?.[0].file?.try_files[0].includes("-canary-"));
        expect(canaryRoutes.map((r) => r.match![0].file!.try_files[0].split("/").pop())).to.deep.equal([
            "l9-canary-green-10.on",
            "l9-canary-green-20.on",
            "l9-canary-blue-10.on",
            "l9-canary-blue-20.on",
        ]);
        expect(canaryRoutes.every((r) => !r.handle.some((h) => h.skip_log))).to.equal(true);
        const others = config.routes.filter((r) => !canaryRoutes.includes(r));
        expect(others.every((r) => r.handle[0].handler === "vars" && r.handle[0].skip_log === true)).to.equal(true);
        expect(config.routes.indexOf(canaryRoutes[3])).to.be.below(config.routes.length - 2);
        expect(canaryRoutes[0].match![0].expression).to.equal('string({http.request.uuid}).substring(0, 2) < "1a"');
    });
});
