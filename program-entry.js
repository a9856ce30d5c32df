// @ts-check
"use strict";
/**
 * What `pulumi` runs (Pulumi.yaml `main`): the program compiled to JavaScript once per change
 * of its sources, then loaded as plain JavaScript. Compiling the TypeScript on every run (ts-node)
 * cost about 1 s of each `pulumi up` and `preview` (docs/performance.md).
 *
 * The compiled program lives in .l9-program/<digest>/ (gitignored). The digest
 * covers every source file the program imports (followed from index.ts), the compiler options
 * of tsconfig.program.json, the TypeScript version and this file, and it is checked on every run: an edited
 * file is recompiled before it runs, so a stale build cannot deploy. Files are compiled one by
 * one without type-checking, as ts-node's transpile-only mode did; `npm test`, the pull-request
 * workflow and `npm run typecheck` type-check.
 */
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const path = require("path");

const root = __dirname;
const cacheDir = path.join(root, ".l9-program");
const manifestPath = path.join(cacheDir, "current.json");
const tsconfigPath = path.join(root, "tsconfig.program.json");
/**
 * The digest of a build: this file (how it compiles), the compiler settings, the TypeScript
 * version and each source file's path and text, the very texts that were compiled.
 * @param {Map<string, string>} sources text by path relative to the project root
 * @param {string} settings the text of tsconfig.program.json
 * @param {string} typescriptVersion
 */
function buildDigest(sources, settings, typescriptVersion) {
    const h = crypto.createHash("sha256");
    h.update(fs.readFileSync(__filename));
    h.update(`\0typescript ${typescriptVersion}\0${settings}`);
    for (const f of [...sources.keys()].sort()) h.update(`\0${f}\0${sources.get(f)}`);
    return h.digest("hex").slice(0, 24);
}

/** Reads files relative to the project root into a map of their texts. */
function readSources(/** @type {string[]} */ files) {
    return new Map(files.map((f) => [f, fs.readFileSync(path.join(root, f), "utf8")]));
}

/** The compiled program's directory when the last build still matches the sources, else undefined. */
function currentBuild() {
    try {
        const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
        const typescript = require("typescript/package.json").version;
        if (buildDigest(readSources(manifest.files), fs.readFileSync(tsconfigPath, "utf8"), typescript) !== manifest.digest) return undefined;
        const dir = path.join(cacheDir, manifest.digest);
        if (!fs.existsSync(path.join(dir, "index.js"))) return undefined;
        // Marks the build as in use, so no other run prunes it as old.
        const now = new Date();
        fs.utimesSync(dir, now, now);
        return dir;
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
    const settings = fs.readFileSync(tsconfigPath, "utf8");
    const config = ts.parseConfigFileTextToJson(tsconfigPath, settings);
    if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"));
    const { options } = ts.convertCompilerOptionsFromJson(config.config.compilerOptions, root);
    const outputs = new Map();
    /** @type {Map<string, string>} */
    const sources = new Map();
    const pending = [path.join(root, "index.ts")];
    while (pending.length > 0) {
        const file = /** @type {string} */ (pending.pop());
        const rel = path.relative(root, file);
        if (outputs.has(rel)) continue;
        const text = fs.readFileSync(file, "utf8");
        // No source maps: @pulumi/pulumi maps every resource's construction stack through them,
        // which cost about 0.4 s a run. Compiled lines stay close to the TypeScript ones.
        const out = ts.transpileModule(text, {
            compilerOptions: { ...options, sourceMap: false, inlineSourceMap: false },
            fileName: file,
            reportDiagnostics: true,
        });
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
        sources.set(rel, text);
        pending.push(...localImports(ts, file, text));
    }
    // The digest names exactly the texts compiled above: a file saved meanwhile is a new digest next run.
    const digest = buildDigest(sources, settings, ts.version);
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
            // Another run renamed its build first; a leftover without index.js is replaced.
            if (!fs.existsSync(path.join(dir, "index.js"))) {
                fs.rmSync(dir, { recursive: true, force: true });
                fs.renameSync(tmp, dir);
            }
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    }
    const manifestTmp = `${manifestPath}.tmp-${process.pid}`;
    fs.writeFileSync(manifestTmp, JSON.stringify({ digest, files: [...sources.keys()] }));
    fs.renameSync(manifestTmp, manifestPath);
    // Builds unused for an hour go (a run reusing one marks it). Best effort: another run may
    // be pruning or writing at the same time.
    for (const entry of fs.readdirSync(cacheDir)) {
        const p = path.join(cacheDir, entry);
        try {
            if (entry !== digest && entry !== "current.json" && !entry.includes(".tmp-") && Date.now() - fs.statSync(p).mtimeMs > 3_600_000) {
                fs.rmSync(p, { recursive: true, force: true });
            }
        } catch {
            // gone already
        }
    }
    return dir;
}

// The Pulumi runtime installs source-map-support, which maps every stack the SDK captures (one
// per promise and per resource: debuggablePromise, Resource.callsites) through the SDKs' source
// maps: about 0.35 s of CPU a run, more under load (docs/performance.md). The program has no
// maps to apply, and V8's own stack format names the SDKs' compiled files instead.
Error.prepareStackTrace = undefined;
/**
 * Makes `request`, as `from` resolves it, load on first use instead of when it is required:
 * its requirers get a stand-in that loads the module when a property is read. With `esModule`,
 * the stand-in says it is an ES module, so TypeScript's `__importStar` keeps the stand-in
 * instead of copying (and so loading) the module at once.
 * @param {string} request
 * @param {string} from
 * @param {{ esModule: boolean }} options
 */
function deferModule(request, from, { esModule }) {
    let file;
    try {
        file = require.resolve(request, { paths: [from] });
    } catch {
        return; // another SDK version may not have it: nothing to defer
    }
    if (require.cache[file]) return;
    /** @type {any} */
    let real;
    const load = () => {
        if (real === undefined) {
            delete require.cache[file];
            real = require(file);
        }
        return real;
    };
    const standIn = new Module(file, module);
    standIn.filename = file;
    standIn.loaded = true;
    standIn.exports = new Proxy(
        {},
        {
            get: (_, key) => (key === "__esModule" && esModule ? true : Reflect.get(load(), key)),
            has: (_, key) => Reflect.has(load(), key),
            ownKeys: () => Reflect.ownKeys(load()),
            getOwnPropertyDescriptor: (_, key) => {
                const d = Reflect.getOwnPropertyDescriptor(load(), key);
                return d && { ...d, configurable: true };
            },
        },
    );
    require.cache[file] = standIn;
}

// The probes' provider plugin (Pulumi.yaml `plugins`) is current before any probe registers.
require("./providers/l9host/build").ensureProviderBuilt((line) => process.stderr.write(`l9-deploy: ${line}\n`));
fs.mkdirSync(cacheDir, { recursive: true });
const build = currentBuild() ?? compile();
// @pulumi/pulumi requires TypeScript and npm's arborist when it loads, for serializing
// functions (dynamic providers, closures), which this program never does: loading them took
// about 0.45 s of every run (docs/performance.md). They load if anything ever reads them.
const sdk = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
deferModule("typescript", sdk, { esModule: false });
deferModule("@npmcli/arborist", path.join(sdk, "runtime", "closure"), { esModule: true });
module.exports = require(path.join(build, "index.js"));
