import { expect } from "chai";
import { createL9Stack, L9TestStack } from "../support/l9-stack";
import { cleanSandboxService, httpGet, sandboxFacts, sandboxPsql, sh } from "../support/sandbox";

/**
 * A rollback that knows the schema, with the sample app's database releases: v0.4.5-l9's
 * migration creates its notes table (revision 1), v0.4.6-l9's adds a column with a default
 * (2: older code still writes notes), v0.4.7-l9's one without (3: it cannot). Each release
 * records the revision it left; a switch back to a standby released at another revision is
 * refused, goes ahead when the standby's rollbackCheck says it runs on the schema, or when the
 * operator sets allowSchemaRollback.
 */
describe("e2e: a rollback that knows the schema (schemaRevisionCommand, rollbackCheck, allowSchemaRollback)", function () {
    this.timeout(30 * 60 * 1000);
    let s: L9TestStack;
    // The app's own database in the sandbox's PostgreSQL (the role l9 may create databases).
    const database = "l9_e2e_schema";
    const serverUrl = () => sandboxFacts().databaseUrl;
    const databaseUrl = () => serverUrl().replace(/\/[^/]+$/, `/${database}`);
    const psql = (sql: string) => sandboxPsql(sql);

    const version = () => {
        const r = httpGet(`${s.siteUrl}/version`);
        return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : `status ${r.status}`;
    };
    const containerId = (color: string) => sh(`docker inspect -f '{{.Id}}' '${s.serviceName}-${color}' 2>/dev/null || true`).trim();
    /** POST /notes through Caddy: the status the serving release answers. */
    const addNote = (body: string) => sh(`curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST '${s.siteUrl}/notes?body=${body}'`).trim();
    const notes = () => (JSON.parse(httpGet(`${s.siteUrl}/notes`).body) as { notes: Record<string, string>[] }).notes.map((n) => n.body);
    const image = (color: string) => sh(`docker inspect -f '{{.Image}}' '${s.serviceName}-${color}'`).trim();
    /** The revision the host recorded for the image of that slot's container. */
    const record = (color: string) => sh(`cat '${s.appDir}/state/schema-revision.${image(color).replace(/^sha256:/, "")}' 2>/dev/null || true`).trim();
    const output = (r: Awaited<ReturnType<L9TestStack["up"]>>) => `${r.stdout}\n${r.error ?? ""}`;
    /** The guard's lines as the operator saw them, once each (for the record in the test log). */
    const showGuard = (out: string) =>
        console.log(
            [...new Set(out.split("\n").filter((l) => /hook 'schema'|\] schema: |warning: schema: /.test(l)))].map((l) => `      ${l.trim()}`).join("\n"),
        );

    before(async () => {
        s = await createL9Stack("schema", 19800);
        cleanSandboxService(s.serviceName, s.appDir, sandboxFacts().caddyAdmin);
        psql(`DROP DATABASE IF EXISTS ${database}`);
        psql(`CREATE DATABASE ${database}`);
        const env = JSON.parse((await s.stack.getConfig("l9-deploy:env")).value) as Record<string, string>;
        await s.set({ env: JSON.stringify({ ...env, DATABASE_URL: databaseUrl() }) }, true);
        await s.set({
            releaseTag: "v0.4.5-l9",
            // The app reaches the sandbox's PostgreSQL on the host's loopback.
            networkMode: "host",
            migrate: JSON.stringify(["migrate"]),
            schemaRevisionCommand: JSON.stringify(["schema-revision"]),
        });
    });

    after(async () => {
        if (s) s.removeFromHost();
        psql(`DROP DATABASE IF EXISTS ${database}`);
    });

    it("1. each release records the revision its migration left: v0.4.5-l9 at 1, v0.4.6-l9 at 2; the app reads and writes its notes", async () => {
        const first = await s.up();
        expect(first.ok, first.error).to.equal(true);
        expect(first.stdout).to.contain("migrate: schema revision 0 -> 1");
        expect(first.stdout).to.contain("schema: v0.4.5-l9 left the database at revision 1");
        expect(addNote("before-2")).to.equal("201");

        await s.set({ releaseTag: "v0.4.6-l9" });
        const release = await s.up();
        expect(release.ok, release.error).to.equal(true);
        expect(release.stdout).to.contain("migrate: schema revision 1 -> 2");
        expect(version()).to.equal("v0.4.6-l9");
        expect(addNote("at-2")).to.equal("201");
        expect(notes()).to.deep.equal(["before-2", "at-2"]);
        // The host's records: the revision each release's image left.
        expect(record("blue")).to.equal("1");
        expect(record("green")).to.equal("2");
    });

    it("2. refused: a switch back to v0.4.5-l9 (released at 1) while the database is at 2, with no rollbackCheck; traffic does not move", async () => {
        const before = { blue: containerId("blue"), green: containerId("green") };
        await s.set({ releaseTag: "v0.4.5-l9" });
        const refused = await s.up();
        expect(refused.ok, "the switch-back is refused").to.equal(false);
        const out = output(refused);
        showGuard(out);
        expect(out).to.contain(`refused: the database is at schema revision 2; v0.4.5-l9 (${s.serviceName}-blue) was released at revision 1`);
        for (const way of [
            "deploy a release that runs on revision 2",
            "set rollbackCheck",
            "pulumi config set allowSchemaRollback true",
            "npm run backup:restore",
        ])
            expect(out).to.contain(way);
        expect(out).to.contain("traffic was not moved");
        // The hooks ran before the guard, and ran no migration: the standby returns as it was.
        expect(out).to.contain(`migrate: skipped, ${s.serviceName}-blue is the standby returning to traffic`);
        // The plan says it first (the preview shows the same line).
        expect(out).to.contain("schema: before traffic moves back to v0.4.5-l9, the database's revision is compared");
        expect(version()).to.equal("v0.4.6-l9");
        expect({ blue: containerId("blue"), green: containerId("green") }).to.deep.equal(before);
        expect(addNote("after-refusal")).to.equal("201");
    });

    const CHECK_PASSES =
        "3. rollbackCheck passes: v0.4.5-l9's code runs on revision 2 (the new column has a default), so traffic moves back, no rebuild, and it writes notes";
    it(CHECK_PASSES, async () => {
        const blue = containerId("blue");
        await s.set({ rollbackCheck: JSON.stringify(["rollback-check"]) });
        const back = await s.up();
        expect(back.ok, back.error).to.equal(true);
        showGuard(back.stdout);
        expect(back.stdout).to.contain("rollback-check: this release (schema revision 1) runs on this schema");
        expect(back.stdout).to.contain("schema: rollbackCheck passed: v0.4.5-l9 runs on revision 2");
        // Only the refused guard runs again: its hooks step succeeded with the refused update
        // (a failed step keeps its old triggers, so the next update retries just that one).
        expect(back.stdout, "no migration on a switch back").to.not.contain("migrate: schema revision");
        expect(version()).to.equal("v0.4.5-l9");
        expect(containerId("blue"), "the standby itself takes traffic").to.equal(blue);
        expect(addNote("on-1-code")).to.equal("201");
        expect(notes()).to.deep.equal(["before-2", "at-2", "after-refusal", "on-1-code"]);
    });

    const CHECK_FAILS =
        "4. the same revision goes ahead unchecked; v0.4.7-l9 moves the schema to 3 (a NOT NULL column without a default): " +
        "rollbackCheck refuses the switch back to v0.4.6-l9; allowSchemaRollback lets it through, reading nothing, with a warning";
    it(CHECK_FAILS, async () => {
        // The standby v0.4.6-l9 was released at 2, the database is at 2: it goes ahead, no check.
        await s.set({ releaseTag: "v0.4.6-l9" });
        const same = await s.up();
        expect(same.ok, same.error).to.equal(true);
        showGuard(same.stdout);
        expect(same.stdout).to.contain("schema: the database is at revision 2, the one v0.4.6-l9 was released at: it goes ahead");
        expect(same.stdout).to.not.contain("rollback-check:");
        expect(version()).to.equal("v0.4.6-l9");

        await s.set({ releaseTag: "v0.4.7-l9" });
        const release = await s.up();
        expect(release.ok, release.error).to.equal(true);
        expect(release.stdout).to.contain("migrate: schema revision 2 -> 3");
        expect(version()).to.equal("v0.4.7-l9");
        expect(record("blue")).to.equal("3");

        await s.set({ releaseTag: "v0.4.6-l9" });
        const refused = await s.up();
        expect(refused.ok, "rollbackCheck refuses").to.equal(false);
        const out = output(refused);
        showGuard(out);
        expect(out).to.contain("rollback-check: this release (schema revision 2) cannot write notes: notes.tenant is NOT NULL without a default");
        expect(out).to.contain("and rollbackCheck exited 1");
        expect(version()).to.equal("v0.4.7-l9");

        await s.set({ allowSchemaRollback: "true" });
        const allowed = await s.up();
        expect(allowed.ok, allowed.error).to.equal(true);
        showGuard(output(allowed));
        expect(output(allowed)).to.contain("warning: schema: v0.4.6-l9 takes traffic back unchecked (allowSchemaRollback=true)");
        expect(output(allowed)).to.contain("allowSchemaRollback is set: the switch back to v0.4.6-l9 goes ahead whatever schema revision");
        expect(allowed.stdout, "allowSchemaRollback reads nothing").to.not.contain("reading the database's revision");
        expect(version()).to.equal("v0.4.6-l9");
        // What the check was about: this code cannot write a note on revision 3.
        expect(addNote("refused-by-schema")).to.equal("500");
        await s.stack.removeConfig("l9-deploy:allowSchemaRollback");
    });
});
