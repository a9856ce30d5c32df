import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT, toolchainBin } from "../support/toolchain";

/** The GitHub workflows, checked by a real linter (actionlint, built by scripts/toolchain.sh). */
describe("host: GitHub workflows pass actionlint", () => {
    const actionlint = () => path.join(toolchainBin(), "actionlint");
    const lint = (files: string[]) => spawnSync(actionlint(), ["-color=false", ...files], { encoding: "utf8" });

    it("the pull request preview and drift workflows are clean", () => {
        const files = fs.readdirSync(path.join(REPO_ROOT, ".github/workflows")).map((f) => path.join(REPO_ROOT, ".github/workflows", f));
        expect(files.map((f) => path.basename(f))).to.include.members(["pull-request.yml", "drift.yml"]);
        const r = lint(files);
        expect(r.status, r.stdout + r.stderr).to.equal(0);
    });

    it("the pull request workflow previews with refresh and the policy pack, comments, and never applies", () => {
        const wf = fs.readFileSync(path.join(REPO_ROOT, ".github/workflows/pull-request.yml"), "utf8");
        expect(wf).to.match(/^\s+pull_request:/m);
        expect(wf).to.contain("command: preview");
        expect(wf).to.contain("refresh: true");
        expect(wf).to.contain("policyPacks: policies");
        expect(wf).to.contain("comment-on-pr: true");
        expect(wf).to.contain("pull-requests: write");
        expect(wf).to.not.match(/command: (up|update|destroy)/);
        expect(wf).to.not.contain("StrictHostKeyChecking");
    });

    it("actionlint does catch a broken workflow (the check can fail)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-actionlint-"));
        const bad = path.join(dir, "bad.yml");
        fs.writeFileSync(bad, "on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.event.pull_request.nosuchfield.x }}\n      - uses: actions/checkout@v4\n        with:\n          no-such-input: 1\n");
        const r = lint([bad]);
        expect(r.status).to.not.equal(0);
        fs.rmSync(dir, { recursive: true, force: true });
    });
});
