/**
 * `npm run recover [-- --stack NAME]`: the one step after an interrupted `pulumi up` (its
 * process killed: a closed laptop, a cancelled CI job) that the next `pulumi up` cannot take
 * itself. It removes the stack's lock when its holder ran on this machine and no longer runs
 * (never a live holder's), then refreshes the state, clearing the operations the killed
 * update left pending; the host itself needs nothing: the next `pulumi up` plans from what it
 * serves. Exit 0 when the stack can be updated again, 1 when a lock stays (it says why).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { processAlive } from "../ssh/host-access";
import { judgeStackLock, parseStackLock, StackLock } from "./stack-lock";

const root = path.resolve(__dirname, "..");

function pulumi(args: string[]): { code: number; stdout: string; out: string } {
    const r = spawnSync("bash", [path.join(root, "scripts/pulumi.sh"), ...args], { cwd: root, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    return { code: r.status ?? 1, stdout: r.stdout, out: `${r.stdout}${r.stderr}` };
}

/** The stack's lock files in a file backend (`.pulumi/locks/.../<stack>/*.json`). */
function lockFiles(backendDir: string, stack: string): string[] {
    const found: string[] = [];
    const walk = (dir: string) => {
        for (const e of fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : []) {
            const p = path.join(dir, e.name);
            if (!e.isDirectory()) continue;
            if (e.name === stack) found.push(...fs.readdirSync(p).filter((f) => f.endsWith(".json")).map((f) => path.join(p, f)));
            else walk(p);
        }
    };
    walk(path.join(backendDir, ".pulumi", "locks"));
    return found;
}

function main(): number {
    const args = process.argv.slice(2);
    const i = args.findIndex((a) => a === "--stack" || a === "-s");
    const stack = i >= 0 ? args[i + 1] : process.env.PULUMI_STACK ?? pulumi(["stack", "--show-name"]).stdout.trim();
    if (!stack) {
        process.stderr.write("recover: no stack selected: pass --stack NAME\n");
        return 2;
    }
    const who = pulumi(["whoami", "--verbose", "--json"]);
    let url = "";
    try {
        url = (JSON.parse(who.stdout) as { url?: string }).url ?? "";
    } catch {
        process.stderr.write(`recover: cannot tell the backend: ${who.out}\n`);
        return 2;
    }
    if (url.startsWith("file://")) {
        const dir = decodeURIComponent(url.slice("file://".length).split("?")[0]);
        const locks = lockFiles(dir, stack).map((f) => parseStackLock(f, fs.readFileSync(f, "utf8"))).filter((l): l is StackLock => !!l);
        let kept = 0;
        for (const lock of locks) {
            const verdict = judgeStackLock(lock, { hostname: os.hostname(), isRunning: processAlive });
            if (verdict.action === "remove") fs.rmSync(lock.file, { force: true });
            else kept++;
            process.stdout.write(`recover: ${verdict.why}\n`);
        }
        if (locks.length === 0) process.stdout.write(`recover: stack ${stack} is not locked\n`);
        if (kept > 0) return 1;
    } else {
        // Pulumi Cloud and the bucket or database backends keep their own lock: it cannot be
        // judged from here. `pulumi cancel` ends it; only once the holder is surely gone.
        process.stdout.write(`recover: the backend (${url.replace(/\/\/[^@/]*@/, "//***@")}) keeps the lock; if the pulumi that holds it is gone for good, end it with: pulumi cancel --stack ${stack} --yes\n`);
    }
    // The killed update may have left operations pending: a refresh reads each resource back
    // and clears the pending creates (a create that finished is then made again by the next
    // up, which is idempotent on the host).
    process.stdout.write(`recover: refreshing ${stack} (clears operations the interrupted update left pending)\n`);
    const refresh = pulumi(["refresh", "--yes", "--stack", stack, "--non-interactive", "--clear-pending-creates", "--color", "never"]);
    if (refresh.code !== 0) {
        process.stderr.write(`recover: the refresh failed:\n${refresh.out.slice(-4000)}\n`);
        return 1;
    }
    process.stdout.write(`recover: ${stack} can be updated again: run pulumi up (it plans from what the host serves)\n`);
    return 0;
}

process.exit(main());
