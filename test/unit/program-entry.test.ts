import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");

/**
 * program-entry.js (what `pulumi` runs) in a scratch project of its own: the real entry file,
 * build script (scripts/build-program.js) and compiler settings, a two-file program, and this
 * project's TypeScript and Pulumi SDK.
 * The probes' provider is this project's (linked: Node resolves it to this project, where it
 * is built already).
 */
function scratchProject(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "l9-entry-"));
    fs.copyFileSync(path.join(ROOT, "program-entry.js"), path.join(dir, "program-entry.js"));
    fs.copyFileSync(path.join(ROOT, "tsconfig.program.json"), path.join(dir, "tsconfig.program.json"));
    fs.mkdirSync(path.join(dir, "scripts"));
    fs.copyFileSync(path.join(ROOT, "scripts", "build-program.js"), path.join(dir, "scripts", "build-program.js"));
    fs.mkdirSync(path.join(dir, "node_modules"));
    fs.symlinkSync(path.join(ROOT, "node_modules", "typescript"), path.join(dir, "node_modules", "typescript"));
    fs.symlinkSync(path.join(ROOT, "node_modules", "@pulumi"), path.join(dir, "node_modules", "@pulumi"));
    fs.symlinkSync(path.join(ROOT, "node_modules", "@types"), path.join(dir, "node_modules", "@types"));
    fs.mkdirSync(path.join(dir, "providers"));
    fs.symlinkSync(path.join(ROOT, "providers", "l9host"), path.join(dir, "providers", "l9host"));
    fs.mkdirSync(path.join(dir, "lib"));
    fs.writeFileSync(path.join(dir, "index.ts"), `import { answer } from "./lib/answer";\nexport = (): string => answer();\n`);
    return dir;
}

/** What the entry exports, called, in a fresh Node process (as the language host loads it). */
function runEntry(dir: string): string {
    return execFileSync(process.execPath, ["-e", `process.stdout.write(require(${JSON.stringify(path.join(dir, "program-entry.js"))})())`], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
    });
}

const builds = (dir: string) => fs.readdirSync(path.join(dir, ".l9-program")).filter((e) => e !== "current.json");

describe("unit: program entry (the program compiled ahead by tsc, checked against its sources)", function () {
    this.timeout(60_000);
    let dir: string;
    beforeEach(() => {
        dir = scratchProject();
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("compiles the imported files, reuses the build while nothing changed, and recompiles an edited file before it runs", () => {
        fs.writeFileSync(path.join(dir, "lib", "answer.ts"), `export const answer = (): string => "one";\n`);
        expect(runEntry(dir)).to.equal("one");
        const first = builds(dir);
        expect(first).to.have.length(1);
        const manifest = JSON.parse(fs.readFileSync(path.join(dir, ".l9-program", "current.json"), "utf8"));
        expect([...manifest.files].sort()).to.deep.equal(["index.ts", path.join("lib", "answer.ts")]);

        const compiled = path.join(dir, ".l9-program", first[0], "lib", "answer.js");
        const mtime = fs.statSync(compiled).mtimeMs;
        expect(runEntry(dir)).to.equal("one");
        expect(fs.statSync(compiled).mtimeMs, "an unchanged program is not recompiled").to.equal(mtime);

        fs.writeFileSync(path.join(dir, "lib", "answer.ts"), `export const answer = (): string => "two";\n`);
        expect(runEntry(dir), "the edited file runs, not the old build").to.equal("two");
        expect(builds(dir)).to.have.length(2);
    });

    it("recompiles when the compiler settings change", () => {
        fs.writeFileSync(path.join(dir, "lib", "answer.ts"), `export const answer = (): string => "one";\n`);
        runEntry(dir);
        const settings = path.join(dir, "tsconfig.program.json");
        const config = JSON.parse(fs.readFileSync(settings, "utf8"));
        config.compilerOptions.target = "ES2020";
        fs.writeFileSync(settings, JSON.stringify(config));
        runEntry(dir);
        expect(builds(dir)).to.have.length(2);
    });

    it("recompiles when the build script changes (how it compiles is part of the build's name)", () => {
        fs.writeFileSync(path.join(dir, "lib", "answer.ts"), `export const answer = (): string => "one";\n`);
        runEntry(dir);
        fs.appendFileSync(path.join(dir, "scripts", "build-program.js"), "\n// changed\n");
        expect(runEntry(dir)).to.equal("one");
        expect(builds(dir)).to.have.length(2);
    });

    it("an import that does not resolve stops the run before the program does anything, naming the import and the file", () => {
        // tsc without type-checking does not resolve imports: loading the build does, at once.
        fs.writeFileSync(path.join(dir, "lib", "answer.ts"), `import { gone } from "./gone";\nexport const answer = (): string => gone;\n`);
        expect(() => runEntry(dir)).to.throw(/Cannot find module '\.\/gone'[\s\S]*lib\/answer\.js/);
        // The missing file created (the import left as it was): a new build, which runs.
        fs.writeFileSync(path.join(dir, "lib", "gone.ts"), `export const gone = "found";\n`);
        expect(runEntry(dir)).to.equal("found");
    });

    it("refuses a syntax error, naming the file, line and column, and keeps no build of it", () => {
        fs.writeFileSync(path.join(dir, "lib", "answer.ts"), `export const answer = (): string => {;\n`);
        expect(() => runEntry(dir)).to.throw(/lib\/answer\.ts\(2,1\): error TS1005: '\}' expected/);
        expect(fs.readdirSync(path.join(dir, ".l9-program"))).to.deep.equal([]);
    });

    it("npm run build (scripts/build-program.js) builds ahead: the entry then loads that build and compiles nothing", () => {
        fs.writeFileSync(path.join(dir, "lib", "answer.ts"), `export const answer = (): string => "ahead";\n`);
        execFileSync(process.execPath, [path.join(dir, "scripts", "build-program.js")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        const built = builds(dir);
        expect(built).to.have.length(1);
        const compiled = path.join(dir, ".l9-program", built[0], "lib", "answer.js");
        const mtime = fs.statSync(compiled).mtimeMs;
        expect(runEntry(dir)).to.equal("ahead");
        expect(fs.statSync(compiled).mtimeMs).to.equal(mtime);
        expect(builds(dir)).to.deep.equal(built);
    });

    it("loads @pulumi/pulumi without TypeScript and arborist, which load whole once something reads them", () => {
        fs.writeFileSync(
            path.join(dir, "index.ts"),
            `import * as pulumi from "@pulumi/pulumi";
import { types } from "util";
export = (): string => {
    const files = {
        typescript: require.resolve("typescript", { paths: [require.resolve("@pulumi/pulumi")] }),
        arborist: require.resolve("@npmcli/arborist", { paths: [require.resolve("@pulumi/pulumi/runtime/closure/codePaths")] }),
    };
    const deferred = () => [types.isProxy(require.cache[files.typescript]?.exports), types.isProxy(require.cache[files.arborist]?.exports)];
    const before = deferred();
    const version = require(files.typescript).version;
    const arborist = typeof require(files.arborist).Arborist;
    return JSON.stringify({ sdk: typeof pulumi.Output, before, version, arborist, after: deferred() });
};
`,
        );
        // tsc compiles in a process of its own: no run loads TypeScript, the first included.
        expect(JSON.parse(runEntry(dir)).before).to.deep.equal([true, true]);
        expect(JSON.parse(runEntry(dir))).to.deep.equal({
            sdk: "function",
            before: [true, true],
            version: JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "typescript", "package.json"), "utf8")).version,
            arborist: "function",
            // Read once, each is the module itself from then on.
            after: [false, false],
        });
    });
});
