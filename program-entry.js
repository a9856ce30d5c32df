// @ts-check
"use strict";
/**
 * What `pulumi` runs (Pulumi.yaml `main`): the program compiled to JavaScript once per change
 * of its sources, then loaded as plain JavaScript. Compiling the TypeScript on every run (ts-node)
 * cost about 1 s of each `pulumi up` and `preview` (docs/performance.md).
 *
 * The compiled program lives in .l9-program/<digest>/ (gitignored). Not under node_modules:
 * Pulumi serializes the probes' dynamic provider into the state, and code it finds under
 * node_modules is stored as a `require` of that path, which breaks as soon as the build moves
 * on; code outside node_modules is stored by value. The digest
 * covers every source file the program imports (followed from index.ts), the compiler options
 * of tsconfig.program.json and the TypeScript version, and it is checked on every run: an edited
 * file is recompiled before it runs, so a stale build cannot deploy. Files are compiled one by
 * one without type-checking, as ts-node's transpile-only mode did; `npm test`, the pull-request
 * workflow and `npm run typecheck` type-check.
 */
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const root = __dirname;
const cacheDir = path.join(root, ".l9-program");
const manifestPath = path.join(cacheDir, "current.json");
const tsconfigPath = path.join(root, "tsconfig.program.json");
// Bump when this file changes how output is produced.
const LAYOUT = "3";

/**
 * The digest of the program's sources: this layout, the compiler settings, the TypeScript
 * version and each file's path and content.
 * @param {string[]} files paths relative to the project root
 * @param {string} typescriptVersion
 */
function sourcesDigest(files, typescriptVersion) {
    const h = crypto.createHash("sha256");
    h.update(`layout ${LAYOUT}\ntypescript ${typescriptVersion}\n`);
    h.update(fs.readFileSync(tsconfigPath));
    for (const f of [...files].sort()) {
        h.update(`\0${f}\0`);
        h.update(fs.readFileSync(path.join(root, f)));
    }
    return h.digest("hex").slice(0, 24);
}

/** The compiled program's directory when the last build still matches the sources, else undefined. */
function currentBuild() {
    try {
        const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
        if (manifest.typescript !== require("typescript/package.json").version) return undefined;
        if (sourcesDigest(manifest.files, manifest.typescript) !== manifest.digest) return undefined;
        const dir = path.join(cacheDir, manifest.digest);
        return fs.existsSync(path.join(dir, "index.js")) ? dir : undefined;
    } catch {
        return undefined;
    }
}

/**
 * The relative imports of a TypeScript file, resolved to project files.
 * @param {typeof import("typescript")} ts
 * @param {string} file absolute path
 * @param {string} text
 */
function localImports(ts, file, text) {
    const found = [];
    for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
        if (!ref.fileName.startsWith(".")) continue;
        const base = path.resolve(path.dirname(file), ref.fileName);
        const hit = [`${base}.ts`, path.join(base, "index.ts")].find((p) => fs.existsSync(p));
        if (!hit) throw new Error(`${path.relative(root, file)}: cannot resolve import '${ref.fileName}'`);
        found.push(hit);
    }
    return found;
}

/** Compiles index.ts and everything it imports; returns the new build's directory. */
function compile() {
    const ts = require("typescript");
    const config = ts.readConfigFile(tsconfigPath, ts.sys.readFile);
    if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"));
    const { options } = ts.convertCompilerOptionsFromJson(config.config.compilerOptions, root);
    const outputs = new Map();
    const pending = [path.join(root, "index.ts")];
    while (pending.length > 0) {
        const file = /** @type {string} */ (pending.pop());
        const rel = path.relative(root, file);
        if (outputs.has(rel)) continue;
        const text = fs.readFileSync(file, "utf8");
        // No source maps: @pulumi/pulumi maps every resource's construction stack through them,
        // which cost about 0.4 s a run. Compiled lines stay close to the TypeScript ones.
        const out = ts.transpileModule(text, { compilerOptions: { ...options, sourceMap: false, inlineSourceMap: false }, fileName: file, reportDiagnostics: true });
        const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
        if (errors.length > 0) {
            const where = (/** @type {import("typescript").Diagnostic} */ d) => {
                if (!d.file || d.start === undefined) return rel;
                const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
                return `${rel}:${line + 1}:${character + 1}`;
            };
            throw new Error(errors.map((d) => `${where(d)}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`).join("\n"));
        }
        outputs.set(rel, out);
        pending.push(...localImports(ts, file, text));
    }
    const files = [...outputs.keys()];
    const digest = sourcesDigest(files, ts.version);
    const dir = path.join(cacheDir, digest);
    if (!fs.existsSync(path.join(dir, "index.js"))) {
        // Written aside and renamed: two runs compiling at once each finish a whole build.
        const tmp = `${dir}.tmp-${process.pid}`;
        for (const [rel, out] of outputs) {
            const js = path.join(tmp, rel.replace(/\.ts$/, ".js"));
            fs.mkdirSync(path.dirname(js), { recursive: true });
            fs.writeFileSync(js, out.outputText);
        }
        try {
            fs.renameSync(tmp, dir);
        } catch {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    }
    const manifestTmp = `${manifestPath}.tmp-${process.pid}`;
    fs.writeFileSync(manifestTmp, JSON.stringify({ digest, typescript: ts.version, files }));
    fs.renameSync(manifestTmp, manifestPath);
    // Builds unused for an hour go (a run that started on one may still be loading it).
    for (const entry of fs.readdirSync(cacheDir)) {
        const p = path.join(cacheDir, entry);
        if (entry !== digest && entry !== "current.json" && Date.now() - fs.statSync(p).mtimeMs > 3_600_000) {
            fs.rmSync(p, { recursive: true, force: true });
        }
    }
    return dir;
}

fs.mkdirSync(cacheDir, { recursive: true });
const build = currentBuild() ?? compile();
module.exports = require(path.join(build, "index.js"));
