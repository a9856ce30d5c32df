import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT, toolchainBin } from "../support/toolchain";

// js-yaml is already installed (a dependency of mocha and @pulumi/pulumi) but ships no types:
// only `load` is used.
const yaml: { load(text: string): unknown } = require("js-yaml");

const WORKFLOWS = path.join(REPO_ROOT, ".github/workflows");
/** The environments the README tells operators to protect; any other name GitHub creates unprotected. */
const PROTECTED_ENVIRONMENTS = ["production", "production-preview"];

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === "object" && v !== null && !Array.isArray(v);

function parseWorkflow(text: string): Node {
    const wf = yaml.load(text);
    if (!isNode(wf) || !isNode(wf.jobs)) throw new Error("not a workflow: no jobs");
    return wf;
}

function readWorkflow(name: string): Node {
    return parseWorkflow(fs.readFileSync(path.join(WORKFLOWS, name), "utf8"));
}

function jobsOf(wf: Node): Record<string, Node> {
    const jobs: Record<string, Node> = {};
    for (const [id, job] of Object.entries(wf.jobs as Node)) {
        if (!isNode(job)) throw new Error(`job ${id} is not a mapping`);
        jobs[id] = job;
    }
    return jobs;
}

/** The expressions a node can evaluate: every `${{ ... }}`, and `if:` values (expressions without the braces). */
function expressions(node: unknown, key = ""): string[] {
    if (typeof node === "string") {
        const found = [...node.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1]);
        return key === "if" && found.length === 0 ? [node] : found;
    }
    if (Array.isArray(node)) return node.flatMap((v) => expressions(v));
    if (isNode(node)) return Object.entries(node).flatMap(([k, v]) => expressions(v, k));
    return [];
}

/** References to a secret other than GITHUB_TOKEN (contexts are case-insensitive; `secrets[...]` and `toJSON(secrets)` count). */
function secretRefs(node: unknown): string[] {
    return expressions(node)
        .filter((e) => /\bsecrets\b(?!\s*\.\s*github_token\b)/i.test(e))
        .map((e) => e.trim());
}

function environmentName(job: Node): string | undefined {
    const env = job.environment;
    const name = isNode(env) ? env.name : env;
    return typeof name === "string" && name.trim() !== "" ? name : undefined;
}

/**
 * Why a workflow lets a production secret outside a protected environment: a job that reads a
 * secret (or is handed them, `secrets:` of a reusable-workflow call) with no `environment:`, or
 * a secret read outside `jobs:` (workflow-level `env:` reaches every job).
 */
function secretsOutsideEnvironments(text: string): string[] {
    const wf = parseWorkflow(text);
    const problems: string[] = [];
    const { jobs: _jobs, ...outsideJobs } = wf;
    for (const ref of secretRefs(outsideJobs)) problems.push(`workflow level reads ${ref}`);
    for (const [id, job] of Object.entries(jobsOf(wf))) {
        const refs = secretRefs(job);
        if (job.secrets !== undefined) refs.push(`secrets: ${JSON.stringify(job.secrets)}`);
        if (refs.length > 0 && environmentName(job) === undefined) {
            problems.push(`job ${id} reads ${refs.join(", ")} without environment:`);
        }
    }
    return problems;
}

/** The workflow's triggers, whichever of the three forms `on:` takes. */
function triggers(wf: Node): string[] {
    const on = wf.on;
    if (typeof on === "string") return [on];
    if (Array.isArray(on)) return on.map(String);
    return isNode(on) ? Object.keys(on) : [];
}

