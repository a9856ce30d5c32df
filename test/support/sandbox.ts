import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { REPO_ROOT } from "./toolchain";
import { adminCurl, adminUrl } from "../../host-scripts/caddy-admin";
import { caddyServerName, legacyCaddyServerName } from "../../host-scripts/routing";

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
    /** The sandbox VPS's PostgreSQL: database l9, owned by the role l9 (CREATEDB), on 127.0.0.1:5432. */
    databaseUrl: string;
}

const SANDBOX_SH = path.join(REPO_ROOT, "scripts/sandbox.sh");

/** The KEY=VALUE lines of `sandbox.sh env`. */
function sandboxEnv(): Record<string, string> {
    const out = execFileSync("bash", [SANDBOX_SH, "env"], { encoding: "utf8" });
    const kv: Record<string, string> = {};
    for (const line of out.split("\n")) {
        const i = line.indexOf("=");
        if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1);
    }
    return kv;
}

export function sandboxFacts(): SandboxFacts {
    const kv = sandboxEnv();
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
        databaseUrl: need("L9_SANDBOX_DATABASE_URL"),
    };
}

/** One isolated sandbox host (`sandbox.sh up --hosts N`): its own namespaces, dockerd, sshd, Caddy, cron. */
export interface SandboxHost {
    /** h1..hN, the name `sandbox.sh exec` and onHost take. */
    name: string;
    /** Its address on the bridge l9sb0 (10.219.0.11 for h1), reachable from this machine. */
    host: string;
    sshPort: number;
    /** "ssh-ed25519 AAAA...": the key its sshd presents, to pin. */
    hostKey: string;
}

const HOSTS_HINT = "are the sandbox hosts up? (npm run sandbox -- up --hosts 3)";

/** The sandbox hosts that are up, h1 first. */
export function sandboxHosts(): SandboxHost[] {
    const raw = sandboxEnv()["L9_SANDBOX_HOSTS"];
    if (!raw) throw new Error(`sandbox.sh env did not report L9_SANDBOX_HOSTS: ${HOSTS_HINT}`);
    return JSON.parse(raw) as SandboxHost[];
}

/** The edge Caddy's admin address (127.0.0.1:2020), in this machine's namespace. */
export function edgeAdmin(): string {
    const admin = sandboxEnv()["L9_SANDBOX_EDGE_ADMIN"];
    if (!admin) throw new Error(`sandbox.sh env did not report L9_SANDBOX_EDGE_ADMIN: ${HOSTS_HINT}`);
    return admin;
}

/** The legacy sandbox host (`sandbox.sh legacy up`, scripts/sandbox/legacy-host.sh): a VPS the old runbooks deployed. */
export interface LegacyHost extends SandboxHost {
    /** The internal CA root its Caddy's two sites (api.example.com, www.example.com) chain to. */
    caRootFile: string;
}

