import { expect } from "chai";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { script, sh } from "../../host-scripts/shell";
import { renderStepLibrary, renderStepPrologue, stepLibraryPath } from "../../host-scripts/step-library";

/**
 * The release steps' library (host-scripts/step-library.ts): each step carries it and installs
 * it when the host lacks that exact version, so no step runs without the functions it was
 * rendered with. Run here with the local sh, in a temporary appDir.
 */
describe("unit: the release steps' library", () => {
    let appDir: string;
    beforeEach(() => {
        appDir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-steps-"));
    });
    afterEach(() => fs.rmSync(appDir, { recursive: true, force: true }));

    const step = () => script(renderStepPrologue(appDir, "step t"), sh`say 'the library is loaded'`);
    const run = () => spawnSync("sh", ["-c", step()], { encoding: "utf8" });

    it("is installed by the first step that runs, mode 600, and then sourced", () => {
        const r = run();
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stderr).to.equal("[step t] the library is loaded\n");
        const file = stepLibraryPath(appDir);
        expect(fs.readFileSync(file, "utf8")).to.equal(renderStepLibrary());
        expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
    });

    it("is installed again when it was edited or removed, and other versions go", () => {
        const file = stepLibraryPath(appDir);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, "say() { echo edited; }\n");
        const older = path.join(path.dirname(file), "l9-steps-000000000000.sh");
        fs.writeFileSync(older, "# an older version\n");
        const notOurs = path.join(path.dirname(file), "drift-check");
        fs.writeFileSync(notOurs, "#!/bin/sh\n");
        const r = run();
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stderr).to.equal("[step t] the library is loaded\n");
        expect(fs.readFileSync(file, "utf8")).to.equal(renderStepLibrary());
        expect(fs.existsSync(older)).to.equal(false);
        expect(fs.existsSync(notOurs)).to.equal(true);
        fs.rmSync(file);
        expect(run().status).to.equal(0);
        expect(fs.readFileSync(file, "utf8")).to.equal(renderStepLibrary());
    });

    it("is never removed under a step that installs it at the same time as another (one rename each, others only removed after)", async () => {
        const runOne = () =>
            new Promise<number>((resolve) => {
                const child = spawn("sh", ["-c", step()], { stdio: "ignore" });
                child.on("exit", (code) => resolve(code ?? -1));
            });
        for (let round = 0; round < 15; round++) {
            fs.rmSync(path.dirname(stepLibraryPath(appDir)), { recursive: true, force: true });
            const codes = await Promise.all([runOne(), runOne(), runOne(), runOne()]);
            expect(codes, `round ${round}`).to.deep.equal([0, 0, 0, 0]);
        }
        expect(fs.readdirSync(path.dirname(stepLibraryPath(appDir)))).to.deep.equal([path.basename(stepLibraryPath(appDir))]);
    });

    it("stops the step, naming the library, when it cannot be installed", () => {
        // appDir's bin is a file: nothing can be written there.
        fs.writeFileSync(path.dirname(stepLibraryPath(appDir)), "");
        const r = run();
        expect(r.status).to.equal(1);
        expect(r.stderr).to.contain(`step t failed: l9-deploy's step library could not be installed at ${stepLibraryPath(appDir)}; nothing was changed`);
        expect(r.stderr).to.not.contain("the library is loaded");
        // A write that failed half-way leaves no temporary file behind.
        fs.rmSync(path.dirname(stepLibraryPath(appDir)));
        fs.mkdirSync(path.dirname(stepLibraryPath(appDir)), { mode: 0o500 });
        const ro = spawnSync("sh", ["-c", step()], { encoding: "utf8" });
        if (process.getuid?.() !== 0) expect(ro.status).to.equal(1);
        expect(fs.readdirSync(path.dirname(stepLibraryPath(appDir))).filter((f) => f.includes(".sh."))).to.deep.equal([]);
    });

    it("keeps every release step's rendered script within 60 lines (the golden configs)", () => {
        const golden = path.join(__dirname, "golden");
        const steps = fs.readdirSync(golden).filter((f) => /^(switch|canary|gate|release-hooks)[a-z-]*\.sh$/.test(f));
        expect(steps.length).to.be.greaterThan(5);
        for (const f of steps) {
            const count = fs.readFileSync(path.join(golden, f), "utf8").split("\n").length - 1;
            expect(count, f).to.be.at.most(60);
        }
    });
});