/** The GitHub workflows, checked by a real linter (actionlint, built by scripts/toolchain.sh). */
describe("host: GitHub workflows pass actionlint", () => {
    const actionlint = () => path.join(toolchainBin(), "actionlint");
    const lint = (files: string[]) => spawnSync(actionlint(), ["-color=false", ...files], { encoding: "utf8" });

    it("the pull request preview, drift and release workflows are clean", () => {
        const files = fs.readdirSync(WORKFLOWS).map((f) => path.join(WORKFLOWS, f));
        expect(files.map((f) => path.basename(f))).to.include.members(["pull-request.yml", "drift.yml", "release.yml"]);
        const r = lint(files);
        expect(r.status, r.stdout + r.stderr).to.equal(0);
    });

    it("the pull request workflow previews with refresh and the policy pack, comments, and never applies", () => {
        const wf = fs.readFileSync(path.join(WORKFLOWS, "pull-request.yml"), "utf8");
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
        fs.writeFileSync(
            bad,
            "on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n" +
                "      - run: echo ${{ github.event.pull_request.nosuchfield.x }}\n" +
                "      - uses: actions/checkout@v4\n        with:\n          no-such-input: 1\n",
        );
        const r = lint([bad]);
        expect(r.status).to.not.equal(0);
        fs.rmSync(dir, { recursive: true, force: true });
    });
});

