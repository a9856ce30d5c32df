import { ChildProcess, spawn, spawnSync } from "child_process";
import * as path from "path";
import { sh } from "./sandbox";
import { REPO_ROOT } from "./toolchain";

/**
 * `pulumi <args>` as an operator runs it (scripts/pulumi.sh), in its own process group, so
 * that it can be killed like a closed laptop.
 */
export function pulumiInBackground(args: string[], env: Record<string, string>): ChildProcess {
    return spawn("bash", [path.join(REPO_ROOT, "scripts/pulumi.sh"), ...args, "--non-interactive", "--color", "never"], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env },
        detached: true,
        stdio: "ignore",
    });
}

/**
 * SIGKILL of a `pulumi` and everything it started, like a closed laptop: its process group,
 * and its provider plugins (which run in groups of their own, from `pulumiHome`), so that
 * their SSH connections drop too.
 */
export function killPulumi(child: ChildProcess, pulumiHome: string): void {
    process.kill(-child.pid!, "SIGKILL");
    // "[/]": the pattern must not match this pkill's own shell.
    sh(`pkill -KILL -f '[/]${pulumiHome.slice(1)}/plugins/' || true`);
    // The probes' plugin runs from the checkout: the one whose pulumi is gone.
    sh(
        `sleep 0.2; for p in $(pgrep -f '[.]l9-provider/pulumi-resource-l9host'); ` +
            `do [ "$(ps -o ppid= -p "$p" | tr -d ' ')" != 1 ] || kill -KILL "$p"; done; true`,
    );
}

/** The recovery step the README names (npm run recover -- --stack <stack>), as an operator runs it. */
export function runRecover(stack: string, env: Record<string, string>): { code: number | null; out: string } {
    const r = spawnSync("bash", [path.join(REPO_ROOT, "scripts/node.sh"), "tools/recover.ts", "--stack", stack], {
        cwd: REPO_ROOT,
        encoding: "utf8",
        env: { ...process.env, ...env },
    });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
