// @ts-check
"use strict";
/**
 * `npm run build`: compiles the program with `tsc` (tsconfig.program.json: the project's
 * options, no type-check, which `npm test`, the pull-request workflow and `npm run typecheck`
 * do) into .l9-program/<digest>/ (gitignored), and records it in .l9-program/current.json.
 * scripts/setup.sh and the workflows run it ahead, so `pulumi` loads JavaScript and compiles
 * nothing; program-entry.js runs it only when the sources changed since (a stale build never
 * deploys).
 *
 * The digest covers every TypeScript source of the project outside test/ (path and text),
 * tsconfig.program.json, the TypeScript version and this file. A source saved while tsc ran is
 * caught by reading them all again after it, and compiled again.
 */
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");

const root = path.resolve(__dirname, "..");
const outRoot = path.join(root, ".l9-program");
const manifestPath = path.join(outRoot, "current.json");
const tsconfigPath = path.join(root, "tsconfig.program.json");

/**
 * Every TypeScript source of the project (relative path → text): what a build is named after.
 * All of them, not only those tsc reached: a file created where an import pointed (or next to a
 * folder's index.ts) changes what the program loads, so it must change the digest too.
 */
function readSources() {
    /** @type {Map<string, string>} */
    const sources = new Map();
    const walk = (/** @type {string} */ rel) => {
        for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
            const file = rel ? `${rel}/${entry.name}` : entry.name;
            if (entry.isDirectory()) {
                if (!entry.name.startsWith(".") && entry.name !== "node_modules" && entry.name !== "test") walk(file);
            } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) {
                sources.set(file, fs.readFileSync(path.join(root, file), "utf8"));
            }
        }
    };
    walk("");
    return sources;
}

/** A build's name: this script, TypeScript's version, tsconfig.program.json and the sources' paths and texts. */
function buildDigest(/** @type {Map<string, string>} */ sources) {
    const h = crypto.createHash("sha256");
    h.update(fs.readFileSync(__filename));
    h.update(`\0typescript ${require("typescript/package.json").version}\0`);
    h.update(fs.readFileSync(tsconfigPath));
    for (const f of [...sources.keys()].sort()) h.update(`\0${f}\0${sources.get(f)}`);
    return h.digest("hex").slice(0, 24);
}

/** The current build's directory when it still matches the sources, else undefined. */
function currentBuild() {
    try {
        const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
        if (buildDigest(readSources()) !== manifest.digest) return undefined;
        const dir = path.join(outRoot, manifest.digest);
        if (!fs.existsSync(path.join(dir, "index.js"))) return undefined;
        // Marks the build as in use, so no other build prunes it as old.
        const now = new Date();
        fs.utimesSync(dir, now, now);
        return dir;
    } catch {
        return undefined;
    }
}

/** tsc into `outDir`; throws with tsc's diagnostics when it cannot compile. */
function compileInto(/** @type {string} */ outDir) {
    const tsc = require.resolve("typescript/bin/tsc");
    // No source maps: @pulumi/pulumi maps every resource's construction stack through them,
    // which cost about 0.4 s a run. Compiled lines stay close to the TypeScript ones.
    const r = spawnSync(process.execPath, [tsc, "-p", tsconfigPath, "--outDir", outDir, "--rootDir", root, "--sourceMap", "false"], {
        cwd: root,
        encoding: "utf8",
    });
    if (r.status !== 0 || !fs.existsSync(path.join(outDir, "index.js"))) {
        throw new Error(`tsc could not compile the program (tsconfig.program.json):\n${(r.stdout || r.stderr || String(r.error)).trim()}`);
    }
}

/** Puts a finished build in place: the first of two runs building the same sources wins, the other's copy goes. */
function install(/** @type {string} */ tmp, /** @type {string} */ dir) {
    try {
        fs.renameSync(tmp, dir);
    } catch {
        // Taken already: by another run's whole build (keep it), or by a leftover without index.js.
        if (!fs.existsSync(path.join(dir, "index.js"))) {
            fs.rmSync(dir, { recursive: true, force: true });
            fs.renameSync(tmp, dir);
        }
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

/**
 * Compiles the program and makes it the current build; returns its directory. The sources are
 * read before and after tsc: a build is recorded only under the texts it was compiled from
 * (a file saved meanwhile means another compile, and after three such a refusal).
 */
function buildProgram(/** @type {(line: string) => void} */ log = () => {}) {
    fs.mkdirSync(outRoot, { recursive: true });
    for (let attempt = 1; attempt <= 3; attempt++) {
        const sources = readSources();
        const digest = buildDigest(sources);
        const dir = path.join(outRoot, digest);
        if (!fs.existsSync(path.join(dir, "index.js"))) {
            const tmp = path.join(outRoot, `.tmp-${process.pid}-${attempt}`);
            log("compiling the program (tsc, tsconfig.program.json)");
            try {
                compileInto(tmp);
                if (buildDigest(readSources()) !== digest) {
                    fs.rmSync(tmp, { recursive: true, force: true });
                    continue;
                }
                install(tmp, dir);
            } catch (e) {
                fs.rmSync(tmp, { recursive: true, force: true });
                throw e;
            }
        }
        const manifestTmp = `${manifestPath}.tmp-${process.pid}`;
        fs.writeFileSync(manifestTmp, JSON.stringify({ digest, files: [...sources.keys()].sort() }));
        fs.renameSync(manifestTmp, manifestPath);
        pruneOldBuilds(digest);
        return dir;
    }
    throw new Error("the program's sources changed during each of three compiles: run again once they are saved");
}

/** Builds unused for an hour go (a run loading one marks it), and leftovers of a build that died. Best effort: another run may be pruning too. */
function pruneOldBuilds(/** @type {string} */ keep) {
    for (const entry of fs.readdirSync(outRoot)) {
        const p = path.join(outRoot, entry);
        try {
            if (entry !== keep && entry !== "current.json" && Date.now() - fs.statSync(p).mtimeMs > 3_600_000) {
                fs.rmSync(p, { recursive: true, force: true });
            }
        } catch {
            // gone already
        }
    }
}

module.exports = { buildProgram, currentBuild };

if (require.main === module) {
    try {
        const dir = currentBuild() ?? buildProgram((line) => process.stderr.write(`l9-deploy: ${line}\n`));
        process.stdout.write(`${path.relative(root, dir)}\n`);
    } catch (e) {
        process.stderr.write(`l9-deploy: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
    }
}
