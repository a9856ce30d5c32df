import { expect } from "chai";
import { nextReleaseTag, releaseVersions } from "../../tools/release-tag-plan";

describe("unit: next release tag", () => {
    const f = { prefix: "v", suffix: "-l9" };
    const tags = ["v0.1.0-l9", "v0.10.0-l9", "v0.9.3-l9", "v2.0.0-rc1", "latest", "v1.0.0", ""];

    it("orders versions numerically and ignores tags of another format", () => {
        expect(releaseVersions(tags, f)).to.deep.equal([
            [0, 10, 0],
            [0, 9, 3],
            [0, 1, 0],
        ]);
    });
    it("bumps patch, minor, major from the highest", () => {
        expect(nextReleaseTag(tags, "patch", f)).to.equal("v0.10.1-l9");
        expect(nextReleaseTag(tags, "minor", f)).to.equal("v0.11.0-l9");
        expect(nextReleaseTag(tags, "major", f)).to.equal("v1.0.0-l9");
    });
    it("starts from 0.0.0 in a repository without releases", () => {
        expect(nextReleaseTag([], "minor", f)).to.equal("v0.1.0-l9");
    });
});
