import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "./toolchain";

/** What a test needs to reach the sandbox VPS (scripts/sandbox.sh env). */
export interface SandboxFacts {
    host: string;
    sshPort: number;
    /** A second port of the same sshd (a connection change that is not a release). */
    sshAltPort: number;
    sshUser: string;
    privateKey: string;
    hostKey: string;
    knownHostsFile: string;
    repoUrl: string;
    repoDir: string;
    caddyAdmin: string;
}

export function sandboxFacts(): SandboxFacts {
    const out = execFileSync("bash", [path.join(REPO_ROOT, "scripts/sandbox.sh"), "env"], { encoding: "utf8" });
    const kv: Record<string, string> = {};
    for (const line of out.split("\n")) {
        const i = line.indexOf("=");
        if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1);
    }
    const need = (k: string) => {
        if (!kv[k]) throw new Error(`sandbox.sh env did not report ${k}: is the sandbox up? (npm run sandbox -- up)`);
        return kv[k];
    };
    return {
        host: need("L9_SANDBOX_HOST"),
        sshPort: Number(need("L9_SANDBOX_SSH_PORT")),
        sshAltPort: Number(need("L9_SANDBOX_SSH_ALT_PORT")),
        sshUser: need("L9_SANDBOX_SSH_USER"),
        privateKey: fs.readFileSync(need("L9_SANDBOX_SSH_KEY_FILE"), "utf8"),
        hostKey: need("L9_SANDBOX_HOST_KEY"),
        knownHostsFile: need("L9_SANDBOX_KNOWN_HOSTS"),
        repoUrl: need("L9_SANDBOX_REPO_URL"),
        repoDir: need("L9_SANDBOX_REPO_URL").replace(/^file:\/\//, ""),
        caddyAdmin: need("L9_SANDBOX_CADDY_ADMIN"),
    };
}

/** Runs a shell command on the machine (the sandbox is this machine); returns stdout. */
export function sh(command: string): string {
    return execFileSync("bash", ["-c", command], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Like sh, but returns the exit code instead of throwing. */
export function shStatus(command: string): number {
    try {
        execFileSync("bash", ["-c", command], { stdio: "ignore" });
        return 0;
    } catch (e) {
        return (e as { status?: number }).status ?? 1;
    }
}

/** Removes what an earlier run of a test stack may have left on the sandbox host. */
export function cleanSandboxService(serviceName: string, appDir: string, caddyAdmin: string): void {
    sh(
        [
            `docker ps -aq --filter 'label=l9.service=${serviceName}' | xargs -r docker rm -f >/dev/null`,
            `docker image ls -q --filter 'label=l9.service=${serviceName}' | sort -u | xargs -r docker image rm -f >/dev/null 2>&1 || true`,
            `curl -s -X DELETE 'http://${caddyAdmin}/config/apps/http/servers/${serviceName}' >/dev/null || true`,
            `curl -s -X DELETE 'http://${caddyAdmin}/config/logging/logs/${serviceName}-canary' >/dev/null || true`,
            `rm -rf '${appDir}' '/etc/cron.d/${serviceName}-drift' '/var/lib/l9-deploy/${serviceName}'`,
        ].join("; "),
    );
}

/** GET a URL on loopback; returns status and body ("" and 0 when nothing answers). */
export function httpGet(url: string): { status: number; body: string } {
    try {
        const out = sh(`curl -s -m 5 -w '\\n%{http_code}' '${url}'`);
        const i = out.lastIndexOf("\n");
        return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
    } catch {
        return { status: 0, body: "" };
    }
}
