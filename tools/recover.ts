/**
 * `npm run recover [-- --stack NAME]`: the one step after an interrupted `pulumi up` (its
 * process killed: a closed laptop, a cancelled CI job) that the next `pulumi up` cannot take
 * itself. It removes the stack's lock when its holder ran on this machine and no longer runs
 * (never a live holder's), then refreshes the state, clearing the operations the killed
 * update left pending. A slot container the killed update was creating is removed from the
 * host first (over SSH, with the stack's key and pinned host key): no resource knows it once
 * its create is cleared, and the next update would fail on its name. Everything else on the
 * host needs nothing: the next `pulumi up` plans from what it serves. Exit 0 when the stack
 * can be updated again, 1 when something stays (it says what, and why).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseConfig } from "../config/load";
import { hostTargets } from "../config/schema";
import { renderRemoveUnfinishedContainerScript } from "../host-scripts/unfinished-container";
import { describeSshFailure } from "../ssh/host-check";
import { processAlive } from "../ssh/agent";
import { COLORS } from "../state/slot-machine";
import { UnfinishedContainer, unfinishedContainers } from "./pending-creates";
import { readStackConfig, runOnStackHost, runPulumi as pulumi, stackArgument } from "./stack-cli";
import { redactUrls } from "../state/backend-url";
import { openLockStore } from "./backend-locks";
import { judgeStackLock } from "./stack-lock";

/** How long the agent holds the deploy key for recover's one short script on each host. */
const RECOVER_KEY_LIFETIME_SECONDS = 600;

/**
 * Removes, on their hosts, the slot containers whose create the killed update left pending
 * (never one Caddy routes to: the host script checks). Reaches each host as the program does:
 * the deploy key from the stack's secret config in an agent of its own, the pinned host key.
 */
async function removeUnfinishedContainers(stack: string, unfinished: UnfinishedContainer[]): Promise<boolean> {
    const read = readStackConfig(stack);
    if ("error" in read) {
        process.stderr.write(`recover: cannot read the stack's configuration (its SSH key reaches the host):\n${read.error}\n`);
        return false;
    }
    const config = parseConfig(read.raw, read.secretKeys);
    const targets = hostTargets(config);
    for (const u of unfinished) {
        const color = COLORS.find((c) => u.name === `${config.serviceName}-${c}`);
        const t = targets.find((x) => x.host === u.host && x.sshPort === u.port);
        if (!color || !t) {
            process.stderr.write(
                `recover: the interrupted update was creating ${u.name} on ${u.host}:${u.port}, ` +
                    `which is not a slot of ${config.serviceName} on this stack's hosts now; nothing was removed. ` +
                    `If it exists there and Caddy does not route to it, remove it (docker rm -f ${u.name}) and run recover again\n`,
            );
            return false;
        }
        process.stdout.write(
            `recover: the interrupted update was creating ${u.name} on ${u.host}: removing it (no resource knows it), unless Caddy routes to it\n`,
        );
        const r = await runOnStackHost(
            config,
            t,
            `recover/${stack}/${t.name}`,
            RECOVER_KEY_LIFETIME_SECONDS,
            renderRemoveUnfinishedContainerScript({ serviceName: config.serviceName, caddyAdmin: config.caddyAdmin, color }),
        );
        if (r.stderr.trim()) process.stdout.write(`${r.stderr.trim()}\n`);
        if (r.code === 255) {
            process.stderr.write(`recover: ${describeSshFailure(t.host, t.sshPort, r.stderr, r.code)}\n`);
            return false;
        }
        if (r.code !== 0) return false;
    }
    return true;
}

/** The project's name, from Pulumi.yaml (the locks are kept per project). */
function projectName(): string {
    const name = /^name:\s*(\S+)\s*$/m.exec(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"))?.[1];
    if (!name) throw new Error("Pulumi.yaml names no project");
    return name;
}

async function main(): Promise<number> {
    const stack = stackArgument(process.argv.slice(2));
    if (!stack) {
        process.stderr.write("recover: no stack selected: pass --stack NAME\n");
        return 2;
    }
    const who = pulumi(["whoami", "--verbose", "--json"]);
    let url = "";
    try {
        url = (JSON.parse(who.stdout) as { url?: string }).url ?? "";
    } catch {
        process.stderr.write(`recover: cannot tell the backend: ${redactUrls(who.out)}\n`);
        return 2;
    }
    const locks = await openLockStore(url);
    if (locks) {
        let kept = 0;
        try {
            process.stdout.write(`recover: reading ${stack}'s lock in the ${locks.describe}\n`);
            const held = await locks.list(projectName(), stack);
            for (const lock of held) {
                const verdict = judgeStackLock(lock, { hostname: os.hostname(), isRunning: processAlive });
                if (verdict.action === "remove") await locks.remove(lock);
                else kept++;
                process.stdout.write(`recover: ${verdict.why}\n`);
            }
            if (held.length === 0) process.stdout.write(`recover: stack ${stack} is not locked\n`);
        } finally {
            await locks.close();
        }
        if (kept > 0) return 1;
    } else {
        // Pulumi Cloud and the bucket backends keep their own lock: it cannot be judged from
        // here. `pulumi cancel` ends it; only once the holder is surely gone.
        process.stdout.write(
            `recover: the backend (${redactUrls(url)}) keeps the lock; ` +
                `if the pulumi that holds it is gone for good, end it with: pulumi cancel --stack ${stack} --yes\n`,
        );
    }
    const exported = pulumi(["stack", "export", "--stack", stack]);
    if (exported.code !== 0) {
        process.stderr.write(`recover: cannot read the stack's state:\n${exported.out.slice(-2000)}\n`);
        return 1;
    }
    const unfinished = unfinishedContainers(JSON.parse(exported.stdout));
    if (unfinished.length > 0 && !(await removeUnfinishedContainers(stack, unfinished))) return 1;
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

main().then(
    (code) => process.exit(code),
    (e: unknown) => {
        process.stderr.write(`recover: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
    },
);