/** Issue 22: production secrets reach only jobs in protected environments. */
describe("host: GitHub workflows keep production secrets in protected environments", () => {
    const names = () => fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));

    it("every job that reads a secret (other than GITHUB_TOKEN) runs in an environment, and only in a protected one", () => {
        let secretJobs = 0;
        for (const name of names()) {
            const text = fs.readFileSync(path.join(WORKFLOWS, name), "utf8");
            expect(secretsOutsideEnvironments(text), name).to.deep.equal([]);
            for (const [id, job] of Object.entries(jobsOf(parseWorkflow(text)))) {
                const env = environmentName(job);
                if (env !== undefined) expect(PROTECTED_ENVIRONMENTS, `${name}: job ${id}`).to.include(env);
                if (secretRefs(job).length > 0) secretJobs++;
            }
        }
        // The preview, the drift check and the release read secrets: the check above judged them.
        expect(secretJobs).to.be.at.least(3);
    });

    it("the check fails on a workflow that hands a secret to a job outside an environment", () => {
        const ok =
            "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    environment: production\n" +
            '    steps:\n      - run: echo "$X"\n        env:\n          X: ${{ secrets.PULUMI_CONFIG_PASSPHRASE }}\n';
        expect(secretsOutsideEnvironments(ok)).to.deep.equal([]);
        // The same job without its environment.
        expect(secretsOutsideEnvironments(ok.replace("    environment: production\n", ""))).to.have.length(1);
        // Contexts are case-insensitive; bracket access and toJSON(secrets) read them too.
        const bare = (expr: string) =>
            `on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"$X\"\n        env:\n          X: \${{ ${expr} }}\n`;
        for (const expr of ["SECRETS.AWS_ACCESS_KEY_ID", "secrets['AWS_SECRET_ACCESS_KEY']", "toJSON(secrets)", "format('{0}', secrets.PULUMI_BACKEND_URL)"]) {
            expect(secretsOutsideEnvironments(bare(expr)), expr).to.have.length(1);
        }
        expect(secretsOutsideEnvironments(bare("secrets.GITHUB_TOKEN")), "GITHUB_TOKEN is no production secret").to.deep.equal([]);
        // A workflow-level env reaches every job; a reusable workflow called with `secrets: inherit` gets them all.
        expect(
            secretsOutsideEnvironments(
                "on: push\nenv:\n  X: ${{ secrets.PULUMI_CONFIG_PASSPHRASE }}\njobs:\n" +
                    "  a:\n    runs-on: ubuntu-latest\n    environment: production\n    steps:\n      - run: true\n",
            ),
        ).to.have.length(1);
        expect(secretsOutsideEnvironments("on: push\njobs:\n  a:\n    uses: ./.github/workflows/deploy.yml\n    secrets: inherit\n")).to.have.length(1);
        // The real pull request workflow with its preview's environment removed.
        const pr = fs.readFileSync(path.join(WORKFLOWS, "pull-request.yml"), "utf8");
        const ungated = pr.replace(/^\s+environment: production-preview\n/m, "\n");
        expect(ungated).to.not.equal(pr);
        expect(secretsOutsideEnvironments(ungated).join("\n")).to.match(/job preview reads .*secrets\.PULUMI_CONFIG_PASSPHRASE/);
    });

    it("no workflow uses pull_request_target, and no run: script expands an expression", () => {
        for (const name of names()) {
            const wf = parseWorkflow(fs.readFileSync(path.join(WORKFLOWS, name), "utf8"));
            expect(triggers(wf), name).to.not.include("pull_request_target");
            // A ${{ }} in a script is pasted into the shell before it runs (script injection): values go through env:.
            for (const [id, job] of Object.entries(jobsOf(wf))) {
                const steps = Array.isArray(job.steps) ? job.steps.filter(isNode) : [];
                for (const step of steps) {
                    if (typeof step.run === "string") expect(step.run, `${name}: job ${id}`).to.not.contain("${{");
                }
            }
        }
    });

    it("pull requests: tests and type-check run ungated without secrets; the preview waits for a reviewer in production-preview", () => {
        const wf = readWorkflow("pull-request.yml");
        expect(triggers(wf)).to.deep.equal(["pull_request"]);
        const { unit, preview } = jobsOf(wf);
        expect(secretRefs(unit)).to.deep.equal([]);
        expect(environmentName(unit)).to.equal(undefined);
        const unitRuns = (unit.steps as Node[]).map((s) => s.run);
        expect(unitRuns).to.include.members(["npx tsc --noEmit -p .", "npm run test:unit"]);
        expect(environmentName(preview)).to.equal("production-preview");
        expect(preview.needs).to.satisfy((n: unknown) => n === "unit" || (Array.isArray(n) && n.includes("unit")));
        expect(secretRefs(preview)).to.not.deep.equal([]);
    });

    it("the drift check runs in production", () => {
        const { drift } = jobsOf(readWorkflow("drift.yml"));
        expect(environmentName(drift)).to.equal("production");
    });

    it("the release workflow: a v* tag or a manual tag, pulumi up of production in its environment, one at a time, result in the job summary", () => {
        const wf = readWorkflow("release.yml");
        const on = wf.on as Node;
        expect((on.push as Node).tags).to.deep.equal(["v*"]);
        expect((((on.workflow_dispatch as Node).inputs as Node).tag as Node).required).to.equal(true);
        // One release at a time; a running `pulumi up` is never cancelled by the next one.
        expect(wf.concurrency).to.satisfy((c: unknown) => isNode(c) && typeof c.group === "string" && c["cancel-in-progress"] === false);
        const jobs = Object.values(jobsOf(wf));
        expect(jobs).to.have.length(1);
        const [release] = jobs;
        expect(environmentName(release)).to.equal("production");
        const steps = (release.steps as Node[]).filter((s) => typeof s.run === "string");
        const script = steps.map((s) => s.run as string).join("\n");
        expect(script).to.match(/pulumi config set releaseTag "\$RELEASE_TAG" --stack production/);
        expect(script).to.match(/pulumi up --stack production --yes/);
        expect(script).to.contain("$GITHUB_STEP_SUMMARY");
        expect(script).to.not.contain("destroy");
    });

    it("the release workflow refuses a tag that is not a release tag before anything else runs", () => {
        const release = Object.values(jobsOf(readWorkflow("release.yml")))[0];
        const [first] = release.steps as Node[];
        expect(first.run, "the first step checks the tag").to.be.a("string");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-release-tag-"));
        try {
            const canary = path.join(dir, "ran");
            const check = (tag: string) =>
                spawnSync("bash", ["-e", "-c", first.run as string], { env: { ...process.env, RELEASE_TAG: tag }, encoding: "utf8" }).status;
            for (const tag of ["v0.2.0-l9", "v1.2.3", "v1.2.3-rc.1"]) expect(check(tag), tag).to.equal(0);
            for (const tag of ["", "main", "v1.2", "v1.2.3-", `v1.2.3$(touch ${canary})`, "v1.2.3;id", "v1.2.3\nv1.2.4", "v1.2.3 -l9"]) {
                expect(check(tag), JSON.stringify(tag)).to.not.equal(0);
            }
            expect(fs.existsSync(canary), "a tag's shell syntax never runs").to.equal(false);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
