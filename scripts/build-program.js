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
 * The digest covers each project source file tsc compiled (path and text), tsconfig.program.json,
 * the TypeScript version and this file. A source saved while tsc ran is caught by its mtime and
 * compiled again.
 */
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");

const root = path.resolve(__dirname, "..");
const outRoot = path.join(root, ".l9-program");
const manifestPath = path.join(outRoot, "current.json");
const tsconfigPath = path.join(root, "tsconfig.program.json");

/** @param {string[]} files paths relative to the project root */
function buildDigest(files) {
    const h = crypto.createHash("sha256");
    h.update(fs.readFileSync(__filename));
    h.update(`\0typescript ${require("typescript/package.json").version}\0`);
    h.update(fs.readFileSync(tsconfigPath));
    for (const f of [...files].sort()) h.update(`\0${f}\0`).update(fs.readFileSync(path.join(root, f)));
    return h.digest("hex").slice(0, 24);
}

/** The current build's directory when it still matches the sources, else undefined. */
function currentBuild() {
    try {
        const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
        if (buildDigest(manifest.files) !== manifest.digest) return undefined;
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

/** tsc into `outDir`; returns the project sources it compiled (relative paths). */
function compileInto(/** @type {string} */ outDir) {
    const tsc = require.resolve("typescript/bin/tsc");
    // No source maps: @pulumi/pulumi maps every resource's construction stack through them,
    // which cost about 0.4 s a run. Compiled lines stay close to the TypeScript ones.
    const r = spawnSync(process.execPath, [tsc, "-p", tsconfigPath, "--outDir", outDir, "--rootDir", root, "--sourceMap", "false", "--listFiles"], {
        cwd: root,
        encoding: "utf8",
    });
    const listed = (r.stdout ?? "").split("\n").filter((l) => l.trim() !== "");
    if (r.status !== 0 || !fs.existsSync(path.join(outDir, "index.js"))) {
        const errors = listed.filter((l) => !path.isAbsolute(l.trim())).join("\n");
        throw new Error(`tsc could not compile the program (tsconfig.program.json):\n${errors || r.stderr || r.error}`);
    }
    return listed
        .map((f) => path.relative(root, f.trim()))
        .filter((f) => !f.startsWith("..") && !f.split(path.sep).includes("node_modules") && f.endsWith(".ts") && !f.endsWith(".d.ts"));
}

/** Compiles the program and makes it the current build; returns its directory. */
function buildProgram(/** @type {(line: string) => void} */ log = () => {}) {
    fs.mkdirSync(outRoot, { recursive: true });
    for (let attempt = 1; ; attempt++) {
        const started = Date.now();
        const tmp = path.join(outRoot, `.tmp-${process.pid}-${attempt}`);
        log("compiling the program (tsc, tsconfig.program.json)");
        let files;
        try {
            files = compileInto(tmp);
        } catch (e) {
            fs.rmSync(tmp, { recursive: true, force: true });
            throw e;
        }
        // A source saved while tsc read the others: compile again (a build names the texts it compiled).
        const edited = files.filter((f) => fs.statSync(path.join(root, f)).mtimeMs >= started);
        if (edited.length > 0 && attempt < 3) {
            fs.rmSync(tmp, { recursive: true, force: true });
            continue;
        }
        const digest = buildDigest(files);
        const dir = path.join(outRoot, digest);
        try {
            if (fs.existsSync(path.join(dir, "index.js"))) fs.rmSync(tmp, { recursive: true, force: true });
            else {
                fs.rmSync(dir, { recursive: true, force: true });
                fs.renameSync(tmp, dir);
            }
        } catch {
            // Another build renamed the same digest first.
            fs.rmSync(tmp, { recursive: true, force: true });
            if (!fs.existsSync(path.join(dir, "index.js"))) throw new Error(`could not put the compiled program at ${dir}`);
        }
        const manifestTmp = `${manifestPath}.tmp-${process.pid}`;
        fs.writeFileSync(manifestTmp, JSON.stringify({ digest, files }));
        fs.renameSync(manifestTmp, manifestPath);
        pruneOldBuilds(digest);
        return dir;
    }
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
