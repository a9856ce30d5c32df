// @ts-check
"use strict";
/**
 * What `pulumi` runs (Pulumi.yaml `main`): the program as `tsc` compiled it ahead
 * (scripts/build-program.js, `npm run build`, which scripts/setup.sh and the workflows run),
 * loaded as plain JavaScript: no TypeScript compiler on a run. The build is checked against
 * the sources first, and compiled again when they changed, so a stale build cannot deploy.
 */
const Module = require("module");
const path = require("path");
const { buildProgram, currentBuild } = require("./scripts/build-program");

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
// No build of these sources yet (edited, or a fresh clone without scripts/setup.sh): compiled now.
const build = currentBuild() ?? buildProgram((line) => process.stderr.write(`l9-deploy: ${line}: no build matches the sources (npm run build)\n`));
// @pulumi/pulumi requires TypeScript and npm's arborist when it loads, for serializing
// functions (dynamic providers, closures), which this program never does: loading them took
// about 0.45 s of every run (docs/performance.md). They load if anything ever reads them.
const sdk = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
deferModule("typescript", sdk, { esModule: false });
deferModule("@npmcli/arborist", path.join(sdk, "runtime", "closure"), { esModule: true });
module.exports = require(path.join(build, "index.js"));
