import { expect } from "chai";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { edgeAdmin, HOST_CADDY_ADMIN, onHost, SandboxHost, sandboxFacts, sandboxHosts, sh } from "../support/sandbox";
import { REPO_ROOT } from "../support/toolchain";
import { adminCurl } from "../../host-scripts/caddy-admin";

const SANDBOX_SH = path.join(REPO_ROOT, "scripts/sandbox.sh");

function sandbox(...args: string[]): string {
    return execFileSync("bash", [SANDBOX_SH, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Like onHost, but the exit code and output instead of throwing. */
function onHostRun(name: string, command: string): { code: number; out: string } {
    try {
        return { code: 0, out: onHost(name, command) };
    } catch (e) {
        const err = e as { status?: number; stdout?: string; stderr?: string };
        return { code: err.status ?? 1, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
    }
}

/** The pids of the main sandbox's daemons, which nothing here may restart. */
function mainSandboxPids(sandboxDir: string): string {
    return sh(
        [
            `self=$(readlink /proc/self/ns/pid)`,
            `for p in $(pgrep -x dockerd) $(pgrep -x cron); do [ "$(readlink /proc/$p/ns/pid)" = "$self" ] && echo "$(cat /proc/$p/comm) $p"; done`,
            `echo "sshd $(cat '${sandboxDir}/ssh/sshd.pid') caddy $(cat '${sandboxDir}/caddy/caddy.pid')"`,
        ].join("; "),
    );
}

/**
 * The isolated sandbox hosts (scripts/sandbox/hosts.sh), proved apart by what each one's own
 * daemons and filesystem answer, never by what this test wrote down itself.
 */
describe("host: isolated sandbox hosts", function () {
    this.timeout(5 * 60 * 1000);
    const marker = `l9iso${process.pid}${Date.now() % 100000}`;
    // Each host's Caddy admin API is a socket (HOST_CADDY_ADMIN): curl as the scripts reach it.
    const hostAdmin = adminCurl(HOST_CADDY_ADMIN).toString();
    const sb = sandboxFacts();
    const sandboxDir = path.dirname(path.dirname(sb.knownHostsFile));
    let hosts: SandboxHost[] = [];
    let tmp = "";
    let mainPids = "";

    /** ssh to a host pinning exactly one key; returns exit code and output. */
    const sshPinned = (h: SandboxHost, pinnedKey: string, command: string): { code: number; out: string } => {
        const knownHosts = path.join(tmp, `known_hosts_${h.name}_${Math.random().toString(36).slice(2)}`);
        fs.writeFileSync(knownHosts, `${h.host} ${pinnedKey}\n`);
        try {
            const out = execFileSync(
                "ssh",
                [
                    ...["-i", `${path.dirname(sb.knownHostsFile)}/operator_ed25519`, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"],
                    ...["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "ConnectTimeout=5"],
                    ...["-p", String(h.sshPort), `root@${h.host}`, command],
                ],
                { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
            );
            return { code: 0, out };
        } catch (e) {
            const err = e as { status?: number; stdout?: string; stderr?: string };
            return { code: err.status ?? 1, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
        }
    };

    before(function () {
        this.timeout(10 * 60 * 1000);
        mainPids = mainSandboxPids(sandboxDir);
        sandbox("up", "--hosts", "3");
        hosts = sandboxHosts();
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "l9-sandbox-hosts-"));
    });

    after(() => {
        for (const h of hosts) {
            onHostRun(
                h.name,
                [
                    `docker rm -f ${marker} >/dev/null 2>&1`,
                    `docker image rm -f ${marker}:probe >/dev/null 2>&1`,
                    `${hostAdmin} -s -X DELETE http://127.0.0.1/config/apps/http/servers/${marker} >/dev/null`,
                    `rm -rf /srv/${marker} /var/lib/l9-deploy/${marker} /etc/cron.d/${marker} /root/${marker}`,
                    "true",
                ].join("; "),
            );
        }
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("reports three hosts on 10.219.0.0/24, each with a key of its own, and the edge admin", () => {
        expect(hosts.map((h) => [h.name, h.host, h.sshPort])).to.deep.equal([
            ["h1", "10.219.0.11", 22],
            ["h2", "10.219.0.12", 22],
            ["h3", "10.219.0.13", 22],
        ]);
        for (const h of hosts) expect(h.hostKey).to.match(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+$/);
        expect(new Set(hosts.map((h) => h.hostKey)).size).to.equal(3);
        expect(new Set([...hosts.map((h) => h.hostKey), sb.hostKey]).size).to.equal(4);
        expect(edgeAdmin()).to.equal("127.0.0.1:2020");
        expect(sh(`curl -fsS http://${edgeAdmin()}/config/apps/http`).trim()).to.match(/^\{/);
    });

    it("each sshd answers with its own pinned host key, in its own host, and refuses another's", () => {
        hosts.forEach((h, i) => {
            const ok = sshPinned(h, h.hostKey, "hostname");
            expect(ok.code, ok.out).to.equal(0);
            expect(ok.out.trim()).to.equal(h.name);
            const other = hosts[(i + 1) % hosts.length];
            const wrong = sshPinned(h, other.hostKey, "hostname");
            expect(wrong.code, wrong.out).to.equal(255);
            expect(wrong.out).to.match(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
            const main = sshPinned(h, sb.hostKey, "hostname");
            expect(main.code, main.out).to.equal(255);
        });
    });

    it("each host has its own dockerd, none of them the machine's", () => {
        const ids = hosts.map((h) => onHost(h.name, "docker info --format '{{.ID}}'").trim());
        const machine = sh("docker info --format '{{.ID}}'").trim();
        for (const id of [...ids, machine]) expect(id).to.match(/^[A-Z0-9]{4}(:[A-Z0-9]{4}){11}$/);
        expect(new Set([...ids, machine]).size).to.equal(4);
    });

    it("a file written under /srv, /var/lib/l9-deploy or /root on h1 is on h1 only", () => {
        const dirs = ["/srv", "/var/lib/l9-deploy", "/root"].map((d) => `${d}/${marker}`);
        onHost("h1", `for d in ${dirs.join(" ")}; do mkdir -p "$d" && echo h1 >"$d/f"; done`);
        const probe = `for d in ${dirs.join(" ")}; do test -e "$d/f" && echo "$d"; done; true`;
        expect(onHost("h1", probe).trim().split("\n")).to.have.length(3);
        expect(onHost("h1", `cat /srv/${marker}/f`).trim()).to.equal("h1");
        for (const h of ["h2", "h3"]) expect(onHost(h, probe).trim(), h).to.equal("");
        expect(sh(probe).trim(), "the machine").to.equal("");
    });

    it("the machine's own deploy state is not on a host, and a cron job on h2 is on h2 only", () => {
        // Each host starts from empty /srv and /etc/cron.d of its own, whatever the machine has.
        const machineSrv = sh("ls -A /srv").trim();
        for (const h of hosts) {
            const srv = onHost(h.name, "ls -A /srv")
                .trim()
                .split("\n")
                .filter((e) => e && e !== marker);
            for (const entry of srv) expect(machineSrv.split("\n"), `${h.name}:/srv/${entry}`).not.to.include(entry);
        }
        onHost("h2", `printf '* * * * * root true\\n' >/etc/cron.d/${marker}`);
        expect(onHost("h2", `test -f /etc/cron.d/${marker} && echo yes || echo no`).trim()).to.equal("yes");
        for (const h of ["h1", "h3"]) expect(onHost(h, `test -e /etc/cron.d/${marker} && echo yes || echo no`).trim(), h).to.equal("no");
        expect(fs.existsSync(`/etc/cron.d/${marker}`), "the machine").to.equal(false);
        // Each host's own cron daemon, in its own PID namespace, reads that directory.
        for (const h of hosts) expect(onHost(h.name, "pgrep -x cron | wc -l").trim(), h.name).to.equal("1");
    });

    it("each Caddy admin answers on its host's own socket with its own config, and on no TCP port (a host-network container finds nothing)", () => {
        const port = 18000 + (process.pid % 1000);
        const server = JSON.stringify({ listen: [`:${port}`], routes: [{ handle: [{ handler: "static_response", body: marker }] }] });
        onHost("h1", `${hostAdmin} -fsS -X POST -H 'Content-Type: application/json' -d '${server}' http://127.0.0.1/config/apps/http/servers/${marker}`);
        const read = (name: string) => onHost(name, `${hostAdmin} -s http://127.0.0.1/config/apps/http/servers/${marker}`).trim();
        for (const h of hosts) {
            expect(onHost(h.name, "curl -s -m 2 -o /dev/null -w '%{http_code}' http://127.0.0.1:2019/config/ || true").trim(), `${h.name}: TCP 2019`).to.equal(
                "000",
            );
            expect(onHost(h.name, "stat -c %a /run/caddy").trim(), `${h.name}: the socket's directory`).to.equal("700");
        }
        expect(read("h1")).to.contain(marker);
        expect(read("h2")).to.equal("null");
        expect(read("h3")).to.equal("null");
        expect(sh(`curl -s http://${sb.caddyAdmin}/config/apps/http/servers/${marker}`).trim(), "the main sandbox's Caddy").to.equal("null");
        // The site listens on all of h1's interfaces: the machine (and the edge) reach it at h1's address only.
        expect(sh(`curl -s -m 5 http://${hosts[0].host}:${port}/`).trim()).to.equal(marker);
        expect(sh(`curl -s -m 2 -o /dev/null -w '%{http_code}' http://${hosts[1].host}:${port}/ || true`).trim()).to.equal("000");
        expect(sh(`curl -s -m 2 -o /dev/null -w '%{http_code}' http://127.0.0.1:${port}/ || true`).trim()).to.equal("000");
    });

    it("an image built on h1 is on h1 only, and its container lives in h1's network namespace", () => {
        const port = 19000 + (process.pid % 1000);
        onHost(
            "h1",
            [
                "set -e",
                "d=$(mktemp -d)",
                `git --git-dir='${sb.repoDir}' show v0.1.0-l9:server >"$d/server"`,
                `chmod +x "$d/server"`,
                `printf 'FROM scratch\\nCOPY server /app/server\\nENTRYPOINT ["/app/server"]\\n' >"$d/Dockerfile"`,
                `docker build -q -t ${marker}:probe "$d" >/dev/null`,
                `rm -rf "$d"`,
                `docker run -d --name ${marker} --network host -e PORT=${port} -e APP_SECRET=s -e DATABASE_URL=d ${marker}:probe >/dev/null`,
            ].join("\n"),
        );
        const listed = (run: (c: string) => string) => run(`docker image ls -q ${marker}:probe`).trim();
        expect(listed((c) => onHost("h1", c))).to.match(/^[0-9a-f]{12}$/);
        expect(
            listed((c) => onHost("h2", c)),
            "h2",
        ).to.equal("");
        expect(
            listed((c) => onHost("h3", c)),
            "h3",
        ).to.equal("");
        expect(listed(sh), "the machine").to.equal("");
        // --network host on a host is that host's namespace: its loopback answers on h1 only.
        const version = `for _ in $(seq 1 50); do curl -fsS -m 1 http://127.0.0.1:${port}/version && exit 0; sleep 0.2; done; exit 1`;
        expect(JSON.parse(onHost("h1", version))).to.have.property("version");
        expect(onHostRun("h2", `curl -fsS -m 2 http://127.0.0.1:${port}/version`).code).to.not.equal(0);
        expect(sh(`curl -s -m 2 -o /dev/null -w '%{http_code}' http://127.0.0.1:${port}/version || true`).trim()).to.equal("000");
    });

    it("the git origin is on every host at the machine's path, current and read-only, over ssh", () => {
        const expected = sh(`git ls-remote 'file://${sb.repoDir}'`).trim();
        expect(expected).to.contain("refs/tags/v0.1.0-l9");
        for (const h of hosts) {
            const r = sshPinned(h, h.hostKey, `git ls-remote 'file://${sb.repoDir}'`);
            expect(r.code, r.out).to.equal(0);
            expect(r.out.trim(), h.name).to.equal(expected);
            expect(onHostRun(h.name, `touch '${sb.repoDir}/${marker}'`).code, h.name).to.not.equal(0);
        }
    });

    it("down --hosts then up --hosts 3 gives clean hosts with the same keys, and the main sandbox never moved", function () {
        this.timeout(10 * 60 * 1000);
        const keys = hosts.map((h) => h.hostKey);
        sandbox("down", "--hosts");
        expect(() => sandboxHosts()).to.throw(/up --hosts 3/);
        expect(
            sh("ip netns list")
                .split("\n")
                .filter((l) => l.startsWith("l9sb-")),
        ).to.deep.equal([]);
        sandbox("up", "--hosts", "3");
        hosts = sandboxHosts();
        expect(hosts.map((h) => h.hostKey)).to.deep.equal(keys);
        hosts.forEach((h) => expect(sshPinned(h, h.hostKey, "hostname").out.trim()).to.equal(h.name));
        expect(onHost("h1", `test -e /srv/${marker} && echo yes || echo no`).trim()).to.equal("no");
        expect(sh(`bash '${SANDBOX_SH}' status`)).to.match(/h3\s+up/);
        expect(mainSandboxPids(sandboxDir)).to.equal(mainPids);
    });
});
