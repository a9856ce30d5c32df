import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import type { DeployState } from "../../state/slot-machine";
import { buildProgramGraph, mockImageId, ProgramGraph } from "./program-under-mocks";
import { retiredItems } from "../../components/old-deploy";

/**
 * The resource graph of a release, with Pulumi's mocks: which resources exist, what each
 * slot runs, which options protect the serving slot, how the SSH key stays out of every
 * resource, and that secrets stay secret.
 */
describe("unit: resource graph of a release (mocks)", function () {
    this.timeout(60_000);
    let g: ProgramGraph;
    /** v0.2.0-l9 serves from green, v0.1.0-l9 is in the blue standby. */
    const servingV2: DeployState = {
        slots: {
            blue: { tag: "v0.1.0-l9", envFingerprint: "fp", networkMode: "host" },
            green: { tag: "v0.2.0-l9", envFingerprint: "fp", networkMode: "host" },
        },
        active: "green",
    };
    const label = (inputs: Record<string, any>, name: string) =>
        (inputs.labels as Array<{ label: string; value: string }>).find((l) => l.label === name)?.value;

    before(async () => {
        const previous: DeployState = {
            slots: {
                blue: { tag: "v0.1.0-l9", envFingerprint: "fp", networkMode: "host" },
                green: { tag: "v0.0.9-l9", envFingerprint: "fp", networkMode: "host" },
            },
            active: "blue",
        };
        g = await buildProgramGraph({ releaseTag: "v0.2.0-l9" }, previous);
    });

    it("declares one checkout and image per release in a slot, none for the release that left", () => {
        const names = g.registered.map((r) => r.name);
        expect(names).to.include.members([
            "tag-v0.1.0-l9-verify",
            "tag-v0.2.0-l9-verify",
            "checkout-v0.1.0-l9-worktree",
            "checkout-v0.2.0-l9-worktree",
            "image-v0.1.0-l9-build",
            "image-v0.2.0-l9-build",
        ]);
        expect(names.filter((n) => n.includes("v0.0.9"))).to.deep.equal([]);
    });

    it("uses the official resources: remote commands, docker containers from an ssh:// provider, a random id", () => {
        const types = new Set(g.registered.map((r) => r.type));
        expect([...types]).to.include.members([
            "command:remote:Command",
            "docker:index/container:Container",
            "pulumi:providers:docker",
            "random:index/randomId:RandomId",
        ]);
        expect(g.byName("green-container").type).to.equal("docker:index/container:Container");
        expect(g.byName("traffic-deploy-id").type).to.equal("random:index/randomId:RandomId");
        // The project's own provider serves only the read-only fact probes; nothing is a dynamic resource.
        expect(g.registered.filter((r) => r.type.startsWith("pulumi-nodejs"))).to.deep.equal([]);
        const probes = g.registered.filter((r) => r.type === "l9host:index:FactProbe");
        expect(probes.map((r) => r.name).sort()).to.deep.equal(
            ["checkout-v0.1.0-l9-worktree-facts", "checkout-v0.2.0-l9-worktree-facts", "drift-job-facts", "env-file-facts", "traffic-route-facts"].sort(),
        );
    });

    it("puts the new release in the idle slot and keeps the serving slot's release", () => {
        const green = g.byName("green-container").inputs;
        const blue = g.byName("blue-container").inputs;
        expect(green.image).to.equal(mockImageId("v0.2.0-l9"));
        expect(label(green, "l9.tag")).to.equal("v0.2.0-l9");
        expect(blue.image).to.equal(mockImageId("v0.1.0-l9"));
        expect(label(blue, "l9.tag")).to.equal("v0.1.0-l9");
        expect(green.name).to.equal("l9-green");
        expect(green.networkMode).to.equal("host");
        expect(green.restart).to.equal("unless-stopped");
        expect(green.mustRun).to.equal(true);
        expect(green.wait).to.equal(false);
        expect(g.outputs.activeSlot).to.equal("green");
    });

    it("protects the slots: delete-before-replace (fixed names), serving slot keeps its env", () => {
        expect((g.options.get("green-container") as pulumi.CustomResourceOptions | undefined)?.deleteBeforeReplace).to.equal(true);
        expect((g.options.get("blue-container") as pulumi.CustomResourceOptions | undefined)?.deleteBeforeReplace).to.equal(true);
        expect(g.options.get("blue-container")?.ignoreChanges).to.deep.equal(["envs", "networkMode", "ports"]);
        expect(g.options.get("green-container")?.ignoreChanges).to.deep.equal([]);
    });

    const urnsOf = (deps: pulumi.ResourceOptions["dependsOn"]) =>
        Promise.all(((deps ?? []) as pulumi.Resource[]).map((d) => new Promise<string>((resolve) => d.urn.apply(resolve))));

    const NETWORK_MODE =
        "network mode: a new stack runs bridge (published on 127.0.0.1, HOST=0.0.0.0 inside); " +
        "a host stack moves to bridge by a release into the standby only";
    it(NETWORK_MODE, async () => {
        const envOf = (inputs: Record<string, any>, key: string) => (inputs.envs.value as string[]).find((e) => e.startsWith(`${key}=`));
        const fresh = await buildProgramGraph({ releaseTag: "v0.2.0-l9" }, undefined);
        const blue = fresh.byName("blue-container").inputs;
        expect(blue.networkMode).to.equal("bridge");
        expect(blue.ports).to.deep.equal([{ internal: 8000, external: 8001, ip: "127.0.0.1" }]);
        expect([envOf(blue, "PORT"), envOf(blue, "HOST")]).to.deep.equal(["PORT=8000", "HOST=0.0.0.0"]);
        // The stack above serves with host: unset, it stays host (g); set to bridge, only the standby changes.
        expect([envOf(g.byName("green-container").inputs, "PORT"), envOf(g.byName("green-container").inputs, "HOST")]).to.deep.equal([
            "PORT=8002",
            "HOST=127.0.0.1",
        ]);
        const previous: DeployState = { slots: { blue: { tag: "v0.1.0-l9", envFingerprint: "fp", networkMode: "host" }, green: null }, active: "blue" };
        const moved = await buildProgramGraph({ releaseTag: "v0.1.0-l9", networkMode: "bridge" }, previous);
        expect(moved.outputs.state).to.deep.equal({
            active: "green",
            slots: {
                blue: { tag: "v0.1.0-l9", envFingerprint: "fp", networkMode: "host" },
                green: { tag: "v0.1.0-l9", envFingerprint: "fp", networkMode: "bridge" },
            },
        });
        expect(moved.byName("green-container").inputs.networkMode).to.equal("bridge");
        expect(moved.byName("blue-container").inputs.networkMode).to.equal("host");
        expect(moved.options.get("blue-container")?.ignoreChanges).to.deep.equal(["envs", "networkMode", "ports"]);
    });

    it("guards each slot: its container is created or replaced only after a host check of what Caddy routes to", async () => {
        for (const color of ["blue", "green"]) {
            expect((await urnsOf(g.options.get(`${color}-container`)?.dependsOn)).map((u) => u.split("::").pop())).to.deep.equal([`${color}-guard`]);
            // A secret: it holds the fingerprint of the slot's env, which the journal's is compared with.
            const stdin = g.byName(`${color}-guard`).inputs.stdin;
            expect(stdin).to.have.property("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270");
            expect(stdin.value).to.contain(`L9_STEP='guard ${color}'`);
            expect(stdin.value).to.contain(`refusing to replace ${color} (l9-${color}`);
        }
        expect(g.byName("green-guard").inputs.stdin.value)
            .to.contain(`'${mockImageId("v0.2.0-l9")}'`)
            .and.contain("'v0.2.0-l9'");
    });

    it("gates before switching, and switches only after every slot exists and the env file is written", async () => {
        expect((await urnsOf(g.options.get("traffic-caddy")?.dependsOn)).map((u) => u.split("::").pop())).to.deep.equal(["traffic-gate"]);
        expect((await urnsOf(g.options.get("traffic")?.dependsOn)).map((u) => u.split("::").pop())).to.have.members(["blue", "green", "env"]);
        // The slots take the validated env as an input; they do not wait for the file's write.
        expect(g.options.get("green")?.dependsOn ?? []).to.deep.equal([]);
        const gate = g.byName("traffic-gate").inputs;
        expect(gate.stdin).to.contain("'l9-green'");
        expect(gate.stdin).to.contain("http://127.0.0.1:8002/health");
        const caddy = g.byName("traffic-caddy").inputs;
        expect(caddy.stdin).to.contain("l9-green.active");
        expect(caddy.stdin).to.contain('[{"dial":"127.0.0.1:8002"}]');
        expect(caddy.stdin).to.contain("keeping l9-blue running as warm standby");
        expect(caddy.stdin).to.contain('"actor":"ops@example.com"');
    });

    it("with a canary: gate, then the canary, then the switch; no canary on a first deploy", async () => {
        const previous: DeployState = {
            slots: {
                blue: { tag: "v0.1.0-l9", envFingerprint: "fp", networkMode: "host" },
                green: { tag: "v0.0.9-l9", envFingerprint: "fp", networkMode: "host" },
            },
            active: "blue",
        };
        const c = await buildProgramGraph({ releaseTag: "v0.2.0-l9", canary: JSON.stringify({ percent: 20, steps: 2 }) }, previous);
        expect((await urnsOf(c.options.get("traffic-canary")?.dependsOn)).map((u) => u.split("::").pop())).to.deep.equal(["traffic-gate"]);
        expect((await urnsOf(c.options.get("traffic-caddy")?.dependsOn)).map((u) => u.split("::").pop())).to.deep.equal(["traffic-canary"]);
        const step = c.byName("traffic-canary").inputs;
        expect(step.stdin).to.contain("l9-canary-green-10.on");
        expect(step.stdin).to.contain("step 2/2: 20% of requests to green (v0.2.0-l9)");
        expect(step.update).to.equal("true");
        // The switch ends any canary left behind; the plain config has no canary routing or log,
        // and removes a canary logger an earlier config left.
        expect(c.byName("traffic-caddy").inputs.stdin).to.contain("l9-canary-'*.on");
        expect(g.byName("traffic-caddy").inputs.stdin).to.not.match(/l9-canary-|l9_load_canary_logger|l9_canary_log_current/);
        expect(g.byName("traffic-caddy").inputs.stdin).to.contain("l9_remove_canary_logger 'l9-canary'");
        const first = await buildProgramGraph({ releaseTag: "v0.2.0-l9", canary: JSON.stringify({ percent: 20 }) }, undefined);
        expect(first.options.has("traffic-canary")).to.equal(false);
    });

    it("re-runs the gate and the switch only through their triggers, never for a new connection", () => {
        for (const name of ["traffic-gate", "traffic-caddy"]) {
            const r = g.byName(name).inputs;
            expect(r.update, name).to.be.a("string").and.not.contain("docker start").and.not.contain("Caddy now routes");
            expect(r.triggers, name).to.include("green-container-id");
        }
        expect(g.byName("traffic-caddy").inputs.triggers).to.include("g0");
    });

    it("a change of imagesToKeep, drainGraceSeconds or standby alone re-runs only the switch's retire part", async () => {
        const base = await buildProgramGraph({ releaseTag: "v0.2.0-l9", standby: "stopped" }, servingV2);
        const changed = await buildProgramGraph({ releaseTag: "v0.2.0-l9", standby: "stopped", imagesToKeep: "5", drainGraceSeconds: "45" }, servingV2);
        const warm = await buildProgramGraph({ releaseTag: "v0.2.0-l9", standby: "warm" }, servingV2);
        expect(changed.registered.map((r) => r.name)).to.deep.equal(base.registered.map((r) => r.name));
        // A command re-runs its create when its triggers change (a replacement): none does.
        const triggered = base.registered.filter((r) => r.inputs.triggers !== undefined).map((r) => r.name);
        expect(triggered).to.include.members(["traffic-gate", "traffic-caddy", "service-place"]);
        for (const other of [changed, warm]) {
            const rerun = triggered.filter((name) => JSON.stringify(base.byName(name).inputs.triggers) !== JSON.stringify(other.byName(name).inputs.triggers));
            expect(rerun).to.deep.equal([]);
        }
        // The switch's script changes, so the engine updates it: its update runs the script's retire part only.
        const caddy = changed.byName("traffic-caddy").inputs;
        expect(caddy.stdin).to.not.equal(base.byName("traffic-caddy").inputs.stdin);
        expect(caddy.update).to.equal("exec sh -s 'retire' # retire blue");
        expect(caddy.stdin).to.contain("l9_prune_images 'label=l9.service=l9' 5").and.contain("docker stop -t 45 'l9-blue'");
        expect(warm.byName("traffic-caddy").inputs.stdin).to.contain("keeping l9-blue running as warm standby");
        // Every other input of a host command stays as it was (the guards and containers see a new lock bound or stop grace only).
        const changedInputs = base.registered
            .map((r) => r.name)
            .filter((name) => JSON.stringify(base.byName(name).inputs) !== JSON.stringify(changed.byName(name).inputs));
        expect(changedInputs).to.have.members(["blue-guard", "green-guard", "blue-container", "green-container", "traffic-caddy"]);
    });

    it("a change of metricsDir alone re-runs no release step: the steps' scripts write the new place from the next deploy on", async () => {
        const raw = { releaseTag: "v0.2.0-l9", canary: JSON.stringify({ percent: 20 }), backup: "pg_dump" };
        const base = await buildProgramGraph(raw, servingV2);
        const moved = await buildProgramGraph({ ...raw, metricsDir: "/var/lib/node_exporter/textfile" }, servingV2);
        const triggered = base.registered.filter((r) => r.inputs.triggers !== undefined).map((r) => r.name);
        expect(triggered).to.include.members(["traffic-gate", "traffic-canary", "traffic-hooks-run", "traffic-caddy"]);
        const rerun = triggered.filter((name) => JSON.stringify(base.byName(name).inputs.triggers) !== JSON.stringify(moved.byName(name).inputs.triggers));
        // The drift job moves with its metrics (its delete removes the old place's file).
        expect(rerun).to.deep.equal(["drift-install"]);
        for (const name of ["traffic-gate", "traffic-canary", "traffic-hooks-run", "traffic-caddy"]) {
            expect(moved.byName(name).inputs.stdin, name).to.contain("'/var/lib/node_exporter/textfile/l9_deploy_run_l9.prom'");
        }
        // Destroy (or a rename) removes the service's deploy metrics with its place, where they are now; a removal that fails says so.
        const removal = moved.byName("service-place").inputs.delete.split("\n");
        for (const file of ["/var/lib/node_exporter/textfile/l9_deploy_l9.prom", "/var/lib/node_exporter/textfile/l9_deploy_run_l9.prom"]) {
            expect(removal, file).to.include(`rm -f '${file}' || fail 'cannot remove ${file}'`);
        }
    });

    it("scheduled backups: a backup job only with backupSchedule, after the env file it reads; its delete removes the job and its metrics", async () => {
        expect(g.registered.map((r) => r.name)).to.not.include("backup-install");
        const b = await buildProgramGraph({ releaseTag: "v0.2.0-l9", backup: 'pg_dump -Fc "$DATABASE_URL"', backupSchedule: "30 2 * * *" }, undefined);
        const install = b.byName("backup-install").inputs;
        expect(install.stdin).to.contain("'/etc/cron.d/l9-backup'").and.contain("'/opt/l9/bin/backup'");
        expect(install.delete).to.contain("'/etc/cron.d/l9-backup'").and.contain("l9_backup_l9.prom").and.not.contain("/opt/l9/backups");
        expect((await urnsOf(b.options.get("backup")?.dependsOn)).map((u) => u.split("::").pop())).to.deep.equal(["env"]);
        expect(b.byName("backup-job-facts").inputs.expect).to.have.keys(["cron_file", "script"]);
    });

    it("backups copied off the host: the copy's key goes through stdin as a secret before the job's install; a new target replaces it", async () => {
        const target = { host: "203.0.113.20", user: "l9-backup", dir: "/srv/backups/l9", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleTargetKey" };
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWNvcHkta2V5\n-----END OPENSSH PRIVATE KEY-----";
        const raw = { releaseTag: "v0.2.0-l9", backup: "pg_dump x", backupSchedule: "30 2 * * *", backupCopyTo: JSON.stringify(target), backupCopyKey: key };
        const b = await buildProgramGraph(raw, undefined);
        const copyKey = b.byName("backup-copy-key").inputs;
        expect(copyKey.stdin, "the key reaches the engine as a secret").to.have.property("4dabf18193072939515e22adb298388d");
        expect(copyKey.stdin.value).to.equal(`${key}\n`);
        expect(copyKey.create).to.contain('cat >"$tmp"').and.not.contain("c2VjcmV0LWNvcHkta2V5");
        expect(copyKey.delete).to.contain("'/opt/l9/shared/backup-copy-key'").and.contain("'/opt/l9/state/backup-copied'");
        expect(JSON.parse(copyKey.triggers[1])).to.deep.equal({ ...target, sshPort: 22 });
        expect((await urnsOf(b.options.get("backup-install")?.dependsOn)).map((u) => u.split("::").pop())).to.deep.equal(["backup-copy-key"]);
        expect(b.byName("backup-install").inputs.stdin).to.not.contain("c2VjcmV0LWNvcHkta2V5");
        expect(b.byName("backup-copy-key-facts").inputs.expect).to.have.property("4dabf18193072939515e22adb298388d");
    });

    it("restore drill: only with restoreDrill, after the env file it reads; its delete removes the job and its metrics", async () => {
        expect(g.registered.map((r) => r.name)).to.not.include("backup-drill-install");
        const check = "SELECT count(*) > 0 FROM users";
        const b = await buildProgramGraph({ releaseTag: "v0.2.0-l9", backup: "pg_dump x", restoreDrill: JSON.stringify({ check }) }, undefined);
        const install = b.byName("backup-drill-install").inputs;
        expect(install.stdin).to.contain("'/etc/cron.d/l9-backup-drill'").and.contain("'/opt/l9/bin/backup-drill'");
        expect(install.delete).to.contain("l9_backup_drill_l9.prom").and.not.contain("/opt/l9/backups");
        expect((await urnsOf(b.options.get("backup-drill")?.dependsOn)).map((u) => u.split("::").pop())).to.deep.equal(["env"]);
        expect(b.registered.map((r) => r.name)).to.not.include("backup-install");
    });

    it("runs preflight first, then prepares the service's place; the tag verifications (and so everything on the host) depend on both", async () => {
        expect(g.byName("host-preflight").inputs.stdin).to.contain("docker info");
        expect((await urnsOf(g.options.get("service")?.dependsOn)).map((u) => u.split("::").pop())).to.deep.equal(["host-preflight"]);
        for (const name of ["tag-v0.1.0-l9", "tag-v0.2.0-l9"]) {
            expect((await urnsOf(g.options.get(name)?.dependsOn)).map((u) => u.split("::").pop())).to.deep.equal(["host-preflight", "service-place"]);
        }
        // Destroy deletes it last: its delete removes what no other resource owns.
        // Only the layout's entries, and only while this stack's service owns appDir.
        expect(g.byName("service-place").inputs.delete).to.contain("DELETE").and.contain("'l9-deploy/unit l9'|\"\")").and.not.contain("deploys.jsonl'");
        expect(g.byName("host-preflight").inputs.stdin).to.contain("  case \"$owner\" in\n    'l9-deploy/unit l9') ;;");
    });

    it("re-applies a worktree only when its probe found drift, never because another tag is desired", () => {
        expect(g.byName("checkout-v0.2.0-l9-worktree").inputs.triggers).to.deep.equal(["g0"]);
        expect(g.byName("checkout-v0.1.0-l9-worktree").inputs.triggers).to.deep.equal(["g0"]);
    });

    it("pins the host key on every path and hands no resource the private key", () => {
        const commands = g.registered.filter((r) => r.type === "command:remote:Command");
        expect(commands.length).to.be.greaterThan(8);
        for (const c of commands) {
            // @pulumi/command always stores the connection as a secret.
            const conn = c.inputs.connection.value;
            expect(conn.hostKey, c.name).to.match(/^ssh-ed25519 /);
            expect(conn.agentSocketPath, c.name).to.equal("/home/ops/.cache/l9-deploy/ssh/unit/agent.sock");
            expect(conn, c.name).to.not.have.property("privateKey");
            expect(c.inputs.addPreviousOutputInEnv, c.name).to.equal(false);
        }
        const provider = g.byName("host-docker").inputs;
        expect(provider.host).to.equal("ssh://root@203.0.113.10:22");
        // Provider config travels JSON-encoded.
        const sshOpts = (JSON.parse(provider.sshOpts) as string[]).join(" ");
        expect(sshOpts).to.contain("StrictHostKeyChecking=yes").and.contain("UserKnownHostsFile=/home/ops/.cache/l9-deploy/ssh/unit/known_hosts");
        expect(sshOpts).to.contain("IdentityAgent=/home/ops/.cache/l9-deploy/ssh/unit/agent.sock");
        expect(sshOpts).to.not.match(/StrictHostKeyChecking=no/);
        expect(sshOpts, "the operator's ssh config is not read")
            .to.match(/^-F none -o /)
            .and.contain("KnownHostsCommand=none")
            .and.contain("VerifyHostKeyDNS=no");
        for (const r of g.registered) expect(JSON.stringify(r.inputs), r.name).to.not.contain("PRIVATE KEY");
    });

    it("keeps secrets secret: the env, and no secret in any script text", async () => {
        // Secret inputs reach the engine wrapped in Pulumi's secret envelope, never as plain values.
        const envs = g.byName("green-container").inputs.envs;
        expect(envs).to.have.property("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270");
        expect(envs.value).to.include.members(["APP_SECRET=s3cret", "PORT=8002", "HOST=127.0.0.1"]);
        expect(await pulumi.isSecret(g.outputs.envFile.validatedEnv)).to.equal(true);
        expect(g.byName("env-write").inputs.stdin).to.have.property("4dabf18193072939515e22adb298388d");
        for (const r of g.registered) {
            for (const key of ["create", "update", "delete", "script", "stdin"]) {
                if (typeof r.inputs[key] === "string") expect(r.inputs[key], `${r.name}.${key}`).to.not.contain("s3cret");
            }
            expect(JSON.stringify(r.inputs.labels ?? {})).to.not.contain("s3cret");
        }
    });

    it("a no-op after a rollback or a release sends every host command what that update sent (nothing re-runs)", async () => {
        const runbooks = { backup: "pg_dump x", migrate: '["migrate"]', notify: JSON.stringify([{ url: "https://hooks.example.com/a" }]), watchSeconds: "30" };
        const commands = (graph: ProgramGraph) =>
            Object.fromEntries(
                graph.registered
                    .filter((r) => r.type === "command:remote:Command")
                    .map((r) => [
                        r.name,
                        { create: r.inputs.create, stdin: r.inputs.stdin, update: r.inputs.update, delete: r.inputs.delete, triggers: r.inputs.triggers },
                    ]),
            );
        const older: DeployState = { ...servingV2, slots: { ...servingV2.slots, blue: { tag: "v0.0.9-l9", envFingerprint: "fp", networkMode: "host" } } };
        for (const [what, previous] of [
            ["rollback", servingV2],
            ["release", older],
        ] as const) {
            const update = await buildProgramGraph({ ...runbooks, releaseTag: "v0.1.0-l9" }, previous);
            expect(update.outputs.state.active, what).to.equal("blue");
            const noop = await buildProgramGraph({ ...runbooks, releaseTag: "v0.1.0-l9" }, update.outputs.state);
            expect(Object.keys(commands(update)), what).to.include.members(["traffic-hooks-run", "traffic-caddy", "traffic-gate", "notify-file"]);
            expect(commands(noop), what).to.deep.equal(commands(update));
        }
    });

    it("adoption: the switch installs the Caddyfile routes after the flip; the old deploy is retired after the switch", async () => {
        const a = await buildProgramGraph(
            {
                releaseTag: "v0.2.0-l9",
                caddyfile: "/etc/caddy/Caddyfile",
                caddyfileReplaces: "127.0.0.1:8000",
                caddyHosts: JSON.stringify(["api.example.com"]),
                adopt: JSON.stringify({ containers: ["l9-api-blue"], cronFiles: ["/etc/cron.d/l9-health-checks"] }),
            },
            undefined,
        );
        const sw = a.byName("traffic-caddy").inputs.stdin as string;
        expect(sw).to.contain("l9_install_caddyfile_routes '/etc/caddy/Caddyfile' 'api.example.com' '127.0.0.1:8000' '/etc/caddy/l9-deploy/l9.caddy'");
        expect(sw).to.not.contain("l9_load_server");
        // Routes Caddy already runs are installed before the flip; the first import (the adoption) after it.
        // The flip follows the journal's "switching" record.
        const flip = sw.indexOf("\nl9_journal_switching ");
        expect(flip).to.be.greaterThan(0);
        expect(sw.indexOf('if [ "$routes_live" = yes ]; then load_config; fi')).to.be.within(0, flip);
        expect(sw.indexOf('if [ "$routes_live" != yes ]; then load_config; fi')).to.be.greaterThan(flip);
        const retire = a.byName("old-deploy-retire");
        expect(retire.type).to.equal("command:remote:Command");
        expect(retire.inputs.stdin).to.contain("docker stop -t 30 'l9-api-blue'");
        expect(retire.inputs.stdin).to.not.match(/docker rm|rm -f '\/etc\/cron/);
        // Destroy leaves the old deploy retired, unless asked to hand the host back.
        expect(retire.inputs.delete).to.not.contain("docker start");
        expect(retire.inputs.delete).to.contain("left as they are: l9-api-blue (stopped), /etc/cron.d/l9-health-checks.disabled-by-l9-deploy");
        const handBack = await buildProgramGraph(
            {
                releaseTag: "v0.2.0-l9",
                caddyfile: "/etc/caddy/Caddyfile",
                caddyfileReplaces: "127.0.0.1:8000",
                caddyHosts: JSON.stringify(["api.example.com"]),
                adopt: JSON.stringify({ containers: ["l9-api-blue"], handBackOnDestroy: true, healthPath: "/up" }),
            },
            undefined,
        );
        expect(handBack.byName("old-deploy-retire").inputs.delete).to.contain("docker start 'l9-api-blue'");
        // The old deploy's own health path, not the new app's.
        expect(handBack.byName("old-deploy-retire").inputs.delete).to.contain("curl -gfsS -m 2 -o /dev/null 'http://127.0.0.1:8000/up'");
        // Nothing is stopped while a route of Caddy's (admin API of the config) still proxies to a port it publishes.
        expect(retire.inputs.stdin).to.contain(`admin='http://127.0.0.1:2019'`);
        const refusal = (retire.inputs.stdin as string).indexOf("a route of Caddy's still proxies to port");
        const rename = (retire.inputs.stdin as string).indexOf("mv -f '/etc/cron.d/l9-health-checks'");
        expect(refusal).to.be.greaterThan(0);
        expect(rename).to.be.greaterThan(refusal);
        expect((await urnsOf(a.options.get("old-deploy-retire")?.dependsOn)).map((u) => u.split("::").pop())).to.deep.equal(["traffic"]);
        expect(g.options.has("old-deploy-retire")).to.equal(false);
    });

    it("adoption: the stack output 'retired' lists what the retire found, each with the command that brings it back", () => {
        const stdout = ["container l9-api-blue unless-stopped", "cron /etc/cron.d/l9-health-checks", "a line of something else", ""].join("\n");
        expect(retiredItems(stdout)).to.deep.equal([
            { container: "l9-api-blue", restore: "docker update --restart=unless-stopped l9-api-blue && docker start l9-api-blue" },
            { cronFile: "/etc/cron.d/l9-health-checks", restore: "mv /etc/cron.d/l9-health-checks.disabled-by-l9-deploy /etc/cron.d/l9-health-checks" },
        ]);
        // A cron file the host never had is not listed as retired.
        expect(retiredItems("")).to.deep.equal([]);
    });
});
