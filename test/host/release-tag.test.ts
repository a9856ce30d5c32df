import { expect } from "chai";
import { spawnSync } from "child_process";
import * as path from "path";
import { sandboxFacts, sh } from "../support/sandbox";
import { REPO_ROOT } from "../support/toolchain";

/** `npm run release` against a clone of the sample app's origin. */
describe("host: npm run release cuts the next annotated tag, or refuses", function () {
    this.timeout(120_000);
    let clone: string;
    let origin: string;

    const release = (...args: string[]) => {
        const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts/node.sh"), "tools/release-tag.ts", ...args, "--repo", clone], { encoding: "utf8" });
        return { code: r.status, out: r.stdout, err: r.stderr };
    };

    beforeEach(() => {
        const dir = sh("mktemp -d").trim();
        origin = `${dir}/origin.git`;
        clone = `${dir}/app`;
        sh(
            `git clone -q --bare '${sandboxFacts().repoDir}' '${origin}' && ` +
                `git clone -q '${origin}' '${clone}' && ` +
                `git -C '${clone}' config user.email ops@example.com && git -C '${clone}' config user.name ops`,
        );
    });

    it("patch: v0.6.0-l9 is the highest tag, so v0.6.1-l9, annotated, at main's head; prints push and deploy", () => {
        const r = release("patch");
        expect(r.code, r.err).to.equal(0);
        expect(sh(`git -C '${clone}' cat-file -t v0.6.1-l9`).trim()).to.equal("tag");
        expect(sh(`git -C '${clone}' rev-parse 'v0.6.1-l9^{commit}'`).trim()).to.equal(sh(`git -C '${clone}' rev-parse HEAD`).trim());
        expect(r.out).to.contain("push origin v0.6.1-l9");
        expect(r.out).to.contain("pulumi config set releaseTag v0.6.1-l9");
    });

    it("minor and major bump and reset the lower parts", () => {
        expect(release("minor").code).to.equal(0);
        expect(sh(`git -C '${clone}' tag --list 'v0.7.0-l9'`).trim()).to.equal("v0.7.0-l9");
        expect(release("major").code).to.equal(0);
        expect(sh(`git -C '${clone}' tag --list 'v1.0.0-l9'`).trim()).to.equal("v1.0.0-l9");
    });

    it("refuses a dirty tree", () => {
        sh(`echo x >> '${clone}/README'`);
        const r = release("patch");
        expect(r.code).to.equal(1);
        expect(r.err).to.contain("uncommitted changes");
        expect(sh(`git -C '${clone}' tag --list 'v0.6.1-l9'`).trim()).to.equal("");
    });

    it("refuses off main", () => {
        sh(`git -C '${clone}' checkout -q -b feature`);
        const r = release("patch");
        expect(r.code).to.equal(1);
        expect(r.err).to.contain("not main");
    });

    it("refuses when main is behind its upstream", () => {
        const other = sh("mktemp -d").trim();
        sh(
            `git clone -q '${origin}' '${other}/x' && cd '${other}/x' && ` +
                `git -c user.email=a@example.com -c user.name=a commit -q --allow-empty -m ahead && git push -q origin main`,
        );
        const r = release("patch");
        expect(r.code).to.equal(1);
        expect(r.err).to.match(/1 commit\(s\) behind origin\/main/);
    });

    it("rejects an unknown bump", () => {
        expect(release("huge").code).to.equal(2);
    });
});
