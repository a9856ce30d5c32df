// @ts-check
"use strict";
/**
 * Builds the host probes' provider plugin (pulumi-resource-l9host, Go, in this directory)
 * into .l9-provider/ at the project root, where Pulumi.yaml's `plugins` entry points the
 * engine. Once per change: the digest of the Go sources, go.mod and go.sum is kept beside
 * the binary and checked on every run (program-entry.js calls `ensureProviderBuilt`), so an
 * edited provider is rebuilt before it can serve a probe. scripts/setup.sh builds it ahead
 * (`node providers/l9host/build.js`), so a first `pulumi up` does not wait for Go.
 */
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");

const source = __dirname;
const root = path.resolve(source, "..", "..");
const outDir = path.join(root, ".l9-provider");
const binary = path.join(outDir, "pulumi-resource-l9host");
const digestFile = path.join(outDir, "digest");

/** What the binary is built from: this file, go.mod, go.sum and every non-test Go file. */
function sourceDigest() {
    const files = ["build.js", "go.mod", "go.sum", ...fs.readdirSync(source).filter((f) => f.endsWith(".go") && !f.endsWith("_test.go"))];
    const h = crypto.createHash("sha256");
    for (const f of files.sort()) h.update(`\0${f}\0`).update(fs.readFileSync(path.join(source, f)));
    return h.digest("hex").slice(0, 24);
}

/** Whether the plugin in .l9-provider/ was built from these sources. */
function isCurrent(/** @type {string} */ digest) {
    try {
        return fs.readFileSync(digestFile, "utf8").trim() === digest && fs.existsSync(binary);
    } catch {
        return false;
    }
}

/** Blocks this thread for `ms` (the entry runs synchronously, before the program loads). */
function sleep(/** @type {number} */ ms) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `build` holding .l9-provider/build.lock, so one process builds at a time; a lock left
 * by a process that died is taken over.
 * @template T
 * @param {() => T} build
 * @returns {T}
 */
function withBuildLock(build) {
    const lock = path.join(outDir, "build.lock");
    const deadline = Date.now() + BUILD_TIMEOUT_MS;
    for (;;) {
        try {
            fs.writeFileSync(lock, `${process.pid}\n`, { flag: "wx" });
            break;
        } catch (e) {
            if (/** @type {NodeJS.ErrnoException} */ (e).code !== "EEXIST") throw e;
        }
        let holder = 0;
        try {
            holder = Number(fs.readFileSync(lock, "utf8").trim());
            process.kill(holder, 0);
        } catch {
            fs.rmSync(lock, { force: true }); // its process is gone (or the lock just went)
            continue;
        }
        if (Date.now() > deadline) throw new Error(`another build (process ${holder}) holds ${path.relative(root, lock)} for too long`);
        sleep(200);
    }
    try {
        return build();
    } finally {
        fs.rmSync(lock, { force: true });
    }
}

/** How long a build may take (a cold module cache downloads and compiles the Pulumi SDK). */
const BUILD_TIMEOUT_MS = 15 * 60_000;

/**
 * Builds the plugin unless the one in .l9-provider/ was built from these sources. Returns
 * whether it built. Throws an error that says what to do when Go is missing or fails.
 * @param {(line: string) => void} [progress]
 */
function ensureProviderBuilt(progress = () => undefined) {
    const digest = sourceDigest();
    if (isCurrent(digest)) return false;
    fs.mkdirSync(outDir, { recursive: true });
    return withBuildLock(() => {
        if (isCurrent(digest)) return false; // built by the run that held the lock
        progress("building the host probes' provider (providers/l9host, Go): its sources changed or it was never built...");
        // Leftovers of builds that were killed; only the lock holder builds.
        for (const f of fs.readdirSync(outDir)) if (f.includes(".tmp-")) fs.rmSync(path.join(outDir, f), { force: true });
        const tmp = `${binary}.tmp-${process.pid}`;
        const r = spawnSync("go", ["build", "-trimpath", "-o", tmp, "."], {
            cwd: source,
            encoding: "utf8",
            timeout: BUILD_TIMEOUT_MS,
            env: { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-mod=readonly -buildvcs=false" },
        });
        if (r.error || r.status !== 0) {
            fs.rmSync(tmp, { force: true });
            const why = r.error ? `${r.error.message} (is Go 1.25.11 or newer installed and on PATH?)` : (r.stderr || r.stdout).trim();
            throw new Error(`the host probes' provider (providers/l9host) did not build: ${why}\nFix: run scripts/setup.sh, which checks Go and builds it`);
        }
        // The digest goes first and comes back last: a reader never pairs it with another binary.
        fs.rmSync(digestFile, { force: true });
        fs.renameSync(tmp, binary);
        fs.writeFileSync(`${digestFile}.tmp-${process.pid}`, `${digest}\n`);
        fs.renameSync(`${digestFile}.tmp-${process.pid}`, digestFile);
        progress(`built ${path.relative(root, binary)}`);
        return true;
    });
}

module.exports = { ensureProviderBuilt, sourceDigest, binary };

if (require.main === module) {
    try {
        const built = ensureProviderBuilt((line) => process.stderr.write(`[l9] ${line}\n`));
        if (!built) process.stderr.write(`[l9] host probes' provider up to date (${path.relative(root, binary)})\n`);
    } catch (e) {
        process.stderr.write(`[l9] error: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
    }
}