/** Brings up the legacy sandbox host (idempotent) and returns how to reach it. */
export function legacyHost(): LegacyHost {
    execFileSync("bash", [SANDBOX_SH, "legacy", "up"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const kv = sandboxEnv();
    const need = (k: string) => {
        if (!kv[k]) throw new Error(`sandbox.sh env did not report ${k} after sandbox.sh legacy up`);
        return kv[k];
    };
    return {
        name: "h6",
        host: need("L9_SANDBOX_LEGACY_HOST"),
        sshPort: 22,
        hostKey: need("L9_SANDBOX_LEGACY_HOST_KEY"),
        caRootFile: need("L9_SANDBOX_LEGACY_CA_ROOT"),
    };
}

const execFileAsync = promisify(execFile);

function legacySiteCurlArgs(legacy: LegacyHost, site: string, urlPath: string): string[] {
    return ["-sS", "-m", "10", "--cacert", legacy.caRootFile, "--resolve", `${site}:443:${legacy.host}`, "-w", "\n%{http_code}", `https://${site}${urlPath}`];
}

function statusAndBody(out: string): { status: number; body: string } {
    const i = out.lastIndexOf("\n");
    return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
}

/** An HTTPS GET of `https://<site><urlPath>` on the legacy host's :443, verified against its CA. */
export function legacySiteGet(legacy: LegacyHost, site: string, urlPath: string): { status: number; body: string } {
    return statusAndBody(execFileSync("curl", legacySiteCurlArgs(legacy, site, urlPath), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
}

/** legacySiteGet, asynchronous: for a test whose load loops run in this process meanwhile. */
export async function legacySiteGetAsync(legacy: LegacyHost, site: string, urlPath: string): Promise<{ status: number; body: string }> {
    return statusAndBody((await execFileAsync("curl", legacySiteCurlArgs(legacy, site, urlPath), { encoding: "utf8" })).stdout);
}

/** The legacy host's Caddy, as the operator's systemctl would: `reload` (caddy reload) or `restart` (a stop, then a start). */
export function legacyCaddy(action: "reload" | "restart"): void {
    execFileSync("bash", [SANDBOX_SH, "legacy", "caddy", action], { stdio: ["ignore", "pipe", "pipe"] });
}

/** The legacy host's Caddy, asynchronously (load loops run in this process meanwhile). */
export async function legacyCaddyAsync(action: "reload" | "restart"): Promise<void> {
    await execFileAsync("bash", [SANDBOX_SH, "legacy", "caddy", action]);
}

/** Stops the legacy host (its namespaces and daemons). */
export function legacyHostDown(): void {
    execFileSync("bash", [SANDBOX_SH, "legacy", "down"], { stdio: ["ignore", "pipe", "pipe"] });
}

/** A POSIX sh command inside a sandbox host, asynchronous (load loops run in this process meanwhile); never throws. */
export async function onHostAsync(name: string, command: string): Promise<{ status: number; stdout: string; stderr: string }> {
    try {
        return { status: 0, ...(await execFileAsync("bash", [SANDBOX_SH, "exec", name, "--", "sh", "-c", command], { encoding: "utf8" })) };
    } catch (e) {
        const err = e as { code?: number; stdout?: string; stderr?: string };
        return { status: typeof err.code === "number" ? err.code : 1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
    }
}

/** Runs a bash command inside a sandbox host (its namespaces and root); returns stdout, throws on failure. */
export function onHost(name: string, command: string): string {
    return execFileSync("bash", [SANDBOX_SH, "exec", name, "--", "bash", "-c", command], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
    });
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

/** Caddy's admin API on each isolated sandbox host: a unix socket, as in the README's production setup. */
export const HOST_CADDY_ADMIN = "unix//run/caddy/admin.sock";

/** Removes what an earlier run of a test stack may have left on the sandbox host. */
export function cleanSandboxService(serviceName: string, appDir: string, caddyAdmin: string): void {
    sh(renderCleanServiceCommand(serviceName, appDir, caddyAdmin));
}

/** What cleanSandboxService runs, for the machine or (through onHost) a sandbox host. */
export function renderCleanServiceCommand(serviceName: string, appDir: string, caddyAdmin: string): string {
    return [
        `docker ps -aq --filter 'label=l9.service=${serviceName}' | xargs -r docker rm -f >/dev/null`,
        `docker image ls -q --filter 'label=l9.service=${serviceName}' | sort -u | xargs -r docker image rm -f >/dev/null 2>&1 || true`,
        ...[caddyServerName(serviceName), legacyCaddyServerName(serviceName)].map(
            (server) => `${adminCurl(caddyAdmin)} -s -X DELETE '${adminUrl(caddyAdmin, `/config/apps/http/servers/${server}`)}' >/dev/null || true`,
        ),
        `${adminCurl(caddyAdmin)} -s -X DELETE '${adminUrl(caddyAdmin, `/config/logging/logs/${serviceName}-canary`)}' >/dev/null || true`,
        `rm -rf '${appDir}' '/var/lib/l9-deploy/${serviceName}'`,
        `rm -f ${["drift", "backup", "backup-drill"].map((job) => `'/etc/cron.d/${serviceName}-${job}'`).join(" ")}`,
    ].join("; ");
}

/**
 * What a service has on the sandbox host, as text: its containers and images, releases,
 * journal length, env file, drift job, routing marker and Caddy server. Equal before and
 * after an update: the update changed nothing there.
 */
export function serviceSnapshot(serviceName: string, appDir: string): string {
    return sh(
        [
            `docker ps -a --filter 'label=l9.service=${serviceName}' --format '{{.ID}} {{.Names}} {{.Image}} {{.State}}' | sort`,
            `docker image ls --filter 'label=l9.service=${serviceName}' --format '{{.ID}}' | sort`,
            `ls '${appDir}/releases'`,
            `wc -l < '${appDir}/deploys.jsonl'`,
            `sha256sum '${appDir}/shared/.env' '/etc/cron.d/${serviceName}-drift' '${appDir}/bin/drift-check' | cut -d' ' -f1`,
            `ls '/var/lib/l9-deploy/${serviceName}/caddy'`,
            `curl -fsS 'http://${sandboxFacts().caddyAdmin}/config/apps/http/servers/${caddyServerName(serviceName)}'`,
        ].join("; echo ---; "),
    );
}

/** Polls `test` every 250 ms until it holds; fails naming `what` after `seconds`. */
export async function waitFor(what: string, test: () => boolean, seconds = 120): Promise<void> {
    for (let i = 0; i < seconds * 4; i++) {
        if (test()) return;
        await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out waiting for ${what}`);
}

/** One SQL command in the sandbox's PostgreSQL as its role l9 (in `database`, else the role's own), unaligned rows. */
export function sandboxPsql(sql: string, database?: string): string {
    const url = new URL(sandboxFacts().databaseUrl);
    if (database) url.pathname = `/${database}`;
    return execFileSync("psql", ["-qtA", "-v", "ON_ERROR_STOP=1", url.toString(), "-c", sql], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
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
