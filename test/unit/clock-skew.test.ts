import { expect } from "chai";
import { describeClockSkew } from "../../ssh/host-check";

describe("unit: host clock bound (checked before any resource)", () => {
    const before = 1_800_000_000_000;
    const after = before + 400; // the SSH round trip

    it("accepts a host reading inside the round trip, its truncated second included", () => {
        expect(describeClockSkew(before / 1000, before, after, 1)).to.equal(null);
        expect(describeClockSkew(Math.floor(before / 1000) - 1 + 0.0, before + 900, after + 900, 1)).to.equal(null);
    });

    it("accepts skew up to the bound and refuses beyond it, saying which way and how to fix it", () => {
        expect(describeClockSkew(before / 1000 - 30, before, after, 30)).to.equal(null);
        const behind = describeClockSkew(before / 1000 - 120, before, after, 30)!;
        expect(behind).to.match(/^the host's clock is 119 s behind this machine's, beyond maxClockSkewSeconds=30; nothing ran/);
        expect(behind).to.contain("timedatectl");
        const ahead = describeClockSkew(before / 1000 + 95, before, after, 30)!;
        expect(ahead).to.match(/^the host's clock is 95 s ahead of this machine's/);
    });
});
