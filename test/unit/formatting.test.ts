import { expect } from "chai";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const root = path.resolve(__dirname, "../..");
const LINE_LIMIT = 160;
/** The project's own TypeScript and JavaScript, as git tracks them (the sample app is another repository). */
function sourceFiles(): string[] {
    const r = spawnSync("git", ["ls-files", "*.ts", "*.js"], { cwd: root, encoding: "utf8" });
    expect(r.status, r.stderr).to.equal(0);
    return r.stdout.split("\n").filter((f) => f && !f.startsWith("test/fixtures/"));
}

describe("unit: source formatting (prettier, .prettierrc.json)", function () {
    this.timeout(120_000);

    it("every TypeScript and JavaScript file is as the formatter writes it (fix: npm run format)", () => {
        const files = sourceFiles();
        expect(files.length).to.be.greaterThan(50);
        const r = spawnSync(path.join(root, "node_modules/.bin/prettier"), ["--check", ...files], { cwd: root, encoding: "utf8" });
        expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
    });

    // Shell lines too: a long one is built from named sh`` parts, so its rendered text (the golden files) stays one line.
    it(`no line over ${LINE_LIMIT} characters (golden files and the sample app are not sources)`, () => {
        const long = sourceFiles().flatMap((f) =>
            fs
                .readFileSync(path.join(root, f), "utf8")
                .split("\n")
                .flatMap((line, i) => (line.length > LINE_LIMIT ? [`${f}:${i + 1} (${line.length})`] : [])),
        );
        expect(long, `lines over ${LINE_LIMIT}`).to.deep.equal([]);
    });
});
